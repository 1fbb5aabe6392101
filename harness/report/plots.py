"""PNG plots of the per-epoch curves a claim recorded (mean over seeds, band from min to max, the report's figures
marked)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..atomic import atomic_path  # noqa: E402
from .labels import curve_label  # noqa: E402
from .store import _slug, record_path  # noqa: E402

PLOTS = "plots"


def plot_path(results_dir: Path, record: dict) -> Path:
    """Where the plot of ``record`` lives under ``results_dir``."""
    return Path(results_dir) / PLOTS / f"{_slug(record['claim_id'])}__{_slug(record['reading'])}.png"


def _kind(name: str) -> str:
    return ("gradient norm" if name.startswith("grad") else "loss" if "loss" in name
            else "accuracy" if "acc" in name else "other")


def plot_record(record: dict, results_dir: Path) -> Path | None:
    """One PNG with a panel per curve family (loss, accuracy, other) of ``record``; None without curves.

    Each curve is the mean over seeds with the seeds' min–max band, named in the report's words
    (``harness/report/labels.py``); the report's own figures are marked on the curve of that quantity, where the
    claim record gives them. Accuracies are drawn in %, as the report prints them.
    """
    from ..claims import catalog

    curves = record.get("curves") or {}
    if not curves:
        return None
    try:
        claimed = catalog.get(record["claim_id"]).claimed
    except KeyError:
        claimed = {}
    groups: dict[str, list[str]] = {}
    for name in curves:
        groups.setdefault(_kind(name), []).append(name)
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.6), squeeze=False)
    marked, seeds = False, set()
    for ax, (kind, names) in zip(axes[0], sorted(groups.items())):
        for i, name in enumerate(names):
            values = np.asarray(curves[name], dtype=float)
            if values.ndim == 1:
                values = values[None]
            if kind == "accuracy" and np.nanmax(np.abs(values), initial=0) <= 1.0:
                values = values * 100  # fractions as the report's percents
            label, figures = curve_label(record["claim_id"], name, record.get("reading", ""))
            epochs = np.arange(1, values.shape[1] + 1)
            colour = f"C{i % 10}"
            seeds.add(values.shape[0])
            ax.plot(epochs, np.nanmean(values, 0), marker="o", ms=3, color=colour, label=label)
            if values.shape[0] > 1:
                ax.fill_between(epochs, np.nanmin(values, 0), np.nanmax(values, 0), color=colour, alpha=0.18, lw=0)
            for epoch, key in figures.items():
                if key not in claimed:
                    continue
                x = len(epochs) if epoch == "last" else int(epoch)
                if 1 <= x <= len(epochs):
                    ax.plot(x, claimed[key], marker="*", ms=11, color=colour, mec="black", mew=0.6, ls="")
                    ax.annotate(f"{claimed[key]:g}", (x, claimed[key]), textcoords="offset points", xytext=(6, 3),
                                fontsize=7)
                    marked = True
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs and recorded points are whole numbers
        ax.set_xlabel("recorded point (spread over training)" if kind == "gradient norm" else "epoch")
        ax.set_ylabel("accuracy (%)" if kind == "accuracy" else kind)
        if kind == "gradient norm":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    n = "/".join(str(k) for k in sorted(seeds))
    title = f"{record['claim_id']} — {record['reading']}: mean of {n} seeds" + (
        ", band: their min–max" if max(seeds) > 1 else "") + ("; ★ the report's figure" if marked else "")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = plot_path(results_dir, record)
    try:
        with atomic_path(path, prefix=".plot.") as tmp:  # not *.png until whole: no glob of plots sees a half one
            fig.savefig(tmp, dpi=90, format="png", bbox_inches="tight")  # long titles whole
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
