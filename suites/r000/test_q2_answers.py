"""Report 000, Q2: constant validation accuracy, the L1+L2 cost, and a conv layer's output shape."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import ElasticNet

from harness.claims import per_seed_verdict
from harness.measure import central_difference_check, relative_errors
from harness.models import CifarCNN, regularized_cost
from harness.session import for_each_reading
from harness.stats import describe, mean_ci
from harness.train import TrainConfig, train

# ---------------------------------------------------------------- Q2.1 constant validation accuracy

CONSTANT_TOLERANCE_PP = 0.5
VAL_PER_CLASS = 100
EPOCHS = {"smoke": 4, "full": 10}
TRAIN_PER_CLASS = {"smoke": 100, "full": 500}
HEALTHY = dict(model=dict(n_fc=3, activation="tanh"), cfg=dict(optimizer="sgd", lr=0.01, momentum=0.9))
CAUSES = {
    "vanishing": dict(model=dict(n_fc=6, activation="sigmoid"), cfg=dict(optimizer="sgd", lr=0.01)),
    "nan": dict(model=dict(n_fc=3, activation="tanh"), cfg=dict(optimizer="adam", lr=1e-3, precision="fp16")),
    "lr": dict(model=dict(n_fc=3, activation="tanh"), cfg=dict(optimizer="sgd", lr=5.0, momentum=0.9)),
    "little_data": dict(model=dict(n_fc=3, activation="tanh"), cfg=dict(optimizer="sgd", lr=0.01, momentum=0.9),
                        per_class=10),
    "overfitting": dict(model=dict(n_fc=3, activation="tanh"), cfg=dict(optimizer="sgd", lr=0.01, momentum=0.9),
                        per_class=50, epochs_factor=3),
}


def constant_val_acc(curve, tolerance_pp: float = CONSTANT_TOLERANCE_PP) -> bool:
    """The detector: validation accuracy over the epochs after the first moves by at most ``tolerance_pp``."""
    later = 100 * np.asarray(curve, dtype=float)[1:]
    return bool(np.ptp(later) <= tolerance_pp) if len(later) >= 2 else False


def _cause_run(run, spec: dict):
    harness = run.harness
    per_class = spec.get("per_class", TRAIN_PER_CLASS[harness.profile])
    train_data = run.data("cifar10", "train", per_class=TRAIN_PER_CLASS[harness.profile], limit=per_class)
    val_data = run.data("cifar10", "test", per_class=VAL_PER_CLASS)
    cfg = TrainConfig(epochs=EPOCHS[harness.profile] * spec.get("epochs_factor", 1), batch_size=32,
                      label=f"r000 Q2.1 {spec}", **spec["cfg"])
    key = ("r000-q2.1", repr(spec), cfg, tuple(harness.seeds), train_data.description)
    return harness.memo(key, lambda: train(lambda: CifarCNN(**spec["model"]), harness.seeds,
                                           train_data, val_data, cfg))


def test_constant_detector_on_curves():
    assert constant_val_acc([0.1, 0.1, 0.1, 0.1])
    assert constant_val_acc([0.3, 0.1, 0.102, 0.104])
    assert not constant_val_acc([0.1, 0.2, 0.3])
    assert not constant_val_acc([0.5, 0.5])  # one later epoch says nothing


@for_each_reading("r000.constant_val_acc")
def test_constant_val_acc(harness, reading):
    run = harness.start("r000.constant_val_acc", reading)
    cause = run.choices["cause"]
    healthy, sick = _cause_run(run, HEALTHY), _cause_run(run, CAUSES[cause])
    fires = [constant_val_acc(c) for c in sick.history["test_acc"]]
    quiet = [not constant_val_acc(c) for c in healthy.history["test_acc"]]
    spread = [float(np.ptp(100 * c[1:])) for c in sick.history["test_acc"]]
    run.finish(
        per_seed_verdict([f and q for f, q in zip(fires, quiet)]),
        claimed=f"constant validation accuracy can come from: {reading.why}",
        measured=f"detector fired for {sum(fires)}/{len(fires)} seeds of '{cause}', stayed quiet for "
                 f"{sum(quiet)}/{len(quiet)} healthy runs; later-epoch spread {describe(mean_ci(spread), 'pp', 2)}",
        interval=mean_ci(spread),
        figures={"cause_setup": CAUSES[cause], "healthy_setup": HEALTHY,
                 "cause_final_train_acc": (100 * sick.final("train_acc")).tolist(),
                 "cause_final_val_acc": (100 * sick.final("test_acc")).tolist()},
        curves={f"{cause}_val_acc": sick.history["test_acc"].tolist(), f"{cause}_train_acc": sick.history["train_acc"].tolist(),
                "healthy_val_acc": healthy.history["test_acc"].tolist()},
    )
    assert all(quiet), f"the healthy control's validation accuracy stayed constant: {healthy.history['test_acc']}"
    if cause in ("vanishing", "nan"):
        # Both mechanisms freeze the prediction at any budget.
        assert all(fires), sick.history["test_acc"]


# ---------------------------------------------------------------- Q2.2 the L1+L2 cost


def make_regression(seed: int, n: int = 1000, features: int = 10):
    """The question's data: n observations of ``features`` features, split 800/200."""
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, features))
    theta = g.normal(size=features) * (g.random(features) > 0.4)
    y = x @ theta + 3.0 + g.normal(scale=0.5, size=n)
    split = int(0.8 * n)
    return x[:split], y[:split], x[split:], y[split:]


