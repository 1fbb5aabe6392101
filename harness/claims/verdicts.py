"""Verdicts, decided from measurements by rules stated once here (``RULES``: README and every table print it).

Every rule is built so that more seeds make it more decisive: its INCONCLUSIVE band shrinks onto the decision
boundary as seeds are added, and a verdict that no number of seeds can give says why (``Part.reason``).
The rules, in brief (``RULES`` has them in full):

- **figure** (a report's one-run figure): REPRODUCED when the figure is, with confidence, within the central
  95 % of the recipe's runs (widened by the tolerance policy, ``tolerance.py``); NOT REPRODUCED when it is
  outside the 95 % prediction interval of one run (an exact test: a faithful report is refuted at most 5 % of
  the time, whatever the spread); INCONCLUSIVE between, or when the recipe's runs spread too widely for a one-run
  figure to be checked at all.
- **change** ("34 → 46 %"): the figure rule with the mean change of the seeds' paired differences and the
  one-run spread of two independent runs (the report's pair was not paired).
- **ordering** a > b: one boundary, the margin: REPRODUCED when the one-sided 95 % lower bound of the difference
  is above it; NOT REPRODUCED when its one-sided 95 % upper bound is below it (the ordering is absent,
  negligible or reversed); INCONCLUSIVE otherwise.
- **per seed** (a mechanism seen in each run): the exact binomial (Clopper–Pearson) one-sided 95 % bounds of the
  rate it holds at: REPRODUCED when the lower bound is above 1/2 (it is the typical outcome), NOT REPRODUCED
  when the upper bound is below 1/2.
- **all cases**: a deterministic check over cases: REPRODUCED when every case holds.
- **modes**: where the seeds of an accuracy split between chance and learning, the figure is judged within
  the mode the report's figure belongs to, and that mode must not be a rare outcome of the recipe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum

import numpy as np
from scipy import stats as sps

from ..stats import Interval, clopper_pearson, mean_difference, sd_bounds
from .tolerance import RUN_RANGE_LIMIT, Band, policy_text

ALPHA = 0.05
Z_RUN = float(sps.norm.ppf(0.975))  # the central 95 % of one run's outcomes: ± 1.96 σ
TYPICAL = 0.5  # a per-seed mechanism is the recipe's typical outcome when it holds in more than half its runs
RARE = 0.05  # a mode of the recipe rarer than this cannot be where a faithful report's run came from
CHANCE_BAND_PP = 1.0  # a seed within 1 pp of chance accuracy is in the chance mode

RULES = {
    "figure": (
        "**figure** — a report's figure is one run. REPRODUCED when it lies within the central 95 % of the "
        "recipe's runs, with confidence: the band claimed ± tolerance comes within 1.96 σ of the recipe's mean, "
        "taking the mean at the far end of its one-sided 95 % interval and σ at its one-sided 95 % lower bound "
        "(χ²), and 1.96 s within the checkable range. NOT REPRODUCED when the band lies outside the 95 % prediction interval of one run "
        "(mean ± t·s·√(1 + 1/n)): an exact test, so a faithful report is refuted at most 5 % of the time, "
        "whatever the spread. Both edges meet at 1.96 σ as seeds are added. INCONCLUSIVE between them (more seeds "
        "narrow it), or when the recipe's 95 % run range is wider than the tolerance policy allows for checking "
        "a one-run figure at all, by the spread's one-sided 95 % lower bound (the row gives the spread; more seeds "
        "do not help). Checkability for REPRODUCED uses the spread's estimate: near the limit a few seeds may pass "
        "where many would say the spread is too wide."),
    "change": (
        "**change** — a claimed change (\"34 → 46 %\") is one pair of runs the report did not pair: the figure rule "
        "with the mean change from the seeds' paired differences and the one-run spread of two independent runs "
        "(√(s₁² + s₂²), Satterthwaite's degrees of freedom), against the claimed change ± the tolerance of a "
        "difference."),
    "ordering": (
        "**ordering** a > b — one boundary, the margin (1 pp for accuracies, the least difference whole-percent "
        "figures show; at least the measurement's resolution: one test image, one step): REPRODUCED when the "
        "one-sided 95 % lower bound of the mean difference is above it; NOT REPRODUCED when the one-sided 95 % upper "
        "bound is below it (the ordering is absent, negligible or reversed). The two bounds are printed as one "
        "interval (90 % two-sided), with the one-sided p of the direction that decided (against zero where "
        "reversed). Paired t where the runs share seeds, initialization and data order, Welch's otherwise."),
    "per seed": (
        "**per seed** — a mechanism seen once per run: exact binomial (Clopper–Pearson) one-sided 95 % bounds of "
        "the rate it holds at. REPRODUCED when the lower bound is above 1/2 (the typical outcome: 5 of 5 seeds, "
        "or 9 of 10), NOT REPRODUCED when the upper bound is below 1/2."),
    "all cases": "**all cases** — a deterministic check over cases: REPRODUCED when every case holds, NOT REPRODUCED "
                 "when one fails.",
    "modes": (
        "**modes** — where the seeds of an accuracy split between chance (within 1 pp of it) and learning, the table "
        "gives each mode's seeds and figure; the figure is judged within the mode the report's figure belongs "
        "to, which must not be a rare outcome: REPRODUCED needs the mode's share at a one-sided 95 % lower bound "
        "of at least 5 % (2 of 5 seeds), and a share whose upper bound is below 5 % is NOT REPRODUCED. With one "
        "seed in the report's mode the figure cannot be judged (INCONCLUSIVE, 'too few seeds in the report's "
        "mode'); with none the seeds do not split and the figure rule judges them all, so a recipe that never "
        "reaches the report's mode refutes it. A figure at chance is a count in effect: its seeds sit at chance "
        "with almost no spread, so their number decides. Orderings do not split modes: their parts say each "
        "mode's seeds where a figure beside them does."),
    "existence": (
        "**existence** (\"X can cause Y\") — a declared grid of configurations is searched; REPRODUCED when one "
        "shows Y with X's mechanism measured; NOT REPRODUCED when none does and one shows Y with X's mechanism "
        "refuted (Y came from something else); INCONCLUSIVE when none shows Y (a small grid cannot refute \"can\")."),
    "artifact": (
        "**ARTIFACT** — the correct measurement refutes the report's figure, and an evaluation mistake gives the "
        "figure on this model while giving another figure on a contrast model the harness also runs."),
    "claim": (
        "**a claim** is decided by its primary part (the report's point), or by its primary parts together: "
        "REPRODUCED if all are (each at 5 %: the report's point needs every one), NOT REPRODUCED if one refutes at "
        "5 % divided by the number of parts tested over seeds (Holm's first step: together those parts refute a "
        "faithful report at most 5 % of the time; a per-seed count or a deterministic check refutes as it stands, "
        "adding its own error, as its smallest p at 5 seeds, 1/32, could never pass the divided level), "
        "INCONCLUSIVE otherwise; its other parts keep their own verdicts beside it, and "
        "the row counts them. "
        "**NOT RUN**: data, device or time missing (the row says which)."),
    "stability": (
        "**stability** — the chance that a replicate run at the same number of seeds gives the same verdict, "
        "estimated by a predictive bootstrap re-judged by the claim's own judge: whole seeds are resampled twice, a "
        "population and then the replicate from it (pairs stay paired), and each figure of one number a seed is "
        "shifted by the population's departure from the measured mean and scaled by a χ² draw of the spread, within "
        "[0, 100] where every seed measured it there, so a replicate carries the uncertainty of the true mean and "
        "spread besides its own noise. Curves, counts and outcomes are only resampled, and so is every figure "
        "where the seeds split between modes (none leaves its mode; there the estimate is the double bootstrap's, optimistic). "
        "Simulated at 5 seeds (tests/test_stability.py) it predicted 0.66 and 0.77 where true replicates repeated "
        "0.69 and 0.81, a plain bootstrap 0.80 and 0.90: calibrated on average, slightly cautious, not row by row. "
        "The 10- and 20-seed figures are the verdict such replicates give most. The verdicts a replicate gives in "
        "at least 2 % of draws are the set a later full run may measure without failing (1.3 % and 0 % of simulated "
        "true replicates fell outside it)."),
}


def rules_markdown() -> str:
    """The verdict rules as a markdown list: README's "Verdict rules" and every table legend print this."""
    return "\n".join(f"- {text}" for text in RULES.values()) + "\n\n" + policy_text()


