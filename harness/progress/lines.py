"""Progress as short plain lines: one per event, one per busy worker, one for the session.

What a CI log shows (and the live view's cells are made of): words and rounded numbers, never a Python repr, each
line at most ``MAX_LINE`` characters, fields in a fixed order so that a script can pick them out.
"""

from __future__ import annotations

import math
import time

from .board import RUN_LOADED, RUN_STARTED, RUN_TRAINED

MAX_LINE = 160


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, an ellipsis saying that it was."""
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def duration(seconds: float) -> str:
    """``seconds`` as a person reads it: 42 s, 3 min 05 s, 1 h 20 min."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def mean(values) -> float | None:
    """The mean of the finite values of one figure over the members (a list or a number); None if there are none."""
    values = values if isinstance(values, list) else [values]
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def figure(value, percent: bool = False) -> str:
    """One figure rounded for a progress line; ``nan`` when every member's is not finite (a NaN run)."""
    m = mean(value)
    if m is None:
        return "nan"
    return f"{100 * m:.1f}%" if percent else f"{m:.3g}"


def claim_words(state: dict) -> str:
    """``r002.tanh_learns [momentum=0]``, or the test's name before (or without) a claim."""
    if "claim" in state:
        return f"{state['claim']} [{state['reading']}]" if state.get("reading") else state["claim"]
    return state.get("test", "")


def epoch_words(state: dict) -> str:
    """``epoch 3/10 loss 1.62 acc 41.2% test 39.8%`` from the engine's last epoch, or '' before the first."""
    if "epoch" not in state:
        return ""
    text = f"epoch {state['epoch']}/{state['epochs']} loss {figure(state.get('loss'))} " \
           f"acc {figure(state.get('acc'), percent=True)}"
    return text + (f" test {figure(state['test_acc'], percent=True)}" if state.get("test_acc") is not None else "")


def worker_line(state: dict, now: float | None = None) -> str | None:
    """One busy worker: ``worker gw1: CLAIM [READING] run 'LABEL' epoch k/n loss L acc A% ELAPSED``; None when idle.

    The elapsed time is the run's when one trains, else the test's.
    """
    if "test" not in state:
        return None
    now = time.time() if now is None else now
    since = state.get("run_since", state.get("since", now))
    head = f"worker {state.get('worker', '?')}: {claim_words(state)}"
    tail = " ".join(x for x in (epoch_words(state), duration(now - since)) if x)
    if "run" not in state:
        return clip(f"{head} {tail}", MAX_LINE)
    room = MAX_LINE - len(head) - len(tail) - len(" run '' ")
    return clip(f"{head} run '{clip(state['run'], max(12, room))}' {tail}", MAX_LINE)


EVENT_WORDS = {RUN_STARTED: "training", RUN_TRAINED: "trained", RUN_LOADED: "loaded from the results cache"}


def event_line(event: dict) -> str:
    """One event: ``gw1: r002.tanh_learns [momentum=0] loaded from the results cache 'LABEL'`` (trained: in N s)."""
    what = EVENT_WORDS.get(event.get("event"), str(event.get("event")))
    head = f"{event.get('worker', '?')}: {claim_words(event)} {what}".replace("  ", " ")
    tail = f" in {duration(event['seconds'])}" if "seconds" in event else ""
    room = MAX_LINE - len(head) - len(tail) - len(" ''")
    return clip(f"{head} '{clip(event.get('run', ''), max(12, room))}'{tail}", MAX_LINE)


def session_line(done: int, total: int, elapsed: float, eta: str = "") -> str:
    """``session: 12 of 50 claim tests done, 3 min 10 s elapsed, ETA about 4 min by the cost plan``."""
    return clip(f"session: {done} of {total} claim tests done, {duration(elapsed)} elapsed" + (f", {eta}" if eta else ""),
                MAX_LINE)
