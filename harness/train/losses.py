"""Per-member losses: cross-entropy, knowledge distillation, weight penalties.

Each returns one value per ensemble member (shape ``E``); the engine sums them,
so each member's gradient is exactly its own loss's gradient.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per member: logits ``E x B x C``, targets ``E x B`` → ``E``."""
    e, b, c = logits.shape
    return F.cross_entropy(logits.reshape(e * b, c), targets.reshape(e * b), reduction="none").view(e, b).mean(1)


def distillation(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
                 temperature: float, alpha: float, reduction: str = "batchmean") -> torch.Tensor:
    """Hinton et al.'s loss per member: α T² KL(p_T^teacher ‖ p_T^student) + (1 − α) CE(student, y).

    ``reduction`` of the KL term: 'batchmean' (the mathematically right one: sum over
    classes, mean over the batch), 'mean' (PyTorch's default, which also divides by
    the class count) or 'sum' (no division; a control for overflow in half precision).
    """
    t = temperature
    log_p_student = F.log_softmax(student_logits / t, dim=-1)
    log_p_teacher = F.log_softmax(teacher_logits.to(student_logits.dtype) / t, dim=-1)
    kl = F.kl_div(log_p_student, log_p_teacher, reduction="none", log_target=True)
    if reduction == "batchmean":
        kl = kl.sum(-1).mean(-1)
    elif reduction == "mean":
        kl = kl.mean((-1, -2))
    elif reduction == "sum":
        kl = kl.sum((-1, -2))
    else:
        raise ValueError(f"KL reduction must be 'batchmean', 'mean' or 'sum', not {reduction!r}")
    return alpha * t * t * kl + (1 - alpha) * cross_entropy(student_logits, targets)


def weight_penalty(stacked_params: dict[str, torch.Tensor], kind: str) -> torch.Tensor:
    """Σ|w| ('l1') or Σw² ('l2') over the weight matrices and kernels of each member (biases excluded)."""
    total = None
    for name, p in stacked_params.items():
        if p.dim() < 3:  # member dim + a vector: a bias or a norm's scale
            continue
        flat = p.flatten(1)
        term = flat.abs().sum(1) if kind == "l1" else flat.pow(2).sum(1)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("no weight matrices to penalize")
    return total
