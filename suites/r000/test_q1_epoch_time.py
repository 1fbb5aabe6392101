"""Report 000, Q1: how long an epoch took — 90.55 s for the teacher, 108.83 s for the student.

The report's hardware is unknown, so its absolute times cannot be compared with
ours; the table sets our times beside them. The verdict is on the one thing the
two figures say independently of the hardware — the student's (distillation)
epoch took longer than the teacher's — and it is never asserted: timing decides
no test.
"""

from __future__ import annotations

import numpy as np

from harness.session import for_each_reading


@for_each_reading("r000.epoch_time")
def test_epoch_time(harness, claim):
    # Wall seconds of one training epoch of one model alone, a seed at a time (the engine synchronizes the GPU at
    # the end); the student's epoch runs its teacher of the same seed on every batch (runs.py).
    teacher_s = [r.seconds for r in claim.timed("teacher")]
    student_s = [r.seconds for r in claim.timed("student")]
    claim.conclude({"teacher_s": teacher_s, "student_s": student_s, "images": len(claim.run_data("teacher")[0]),
                    "device": harness.environment["device"]},
                   notes="fp32, one model at a time, batch 64; the student's epoch includes the teacher's forward pass")
    assert np.all(np.asarray(teacher_s) > 0) and np.all(np.asarray(student_s) > 0)
