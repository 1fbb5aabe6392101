"""Statistics over seeds: intervals that respect what a quantity can be, and one-sided tests.

Interval methods (each named in the record of every interval, and in the table legend):

- ``t``: Student's t-interval of the mean, clipped to the quantity's range when it has one
  (a difference of two percentages lies in [-100, 100]);
- ``logit-t``: for a bounded rate (an accuracy in %): the t-interval of the mean of the
  logits, mapped back, so it never leaves the range; values at a bound are first moved in
  by half the measurement's resolution (half a test image);
- ``log-t``: for a ratio: the t-interval of the mean log, mapped back (a geometric mean),
  so it is never negative.

Tests of an ordering are one-sided: paired (``scipy.stats.ttest_rel``) where the two
samples share seeds, initialization and data order; Welch's otherwise. A mean difference
no larger than the measurement's resolution (one test image, one step) is never significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

METHODS = ("t", "logit-t", "log-t")


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with a two-sided confidence interval (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int
    method: str = "t"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _t_half(x: np.ndarray, confidence: float) -> float:
    return float(sps.t.ppf(0.5 + confidence / 2, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x)))


def mean_ci(values, confidence: float = 0.95, bounds: tuple[float, float] | None = None,
            method: str = "t", resolution: float = 0.0) -> Interval:
    """Mean of ``values`` (one per seed) with a ``confidence`` interval by ``method`` (see the module doc).

    ``bounds`` is the quantity's range: the ``t`` interval is clipped to it, and ``logit-t``
    needs it. ``resolution`` is the smallest step the measurement can take (for logit-t).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    x = np.asarray(values, dtype=float).ravel()
    n = len(x)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(np.mean(x))
    if n < 2 or not np.isfinite(x).all():
        return Interval(mean, float("nan"), float("nan"), n, method)
    if method == "t":
        half = _t_half(x, confidence)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
    elif method == "log-t":
        if (x <= 0).any():
            raise ValueError(f"log-t intervals need positive values, got {x.tolist()}")
        logs = np.log(x)
        half = _t_half(logs, confidence)
        mean = float(np.exp(logs.mean()))  # the geometric mean: the centre of this interval
        low, high = float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))
    else:
        if bounds is None:
            raise ValueError("logit-t intervals need the quantity's bounds")
        lo, hi = bounds
        margin = max(resolution, 1e-9 * (hi - lo)) / 2
        p = (np.clip(x, lo + margin, hi - margin) - lo) / (hi - lo)
        logits = np.log(p / (1 - p))
        half = _t_half(logits, confidence)
        back = lambda z: lo + (hi - lo) / (1 + np.exp(-z))  # noqa: E731
        low, high = float(back(logits.mean() - half)), float(back(logits.mean() + half))
        # The arithmetic mean is the figure a reader compares; keep it inside its interval.
        low, high = min(low, mean), max(high, mean)
    return Interval(mean, float(low), float(high), n, method)


def accuracy_ci(values_pct, resolution_pct: float, confidence: float = 0.95) -> Interval:
    """Interval of a mean accuracy in % (logit-t on [0, 100])."""
    return mean_ci(values_pct, confidence, bounds=(0.0, 100.0), method="logit-t", resolution=resolution_pct)


def greater_p(a, b, paired: bool, resolution: float = 0.0) -> float:
    """One-sided p-value that mean(a) > mean(b): paired t-test or Welch's; NaN with fewer than 2 values.

    A mean difference of at most ``resolution`` gives p = 1: it is below what the
    measurement can tell apart. Samples with no spread (scipy gives NaN) give p = 0
    when a's mean exceeds b's by more than ``resolution``.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if len(a) < 2 or len(b) < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    if paired and len(a) != len(b):
        raise ValueError(f"a paired test needs samples of one size, got {len(a)} and {len(b)}")
    diff = a.mean() - b.mean()
    if diff <= resolution:
        return 1.0
    spread = np.ptp(a - b) if paired else np.ptp(a) + np.ptp(b)
    if spread <= 1e-12 * max(1.0, abs(diff)):  # no spread beyond round-off: a deterministic difference
        return 0.0
    if paired:
        return float(sps.ttest_rel(a, b, alternative="greater").pvalue)
    return float(sps.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def welch_greater(a, b, resolution: float = 0.0) -> float:
    """One-sided p-value of Welch's t-test that mean(a) > mean(b) (independent samples)."""
    return greater_p(a, b, paired=False, resolution=resolution)


def paired_greater(a, b, resolution: float = 0.0) -> float:
    """One-sided p-value of the paired t-test that mean(a) > mean(b) (samples matched by seed)."""
    return greater_p(a, b, paired=True, resolution=resolution)


def describe(interval: Interval, unit: str = "", digits: int = 1) -> str:
    """``'53.1 % [51.2, 55.0] (n=5)'``: a mean with its interval, for tables."""
    u = f" {unit}" if unit else ""
    if interval.n < 2 or interval.low != interval.low:  # NaN bounds
        return f"{interval.mean:.{digits}f}{u} (n={interval.n}, no interval)"
    return f"{interval.mean:.{digits}f}{u} [{interval.low:.{digits}f}, {interval.high:.{digits}f}] (n={interval.n})"