def minimise_cost(x, y, alpha: float, lam: float, iters: int = 20000) -> tuple[np.ndarray, float]:
    """Minimise the report's cost by FISTA (proximal gradient: the L1 term through soft-thresholding)."""
    m, d = x.shape
    xb = np.hstack([x, np.ones((m, 1))])
    step = 1.0 / (np.linalg.eigvalsh(xb.T @ xb / m).max() + alpha / m)
    w = z = np.zeros(d + 1)
    t = 1.0
    for _ in range(iters):
        grad = xb.T @ (xb @ z - y) / m
        grad[:d] += alpha / m * z[:d]
        w_next = z - step * grad
        w_next[:d] = np.sign(w_next[:d]) * np.maximum(np.abs(w_next[:d]) - step * lam / (2 * m), 0.0)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        z = w_next + (t - 1) / t_next * (w_next - w)
        if np.max(np.abs(w_next - w)) < 1e-15:
            w = w_next
            break
        w, t = w_next, t_next
    return w[:d], w[d]


def elastic_net_parameters(alpha: float, lam: float, m: int) -> tuple[float, float]:
    """scikit-learn's (alpha, l1_ratio) for the report's cost: equal objectives up to the factor they share."""
    l1, l2 = lam / (2 * m), alpha / m  # cost = RSS/2m + l1·|θ|₁ + (l2/2)·|θ|²
    return l1 + l2, l1 / (l1 + l2)


