"""PNG plots of the per-epoch curves a claim recorded (mean over seeds, band from min to max)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..atomic import atomic_path  # noqa: E402
from .store import _slug, record_path  # noqa: E402

PLOTS = "plots"


def plot_path(results_dir: Path, record: dict) -> Path:
    """Where the plot of ``record`` lives under ``results_dir``."""
    return Path(results_dir) / PLOTS / f"{_slug(record['claim_id'])}__{_slug(record['reading'])}.png"


def plot_record(record: dict, results_dir: Path) -> Path | None:
    """One PNG with a panel per curve family (loss, accuracy, other) of ``record``; None without curves."""
    curves = record.get("curves") or {}
    if not curves:
        return None
    groups: dict[str, list[str]] = {}
    for name in curves:
        kind = ("gradient norm" if name.startswith("grad") else "loss" if "loss" in name
                else "accuracy" if "acc" in name else "other")
        groups.setdefault(kind, []).append(name)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 3.8), squeeze=False)
    for ax, (kind, names) in zip(axes[0], sorted(groups.items())):
        for name in names:
            values = np.asarray(curves[name], dtype=float)
            if values.ndim == 1:
                values = values[None]
            epochs = np.arange(1, values.shape[1] + 1)
            ax.plot(epochs, values.mean(0), marker="o", label=f"{name} (n={values.shape[0]})")
            if values.shape[0] > 1:
                ax.fill_between(epochs, values.min(0), values.max(0), alpha=0.2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and recorded points are whole numbers
        ax.set_xlabel("recorded point (spread over training)" if kind == "gradient norm" else "epoch")
        ax.set_ylabel(kind)
        if kind == "gradient norm":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{record['claim_id']} — {record['reading']}", fontsize=10)
    fig.tight_layout()
    path = plot_path(results_dir, record)
    try:
        with atomic_path(path, prefix=".plot.") as tmp:  # not *.png until whole: no glob of plots sees a half one
            fig.savefig(tmp, dpi=90, format="png")
    finally:
        plt.close(fig)
    return path


def write_plots(results_dir: Path, records: list[dict], keep_newer: bool = False) -> list[Path]:
    """A plot for every record with curves, under ``results_dir/plots``; a record without curves loses its old one.

    ``keep_newer`` (a session's end): a plot newer than its record file is kept as drawn. The session's workers
    draw each claim's plot when they record it, so the end of a session, which runs on one core, redraws only
    what a worker could not. Merging records copied from elsewhere (their times kept) redraws every plot.
    """
    written = []
    for record in records:
        path, source = plot_path(results_dir, record), record_path(results_dir, record["claim_id"], record["reading"])
        if not record.get("curves"):
            path.unlink(missing_ok=True)  # e.g. a claim recorded NOT RUN this time
        elif keep_newer and path.exists() and source.exists() and path.stat().st_mtime_ns >= source.stat().st_mtime_ns:
            written.append(path)
        else:
            written.append(plot_record(record, results_dir))
    return written
