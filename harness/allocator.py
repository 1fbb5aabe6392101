"""Keep freed host memory in the process while a claim trains, instead of handing it back to the OS every batch.

glibc's malloc serves large blocks with ``mmap`` and unmaps them when they are freed, and trims the
top of its heap: a training loop that frees and allocates the same large activations every batch
then page-faults (and the kernel zeroes) those pages anew every step. Report 000's pure-fp16 smoke
test ran 127 s on the project's 2-core machine, 25 s of it system time and 12.9 M page faults;
with every block served from a heap that is not trimmed, 101 s, 1.4 s and 0.4 M. Where a tensor's
bytes live changes no computed value; it changes wall times (timing claims, the cost plan) and what
the process holds: after each test :func:`release_freed_memory` hands free pages back.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# mallopt(3) parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4

SETTINGS = {M_MMAP_MAX: 0,                  # no block from mmap: every one from the heap, reused when freed
            M_TRIM_THRESHOLD: 1 << 30,      # while training, hand the heap's top back only over 1 GiB free
            M_TOP_PAD: 256 << 20}           # grow the heap 256 MiB at a time: fewer brk calls

AS_IT_COMES = "the C library's malloc, as it comes"
_in_force = AS_IT_COMES
_libc = None


def _users_own_allocator() -> list[str]:
    """The environment variables by which the user chose an allocator or its settings (theirs win)."""
    return sorted(k for k, v in os.environ.items()
                  if k.startswith("MALLOC_") or k == "LD_PRELOAD" or (k == "GLIBC_TUNABLES" and "malloc" in v))


def keep_freed_memory() -> str:
    """Tell glibc's malloc to keep freed memory for reuse (see the module's docstring); say what is in force.

    Leaves the allocator as it is where the C library is not glibc, or where the user chose their own
    (``MALLOC_*``, ``GLIBC_TUNABLES`` with malloc tunables, ``LD_PRELOAD`` of another allocator):
    ``MALLOC_TRIM_THRESHOLD_=131072`` restores glibc's default.
    """
    global _in_force, _libc
    own = _users_own_allocator()
    if own:
        _in_force = f"left as set by {', '.join(own)}"
        return _in_force
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        _in_force = AS_IT_COMES
        return _in_force
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        refused = [param for param, value in SETTINGS.items() if libc.mallopt(param, value) != 1]
    except (OSError, AttributeError) as exc:
        _in_force = f"glibc malloc, as it comes (mallopt unavailable: {exc})"
        return _in_force
    _libc = libc
    _in_force = ("glibc malloc keeps freed memory during a test (no mmap blocks, trims over 1 GiB free)"
                 if not refused else f"glibc malloc; mallopt refused parameters {refused}")
    return _in_force


def release_freed_memory() -> None:
    """Hand the free pages of the heap back to the OS (``malloc_trim``): between tests, not between batches."""
    if _libc is not None:
        _libc.malloc_trim(0)


def in_force() -> str:
    """What this process's allocator does with freed memory, for the results' environment header."""
    return _in_force
