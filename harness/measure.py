"""Measurements that are not training: the report's gradient check."""

from __future__ import annotations

from typing import Callable

import torch


def relative_errors(pairs: list[tuple[float, float]], floor: float = 0.0) -> list[float]:
    """The report's |num − ana| / (|num| + |ana|) per pair, leaving out pairs with |num| + |ana| <= ``floor``.

    With ``floor`` 0 (the report's formula as written) a gradient that is exactly 0
    analytically, such as a bias before batch norm, gives relative error 1 from
    round-off alone; a small floor is the usual remedy.
    """
    out = []
    for num, ana in pairs:
        denom = abs(num) + abs(ana)
        if denom > floor:
            out.append(abs(num - ana) / denom)
        elif floor == 0.0:
            out.append(0.0)  # both exactly zero: they agree
    return out


def central_difference_check(loss_fn: Callable[[], torch.Tensor], params: list[torch.Tensor],
                             entries_per_tensor: int = 5, eps: float = 1e-6, seed: int = 0) -> list[tuple[float, float]]:
    """Report 002's gradient check: (numerical, analytical) gradient of sampled entries of every tensor.

    For each parameter tensor, ``entries_per_tensor`` random entries are perturbed
    by ±eps; the numerical gradient (L(θ+ε) − L(θ−ε)) / 2ε is compared with the
    analytical one from backpropagation. Use float64: in float32 the difference
    quotient itself is too coarse.
    """
    for p in params:
        p.grad = None
    loss_fn().backward()
    analytical = [p.grad.detach().clone() for p in params]
    generator = torch.Generator().manual_seed(seed)
    pairs = []
    with torch.no_grad():
        for p, grad in zip(params, analytical):
            flat, gflat = p.view(-1), grad.view(-1)
            picks = torch.randperm(flat.numel(), generator=generator)[:entries_per_tensor]
            for i in picks.tolist():
                original = flat[i].item()
                flat[i] = original + eps
                plus = loss_fn().item()
                flat[i] = original - eps
                minus = loss_fn().item()
                flat[i] = original
                pairs.append(((plus - minus) / (2 * eps), gflat[i].item()))
    return pairs
