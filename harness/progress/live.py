"""The live view of a session on a terminal: a table with one row per busy worker, and the session's line."""

from __future__ import annotations

import time

from .lines import claim_words, duration, figure


def live_view(states: list[dict], session: str, now: float | None = None):
    """A rich renderable of ``states`` (:meth:`ProgressBoard.states`) and the ``session`` line."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    now = time.time() if now is None else now
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", collapse_padding=True)
    # The figures keep their width; the claim and the run's label give way on a narrow terminal.
    for name, kwargs in (("worker", {"min_width": 6}), ("claim [reading]", {"max_width": 34}), ("run", {"max_width": 44}),
                         ("epoch", {"min_width": 5}), ("loss", {"min_width": 5}), ("acc", {"min_width": 6}),
                         ("elapsed", {"min_width": 11})):
        right = {"justify": "right"} if name not in ("worker", "claim [reading]", "run") else {}
        table.add_column(name, no_wrap=True, overflow="ellipsis", **kwargs, **right)
    for state in states:
        if "test" not in state:
            continue  # idle
        epoch = "epoch" in state
        cells = (state.get("worker", "?"), claim_words(state), state.get("run", ""),
                 f"{state['epoch']}/{state['epochs']}" if epoch else "",
                 figure(state.get("loss")) if epoch else "", figure(state.get("acc"), percent=True) if epoch else "",
                 duration(now - state.get("run_since", state.get("since", now))))
        table.add_row(*map(Text, cells))  # as text: a reading's [brackets] are no rich markup
    return Group(table, Text(session, style="bold"))
