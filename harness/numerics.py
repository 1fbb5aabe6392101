"""Numerics settings that change results on a GPU, set once per process and recorded in the header.

TF32 matmuls and convolutions round float32 inputs to 10 mantissa bits: a claim that
says fp32 must not silently run in TF32, so both switches are set off explicitly.
"""

from __future__ import annotations

import torch


def set_deterministic_numerics() -> None:
    """TF32 off for matmuls and cuDNN convolutions (the claims say fp32)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def numerics_state() -> dict:
    """The settings in force, for the environment header."""
    return {
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
