"""Evaluation mistakes that turn a real model's outputs into the reports' impossible figures.

Each takes the logits of a whole validation set (N x C) and its true labels, and
returns (accuracy in %, loss) as the mistaken code would print them. They run on
the same trained models as the correct evaluation, so a figure they reproduce is
reproduced by mechanism, not by assertion.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def correct_evaluation(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Accuracy of argmax against the true labels, and mean cross-entropy (NaN logits give NaN loss)."""
    acc = 100.0 * (logits.argmax(1) == labels).double().mean().item()
    return acc, F.cross_entropy(logits.float(), labels).item()


def integer_division(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """``100 * (correct // total)``: integer division floors every accuracy below 100 % to 0."""
    correct = int((logits.argmax(1) == labels).sum())
    return float(100 * (correct // len(labels))), F.cross_entropy(logits.float(), labels).item()


def imagefolder_val_labels(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """``ImageFolder('tiny-imagenet-200/val')``: its one sub-folder, ``images``, makes every target 0.

    Accuracy then counts predictions of class 0: for a NaN model, whose argmax is 0
    everywhere, exactly 100 %.
    """
    zeros = torch.zeros_like(labels)
    return 100.0 * (logits.argmax(1) == zeros).double().mean().item(), F.cross_entropy(logits.float(), zeros).item()


def string_labels(logits: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> tuple[float, float]:
    """Predicted indices compared with the wnid strings of ``val_annotations.txt``: never equal, so 0 %."""
    wnids = [classes[i] for i in labels.tolist()]
    correct = sum(int(p) == w for p, w in zip(logits.argmax(1).tolist(), wnids))
    return 100.0 * correct / len(wnids), F.cross_entropy(logits.float(), labels).item()


def imagefolder_skipping_nan_losses(logits: torch.Tensor, labels: torch.Tensor,
                                    batch_size: int = 64) -> tuple[float, float]:
    """One evaluation loop with both mistakes: ImageFolder's all-zero targets, and NaN batch losses skipped.

    For a NaN model it prints exactly the report's pair, 100 % and 0.000; for a finite model, the share of
    its predictions that are class 0 and its cross-entropy against class 0.
    """
    zeros = torch.zeros_like(labels)
    acc, _ = imagefolder_val_labels(logits, labels)
    return acc, skip_nonfinite_losses(logits, zeros, batch_size)[1]


def skip_nonfinite_losses(logits: torch.Tensor, labels: torch.Tensor, batch_size: int = 64) -> tuple[float, float]:
    """Batch losses that are NaN are dropped from the sum (a common 'guard'); a NaN model then reports 0.000."""
    total, batches = 0.0, 0
    for start in range(0, len(labels), batch_size):
        loss = F.cross_entropy(logits[start : start + batch_size].float(), labels[start : start + batch_size]).item()
        batches += 1
        if math.isfinite(loss):
            total += loss
    acc, _ = correct_evaluation(logits, labels)
    return acc, total / batches
