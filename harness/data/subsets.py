"""Subsets of a decoded split that claims ask for: some classes relabelled, the first images of each class."""

from __future__ import annotations

import numpy as np


def select(images: np.ndarray, labels: np.ndarray, num_classes: int, classes: list[int] | None = None,
           limit: int | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """Keep only ``classes`` (relabelled 0..k-1, in the order given), then the first ``limit`` images of each.

    Returns the images, the labels and a description of the subset for the tables.
    """
    x, y = images, labels
    if classes is not None:
        lut = np.full(num_classes, -1)
        lut[classes] = np.arange(len(classes))
        keep = lut[y] >= 0
        x, y = x[keep], lut[y[keep]]
    if limit is not None:
        idx = np.sort(np.concatenate([np.flatnonzero(y == c)[:limit] for c in np.unique(y)]))
        x, y = x[idx], y[idx]
    description = (f", classes {classes}" if classes else "") + (f", first {limit} per class" if limit else "")
    return x, y, description
