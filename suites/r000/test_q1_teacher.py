"""Report 000, Q1: the teacher on Tiny ImageNet, with and without EMA.

The report's teacher (12 conv layers, one average pool, 12 first filters, FC
1024, Xavier) trains for 5 epochs at batch 64: training accuracy 69.54 → 76.79 %
with a loss of 0.05–0.07, and a test accuracy of exactly 0.0 after every epoch.
"""

from __future__ import annotations

import math

import numpy as np

from harness import mistakes
from harness.claims import artifact_verdict, figure_verdict
from harness.session import for_each_reading
from harness.stats import describe, mean_ci

from .common import teacher_run, tiny


def accuracy_floor_from_loss(mean_ce: float) -> float:
    """The least accuracy (%) a mean cross-entropy allows: mean p(true) ≥ e^(−CE) (Jensen), and a sample
    with p(true) > 1/2 is classified right, so the wrong share f obeys e^(−CE) ≤ 1 − f/2."""
    return 100.0 * max(0.0, 1.0 - 2.0 * (1.0 - math.exp(-mean_ce)))


@for_each_reading("r000.teacher_train_acc")
def test_teacher_train_acc(harness, reading):
    run = harness.start("r000.teacher_train_acc", reading)
    result = teacher_run(run, batch_norm=run.choices["batch_norm"])
    claimed = run.claim.claimed
    acc = 100 * result.history["train_acc"]
    verdict, ci = figure_verdict(acc[:, -1], claimed["acc_epoch5"], run.claim.tolerance)
    floor = accuracy_floor_from_loss(claimed["loss_epoch5"])
    run.finish(
        verdict,
        claimed="train acc " + ", ".join(f"{claimed[f'acc_epoch{e}']}" for e in range(1, 6)) + " %; loss 0.05–0.07",
        measured="train acc " + ", ".join(f"{v:.2f}" for v in acc.mean(0)) + f" %; last {describe(ci, '%')}; "
                 f"loss {result.history['train_loss'][:, -1].mean():.3f}",
        interval=ci, claimed_value=claimed["acc_epoch5"],
        figures={"report_consistency": f"a mean cross-entropy of {claimed['loss_epoch5']} forces accuracy ≥ "
                                       f"{floor:.1f} %, so the report's loss and its {claimed['acc_epoch5']} % "
                                       "cannot both be per-sample means",
                 "train_acc_per_seed": acc[:, -1].tolist(), "val_acc": (100 * result.final("test_acc")).tolist()},
        curves={"train_loss": result.history["train_loss"].tolist(), "train_acc": result.history["train_acc"].tolist(),
                "val_acc": result.history["test_acc"].tolist()},
    )
    assert np.isfinite(result.history["train_loss"]).all(), "the fp32 teacher must not go non-finite"


@for_each_reading("r000.teacher_test_acc_zero")
def test_teacher_test_acc_zero(harness, reading):
    run = harness.start("r000.teacher_test_acc_zero", reading)
    _, val_data = tiny(run)
    result = teacher_run(run, batch_norm=run.choices["batch_norm"])
    logits = mistakes.member_logits(result.model, val_data)
    labels = val_data.y.cpu()
    classes = [str(c) for c in range(val_data.num_classes)]
    rows = {"correct": [], "integer division": [], "ImageFolder over val/": [], "wnid strings vs indices": []}
    for member in logits:
        rows["correct"].append(mistakes.correct_evaluation(member, labels)[0])
        rows["integer division"].append(mistakes.integer_division(member, labels)[0])
        rows["ImageFolder over val/"].append(mistakes.imagefolder_val_labels(member, labels)[0])
        rows["wnid strings vs indices"].append(mistakes.string_labels(member, labels, classes)[0])
    correct_verdict, ci = figure_verdict(rows["correct"], 0.0, run.claim.tolerance)
    exact_zero = [name for name, accs in rows.items() if name != "correct" and all(a == 0.0 for a in accs)]
    run.finish(
        artifact_verdict(correct_verdict, bool(exact_zero)),
        claimed="test accuracy 0.0 after every epoch",
        measured=f"correct evaluation {describe(ci, '%', 2)}; exactly 0.0 from: {', '.join(exact_zero) or 'none'}",
        interval=ci, claimed_value=0.0,
        figures={name: [round(a, 3) for a in accs] for name, accs in rows.items()},
        curves={"val_acc": result.history["test_acc"].tolist()},
    )
    # Mechanisms that hold for any classifier short of 100 %: integer division and string labels give 0.
    assert all(a == 0.0 for a in rows["integer division"]) and all(a == 0.0 for a in rows["wnid strings vs indices"])


@for_each_reading("r000.teacher_ema")
def test_teacher_ema(harness, reading):
    run = harness.start("r000.teacher_ema", reading)
    result = teacher_run(run)
    diff = 100 * (result.final("ema_test_acc") - result.final("test_acc"))
    verdict, ci = figure_verdict(diff, run.claim.claimed["difference"], run.claim.tolerance)
    run.finish(
        verdict, claimed="EMA teacher curves beside the plain teacher's (no figures)",
        measured=f"EMA − plain final val acc {describe(ci, 'pp', 2)}; plain "
                 f"{describe(mean_ci(100 * result.final('test_acc')), '%', 2)}, EMA "
                 f"{describe(mean_ci(100 * result.final('ema_test_acc')), '%', 2)}",
        interval=ci, claimed_value=0.0,
        figures={"ema_decay": 0.999, "steps": result.steps},
        curves={"val_acc_plain": result.history["test_acc"].tolist(),
                "val_acc_ema": result.history["ema_test_acc"].tolist(),
                "val_loss_plain": result.history["test_loss"].tolist(),
                "val_loss_ema": result.history["ema_test_loss"].tolist()},
    )
    assert np.isfinite(result.history["ema_test_loss"]).all(), "the EMA of a finite model must stay finite"
