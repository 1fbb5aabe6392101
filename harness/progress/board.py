"""What each process of a claims session is doing, written where the controller can read it.

pytest-xdist's workers' output never reaches the terminal, so each process (worker, or the single process without
``-n``) keeps two files of its own in the session folder: ``<name>.json``, its state now (test, claim, reading, run,
epoch, loss, accuracy, since when), replaced atomically; and ``<name>.events``, one JSON line per event (a run started,
trained, loaded from the results cache), appended. The controller reads both (:mod:`harness.progress.ticker`).

The harness reports to the board through logging, so that the engine and the session know nothing of it: any record
of the ``harness`` loggers with a ``progress`` attribute (``log.info(..., extra={"progress": {...}})``) updates it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

RUN_STARTED, RUN_TRAINED, RUN_LOADED = "run started", "run trained", "run loaded"  # the events of a run
RUN_EVENTS = (RUN_STARTED, RUN_TRAINED, RUN_LOADED)
EPOCH_FIELDS = ("epoch", "epochs", "loss", "acc", "test_acc")  # what the engine's epoch records set


class ProgressBoard:
    """This process's state and events under ``folder``; :meth:`states` and :class:`EventReader` read everyone's."""

    def __init__(self, folder: Path, name: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.path = self.folder / f"{name}.json"
        self.events_path = self.folder / f"{name}.events"
        self.state: dict = {}

    def _write(self) -> None:
        # Atomically, so that a reader never sees half a state.
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.path)

    def update(self, **fields) -> None:
        """Change some fields of this process's state (``None`` removes one)."""
        self.state.update(fields)
        self.state = {k: v for k, v in self.state.items() if v is not None}
        self._write()

    def start_test(self, nodeid: str) -> None:
        """A new test: its name and start, nothing of the previous one."""
        self.state = {"worker": self.name, "test": nodeid.split("::")[-1], "since": time.time()}
        self._write()

    def idle(self) -> None:
        """Between tests (and after the last one): nothing to show."""
        self.state = {"worker": self.name}
        self._write()

    def event(self, kind: str, **fields) -> None:
        """Append one event, with who had it and the claim being measured; a run's start or end (``RUN_EVENTS``)
        also sets or clears the run in this process's state."""
        keep = {k: self.state[k] for k in ("test", "claim", "reading") if k in self.state}
        now = time.time()
        line = json.dumps({"event": kind, "worker": self.name, "time": now, **keep, **fields})
        # One short append-mode write a line: a reader sees whole lines, or none of the last one yet.
        with open(self.events_path, "a") as out:
            out.write(line + "\n")
        if kind in RUN_EVENTS:
            started = kind == RUN_STARTED
            self.update(**{k: None for k in EPOCH_FIELDS}, run=fields.get("run") if started else None,
                        run_since=now if started else None)

    def states(self) -> list[dict]:
        """Every process's state, by process name (a half-written or vanished file is left out)."""
        out = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                pass
        return out


class EventReader:
    """Every process's events under ``folder`` that :meth:`new` has not returned yet, oldest first."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.offsets: dict[Path, int] = {}

    def new(self) -> list[dict]:
        events = []
        for path in sorted(self.folder.glob("*.events")):
            try:
                with open(path, "rb") as source:
                    source.seek(self.offsets.get(path, 0))
                    chunk = source.read()
            except OSError:
                continue
            whole = chunk[:chunk.rfind(b"\n") + 1]  # a line still being written waits for the next call
            self.offsets[path] = self.offsets.get(path, 0) + len(whole)
            events += [json.loads(line) for line in whole.splitlines() if line.strip()]
        return sorted(events, key=lambda e: e.get("time", 0))


class BoardHandler(logging.Handler):
    """Puts the progress of records that carry one (``extra={"progress": {...}}``) on the board.

    ``{"event": kind, ...}`` appends an event; any other fields update the state.
    """

    def __init__(self, board: ProgressBoard):
        super().__init__(logging.INFO)
        self.board = board

    def emit(self, record: logging.LogRecord) -> None:
        progress = getattr(record, "progress", None)
        if not isinstance(progress, dict):
            return
        try:
            fields = dict(progress)
            kind = fields.pop("event", None)
            if kind is None:
                self.board.update(**fields)
            else:
                self.board.event(kind, **fields)
        except OSError:
            pass  # progress is best effort: a full disk must not fail a claim
