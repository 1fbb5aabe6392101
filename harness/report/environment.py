"""The environment header every result file carries: device, versions, commit, date, profile, data."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .. import allocator

if TYPE_CHECKING:
    import torch

# torch is imported where a header is made, not with this module: merging and comparing results need no torch.


def device_name(device: str | torch.device) -> str:
    """GPU model for a CUDA device, else the CPU model."""
    import torch

    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(device)}"
    cpu = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == (platform.processor() or platform.machine()):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    # The kernels' instruction set decides how fp32 sums are blocked, so figures of chaotic runs depend on it.
    isa = torch.backends.cpu.get_cpu_capability() + (", AMX" if "amx_tile" in flags else "")
    return f"CPU: {cpu} ({torch.get_num_threads()} threads, kernels {isa})"


# device_name's prefix → the torch device type it names: the key of a device's references (pins, results folder).
_TYPE_OF_PREFIX = {"CPU": "cpu", "GPU": "cuda"}


def device_type(name: str) -> str:
    """The torch device type (``cpu``, ``cuda``) of a header's ``device`` as :func:`device_name` writes it; "" for a
    name it did not write. Read from the name so that every record, also those written before, carries it."""
    return _TYPE_OF_PREFIX.get(str(name).split(":", 1)[0].strip(), "")


def results_name(profile: str, device_type: str) -> str:
    """The folder under results/ a session of ``profile`` on ``device_type`` writes by default: ``<profile>`` on
    the CPU (the committed references), ``<profile>-gpu`` on CUDA, so that a GPU run never writes over them."""
    return f"{profile}-gpu" if device_type == "cuda" else profile


def cuda_versions(device: str | torch.device) -> dict:
    """cuDNN's version and the NVIDIA driver's for a CUDA device (other kernels, other last bits); empty on a CPU,
    whose results depend on neither."""
    import torch

    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return {}
    versions = {"cudnn": str(torch.backends.cudnn.version() or "none")}
    try:  # the driver's CUDA API version (e.g. 12040 for 12.4), which bounds the wheels it can run
        api = torch._C._cuda_getDriverVersion()
        versions["cuda_driver_api"] = f"{api // 1000}.{api % 1000 // 10}"
    except (AttributeError, RuntimeError):
        pass
    try:  # the driver's own release, as nvidia-smi names it
        smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader",
                              f"--id={torch.device(device).index or 0}"], capture_output=True, text=True, timeout=20)
        if smi.returncode == 0 and smi.stdout.strip():
            versions["driver"] = smi.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return versions


def git_commit(cwd: Path | None = None) -> str:
    """HEAD's hash, with '+dirty' when tracked files other than results/ differ from it; 'unknown' outside git.

    results/ is left out: a run rewrites it, and that does not change the code that measured.
    """
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!results"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def environment(profile: str, device: str | torch.device, cwd: Path | None = None) -> dict:
    """The header fields of a results folder."""
    import torch

    from ..numerics import numerics_state

    return {
        "profile": profile,
        "device": device_name(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none",
        **cuda_versions(device),
        "python": platform.python_version(),
        "commit": git_commit(cwd),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "numerics": numerics_state(),
        "allocator": allocator.in_force(),
    }
