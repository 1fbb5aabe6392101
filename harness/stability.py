"""How stable a verdict is: the chance that a replicate run at the same number of seeds gives the same verdict.

Estimated by a predictive bootstrap (:func:`predictive`), each replicate re-judged by the claim's own judge. A plain
bootstrap over the seeds treats the measured seeds as the truth: its replicates scatter around the measured mean,
while a true replicate and the measured run both scatter around an unknown one (twice the variance of their means'
difference), and its spread is never wider than the five seeds happened to be. So the seeds are resampled twice (a
population standing for the truth, then the replicate from it), and each figure of one number a seed is shifted by
the population's departure from the measured mean, corrected for what a resample of few seeds loses, scaled by a χ²
draw for the uncertainty of σ, and kept within the bounds its measurements respect ([0, 100] for one measured
there, non-negative for one measured so). Curves, counts and outcomes are resampled only (whole seeds: a curve keeps
its shape, an outcome its curve), and so is everything where the seeds split between modes (chance and learning), so
no seed leaves its mode; there the estimate is the double bootstrap's, which is optimistic like the plain one, if
less. The verdicts a replicate gives in at least ``SET_SHARE`` of the
draws (and the one measured) are the set a later full run may measure without failing
(``harness/claims/pinned.py``). Its calibration is a test (``tests/test_stability.py``).
"""

from __future__ import annotations

from collections import Counter
from numbers import Number
from typing import Callable

import numpy as np

from .claims.record import Claim, Reading
from .judges import judge_claim

DRAWS = 200  # replicates at the run's own seed count: a share's Monte Carlo standard error is at most 0.035
PROJECTION_DRAWS = 100  # replicates at each larger seed count of the projection
PROJECTED_SEEDS = (10, 20)  # what more seeds would give, from the same measured spread
STABLE = 0.9  # a verdict a replicate repeats at least this often is stable
SET_SHARE = 0.02  # a replicate verdict at least this frequent belongs to the pinned set
METHOD = ("predictive bootstrap: seeds resampled twice (a population, then the replicate), one-number-a-seed figures "
          "shifted for the mean's and scaled for the spread's uncertainty, re-judged by the claim's judge")
METHOD_MODED = ("double bootstrap, modes kept: seeds resampled twice (a population, then the replicate), values "
                "unchanged, re-judged by the claim's judge")


def _is_per_seed(value, n: int) -> bool:
    """A list with one entry a seed: numbers, booleans or NaN (None), or rows of them (seeds × epochs)."""
    if not isinstance(value, list) or len(value) != n:
        return False
    def scalar(v):
        return v is None or (isinstance(v, (Number, bool)) and not isinstance(v, str))
    return all(scalar(v) or (isinstance(v, list) and all(scalar(x) for x in v)) for v in value)


def resample(measurements, index: np.ndarray, n: int):
    """``measurements`` with every per-seed list taken at ``index`` (recursively into dicts and lists of dicts)."""
    if isinstance(measurements, dict):
        return {k: resample(v, index, n) for k, v in measurements.items()}
    if _is_per_seed(measurements, n):
        return [measurements[i] for i in index]
    if isinstance(measurements, list) and any(isinstance(v, dict) for v in measurements):
        return [resample(v, index, n) for v in measurements]
    return measurements


def has_seed_noise(measurements, n: int) -> bool:
    """Whether any per-seed list differs between seeds (a deterministic check has none)."""
    if isinstance(measurements, dict):
        return any(has_seed_noise(v, n) for v in measurements.values())
    if _is_per_seed(measurements, n):
        return any(v != measurements[0] for v in measurements[1:])
    if isinstance(measurements, list):
        return any(has_seed_noise(v, n) for v in measurements if isinstance(v, dict))
    return False


def _figure_field(value, n: int) -> bool:
    """One measured figure a seed: a per-seed list of numbers (or None), at least one a float. Counts (ints alone),
    outcomes (booleans) and rows (a curve a seed) are not figures to shift: they are only resampled."""
    if not _is_per_seed(value, n) or any(isinstance(v, (list, bool)) for v in value):
        return False
    return any(isinstance(v, float) for v in value)


def _shifted(value: list, population: np.ndarray, index: np.ndarray, n: int, scale: float) -> list:
    x = np.array([np.nan if v is None else v for v in value], float)
    finite = np.isfinite(x)
    if finite.sum() < 2:
        return [value[i] for i in index]
    mean = x[finite].mean()
    pop = x[population][finite[population]]
    pop_mean = pop.mean() if len(pop) else mean
    k1, k2 = np.sqrt(n / (n - 1)), n / (n - 1)
    y = mean + scale * (k1 * (pop_mean - mean) + k2 * (x[index] - pop_mean))
    # A figure measured within [0, 100] on every seed (an accuracy in %, a loss) stays there; one measured
    # non-negative stays non-negative.
    low = 0.0 if x[finite].min() >= 0 else -np.inf
    high = 100.0 if low == 0.0 and x[finite].max() <= 100 else np.inf
    y = np.clip(y, low, high)
    return [float(y[j]) if finite[i] else value[i] for j, i in enumerate(index)]


