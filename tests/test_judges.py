"""Every claim's judge, driven by synthetic measurements: each verdict it can honestly reach is reachable.

A judge that could only ever return one verdict would fail here. The cases are
measurements a real run could produce (accuracies in %, on a stated number of test
images); each names the verdict the claim's rules must give for it.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.claims import Verdict, catalog
from harness.judges import JUDGES, judge_claim

N = 10_000  # test images
SEEDS = 5


def near(value, spread=0.3, n=SEEDS):
    """n per-seed values around ``value``, deterministic."""
    return [float(value + spread * d) for d in np.linspace(-1, 1, n)]


def noisy(value, n=SEEDS):
    return near(value, spread=15.0, n=n)


def epochs(first, second):
    return [[a, b] for a, b in zip(near(first, 0.005), near(second, 0.005))]


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


def mistakes_case(correct, model_values, contrast_values, train_acc=76.8):
    return {"correct": correct, "n_val": N, "n_train": 100_000, "train_acc": near(train_acc),
            "mistakes": {"a mistake": {"model": model_values, "contrasts": {"the other teacher": contrast_values}}}}


def student_case(correct, acc_model, acc_contrast, loss_model, loss_contrast, train_acc):
    """Each mistake prints (accuracy, loss) together; a second one prints the loss but not the accuracy."""
    pairs = lambda accs, losses: [[a, b] for a, b in zip(accs, losses)]  # noqa: E731
    return {"correct_acc": correct, "correct_loss": [float("nan")] * SEEDS, "n_val": N, "n_train": 100_000,
            "train_acc": train_acc,
            "mistakes": {"both": {"model": pairs(acc_model, loss_model),
                                  "contrasts": {"teacher": pairs(acc_contrast, loss_contrast)}},
                         "loss only": {"model": pairs(HALF, ZERO), "contrasts": {"teacher": pairs(HALF, [5.3] * 5)}}}}


def constant_case(mechanism, *configurations):
    """Q2.1's measurements: one dict a configuration of the cause's grid, each beside the same healthy run."""
    return {"mechanism": mechanism, "grid": [{"healthy_val_acc": [[20, 30, 35, 40]] * SEEDS, "cause_setup": f"config {i}",
                                              **c} for i, c in enumerate(configurations)]}


HALF = [0.5] * SEEDS
HUNDRED = [100.0] * SEEDS
ZERO = [0.0] * SEEDS
R, NR, A, I = Verdict.REPRODUCED, Verdict.NOT_REPRODUCED, Verdict.ARTIFACT, Verdict.INCONCLUSIVE

# claim id -> [(reading, measurements, expected verdict)]
CASES = {
    "control.cifar10_tutorial": [
        ("tutorial", {"test_acc": near(54.5), "n_test": N}, R),
        ("tutorial", {"test_acc": near(30.0), "n_test": N}, NR),
        ("tutorial", {"test_acc": noisy(54.0), "n_test": N}, I)],
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
        # A failure on a family that is not the report's is shown, not judged.
        ("as-written", {"families": {"own": {"max_rel_error": 1e-5, "gradcheck": True, "report_network": True},
                                     "bn": {"max_rel_error": 1.0, "gradcheck": True, "report_network": False}}}, R)],
    "r000.teacher_train_acc": [
        ("literal", {"train_acc": [[69.5, 72, 74, 76, 76.8]] * 5, "train_loss": [[1, 1, 1, 1, 0.052]] * 5,
                     "n_train": 100_000, "consistency": ""}, R),
        ("literal", {"train_acc": [[0.5, 0.5, 0.5, 0.5, 0.6]] * 5, "train_loss": [[5.3] * 5] * 5,
                     "n_train": 100_000, "consistency": ""}, NR),
        ("literal", {"train_acc": [[69.5, 72, 74, 76, v] for v in noisy(76.8)],
                     "train_loss": [[1, 1, 1, 1, 0.052]] * 5, "n_train": 100_000, "consistency": ""}, I)],
    "r000.teacher_test_acc_zero": [
        ("literal", mistakes_case(ZERO, ZERO, ZERO), R),
        ("literal", mistakes_case(near(20.0), HALF, HALF), NR),  # no mistake prints 0.0
        ("literal", mistakes_case(near(20.0), ZERO, ZERO), NR),  # prints 0.0 for every model: explains nothing
        ("literal", mistakes_case(near(20.0), [0.04] * 5, [0.6, 0.4, 0.5, 0.55, 0.45]), A),  # 0.04 prints as 0.0
        ("literal", mistakes_case(near(20.0), ZERO, [0.6, 0.0, 0.5, 0.55, 0.45]), NR),  # seed 2 does not tell
        ("literal", mistakes_case(near(20.0), ZERO, HUNDRED, train_acc=0.5), NR),  # refuted, but not the report's teacher
        ("literal", mistakes_case(noisy(0.3), ZERO, HUNDRED), I)],
    "r000.student_test_acc_100": [
        ("literal", student_case(HUNDRED, HUNDRED, HALF, ZERO, [5.3] * 5, near(0.47, 0.002)), R),
        ("literal", student_case(HALF, HALF, HALF, [5.0] * 5, [5.3] * 5, near(0.47, 0.002)), NR),
        ("literal", student_case(HALF, HUNDRED, HALF, ZERO, [5.3] * 5, near(0.47, 0.002)), A),
        ("literal", student_case(HALF, HUNDRED, HUNDRED, ZERO, ZERO, near(0.47, 0.002)), NR),  # a NaN contrast
        ("literal", student_case(HALF, HUNDRED, HALF, [float("nan")] * 5, [5.3] * 5, near(0.47, 0.002)), NR),
        ("literal", student_case(HALF, HUNDRED, HALF, ZERO, [5.3] * 5, noisy(0.47)), I),
        # The teacher of one seed predicts class 0 everywhere: it prints (100, 5.3), not the pair, so the
        # mistake still tells the NaN model from it.
        ("literal", student_case(HALF, HUNDRED, [100.0, 0.5, 0.5, 0.5, 0.5], ZERO, [5.3] * 5, near(0.47, 0.002)), A)],
    "r000.student_ema_nan": [
        ("adam", {**student_case(HUNDRED, HUNDRED, HALF, ZERO, [5.3] * 5, HALF), "nonfinite_step": [0] * 5,
                  "ema_loss_nan": [True] * 5, "steps_per_epoch": 1563}, R),
        ("adam", {**student_case(HALF, HUNDRED, HALF, ZERO, [5.3] * 5, HALF), "nonfinite_step": [None] * 5,
                  "ema_loss_nan": [False] * 5, "steps_per_epoch": 1563}, NR),
        ("adam", {**student_case(HALF, HUNDRED, HALF, ZERO, [5.3] * 5, HALF), "nonfinite_step": [0] * 5,
                  "ema_loss_nan": [True] * 5, "steps_per_epoch": 1563}, A),
        ("adam", {**student_case(HALF, HUNDRED, HALF, ZERO, [5.3] * 5, HALF), "nonfinite_step": [0, 0, None, 0, 0],
                  "ema_loss_nan": [True] * 5, "steps_per_epoch": 1563}, I)],
    "r000.student_fp16_nan": [
        ("adam", {"base": "b", "steps_per_epoch": 1563, "controls": {"b": {"nonfinite_step": [0] * 5, "summary": ""}}}, R),
        ("sgd", {"base": "b", "steps_per_epoch": 1563, "controls": {"b": {"nonfinite_step": [None] * 5, "summary": ""}}}, NR),
        ("adam", {"base": "b", "steps_per_epoch": 1563,
                  "controls": {"b": {"nonfinite_step": [0, 2000, None, 0, 0], "summary": ""}}}, I)],
    "r000.teacher_ema": [
        ("batch-norm", {"ema_acc": near(20), "plain_acc": near(19), "n_val": N, "classes": 200}, R),
        # Exactly at chance on every seed: it did not learn, by less than the 1 pp margin.
        ("literal", {"ema_acc": near(0.5, 0), "plain_acc": near(0.5, 0), "n_val": N, "classes": 200}, NR),
        ("literal", {"ema_acc": near(1.0, 0.8), "plain_acc": near(0.5, 0), "n_val": N, "classes": 200}, I),
        ("literal", {"ema_acc": near(0.2, 0.01), "plain_acc": near(0.5, 0), "n_val": N, "classes": 200}, NR)],
    "r000.epoch_time": [
        ("literal", {"teacher_s": near(90, 1), "student_s": near(108, 1), "images": 100_000, "device": "x"}, R),
        ("literal", {"teacher_s": near(90, 1), "student_s": near(50, 1), "images": 100_000, "device": "x"}, NR),
        ("literal", {"teacher_s": near(90, 20), "student_s": near(90, 20)[::-1], "images": 100_000, "device": "x"}, I)],
    "r000.kd_vs_scratch": [
        ("no-ema", {"distilled": near(25), "scratch": near(22), "n_val": N, "teacher": "t"}, R),
        ("no-ema", {"distilled": near(20), "scratch": near(22), "n_val": N, "teacher": "t"}, NR),
        ("ema", {"distilled": near(0.6, 0), "scratch": near(0.6, 0), "n_val": N, "teacher": "t"}, NR),
        ("ema", {"distilled": near(20.5, 1.0), "scratch": near(20.0, 1.0)[::-1], "n_val": N, "teacher": "t"}, I)],
    "r000.constant_val_acc": [
        ("vanishing", constant_case("vanishing", {"cause_val_acc": [[10, 10, 10, 10]] * 5,
                                                  "cause_first_layer_grad": near(1e-4, 1e-5),
                                                  "baseline_first_layer_grad": near(1e-1, 1e-2)}), R),
        # Constant, but the gradient is not smaller than the tanh net's: not a vanishing gradient.
        ("vanishing", constant_case("vanishing", {"cause_val_acc": [[10, 10, 10, 10]] * 5,
                                                  "cause_first_layer_grad": near(1.0, 0.1),
                                                  "baseline_first_layer_grad": near(1e-1, 1e-2)}), NR),
        # No configuration of the grid went constant: that does not refute "can".
        ("overfitting", constant_case("memorised", *[{"cause_val_acc": [[20, 30, 35, 40]] * 5,
                                                      "cause_final_train_acc": near(99),
                                                      "cause_final_val_acc": near(40)}] * 3), I),
        # The second configuration of the grid shows it: one is enough.
        ("overfitting", constant_case("memorised", {"cause_val_acc": [[20, 30, 35, 40]] * 5,
                                                    "cause_final_train_acc": near(99), "cause_final_val_acc": near(40)},
                                      {"cause_val_acc": [[20, 30, 30, 30]] * 5, "cause_final_train_acc": near(99),
                                       "cause_final_val_acc": near(30)}), R),
        ("lr-too-high", constant_case("diverged", {"cause_val_acc": [[10, 10, 10, 10]] * 5,
                                                   "cause_diverged": [True, True, False, False, True]}), I)],
    "r000.regularized_cost": [
        ("literal", {"coef_diff": [1e-12] * 5, "grad_rel_error": [1e-9] * 5, "val_mse": near(0.25, 0.01)}, R),
        ("literal", {"coef_diff": [2e-5] * 5, "grad_rel_error": [1e-9] * 5, "val_mse": near(0.25, 0.01)}, NR)],
    "r000.conv_shape": [
        ("literal", {"report_case": [8, 15, 15], "agrees": [True] * 10, "needs_floor": 3}, R),
        ("literal", {"report_case": [8, 16, 16], "agrees": [True] * 10, "needs_floor": 3}, NR),
        ("literal", {"report_case": [8, 15, 15], "agrees": [True] * 9 + [False], "needs_floor": 3}, NR)],
}
CASES["r000.regularized_cost"] = [
    (reading, {**m, "elastic_net": {"alpha": 1.875e-5, "l1_ratio": 1 / 3}}, v) for reading, m, v in
    CASES["r000.regularized_cost"]]
CASES = {**CASES,
}


def _verdict(claim_id, reading, measurements):
    claim = catalog.get(claim_id)
    return judge_claim(claim, claim.reading(reading), measurements)


def test_every_claim_has_a_judge_and_cases():
    ids = {c.id for c in catalog.all_claims()}
    assert set(JUDGES) == ids
    assert set(CASES) == ids


@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_each_reachable_verdict_is_reached(claim_id):
    claim = catalog.get(claim_id)
    assert {"REPRODUCED", "NOT REPRODUCED"} <= set(claim.reachable), claim.reachable
    reached = set()
    for reading, measurements, expected in CASES[claim_id]:
        judgement = _verdict(claim_id, reading, measurements)
        assert judgement.verdict == expected, (reading, measurements, [(p.name, p.verdict, p.measured)
                                                                      for p in judgement.parts])
        reached.add(str(judgement.verdict))
    assert reached == set(claim.reachable), f"{claim_id} reaches {reached}, its record says {claim.reachable}"


@pytest.mark.parametrize("claim_id", sorted(CASES))
def test_every_judged_part_has_a_verdict_and_intervals_respect_ranges(claim_id):
    for reading, measurements, _ in CASES[claim_id]:
        for part in _verdict(claim_id, reading, measurements).parts:
            assert part.rule and part.name
            if part.judged:
                assert part.verdict is not None, part
            iv = part.interval
            if iv is not None and iv.low == iv.low and iv.method == "logit-t":
                assert 0.0 <= iv.low <= iv.high <= 100.0, part
            if iv is not None and iv.low == iv.low and iv.method == "log-t":
                assert 0.0 < iv.low, part
