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
