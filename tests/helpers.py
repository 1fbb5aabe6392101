"""Helpers that write small synthetic data sets in the official layouts (machinery tests only)."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from harness.data.sources import CIFAR10_CLASSES

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The options of every claim session the unit tests start in a subprocess: their assertions are the smoke budget's
# (step counts, seeds, verdicts) on the CPU, and without them a CUDA host would run those sessions in the full
# profile on its GPU, whatever the profile and device of the session that runs the tests.
SMOKE_ON_CPU = ("--profile", "smoke", "--device", "cpu")


def _image(path: Path, size: int, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path, quality=95)


def write_cifar(root: Path) -> Path:
    """CIFAR-10 in the ImageFolder JPEG layout of shared/data: 3 train and 2 test images a class."""
    for split, n in (("train", 3), ("test", 2)):
        for c, name in enumerate(CIFAR10_CLASSES):
            for i in range(n):
                _image(root / "cifar10" / split / name / f"{i:04d}.jpg", 32, 100 * c + i)
    return root


def write_tiny(root: Path, per_class: int = 2, classes: int = 200) -> Path:
    """Tiny ImageNet in the official tiny-imagenet-200 layout, ``per_class`` train and 1 val image a class."""
    base = root / "tiny-imagenet-200"
    wnids = [f"n{i:08d}" for i in range(classes)]
    base.mkdir(parents=True, exist_ok=True)
    (base / "wnids.txt").write_text("\n".join(wnids) + "\n")
    lines = []
    for c, wnid in enumerate(wnids):
        for i in range(per_class):
            _image(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", 64, c * 10 + i)
        _image(base / "val" / "images" / f"val_{c}.JPEG", 64, 5000 + c)
        lines.append(f"val_{c}.JPEG\t{wnid}\t0\t0\t63\t63")
    (base / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return root


def make_archive(source_dir: Path, top: str, archive: Path) -> str:
    """Pack ``source_dir/top`` into a .tar.xz at ``archive``; returns its SHA-256."""
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(source_dir / top, arcname=top)
    return hashlib.sha256(archive.read_bytes()).hexdigest()
