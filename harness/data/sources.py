"""Find a data set on disk and list its images and labels without decoding them.

Each finder returns a :class:`Source`: the form found (official pickles, the
JPEG ImageFolder layout of shared/data, the official tiny-imagenet-200 layout),
the files and labels of one split, and a fingerprint of what is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .archives import read_imported
from .cache import fingerprint
from .errors import DataError, DataMissing

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
TINY_CLASSES = 200

_IMPORT = "python -m harness data import ../shared/data/{}"
CIFAR10_HINT = (
    _IMPORT.format("cifar10-jpeg.tar.xz")
    + "  (or `python -m harness data download cifar10` where the network allows)"
)
TINY_HINT = (
    _IMPORT.format("tiny-imagenet-200-*.tar.xz")
    + "  (or `python -m harness data download tiny-imagenet` where the network allows)"
)
# Extracting again puts back what was deleted (an import skips an archive already imported unless --force).
RESTORE_HINT = {
    "cifar10": "python -m harness data import --force ../shared/data/cifar10-jpeg.tar.xz",
    "tiny-imagenet": "python -m harness data import --force ../shared/data/tiny-imagenet-200-*.tar.xz",
}
FULL_SIZES = {("cifar10", "train"): 50_000, ("cifar10", "test"): 10_000,
              ("tiny-imagenet", "train"): 100_000, ("tiny-imagenet", "val"): 10_000}


@dataclass
class Source:
    """One split of a data set as found on disk, not yet decoded."""

    dataset: str
    split: str
    form: str
    location: Path
    classes: list[str]
    labels: np.ndarray
    image_size: tuple[int, int]
    fingerprint: str  # of the files listed (names and sizes) and of the archives imported: no image is read
    files: list[Path] | None = None
    # For forms that already hold arrays (the official pickles): returns all images.
    read_arrays: Callable[[], np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    def shortfall(self) -> str | None:
        """``'partial: N/F'`` when this split holds N images and the whole data set F; None when it holds F."""
        full = FULL_SIZES[(self.dataset, self.split)]
        return None if len(self) == full else f"partial: {len(self)}/{full}"


def _class_folders(folder: Path) -> list[str]:
    """The sub-folders of ``folder`` by name, hidden ones left out: no class name starts with a dot, and tools
    drop such folders unasked (Jupyter's .ipynb_checkpoints); they hold no image the harness would read."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _listing_fingerprint(files: list[Path], base: Path, extra) -> str:
    entries = [(str(f.relative_to(base)), f.stat().st_size) for f in files]
    return fingerprint(entries, extra)


def find_cifar10(root: Path, split: str) -> Source:
    """CIFAR-10 ``split`` ('train' or 'test'): the official pickles if present, else the JPEG folders."""
    if split not in ("train", "test"):
        raise ValueError(f"CIFAR-10 split must be 'train' or 'test', not {split!r}")
    pickles = root / "cifar-10-batches-py"
    if pickles.is_dir():
        return _cifar10_pickles(root, split)
    folder = root / "cifar10" / split
    if not folder.is_dir():
        raise DataMissing("CIFAR-10", str(root), CIFAR10_HINT)
    classes = _class_folders(folder)
    extra = sorted(set(classes) - set(CIFAR10_CLASSES))
    if extra:
        raise DataError(f"{folder}: {', '.join(extra)}: not a CIFAR-10 class folder; move it out of the data root "
                        "(a re-import leaves it there).")
    if classes != CIFAR10_CLASSES:
        missing = sorted(set(CIFAR10_CLASSES) - set(classes))
        raise DataError(f"{folder}: class folders {missing} are missing; restore them with: {RESTORE_HINT['cifar10']}")
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted((folder / name).glob("*.jpg")) + sorted((folder / name).glob("*.png"))
        files += found
        labels += [label] * len(found)
    if not files:
        raise DataError(f"{folder}: no images; restore them with: {RESTORE_HINT['cifar10']}")
    imported = {k: v for k, v in read_imported(root).items() if k.startswith("cifar10")}
    return Source(
        "cifar10", split, "JPEG ImageFolder (shared/data)", folder, classes, np.asarray(labels, np.int64),
        (32, 32), _listing_fingerprint(files, folder, imported), files=files,
    )


def _cifar10_pickles(root: Path, split: str) -> Source:
    from torchvision.datasets import CIFAR10

    try:
        ds = CIFAR10(str(root), train=split == "train", download=False)
    except RuntimeError as exc:
        raise DataError(
            f"{root / 'cifar-10-batches-py'}: the official CIFAR-10 files fail their checksum ({exc}). "
            "Delete the folder and download again."
        ) from exc
    images = ds.data
    return Source(
        "cifar10", split, "official python pickles (torchvision)", root / "cifar-10-batches-py",
        list(ds.classes), np.asarray(ds.targets, np.int64), (32, 32),
        fingerprint("cifar-10-python", split, [f for f, _ in (ds.train_list if split == "train" else ds.test_list)]),
        read_arrays=lambda: images,
    )


def find_tiny_imagenet(root: Path, split: str) -> Source:
    """Tiny ImageNet ``split`` ('train' or 'val') in the official tiny-imagenet-200 layout."""
    if split not in ("train", "val"):
        raise ValueError(f"Tiny ImageNet split must be 'train' or 'val', not {split!r}")
    base = root / "tiny-imagenet-200"
    wnids_file = base / "wnids.txt"
    if not wnids_file.is_file():
        raise DataMissing("Tiny ImageNet", str(root), TINY_HINT)
    wnids = sorted(w.strip() for w in wnids_file.read_text().split() if w.strip())
    if len(wnids) != TINY_CLASSES:
        raise DataError(f"{wnids_file}: lists {len(wnids)} classes, expected {TINY_CLASSES}.")
    index = {w: i for i, w in enumerate(wnids)}
    files, labels = [], []
    if split == "train":
        train = base / "train"
        if not train.is_dir():
            raise DataMissing("Tiny ImageNet train split", str(base), TINY_HINT)
        unknown = sorted(set(_class_folders(train)) - set(wnids))
        if unknown:
            raise DataError(f"{train}: {', '.join(unknown[:5])}: not a class of {wnids_file}; move it out of the "
                            "data root (a re-import leaves it there).")
        for wnid in wnids:
            found = sorted((train / wnid / "images").glob("*.JPEG"))
            files += found
            labels += [index[wnid]] * len(found)
        if not files:
            raise DataMissing("Tiny ImageNet train images", str(train), TINY_HINT)
    else:
        annotations = base / "val" / "val_annotations.txt"
        if not annotations.is_file():
            raise DataMissing("Tiny ImageNet val split", str(base), TINY_HINT)
        for line_no, line in enumerate(annotations.read_text().splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) < 2 or parts[1] not in index:
                raise DataError(f"{annotations}:{line_no}: class {parts[1:2]} is not in {wnids_file}.")
            files.append(base / "val" / "images" / parts[0])
            labels.append(index[parts[1]])
        # An image listed but deleted makes the split partial (as a deleted train image does), not a traceback.
        present = [f.is_file() for f in files]
        if not any(present):
            raise DataMissing("Tiny ImageNet val images", str(base / "val" / "images"), TINY_HINT)
        files = [f for f, there in zip(files, present) if there]
        labels = [label for label, there in zip(labels, present) if there]
    imported = {k: v for k, v in read_imported(root).items() if k.startswith("tiny-imagenet")}
    return Source(
        "tiny-imagenet", split, "official tiny-imagenet-200 layout", base / split, wnids,
        np.asarray(labels, np.int64), (64, 64), _listing_fingerprint(files, base, imported), files=files,
    )


FINDERS = {"cifar10": find_cifar10, "tiny-imagenet": find_tiny_imagenet}
