"""The positive control's judge, driven by synthetic measurements: each verdict the claim can honestly reach is
reached (:mod:`harness.judges.testing`)."""

from __future__ import annotations

from harness.judges.testing import I, N, NR, R, near, noisy, judge_tests

CASES = {
    "control.cifar10_tutorial": [
        ("tutorial", {"test_acc": near(54.5), "n_test": N}, R),
        ("tutorial", {"test_acc": near(30.0), "n_test": N}, NR),
        ("tutorial", {"test_acc": noisy(54.0), "n_test": N}, I)],
}
test_each_reachable_verdict_is_reached, test_every_part_is_well_formed, test_every_claim_has_cases = \
    judge_tests(__file__, CASES)
