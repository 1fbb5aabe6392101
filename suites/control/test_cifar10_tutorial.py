"""Positive control: the PyTorch CIFAR-10 tutorial's own recipe against the accuracy it publishes.

Every CIFAR-10 verdict of report 002 rests on the data pipeline (CIFAR-10 from the
JPEG files) and the engine; this claim checks both against a figure published
outside the reports: the tutorial's CNN with ReLU, SGD lr 0.001 momentum 0.9,
batch 4, 2 epochs, "Accuracy of the network on the 10000 test images: 54 %".
"""

from __future__ import annotations

import numpy as np

from harness.session import for_each_reading
from suites.r002.common import pct


@for_each_reading("control.cifar10_tutorial")
def test_cifar10_tutorial(claim):
    result = claim.run("tutorial")
    claim.conclude({"test_acc": pct(result.final("test_acc")), "n_test": len(claim.run_data("tutorial")[1])},
                   curves={"test_acc": result.history["test_acc"].tolist(),
                           "train_loss": result.history["train_loss"].tolist()})
    assert np.isfinite(result.history["train_loss"]).all()
