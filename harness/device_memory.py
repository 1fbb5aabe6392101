"""Giving device memory back: after a test ran out of it, and between tests on a GPU.

An exception keeps its traceback, and the traceback every frame it passed through with their local
variables: the activations, gradients and batches of the step that failed. pytest keeps the exception
after the test (its ``excinfo``, ``sys.last_traceback``), so ``torch.cuda.empty_cache()`` alone
finds those blocks still in use and frees little. :func:`release_exception` clears the finished
frames' locals first; the failure's report is already written by then (pytest formats it from the
live frames before the report hooks see it), so only a debugger started afterwards (``--pdb``) would
see the locals gone.
"""

from __future__ import annotations

import gc

import torch


def release_exception(exc: BaseException | None) -> None:
    """Drop the local variables of every finished frame in ``exc``'s traceback and in those of the exceptions it
    chains (``__cause__``, ``__context__``); frames still running (the caller's) are left as they are."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        _clear_frames(current.__traceback__)
        pending += [current.__cause__, current.__context__]


def _clear_frames(tb) -> None:
    """``traceback.clear_frames``, and the locals dictionary a frame caches once ``f_locals`` is read (pytest's
    traceback formatting reads it): Python 3.11's ``frame.clear()`` leaves that dictionary, and its tensors, in place."""
    while tb is not None:
        frame = tb.tb_frame
        tb = tb.tb_next
        try:
            frame.clear()
        except RuntimeError:  # still running (a caller's frame): its locals are in use
            continue
        try:
            frame.f_locals.clear()
        except (AttributeError, TypeError):  # a write-through proxy (Python 3.13) has nothing cached to clear
            pass


def empty_cache(device: torch.device) -> None:
    """Hand the blocks no tensor uses back to the driver (CUDA's caching allocator keeps them otherwise): a GPU
    shared by several workers then holds what each test needs, not each worker's peak so far. A no-op off CUDA."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


def free_after_out_of_memory(exc: BaseException, device: torch.device) -> None:
    """What a session does after a test ran out of memory: release the failing frames, collect the cycles they were
    in, and empty the device's cache."""
    release_exception(exc)
    gc.collect()
    empty_cache(device)
