"""Statistics over seeds and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.claims import Verdict, artifact_verdict, combine, figure_verdict, ordering_verdict, per_seed_verdict
from harness.claims.tolerance import band
from harness.claims.verdicts import (all_cases_verdict, band_figure_part, band_verdict, beside, figure_check,
                                     figure_part, judged, ordering_check, ordering_part, shown)
from harness.stats import accuracy_ci, describe, mean_ci, mean_difference


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


def test_a_typical_single_run_is_reproduced_and_an_atypical_one_refuted_at_many_seeds():
    # A report's figure is one run: against the mean's interval it would be refuted once seeds are many.
    rng = np.random.default_rng(0)
    runs = 50.0 + 4.0 * rng.standard_normal(200)
    mean = mean_ci(runs)
    one_more = mean_ci(runs, kind="prediction")
    assert mean.high - mean.low < 2.0 and one_more.high - one_more.low > 12.0
    assert figure_verdict(runs, 56.0, 3.0)[0] == Verdict.REPRODUCED  # 6 from the mean: within 1.96 σ + 3
    assert figure_verdict(runs, 70.0, 3.0)[0] == Verdict.NOT_REPRODUCED


def _figure_verdicts(mu, sigma, claimed, tolerance, n, trials, rng, limit=None):
    seeds = mu + sigma * rng.standard_normal((trials, n))
    return [figure_check(x, claimed - tolerance, claimed + tolerance, limit).verdict for x in seeds]


@pytest.mark.parametrize("sigma", [0.05, 1.0, 20.0])
@pytest.mark.parametrize("n", [3, 5, 10])
def test_a_faithful_report_is_refuted_at_most_five_percent_of_the_time_whatever_the_spread(sigma, n):
    # The report's one run is a draw of the recipe (true mean = the report's expected value), with no tolerance
    # at all: the refutation is an exact prediction test, so its rate is 5 % (Monte Carlo error ±1 %).
    rng = np.random.default_rng(1)
    trials = 3000
    report = 50.0 + sigma * rng.standard_normal(trials)
    seeds = 50.0 + sigma * rng.standard_normal((trials, n))
    refuted = np.mean([figure_check(x, y, y).verdict == Verdict.NOT_REPRODUCED for x, y in zip(seeds, report)])
    assert refuted <= 0.05 + 0.012, refuted


def test_a_clear_refutation_is_not_reproduced():
    # r002.tanh_learns [momentum=0], its epoch-1 loss: 1.617 (sd 0.016 over 5 seeds) against the printed 1.716.
    rng = np.random.default_rng(2)
    losses = 1.617 + 0.016 * (rng.standard_normal(5))
    b = band("loss", "%.3f", 1.716)
    assert figure_check(losses, b.low, b.high, b.limit).verdict == Verdict.NOT_REPRODUCED


@pytest.mark.parametrize("distance", [0.0, 1.0, 6.0])
def test_more_seeds_make_the_figure_rule_more_decisive(distance):
    # Truth 50 with σ 2; the claim sits `distance` from it (± 1): its boundary is at 1 + 1.96 σ = 4.9.
    rng = np.random.default_rng(3)
    undecided = [np.mean([v == Verdict.INCONCLUSIVE for v in _figure_verdicts(50.0, 2.0, 50.0 + distance, 1.0, n,
                                                                                400, rng)]) for n in (5, 10, 40)]
    assert undecided[0] >= undecided[1] >= undecided[2] - 0.02, undecided
    assert undecided[2] < 0.2, undecided


def test_a_spread_too_wide_for_a_one_run_figure_says_so_and_more_seeds_do_not_change_it():
    rng = np.random.default_rng(4)
    for n in (5, 40):
        x = 50.0 + 20.0 * rng.standard_normal(n)
        check = figure_check(x, 47.0, 53.0, limit=9.0)
        assert check.verdict == Verdict.INCONCLUSIVE and check.reason == "spread", (n, check)


def test_every_verdict_of_the_figure_rule_is_reachable_at_a_wide_spread():
    # At σ = 4 pp (report 002's momentum-0.9 nets are this noisy and more) each verdict has a true mean that gives it.
    rng = np.random.default_rng(5)
    reached = {v for mu in (50.0, 56.0, 70.0) for v in _figure_verdicts(mu, 4.0, 50.0, 3.0, 5, 50, rng, limit=9.0)}
    assert reached == {Verdict.REPRODUCED, Verdict.INCONCLUSIVE, Verdict.NOT_REPRODUCED}


def test_modes_judge_the_report_s_mode_and_say_how_many_seeds_are_in_each():
    b = band("accuracy", "%d", 10.0)
    part = band_figure_part("acc", [10.0, 10.0, 10.0, 40.0, 44.0], b, "10 %", "%", chance=10.0)
    assert part.verdict == Verdict.REPRODUCED and part.modes is not None
    assert "3 of 5 seeds" in part.modes["text"] and "2 of 5 seeds" in part.modes["text"]
    rare = band_figure_part("acc", [10.0, 38.0, 40.0, 42.0, 44.0], b, "10 %", "%", chance=10.0)
    assert rare.verdict == Verdict.INCONCLUSIVE and rare.reason == "modes"


def test_ties_between_seeds_are_not_certainty_beyond_the_measurement_s_resolution():
    # Two seeds one test image apart and tied: the difference is no larger than the resolution, so not shown.
    assert ordering_check([10.01, 10.01], [10.0, 10.0], paired=True, resolution=0.01).verdict != Verdict.REPRODUCED
    diff, se, _ = mean_difference([10.02, 10.02], [10.0, 10.0], paired=True, least_sd=0.005)
    assert se > 0 and diff == pytest.approx(0.02)


def test_welch_and_paired_one_sided():
    a, b = [10.1, 10.3, 9.9, 10.2, 10.0], [9.0, 9.2, 8.9, 9.1, 9.3]
    welch = ordering_check(a, b, paired=False)
    assert welch.verdict == Verdict.REPRODUCED and welch.p < 0.001
    assert ordering_check(b, a, paired=False).verdict == Verdict.NOT_REPRODUCED
    assert ordering_check([1.0], b, paired=False).verdict == Verdict.INCONCLUSIVE
    # Paired: a shared seed effect that Welch's test cannot see through.
    base = np.array([10.0, 30.0, 50.0, 70.0, 90.0])
    shifted = base + 1.0 + np.array([0.1, -0.1, 0.0, 0.1, -0.1])
    assert ordering_check(shifted, base, paired=True).p < 1e-4
    assert ordering_check(base + 1.0, base, paired=False).verdict == Verdict.INCONCLUSIVE
    assert sps.ttest_rel(shifted, base, alternative="greater").pvalue == pytest.approx(
        ordering_check(shifted, base, paired=True).p)  # the paired t of scipy, at a margin of 0
    with pytest.raises(ValueError, match="one size"):
        mean_difference([1.0, 2.0, 3.0], [1.0, 2.0], paired=True)


def test_figure_and_band_rules():
    assert figure_verdict([52.5, 53.0, 53.5, 53.0, 53.0], 53.0, 3.0)[0] == Verdict.REPRODUCED
    assert figure_verdict([30.0, 31.0, 29.0, 30.5, 30.0], 53.0, 3.0)[0] == Verdict.NOT_REPRODUCED
    # A spread at the edge of what a one-run figure can be checked at (1.96 s = 9.8 > 9): more seeds would tell.
    assert figure_verdict([48.0, 58.0, 53.0], 53.0, 3.0, limit=9.0)[0] == Verdict.INCONCLUSIVE
    assert figure_verdict([53.0], 53.0, 3.0)[0] == Verdict.INCONCLUSIVE  # one seed
    assert band_verdict([0.06, 0.061, 0.059], 0.05, 0.07)[0] == Verdict.REPRODUCED
    # A value on the band's edge is inside it, whatever the round-off.
    assert band_verdict([0.5] * 5, 0.44, 0.50, bounds=(0.0, 100.0), resolution=0.001)[0] == Verdict.REPRODUCED
    assert band_verdict([5.3, 5.2, 5.31], 0.05, 0.07)[0] == Verdict.NOT_REPRODUCED


def test_ordering_rule():
    assert ordering_verdict([5.0, 5.1, 5.2], [1.0, 1.1, 1.2], paired=False)[0] == Verdict.REPRODUCED
    assert ordering_verdict([1.0, 1.1, 1.2], [5.0, 5.1, 5.2], paired=False)[0] == Verdict.NOT_REPRODUCED
    assert ordering_verdict([1.0, 3.0, 2.0], [2.0, 1.0, 3.0], paired=True)[0] == Verdict.INCONCLUSIVE


def test_an_ordering_is_refuted_by_its_margin_and_prints_the_p_that_decided():
    base = np.array([50.0, 51.0, 49.0, 50.5, 49.5])
    negligible = ordering_check(base + 0.2 + np.array([0.05, -0.05, 0.0, 0.02, -0.02]), base, paired=True,
                                resolution=0.01, margin=1.0)
    assert negligible.verdict == Verdict.NOT_REPRODUCED and negligible.decided_by == "margin" and negligible.p < 0.05
    assert negligible.high < 1.0 and negligible.low > 0.0  # real, but smaller than the claim means
    part = ordering_part("o", base + 0.2, base, paired=True, resolution=0.01, margin=1.0)
    assert "below the margin" in part.measured and "one-sided 95 % bounds" in part.measured
    reverse = ordering_check(base - 3.0, base, paired=True, margin=1.0)
    assert reverse.verdict == Verdict.NOT_REPRODUCED and reverse.decided_by == "reverse"


def test_more_seeds_make_an_ordering_more_decisive():
    rng = np.random.default_rng(6)
    undecided = []
    for n in (5, 20, 80):
        runs = [ordering_check(2.0 + 3.0 * rng.standard_normal(n), np.zeros(n), paired=True, margin=1.0).verdict
                for _ in range(300)]
        undecided.append(np.mean([v == Verdict.INCONCLUSIVE for v in runs]))
    assert undecided[0] > undecided[1] > undecided[2] and undecided[2] < 0.1, undecided


def test_per_seed_all_cases_artifact_and_combination():
    # Clopper–Pearson: the typical outcome needs the rate's lower bound above 1/2; more seeds sharpen it.
    assert per_seed_verdict([True] * 5) == Verdict.REPRODUCED
    assert per_seed_verdict([False] * 5) == Verdict.NOT_REPRODUCED
    assert per_seed_verdict([True] * 4 + [False]) == Verdict.INCONCLUSIVE
    assert per_seed_verdict([True] * 9 + [False]) == Verdict.REPRODUCED
    assert per_seed_verdict([True, True]) == Verdict.INCONCLUSIVE  # two seeds cannot tell
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
    # The primary part decides; the others keep their verdicts beside it.
    primary = judged([good, bad], "", "", primary=["a"])
    assert primary.verdict == Verdict.REPRODUCED and primary.primary == ["a"]
    assert [p.verdict for p in primary.parts] == [Verdict.REPRODUCED, Verdict.NOT_REPRODUCED]
    with pytest.raises(ValueError, match="not among the parts"):
        judged([good], "", "", primary=["nope"])
    # The row's figure is the deciding part's: a headline that passes is not printed beside another's refutation.
    both = judged([good, bad], "", "", headline=good)
    assert both.verdict == Verdict.NOT_REPRODUCED and both.interval == bad.interval
    assert judged([good, beside(bad)], "", "", headline=good).interval == good.interval


def test_several_primary_parts_refute_the_claim_only_at_the_claim_s_level():
    # Two orderings tested over seeds: one refuting at p between 0.025 and 0.05 does not refute the claim (Holm's
    # first step: ALPHA / 2); one refuting at p below 0.025 does, and a single part refutes at ALPHA as before.
    rng = np.random.default_rng(3)
    base = rng.normal(50.0, 1.0, 8)
    clear = ordering_part("clear", base + 5.0, base + rng.normal(0, 0.5, 8), paired=True, margin=1.0)
    for shift in np.linspace(-1.5, 1.0, 200):  # find an ordering refuted at 0.025 < p < 0.05
        edge = ordering_part("edge", base + shift + rng.normal(0, 1.0, 8), base, paired=True, margin=1.0)
        if edge.verdict == Verdict.NOT_REPRODUCED and edge.p_refute > 0.025:
            break
    else:
        raise AssertionError("no ordering at the edge of refutation")
    assert judged([edge], claimed="", measured="").verdict == Verdict.NOT_REPRODUCED
    assert judged([clear, edge], claimed="", measured="").verdict == Verdict.INCONCLUSIVE
    strong = ordering_part("strong", base - 5.0, base, paired=True, margin=1.0)
    assert strong.p_refute < 0.025
    assert judged([clear, strong], claimed="", measured="").verdict == Verdict.NOT_REPRODUCED
    # The figure rule's p agrees with its verdict at ALPHA.
    part = figure_part("f", [53.0, 53.4, 52.8, 53.1, 52.9], 60.0, 1.0)
    assert part.verdict == Verdict.NOT_REPRODUCED and part.p_refute < 0.05
    assert figure_part("g", [53.0, 53.4, 52.8, 53.1, 52.9], 53.0, 1.0).p_refute > 0.05
