"""Report 000, Q1: the student distilled in pure half precision, its NaN, its 100 %, and EMA.

The report's student run warns about Half tensors and has loss NaN from the
first epoch, training accuracy 0.44–0.50 % and test accuracy 100 % with loss
0.000; the EMA student likewise. The harness reruns the distillation with the
student in ``.half()``, catches the first non-finite step and tensor, and runs a
control for each candidate cause. It then evaluates the NaN student correctly
and with the mistakes that give 100 % and 0.000.
"""

from __future__ import annotations

import numpy as np

from harness import mistakes
from harness.claims import artifact_verdict, figure_verdict, ordering_verdict, per_seed_verdict
from harness.session import for_each_reading
from harness.stats import describe, mean_ci

from .common import FP16_EPOCHS, FP16_STEPS, student_config, student_run, tiny

# Each control changes one thing of the report's pure-fp16 run; the NaN's cause is what removes it.
CONTROLS = {
    "as reported (pure fp16, KL 'mean')": {},
    "Adam eps 1e-4 (representable in fp16)": {"adam_eps": 1e-4},
    "loss from fp32 logits (no fp16 exp/softmax overflow)": {"loss_in_fp32": True},
    "KL reduction 'batchmean'": {"kd_reduction": "batchmean"},
    "KL reduction 'sum'": {"kd_reduction": "sum"},
    "fp16 autocast + GradScaler": {"precision": "fp16-amp"},
    "bf16 autocast": {"precision": "bf16-amp"},
    "fp32": {"precision": "fp32"},
}
BASE = "as reported (pure fp16, KL 'mean')"


def nan_student(run, **changes):
    """The pure-fp16 distilled student under the run's reading (optimizer), with ``changes``."""
    choices = {k: v for k, v in run.choices.items() if k in ("optimizer", "lr", "momentum")}
    # Every control runs the base run's budget, on the same seeds.
    profile = run.harness.profile
    settings = {"precision": "fp16", "epochs": FP16_EPOCHS[profile], "max_steps_per_epoch": FP16_STEPS[profile],
                **choices, **changes}
    cfg = student_config(profile, label=f"r000 student {changes or 'fp16'}", **settings)
    return student_run(run, cfg)


def went_nonfinite(result, within_steps: int) -> list[bool]:
    """Per seed: did the run go non-finite within its first ``within_steps`` steps?"""
    return [r["step"] is not None and r["step"] < within_steps for r in result.nonfinite]


def _control_row(result, steps_per_epoch: int) -> str:
    events = result.nonfinite
    bad = [e for e in events if e["step"] is not None]
    if not bad:
        return f"finite for all {len(events)} seeds; final train loss {np.nanmean(result.final('train_loss')):.3f}"
    first = min(bad, key=lambda e: e["step"])
    return (f"non-finite for {len(bad)}/{len(events)} seeds, first at step {first['step']} "
            f"(epoch {first['step'] // steps_per_epoch + 1}) in {first['tensor']}")


@for_each_reading("r000.student_fp16_nan")
def test_student_fp16_nan(harness, reading):
    run = harness.start("r000.student_fp16_nan", reading)
    train_data, _ = tiny(run)
    steps_per_epoch = train_data.steps_per_epoch(64)
    controls = CONTROLS if run.choices["optimizer"] == "adam" else {BASE: {}, "fp32": {"precision": "fp32"}}
    # Only the reported run needs its EMA evaluated (r000.student_ema_nan shares it).
    results = {name: nan_student(run, **changes, **({} if name == BASE else {"ema_decay": None}))
               for name, changes in controls.items()}
    base = results[BASE]
    holds = went_nonfinite(base, steps_per_epoch)
    removes = [name for name, r in results.items() if name != BASE and not any(went_nonfinite(r, 10**9))]
    run.finish(
        per_seed_verdict(holds),
        claimed="loss NaN from the first epoch (run warns about Half)",
        measured=_control_row(base, steps_per_epoch) + f"; removed by: {'; '.join(removes) or 'none'}",
        figures={name: _control_row(r, steps_per_epoch) for name, r in results.items()},
        curves={"train_loss_fp16": base.history["train_loss"].tolist(),
                "train_loss_fp32": results["fp32"].history["train_loss"].tolist()},
    )
    assert not any(went_nonfinite(results["fp32"], 10**9)), "the fp32 student must train without NaN"
    if run.choices["optimizer"] == "adam":
        # The mechanism at any budget: Adam's eps (1e-8) is 0 in fp16, and a gradient whose square
        # underflows divides by 0 at the first update; a representable eps removes it.
        assert all(holds), base.nonfinite
        assert base.nonfinite[0]["tensor"].startswith("parameter"), base.nonfinite
        assert not any(went_nonfinite(results["Adam eps 1e-4 (representable in fp16)"], 10**9))
        for mode in ("fp16 autocast + GradScaler", "bf16 autocast"):
            assert not any(went_nonfinite(results[mode], 10**9)), f"{mode} went non-finite"


