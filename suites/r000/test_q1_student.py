"""Report 000, Q1: the student distilled in pure half precision, its NaN, its 100 %, and EMA.

The report's student run warns about Half tensors and has loss NaN from the
first epoch, training accuracy 0.44–0.50 % and test accuracy 100 % with loss
0.000; the EMA student likewise. The harness reruns the distillation with the
student in ``.half()``, catches the first non-finite step and tensor, and runs a
control for each candidate cause. It then evaluates the NaN student correctly
and with the mistakes that give 100 % and 0.000, and the same mistakes on the
teacher, which they must not give those figures for.
"""

from __future__ import annotations

import numpy as np

from harness import mistakes
from harness.session import for_each_reading
from harness.train import OPTIMIZER_IMPL, member_logits

from .runs import BASE


def nonfinite_steps(result) -> list[int | None]:
    """Per seed, the first step at which the run went non-finite (None: it never did)."""
    return [r["step"] for r in result.nonfinite]


def _control_summary(result, steps_per_epoch: int) -> str:
    events = result.nonfinite
    bad = [e for e in events if e["step"] is not None]
    if not bad:
        return f"finite for all {len(events)} seeds; final train loss {np.nanmean(result.final('train_loss')):.3f}"
    first = min(bad, key=lambda e: e["step"])
    return (f"non-finite for {len(bad)}/{len(events)} seeds, first at step {first['step']} "
            f"(epoch {first['step'] // steps_per_epoch + 1}) in {first['tensor']}")


@for_each_reading("r000.student_fp16_nan")
def test_student_fp16_nan(claim):
    train_data, _ = claim.run_data(BASE)
    steps = train_data.steps_per_epoch(claim.record.params["batch_size"])
    # The base run and each control that changes one thing of it (runs.py: CONTROLS).
    results = {name: claim.run(name) for name in claim.declared}
    claim.conclude({
        "base": BASE, "steps_per_epoch": steps, "optimizer_impl": OPTIMIZER_IMPL,
        "controls": {name: {"nonfinite_step": nonfinite_steps(r), "summary": _control_summary(r, steps)}
                     for name, r in results.items()},
    }, curves={"train_loss_fp16": results[BASE].history["train_loss"].tolist(),
               "train_loss_fp32": results["fp32"].history["train_loss"].tolist()})
    assert all(s is None for s in nonfinite_steps(results["fp32"])), "the fp32 student must train without NaN"


MISTAKES = {  # evaluation code that prints (accuracy %, loss) for one member's logits
    "ImageFolder over val/": mistakes.imagefolder_val_labels,
    "NaN batch losses skipped": mistakes.skip_nonfinite_losses,
    "ImageFolder over val/ and NaN losses skipped": mistakes.imagefolder_skipping_nan_losses,
}


def impossible_figures(model, contrast, val_data) -> dict:
    """The correct evaluation of ``model``, and what each mistake prints on it and on ``contrast`` (the teacher)."""
    labels = val_data.y.cpu()

    def evaluate(ensemble):
        dtype = next(ensemble.parameters()).dtype
        return [{name: fn(m, labels) for name, fn in {"correct": mistakes.correct_evaluation, **MISTAKES}.items()}
                for m in member_logits(ensemble, val_data, dtype=dtype)]

    on_model, on_contrast = evaluate(model), evaluate(contrast)

    return {"correct_acc": [row["correct"][0] for row in on_model], "n_val": len(val_data),
            "correct_loss": [row["correct"][1] for row in on_model],
            "mistakes": {name: {"model": [list(r[name]) for r in on_model],  # (accuracy, loss) as printed together
                                "contrasts": {"the teacher of the same seed": [list(r[name]) for r in on_contrast]}}
                         for name in MISTAKES},
            "class_0_share_of_val": 100.0 * float((labels == 0).double().mean())}


@for_each_reading("r000.student_test_acc_100")
def test_student_test_acc_100(claim):
    train_data, val_data = claim.run_data("student")
    result = claim.run("student")
    m = impossible_figures(result.model, claim.run("teacher").model, val_data)
    m.update(train_acc=(100 * result.history["train_acc"].mean(1)).tolist(), n_train=len(train_data))
    claim.conclude(m, notes="argmax over all-NaN logits returns index 0, so a NaN model predicts class 0 "
                   "everywhere")
    assert all(0.0 <= a <= 100.0 for a in m["correct_acc"]), m["correct_acc"]


@for_each_reading("r000.student_ema_nan")
def test_student_ema_nan(claim):
    train_data, val_data = claim.run_data("student")
    result = claim.run("student")
    m = impossible_figures(result.ema, claim.run("teacher").model, val_data)
    m.update(nonfinite_step=nonfinite_steps(result), steps_per_epoch=train_data.steps_per_epoch(
        claim.record.params["batch_size"]), ema_loss_nan=[not np.isfinite(v) for v in result.history["ema_test_loss"][:, 0]],
        train_acc=(100 * result.history["train_acc"].mean(1)).tolist(), n_train=len(train_data))
    claim.conclude(m)
    assert all(0.0 <= a <= 100.0 for a in m["correct_acc"]), m["correct_acc"]


@for_each_reading("r000.kd_vs_scratch")
def test_kd_vs_scratch(claim):
    distilled, scratch = claim.run("distilled"), claim.run("scratch")
    key = "ema_test_acc" if claim.choices["ema"] else "test_acc"
    teacher_acc = 100 * claim.run("teacher").final("test_acc")
    bn = claim.choices["teacher_batch_norm"]
    claim.conclude({
        "distilled": (100 * distilled.final(key)).tolist(), "scratch": (100 * scratch.final(key)).tolist(),
        "n_val": len(claim.run_data("distilled")[1]),
        "teacher": f"{'batch-norm' if bn else 'literal'} teacher, val acc {teacher_acc.mean():.2f} % (mean over seeds)",
    }, curves={"distilled_val_acc": distilled.history[key].tolist(), "scratch_val_acc": scratch.history[key].tolist()})
    for r in (distilled, scratch):
        assert np.isfinite(r.history["train_loss"]).all(), "fp32 students must stay finite"
