"""Statistics over seeds and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.claims import Verdict, artifact_verdict, combine, figure_verdict, ordering_verdict, per_seed_verdict
from harness.stats import describe, mean_ci, welch_greater


def test_mean_ci_is_the_t_interval():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    ci = mean_ci(x)
    half = sps.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5)
    assert ci.mean == 3.0 and ci.n == 5
    assert ci.low == pytest.approx(3.0 - half) and ci.high == pytest.approx(3.0 + half)
    assert half == pytest.approx(1.9632, abs=1e-4)


def test_one_seed_has_no_interval():
    ci = mean_ci([0.5])
    assert ci.n == 1 and math.isnan(ci.low)
    assert "no interval" in describe(ci)


def test_welch_one_sided():
    a, b = [10.1, 10.3, 9.9, 10.2, 10.0], [9.0, 9.2, 8.9, 9.1, 9.3]
    assert welch_greater(a, b) < 0.001
    assert welch_greater(b, a) > 0.999
    assert math.isnan(welch_greater([1.0], b))
    assert welch_greater([2.0, 2.0], [1.0, 1.0]) == 0.0


def test_figure_rule():
    assert figure_verdict([52.0, 53.0, 54.0, 53.0, 53.0], 53.0, 3.0)[0] == Verdict.REPRODUCED
    assert figure_verdict([30.0, 31.0, 29.0, 30.5, 30.0], 53.0, 3.0)[0] == Verdict.NOT_REPRODUCED
    assert figure_verdict([48.0, 58.0, 53.0], 53.0, 3.0)[0] == Verdict.INCONCLUSIVE  # too noisy
    assert figure_verdict([53.0], 53.0, 3.0)[0] == Verdict.INCONCLUSIVE  # one seed


def test_ordering_rule():
    assert ordering_verdict([5.0, 5.1, 5.2], [1.0, 1.1, 1.2])[0] == Verdict.REPRODUCED
    assert ordering_verdict([1.0, 1.1, 1.2], [5.0, 5.1, 5.2])[0] == Verdict.NOT_REPRODUCED
    assert ordering_verdict([1.0, 3.0, 2.0], [2.0, 1.0, 3.0])[0] == Verdict.INCONCLUSIVE


def test_per_seed_artifact_and_combination():
    assert per_seed_verdict([True, True]) == Verdict.REPRODUCED
    assert per_seed_verdict([False, False]) == Verdict.NOT_REPRODUCED
    assert per_seed_verdict([True, False]) == Verdict.INCONCLUSIVE
    assert artifact_verdict(Verdict.NOT_REPRODUCED, True) == Verdict.ARTIFACT
    assert artifact_verdict(Verdict.NOT_REPRODUCED, False) == Verdict.NOT_REPRODUCED
    assert artifact_verdict(Verdict.REPRODUCED, True) == Verdict.REPRODUCED
    assert combine([Verdict.REPRODUCED, Verdict.REPRODUCED]) == Verdict.REPRODUCED
    assert combine([Verdict.REPRODUCED, Verdict.INCONCLUSIVE]) == Verdict.INCONCLUSIVE
    assert combine([Verdict.INCONCLUSIVE, Verdict.NOT_REPRODUCED]) == Verdict.NOT_REPRODUCED
