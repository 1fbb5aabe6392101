"""Statistics over seeds: means with t-intervals, Welch's test for orderings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with a two-sided confidence interval (NaN bounds when n < 2)."""

    mean: float
    low: float
    high: float
    n: int

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def mean_ci(values, confidence: float = 0.95) -> Interval:
    """Mean and t-distribution confidence interval of ``values`` (one per seed)."""
    x = np.asarray(values, dtype=float).ravel()
    n = len(x)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(np.mean(x))
    if n < 2:
        return Interval(mean, float("nan"), float("nan"), n)
    sem = float(np.std(x, ddof=1) / np.sqrt(n))
    half = float(sps.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return Interval(mean, mean - half, mean + half, n)


def welch_greater(a, b) -> float:
    """One-sided p-value of Welch's t-test that mean(a) > mean(b); NaN if either has fewer than 2 values.

    Identical constant samples give p = 0 when a's value is larger, 1 otherwise
    (scipy would give NaN: zero variance leaves the t statistic undefined).
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    if np.var(a) == 0 and np.var(b) == 0:
        return 0.0 if a.mean() > b.mean() else 1.0
    return float(sps.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)


def describe(interval: Interval, unit: str = "", digits: int = 1) -> str:
    """``'53.1 % [51.2, 55.0] (n=5)'``: a mean with its interval, for tables."""
    u = f" {unit}" if unit else ""
    if interval.n < 2 or interval.low != interval.low:  # NaN bounds
        return f"{interval.mean:.{digits}f}{u} (n={interval.n}, no interval)"
    return f"{interval.mean:.{digits}f}{u} [{interval.low:.{digits}f}, {interval.high:.{digits}f}] (n={interval.n})"
