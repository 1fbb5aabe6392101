"""The terminal a session's progress goes to, shared with pytest's own output without garbling either.

The controller's progress thread writes while pytest writes (and, without ``-n``, while a test captures file
descriptor 1, which would swallow anything written to ``sys.stdout``). So the terminal reporter's file is wrapped:
pytest's text passes through it, and progress lines go to a duplicate of that file's descriptor, which capturing
never redirects, each on a line of its own. While the live view (rich) is up, whole lines of both are printed above
it through its console, and pytest's unfinished line waits for its end.
"""

from __future__ import annotations

import os
import threading


class Terminal:
    """A stand-in for the terminal reporter's file (``write``, ``flush``; everything else is the file's), and
    :meth:`line` and :meth:`show` for progress."""

    def __init__(self, file):
        self.file = file
        try:
            self.out = os.fdopen(os.dup(file.fileno()), "w", buffering=1, encoding=getattr(file, "encoding", None))
        except (AttributeError, OSError, ValueError):  # no descriptor (an in-memory file): nothing captures it
            self.out = file
        self.lock = threading.RLock()
        self.at_line_start = True
        self.pending = ""  # pytest's line so far, while the live view is up
        self.live = None

    def __getattr__(self, name):
        return getattr(self.file, name)

    def isatty(self) -> bool:
        return self.file.isatty()

    def write(self, text: str) -> int:
        with self.lock:
            if self.live is None:
                self.file.write(text)
                self.at_line_start = text.endswith("\n") if text else self.at_line_start
                return len(text)
            *whole, self.pending = (self.pending + text).split("\n")
            for line in whole:
                self._print_above(line.rsplit("\r", 1)[-1])  # a carriage return rewrites its line
            return len(text)

    def flush(self) -> None:
        with self.lock:
            if self.live is None:
                self.file.flush()

    def _print_above(self, line: str) -> None:
        from rich.text import Text

        self.live.console.print(Text.from_ansi(line), soft_wrap=True)

    def line(self, text: str) -> None:
        """One progress line, on a line of its own."""
        with self.lock:
            if self.live is not None:
                from rich.text import Text

                self.live.console.print(Text(text), soft_wrap=True)
                return
            self.file.flush()  # pytest's text first, then this line after it
            self.out.write(("" if self.at_line_start else "\n") + text + "\n")
            self.out.flush()
            self.at_line_start = True

    def start_live(self) -> None:
        """Show a live view at the bottom of the terminal, below everything printed from now on."""
        from rich.console import Console
        from rich.live import Live

        with self.lock:
            self.file.flush()
            if not self.at_line_start:
                self.out.write("\n")
            console = Console(file=self.out, force_terminal=True)
            self.live = Live(console=console, auto_refresh=False, transient=True, redirect_stdout=False,
                             redirect_stderr=False)
            self.live.start()

    def show(self, renderable) -> None:
        """Draw the live view with ``renderable``, starting it the first time."""
        with self.lock:
            if self.live is None:
                self.start_live()
            self.live.update(renderable, refresh=True)

    def stop_live(self) -> None:
        """Remove the live view; pytest's unfinished line goes on where it was."""
        with self.lock:
            if self.live is None:
                return
            self.live.stop()
            self.live = None
            self.out.flush()
            if self.pending:
                self.file.write(self.pending)
                self.file.flush()
                self.at_line_start, self.pending = False, ""
            else:
                self.at_line_start = True
