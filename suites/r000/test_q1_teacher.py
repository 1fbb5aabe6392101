"""Report 000, Q1: the teacher on Tiny ImageNet, with and without EMA.

The report's teacher (12 conv layers, one average pool, 12 first filters, FC
1024, Xavier) trains for 5 epochs at batch 64: training accuracy 69.54 → 76.79 %
with a loss of 0.05–0.07, and a test accuracy of exactly 0.0 after every epoch.
"""

from __future__ import annotations

import math

import numpy as np

from harness import mistakes
from harness.session import for_each_reading
from harness.train import member_logits



def accuracy_floor_from_loss(mean_ce: float) -> float:
    """The least accuracy (%) a mean cross-entropy allows: mean p(true) ≥ e^(−CE) (Jensen), and a sample
    with p(true) > 1/2 is classified right, so the wrong share f obeys e^(−CE) ≤ 1 − f/2."""
    return 100.0 * max(0.0, 1.0 - 2.0 * (1.0 - math.exp(-mean_ce)))


@for_each_reading("r000.teacher_train_acc")
def test_teacher_train_acc(claim):
    result = claim.run("teacher")
    claimed = claim.record.claimed
    claim.conclude({
        "train_acc": (100 * result.history["train_acc"]).tolist(), "train_loss": result.history["train_loss"].tolist(),
        "n_train": len(claim.run_data("teacher")[0]),
        "consistency": f"a mean cross-entropy of {claimed['loss_epoch5']} forces accuracy ≥ "
                       f"{accuracy_floor_from_loss(claimed['loss_epoch5']):.1f} %, so the report's loss and its "
                       f"{claimed['acc_epoch5']} % cannot both be per-sample means",
    }, curves={"train_loss": result.history["train_loss"].tolist(), "train_acc": result.history["train_acc"].tolist(),
               "val_acc": result.history["test_acc"].tolist()})
    assert np.isfinite(result.history["train_loss"]).all(), "the fp32 teacher must not go non-finite"


def accuracy_mistakes(logits, labels, classes) -> dict[str, float]:
    """The accuracy each evaluation mistake prints for one member's logits."""
    return {"integer division": mistakes.integer_division(logits, labels)[0],
            "ImageFolder over val/": mistakes.imagefolder_val_labels(logits, labels)[0],
            "predicted index vs wnid string": mistakes.string_labels(logits, labels, classes)[0]}


@for_each_reading("r000.teacher_test_acc_zero")
def test_teacher_test_acc_zero(claim):
    train_data, val_data = claim.run_data("teacher")
    batch_norm = claim.choices["batch_norm"]
    result = claim.run("teacher")
    other = claim.run("other")  # the contrast: the other teacher reading, a finite model trained the same way
    labels = val_data.y.cpu()
    teacher_logits = member_logits(result.model, val_data)
    on_teacher = [accuracy_mistakes(m, labels, val_data.classes) for m in teacher_logits]
    on_other = [accuracy_mistakes(m, labels, val_data.classes) for m in member_logits(other.model, val_data)]
    correct = [mistakes.correct_evaluation(m, labels)[0] for m in teacher_logits]
    other_name = f"the {'literal' if batch_norm else 'batch-norm'} teacher"
    claim.conclude({
        "correct": correct, "n_val": len(val_data), "n_train": len(train_data),
        "train_acc": (100 * result.final("train_acc")).tolist(),
        "mistakes": {name: {"model": [row[name] for row in on_teacher],
                            "contrasts": {other_name: [row[name] for row in on_other]}} for name in on_teacher[0]},
    }, curves={"val_acc": result.history["test_acc"].tolist()})
    assert all(0.0 <= a <= 100.0 for a in correct), correct


@for_each_reading("r000.teacher_ema")
def test_teacher_ema(claim):
    result = claim.run("teacher")
    _, val_data = claim.run_data("teacher")
    claim.conclude({
        "ema_acc": (100 * result.final("ema_test_acc")).tolist(), "plain_acc": (100 * result.final("test_acc")).tolist(),
        "n_val": len(val_data), "classes": val_data.num_classes,
    }, curves={"val_acc_plain": result.history["test_acc"].tolist(),
               "val_acc_ema": result.history["ema_test_acc"].tolist(),
               "val_loss_plain": result.history["test_loss"].tolist(),
               "val_loss_ema": result.history["ema_test_loss"].tolist()})
    assert np.isfinite(result.history["ema_test_loss"]).all(), "the EMA of a finite model must stay finite"