class Verdict(str, Enum):
    REPRODUCED = "REPRODUCED"
    NOT_REPRODUCED = "NOT REPRODUCED"
    ARTIFACT = "ARTIFACT"
    INCONCLUSIVE = "INCONCLUSIVE"
    NOT_RUN = "NOT RUN"

    def __str__(self) -> str:
        return self.value


@dataclass
class Part:
    """One judged (or only shown) part of a claim: a figure, an ordering, a mechanism."""

    name: str
    verdict: Verdict | None  # None: a figure only
    claimed: str
    measured: str
    rule: str  # the rule and test that judged it, in words
    interval: Interval | None = None
    judged: bool = True  # True: a primary part, deciding the claim; False: shown beside the verdict
    reason: str = ""  # why INCONCLUSIVE: 'seeds' (more would decide), 'spread' (none would), 'modes', ...
    modes: dict | None = None  # where the seeds split between chance and learning: each mode's count and figure
    p_refute: float | None = None  # p of the test that refutes this part at ALPHA (None: not a test over seeds)

    def to_json(self) -> dict:
        out = asdict(self)
        out["verdict"] = None if self.verdict is None else str(self.verdict)
        out["interval"] = None if self.interval is None else _interval_json(self.interval)
        return out


def _interval_json(iv: Interval) -> dict:
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in asdict(iv).items()}


