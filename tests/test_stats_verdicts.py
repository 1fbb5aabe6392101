"""Statistics over seeds and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.claims import Verdict, artifact_verdict, combine, figure_verdict, ordering_verdict, per_seed_verdict
from harness.claims.verdicts import all_cases_verdict, band_verdict, beside, figure_part, judged, shown
from harness.stats import accuracy_ci, describe, greater_p, mean_ci, paired_greater, welch_greater


def test_mean_ci_is_the_t_interval():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    ci = mean_ci(x)
    half = sps.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5)
    assert ci.mean == 3.0 and ci.n == 5 and ci.method == "t"
    assert ci.low == pytest.approx(3.0 - half) and ci.high == pytest.approx(3.0 + half)
    assert half == pytest.approx(1.9632, abs=1e-4)


def test_one_seed_has_no_interval():
    ci = mean_ci([0.5])
    assert ci.n == 1 and math.isnan(ci.low)
    assert "no interval" in describe(ci)


def test_the_smoke_tables_impossible_intervals_are_gone():
    # Seen in the old smoke claims.csv: accuracies [32.3, 106.6] and a ratio [-1.83, 2.53].
    acc = accuracy_ci([55.0, 84.0], n_images=2000)
    assert 0.0 <= acc.low <= acc.mean <= acc.high <= 100.0 and acc.method == "logit-t"
    ratio = mean_ci([0.05, 0.65], method="log-t")
    assert 0.0 < ratio.low <= ratio.mean <= ratio.high and ratio.mean == pytest.approx(math.sqrt(0.05 * 0.65))
    diff = mean_ci([-90.0, 99.0], bounds=(-100.0, 100.0))
    assert diff.low == -100.0 and diff.high == 100.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=2, max_size=8))
def test_accuracy_intervals_stay_in_range_and_hold_the_mean(values):
    for kind in ("mean", "prediction"):
        ci = accuracy_ci(values, n_images=10_000, kind=kind)
        assert 0.0 <= ci.low <= ci.mean <= ci.high <= 100.0


def test_accuracy_interval_at_the_bounds_keeps_the_noise_of_a_finite_test_set():
    top = accuracy_ci([100.0, 100.0, 100.0], n_images=10_000, kind="prediction")
    assert top.high == 100.0 and 98.0 < top.low < 100.0  # seeds that all score 100 % are not certainty
    assert accuracy_ci([0.0, 0.0, 0.0], n_images=10_000).low == 0.0


def test_a_prediction_interval_does_not_shrink_to_nothing_with_more_seeds():
    # A report's figure is one run: against the mean's interval it would be refuted once seeds are many.
    rng = np.random.default_rng(0)
    runs = 50.0 + 4.0 * rng.standard_normal(200)
    mean = mean_ci(runs)
    one_more = mean_ci(runs, kind="prediction")
    assert mean.high - mean.low < 2.0 and one_more.high - one_more.low > 12.0
    assert figure_verdict(runs, 56.0, 3.0)[0] == Verdict.INCONCLUSIVE  # a typical single run is not refuted


def test_ties_between_seeds_are_not_certainty():
    # Two seeds each one test image apart: the binomial noise of the test set keeps this from p = 0.
    assert greater_p([10.02, 10.02], [10.0, 10.0], paired=True, resolution=0.01, sd_floor=0.3) > 0.05
    assert greater_p([0.7, 0.8], [0.5, 0.6], paired=True, resolution=0.1, sd_floor=0.5) > 0.05


def test_welch_and_paired_one_sided():
    a, b = [10.1, 10.3, 9.9, 10.2, 10.0], [9.0, 9.2, 8.9, 9.1, 9.3]
    assert welch_greater(a, b) < 0.001
    assert welch_greater(b, a) > 0.999
    assert math.isnan(welch_greater([1.0], b))
    assert welch_greater([2.0, 2.0], [1.0, 1.0]) == 0.0
    # Paired: a shared seed effect that Welch's test cannot see through.
    base = np.array([10.0, 30.0, 50.0, 70.0, 90.0])
    assert paired_greater(base + 1.0 + np.array([0.1, -0.1, 0.0, 0.1, -0.1]), base) < 1e-4
    assert welch_greater(base + 1.0, base) > 0.4
    assert paired_greater(base + 1.0, base) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="one size"):
        paired_greater([1.0, 2.0, 3.0], [1.0, 2.0])


def test_a_difference_within_the_resolution_is_not_significant():
    one_image = 100 / 10_000
    # Two constant samples one test image apart used to give p = 0.
    assert greater_p([10.01, 10.01], [10.0, 10.0], paired=False, resolution=one_image) == 1.0
    assert greater_p([10.01, 10.01], [10.0, 10.0], paired=True, resolution=one_image) == 1.0
    assert ordering_verdict([10.01, 10.01], [10.0, 10.0], paired=True, resolution=one_image)[0] == Verdict.INCONCLUSIVE
    assert greater_p([10.05, 10.05], [10.0, 10.0], paired=True, resolution=one_image) == 0.0


def test_figure_and_band_rules():
    assert figure_verdict([52.5, 53.0, 53.5, 53.0, 53.0], 53.0, 3.0)[0] == Verdict.REPRODUCED
    assert figure_verdict([30.0, 31.0, 29.0, 30.5, 30.0], 53.0, 3.0)[0] == Verdict.NOT_REPRODUCED
    assert figure_verdict([48.0, 58.0, 53.0], 53.0, 3.0)[0] == Verdict.INCONCLUSIVE  # too noisy
    assert figure_verdict([53.0], 53.0, 3.0)[0] == Verdict.INCONCLUSIVE  # one seed
    assert band_verdict([0.06, 0.061, 0.059], 0.05, 0.07)[0] == Verdict.REPRODUCED
    # A value on the band's edge is inside it, whatever the round-off of the back-transform.
    assert band_verdict([0.5] * 5, 0.44, 0.50, bounds=(0.0, 100.0), method="logit-t", resolution=0.001)[0] \
        == Verdict.REPRODUCED
    assert band_verdict([5.3, 5.2, 5.31], 0.05, 0.07)[0] == Verdict.NOT_REPRODUCED


def test_ordering_rule():
    assert ordering_verdict([5.0, 5.1, 5.2], [1.0, 1.1, 1.2], paired=False)[0] == Verdict.REPRODUCED
    assert ordering_verdict([1.0, 1.1, 1.2], [5.0, 5.1, 5.2], paired=False)[0] == Verdict.NOT_REPRODUCED
    assert ordering_verdict([1.0, 3.0, 2.0], [2.0, 1.0, 3.0], paired=True)[0] == Verdict.INCONCLUSIVE


def test_per_seed_all_cases_artifact_and_combination():
    assert per_seed_verdict([True, True]) == Verdict.REPRODUCED
    assert per_seed_verdict([False, False]) == Verdict.NOT_REPRODUCED
    assert per_seed_verdict([True, False]) == Verdict.INCONCLUSIVE
    assert all_cases_verdict([True, True]) == Verdict.REPRODUCED
    assert all_cases_verdict([True, False]) == Verdict.NOT_REPRODUCED
    assert artifact_verdict(Verdict.NOT_REPRODUCED, True) == Verdict.ARTIFACT
    assert artifact_verdict(Verdict.NOT_REPRODUCED, False) == Verdict.NOT_REPRODUCED
    assert artifact_verdict(Verdict.REPRODUCED, True) == Verdict.REPRODUCED
    assert combine([Verdict.REPRODUCED, Verdict.REPRODUCED]) == Verdict.REPRODUCED
    assert combine([Verdict.REPRODUCED, Verdict.INCONCLUSIVE]) == Verdict.INCONCLUSIVE
    assert combine([Verdict.INCONCLUSIVE, Verdict.NOT_REPRODUCED]) == Verdict.NOT_REPRODUCED
    assert combine([Verdict.ARTIFACT, Verdict.REPRODUCED]) == Verdict.ARTIFACT
    assert combine([Verdict.ARTIFACT, Verdict.INCONCLUSIVE]) == Verdict.INCONCLUSIVE


def test_shown_parts_do_not_decide():
    good = figure_part("a", [53.0, 53.1, 52.9, 53.0], 53.0, 3.0)
    bad = figure_part("b", [10.0, 10.1, 9.9, 10.0], 53.0, 3.0)
    assert judged([good, beside(bad), shown("c", "", "x")], "", "").verdict == Verdict.REPRODUCED
    assert judged([good, bad], "", "").verdict == Verdict.NOT_REPRODUCED
