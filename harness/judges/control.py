"""Judge of the positive control: the PyTorch CIFAR-10 tutorial's recipe against its published accuracy."""

from __future__ import annotations

from ..claims.verdicts import judged
from . import accuracy_part, judge


@judge("control.cifar10_tutorial")
def cifar10_tutorial(m, claim, reading):
    """The tutorial's printed accuracy, claimed ± tolerance (its ``%d`` truncates: the run lay in [54, 55) %)."""
    acc = accuracy_part("test accuracy", m["test_acc"], claim.claimed["test_acc"], claim.tolerance, m["n_test"])
    return judged([acc], claimed=f"test accuracy {claim.claimed['test_acc']:.0f} % (the tutorial's published run)",
                  measured=f"test accuracy {acc.measured}", headline=acc, claimed_value=claim.claimed["test_acc"])