@dataclass
class Judgement:
    """What a judge returns: the verdict, its parts, and the figures of the table row."""

    verdict: Verdict
    parts: list[Part]
    claimed: str
    measured: str
    interval: Interval | None = None  # the headline figure's interval (claims.csv)
    claimed_value: float | None = None
    figures: dict = field(default_factory=dict)
    metric: str = ""  # what the row's figure is, where it is not the claim's headline (another part decided)

    @property
    def primary(self) -> list[str]:
        """Names of the parts that decide the claim."""
        return [p.name for p in self.parts if p.judged and p.verdict is not None]


# ---------------------------------------------------------------- the figure rule


@dataclass(frozen=True)
class FigureCheck:
    """The figure rule's outcome and what it was decided from."""

    verdict: Verdict
    reason: str
    interval: Interval  # the 95 % prediction interval of one run
    run_range: float  # 1.96 s: half of the recipe's estimated 95 % run range
    refute_edge: float  # NOT REPRODUCED beyond this distance of the band from the mean
    confirm_edge: float  # REPRODUCED within this (worst-case) distance
    p_refute: float = float("nan")  # two-sided p of "the band's nearest point is a run of the recipe"


def _distance(x: float, low: float, high: float) -> float:
    return max(low - x, x - high, 0.0)


def figure_check(values, low: float, high: float, limit: float | None = None, resolution: float = 0.0,
                 bounds: tuple[float, float] | None = None,
                 run_spread: tuple[float, float] | None = None) -> FigureCheck:
    """The figure rule (``RULES['figure']``) on one value per seed against a one-run figure claimed in [low, high].

    ``limit``: the widest half run range (1.96 σ) at which a one-run figure can be checked (None: any).
    ``resolution``: the least spread one value can have (one test image). ``bounds``: the quantity's range,
    to which the printed interval is clipped. ``run_spread``: (sd, degrees of freedom) of the one run the report's
    figure is, where it is not the spread of ``values`` (the change rule: the mean comes from paired seeds, the
    report's pair of runs was not paired).
    """
    x = np.asarray(values, float).ravel()
    n = len(x)
    mean = float(np.mean(x)) if n else float("nan")
    if n < 2 or not np.isfinite(x).all():
        why = "fewer than 2 seeds" if n < 2 else "a non-finite value"
        return FigureCheck(Verdict.INCONCLUSIVE, why, Interval(mean, float("nan"), float("nan"), n, "t", "prediction"),
                           float("nan"), float("nan"), float("nan"))
    se = max(float(np.std(x, ddof=1)), resolution) / np.sqrt(n)
    run_sd, run_df = (se * np.sqrt(n), n - 1.0) if run_spread is None else (max(run_spread[0], resolution),
                                                                            run_spread[1])
    pred_sd = float(np.sqrt(run_sd ** 2 + se ** 2))
    pred_half = float(sps.t.ppf(0.975, run_df)) * pred_sd
    mean_half = float(sps.t.ppf(1 - ALPHA, n - 1)) * se
    sigma_low, _ = sd_bounds(run_sd, n, df=run_df)
    low_i, high_i = mean - pred_half, mean + pred_half
    if bounds is not None:
        low_i, high_i = max(low_i, bounds[0]), min(high_i, bounds[1])
    interval = Interval(mean, low_i, high_i, n, "t", "prediction")
    slack = 1e-9 * max(1.0, abs(low), abs(high))  # round-off of the band's own arithmetic
    refute_edge, confirm_edge = pred_half, Z_RUN * sigma_low
    distance = _distance(mean, low, high)
    p_refute = float(2 * sps.t.sf(distance / pred_sd, run_df)) if pred_sd > 0 else float(distance == 0)
    outcome = dict(interval=interval, run_range=Z_RUN * run_sd, refute_edge=refute_edge, confirm_edge=confirm_edge,
                   p_refute=p_refute)
    if distance > refute_edge + slack:
        return FigureCheck(Verdict.NOT_REPRODUCED, "", **outcome)
    if limit is not None and Z_RUN * sigma_low > limit:
        return FigureCheck(Verdict.INCONCLUSIVE, "spread", **outcome)
    worst = max(_distance(mean - mean_half, low, high), _distance(mean + mean_half, low, high))
    # Checkable by the spread's estimate: a spread's upper bound at 5 seeds (2.4 s) would put REPRODUCED out of reach
    # for most of report 002's recipes. Near the limit a small sample may then pass where more seeds say "spread".
    if worst <= confirm_edge + slack and (limit is None or Z_RUN * run_sd <= limit):
        return FigureCheck(Verdict.REPRODUCED, "", **outcome)
    return FigureCheck(Verdict.INCONCLUSIVE, "seeds", **outcome)


