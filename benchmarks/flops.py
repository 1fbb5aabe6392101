"""FLOPs of one training image of a model, and the device's fp32 FLOP limit, for the benchmarks' share column."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode


def training_flops_per_image(model_fn, image_shape: tuple[int, ...], batch: int) -> float:
    """Forward and backward FLOPs of one image (torch's FLOP counter: matmuls and convolutions, 2 per MAC)."""
    model = model_fn()
    x = torch.randn(batch, *image_shape)
    with FlopCounterMode(display=False) as counter:
        logits = model(x)
        F.cross_entropy(logits, torch.zeros(batch, dtype=torch.long)).backward()
    return counter.get_total_flops() / batch


def cpu_flops_per_cycle() -> tuple[int, str]:
    """fp32 FLOPs one core can issue per cycle, from the CPU's vendor and flags, with the reason."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return 8, "unknown CPU: 8 (SSE, one FMA)"
    flags = set(next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), []))
    amd = "AMD" in info  # vendor_id AuthenticAMD, model name "AMD EPYC" (some VMs show only the latter)
    if "avx512f" in flags and not amd:
        return 64, "AVX-512, two 512-bit FMA units: 2 × 16 lanes × 2"
    if "avx512f" in flags or ("avx2" in flags and "fma" in flags):
        return 32, ("two 256-bit FMA pipes (AMD runs AVX-512 as two 256-bit halves): 2 × 8 lanes × 2" if amd
                    else "AVX2, two 256-bit FMA units: 2 × 8 lanes × 2")
    return 8, "SSE: 4 lanes × 2"


def device_flop_limit(device: torch.device) -> tuple[float | None, str]:
    """The fp32 FLOP/s one benchmark process can reach on ``device``, and how it was computed (None: unknown)."""
    if device.type == "cpu":
        per_cycle, why = cpu_flops_per_cycle()
        ghz = _cpu_ghz()
        threads = torch.get_num_threads()
        return threads * ghz * 1e9 * per_cycle, (f"{threads} thread(s) × {ghz:.2f} GHz × {per_cycle} fp32 FLOP per "
                                                 f"cycle ({why})")
    name = torch.cuda.get_device_name(device)
    known = {"H100": 67e12, "H200": 67e12, "A100": 19.5e12, "L4": 30.3e12, "T4": 8.1e12}  # vendor fp32, non-tensor
    for key, flops in known.items():
        if key in name:
            return flops, f"{name}: the vendor's fp32 (non-tensor-core) peak, {flops / 1e12:.1f} TFLOP/s"
    return None, f"{name}: no peak known to the harness"


def _cpu_ghz() -> float:
    try:
        mhz = [float(l.split(":")[1]) for l in open("/proc/cpuinfo") if l.startswith("cpu MHz")]
        return max(mhz) / 1000 if mhz else 2.0
    except OSError:
        return 2.0
