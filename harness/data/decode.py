"""Decode image files into one uint8 array, once; errors name the file."""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .errors import DataError

# Below this many files a process pool costs more than it saves.
_POOL_THRESHOLD = 4000
_CHUNK = 2000


def decode_one(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 HxWx3 RGB; DataError naming the file if it does not decode or has another size."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: does not decode as an image ({exc}). Re-import its archive with --force.") from exc
    if arr.shape[:2] != tuple(size):
        raise DataError(f"{path}: is {arr.shape[1]}x{arr.shape[0]} pixels, expected {size[1]}x{size[0]}.")
    return arr


def _decode_chunk(paths: list[str], size: tuple[int, int]) -> np.ndarray:
    return np.stack([decode_one(p, size) for p in paths]) if paths else np.empty((0, *size, 3), np.uint8)


def decode_files(paths: list[Path], size: tuple[int, int], workers: int | None = None, log=None) -> np.ndarray:
    """All ``paths`` decoded into an ``N x H x W x 3`` uint8 array, in order."""
    paths = [str(p) for p in paths]
    out = np.empty((len(paths), *size, 3), dtype=np.uint8)
    if len(paths) < _POOL_THRESHOLD:
        if paths:
            out[:] = _decode_chunk(paths, size)
        return out
    workers = workers or max(1, min(8, os.cpu_count() or 1))
    chunks = [paths[i : i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    # spawn, not fork: the parent may hold torch's thread pools, which fork can deadlock.
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        for i, arr in enumerate(pool.map(_decode_chunk, chunks, [size] * len(chunks))):
            out[i * _CHUNK : i * _CHUNK + len(arr)] = arr
            if log and (i + 1) % 10 == 0:
                log(f"  decoded {min((i + 1) * _CHUNK, len(paths))}/{len(paths)} images")
    return out
