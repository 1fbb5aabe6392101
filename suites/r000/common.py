"""What report 000's Q1 experiments share: Tiny ImageNet, the teacher, and the students, each trained once.

Constants of the setup (batch, learning rate, EMA decay, distillation temperature and
weight) are read from the claim record's parameters, where each is written once.
"""

from __future__ import annotations

from harness.models import student, teacher
from harness.train import TrainConfig, with_overrides

# The report's warning comes from F.kl_div with reduction='mean' (PyTorch 1.x warned there).
REPORT_KD_REDUCTION = "mean"


def tiny(claim):
    """Tiny ImageNet train and val of the claim's budget, on the device (NOT RUN + skip if missing)."""
    return (claim.data("tiny-imagenet", "train", per_class=claim.budget["train_per_class"]),
            claim.data("tiny-imagenet", "val", per_class=claim.budget["val_per_class"]))


def teacher_run(claim, batch_norm: bool = False):
    """The teacher of the report (Adam, batch 64), with an EMA of its weights kept beside it.

    The EMA does not touch training, so the same run is both the plain teacher and the EMA one.
    """
    p = claim.record.params
    train_data, val_data = tiny(claim)
    cfg = TrainConfig(epochs=claim.budget["epochs"], batch_size=p["batch_size"], optimizer="adam", lr=p["lr"],
                      ema_decay=p["ema_decay"], eval_batch_size=500)
    # The teacher is what makes report 000's Q1 expensive: like every run, it is costed from its first steps, and
    # a session whose time budget it does not fit stops it there and records its claims NOT RUN with the estimate.
    return claim.harness.trained(lambda: teacher(batch_norm=batch_norm), {"model": "teacher", "batch_norm": batch_norm},
                                 cfg, train_data, val_data)


def student_config(claim, **changes) -> TrainConfig:
    """The distilled student's training: the report's setup under the harness's readings, then ``changes``."""
    p = claim.record.params
    base = dict(epochs=claim.budget["epochs"], batch_size=p["batch_size"], optimizer="adam", lr=p["lr"],
                precision="fp32", kd_temperature=p["kd_temperature"], kd_alpha=p["kd_alpha"],
                kd_reduction=REPORT_KD_REDUCTION, ema_decay=p["ema_decay"], watch_nonfinite=True, eval_batch_size=500)
    base.update(changes)
    return TrainConfig(**base)


def student_run(claim, cfg: TrainConfig, teacher_batch_norm: bool | None = False, evaluated: bool = True):
    """A student trained under ``cfg``, distilled from the teacher of the same seed (``None``: from scratch).

    ``evaluated=False`` skips the validation set after each epoch, for runs whose claims read only their training
    (its history then has no test entries).
    """
    train_data, val_data = tiny(claim)
    teacher_result = None if teacher_batch_norm is None else teacher_run(claim, batch_norm=teacher_batch_norm)
    if teacher_result is None:
        cfg = with_overrides(cfg, kd_temperature=None)
    return claim.harness.trained(student, {"model": "student"}, cfg, train_data, val_data if evaluated else None,
                                 teacher=teacher_result)
