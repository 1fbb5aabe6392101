"""Load a split as one decoded uint8 array (whole, or a class-balanced subset), cached once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import cached_arrays, fingerprint
from .decode import decode_files
from .errors import DataError
from .paths import cache_dir
from .sources import FINDERS, Source

log = logging.getLogger("harness.data")


@dataclass
class ImageSet:
    """Decoded images of one split: ``images`` is N x H x W x 3 uint8, ``labels`` int64."""

    dataset: str
    split: str
    form: str
    location: Path
    classes: list[str]
    images: np.ndarray
    labels: np.ndarray
    subset: str
    fingerprint: str = ""  # the source's: what was on disk when these were read
    partial: str | None = None  # Source.shortfall(): the split is not the whole data set

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def class_balanced_indices(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """``per_class`` indices of each class, drawn without replacement by ``seed``; sorted."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise DataError(f"class {label} has {len(members)} images, fewer than the {per_class} asked for.")
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def find_source(dataset: str, split: str, root: Path) -> Source:
    """The :class:`Source` of ``dataset``/``split`` under ``root``; DataMissing if absent."""
    if dataset not in FINDERS:
        raise ValueError(f"unknown data set {dataset!r}; known: {sorted(FINDERS)}")
    return FINDERS[dataset](Path(root), split)


def load_images(dataset: str, split: str, root: Path, per_class: int | None = None, seed: int = 0) -> ImageSet:
    """Decoded ``dataset``/``split``: all of it, or ``per_class`` images of each class.

    Images are decoded once into the cache under ``root/cache``, keyed by the
    source's fingerprint and the subset; later calls read the cache.
    """
    source = find_source(dataset, split, root)
    indices = np.arange(len(source)) if per_class is None else class_balanced_indices(source.labels, per_class, seed)
    subset = "all" if per_class is None else f"{per_class} per class, seed {seed}"
    key = fingerprint(source.fingerprint, split, subset)[:20]
    path = cache_dir(Path(root)) / f"{dataset}-{split}-{key}.npz"
    labels = source.labels[indices]
    shape = (len(indices), *source.image_size, 3)

    def build():
        log.info("decoding %d images of %s/%s from %s", len(indices), dataset, split, source.location)
        if source.read_arrays is not None:
            images = source.read_arrays()[indices]
        else:
            images = decode_files([source.files[i] for i in indices], source.image_size, log=log.info)
        return {"images": images, "labels": labels}

    def check(arrays) -> str | None:
        # A cache from another version of this code, or written over, must not reach training (nor a KeyError).
        if sorted(arrays) != ["images", "labels"]:
            return f"it holds arrays {sorted(arrays)}, expected images and labels"
        if arrays["images"].shape != shape or arrays["images"].dtype != np.uint8:
            return f"its images are {arrays['images'].dtype} {arrays['images'].shape}, expected uint8 {shape}"
        if not np.array_equal(arrays["labels"], labels):
            return "its labels differ from the source's"
        return None

    arrays = cached_arrays(path, build, check)
    return ImageSet(dataset, split, source.form, source.location, source.classes,
                    arrays["images"], arrays["labels"], subset, source.fingerprint, source.shortfall())
