"""The allocator setting: freed blocks stay in the process, the user's MALLOC_* variables win, the header says which."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from harness import allocator
from harness.report.environment import environment
from harness.report.tables import _header

# A fresh process: allocates a 64 MiB tensor, frees it, allocates it again, and prints how many blocks glibc
# serves from mmap (mallinfo2's hblks) with the tensor alive and how much the heap grew for the second one.
MMAPPED_BLOCKS = """
import ctypes, torch
from harness import allocator
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
print(allocator.keep_freed_memory())
before = libc.mallinfo2()
x = torch.ones(16 << 20)
del x
freed = libc.mallinfo2()
x = torch.ones(16 << 20)
print(libc.mallinfo2().hblks - before.hblks, libc.mallinfo2().arena - freed.arena)
"""

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="needs Linux with glibc: this C library has no mallopt or mallinfo2, so the "
                                  "harness leaves its allocator as it comes and there is no setting to check here; "
                                  "run tests/test_allocator.py on a Linux (glibc) machine to check it")


def _run(env_extra: dict) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env_extra
    out = subprocess.run([sys.executable, "-c", MMAPPED_BLOCKS], env=env, capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


@glibc
def test_a_large_tensor_comes_from_the_heap_not_from_mmap():
    said, counts = _run({})
    mmapped, heap_growth = map(int, counts.split())
    assert said.startswith("glibc malloc keeps freed memory")
    assert mmapped == 0 and heap_growth == 0  # the freed block was reused


@glibc
def test_the_users_malloc_variables_win_and_are_named():
    said, counts = _run({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert said == "left as set by MALLOC_TRIM_THRESHOLD_"
    assert counts.split()[0] == "1"  # glibc's own default: a 64 MiB block is mmapped


@pytest.mark.parametrize("env,libc", [({"LD_PRELOAD": "libjemalloc.so.2"}, ("glibc", "2.36")),
                                      ({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0"}, ("glibc", "2.36")),
                                      ({}, ("", ""))])
def test_another_allocator_or_c_library_is_left_alone(env, libc, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(platform, "libc_ver", lambda: libc)
    monkeypatch.setattr(allocator.ctypes, "CDLL", None)  # never loaded: calling it would raise
    monkeypatch.setattr(allocator, "_in_force", allocator.in_force())
    said = allocator.keep_freed_memory()
    assert said == (f"left as set by {next(iter(env))}" if env else allocator.AS_IT_COMES)
    assert allocator.in_force() == said


def test_the_environment_header_names_the_allocator_of_every_record():
    env = environment("smoke", "cpu")
    assert env["allocator"] == allocator.in_force()

    before = {k: v for k, v in env.items() if k != "allocator"}  # as written before the field existed

    def header(*allocators):
        records = [{"environment": {**before, **({"allocator": a} if a else {})}} for a in allocators]
        return [line for line in _header(before, records).splitlines() if line.startswith("- allocator")]

    assert header("A", "A") == ["- allocator: A"]
    assert header("A", "B") == ["- allocator: A; B (records differ)"]
    assert header(None) == []  # records written before the field existed
