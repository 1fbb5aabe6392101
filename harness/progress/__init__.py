"""Live progress of a claims session, also under pytest-xdist, whose workers' output never reaches the terminal.

One job a module: ``board`` (what each process does, in files the controller reads), ``labels`` (a run in words),
``lines`` (plain progress lines), ``live`` (the live view on a terminal), ``terminal`` (sharing the terminal with
pytest), ``ticker`` (the controller's thread that reports), ``summary`` (the verdict table at the session's end).
Finished claims reach the controller with their verdict through the test report's ``user_properties``.
"""

from .board import BoardHandler, EventReader, ProgressBoard
from .labels import run_label
from .terminal import Terminal
from .ticker import Ticker

__all__ = ["BoardHandler", "EventReader", "ProgressBoard", "Terminal", "Ticker", "run_label"]
