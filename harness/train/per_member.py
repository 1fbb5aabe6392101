"""SGD over member-stacked tensors whose learning rate, momentum and weight decay differ member by member.

Runs that share an architecture but not these hyperparameters (report 002's momentum 0 and 0.9 readings)
can then train as one ensemble. Each member's update is the one ``torch.optim.SGD(foreach=False)`` makes
with that member's values, within rounding: torch fuses ``p - lr * g`` into one operation, here it is two
(tests/test_per_member.py trains both ways and compares member by member). For fp32 and fp64 parameters only:
in pure fp16 the hyperparameters themselves would round (0.9 → 0.8999).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import torch


class PerMemberSGD(torch.optim.Optimizer):
    """SGD (no dampening, no Nesterov) on tensors whose first dimension is the member."""

    def __init__(self, params: Iterable[torch.Tensor], lr: Sequence[float], momentum: Sequence[float],
                 weight_decay: Sequence[float]):
        params = list(params)
        if not params:
            raise ValueError("PerMemberSGD got no parameters")
        if any(p.dtype not in (torch.float32, torch.float64) for p in params):
            raise ValueError("PerMemberSGD trains float32 or float64 parameters only (fp32 or fp64 precision)")
        members = params[0].shape[0]
        if not len(lr) == len(momentum) == len(weight_decay) == members:
            raise ValueError(f"PerMemberSGD: {members} members, but {len(lr)} learning rates, {len(momentum)} "
                             f"momenta and {len(weight_decay)} weight decays")
        device = params[0].device
        vector = lambda values: torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)  # noqa
        super().__init__(params, {"lr": vector(lr), "momentum": vector(momentum),
                                  "weight_decay": vector(weight_decay)})
        # Whether any member decays or has momentum, decided here from the host's values: asking the device's
        # vectors every step would wait for the GPU twice per parameter per step. The values never change after
        # construction (a checkpoint restores the same run's).
        self._any_decay = any(float(v) != 0 for v in weight_decay)
        self._any_momentum = any(float(v) != 0 for v in momentum)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every member with its own hyperparameters."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                shape = (-1,) + (1,) * (p.dim() - 1)
                lr, momentum, decay = (group[k].to(p.dtype).view(shape) for k in ("lr", "momentum", "weight_decay"))
                grad = p.grad
                if self._any_decay:
                    grad = torch.where(decay != 0, grad + decay * p, grad)  # no 0 × inf for members without
                if self._any_momentum:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = grad.clone()  # torch's first step: the gradient itself
                    else:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(grad)
                    # A member without momentum steps on its gradient alone, never on 0 × a buffer (NaN-safe).
                    grad = torch.where(momentum != 0, buf, grad)
                p.sub_(lr * grad)
        return None