@for_each_reading("r000.regularized_cost")
def test_regularized_cost(harness, reading):
    run = harness.start("r000.regularized_cost", reading)
    alpha, lam = run.claim.claimed["alpha"], run.claim.claimed["lam"]
    diffs, grad_errors, val_mse = [], [], []
    for seed in harness.seeds:
        x, y, xv, yv = make_regression(seed)
        theta, bias = minimise_cost(x, y, alpha, lam)
        sk_alpha, l1_ratio = elastic_net_parameters(alpha, lam, len(y))
        ref = ElasticNet(alpha=sk_alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(x, y)
        diffs.append(max(np.max(np.abs(theta - ref.coef_)), abs(bias - ref.intercept_)))
        t = torch.tensor(theta + 0.01, requires_grad=True)  # off the kinks of |θ|
        b = torch.tensor(bias, requires_grad=True)
        xt, yt = torch.tensor(x), torch.tensor(y)
        pairs = central_difference_check(lambda: regularized_cost(t, b, xt, yt, alpha, lam), [t, b], entries_per_tensor=10)
        grad_errors.append(max(relative_errors(pairs, floor=1e-10)))
        val_mse.append(float(np.mean((xv @ theta + bias - yv) ** 2)))
    holds = [d < 1e-6 and g < 1e-6 for d, g in zip(diffs, grad_errors)]
    run.finish(
        per_seed_verdict(holds),
        claimed="cost = (1/2m)[Σ(h(xᵢ) − yᵢ)² + λΣ|θ| + αΣθ²], α = λ = 0.01",
        measured=f"minimiser vs ElasticNet: max |Δθ| {max(diffs):.1e}; gradient rel. error {max(grad_errors):.1e}; "
                 f"validation MSE {describe(mean_ci(val_mse), digits=3)}",
        interval=mean_ci(val_mse),
        figures={"max_coef_diff_per_seed": diffs, "grad_rel_error_per_seed": grad_errors,
                 "elastic_net": dict(zip(("alpha", "l1_ratio"), elastic_net_parameters(alpha, lam, 800)))},
    )
    assert all(holds), (diffs, grad_errors)


# ---------------------------------------------------------------- Q2.3 the conv output shape


def conv_output_size(i: int, k: int, s: int, p: int) -> int:
    """O = ⌊(I − K + 2P) / S⌋ + 1; the report writes it without the floor."""
    return (i - k + 2 * p) // s + 1


def conv_layer_shape(channels: int, size: int, filters: int, k: int, s: int, p: int) -> tuple[int, ...]:
    """The (C, H, W) nn.Conv2d gives for one input of ``channels`` x ``size`` x ``size``."""
    layer = torch.nn.Conv2d(channels, filters, k, stride=s, padding=p)
    with torch.no_grad():
        return tuple(layer(torch.zeros(1, channels, size, size)).shape[1:])


GRID = [(i, k, s, p) for i, k, s, p in itertools.product((5, 8, 15, 32, 33), (1, 2, 3, 5, 6), (1, 2, 3), (0, 1, 2))
        if i + 2 * p >= k]


@pytest.mark.parametrize("i,k,s,p", GRID)
def test_conv_formula_matches_layer(i, k, s, p):
    assert conv_layer_shape(2, i, 3, k, s, p) == (3, conv_output_size(i, k, s, p), conv_output_size(i, k, s, p))


@settings(max_examples=60, deadline=None)
@given(i=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3))
def test_conv_formula_property(i, k, s, p):
    if i + 2 * p < k:
        return
    assert conv_layer_shape(1, i, 2, k, s, p)[1] == conv_output_size(i, k, s, p)


@for_each_reading("r000.conv_shape")
def test_conv_shape(harness, reading):
    run = harness.start("r000.conv_shape", reading)
    claimed = run.claim.claimed
    report_case = conv_layer_shape(32, 32, 8, 6, 2, 1)
    agrees = [conv_layer_shape(2, i, 3, k, s, p)[1] == conv_output_size(i, k, s, p) for i, k, s, p in GRID]
    needs_floor = sum((i - k + 2 * p) % s != 0 for i, k, s, p in GRID)
    holds = agrees + [report_case == (claimed["out_c"], claimed["out_h"], claimed["out_w"])]
    run.finish(
        per_seed_verdict(holds),
        claimed="8 filters 6x6, stride 2, padding 1 on 32x32x32 → 15x15x8",
        measured=f"nn.Conv2d gives {report_case[1]}x{report_case[2]}x{report_case[0]}; the formula agrees on "
                 f"{sum(agrees)}/{len(agrees)} shapes, {needs_floor} of which need the floor the report omits",
        figures={"shapes_checked": len(GRID), "needs_floor": needs_floor}, seeds=[0],
    )
    assert report_case == (8, 15, 15) and all(agrees)
