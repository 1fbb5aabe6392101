"""Statistics over seeds: intervals that respect what a quantity can be, and one-sided tests.

Interval methods (each named in the record of every interval, and in the table legend):

- kind ``mean``: where the mean over seeds lies; kind ``prediction``: where one more run would
  fall (mean ± t·s·√(1 + 1/n)). A report's figure is one run, so a claimed figure is set against
  the prediction interval: comparing one run with the interval of a mean would refute a typical
  run once enough seeds narrow that interval.

- ``t``: Student's t-interval of the mean, clipped to the quantity's range when it has one
  (a difference of two percentages lies in [-100, 100]);
- ``logit-t``: for a bounded rate (an accuracy in %): the t-interval of the mean of the
  logits, mapped back, so it never leaves the range; values at a bound are first moved in
  by half the measurement's resolution (half a test image);
- ``log-t``: for a ratio: the t-interval of the mean log, mapped back (a geometric mean),
  so it is never negative.

Orderings (``mean_difference``) are paired where the two samples share seeds, initialization and data
order, Welch's otherwise; their one-sided bounds and the rules that read them are in
``harness/claims/verdicts.py``.
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
    kind: str = "mean"  # 'mean' (of the mean over seeds), 'prediction' (of one more run) or 'rate' (of a proportion)
    sides: str = "two-sided 95 %"  # or "one-sided 95 % bounds (90 % two-sided)"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def _t_half(x: np.ndarray, confidence: float, kind: str = "mean", sd_floor: float = 0.0) -> float:
    n = len(x)
    sd = max(float(np.std(x, ddof=1)), sd_floor)
    scale = np.sqrt(1.0 + 1.0 / n) if kind == "prediction" else np.sqrt(1.0 / n)
    return float(sps.t.ppf(0.5 + confidence / 2, n - 1) * sd * scale)


def mean_ci(values, confidence: float = 0.95, bounds: tuple[float, float] | None = None,
            method: str = "t", resolution: float = 0.0, kind: str = "mean", sd_floor: float = 0.0,
            trials: int | None = None) -> Interval:
    """Mean of ``values`` (one per seed) with a ``confidence`` interval by ``method`` (see the module doc).

    ``bounds`` is the quantity's range: the ``t`` interval is clipped to it, and ``logit-t``
    needs it. ``resolution`` is the smallest step the measurement can take (for logit-t).
    ``kind`` 'prediction' gives the interval of one more run instead of the mean's. ``sd_floor``
    is the least spread a single measurement has (on the interval's scale): seeds that agree
    exactly still carry the noise of measuring on a finite test set. ``trials`` (logit-t) is the
    number of images each rate was measured on: when every seed sits at a bound (all 0 %, all
    100 %), the interval is the exact Clopper–Pearson one of the pooled images (one run's, for a
    prediction), since no t-interval or delta method holds there.
    """
    if kind not in ("mean", "prediction", "rate"):
        raise ValueError(f"kind must be 'mean' or 'prediction', not {kind!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    x = np.asarray(values, dtype=float).ravel()
    n = len(x)
    if n == 0:
        raise ValueError("mean_ci needs at least one value")
    mean = float(np.mean(x))
    if n < 2 or not np.isfinite(x).all():
        return Interval(mean, float("nan"), float("nan"), n, method, kind)
    if method == "log-t" and (x <= 0).any():
        return Interval(mean, float("nan"), float("nan"), n, method, kind)  # a zero ratio has no log scale
    if method == "t":
        half = _t_half(x, confidence, kind, sd_floor)
        low, high = mean - half, mean + half
        if bounds is not None:
            low, high = max(low, bounds[0]), min(high, bounds[1])
    elif method == "log-t":
        if (x <= 0).any():
            raise ValueError(f"log-t intervals need positive values, got {x.tolist()}")
        logs = np.log(x)
        half = _t_half(logs, confidence, kind, sd_floor)
        mean = float(np.exp(logs.mean()))  # the geometric mean: the centre of this interval
        low, high = float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))
    else:
        if bounds is None:
            raise ValueError("logit-t intervals need the quantity's bounds")
        lo, hi = bounds
        if trials and (np.all(x <= lo) or np.all(x >= hi)):
            pooled = trials if kind == "prediction" else trials * n
            tail = (1 - confidence) / 2
            inner = float(sps.beta.ppf(1 - tail, 1, pooled))  # Clopper–Pearson bound with no success (or failure)
            if np.all(x <= lo):
                return Interval(mean, lo, lo + (hi - lo) * inner, n, "clopper-pearson", kind)
            return Interval(mean, hi - (hi - lo) * inner, hi, n, "clopper-pearson", kind)
        margin = max(resolution, 1e-9 * (hi - lo)) / 2
        p = (np.clip(x, lo + margin, hi - margin) - lo) / (hi - lo)
        logits = np.log(p / (1 - p))
        # The floor on the logit scale: the logit distance of one floor step from the mean, taken towards the
        # middle of the range (a derivative would blow up at 0 % and 100 %).
        edge = margin / (hi - lo)
        pm = float(np.clip(p.mean(), edge, 1 - edge))
        inner = float(np.clip(pm - sd_floor / (hi - lo) if pm > 0.5 else pm + sd_floor / (hi - lo), edge, 1 - edge))
        logit_floor = abs(np.log(pm / (1 - pm)) - np.log(inner / (1 - inner)))
        half = _t_half(logits, confidence, kind, logit_floor)
        back = lambda z: lo + (hi - lo) / (1 + np.exp(-z))  # noqa: E731
        low, high = float(back(logits.mean() - half)), float(back(logits.mean() + half))
        # The arithmetic mean is the figure a reader compares; keep it inside its interval.
        low, high = min(low, mean), max(high, mean)
    return Interval(mean, float(low), float(high), n, method, kind)


def accuracy_sd(values_pct, n_images: int) -> float:
    """The spread (in pp) of one accuracy measured on ``n_images`` images: binomial, at least one image."""
    p = float(np.clip(np.mean(values_pct) / 100.0, 0.0, 1.0))
    return 100.0 * max(float(np.sqrt(p * (1 - p) / n_images)), 1.0 / n_images)


def accuracy_ci(values_pct, n_images: int, confidence: float = 0.95, kind: str = "mean") -> Interval:
    """Interval of a mean accuracy in % measured on ``n_images`` images (logit-t on [0, 100], binomial floor)."""
    return mean_ci(values_pct, confidence, bounds=(0.0, 100.0), method="logit-t", resolution=100.0 / n_images,
                   kind=kind, sd_floor=accuracy_sd(values_pct, n_images), trials=n_images)


def describe(interval: Interval, unit: str = "", digits: int = 1) -> str:
    """``'53.1 % [51.2, 55.0] (n=5)'``: a mean with its interval, for tables."""
    u = f" {unit}" if unit else ""
    if interval.n < 2 or interval.low != interval.low:  # NaN bounds
        return f"{interval.mean:.{digits}f}{u} (n={interval.n}, no interval)"
    what = ", one more run" if interval.kind == "prediction" else ""
    return (f"{interval.mean:.{digits}f}{u} [{interval.low:.{digits}f}, {interval.high:.{digits}f}] "
            f"(n={interval.n}{what})")


# ---------------------------------------------------------------- what the verdict rules need


def sd_bounds(sd: float, n: int, confidence: float = 0.95, df: float | None = None) -> tuple[float, float]:
    """One-sided ``confidence`` bounds of a normal spread σ from the sample sd of ``n`` values (χ² on n − 1
    degrees of freedom, or on ``df``: Satterthwaite's for a spread combined from two samples)."""
    df = n - 1 if df is None else df
    return (float(sd * np.sqrt(df / sps.chi2.ppf(confidence, df))),
            float(sd * np.sqrt(df / sps.chi2.ppf(1 - confidence, df))))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact one-sided ``confidence`` bounds (lower, upper) of a rate seen ``k`` times in ``n`` (Clopper–Pearson)."""
    alpha = 1 - confidence
    low = 0.0 if k == 0 else float(sps.beta.ppf(alpha, k, n - k + 1))
    high = 1.0 if k == n else float(sps.beta.ppf(1 - alpha, k + 1, n - k))
    return low, high


def mean_difference(a, b, paired: bool, least_sd: float = 0.0) -> tuple[float, float, float]:
    """``(difference of means a − b, its standard error, degrees of freedom)``: paired, or Welch's.

    ``least_sd`` is the least spread a single value can have (the measurement's resolution), so that seeds
    that agree exactly do not make the difference certain beyond what the measurement can tell.
    """
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if paired:
        if len(a) != len(b):
            raise ValueError(f"a paired test needs samples of one size, got {len(a)} and {len(b)}")
        d = a - b
        sd = max(float(np.std(d, ddof=1)), least_sd)
        return float(d.mean()), sd / np.sqrt(len(d)), float(len(d) - 1)
    va = max(float(np.var(a, ddof=1)), least_sd ** 2) / len(a)
    vb = max(float(np.var(b, ddof=1)), least_sd ** 2) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if va + vb > 0 else float(len(a) + len(b) - 2)
    return float(a.mean() - b.mean()), float(np.sqrt(va + vb)), float(df)
