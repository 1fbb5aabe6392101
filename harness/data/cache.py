"""Decoded arrays cached on disk, keyed by the fingerprint of their source.

Several pytest-xdist workers may ask for the same data at once: a file lock makes
one of them decode while the others wait, and the array is written through a
temporary file and a rename, so a half-written cache is never read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock


def fingerprint(*parts) -> str:
    """SHA-256 over the string forms of ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cached_arrays(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored at ``path``, building and storing them first if absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            arrays = build()
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, **arrays)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return arrays
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}
