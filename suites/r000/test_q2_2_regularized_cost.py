"""Report 000, Q2.2: the cost of linear regression with L1 and L2 terms.

1,000 observations of 10 features split 800/200, α = λ = 0.01:
cost = (1/2m) [Σ(h(xᵢ) − yᵢ)² + λΣ|θ| + αΣθ²]. The harness minimises the encoded
cost (its value and autograd gradient in a proximal solver) and compares the
minimiser with scikit-learn's ElasticNet, which implements the same objective.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import ElasticNet

from harness.measure import central_difference_check, relative_errors
from harness.models import regularized_cost
from harness.optimize import proximal_minimise
from harness.session import for_each_reading


def make_regression(seed: int, n: int = 1000, features: int = 10):
    """The question's data: n observations of ``features`` features, split 800/200."""
    g = np.random.default_rng(seed)
    x = g.normal(size=(n, features))
    theta = g.normal(size=features) * (g.random(features) > 0.4)
    y = x @ theta + 3.0 + g.normal(scale=0.5, size=n)
    split = int(0.8 * n)
    return x[:split], y[:split], x[split:], y[split:]


def elastic_net_parameters(alpha: float, lam: float, m: int) -> tuple[float, float]:
    """scikit-learn's (alpha, l1_ratio) for the report's cost: equal objectives up to the factor they share."""
    l1, l2 = lam / (2 * m), alpha / m  # cost = RSS/2m + l1·|θ|₁ + (l2/2)·|θ|²
    return l1 + l2, l1 / (l1 + l2)


def minimiser_gap(cost, x, y, alpha: float, lam: float) -> tuple[float, np.ndarray, float]:
    """Max |Δ| between the minimiser of ``cost`` and ElasticNet's of the report's cost; and the minimiser."""
    xt, yt = torch.tensor(x), torch.tensor(y)
    theta, bias = proximal_minimise(lambda t, b: cost(t, b, xt, yt, alpha, lam), x.shape[1], lam / (2 * len(y)))
    sk_alpha, l1_ratio = elastic_net_parameters(alpha, lam, len(y))
    ref = ElasticNet(alpha=sk_alpha, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000).fit(x, y)
    gap = max(float(np.max(np.abs(theta.numpy() - ref.coef_))), abs(bias.item() - ref.intercept_))
    return gap, theta.numpy(), bias.item()


def test_a_wrong_cost_is_caught():
    """The L1 term replaced by a second L2 term: its minimiser misses ElasticNet's by far more than the tolerance."""
    def wrong(theta, bias, x, y, alpha, lam):
        return ((x @ theta + bias - y).pow(2).sum() + lam * theta.pow(2).sum() + alpha * theta.pow(2).sum()) / (2 * len(y))

    x, y, _, _ = make_regression(0)
    right_gap = minimiser_gap(regularized_cost, x, y, 0.01, 0.01)[0]
    wrong_gap = minimiser_gap(wrong, x, y, 0.01, 0.01)[0]
    assert right_gap < 1e-9 < 1e-6 < wrong_gap, (right_gap, wrong_gap)


@for_each_reading("r000.regularized_cost")
def test_regularized_cost(harness, claim):
    alpha, lam = claim.record.claimed["alpha"], claim.record.claimed["lam"]
    gaps, grad_errors, val_mse = [], [], []
    for seed in harness.seeds:
        x, y, xv, yv = make_regression(seed)
        gap, theta, bias = minimiser_gap(regularized_cost, x, y, alpha, lam)
        gaps.append(gap)
        t = torch.tensor(theta + 0.01, requires_grad=True)  # off the kinks of |θ|
        b = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
        xt, yt = torch.tensor(x), torch.tensor(y)
        pairs = central_difference_check(lambda: regularized_cost(t, b, xt, yt, alpha, lam), [t, b], entries_per_tensor=10)
        grad_errors.append(max(relative_errors(pairs, floor=1e-10)))
        val_mse.append(float(np.mean((xv @ theta + bias - yv) ** 2)))
    claim.conclude({"coef_diff": gaps, "grad_rel_error": grad_errors, "val_mse": val_mse,
                    "elastic_net": dict(zip(("alpha", "l1_ratio"), elastic_net_parameters(alpha, lam, 800)))})
    # The data's noise has variance 0.25: a minimiser of a sound cost predicts the held-out 200 about that well.
    assert all(v < 0.5 for v in val_mse), val_mse
