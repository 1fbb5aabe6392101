"""Decoded arrays cached on disk, keyed by the fingerprint of their source.

Several pytest-xdist workers may ask for the same data at once: a file lock makes
one of them decode while the others wait, and the array is written through a
temporary file and a rename, so a half-written cache is never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

log = logging.getLogger("harness.data")


def fingerprint(*parts) -> str:
    """SHA-256 over the string forms of ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_verified(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays at ``path`` if its checksum holds and it reads back whole; None (and a warning) otherwise."""
    checksum = path.with_name(path.name + ".sha256")
    try:
        if checksum.exists() and checksum.read_text().strip() != _digest(path):
            raise ValueError("its SHA-256 does not match the one written with it")
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        if not checksum.exists():  # written before checksums were kept: it read back whole, so keep one now
            checksum.write_text(_digest(path) + "\n")
        return arrays
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("decoded cache %s is damaged (%s): decoding the images again", path, exc)
        return None


def cached_arrays(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored at ``path``, building and storing them first if absent or damaged.

    Each file has a SHA-256 beside it: a truncated or altered file is detected, reported and rebuilt.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            arrays = _load_verified(path)
            if arrays is not None:
                return arrays
        arrays = build()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
            path.with_name(path.name + ".sha256").write_text(_digest(Path(tmp)) + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return arrays