def predictive(measurements, population: np.ndarray, index: np.ndarray, n: int, scale: float, shift_figures: bool):
    """One predictive replicate of ``measurements``: the seeds at ``index``, drawn from a population of seeds that is
    itself a resample (``population``) of the ones measured.

    With ``shift_figures``, every figure of one number a seed (:func:`_figure_field`) of a replicate seed becomes
    ``x̄ + g·(k₁(x̄_pop − x̄) + k₂(x − x̄_pop))``, within [0, 100] where it was measured there (non-negative where
    it was measured so): the population's departure from the measured mean stands for the uncertainty of the true
    mean (k₁ = √(n/(n−1)) makes its variance s²/n), the replicate's own deviations for its noise (k₂ = n/(n−1)
    restores the spread a resample loses), and ``scale`` (g, the same for every figure of the replicate) for the
    uncertainty of the true spread. Everything else (curves, counts, outcomes, missing or non-finite values), and
    everything without ``shift_figures`` (seeds split between modes), is only resampled: whole seeds, so no seed
    leaves its mode and a curve keeps its shape.
    """
    if not shift_figures:
        return resample(measurements, index, n)
    if isinstance(measurements, dict):
        return {k: predictive(v, population, index, n, scale, shift_figures) for k, v in measurements.items()}
    if isinstance(measurements, list) and not _is_per_seed(measurements, n) and any(
            isinstance(v, dict) for v in measurements):
        return [predictive(v, population, index, n, scale, shift_figures) for v in measurements]
    if not _is_per_seed(measurements, n):
        return measurements
    if _figure_field(measurements, n):
        return _shifted(measurements, population, index, n, scale)
    return [measurements[i] for i in index]


def replicate_verdicts(judge: Callable[[dict], str], measurements: dict, n_seeds: int, draws: int,
                       size: int | None = None, seed: int = 0, moded: bool = False) -> Counter:
    """How often each verdict ``judge`` gives on ``draws`` predictive replicates (:func:`predictive`) of ``size``
    seeds (default: n_seeds). ``moded``: the seeds split between modes, so values are resampled, never shifted."""
    rng = np.random.default_rng(seed)
    size = n_seeds if size is None else size
    counts: Counter = Counter()
    for _ in range(draws):
        population = rng.integers(0, n_seeds, n_seeds)
        index = population[rng.integers(0, n_seeds, size)]
        scale = float(np.sqrt((n_seeds - 1) / rng.chisquare(n_seeds - 1)))  # σ/s under the measured spread
        counts[judge(predictive(measurements, population, index, n_seeds, scale, not moded))] += 1
    return counts


def stability(claim: Claim, reading: Reading, measurements: dict, n_seeds: int, verdict: str,
              draws: int = DRAWS, projected: tuple[int, ...] = PROJECTED_SEEDS,
              projection_draws: int = PROJECTION_DRAWS) -> dict:
    """The stability of ``verdict`` (a record's): its share among predictive replicates, the set a replicate may
    give, and the most frequent verdict at larger seed counts (``projected``), as a JSON-ready dict."""
    if n_seeds < 2 or not has_seed_noise(measurements, n_seeds):
        return {"same": 1.0, "set": [verdict], "shares": {verdict: 1.0}, "method": "deterministic: no seed-to-seed "
                "variation to resample", "draws": 0, "projected": {}, "stable": True}
    # Seeds split between modes in any part: shifting would move seeds across the chance line.
    moded = any(p.modes for p in judge_claim(claim, reading, measurements).parts)
    def judge(m):
        return str(judge_claim(claim, reading, m).verdict)
    counts = replicate_verdicts(judge, measurements, n_seeds, draws, moded=moded)
    shares = {v: c / draws for v, c in counts.most_common()}
    same = shares.get(verdict, 0.0)
    allowed = sorted({verdict} | {v for v, share in shares.items() if share >= SET_SHARE})
    projection = {}
    for size in projected:
        if size > n_seeds:
            more = replicate_verdicts(judge, measurements, n_seeds, projection_draws, size, seed=size, moded=moded)
            top, count = more.most_common(1)[0]
            projection[str(size)] = {"verdict": top, "share": count / projection_draws}
    return {"same": same, "set": allowed, "shares": shares, "method": METHOD_MODED if moded else METHOD,
            "draws": draws, "projected": projection, "stable": same >= STABLE}


SHORT = {"REPRODUCED": "R", "NOT REPRODUCED": "NR", "INCONCLUSIVE": "I", "ARTIFACT": "A", "NOT RUN": "N"}


def other_verdict(s: dict, verdict: str) -> str:
    """The most frequent verdict a replicate gives other than the row's ``verdict``, as 'NR 0.38' ('' where none
    does): why a row is unstable (it sits near that verdict's boundary)."""
    others = [(share, v) for v, share in s.get("shares", {}).items() if v != verdict]
    if not others:
        return ""
    share, v = max(others)
    return f"{SHORT.get(v, v)} {share:.2f}"


def stability_words(s: dict | None, verdict: str) -> str:
    """A record's stability for its detail: '0.93', or '0.62 unstable (replicates also give NR 0.38; 10 seeds: NOT
    REPRODUCED 0.95)'."""
    if not s:
        return "—"
    if s.get("draws", 0) == 0:
        return "1 (deterministic)"
    text = f"{s['same']:.2f}"
    if not s.get("stable"):
        other = other_verdict(s, verdict)
        more = [f"replicates also give {other}"] if other else []
        more += [f"{k} seeds: {v['verdict']} {v['share']:.2f}" for k, v in s.get("projected", {}).items()]
        text += " unstable" + (f" ({'; '.join(more)})" if more else "")
    return text
