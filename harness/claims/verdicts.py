"""Verdicts, decided from measurements by rules stated once here.

- **figure**: a report's figure is one run, so it is set against the 95 % *prediction*
  interval of one more run (mean ± t·s·√(1 + 1/n)): REPRODUCED when that interval lies inside
  the band claimed ± tolerance, NOT REPRODUCED when the interval and the band do not meet,
  INCONCLUSIVE otherwise (and with fewer than 2 seeds). A claimed range is a band of its own.
- **ordering** a > b: REPRODUCED when the one-sided test (paired where the samples share
  seeds, Welch's otherwise) gives p < α and the mean difference exceeds the measurement's
  resolution; NOT REPRODUCED when the reverse ordering does; INCONCLUSIVE otherwise.
- **effect**: a claimed change ("34 → 46 %") is a figure on the paired differences: the
  prediction interval of one more pair's gain against the claimed gain ± tolerance.
- **per seed**: a mechanism observed once per seed is REPRODUCED when it holds for every
  seed, NOT REPRODUCED when for none, INCONCLUSIVE when for some.
- **all cases**: a deterministic check over cases (no noise): REPRODUCED when every case
  holds, NOT REPRODUCED otherwise.
- **ARTIFACT**: the correct measurement refutes the report's figure, and an evaluation
  mistake the harness runs gives the report's figure on this model while giving another
  figure on a contrast model (so the mistake discriminates, rather than printing the
  figure for any model).

A claim of several parts shows each part's verdict; its own verdict combines them
(:func:`combine`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum

import numpy as np

from ..stats import Interval, describe, greater_p, mean_ci

ALPHA = 0.05


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
    judged: bool = True  # False: shown beside the verdict, not part of it

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


# ---------------------------------------------------------------- rules on raw values


def band_verdict(values, low: float, high: float, **ci) -> tuple[Verdict, Interval]:
    """Verdict on a one-run figure claimed to lie in [low, high], from one value per seed (prediction interval)."""
    ci.setdefault("kind", "prediction")
    interval = mean_ci(values, **ci)
    if interval.n < 2 or np.isnan(interval.low):
        return Verdict.INCONCLUSIVE, interval
    slack = 1e-9 * max(1.0, abs(low), abs(high))  # round-off of the back-transformed bounds
    if low - slack <= interval.low and interval.high <= high + slack:
        return Verdict.REPRODUCED, interval
    if interval.high < low - slack or interval.low > high + slack:
        return Verdict.NOT_REPRODUCED, interval
    return Verdict.INCONCLUSIVE, interval


def figure_verdict(values, claimed: float, tolerance: float, **ci) -> tuple[Verdict, Interval]:
    """Verdict on a claimed figure ± tolerance from one measured value per seed."""
    return band_verdict(values, claimed - tolerance, claimed + tolerance, **ci)


def ordering_verdict(greater, lesser, paired: bool, resolution: float = 0.0, alpha: float = ALPHA,
                     sd_floor: float = 0.0) -> tuple[Verdict, float]:
    """Verdict on the claim mean(greater) > mean(lesser), with its one-sided p-value."""
    p = greater_p(greater, lesser, paired, resolution, sd_floor)
    if np.isnan(p):
        return Verdict.INCONCLUSIVE, p
    if p < alpha:
        return Verdict.REPRODUCED, p
    if greater_p(lesser, greater, paired, resolution, sd_floor) < alpha:
        return Verdict.NOT_REPRODUCED, p
    return Verdict.INCONCLUSIVE, p


def per_seed_verdict(holds) -> Verdict:
    """Verdict on a mechanism checked once per seed."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    if not holds:
        return Verdict.NOT_RUN
    if all(holds):
        return Verdict.REPRODUCED
    if not any(holds):
        return Verdict.NOT_REPRODUCED
    return Verdict.INCONCLUSIVE


