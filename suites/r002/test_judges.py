"""Report 002's judges, driven by synthetic measurements: each verdict a claim can honestly reach is reached
(:mod:`harness.judges.testing`)."""

from __future__ import annotations

from harness.judges.testing import I, N, NR, R, epochs, near, noisy, judge_tests

def activation_case(acc, loss1, loss2):
    return {"test_acc": acc, "n_test": N, "train_loss_mean": epochs(loss1, loss2),
            "train_loss_running": epochs(loss1 + 0.01, loss2 + 0.01)}


def depth_case(accs, losses):
    return {"n_test": N, "test_acc": {str(d): a for d, a in zip((3, 4, 5, 6), accs)},
            "loss_epoch2": {str(d): near(v, 0.005) for d, v in zip((3, 4, 5, 6), losses)}}


def grads(scale4, scale5, scale6, acc5=57.0, acc6=34.0):
    layers = ["conv1.weight", "conv2.weight", "hidden.0.linear.weight"]
    wobble = [1.0, 1.05, 0.97, 1.02, 0.99]  # the same seed's nets share their data: a per-seed factor
    return {"grad_norm_depth4": {k: [scale4 * w for w in wobble] for k in layers},
            "grad_norm_depth5": {k: [scale5 * w * v for w, v in zip(wobble, near(1.0, 0.02))] for k in layers},
            "grad_norm_depth6": {k: [scale6 * w * v for w, v in zip(wobble, near(1.0, 0.02)[::-1])] for k in layers},
            "layers_below_added": layers, "steps": [0], "n_test": N, "test_acc_depth5": near(acc5),
            "test_acc_depth6": near(acc6)}


