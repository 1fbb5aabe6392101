"""Report 002, Q1 part 2: more fully connected layers, and the vanishing gradient at 6.

The report grows the tanh net from 3 to 6 FC layers: accuracy 52, 55, 57, 34 %,
epoch-2 loss 1.411, 1.391, 1.107, 1.771. It calls the drop at 6 a vanishing
gradient, "checked by calculating the values of gradient at all positions".
"""

from __future__ import annotations

import numpy as np

from harness.session import for_each_reading

from .common import pct
from .runs import DEPTHS


@for_each_reading("r002.depth_sweep")
def test_depth_sweep(harness, claim):
    results = {d: claim.run(f"depth{d}") for d in DEPTHS}
    claim.conclude({
        "n_test": len(claim.run_data("depth3")[1]),
        "test_acc": {str(d): pct(r.final("test_acc")) for d, r in results.items()},
        "loss_epoch2": {str(d): r.history["train_loss"][:, 1].tolist() for d, r in results.items()},
        "loss_epoch2_running": {str(d): r.history["train_loss_running"][:, 1].tolist() for d, r in results.items()},
    }, curves={f"test_acc_depth{d}": r.history["test_acc"].tolist() for d, r in results.items()})
    for d in DEPTHS:
        assert results[d].history["test_acc"].shape == (len(harness.seeds), 2)
        assert np.isfinite(results[d].history["train_loss"]).all(), f"depth {d} went non-finite"


def mean_gradient_norms(result) -> dict[str, list[float]]:
    """Layer → per seed, its gradient norm averaged over the recorded steps."""
    norms = np.stack(list(result.grad_norms.values()))  # steps x seeds x layers
    return {layer: norms[:, :, i].mean(0).tolist() for i, layer in enumerate(result.grad_norm_layers)}


@for_each_reading("r002.depth6_vanishing")
def test_depth6_vanishing(claim):
    four, five, six = claim.run("depth4"), claim.run("depth5"), claim.run("depth6")
    # The layer the 6-layer net adds is its last hidden one; every layer before it gets its gradient through it.
    # Those the 4-layer net has too (its own added layer is hidden.2) are compared step by step.
    added = f"hidden.{len(six.model.template.hidden) - 1}.linear.weight"
    below = [layer for layer in six.grad_norm_layers[: six.grad_norm_layers.index(added)]
             if layer in four.grad_norm_layers]
    claim.conclude({"grad_norm_depth4": mean_gradient_norms(four), "grad_norm_depth5": mean_gradient_norms(five),
                    "grad_norm_depth6": mean_gradient_norms(six), "layers_below_added": below,
                    "steps": list(six.grad_norms), "n_test": len(claim.run_data("depth6")[1]),
                    "test_acc_depth5": pct(five.final("test_acc")), "test_acc_depth6": pct(six.final("test_acc"))},
                   curves={f"grad_norm_depth{d}_{layer}": [[float(n[s, i]) for n in r.grad_norms.values()]
                                                           for s in range(r.model.size)]
                           for d, r in ((5, five), (6, six)) for i, layer in enumerate(r.grad_norm_layers)
                           if layer in ("conv1.weight", "out.weight")})
    for result in (five, six):
        assert len(result.grad_norms) >= 3, "gradient norms were not recorded at several points"
        norms = np.stack(list(result.grad_norms.values()))
        assert np.isfinite(norms).all() and (norms > 0).all()
