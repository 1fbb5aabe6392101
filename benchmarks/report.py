"""results/BENCHMARKS.md and its bar chart: each variant's training throughput against the reports' naive loop.

Pure functions of the figures a benchmark session collected (``benchmarks/conftest.py`` holds them), so that
``tests/test_benchmarks_report.py`` checks the writer on made-up figures without timing anything.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness.atomic import atomic_path, write_text_atomic  # noqa: E402
from harness.plan import hours  # noqa: E402

NAIVE = "naive loop: DataLoader, fp32, 1 model, sync each step"  # the variant every other one is measured against
MARKDOWN = "BENCHMARKS.md"
CHART = "benchmarks.png"  # beside BENCHMARKS.md, so its link is the bare name
WIDTH = 120  # header bullets wrap here; table rows stay one line each (the variant names are short)


def ratio_words(rate: float, naive: float | None) -> str:
    """``rate`` against the naive loop's images/s, as a reader says it: '1.9 × the naive loop's images/s'."""
    if not naive:
        return "no naive loop in this run"
    return f"{multiple(rate / naive)} × the naive loop's images/s"


def multiple(ratio: float) -> str:
    """A ratio for the table and the chart: one decimal from 1 up, two below (0.93 and 0.07 say as much as 1.9);
    rounded before the format is chosen, so that 0.997 reads 1.0 beside 1.03's 1.0."""
    return f"{ratio:.1f}" if round(ratio, 1) >= 1 else f"{ratio:.2f}"


def _by_model(throughput: dict[tuple[str, str], float]) -> dict[str, list[tuple[str, float]]]:
    """Each model's variants, the naive loop first, then fastest first (the order of the tables and the chart)."""
    models: dict[str, list[tuple[str, float]]] = {}
    for (model, variant), rate in throughput.items():
        models.setdefault(model, []).append((variant, rate))
    return {model: sorted(rows, key=lambda row: (row[0] != NAIVE, -row[1])) for model, rows in sorted(models.items())}


def _bullet(text: str) -> str:
    """A markdown list item wrapped at WIDTH, its continuation lines indented so they stay in the item."""
    return textwrap.fill(f"- {text}", width=WIDTH, subsequent_indent="  ", break_on_hyphens=False)


def benchmarks_markdown(throughput: dict[tuple[str, str], float], flops_per_image: dict[str, float],
                        notes: list[str], environment: dict, flop_limit: tuple[float | None, str],
                        wall_s: float | None = None, chart: str | None = CHART) -> str:
    """BENCHMARKS.md: the environment, then per model a table of every variant's images/s, that figure in words
    against the naive loop of the same model and session, and its share of the device's fp32 FLOP limit.

    ``throughput``: (model, variant) → images/s; ``flops_per_image``: model → training FLOPs of one image;
    ``flop_limit``: (FLOP/s or None, how it was computed); ``chart``: the bar chart's file beside it, or None.
    """
    limit, how = flop_limit
    header = [
        f"device: {environment['device']}",
        f"torch {environment['torch']}, CUDA {environment['cuda']}, Python {environment['python']}",
        f"commit: {environment['commit']}",
        # The environment's date is the session's start (its header is made then), not when this file is written.
        f"started: {environment['date']}" + (f"; the session took {hours(wall_s)}" if wall_s is not None else ""),
        # Other work on a shared machine slows every row: the load says how busy it was (compare within a session).
        f"machine load when written: {os.getloadavg()[0]:.1f} (1-minute load average) on {os.cpu_count()} cores; "
        "each figure is one pytest-benchmark measurement, comparable with the other rows of this session",
        "numerics: " + ", ".join(f"{k} {v}" for k, v in environment.get("numerics", {}).items()),
        f"allocator (every variant's, the naive loop's too): {environment.get('allocator', 'not recorded')}",
        "measured: images per second of training (forward, backward, optimizer step), counted over all ensemble "
        "members; the GPU is synchronized around every timed round",
        "the naive loop: the reports' way, measured in this same session: a DataLoader over decoded images, fp32, "
        "one model at a time, a host synchronization (`loss.item()`) every step; every row says its images/s as a "
        "multiple of that loop's for the same model",
        f"FLOP limit: {'unknown' if limit is None else f'{limit / 1e9:,.0f} GFLOP/s'} ({how})",
        "share of the FLOP limit: images/s × the model's forward + backward FLOPs per image (torch's FLOP counter: "
        "convolutions and matmuls) over that limit; the fp32 limit for every mode",
    ]
    lines = ["# Training throughput", "", *map(_bullet, header), ""]
    if chart:
        lines += [f"![Training images per second of each variant, one panel per model; the naive loop in grey]"
                  f"({chart})", ""]
    for model, rows in _by_model(throughput).items():
        naive = throughput.get((model, NAIVE))
        flops = flops_per_image.get(model)
        lines += [f"## {model}", "", "| variant | images/s | against the naive loop | share of FLOP limit |",
                  "| --- | ---: | --- | ---: |"]
        for variant, rate in rows:
            words = "the naive loop itself" if variant == NAIVE else ratio_words(rate, naive)
            share = f"{100 * rate * flops / limit:.1f} %" if flops and limit else "—"
            lines.append(f"| {variant} | {rate:,.0f} | {words} | {share} |")
        lines.append("")
    lines += [_bullet(note) for note in notes]
    return "\n".join(lines).rstrip("\n") + "\n"


def plot_throughput(throughput: dict[tuple[str, str], float], path: Path) -> Path:
    """A horizontal bar chart of images/s per variant, one panel per model (their images/s differ by an order of
    magnitude), each bar labelled with its figure and its multiple of the naive loop; written atomically."""
    models = _by_model(throughput)
    heights = [len(rows) for rows in models.values()]
    fig, axes = plt.subplots(len(models), 1, figsize=(9.8, 0.9 + 0.34 * sum(heights) + 0.6 * len(models)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (model, rows) in zip(axes[:, 0], models.items()):
        naive = throughput.get((model, NAIVE))
        names, rates = [variant for variant, _ in rows], [rate for _, rate in rows]
        ax.barh(range(len(rows)), rates, color=["0.6" if name == NAIVE else "tab:blue" for name in names])
        ax.set_yticks(range(len(rows)), names, fontsize=7)
        ax.invert_yaxis()  # the naive loop on top, as in the table
        for i, (name, rate) in enumerate(rows):
            label = f"{rate:,.0f}" + ("" if name == NAIVE or not naive else f"  ({multiple(rate / naive)} ×)")
            ax.text(rate, i, " " + label, va="center", fontsize=7)
        ax.set_xlim(0, max(rates) * 1.25)  # room for the labels right of the longest bar
        ax.set_title(model, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("training images per second (all ensemble members)")
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return Path(path)


def write_benchmarks(results_dir: Path, throughput: dict[tuple[str, str], float], flops_per_image: dict[str, float],
                     notes: list[str], environment: dict, flop_limit: tuple[float | None, str],
                     wall_s: float | None = None) -> list[Path]:
    """The chart, then BENCHMARKS.md that links it (each written atomically: a reader never sees half a file, and
    the new table never links a chart not yet there). Returns both paths."""
    results_dir = Path(results_dir)
    chart = plot_throughput(throughput, results_dir / CHART)
    markdown = write_text_atomic(results_dir / MARKDOWN, benchmarks_markdown(
        throughput, flops_per_image, notes, environment, flop_limit, wall_s=wall_s, chart=chart.name))
    return [markdown, chart]