CASES = {
    "r002.sigmoid_chance": [
        ("momentum=0", activation_case(near(10.0), 2.313, 2.308), R),
        ("momentum=0", activation_case(near(10.0), 2.313, 1.9), R),  # a loss part fails beside the primary one
        ("momentum=0", activation_case(near(40.0), 2.313, 2.308), NR),
        # Seeds split between chance (the report's mode, 3 of 5) and learning: judged within the chance mode.
        ("momentum=0.9", activation_case([10.0, 10.0, 10.0, 30.0, 35.0], 2.313, 2.308), R),
        # The report's mode in 1 seed of 5: a rare outcome cannot be said to reproduce it.
        ("momentum=0.9", activation_case([10.0, 28.0, 30.0, 33.0, 35.0], 2.313, 2.308), I),
        ("momentum=0,running-loss", activation_case(noisy(10.0), 2.303, 2.298), I)],
    "r002.tanh_learns": [
        ("momentum=0", activation_case(near(53.0), 1.716, 1.394), R),
        ("momentum=0", activation_case(near(35.0), 1.716, 1.394), NR),
        ("momentum=0.9", activation_case(noisy(53.0), 1.716, 1.394), I)],
    "r002.tanh_zero_mean": [
        ("momentum=0", {"n_test": N, "classes": 10, "test_acc_tanh": near(50.0), "test_acc_shifted_tanh": near(30.0),
                        "act_mean_sigmoid": near(0.5, 0.01), "act_mean_tanh": near(0.05, 0.01)}, R),
        # Both nets learned, and the gain is bounded below the 1 pp margin: centring does not explain it.
        ("momentum=0", {"n_test": N, "classes": 10, "test_acc_tanh": near(50.0), "test_acc_shifted_tanh": near(50.0),
                        "act_mean_sigmoid": near(0.5, 0.01), "act_mean_tanh": near(0.05, 0.01)}, NR),
        # Both at chance: a floor effect, not evidence either way.
        ("momentum=0", {"n_test": N, "classes": 10, "test_acc_tanh": [10.0] * 5, "test_acc_shifted_tanh": [10.0] * 5,
                        "act_mean_sigmoid": near(0.5, 0.01), "act_mean_tanh": near(0.05, 0.01)}, I)],
    "r002.sigmoid_catches_up": [
        ("momentum=0,signed-gap", {"n_test": N, "test_acc_sigmoid": [[10, 10, 40]] * 5,
                                   "test_acc_tanh": [[40, 50, 52]] * 5}, R),
        ("momentum=0,signed-gap", {"n_test": N, "test_acc_sigmoid": [[10, 10, 10]] * 5,
                                   "test_acc_tanh": [[40, 50, 55]] * 5}, NR),
        ("momentum=0,signed-gap", {"n_test": N, "test_acc_sigmoid": [[10, 10, 10]] * 5,
                                   "test_acc_tanh": [[40, 50 + d, 50 - d] for d in (-9, 5, 0, -5, 9)]}, I),
        # Sigmoid overtakes by more than it trailed: the signed gap falls, the absolute difference grows.
        ("momentum=0.9,signed-gap", {"n_test": N, "test_acc_sigmoid": [[10, 30, 60]] * 5,
                                     "test_acc_tanh": [[30, 43, 32]] * 5}, R),
        ("momentum=0.9,absolute-gap", {"n_test": N, "test_acc_sigmoid": [[10, 30, 60]] * 5,
                                       "test_acc_tanh": [[30, 43, 32]] * 5}, NR)],
    "r002.depth_sweep": [
        ("momentum=0", depth_case([near(52), near(55), near(57), near(34)], [1.411, 1.391, 1.107, 1.771]), R),
        ("momentum=0", depth_case([near(52), near(55), near(57), near(56)], [1.411, 1.391, 1.107, 1.771]), NR),
        # The 6-layer nets' seeds run against the 5-layer ones: the paired drop spreads too widely to check.
        ("momentum=0", depth_case([noisy(52), noisy(55), noisy(57), noisy(34)[::-1]], [1.411, 1.391, 1.107, 1.771]), I)],
    "r002.depth6_vanishing": [
        ("momentum=0", grads(1.0, 0.6, 0.01), R),       # a sudden shrink at 6, and the drop is there
        ("momentum=0", grads(1.0, 0.3, 0.25), NR),      # 6 shrinks it far less than 5 did: no sudden vanishing
        ("momentum=0", grads(1.0, 0.6, 0.01, acc6=57.0), I)],  # a sudden shrink, but no drop to explain
    "r002.fix_bn_skip": [
        ("momentum=0", {"unfixed": near(34), "fixed": near(39), "n_test": N}, R),
        ("momentum=0", {"unfixed": near(34), "fixed": near(28), "n_test": N}, NR),  # the fix costs 6 pp
        # Two seeds' fixed nets stayed at chance: the gain is judged on the three where both learned, at +5.
        ("momentum=0.9", {"unfixed": [34.0, 35.0, 33.0, 34.5, 33.5], "fixed": [10.0, 10.0, 38.5, 39.0, 39.5],
                          "n_test": N}, R),
        ("momentum=0", {"unfixed": near(34), "fixed": noisy(39), "n_test": N}, I)],
    "r002.fix_leaky_relu": [
        ("momentum=0", {"unfixed": near(34), "fixed": near(46), "n_test": N}, R),
        ("momentum=0", {"unfixed": near(34), "fixed": near(10), "n_test": N}, NR),
        ("momentum=0", {"unfixed": near(34), "fixed": noisy(46), "n_test": N}, I)],
    "r002.fix_init": [
        ("momentum=0,gain=1", {"unfixed": near(34), "fixed": near(43), "n_test": N}, R),
        ("momentum=0,gain=5/3", {"unfixed": near(15), "fixed": near(36), "n_test": N}, NR),
        ("momentum=0.9,gain=1", {"unfixed": near(34), "fixed": noisy(43), "n_test": N}, I)],
    "r002.fixes_below_best": [
        ("momentum=0", {"five": near(57), "n_test": N, "fixed": {"r002.fix_bn_skip": near(39),
                                                                 "r002.fix_leaky_relu": near(46),
                                                                 "r002.fix_init": near(43)}}, R),
        # The 57 % missed (judged by depth_sweep), the ordering holds: still REPRODUCED here.
        ("momentum=0", {"five": near(45), "n_test": N, "fixed": {"r002.fix_bn_skip": near(39),
                                                                 "r002.fix_leaky_relu": near(40),
                                                                 "r002.fix_init": near(41)}}, R),
        ("momentum=0", {"five": near(57), "n_test": N, "fixed": {"r002.fix_bn_skip": near(39),
                                                                 "r002.fix_leaky_relu": near(60),
                                                                 "r002.fix_init": near(43)}}, NR),
        ("momentum=0", {"five": near(57), "n_test": N, "fixed": {"r002.fix_bn_skip": noisy(55),
                                                                 "r002.fix_leaky_relu": near(46),
                                                                 "r002.fix_init": near(43)}}, I)],
    "r002.regularization_ranking": [
        ("val=2000", {"n_val": 2000, "acc": {"l1": near(91), "l2": near(93), "dropout": near(96)}, "loss": {}}, R),
        ("val=2000", {"n_val": 2000, "acc": {"l1": near(96), "l2": near(93), "dropout": near(91)}, "loss": {}}, NR),
        ("val=178", {"n_val": 178, "acc": {"l1": noisy(91), "l2": noisy(93), "dropout": noisy(96)[::-1]},
                     "loss": {}}, I)],
    "r002.gradient_check": [
        ("noise-floor", {"families": {"own": {"max_rel_error": 1e-6, "gradcheck": True, "report_network": True},
                                      "other": {"max_rel_error": 1.0, "gradcheck": False, "report_network": False}}}, R),
        ("noise-floor", {"families": {"own": {"max_rel_error": 1e-6, "gradcheck": False, "report_network": True}}}, NR),
        ("as-written", {"families": {"own": {"max_rel_error": 1e-3, "gradcheck": True, "report_network": True}}}, NR),
        # A gradient that is not finite fails the check (the record stores NaN as None).
        ("as-written", {"families": {"own": {"max_rel_error": float("nan"), "gradcheck": True, "report_network": True}}},
         NR),
        # A failure on a family that is not the report's is shown, not judged.
        ("as-written", {"families": {"own": {"max_rel_error": 1e-5, "gradcheck": True, "report_network": True},
                                     "bn": {"max_rel_error": 1.0, "gradcheck": True, "report_network": False}}}, R)],
}
test_each_reachable_verdict_is_reached, test_every_part_is_well_formed, test_every_claim_has_cases = \
    judge_tests(__file__, CASES)
