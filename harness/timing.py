"""Timing training steps alike on every device: what a step costs, without making the device wait to find out.

On a CPU a step's work is done when its Python returns, and the host clock times it. On a GPU the host
only queues kernels: timing a step by the host clock needs a synchronization after it, which stops
the queue (the next step's launches no longer overlap this step's kernels) and so costs an unpipelined
step each time. Here a CUDA step is stamped with a CUDA event recorded on the device's stream (no
wait), and the events are read once, when the durations are needed: one synchronization for a whole
window of steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU, whose work is done when queued)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Stamp:
    """A moment of a step loop: the host's clock, and on CUDA an event queued on the device's stream."""

    host: float
    event: object | None = None  # torch.cuda.Event, or None on the CPU


class StepClock:
    """Stamps between steps and the device seconds between two stamps."""

    def __init__(self, device: torch.device, host_clock: Callable[[], float] = time.perf_counter):
        self.device = torch.device(device)
        self.host_clock = host_clock

    def stamp(self) -> Stamp:
        """Now: on CUDA the event marks when the device reaches this point of its queue (the host does not wait)."""
        event = None
        if self.device.type == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record(torch.cuda.current_stream(self.device))
        return Stamp(self.host_clock(), event)

    @staticmethod
    def host_seconds(start: Stamp, end: Stamp) -> float:
        """Seconds on the host's clock between two stamps (on CUDA: how fast steps are queued, not run)."""
        return end.host - start.host

    def seconds(self, start: Stamp, end: Stamp) -> float:
        """Seconds the device took from ``start`` to ``end``; on CUDA this waits for ``end`` to be reached (the one
        synchronization of a window: read the last interval first and the others cost nothing)."""
        if end.event is None:
            return end.host - start.host
        end.event.synchronize()
        return start.event.elapsed_time(end.event) / 1e3