def band_verdict(values, low: float, high: float, **options) -> tuple[Verdict, Interval]:
    """The figure rule's verdict and interval on a one-run figure claimed in [low, high] (``options``: those of
    :func:`figure_check`)."""
    check = figure_check(values, low, high, **options)
    return check.verdict, check.interval


def figure_verdict(values, claimed: float, tolerance: float, **kwargs) -> tuple[Verdict, Interval]:
    """The figure rule's verdict and interval on a one-run figure claimed ± tolerance."""
    return band_verdict(values, claimed - tolerance, claimed + tolerance, **kwargs)


# ---------------------------------------------------------------- modes: chance and learning


def chance_modes(components, claimed_at_chance, chance: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Seeds in the report's mode, when the seeds split between chance and learning; None when they do not.

    ``components``: accuracy arrays (one value a seed each) that make the judged figure (one for a figure, two
    for a change); ``claimed_at_chance``: for each, whether the report's own figure is at chance. A seed's mode
    is which of its components sit within ``CHANCE_BAND_PP`` of ``chance``. Returns (mask of the seeds in the
    report's mode, per-seed mode keys) where the seeds show more than one mode.
    """
    at_chance = np.stack([np.abs(np.asarray(c, float) - chance) <= CHANCE_BAND_PP for c in components], axis=1)
    keys = np.array(["".join("c" if a else "l" for a in row) for row in at_chance])
    if len(set(keys)) < 2:
        return None
    report_key = "".join("c" if a else "l" for a in claimed_at_chance)
    return keys == report_key, keys


def _mode_words(key: str, names: list[str]) -> str:
    return ", ".join(f"{name} {'at chance' if k == 'c' else 'learned'}" for name, k in zip(names, key))


def _modes_summary(values: np.ndarray, keys: np.ndarray, names: list[str], unit: str, digits: int) -> dict:
    out = {}
    for key in sorted(set(keys)):
        sel = values[keys == key]
        out[_mode_words(key, names)] = {"seeds": int(len(sel)), "mean": float(sel.mean())}
    out["text"] = "; ".join(f"{v['seeds']} of {len(values)} seeds {k}: mean {v['mean']:.{digits}f} {unit}".strip()
                            for k, v in out.items() if isinstance(v, dict))
    return out


def _unpaired_spread(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(sd, Satterthwaite df) of the difference of one run of ``a``'s recipe and one independent run of ``b``'s."""
    va, vb = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    df = (va + vb) ** 2 / ((va ** 2 + vb ** 2) / (len(a) - 1)) if va + vb > 0 else len(a) - 1.0
    return float(np.sqrt(va + vb)), float(df)


def _moded_check(values, band: Band, components: list, claimed_components: list[float], names: list[str],
                 chance: float | None, resolution: float, bounds, unit: str, digits: int,
                 change: bool) -> tuple[FigureCheck, dict | None]:
    """The figure rule, within the report's mode where the seeds split between chance and learning.

    ``components``: the accuracies (one value a seed) the judged value is made of (itself for a figure; the
    changed and the base run for a change), ``claimed_components`` the report's figures for them (the centres of
    the intervals they were printed for); a claimed figure within ``CHANCE_BAND_PP`` of ``chance`` is at chance.
    ``change``: the report's figure is the difference of two runs it did not pair, so its one-run spread is that
    of two independent runs, while the mean comes from the seeds' paired differences.
    """
    values = np.asarray(values, float)
    mask, modes = np.ones(len(values), bool), None
    if chance is not None and len(values) >= 2 and np.isfinite(values).all():
        split = chance_modes(components, [abs(c - chance) <= CHANCE_BAND_PP for c in claimed_components], chance)
        if split is not None:
            mask, keys = split
            modes = _modes_summary(values, keys, names, unit, digits)
    spread = None
    if change and mask.sum() >= 2:
        spread = _unpaired_spread(np.asarray(components[0], float)[mask], np.asarray(components[1], float)[mask])
    check = figure_check(values[mask], band.low, band.high, band.limit, resolution, bounds, run_spread=spread)
    if modes is None:
        return check, None
    k, n = int(mask.sum()), len(values)
    share_low, share_high = clopper_pearson(k, n)
    modes["report's mode"] = (f"{k} of {n} seeds (share {100 * share_low:.0f}–{100 * share_high:.0f} %, one-sided 95 "
                              f"% bounds)")
    if share_high < RARE:  # the recipe rarely gives the report's outcome
        check = replace(check, verdict=Verdict.NOT_REPRODUCED, reason="", p_refute=float(sps.binom.cdf(k, n, RARE)))
    elif check.verdict == Verdict.REPRODUCED and share_low < RARE:
        check = replace(check, verdict=Verdict.INCONCLUSIVE, reason="modes")
    elif check.verdict == Verdict.INCONCLUSIVE and check.reason in ("fewer than 2 seeds", "seeds"):
        check = replace(check, reason="modes")  # it is the report's mode that has too few seeds
    return check, modes


# ---------------------------------------------------------------- rules as table parts


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _figure_measured(check: FigureCheck, unit: str, digits: int, modes: dict | None) -> str:
    u = f" {unit}" if unit else ""
    iv = check.interval
    if iv.n == 0:
        text = "no seed"
    elif iv.n < 2 or iv.low != iv.low:
        text = f"{iv.mean:.{digits}f}{u} (n={iv.n}, no interval)"
    else:
        text = (f"mean {iv.mean:.{digits}f}{u}; a single run would fall in [{iv.low:.{digits}f}, {iv.high:.{digits}f}] "
                f"(95 % prediction, n={iv.n})")
    if check.reason == "spread":
        text += f"; runs spread ±{check.run_range:.{digits}f}{u} (95 %): too wide to check a one-run figure"
    return (modes["text"] + "; report's mode: " + text) if modes else text


def figure_part(name: str, values, claimed: float, tolerance: float, unit: str = "", digits: int = 1,
                limit: float | None = None, resolution: float = 0.0, bounds: tuple[float, float] | None = None) -> Part:
    """The figure rule as a table part, against claimed ± tolerance (a tolerance of the claim's own record); a
    one-run figure is checkable while the run range is within ``RUN_RANGE_LIMIT`` tolerances (or ``limit``)."""
    b = Band(claimed - tolerance, claimed + tolerance, tolerance,
             RUN_RANGE_LIMIT * tolerance if limit is None else limit, "the claim's own tolerance")
    return band_figure_part(name, values, b, f"{_fmt(claimed, digits)} {unit}".strip(), unit, digits,
                            resolution=resolution, bounds=bounds)


def band_part(name: str, values, low: float, high: float, unit: str = "", digits: int = 3,
              resolution: float = 0.0, bounds: tuple[float, float] | None = None) -> Part:
    """The figure rule on a claimed range as a table part (checkable while the run range is within
    ``RUN_RANGE_LIMIT`` half-widths of the range)."""
    b = Band(low, high, (high - low) / 2, RUN_RANGE_LIMIT * (high - low) / 2, "a claimed range")
    return band_figure_part(name, values, b, f"{_fmt(low, digits)}–{_fmt(high, digits)} {unit}".strip(), unit,
                            digits, resolution=resolution, bounds=bounds)


def band_figure_part(name: str, values, band: Band, claimed_text: str, unit: str = "", digits: int = 1,
                     resolution: float = 0.0, bounds: tuple[float, float] | None = None, chance: float | None = None,
                     components: list | None = None, claimed_components: list[float] | None = None,
                     component_names: list[str] | None = None, change: bool = False) -> Part:
    """The figure (or change) rule as a table part against ``band``.

    With ``chance`` (an accuracy's chance level) the figure is judged within the report's mode where the seeds
    split between chance and learning; ``components`` and ``claimed_components`` are the accuracies the value
    is made of and the report's figures for them (default: the value itself and the band's centre).
    """
    components = components if components is not None else [np.asarray(values, float)]
    claimed_components = claimed_components if claimed_components is not None else [band.centre]
    check, modes = _moded_check(values, band, components, claimed_components, component_names or [name], chance,
                                resolution, bounds, unit, digits, change)
    limit = "" if band.limit == float("inf") else f", checkable while the run range is within ±{band.limit:.{digits}f}"
    what = "change (paired seeds; one report pair = two independent runs)" if change else "figure"
    text = (f"{what}: band [{_fmt(band.low, digits)}, {_fmt(band.high, digits)}] ({band.why}{limit}); REPRODUCED "
            f"within 1.96 σ of the recipe's runs (conservative), NOT REPRODUCED outside the 95 % prediction interval")
    if check.confirm_edge == check.confirm_edge:
        text += (f"; here REPRODUCED needs the band within {check.confirm_edge:.{digits}f}{' ' + unit if unit else ''} "
                 f"of the mean's far one-sided 95 % bound, NOT REPRODUCED its distance from the mean beyond "
                 f"{check.refute_edge:.{digits}f}")
    p = check.p_refute
    return Part(name, check.verdict, claimed_text, _figure_measured(check, unit, digits, modes), text, check.interval,
                reason=check.reason, modes=modes, p_refute=None if p != p else p)


def effect_part(name: str, greater, lesser, band: Band, unit: str = "pp", digits: int = 1,
                resolution: float = 0.0, bounds: tuple[float, float] | None = None, chance: float | None = None,
                claimed_components: tuple[float, float] | None = None) -> Part:
    """A claimed change (one pair of runs in the report): the change rule, judged within the report's mode (both
    runs learned, say) where the seeds split between chance and learning."""
    greater, lesser = np.asarray(greater, float), np.asarray(lesser, float)
    moded = chance is not None and claimed_components is not None
    return band_figure_part(name, greater - lesser, band, f"{band.centre:+.{digits}f} {unit}".strip(), unit, digits,
                            resolution=resolution, bounds=bounds, chance=chance if moded else None,
                            components=[greater, lesser],
                            claimed_components=list(claimed_components) if moded else [np.nan, np.nan],
                            component_names=["changed", "base"], change=True)


@dataclass(frozen=True)
class OrderingCheck:
    verdict: Verdict
    difference: float
    low: float  # one-sided 95 % lower bound of the mean difference
    high: float  # one-sided 95 % upper bound
    p: float  # one-sided p of the direction that decided (or of the claimed direction when undecided)
    decided_by: str  # 'greater', 'margin', 'reverse' or ''
    p_refute: float = float("nan")  # one-sided p of "the difference is below the margin", the refuting test


def ordering_check(greater, lesser, paired: bool, resolution: float = 0.0, margin: float | None = None) -> OrderingCheck:
    """The ordering rule (``RULES['ordering']``): is mean(greater) − mean(lesser) confidently above the margin
    (REPRODUCED), or confidently below it (NOT REPRODUCED)? The margin is at least the measurement's resolution
    (default: the resolution alone), so there is one boundary and more seeds only narrow the band around it."""
    a, b = np.asarray(greater, float).ravel(), np.asarray(lesser, float).ravel()
    margin = resolution if margin is None else max(margin, resolution)
    if len(a) < 2 or len(b) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        nan = float("nan")
        return OrderingCheck(Verdict.INCONCLUSIVE, float(np.mean(a) - np.mean(b)) if len(a) and len(b) else nan,
                             nan, nan, nan, "")
    diff, se, df = mean_difference(a, b, paired, least_sd=resolution / 2)
    t95 = float(sps.t.ppf(1 - ALPHA, df))
    low, high = diff - t95 * se, diff + t95 * se

    def p_above(edge: float) -> float:  # one-sided p of "the difference exceeds edge"
        return float(sps.t.sf((diff - edge) / se, df)) if se > 0 else float(diff <= edge)

    p_refute = 1 - p_above(margin)
    if low > margin:
        return OrderingCheck(Verdict.REPRODUCED, diff, low, high, p_above(margin), "greater", p_refute)
    if high < margin:
        if high < 0:  # significantly reversed: its p is that of the reverse ordering
            return OrderingCheck(Verdict.NOT_REPRODUCED, diff, low, high, 1 - p_above(0.0), "reverse", p_refute)
        return OrderingCheck(Verdict.NOT_REPRODUCED, diff, low, high, p_refute, "margin", p_refute)
    return OrderingCheck(Verdict.INCONCLUSIVE, diff, low, high, p_above(margin), "", p_refute)


def ordering_verdict(greater, lesser, paired: bool, resolution: float = 0.0,
                     margin: float | None = None) -> tuple[Verdict, float]:
    """Verdict on the claim mean(greater) > mean(lesser), with the one-sided p of the direction that decided."""
    check = ordering_check(greater, lesser, paired, resolution, margin)
    return check.verdict, check.p


def ordering_part(name: str, greater, lesser, paired: bool, resolution: float = 0.0, unit: str = "",
                  digits: int = 1, bounds: tuple[float, float] | None = None, claimed: str | None = None,
                  margin: float | None = None) -> Part:
    """The ordering rule as a table part; its interval is that of the mean difference greater − lesser, each
    bound one-sided 95 %."""
    check = ordering_check(greater, lesser, paired, resolution, margin)
    low, high = check.low, check.high
    if bounds is not None and low == low:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    n = len(np.asarray(greater).ravel())
    interval = Interval(check.difference, low, high, n, "t", "mean", sides="one-sided 95 % bounds (90 % two-sided)")
    test = "paired t" if paired else "Welch's t"
    u = f" {unit}" if unit else ""
    margin_v = resolution if margin is None else max(margin, resolution)
    if low == low:
        bounds_text = f"[{low:.{digits}f}, {high:.{digits}f}] (one-sided 95 % bounds, n={n})"
    else:
        bounds_text = f"(n={n}, no interval)"
    p_text = "n/a" if check.p != check.p else f"{check.p:.2g}"
    direction = {"greater": f"greater than {margin_v:g}{u}", "margin": f"below the margin {margin_v:g}{u}",
                 "reverse": "reversed", "": f"undecided; p of greater than {margin_v:g}{u}"}[check.decided_by]
    measured = f"difference {check.difference:.{digits}f}{u} {bounds_text}; p ({direction}) = {p_text}"
    rule = (f"ordering: {test}; REPRODUCED when the lower bound > the margin {margin_v:g}{u}, NOT REPRODUCED when "
            f"the upper bound < it")
    return Part(name, check.verdict, claimed or "greater", measured, rule, interval,
                reason="" if check.verdict != Verdict.INCONCLUSIVE else "seeds",
                p_refute=None if check.p_refute != check.p_refute else check.p_refute)


def per_seed_verdict(holds) -> Verdict:
    """Verdict on a mechanism checked once per seed (``RULES['per seed']``)."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    if not holds:
        return Verdict.NOT_RUN
    low, high = clopper_pearson(sum(holds), len(holds))
    if low > TYPICAL:
        return Verdict.REPRODUCED
    if high < TYPICAL:
        return Verdict.NOT_REPRODUCED
    return Verdict.INCONCLUSIVE


def per_seed_part(name: str, holds, claimed: str, measured: str | None = None) -> Part:
    """The per-seed rule as a table part, with the rate's Clopper–Pearson bounds."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    k, n = sum(holds), len(holds)
    low, high = clopper_pearson(k, n) if n else (float("nan"), float("nan"))
    interval = Interval(k / n if n else float("nan"), low, high, n, "clopper-pearson", "rate",
                        sides="one-sided 95 % bounds")
    rate = f"rate [{low:.2f}, {high:.2f}] (one-sided 95 % Clopper–Pearson)" if n else "no seeds"
    verdict = per_seed_verdict(holds)
    return Part(name, verdict, claimed, f"{measured + '; ' if measured else ''}holds for {k}/{n} seeds; {rate}",
                "per seed: REPRODUCED when the rate's lower bound > 1/2, NOT REPRODUCED when its upper bound < 1/2",
                interval, reason="seeds" if verdict == Verdict.INCONCLUSIVE else "")


def all_cases_verdict(holds) -> Verdict:
    """Verdict on a deterministic check over cases: any failing case refutes it."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    if not holds:
        return Verdict.NOT_RUN
    return Verdict.REPRODUCED if all(holds) else Verdict.NOT_REPRODUCED


def all_cases_part(name: str, holds, claimed: str, measured: str | None = None) -> Part:
    """The all-cases rule as a table part."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    return Part(name, all_cases_verdict(holds), claimed, measured or f"holds for {sum(holds)}/{len(holds)} cases",
                "all cases: a deterministic check, every case must hold")


def artifact_verdict(correct: Verdict, mistake_reproduces_figure: bool) -> Verdict:
    """ARTIFACT when the correct evaluation refutes the figure and a discriminating mistake reproduces it."""
    if correct == Verdict.NOT_REPRODUCED and mistake_reproduces_figure:
        return Verdict.ARTIFACT
    return correct


def refuted_together(parts: list[Part]) -> list[Part]:
    """The primary parts whose NOT REPRODUCED stands for the claim: with m parts tested over seeds, one refutes the
    claim at ``ALPHA`` only if its p is at most ALPHA/m (the first step of Holm's procedure, which is all that "any
    part refutes" needs), so a faithful report is refuted at most 5 % of the time however many parts it has. The
    figure and ordering rules give that p; a per-seed count refutes as it stands (its smallest p at 5 seeds, 1/32,
    would never refute beside another part), and so does a deterministic check."""
    tested = [p for p in parts if p.p_refute is not None]
    return [p for p in parts if p.verdict == Verdict.NOT_REPRODUCED
            and (p.p_refute is None or p.p_refute <= ALPHA / max(len(tested), 1))]


def combine(verdicts, refuted: bool | None = None) -> Verdict:
    """Primary parts decided together: NOT REPRODUCED if any is (``refuted``, where given: whether one refutes at
    the claim's level, :func:`refuted_together`); else ARTIFACT if any is an artifact and the rest reproduce;
    REPRODUCED if all are; INCONCLUSIVE otherwise."""
    verdicts = [Verdict(v) for v in verdicts if v is not None]
    if not verdicts:
        return Verdict.NOT_RUN
    if any(v == Verdict.NOT_REPRODUCED for v in verdicts) if refuted is None else refuted:
        return Verdict.NOT_REPRODUCED
    if all(v in (Verdict.REPRODUCED, Verdict.ARTIFACT) for v in verdicts):
        return Verdict.ARTIFACT if Verdict.ARTIFACT in verdicts else Verdict.REPRODUCED
    return Verdict.INCONCLUSIVE


def shown(name: str, claimed: str, measured: str, interval: Interval | None = None) -> Part:
    """A figure shown beside the verdict and not judged."""
    return Part(name, None, claimed, measured, "shown, not judged", interval, judged=False)


def beside(part: Part) -> Part:
    """``part`` shown beside the verdict (with its own verdict) but not deciding it."""
    return replace(part, judged=False)


def judged(parts: list[Part], claimed: str, measured: str, headline: Part | None = None,
           claimed_value: float | None = None, figures: dict | None = None, verdict: Verdict | None = None,
           primary: list[str] | None = None) -> Judgement:
    """A :class:`Judgement` decided by its primary parts (``RULES['claim']``), or by ``verdict`` when given.

    ``primary`` names the parts that decide (the report's point); every other part is kept beside, with its own
    verdict. Without it, the parts not already marked beside are primary. The row's interval is ``headline``'s,
    or, where the parts decided and ``headline`` gave another verdict than the claim's, the deciding part's.
    """
    if primary is not None:
        names = {p.name for p in parts}
        missing = [name for name in primary if name not in names]
        if missing:
            raise ValueError(f"primary part(s) {missing} are not among the parts {sorted(names)}")
        parts = [p if (p.name in primary) == p.judged or p.verdict is None else replace(p, judged=p.name in primary)
                 for p in parts]
    decided_by_parts = verdict is None  # a judge's own rule (existence) keeps the headline it chose
    primaries = [p for p in parts if p.judged and p.verdict is not None]
    tested = [p for p in primaries if p.p_refute is not None]
    if len(tested) > 1:  # say at which p the claim refutes, and each part's p of that test
        level = ALPHA / len(tested)
        ids = {id(p) for p in tested}
        parts = [replace(p, rule=f"{p.rule}; the claim refutes when one of its {len(tested)} primary parts tested "
                                 f"over seeds has p ≤ {level:.3g} (Holm), this part's p of being refuted is "
                                 f"{p.p_refute:.2g}") if id(p) in ids else p for p in parts]
        primaries = [p for p in parts if p.judged and p.verdict is not None]
        if headline is not None:
            headline = next((p for p in parts if p.name == headline.name), headline)
    verdict = combine((p.verdict for p in primaries), bool(refuted_together(primaries))) if decided_by_parts \
        else verdict
    metric = ""
    if headline is not None and decided_by_parts:
        deciding = _deciding(headline, parts, verdict)
        if deciding is not headline:
            metric = f"{deciding.name} (the primary part that decided)"
        headline = deciding
    return Judgement(
        verdict=verdict, parts=parts, claimed=claimed, measured=measured,
        interval=None if headline is None else headline.interval,
        claimed_value=claimed_value, figures=figures or {}, metric=metric,
    )


def _deciding(headline: Part, parts: list[Part], verdict: Verdict) -> Part:
    """The part whose figure heads the claim's row: ``headline``, unless its verdict is not the claim's; then the
    first primary part that gave the claim's verdict (a row must not print a figure that passes beside a verdict
    another part decided)."""
    if headline.verdict in (None, verdict):
        return headline
    return next((p for p in parts if p.judged and p.verdict == verdict and p.interval is not None), headline)
