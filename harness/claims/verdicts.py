"""Verdicts, decided from measurements by rules stated once here.

- A claimed figure is REPRODUCED when the 95 % interval of the measured mean lies
  inside the band claimed ± tolerance, NOT REPRODUCED when the interval and the band
  do not meet, INCONCLUSIVE otherwise (and with fewer than 2 seeds).
- A claimed ordering a > b is REPRODUCED when Welch's one-sided test gives p < α,
  NOT REPRODUCED when the reverse ordering does, INCONCLUSIVE otherwise.
- A mechanism observed per seed is REPRODUCED when it holds for every seed,
  NOT REPRODUCED when for none, INCONCLUSIVE when for some.
- ARTIFACT: the correct measurement contradicts the report's figure and an
  evaluation mistake the harness runs reproduces that figure.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from ..stats import Interval, mean_ci, welch_greater

ALPHA = 0.05


class Verdict(str, Enum):
    REPRODUCED = "REPRODUCED"
    NOT_REPRODUCED = "NOT REPRODUCED"
    ARTIFACT = "ARTIFACT"
    INCONCLUSIVE = "INCONCLUSIVE"
    NOT_RUN = "NOT RUN"

    def __str__(self) -> str:
        return self.value


def figure_verdict(values, claimed: float, tolerance: float) -> tuple[Verdict, Interval]:
    """Verdict on a claimed figure from one measured value per seed."""
    ci = mean_ci(values)
    if ci.n < 2 or np.isnan(ci.low):
        return Verdict.INCONCLUSIVE, ci
    lo, hi = claimed - tolerance, claimed + tolerance
    if lo <= ci.low and ci.high <= hi:
        return Verdict.REPRODUCED, ci
    if ci.high < lo or ci.low > hi:
        return Verdict.NOT_REPRODUCED, ci
    return Verdict.INCONCLUSIVE, ci


def ordering_verdict(greater, lesser, alpha: float = ALPHA) -> tuple[Verdict, float]:
    """Verdict on the claim mean(greater) > mean(lesser), with its one-sided p-value."""
    p = welch_greater(greater, lesser)
    if np.isnan(p):
        return Verdict.INCONCLUSIVE, p
    if p < alpha:
        return Verdict.REPRODUCED, p
    if welch_greater(lesser, greater) < alpha:
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


def artifact_verdict(correct: Verdict, mistake_reproduces_figure: bool) -> Verdict:
    """ARTIFACT when the correct evaluation refutes the figure and a mistake reproduces it."""
    if correct == Verdict.NOT_REPRODUCED and mistake_reproduces_figure:
        return Verdict.ARTIFACT
    return correct


def combine(verdicts) -> Verdict:
    """A claim made of several parts: REPRODUCED only if all are; NOT REPRODUCED if any is."""
    verdicts = list(verdicts)
    if any(v == Verdict.NOT_REPRODUCED for v in verdicts):
        return Verdict.NOT_REPRODUCED
    if all(v == Verdict.REPRODUCED for v in verdicts):
        return Verdict.REPRODUCED
    return Verdict.INCONCLUSIVE
