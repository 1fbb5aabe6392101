"""Catch the first step at which a member goes non-finite, and the first tensor that did.

Within a step the tensors are checked in the order they are computed — logits,
loss, gradients, parameters after the update — so the first one flagged is where
the NaN or inf was born. The flags stay on the device (no host sync per step)
and training goes on, as the report's own run did.
"""

from __future__ import annotations

import torch

STAGES = ("logits", "loss", "gradient", "parameter")


def _bad(t: torch.Tensor) -> torch.Tensor:
    """Per member (dim 0): True where any element is NaN or inf."""
    return ~torch.isfinite(t.detach()).flatten(1).all(1)


class NonFiniteWatch:
    """Records per member the first non-finite step and tensor; a no-op when not ``enabled``.

    ``check_gradients=False`` ignores gradients, for fp16 autocast, where an
    overflowing scaled gradient is the GradScaler's normal signal to skip a step.
    """

    def __init__(self, model, enabled: bool, check_gradients: bool = True):
        self.enabled = enabled
        self.check_gradients = check_gradients
        self.model = model
        self.names = list(model.param_names)
        size, device = model.size, next(model.parameters()).device
        self.first_step = torch.full((size,), -1, dtype=torch.int64, device=device)
        self.first_stage = torch.full((size,), -1, dtype=torch.int64, device=device)
        self.first_tensor = torch.full((size,), -1, dtype=torch.int64, device=device)
        self._pending = None

    def after_backward(self, step: int, logits: torch.Tensor, per_member_loss: torch.Tensor) -> None:
        """Check logits, loss and gradients of ``step``."""
        if not self.enabled:
            return
        params = self.model.stacked_params()
        if self.check_gradients:
            grads = torch.stack([_bad(params[n].grad) if params[n].grad is not None
                                 else torch.zeros_like(self.first_step, dtype=torch.bool) for n in self.names], 1)
        else:
            grads = torch.zeros(self.first_step.shape[0], len(self.names), dtype=torch.bool, device=logits.device)
        self._pending = (_bad(logits), ~torch.isfinite(per_member_loss.detach()), grads)

    def after_step(self, step: int) -> None:
        """Check the parameters after the update of ``step`` and keep the first event of each member."""
        if not self.enabled:
            return
        logits_bad, loss_bad, grad_bad = self._pending
        params = self.model.stacked_params()
        param_bad = torch.stack([_bad(params[n]) for n in self.names], 1)
        stages = torch.stack([logits_bad, loss_bad, grad_bad.any(1), param_bad.any(1)], 1)
        new = stages.any(1) & (self.first_step < 0)
        stage = stages.to(torch.uint8).argmax(1)  # first stage flagged
        tensor = torch.where(stage == 2, grad_bad.to(torch.uint8).argmax(1),
                             torch.where(stage == 3, param_bad.to(torch.uint8).argmax(1), -1))
        self.first_step = torch.where(new, step, self.first_step)
        self.first_stage = torch.where(new, stage, self.first_stage)
        self.first_tensor = torch.where(new, tensor, self.first_tensor)

    def report(self) -> list[dict]:
        """Per member: ``{'step': first non-finite step or None, 'tensor': what went non-finite first}``."""
        if not self.enabled:
            return []
        out = []
        for step, stage, tensor in zip(self.first_step.tolist(), self.first_stage.tolist(), self.first_tensor.tolist()):
            if step < 0:
                out.append({"step": None, "tensor": None})
                continue
            name = STAGES[stage]
            if stage >= 2:
                name = f"{name} {self.names[tensor]}"
            out.append({"step": step, "tensor": name})
        return out
