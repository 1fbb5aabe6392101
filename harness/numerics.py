"""Numerics settings that change results on a GPU, set once per process and recorded in the header.

TF32 matmuls and convolutions round float32 inputs to 10 mantissa bits: a claim that
says fp32 must not silently run in TF32, so both switches are set off explicitly.

cuDNN picks convolution algorithms per call; some backward ones sum with atomics, in an order that
changes from run to run, so two nights at one commit could differ in their last bits (and a chaotic
run in its figures). ``cudnn.deterministic`` asks for the deterministic algorithms only, and
``cudnn.benchmark`` off keeps cuDNN from choosing by timing (a choice that can differ between
processes). Both are set here, once, by the plugin's configure (and by the tools that train outside
pytest); no test changes them. On a CPU none of these switches changes a computed value.

The reduced-precision reduction flags (fp16 and bf16 matrix products may sum in half precision) are
left as torch ships them, which is what an autocast user of that torch gets; they are recorded, so
that a table says which sums its half-precision figures came from.
"""

from __future__ import annotations

import torch


def set_deterministic_numerics() -> None:
    """TF32 off for matmuls and cuDNN convolutions (the claims say fp32); cuDNN deterministic, not benchmarking."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def numerics_state() -> dict:
    """The settings in force, for the environment header."""
    matmul = torch.backends.cuda.matmul
    return {
        "tf32_matmul": matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "fp16_reduced_precision_reduction": matmul.allow_fp16_reduced_precision_reduction,
        "bf16_reduced_precision_reduction": matmul.allow_bf16_reduced_precision_reduction,
    }