@for_each_reading("r000.student_test_acc_100")
def test_student_test_acc_100(harness, reading):
    run = harness.start("r000.student_test_acc_100", reading)
    _, val_data = tiny(run)
    result = nan_student(run)
    logits = mistakes.member_logits(result.model, val_data, dtype=result.model.out__weight.dtype)
    labels = val_data.y.cpu()
    rows = {"correct": [], "ImageFolder over val/": [], "NaN batch losses skipped": []}
    for member in logits:
        rows["correct"].append(mistakes.correct_evaluation(member, labels))
        rows["ImageFolder over val/"].append(mistakes.imagefolder_val_labels(member, labels))
        rows["NaN batch losses skipped"].append(mistakes.skip_nonfinite_losses(member, labels))
    correct_acc = [acc for acc, _ in rows["correct"]]
    verdict, ci = figure_verdict(correct_acc, 100.0, run.claim.tolerance)
    hundred = all(acc == 100.0 for acc, _ in rows["ImageFolder over val/"])
    zero_loss = all(loss == 0.0 for _, loss in rows["NaN batch losses skipped"])
    train_acc = 100 * result.history["train_acc"][:, 0]
    run.finish(
        artifact_verdict(verdict, hundred and zero_loss),
        claimed="test acc 100 %, loss 0.000; train acc 0.44–0.50 %",
        measured=f"correct evaluation {describe(ci, '%', 2)}, loss {[l for _, l in rows['correct']]}; "
                 f"ImageFolder labels give {'exactly 100 %' if hundred else 'not 100 %'}, skipping NaN losses gives "
                 f"{'0.000' if zero_loss else 'not 0.000'}; train acc {describe(mean_ci(train_acc), '%', 2)}",
        interval=ci, claimed_value=100.0,
        figures={name: [(round(a, 3), l) for a, l in vals] for name, vals in rows.items()} | {
            "class_0_share_of_val": 100.0 * float((labels == 0).double().mean()),
            "why": "argmax over all-NaN logits returns index 0, so a NaN model predicts class 0 everywhere"},
    )
    # At any budget: the NaN model predicts class 0 everywhere, so ImageFolder's all-zero targets give 100 %.
    assert hundred and zero_loss, rows
    assert all(abs(a - 100.0 * float((labels == 0).double().mean())) < 1e-9 for a in correct_acc), correct_acc


@for_each_reading("r000.student_ema_nan")
def test_student_ema_nan(harness, reading):
    run = harness.start("r000.student_ema_nan", reading)
    train_data, val_data = tiny(run)
    result = nan_student(run)
    holds = went_nonfinite(result, train_data.steps_per_epoch(64))
    ema_nan = [not np.isfinite(v) for v in result.history["ema_test_loss"][:, 0]]
    ema_acc = 100 * result.final("ema_test_acc")
    run.finish(
        per_seed_verdict([h and e for h, e in zip(holds, ema_nan)]),
        claimed="loss NaN, train acc 0.50 %, test acc 100 %",
        measured=f"model non-finite in epoch 1 for {sum(holds)}/{len(holds)} seeds, EMA loss NaN for "
                 f"{sum(ema_nan)}/{len(ema_nan)}; EMA test acc (correct) {describe(mean_ci(ema_acc), '%', 2)}",
        interval=mean_ci(ema_acc), claimed_value=100.0,
        figures={"ema_test_acc_per_seed": ema_acc.tolist(), "nonfinite": result.nonfinite},
    )
    # An EMA of weights that went NaN is NaN from that step on.
    assert all(ema_nan), result.history["ema_test_loss"]


@for_each_reading("r000.kd_vs_scratch")
def test_kd_vs_scratch(harness, reading):
    run = harness.start("r000.kd_vs_scratch", reading)
    cfg = student_config(harness.profile, kd_reduction="batchmean", label="r000 student fp32")
    distilled, scratch = student_run(run, cfg), student_run(run, cfg, distilled=False)
    key = "ema_test_acc" if run.choices["ema"] else "test_acc"
    kd, base = 100 * distilled.final(key), 100 * scratch.final(key)
    verdict, p = ordering_verdict(kd, base)
    run.finish(
        verdict, claimed="the distilled student beats the same student trained without a teacher",
        measured=f"distilled {describe(mean_ci(kd), '%', 2)}, scratch {describe(mean_ci(base), '%', 2)}; Welch p = {p:.2g}",
        interval=mean_ci(kd - base),
        figures={"kd_per_seed": kd.tolist(), "scratch_per_seed": base.tolist(), "temperature": 4.0, "alpha": 0.5},
        curves={"distilled_val_acc": distilled.history[key].tolist(), "scratch_val_acc": scratch.history[key].tolist()},
    )
    for r in (distilled, scratch):
        assert np.isfinite(r.history["train_loss"]).all(), "fp32 students must stay finite"
