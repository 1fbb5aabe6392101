"""Report 002's CNN for a whole ensemble at once, on the members' stacked parameters.

The general ensemble path (``vmap`` over ``functional_call``) pays per-op dispatch
through vmap's batching rules on every layer of every step; at report 002's batch of 4
that overhead, not arithmetic, is the time. Here each layer is one kernel for all members:
a convolution with ``groups=E`` (member e's filters see only member e's channels) and
``torch.baddbmm`` for the fully connected layers. The parameters are the same stacked
tensors, so the optimizer, the EMA and everything else are unchanged; only the forward
differs, and ``tests/test_ensemble_native.py`` checks it against the vmap path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .cifar_cnn import CifarCNN


def supports(template: nn.Module) -> bool:
    """Whether ``template`` (an ensemble's architecture) can run here: a CifarCNN without dropout.

    Dropout is left to the vmap path, whose per-member random masks are the ones every run so far drew.
    """
    return isinstance(template, CifarCNN) and not any(isinstance(m, nn.Dropout) for m in template.modules())


def _conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x ``B x (E·C) x H x W``, weight ``E x O x C x k x k`` → ``B x (E·O) x H' x W'``."""
    e, o = weight.shape[:2]
    return F.conv2d(x, weight.reshape(e * o, *weight.shape[2:]), bias.reshape(e * o), groups=e)


class _EnsembleLinear(torch.autograd.Function):
    """``x W^T + b`` of every member, with the weight's gradient computed in the weight's own layout.

    Autograd's gradient of ``baddbmm(b, x, W^T)`` for ``W`` is ``x^T g`` (``E x in x out``) transposed: a
    non-contiguous tensor that the gradient accumulation then copies element by element, which at report 002's
    batch of 4 cost about as much as the layer's matrix products (profiled: benchmarks/profile_engine.py) and
    7 % of a step. ``g^T x`` sums the same products
    (perhaps in another order: equal within round-off, tests/test_ensemble_native.py), written straight into
    ``E x out x in``. First derivatives only: no double backward and no ``torch.func`` transforms, which the
    engine never uses on this path (both raise rather than compute something else).
    """

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        grad_weight = torch.bmm(grad.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(1) if ctx.needs_input_grad[2] else None
        return grad_x, grad_weight, grad_bias


def _linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x ``E x B x in``, weight ``E x out x in`` → ``E x B x out``."""
    device = x.device.type
    if torch.is_autocast_enabled(device):
        # What autocast does to baddbmm's inputs (float64 aside), done here because inside the Function autocast
        # would cast only the forward's product: the float32 tensors it saves would then meet a half-precision
        # gradient in the backward's products.
        dtype = torch.get_autocast_dtype(device)
        x, weight, bias = (t.to(dtype) if t.is_floating_point() and t.dtype != torch.float64 else t
                           for t in (x, weight, bias))
    return _EnsembleLinear.apply(x, weight, bias)


def _batch_norm(x: torch.Tensor, p: dict, b: dict, prefix: str, module: nn.BatchNorm1d, training: bool):
    """BatchNorm1d of every member over its own batch (``E x B x F``), updating its running statistics in place."""
    weight, bias = p[prefix + "weight"].unsqueeze(1), p[prefix + "bias"].unsqueeze(1)
    mean_buf, var_buf = b[prefix + "running_mean"], b[prefix + "running_var"]
    if training:
        mean = x.mean(1, keepdim=True)
        var = x.var(1, unbiased=False, keepdim=True)
        with torch.no_grad():
            n = x.shape[1]
            mean_buf.mul_(1 - module.momentum).add_(module.momentum * mean.squeeze(1))
            var_buf.mul_(1 - module.momentum).add_(module.momentum * var.squeeze(1) * n / max(n - 1, 1))
            b[prefix + "num_batches_tracked"].add_(1)
    else:
        mean, var = mean_buf.unsqueeze(1), var_buf.unsqueeze(1)
    return (x - mean) / torch.sqrt(var + module.eps) * weight + bias


def forward(template: CifarCNN, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
            x: torch.Tensor, training: bool) -> torch.Tensor:
    """Every member of ``template``'s architecture on its own slice of ``x`` (``E x B x C x H x W``) → ``E x B x out``."""
    e, batch = x.shape[:2]
    # Channels-last grouped convolutions run about twice as fast on a CPU as NCHW ones at these sizes.
    h = x.transpose(0, 1).reshape(batch, e * x.shape[2], *x.shape[3:]).contiguous(memory_format=torch.channels_last)
    h = template.pool(template.act(_conv(h, params["conv1.weight"], params["conv1.bias"])))
    h = template.pool(template.act(_conv(h, params["conv2.weight"], params["conv2.bias"])))
    h = h.reshape(batch, e, -1).transpose(0, 1)  # E x B x features, each member's channels in order
    for i, block in enumerate(template.hidden):
        prefix = f"hidden.{i}."
        y = _linear(h, params[prefix + "linear.weight"], params[prefix + "linear.bias"])
        if isinstance(block.norm, nn.BatchNorm1d):
            y = _batch_norm(y, params, buffers, prefix + "norm.", block.norm, training)
        y = block.act(y)
        h = h + y if block.skip else y
    return _linear(h, params["out.weight"], params["out.bias"])
