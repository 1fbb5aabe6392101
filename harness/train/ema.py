"""An exponential moving average of an ensemble's weights, updated without host synchronization.

It computes what ``torch.optim.swa_utils.AveragedModel`` with
``get_ema_multi_avg_fn(decay)`` and ``use_buffers=True`` computes (the first update
copies, each later one is w_ema ← decay·w_ema + (1 − decay)·w, batch-norm statistics
averaged alike; tests/test_engine.py compares the two). AveragedModel tests its
step counter with ``if`` on every update, which on a GPU waits for the device each
step; here the first update is known from a Python counter.
"""

from __future__ import annotations

import copy

import torch

from .ensemble import Ensemble


class WeightEMA:
    """The EMA copy of ``model`` (an :class:`Ensemble`), in ``self.module``."""

    def __init__(self, model: Ensemble, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), not {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.updates = 0

    def _pairs(self, model: Ensemble):
        ema = list(self.module.parameters()) + list(self.module.buffers())
        live = list(model.parameters()) + list(model.buffers())
        return ema, live

    @torch.no_grad()
    def update(self, model: Ensemble) -> None:
        """Fold the current weights of ``model`` into the average."""
        ema, live = self._pairs(model)
        floats = [(e, w.detach()) for e, w in zip(ema, live) if e.is_floating_point()]
        if self.updates == 0:
            for e, w in zip(ema, live):
                e.copy_(w.detach())
        else:
            torch._foreach_lerp_([e for e, _ in floats], [w for _, w in floats], 1.0 - self.decay)
            for e, w in zip(ema, live):
                if not e.is_floating_point():
                    e.copy_(w)  # counters such as num_batches_tracked
        self.updates += 1
