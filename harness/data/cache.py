"""Decoded arrays cached on disk, keyed by the fingerprint of their source.

Several pytest-xdist workers may ask for the same data at once: a file lock makes
one of them decode while the others wait, and the array is written through a
temporary file and a rename, so a half-written cache is never read. A cache that
is whole needs no lock to be read, so a read-only data root serves it.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock

from ..atomic import atomic_path, write_text_atomic
from .errors import disk_full, unwritable

log = logging.getLogger("harness.data")


def fingerprint(*parts) -> str:
    """SHA-256 over the string forms of ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_verified(path: Path, check: Callable[[dict], str | None] | None):
    """``(arrays, None)`` if ``path`` has its checksum, matches it, reads back whole and passes ``check``;
    ``(None, why not)`` otherwise."""
    try:
        expected = _checksum_path(path).read_text().strip()
    except FileNotFoundError:
        # Without its checksum an altered file cannot be told from a good one: only decoding again is safe.
        return None, "it has no .sha256 beside it"
    try:
        if sha256_of(path) != expected:
            return None, "its SHA-256 does not match the one written with it"
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        return None, str(exc)
    problem = check(arrays) if check is not None else None
    return (None, problem) if problem else (arrays, None)


def _store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` whole or not at all, its checksum first (a file without one is not trusted)."""
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to a name
                np.savez(fh, **arrays)
            write_text_atomic(_checksum_path(path), sha256_of(tmp) + "\n")
    except BaseException as exc:
        full = disk_full(exc, path.parent, sum(a.nbytes for a in arrays.values()), "writing the decoded-image cache")
        if full is not None:
            raise full from exc
        raise


def cached_arrays(path: Path, build: Callable[[], dict[str, np.ndarray]],
                  check: Callable[[dict], str | None] | None = None) -> dict[str, np.ndarray]:
    """The arrays stored at ``path``, building and storing them first if absent or not usable.

    Each file has a SHA-256 beside it: a truncated or altered file, or one without its checksum, is
    reported and rebuilt; so is one that ``check`` (given the arrays, returning what is wrong or None)
    refuses. A usable file is read without taking the lock; building needs the data root writable,
    else a DataError names it and the option.
    """
    if path.exists():
        arrays, _ = _read_verified(path, check)
        if arrays is not None:
            return arrays
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock")
        lock.acquire()
    except OSError as exc:
        raise unwritable(path.parent, exc, "the decoded-image cache there") from exc
    try:
        if path.exists():  # again: another worker may have written it while this one waited for the lock
            arrays, problem = _read_verified(path, check)
            if arrays is not None:
                return arrays
            log.warning("decoded cache %s is damaged or stale (%s): decoding the images again", path, problem)
        arrays = build()
        _store(path, arrays)
        return arrays
    finally:
        lock.release()
