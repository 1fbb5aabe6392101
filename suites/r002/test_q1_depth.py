"""Report 002, Q1 part 2: more fully connected layers, and the vanishing gradient at 6.

The report grows the tanh net from 3 to 6 FC layers: accuracy 52, 55, 57, 34 %,
epoch-2 loss 1.411, 1.391, 1.107, 1.771. It calls the drop at 6 a vanishing
gradient, "checked by calculating the values of gradient at all positions".
"""

from __future__ import annotations

import numpy as np

from harness.claims import combine, figure_verdict, ordering_verdict, per_seed_verdict
from harness.session import for_each_reading
from harness.stats import describe, mean_ci

from .common import pct, train_cnn

DEPTHS = (3, 4, 5, 6)
VANISHING_RATIO = 0.1  # a tenfold smaller first-layer gradient counts as vanishing


def depth_run(run, depth: int):
    """The tanh net with ``depth`` FC layers under the run's reading."""
    return train_cnn(run, n_fc=depth, activation="tanh")


@for_each_reading("r002.depth_sweep")
def test_depth_sweep(harness, reading):
    run = harness.start("r002.depth_sweep", reading)
    claimed = run.claim.claimed
    results = {d: depth_run(run, d) for d in DEPTHS}
    acc = {d: pct(r.final("test_acc")) for d, r in results.items()}
    verdicts, cis = {}, {}
    for d in DEPTHS:
        verdicts[d], cis[d] = figure_verdict(acc[d], claimed[f"acc_{d}"], run.claim.tolerance)
    drop_verdict, drop_p = ordering_verdict(acc[5], acc[6])
    run.finish(
        combine(verdicts.values()),
        claimed="acc " + ", ".join(f"{claimed[f'acc_{d}']:.0f}" for d in DEPTHS) + " %; loss "
                + ", ".join(f"{claimed[f'loss_{d}']}" for d in DEPTHS),
        measured="acc " + ", ".join(f"{d}: {describe(cis[d], '%')}" for d in DEPTHS) + "; loss "
                 + ", ".join(f"{results[d].history['train_loss'][:, 1].mean():.3f}" for d in DEPTHS),
        interval=cis[6], claimed_value=claimed["acc_6"],
        figures={**{f"acc_{d}_verdict": str(verdicts[d]) for d in DEPTHS},
                 "drop_5_to_6": f"{drop_verdict} (Welch p = {drop_p:.2g})",
                 **{f"loss_{d}": float(results[d].history["train_loss"][:, 1].mean()) for d in DEPTHS}},
        curves={f"test_acc_depth{d}": results[d].history["test_acc"].tolist() for d in DEPTHS},
    )
    for d in DEPTHS:
        assert results[d].history["test_acc"].shape == (len(harness.seeds), 2)
        assert np.isfinite(results[d].history["train_loss"]).all(), f"depth {d} went non-finite"
    if run.choices["momentum"] == 0.0:
        # With plain SGD the 3-layer tanh net (r002.tanh_learns's) learns at any budget.
        assert np.all(results[3].final("test_acc") > 0.15), results[3].final("test_acc")


def first_layer_gradient(result) -> np.ndarray:
    """Per seed, the first conv layer's gradient norm averaged over the recorded steps."""
    first = result.grad_norm_layers.index("conv1.weight")
    return np.mean([norms[:, first] for norms in result.grad_norms.values()], axis=0)


def gradient_table(result) -> dict:
    """Layer → gradient norm (mean over seeds) at each recorded step, for the record."""
    return {layer: [float(norms[:, i].mean()) for norms in result.grad_norms.values()]
            for i, layer in enumerate(result.grad_norm_layers)}


@for_each_reading("r002.depth6_vanishing")
def test_depth6_vanishing(harness, reading):
    run = harness.start("r002.depth6_vanishing", reading)
    five, six = depth_run(run, 5), depth_run(run, 6)
    ratio = first_layer_gradient(six) / first_layer_gradient(five)
    run.finish(
        per_seed_verdict(ratio < VANISHING_RATIO),
        claimed="a vanishing gradient at 6 FC layers, seen in every layer's gradient",
        measured=f"first-layer gradient norm, depth 6 ÷ depth 5: {describe(mean_ci(ratio), digits=3)} "
                 f"(vanishing means < {VANISHING_RATIO})",
        interval=mean_ci(ratio), claimed_value=VANISHING_RATIO,
        figures={"steps": list(six.grad_norms), "ratio_per_seed": ratio.tolist(),
                 "depth5_grad_norms": gradient_table(five), "depth6_grad_norms": gradient_table(six)},
        curves={f"grad_norm_depth{d}_{layer}": [[float(n[s, i]) for n in r.grad_norms.values()]
                                                for s in range(r.model.size)]
                for d, r in ((5, five), (6, six)) for i, layer in enumerate(r.grad_norm_layers)
                if layer in ("conv1.weight", "out.weight")},
    )
    for result in (five, six):
        assert len(result.grad_norms) >= 3, "gradient norms were not recorded at several points"
        norms = np.stack(list(result.grad_norms.values()))
        assert norms.shape[-1] == len(result.grad_norm_layers) and np.isfinite(norms).all() and (norms > 0).all()
