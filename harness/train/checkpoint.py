"""A run's state at the end of an epoch, so that a run killed part-way resumes from its last finished epoch.

What resuming needs is everything the training loop carries from one epoch to the next: the weights and buffers,
the optimizer's state (momentum buffers, Adam's moments and step counts), the GradScaler's scale, the EMA and its
update count, the non-finite watch, every member's data-order generator, the global RNG (dropout masks), the
histories, gradient norms and snapshots so far, the step counter and the seconds spent. Restored, the remaining
epochs compute exactly what they would have computed without the stop (tests/test_faults.py kills a run and
compares the resumed one with an uninterrupted one bit for bit). The state holds tensors, numbers and strings only,
for ``torch.load(weights_only=True)``; where it is kept is the caller's (:class:`harness.runcache.RunCheckpoints`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

# The non-finite watch's per-member record (harness.train.nonfinite.NonFiniteWatch).
WATCHED = ("first_step", "first_stage", "first_tensor")


class Checkpoint(Protocol):
    """Where the members ``seeds`` of a run keep their state between epochs (one state per group trained together)."""

    def load(self, seeds: list[int]) -> dict | None:
        """The state :meth:`save` kept last for ``seeds``, or None (none, or not to be trusted)."""

    def save(self, seeds: list[int], state: dict) -> None:
        """Keep ``state``, replacing the one kept before."""


@dataclass
class Progress:
    """How far a group's training has come."""

    epoch: int = 0  # epochs finished
    step: int = 0
    nan_from: int | None = None
    seconds: float = 0.0


@dataclass
class TrainingState:
    """What a group's training loop changes from epoch to epoch, by reference: :meth:`restore` fills it in place."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scaler: object | None  # torch.amp.GradScaler
    ema: object | None  # WeightEMA
    watch: object  # NonFiniteWatch
    generators: list[torch.Generator]
    history: dict[str, np.ndarray]
    grad_norms: dict[int, torch.Tensor]
    snapshots: dict[int, torch.nn.Module]

    def capture(self, progress: Progress, epochs: int) -> dict:
        """The state after ``progress.epoch`` of ``epochs`` epochs. It refers to the live tensors (no copy of the
        weights): keep it before the next step changes them."""
        device = next(self.model.parameters()).device
        return {
            "epoch": progress.epoch, "epochs": epochs, "step": progress.step, "nan_from": progress.nan_from,
            "seconds": float(progress.seconds), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "ema": None if self.ema is None else {"state": self.ema.module.state_dict(), "updates": self.ema.updates},
            "watch": {name: getattr(self.watch, name) for name in WATCHED},
            "generators": [g.get_state() for g in self.generators],
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            # Copies: the arrays go on filling in after this epoch, and the state must be the one of now.
            "history": {k: torch.from_numpy(v.copy()) for k, v in self.history.items()},
            "grad_norms": dict(self.grad_norms),
            "snapshots": {e: m.state_dict() for e, m in self.snapshots.items()},
        }

    def restore(self, state: dict) -> Progress:
        """Put ``state`` (from :meth:`capture` of the same run) back in place; returns how far it had come."""
        device = next(self.model.parameters()).device
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None:
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None:
            self.ema.module.load_state_dict(state["ema"]["state"])
            self.ema.updates = int(state["ema"]["updates"])
        for name in WATCHED:
            getattr(self.watch, name).copy_(state["watch"][name])
        for generator, saved in zip(self.generators, state["generators"], strict=True):
            generator.set_state(saved)
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        for k, v in state["history"].items():
            self.history[k][...] = v.numpy()
        self.grad_norms.update({int(s): g.to(device) for s, g in state["grad_norms"].items()})
        for epoch, saved in state["snapshots"].items():
            self.snapshots[int(epoch)] = snapshot = copy.deepcopy(self.model)
            snapshot.load_state_dict(saved)
        return Progress(epoch=int(state["epoch"]), step=int(state["step"]),
                        nan_from=None if state["nan_from"] is None else int(state["nan_from"]),
                        seconds=float(state["seconds"]))
