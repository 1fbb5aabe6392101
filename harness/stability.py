"""How stable a verdict is: the chance that a replicate run at the same number of seeds gives the same verdict.

Estimated by the bootstrap over seeds: a replicate is drawn by resampling the seeds with replacement, every
measurement of a seed together (so paired designs stay paired, and seeds split between modes stay split), and
re-judged by the claim's own judge. At few seeds the resamples can only reuse the seeds measured, so the
estimate is optimistic (a resample of 5 seeds holds about 3.4 distinct ones), most near a decision boundary: it is a
figure to read beside the verdict, not a guarantee. The projections to more seeds resample the same seeds. The verdicts a replicate gives in at least ``SET_SHARE`` of the resamples (and the one measured) are
the set a later full run may measure without failing (``harness/claims/pinned.py``).
"""

from __future__ import annotations

from collections import Counter
from numbers import Number

import numpy as np

from .claims.record import Claim, Reading
from .judges import judge_claim

DRAWS = 200  # resamples at the run's own seed count: the stability figure is within about ±0.035 of its limit
PROJECTION_DRAWS = 100  # resamples at each larger seed count of the projection
PROJECTED_SEEDS = (10, 20)  # what more seeds would give, from the same measured spread
STABLE = 0.9  # a verdict a replicate repeats at least this often is stable
SET_SHARE = 0.02  # a replicate verdict at least this frequent belongs to the pinned set (wide: the bootstrap is optimistic)
METHOD = "bootstrap over seeds (whole seeds resampled, pairs kept), re-judged by the claim's judge"


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


def replicate_verdicts(claim: Claim, reading: Reading, measurements: dict, n_seeds: int, draws: int,
                       size: int | None = None, seed: int = 0) -> Counter:
    """How often each verdict comes out of ``draws`` bootstrap replicates of ``size`` seeds (default: n_seeds)."""
    rng = np.random.default_rng(seed)
    size = n_seeds if size is None else size
    counts: Counter = Counter()
    for _ in range(draws):
        index = rng.integers(0, n_seeds, size)
        counts[str(judge_claim(claim, reading, resample(measurements, index, n_seeds)).verdict)] += 1
    return counts


def stability(claim: Claim, reading: Reading, measurements: dict, n_seeds: int, verdict: str,
              draws: int = DRAWS, projected: tuple[int, ...] = PROJECTED_SEEDS,
              projection_draws: int = PROJECTION_DRAWS) -> dict:
    """The stability of ``verdict`` (a record's): its share among replicates, the set a replicate may give, and the
    same share at larger seed counts (``projected``), as a JSON-ready dict."""
    if n_seeds < 2 or not has_seed_noise(measurements, n_seeds):
        return {"same": 1.0, "set": [verdict], "shares": {verdict: 1.0}, "method": "deterministic: no seed-to-seed "
                "variation to resample", "draws": 0, "projected": {}, "stable": True}
    counts = replicate_verdicts(claim, reading, measurements, n_seeds, draws)
    shares = {v: c / draws for v, c in counts.most_common()}
    same = shares.get(verdict, 0.0)
    allowed = sorted({verdict} | {v for v, share in shares.items() if share >= SET_SHARE})
    projection = {}
    for size in projected:
        if size > n_seeds:
            more = replicate_verdicts(claim, reading, measurements, n_seeds, projection_draws, size, seed=size)
            top, count = more.most_common(1)[0]
            projection[str(size)] = {"verdict": top, "share": count / projection_draws}
    return {"same": same, "set": allowed, "shares": shares, "method": METHOD, "draws": draws,
            "projected": projection, "stable": same >= STABLE}


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
