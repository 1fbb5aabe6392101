"""Report 000, Q1: how long an epoch took — 90.55 s for the teacher, 108.83 s for the student.

The report's hardware is unknown, so its absolute times cannot be compared with
ours; the table sets our times beside them. The verdict is on the one thing the
two figures say independently of the hardware — the student's (distillation)
epoch took longer than the teacher's — and it is never asserted: timing decides
no test.
"""

from __future__ import annotations

import numpy as np

from harness.claims import ordering_verdict
from harness.models import student, teacher
from harness.session import for_each_reading
from harness.stats import describe, mean_ci
from harness.train import Ensemble, TrainConfig, train

from .common import BATCH, KD_ALPHA, KD_TEMPERATURE, teacher_run, tiny


def epoch_seconds(model_fn, seed: int, train_data, cfg: TrainConfig, teacher_model=None) -> float:
    """Wall seconds of one training epoch of one model alone (the engine synchronizes the GPU at the end)."""
    return train(model_fn, [seed], train_data, None, cfg, teacher=teacher_model).seconds


@for_each_reading("r000.epoch_time")
def test_epoch_time(harness, reading):
    run = harness.start("r000.epoch_time", reading)
    train_data, _ = tiny(run)
    teachers = teacher_run(run).model
    cfg = TrainConfig(epochs=1, batch_size=BATCH, optimizer="adam", lr=1e-3, label="r000 timing")
    kd_cfg = TrainConfig(epochs=1, batch_size=BATCH, optimizer="adam", lr=1e-3, kd_temperature=KD_TEMPERATURE,
                         kd_alpha=KD_ALPHA, label="r000 timing")
    teacher_s = np.array([epoch_seconds(teacher, s, train_data, cfg) for s in harness.seeds])
    student_s = np.array([epoch_seconds(student, s, train_data, kd_cfg, Ensemble([teachers.member(i)]))
                          for i, s in enumerate(harness.seeds)])
    verdict, p = ordering_verdict(student_s, teacher_s)
    claimed = run.claim.claimed
    run.finish(
        verdict,
        claimed=f"teacher {claimed['teacher_s']} s, student {claimed['student_s']} s an epoch (hardware unknown)",
        measured=f"teacher {describe(mean_ci(teacher_s), 's', 2)}, student (distillation step) "
                 f"{describe(mean_ci(student_s), 's', 2)} an epoch of {len(train_data)} images on "
                 f"{harness.environment['device']}",
        interval=mean_ci(teacher_s),
        figures={"images_per_epoch": len(train_data), "steps_per_epoch": train_data.steps_per_epoch(BATCH),
                 "teacher_images_per_s": float(len(train_data) / teacher_s.mean()),
                 "student_images_per_s": float(len(train_data) / student_s.mean()),
                 "student_over_teacher": float(student_s.mean() / teacher_s.mean()), "p_value": p,
                 "note": "fp32, one model at a time, batch 64; the student's epoch includes the teacher's forward pass"},
    )
    assert np.all(teacher_s > 0) and np.all(student_s > 0)