def all_cases_verdict(holds) -> Verdict:
    """Verdict on a deterministic check over cases: any failing case refutes it."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    if not holds:
        return Verdict.NOT_RUN
    return Verdict.REPRODUCED if all(holds) else Verdict.NOT_REPRODUCED


def artifact_verdict(correct: Verdict, mistake_reproduces_figure: bool) -> Verdict:
    """ARTIFACT when the correct evaluation refutes the figure and a discriminating mistake reproduces it."""
    if correct == Verdict.NOT_REPRODUCED and mistake_reproduces_figure:
        return Verdict.ARTIFACT
    return correct


def combine(verdicts) -> Verdict:
    """A claim made of several parts: NOT REPRODUCED if any part is; else ARTIFACT if any part is an
    artifact and the rest reproduce; REPRODUCED if all parts are; INCONCLUSIVE otherwise."""
    verdicts = [Verdict(v) for v in verdicts if v is not None]
    if not verdicts:
        return Verdict.NOT_RUN
    if any(v == Verdict.NOT_REPRODUCED for v in verdicts):
        return Verdict.NOT_REPRODUCED
    if all(v in (Verdict.REPRODUCED, Verdict.ARTIFACT) for v in verdicts):
        return Verdict.ARTIFACT if Verdict.ARTIFACT in verdicts else Verdict.REPRODUCED
    return Verdict.INCONCLUSIVE


# ---------------------------------------------------------------- rules as table parts

_METHOD_WORDS = {"t": "t-interval", "logit-t": "logit-scale t-interval", "log-t": "log-scale t-interval",
                 "clopper-pearson": "exact binomial (Clopper–Pearson) interval"}


def _words(interval: Interval) -> str:
    return ("prediction " if interval.kind == "prediction" else "") + _METHOD_WORDS[interval.method]


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def figure_part(name: str, values, claimed: float, tolerance: float, unit: str = "", digits: int = 1,
                **ci) -> Part:
    """The figure rule as a table part."""
    verdict, interval = figure_verdict(values, claimed, tolerance, **ci)
    return Part(name, verdict, f"{_fmt(claimed, digits)} {unit}".strip(), describe(interval, unit, digits),
                f"figure: 95 % {_words(interval)} within {_fmt(claimed, digits)} ± {_fmt(tolerance, digits)}", interval)


def band_part(name: str, values, low: float, high: float, unit: str = "", digits: int = 3, **ci) -> Part:
    """The figure rule on a claimed range as a table part."""
    verdict, interval = band_verdict(values, low, high, **ci)
    return Part(name, verdict, f"{_fmt(low, digits)}–{_fmt(high, digits)} {unit}".strip(),
                describe(interval, unit, digits),
                f"figure: 95 % {_words(interval)} within [{_fmt(low, digits)}, {_fmt(high, digits)}]", interval)


def ordering_part(name: str, greater, lesser, paired: bool, resolution: float = 0.0, unit: str = "",
                  digits: int = 1, bounds: tuple[float, float] | None = None, claimed: str | None = None,
                  sd_floor: float = 0.0) -> Part:
    """The ordering rule as a table part; its interval is that of the mean difference greater − lesser."""
    greater, lesser = np.asarray(greater, float), np.asarray(lesser, float)
    verdict, p = ordering_verdict(greater, lesser, paired, resolution, sd_floor=sd_floor)
    diff = greater - lesser if paired else np.array([greater.mean() - lesser.mean()])
    interval = (mean_ci(diff, bounds=bounds, sd_floor=sd_floor * np.sqrt(2.0)) if paired
                else Interval(float(diff[0]), float("nan"), float("nan"), 1))
    test = "paired t-test" if paired else "Welch's t-test"
    p_text = "n/a" if np.isnan(p) else f"{p:.2g}"
    return Part(name, verdict, claimed or "greater", f"difference {describe(interval, unit, digits)}; p = {p_text}",
                f"ordering: one-sided {test}, p < {ALPHA}, difference > resolution {resolution:g}", interval)


def effect_part(name: str, greater, lesser, claimed_gain: float, tolerance: float, unit: str = "",
                digits: int = 1, bounds: tuple[float, float] | None = None, sd_floor: float = 0.0) -> Part:
    """A claimed change (one pair of runs in the report) judged as a figure on the paired differences."""
    diff = np.asarray(greater, float) - np.asarray(lesser, float)
    verdict, interval = figure_verdict(diff, claimed_gain, tolerance, bounds=bounds, sd_floor=sd_floor * np.sqrt(2.0))
    return Part(name, verdict, f"{claimed_gain:+.{digits}f} {unit}".strip(), describe(interval, unit, digits),
                f"effect: 95 % paired prediction t-interval of the difference within {claimed_gain:+.{digits}f} ± "
                f"{tolerance:.{digits}f}", interval)


def per_seed_part(name: str, holds, claimed: str, measured: str | None = None) -> Part:
    """The per-seed rule as a table part."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    return Part(name, per_seed_verdict(holds), claimed, measured or f"holds for {sum(holds)}/{len(holds)} seeds",
                "per seed: holds for every seed")


def all_cases_part(name: str, holds, claimed: str, measured: str | None = None) -> Part:
    """The all-cases rule as a table part."""
    holds = [bool(h) for h in np.asarray(holds).ravel()]
    return Part(name, all_cases_verdict(holds), claimed, measured or f"holds for {sum(holds)}/{len(holds)} cases",
                "all cases: a deterministic check, every case must hold")


def shown(name: str, claimed: str, measured: str, interval: Interval | None = None) -> Part:
    """A figure shown beside the verdict and not judged."""
    return Part(name, None, claimed, measured, "shown, not judged", interval, judged=False)


def beside(part: Part) -> Part:
    """``part`` shown beside the verdict (with its own verdict) but not combined into it."""
    return replace(part, judged=False, rule=part.rule + " (shown, not judged)")


def judged(parts: list[Part], claimed: str, measured: str, headline: Part | None = None,
           claimed_value: float | None = None, figures: dict | None = None, verdict: Verdict | None = None) -> Judgement:
    """A :class:`Judgement` whose verdict combines the judged parts (or is ``verdict`` when given)."""
    return Judgement(
        verdict=combine(p.verdict for p in parts if p.judged) if verdict is None else verdict, parts=parts,
        claimed=claimed, measured=measured, interval=None if headline is None else headline.interval,
        claimed_value=claimed_value, figures=figures or {},
    )
