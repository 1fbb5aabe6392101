"""Errors the data layer raises; each names the file or option and what to do."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path


class DataError(RuntimeError):
    """A data set is present but wrong: a bad archive, an undecodable file, a wrong class count."""


class DataMissing(DataError):
    """A data set is not where the harness looks for it.

    ``hint`` is the command that gets it; suites turn this into a skip that shows it.
    """

    def __init__(self, dataset: str, where: str, hint: str):
        self.dataset = dataset
        self.where = where
        self.hint = hint
        super().__init__(f"{dataset} not found under {where}. To get it: {hint}")


class PartialDataWarning(UserWarning):
    """A split holds fewer (or more) images than the whole data set: a file was deleted or added after import."""


def unwritable(folder: Path, exc: OSError, what: str) -> DataError:
    """The error for ``what`` that cannot be written in ``folder`` of the data root."""
    return DataError(f"{folder}: cannot write {what} ({exc.strerror or exc}); make it writable, or give a "
                     "writable --data-root (or $HARNESS_DATA).")


def disk_full(exc: BaseException, folder: Path, needed: int | None, doing: str) -> DataError | None:
    """If ``exc`` is a full disk (ENOSPC), a DataError saying so, with the bytes ``needed`` (if known) and those
    free; None for any other error."""
    if not isinstance(exc, OSError) or exc.errno != errno.ENOSPC:
        return None
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:.0f} MiB free"
    except OSError:
        free = "free space unknown"
    need = f"about {needed / 2**20:.0f} MiB needed, " if needed else ""
    return DataError(f"{folder}: the disk is full {doing} ({need}{free}); free some space there, or give a "
                     "--data-root on a disk with room.")
