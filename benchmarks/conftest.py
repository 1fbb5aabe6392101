"""Benchmark session: real data on the device, a registry of throughputs, and results/BENCHMARKS.md with its chart."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.data import DataMissing

from .flops import device_flop_limit
from .report import write_benchmarks

THROUGHPUT: dict[tuple[str, str], float] = {}  # (model, variant) -> images per second
FLOPS_PER_IMAGE: dict[str, float] = {}  # model -> forward + backward FLOPs of one training image
NOTES: list[str] = []  # what a variant costs besides its steps (compile time), said under the table
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bench_data(harness):
    """Real training images on the device: CIFAR-10 and Tiny ImageNet subsets (skips with the import command)."""
    try:
        return {
            "cifar10": harness.device_data("cifar10", "train", per_class=harness.pick(smoke=100, full=1000)),
            "tiny-imagenet": harness.device_data("tiny-imagenet", "train", per_class=harness.pick(smoke=2, full=50)),
        }
    except DataMissing as exc:
        pytest.skip(str(exc))


def record_throughput(model: str, variant: str, images_per_round: int, benchmark,
                      step_seconds: list[float] | None = None) -> float | None:
    """Images per second of a finished benchmark, kept for BENCHMARKS.md; None when pytest-benchmark is off.

    ``step_seconds``: the training steps' own seconds of each round, warm-up first (the engine's
    ``TrainResult.seconds``), where a round also builds its members and uploads them: the rate is then the
    steps' alone, like the baseline's, whose round excludes building its network. Else the rounds' wall time.
    It is off under pytest-xdist (``-n``) and with ``--benchmark-disable``: each benchmark then runs its round once,
    untimed, as a plain test of the code it measures, and records no figure.
    """
    if benchmark.disabled:
        return None
    rounds = benchmark.stats.stats.rounds
    seconds = (sum(step_seconds[-rounds:]) / rounds) if step_seconds else benchmark.stats.stats.mean
    rate = images_per_round / seconds
    THROUGHPUT[(model, variant)] = rate
    benchmark.extra_info["images_per_s"] = rate
    return rate


def pytest_sessionfinish(session, exitstatus):
    if THROUGHPUT and not hasattr(session.config, "workerinput"):
        h = session.config._harness
        written = write_benchmarks(ROOT / "results", THROUGHPUT, FLOPS_PER_IMAGE, NOTES, h.environment,
                                   device_flop_limit(h.device), wall_s=time.time() - h.started)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"claims harness: wrote {', '.join(map(str, written))}")
