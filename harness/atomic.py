"""Atomic writes: a temporary file beside the target, then a rename.

Readers (other pytest-xdist workers, a user opening results/) see the old file or the whole new one, never half
of it. A set of files that must agree (a results folder's tables) is written through a journal: every file is
written whole first, the journal names them, then the renames run; a kill during the renames leaves the journal,
and the next reader of the folder (:func:`finish_interrupted_set`) completes them, so no reader is left with a mix.

Files get the mode the umask gives a new file (``tempfile.mkstemp`` alone makes them 0600): another user of a
shared machine can read the tables, records and caches, as with any file written by ``open``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

JOURNAL = ".writing-set.json"


def _umask() -> int:
    # The only portable way to read the umask is to set it; set it straight back (no file is created between).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path, prefix: str | None = None):
    """A temporary path beside ``path`` for the caller to write; renamed onto ``path`` when the block ends without
    an exception, removed when it raises. ``prefix`` names the temporary file (default: ``.<name>.``); it ends
    in ``.tmp``, so no glob for the target's suffix picks up a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path: Path, payload) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_text_set(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (name relative to ``folder`` → text) as one set: a reader sees the old set or the new one.

    A kill while the set is renamed into place leaves its journal; :func:`finish_interrupted_set` (called here
    first, and by every reader of a results folder) completes it. Returns the paths written.
    """
    given, folder = Path(folder), Path(folder).absolute()  # mkstemp names files absolutely
    finish_interrupted_set(folder)
    staged: dict[str, str] = {}
    try:
        for name, text in files.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
            staged[name] = str(Path(tmp).relative_to(folder))  # relative: the folder may be moved before it is finished
        write_json_atomic(folder / JOURNAL, staged)
    except BaseException:
        for tmp in staged.values():
            (folder / tmp).unlink(missing_ok=True)
        raise
    finish_interrupted_set(folder)
    return [given / name for name in files]


def finish_interrupted_set(folder: Path) -> None:
    """Complete a :func:`write_text_set` that was killed after its journal was written (every file then exists
    whole under its temporary name); nothing to do when there is no journal."""
    journal = Path(folder) / JOURNAL
    try:
        staged = json.loads(journal.read_text())
    except FileNotFoundError:
        return
    except ValueError:  # not a journal this module wrote (it writes them atomically): the old set stands
        journal.unlink(missing_ok=True)
        return
    for name, tmp in staged.items():
        if (Path(folder) / tmp).exists():
            os.replace(Path(folder) / tmp, Path(folder) / name)
    journal.unlink(missing_ok=True)
