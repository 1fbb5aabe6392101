"""Atomic writes: a temporary file beside the target, then a rename.

Readers (other pytest-xdist workers, a user opening results/) see the old file or the whole new one, never half
of it. A set of files that must agree (a results folder's tables) is written through a journal: every file is
written whole first, the journal names them, then the renames run; a kill during the renames leaves the journal,
which readers read through (:func:`set_member`) and the folder's next writer completes
(:func:`finish_interrupted_set`), so no reader is left with a mix.

Files get the mode the umask gives a new file (``tempfile.mkstemp`` alone makes them 0600): another user of a
shared machine can read the tables, records and caches, as with any file written by ``open``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

log = logging.getLogger("harness")

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


def json_text(payload) -> str:
    """``payload`` as indented JSON, keys sorted (what :func:`write_json_atomic` writes)."""
    return json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"


def write_json_atomic(path: Path, payload) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json_text(payload))


def write_text_set(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` (plain file name in ``folder`` → text) as one set: a reader sees the old set or the new one.

    A kill while the set is renamed into place leaves its journal; :func:`finish_interrupted_set` (called here
    first, and by a session when it takes the folder) completes it, and :func:`set_member` reads through it
    meanwhile. Returns the paths written.
    """
    given, folder = Path(folder), Path(folder).absolute()  # mkstemp names files absolutely
    bad = [name for name in files if not _plain(name)]
    if bad:
        raise ValueError(f"write_text_set: {bad} are not plain file names in {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    finish_interrupted_set(folder)
    staged: dict[str, str] = {}
    try:
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
            staged[name] = Path(tmp).name  # a name in the folder: it may be moved before the set is finished
        write_json_atomic(folder / JOURNAL, staged)
    except BaseException:
        for tmp in staged.values():
            (folder / tmp).unlink(missing_ok=True)
        raise
    finish_interrupted_set(folder)
    return [given / name for name in files]


def _plain(name: str) -> bool:
    return bool(name) and name == Path(name).name and not name.startswith(".")


def _staged(folder: Path) -> dict[str, Path]:
    """The journal's ``name → staged file`` in ``folder``, checked: only plain names of the folder and the staged
    files :func:`write_text_set` makes for them (a journal copied in with a results folder must not name a file
    elsewhere). An unreadable or unchecked journal gives nothing, with a warning."""
    journal = Path(folder) / JOURNAL
    try:
        staged = json.loads(journal.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: not a journal of a set of tables (%s); ignored", journal, exc)
        return {}
    if not isinstance(staged, dict) or not all(
            isinstance(name, str) and isinstance(tmp, str) and _plain(name)
            and re.fullmatch(rf"\.{re.escape(name)}\.\w+\.tmp", tmp) for name, tmp in staged.items()):
        log.warning("%s: names files outside its set of tables; ignored", journal)
        return {}
    return {name: Path(folder) / tmp for name, tmp in staged.items()}


def finish_interrupted_set(folder: Path) -> None:
    """Complete a :func:`write_text_set` that was killed after its journal was written (every file then exists
    whole under its staged name); for the writer of ``folder`` only (a session holding its lock)."""
    journal = Path(folder) / JOURNAL
    if not journal.exists():
        return
    for name, tmp in _staged(folder).items():
        if tmp.exists():
            os.replace(tmp, Path(folder) / name)
    journal.unlink(missing_ok=True)


def set_member(folder: Path, name: str) -> Path:
    """Where a reader finds ``name`` of ``folder``'s set of tables: its staged file while a killed write's journal
    lists it (the new set, not yet renamed), else the file itself. Renames nothing: any reader may call it."""
    tmp = _staged(folder).get(name)
    return tmp if tmp is not None and tmp.exists() else Path(folder) / name
