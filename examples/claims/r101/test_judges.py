from harness.judges.testing import I, NR, R, judge_tests

N = 1000
CASES = {"r101.bn_higher_lr": [
    # batch norm learns, the plain net stays at chance
    ("lr=0.03", {"test_acc_bn": [40.0, 42.0, 41.0], "test_acc_plain": [10.0, 10.0, 10.0], "n_test": N}, R),
    # both fail alike: batch norm does not help at this rate
    ("lr=0.03", {"test_acc_bn": [10.0, 10.2, 9.9], "test_acc_plain": [10.0, 10.1, 10.0], "n_test": N}, NR),
    # one seed with batch norm learns, one does not: undecided at 3 seeds
    ("lr=0.03", {"test_acc_bn": [40.0, 10.0, 25.0], "test_acc_plain": [10.0, 10.0, 10.0], "n_test": N}, I)]}
test_each_reachable_verdict_is_reached, test_every_part_is_well_formed, test_every_claim_has_cases = \
    judge_tests(__file__, CASES)
