"""Linear regression with the L1+L2 cost of report 000, Q2.2."""

from __future__ import annotations

import torch


def regularized_cost(theta: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                     alpha: float, lam: float) -> torch.Tensor:
    """The report's cost: (1/2m) [ Σ (h(xᵢ) − yᵢ)² + λ Σ|θ| + α Σ θ² ], the bias unpenalized.

    λ weights the L1 term and α the L2 term, as the report names them.
    """
    m = x.shape[0]
    residual = x @ theta + bias - y
    return (residual.pow(2).sum() + lam * theta.abs().sum() + alpha * theta.pow(2).sum()) / (2 * m)
