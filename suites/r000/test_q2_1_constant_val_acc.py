"""Report 000, Q2.1: constant validation accuracy, and whether it is a vanishing gradient.

The ChatGPT answer lists poor hyperparameters, too little data, overfitting,
vanishing gradients and a bug; the report's own answer blames overfitting. Each
cause is trained on CIFAR-10 (the question is about CNN training in general) next
to a healthy run, and the cause's mechanism is measured, not taken from its label.
"""

from __future__ import annotations

import numpy as np

from harness.session import for_each_reading

from .runs import CAUSES, cause_name

# Each cause's mechanism is measured on its own run.
MECHANISMS = {"vanishing": "vanishing", "nan": "nonfinite", "lr": "diverged", "little_data": "memorised",
              "overfitting": "memorised"}


def first_layer_gradient(result) -> list[float]:
    """Per seed, the first conv layer's gradient norm over the recorded steps (geometric mean)."""
    first = result.grad_norm_layers.index("conv1.weight")
    norms = np.stack([n[:, first] for n in result.grad_norms.values()])  # steps x seeds
    return np.exp(np.log(norms).mean(0)).tolist()


def cause_measurements(sick, spec: dict, healthy) -> dict:
    """One configuration of a cause's grid (``spec``, trained as ``sick``): its validation curves beside the healthy
    run's, and its mechanism."""
    loss = sick.history["train_loss"]
    m = {"cause_val_acc": (100 * sick.history["test_acc"]).tolist(),
         "healthy_val_acc": (100 * healthy.history["test_acc"]).tolist(),
         "cause_final_train_acc": (100 * sick.final("train_acc")).tolist(),
         "cause_final_val_acc": (100 * sick.final("test_acc")).tolist(), "cause_setup": repr(spec),
         "cause_nonfinite": [e["step"] is not None for e in sick.nonfinite],
         "cause_diverged": [bool(not np.isfinite(row).all() or np.nanmin(row[1:]) >= row[0]) for row in loss]}
    return m


@for_each_reading("r000.constant_val_acc")
def test_constant_val_acc(claim):
    cause = claim.choices["cause"]
    healthy = claim.run("healthy")
    grid, curves = [], {"healthy_val_acc": healthy.history["test_acc"].tolist()}
    for i, spec in enumerate(CAUSES[cause]):
        sick = claim.run(cause_name(cause, i))
        m = cause_measurements(sick, spec, healthy)
        if cause == "vanishing":
            m.update(cause_first_layer_grad=first_layer_gradient(sick),
                     baseline_first_layer_grad=first_layer_gradient(claim.run("baseline")))
        grid.append(m)
        curves[f"{cause}[{i}]_val_acc"] = sick.history["test_acc"].tolist()
    claim.conclude({"mechanism": MECHANISMS[cause], "grid": grid}, curves=curves)
    # The healthy control must learn, or "quiet" would mean nothing: above chance (10 %) on every seed.
    assert np.all(np.asarray(grid[0]["healthy_val_acc"])[:, -1] > 10.0), grid[0]["healthy_val_acc"]
