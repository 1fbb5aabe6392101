"""What report 000's Q1 experiments share: Tiny ImageNet, the teacher, and the students, each trained once."""

from __future__ import annotations

from harness.models import student, teacher
from harness.train import TrainConfig, train, with_overrides

# Smoke: 5 train and 5 val images a class (1,000 each, all 200 classes); full: everything.
TRAIN_PER_CLASS = {"smoke": 5, "full": None}
VAL_PER_CLASS = {"smoke": 5, "full": None}
EPOCHS = {"smoke": 2, "full": 5}
# Pure fp16 convolutions are very slow on a CPU: the smoke profile runs the fp16 students (and their
# controls) for one epoch of a few steps; the NaN of the claims appears at the first step.
FP16_STEPS = {"smoke": 2, "full": None}
FP16_EPOCHS = {"smoke": 1, "full": 5}
BATCH = 64
EMA_DECAY = 0.999
KD_TEMPERATURE, KD_ALPHA = 4.0, 0.5
# The report's warning comes from F.kl_div with reduction='mean' (PyTorch 1.x warned there).
REPORT_KD_REDUCTION = "mean"


def tiny(run):
    """Tiny ImageNet train and val for the profile, on the device (NOT RUN + skip if missing)."""
    profile = run.harness.profile
    return (run.data("tiny-imagenet", "train", per_class=TRAIN_PER_CLASS[profile]),
            run.data("tiny-imagenet", "val", per_class=VAL_PER_CLASS[profile]))


def teacher_run(run, batch_norm: bool = False):
    """The teacher of the report (Adam, lr 1e-3, batch 64), with an EMA of its weights kept beside it.

    The EMA does not touch training, so the same run is both the plain teacher and the EMA one.
    """
    harness = run.harness
    train_data, val_data = tiny(run)
    cfg = TrainConfig(epochs=EPOCHS[harness.profile], batch_size=BATCH, optimizer="adam", lr=1e-3,
                      ema_decay=EMA_DECAY, eval_batch_size=500, label=f"r000 teacher bn={batch_norm}")
    key = ("r000-teacher", batch_norm, cfg, tuple(harness.seeds), train_data.description)
    return harness.memo(key, lambda: train(lambda: teacher(batch_norm=batch_norm), harness.seeds,
                                           train_data, val_data, cfg))


def student_config(profile: str, **changes) -> TrainConfig:
    """The distilled student's training: the report's setup under the harness's readings, then ``changes``."""
    base = dict(epochs=EPOCHS[profile], batch_size=BATCH, optimizer="adam", lr=1e-3, precision="fp32",
                kd_temperature=KD_TEMPERATURE, kd_alpha=KD_ALPHA, kd_reduction=REPORT_KD_REDUCTION,
                ema_decay=EMA_DECAY, watch_nonfinite=True, eval_batch_size=500)
    base.update(changes)
    return TrainConfig(**base)


def student_run(run, cfg: TrainConfig, distilled: bool = True):
    """A student trained under ``cfg``, distilled from the literal teacher of the same seed (or from scratch)."""
    harness = run.harness
    train_data, val_data = tiny(run)
    teacher_model = teacher_run(run).model if distilled else None
    if not distilled:
        cfg = with_overrides(cfg, kd_temperature=None)
    key = ("r000-student", cfg, distilled, tuple(harness.seeds), train_data.description)
    return harness.memo(key, lambda: train(student, harness.seeds, train_data, val_data, cfg, teacher=teacher_model))
