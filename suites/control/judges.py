"""Judge of the positive control: the PyTorch CIFAR-10 tutorial's recipe against its published accuracy."""

from __future__ import annotations

from harness.claims.verdicts import judged
from harness.judges import judge, policy_accuracy_part


@judge("control.cifar10_tutorial")
def cifar10_tutorial(m, claim, reading):
    """The tutorial's printed accuracy by the figure rule, at the tolerance policy's band for CIFAR-10 accuracies
    (the same as the report 002 claims it guards; its ``%d`` truncates: the run lay in [54, 55) %)."""
    acc = policy_accuracy_part("test accuracy", m["test_acc"], claim, "test_acc", m["n_test"], chance=10.0)
    return judged([acc], claimed=f"test accuracy {claim.claimed['test_acc']:.0f} % (the tutorial's published run)",
                  measured=f"test accuracy {acc.measured}", headline=acc, claimed_value=claim.claimed["test_acc"])
