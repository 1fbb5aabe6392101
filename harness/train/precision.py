"""Precision modes: the four the reports and their controls need, and fp64 for exactness checks."""

from __future__ import annotations

import contextlib

import torch

MODES = ("fp32", "fp16", "fp16-amp", "bf16-amp", "fp64")


def check_mode(mode: str) -> str:
    """``mode`` if known, else a ValueError naming the choices."""
    if mode not in MODES:
        raise ValueError(f"precision must be one of {MODES}, not {mode!r}")
    return mode


def param_dtype(mode: str) -> torch.dtype:
    """dtype of the weights: half for pure fp16 (the report's ``.half()``), double for fp64, else float32."""
    return {"fp16": torch.float16, "fp64": torch.float64}.get(mode, torch.float32)


def autocast_dtype(mode: str) -> torch.dtype | None:
    """The dtype autocast computes in under ``mode``, or None where the mode runs without autocast."""
    return {"fp16-amp": torch.float16, "bf16-amp": torch.bfloat16}.get(mode)


def autocast(mode: str, device: torch.device):
    """The autocast context of ``mode`` on ``device`` (a no-op for fp32, fp64 and pure fp16)."""
    dtype = autocast_dtype(mode)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def grad_scaler(mode: str, device: torch.device):
    """A GradScaler for fp16 autocast, else None."""
    return torch.amp.GradScaler(device.type) if mode == "fp16-amp" else None


# The ops that do a model's arithmetic, by their ATen names (forward), for compute_dtypes.
ARITHMETIC_OPS = ("convolution", "mm", "bmm", "addmm", "baddbmm")


def compute_dtypes(run) -> dict[str, set[str]]:
    """The dtypes the arithmetic ops (``ARITHMETIC_OPS``) return while ``run()`` runs, as ATen really dispatches
    them: what a mode computes in, which may differ from the logits' dtype (a bias added in float32 promotes) and
    from what autocast's op lists promise (an op reached through vmap's batching rules may bypass them)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: dict[str, set[str]] = {}

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            if name in ARITHMETIC_OPS and isinstance(out, torch.Tensor):
                seen.setdefault(name, set()).add(str(out.dtype).removeprefix("torch."))
            return out

    with Record():
        run()
    return seen
