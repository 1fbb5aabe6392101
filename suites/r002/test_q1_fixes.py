"""Report 002, Q1 part 3: three fixes for the 6-layer net's vanishing gradient.

Skip connections with batch norm 34 → 39 %, LeakyReLU 34 → 46 %, weight
initialization 34 → 43 %; "even after using all the possible methods ... it is
difficult to achieve the previous accuracy of 57 %" of the 5-layer net.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.claims import combine, figure_verdict, ordering_verdict
from harness.session import for_each_reading
from harness.stats import describe, mean_ci

from .common import pct, train_cnn

FIXES = {
    "r002.fix_bn_skip": dict(activation="tanh", batch_norm=True, skip=True),
    "r002.fix_leaky_relu": dict(activation="leaky_relu"),
    "r002.fix_init": dict(activation="tanh", init="xavier"),
}


def fixed_run(run, claim_id: str):
    return train_cnn(run, n_fc=6, **FIXES[claim_id])


@pytest.mark.parametrize("claim_id", list(FIXES))
@pytest.mark.parametrize("momentum", ["momentum=0", "momentum=0.9"])
def test_fix(harness, claim_id, momentum):
    from harness.claims import catalog

    run = harness.start(claim_id, catalog.get(claim_id).reading(momentum))
    unfixed = pct(train_cnn(run, n_fc=6, activation="tanh").final("test_acc"))
    result = fixed_run(run, claim_id)
    fixed = pct(result.final("test_acc"))
    verdict, p = ordering_verdict(fixed, unfixed)
    figure, fixed_ci = figure_verdict(fixed, run.claim.claimed["acc_fixed"], run.claim.tolerance)
    run.finish(
        verdict,
        claimed=f"{run.claim.claimed['acc_unfixed']:.0f} → {run.claim.claimed['acc_fixed']:.0f} %",
        measured=f"{describe(mean_ci(unfixed), '%')} → {describe(fixed_ci, '%')}; Welch p = {p:.2g}",
        interval=fixed_ci, claimed_value=run.claim.claimed["acc_fixed"],
        figures={"fix": FIXES[claim_id], "unfixed_per_seed": unfixed, "fixed_per_seed": fixed,
                 "fixed_figure_verdict": str(figure), "p_value": p},
        curves={"fixed_test_acc": result.history["test_acc"].tolist(),
                "fixed_train_loss": result.history["train_loss"].tolist()},
    )
    assert np.isfinite(result.history["train_loss"]).all(), f"{claim_id}: the fixed net went non-finite"
    assert len(fixed) == len(harness.seeds) and all(0 <= a <= 100 for a in fixed)


@for_each_reading("r002.fixes_below_best")
def test_fixes_below_best(harness, reading):
    run = harness.start("r002.fixes_below_best", reading)
    five = pct(train_cnn(run, n_fc=5, activation="tanh").final("test_acc"))
    fixed = {claim_id: pct(fixed_run(run, claim_id).final("test_acc")) for claim_id in FIXES}
    parts = {claim_id: ordering_verdict(five, acc) for claim_id, acc in fixed.items()}
    best = max(fixed, key=lambda c: np.mean(fixed[c]))
    margin = np.asarray(five) - np.asarray(fixed[best])
    run.finish(
        combine(v for v, _ in parts.values()),
        claimed="no fix reaches the 5-layer net's 57 %",
        measured=f"5-layer {describe(mean_ci(five), '%')}; best fix {best.split('.')[1]} "
                 f"{describe(mean_ci(fixed[best]), '%')}",
        interval=mean_ci(margin),
        figures={"five_layer_per_seed": five, **{f"{c}_per_seed": a for c, a in fixed.items()},
                 **{f"{c}_below_five": f"{v} (p = {p:.2g})" for c, (v, p) in parts.items()}},
    )
    assert len(five) == len(harness.seeds) and all(np.isfinite(five))
