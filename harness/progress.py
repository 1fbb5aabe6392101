"""Live progress of a claims session, also under pytest-xdist, whose workers' output never reaches the terminal.

Each process writes one line of what it is doing (the test, then each epoch the engine logs) to a file of
its own in the session folder; the controller prints all of them every so often, with the elapsed time.
Finished claims reach the controller with their verdict through the test report's ``user_properties``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path


class ProgressBoard:
    """One line a process under ``folder``: what it runs now."""

    def __init__(self, folder: Path, name: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{name}.txt"
        self.name = name
        self.test = ""

    def set(self, text: str) -> None:
        """Replace this process's line (atomically, so a reader never sees half of one)."""
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.path)

    def start_test(self, nodeid: str) -> None:
        self.test = nodeid.split("::")[-1]
        self.set(f"{self.test}: starting")

    def lines(self) -> list[str]:
        """Every process's line, by process name."""
        return [f"[{p.stem}] {p.read_text()}" for p in sorted(self.folder.glob("*.txt"))]


class BoardHandler(logging.Handler):
    """Puts each progress message of the training engine on the board, after the running test's name."""

    def __init__(self, board: ProgressBoard):
        super().__init__(logging.INFO)
        self.board = board

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.board.set(f"{self.board.test}: {record.getMessage()}"[:300])
        except OSError:
            pass  # progress is best effort: a full disk must not fail a claim


class Ticker(threading.Thread):
    """Prints the board every ``every`` seconds until stopped (controller side)."""

    def __init__(self, board: ProgressBoard, write, every: float, eta=lambda: ""):
        super().__init__(daemon=True)
        self.board, self.write, self.every, self.eta = board, write, every, eta
        self.started = time.time()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            elapsed = time.time() - self.started
            lines = self.board.lines()
            if lines:
                self.write(f"progress after {elapsed / 60:.0f} min{self.eta()}: " + " | ".join(lines))

    def stop(self) -> None:
        self.stopped.set()
