"""The controller's progress thread: events as they come, and what every worker does, live or every so often."""

from __future__ import annotations

import threading
import time

from .board import EventReader, ProgressBoard
from .lines import event_line, worker_line


class Ticker(threading.Thread):
    """Reads the board every ``poll`` seconds until stopped and reports to ``out`` (a :class:`Terminal`, or any
    object with ``line(text)`` and ``show(renderable)``).

    Each event is a line as it is read. ``live``: the live view is redrawn each poll. Otherwise, every ``every``
    seconds, a line per busy worker and the session's line (``session()``); ``every`` 0: events only.
    """

    def __init__(self, board: ProgressBoard, out, every: float, session=lambda: "", live: bool = False,
                 poll: float = 1.0):
        super().__init__(daemon=True, name="harness-progress")
        self.board, self.out, self.every, self.session, self.live = board, out, every, session, live
        self.poll = min(poll, every) if every > 0 else poll
        self.events = EventReader(board.folder)
        self.stopped = threading.Event()

    def run(self) -> None:
        last = time.time()
        while not self.stopped.wait(self.poll):
            due = self.every > 0 and time.time() - last >= self.every
            if due:
                last = time.time()
            try:
                self.tick(periodic=due)
            except Exception:  # noqa: BLE001 — progress is best effort: it must never end the session
                pass
        try:  # what happened since the last poll is still said
            self._events()
        except Exception:  # noqa: BLE001
            pass

    def _events(self) -> None:
        for event in self.events.new():
            self.out.line(event_line(event))

    def tick(self, periodic: bool) -> None:
        """One poll: new events, then the live view or (``periodic``) the plain lines."""
        self._events()
        if self.live:
            from .live import live_view

            session = self.session()
            if session:  # from the end of collection: before it, xdist's workers still write to the terminal
                self.out.show(live_view(self.board.states(), session))
        elif periodic:
            for state in self.board.states():
                line = worker_line(state)
                if line:
                    self.out.line(line)
            session = self.session()
            if session:
                self.out.line(session)

    def stop(self) -> None:
        """End the thread after its last events are said (join it to wait for them)."""
        self.stopped.set()
