"""Minimisers that take a cost as code: the Q2.2 answer's minimiser is derived from the encoded cost itself."""

from __future__ import annotations

from typing import Callable

import torch


def proximal_minimise(cost: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], dim: int, l1_weight: float,
                      tol: float = 1e-12, max_iter: int = 50_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise ``cost(theta, bias)`` whose only non-smooth term is ``l1_weight * Σ|theta|``.

    FISTA with backtracking and restarts: the smooth part's value and gradient come from
    ``cost`` itself (its value less the L1 term, differentiated by autograd), and the L1
    term enters through soft-thresholding. Nothing else of the cost is written here, so
    a wrong cost gives a wrong minimiser. Returns (theta, bias) in float64.
    """
    def smooth(params: torch.Tensor) -> torch.Tensor:
        theta, bias = params[:dim], params[dim]
        return cost(theta, bias) - l1_weight * theta.abs().sum()

    def value_and_grad(params: torch.Tensor) -> tuple[float, torch.Tensor]:
        params = params.detach().requires_grad_()
        value = smooth(params)
        (grad,) = torch.autograd.grad(value, params)
        return value.item(), grad

    def prox(params: torch.Tensor, step: float) -> torch.Tensor:
        out = params.clone()
        out[:dim] = torch.sign(out[:dim]) * torch.clamp(out[:dim].abs() - step * l1_weight, min=0.0)
        return out

    x = torch.zeros(dim + 1, dtype=torch.float64)
    z, t, lipschitz = x.clone(), 1.0, 1.0
    for _ in range(max_iter):
        fz, gz = value_and_grad(z)
        while True:  # backtracking: the largest step whose quadratic model bounds the smooth part
            x_next = prox(z - gz / lipschitz, 1.0 / lipschitz)
            d = x_next - z
            if smooth(x_next).item() <= fz + float(gz @ d) + lipschitz / 2 * float(d @ d) + 1e-15:
                break
            lipschitz *= 2.0
        if d.abs().max().item() < tol:
            return x_next[:dim].detach(), x_next[dim].detach()
        if float((z - x_next) @ (x_next - x)) > 0:  # gradient restart: momentum points uphill
            t, z, x = 1.0, x_next.clone(), x_next
            continue
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        z = x_next + (t - 1) / t_next * (x_next - x)
        x, t = x_next, t_next
    raise RuntimeError(f"proximal_minimise did not converge to {tol:g} in {max_iter} iterations")
