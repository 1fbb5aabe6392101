"""Benchmark session: real data on the device, a registry of throughputs, and results/BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.atomic import write_text_atomic
from harness.data import DataMissing

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


def record_throughput(model: str, variant: str, images_per_round: int, benchmark) -> float:
    """Images per second of a finished benchmark, kept for BENCHMARKS.md."""
    rate = images_per_round / benchmark.stats.stats.mean
    THROUGHPUT[(model, variant)] = rate
    benchmark.extra_info["images_per_s"] = rate
    return rate


def benchmarks_markdown(environment: dict, device) -> str:
    """The table: every throughput, its ratio to the naive baseline of the same model from this run, and its share
    of the device's fp32 FLOP limit."""
    from .flops import device_flop_limit

    limit, how = device_flop_limit(device)
    lines = [
        "# Training throughput", "",
        f"- device: {environment['device']}",
        f"- torch {environment['torch']}, CUDA {environment['cuda']}; commit {environment['commit']}; {environment['date']}",
        "- images per second of training (forward, backward, optimizer step), counted over all ensemble members; "
        "the GPU is synchronized around every timed round",
        f"- allocator: {environment.get('allocator', 'not recorded')} (the baseline's too)",
        "- baseline: the reports' way — a DataLoader over decoded images, fp32, one model at a time, "
        "a host synchronization (`loss.item()`) every step — measured in this same session",
        f"- FLOP limit: {'unknown' if limit is None else f'{limit / 1e9:,.0f} GFLOP/s'} ({how}); a figure's share is "
        "its images/s × the model's forward + backward FLOPs per image (torch's FLOP counter: convolutions and "
        "matmuls) over that limit, fp32 limit for every mode", "",
        "| model | variant | images/s | × baseline | share of FLOP limit |", "| --- | --- | ---: | ---: | ---: |",
    ]
    for (model, variant), rate in sorted(THROUGHPUT.items()):
        base = THROUGHPUT.get((model, "baseline: DataLoader, fp32, 1 model, sync each step"))
        ratio = f"{rate / base:.2f}" if base else "—"
        flops = FLOPS_PER_IMAGE.get(model)
        share = f"{100 * rate * flops / limit:.1f} %" if flops and limit else "—"
        lines.append(f"| {model} | {variant} | {rate:,.0f} | {ratio} | {share} |")
    lines += [""] + [f"- {note}" for note in NOTES]
    return "\n".join(lines) + "\n"


def pytest_sessionfinish(session, exitstatus):
    if THROUGHPUT and not hasattr(session.config, "workerinput"):
        path = ROOT / "results" / "BENCHMARKS.md"
        write_text_atomic(path, benchmarks_markdown(session.config._harness.environment,
                                                    session.config._harness.device))
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(f"claims harness: wrote {path}")
