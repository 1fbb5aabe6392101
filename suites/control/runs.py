"""The positive control's one run: the PyTorch CIFAR-10 tutorial's recipe (:mod:`harness.runs`)."""

from __future__ import annotations

from harness.runs import runs_of
from suites.r002.runs import cnn_run


@runs_of("control.cifar10_tutorial")
def cifar10_tutorial(claim):
    setup = claim.record.setup
    return {"tutorial": cnn_run(claim, epochs=claim.budget["epochs"], momentum=setup["momentum"], lr=setup["lr"],
                                n_fc=3, activation="relu")}
