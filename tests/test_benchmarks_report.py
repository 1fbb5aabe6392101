"""results/BENCHMARKS.md from made-up benchmark figures (nothing is timed here), and what `pytest --benchmark-only`
collects from the repository's root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.report import CHART, NAIVE, ratio_words, write_benchmarks

ROOT = Path(__file__).resolve().parents[1]
CNN, TEACHER = "r002 CNN, 3 FC (batch 4)", "r000 teacher (batch 64)"
COMPILED = "ensemble forward+backward compiled (torch.compile), fp32, 5 seeds, one batch"  # the longest variant
THROUGHPUT = {
    (CNN, NAIVE): 2500.0, (CNN, "engine, fp32, 5 seeds"): 7750.0, (CNN, "engine, fp16, 5 seeds"): 175.0,
    (CNN, COMPILED): 6860.0, (TEACHER, NAIVE): 177.0, (TEACHER, "5 seeds, ensemble"): 180.0,
}
ENVIRONMENT = {
    "device": "CPU: AMD EPYC (1 threads, kernels AVX512)", "torch": "2.14.1+cu130", "cuda": "13.0",
    "python": "3.11.7", "commit": "0" * 40 + "+dirty", "date": "2026-12-02 10:00 UTC",
    "numerics": {"tf32_matmul": False, "tf32_cudnn": False, "cudnn_deterministic": False, "cudnn_benchmark": False},
    "allocator": "glibc malloc keeps freed memory during a test (no mmap blocks, trims over 1 GiB free)",
}
LIMIT = (83e9, "1 thread(s) × 2.60 GHz × 32 fp32 FLOP per cycle (two 256-bit FMA pipes (AMD runs AVX-512 as two "
               "256-bit halves): 2 × 8 lanes × 2)")


def test_benchmarks_md_has_short_rows_the_ratio_in_words_and_its_chart(tmp_path):
    md, chart = write_benchmarks(tmp_path, THROUGHPUT, {CNN: 3.32e6, TEACHER: 3.1e7},
                                 ["r002 CNN, 3 FC (batch 4), compiled step: torch.compile took 2.7 s"], ENVIRONMENT,
                                 LIMIT, wall_s=336.0)
    text = md.read_text()
    lines = text.splitlines()
    assert max(map(len, lines)) <= 200, max(lines, key=len)
    assert "- device: CPU: AMD EPYC (1 threads, kernels AVX512)" in lines
    assert "- torch 2.14.1+cu130, CUDA 13.0, Python 3.11.7" in lines
    assert "- started: 2026-12-02 10:00 UTC; the session took 6 min" in lines
    # One table per model, the naive loop first, then fastest first; each row says its multiple in words.
    cnn = lines.index(f"## {CNN}")
    assert lines[cnn + 4] == f"| {NAIVE} | 2,500 | the naive loop itself | 10.0 % |"
    assert lines[cnn + 5] == "| engine, fp32, 5 seeds | 7,750 | 3.1 × the naive loop's images/s | 31.0 % |"
    assert lines[cnn + 6].startswith(f"| {COMPILED} | 6,860 | 2.7 × the naive loop's images/s |")
    assert lines[cnn + 7].startswith("| engine, fp16, 5 seeds | 175 | 0.07 × the naive loop's images/s |")
    assert "| 5 seeds, ensemble | 180 | 1.0 × the naive loop's images/s |" in text
    assert "- r002 CNN, 3 FC (batch 4), compiled step: torch.compile took 2.7 s" in lines
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == [CHART] and (md.parent / links[0]) == chart and chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BENCHMARKS.md", CHART]  # no temporary file left


def test_a_model_without_its_naive_loop_says_so():
    assert ratio_words(900.0, None) == "no naive loop in this run"
    assert ratio_words(930.0, 1000.0) == "0.93 × the naive loop's images/s"


def test_benchmark_only_with_no_path_collects_the_benchmarks():
    # testpaths holds only tests/ and suites/; with --benchmark-only and no path the root conftest collects
    # benchmarks/ instead of skipping every test. Collecting trains and times nothing.
    # Not as an xdist worker (the README's -n 4 runs this test in one): pytest-benchmark reads the worker's
    # environment and would turn itself off, refusing --benchmark-only.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "--benchmark-only", "-q", "-p",
                           "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids and all(i.startswith("benchmarks/test_throughput.py::") for i in ids), done.stdout
    assert any("test_naive_baseline" in i for i in ids)


def test_a_ratio_is_rounded_before_its_format_is_chosen():
    from benchmarks.report import multiple

    assert [multiple(r) for r in (0.997, 1.03, 0.93, 0.07, 3.94)] == ["1.0", "1.0", "0.93", "0.07", "3.9"]
