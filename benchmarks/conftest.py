"""Benchmark session: real data on the device, a registry of throughputs, and results/BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.atomic import write_text_atomic
from harness.data import DataMissing

THROUGHPUT: dict[tuple[str, str], float] = {}  # (model, variant) -> images per second
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


def record_throughput(model: str, variant: str, images_per_round: int, benchmark) -> float:
    """Images per second of a finished benchmark, kept for BENCHMARKS.md."""
    rate = images_per_round / benchmark.stats.stats.mean
    THROUGHPUT[(model, variant)] = rate
    benchmark.extra_info["images_per_s"] = rate
    return rate


def benchmarks_markdown(environment: dict) -> str:
    """The table: every throughput, and its ratio to the naive baseline of the same model from this run."""
    lines = [
        "# Training throughput", "",
        f"- device: {environment['device']}",
        f"- torch {environment['torch']}, CUDA {environment['cuda']}; commit {environment['commit']}; {environment['date']}",
        "- images per second of training (forward, backward, optimizer step), counted over all ensemble members; "
        "the GPU is synchronized around every timed round",
        "- baseline: the reports' way — a DataLoader over decoded images, fp32, one model at a time, "
        "a host synchronization (`loss.item()`) every step — measured in this same session", "",
        "| model | variant | images/s | × baseline |", "| --- | --- | ---: | ---: |",
    ]
    for (model, variant), rate in sorted(THROUGHPUT.items()):
        base = THROUGHPUT.get((model, "baseline: DataLoader, fp32, 1 model, sync each step"))
        ratio = f"{rate / base:.2f}" if base else "—"
        lines.append(f"| {model} | {variant} | {rate:,.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


def pytest_sessionfinish(session, exitstatus):
    if THROUGHPUT and not hasattr(session.config, "workerinput"):
        path = ROOT / "results" / "BENCHMARKS.md"
        write_text_atomic(path, benchmarks_markdown(session.config._harness.environment))
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"claims harness: wrote {path}")
