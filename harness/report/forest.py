"""The forest plot of a report: one line per judged figure, the report's claim beside the measured interval.

Each line is a primary part of a claim (the parts that decide its verdict) with an interval: the claimed value and
its tolerance band (a figure, a change), or the region the claim asserts (an ordering: above its margin; a per-seed
rate: above 1/2), drawn beside the measured interval and coloured by the part's verdict. The quantities differ
from line to line (accuracies, differences, losses, rates), so each line has its own scale and prints its numbers
on the right. ``plots/r<report>-forest.png``; the tables show it at the top of the report's section.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from .plots import PLOTS

COLOURS = {"REPRODUCED": "#1a7f37", "NOT REPRODUCED": "#cf222e", "INCONCLUSIVE": "#bf8700", "ARTIFACT": "#8250df"}
_NUMBER = re.compile(r"[-+−]?\d+(?:\.\d+)?")


@dataclass
class Line:
    """One judged figure of the plot."""

    label: str
    verdict: str
    mean: float
    low: float | None
    high: float | None
    band: tuple[float, float] | None  # the claimed region; an end may be infinite (an ordering's margin and up)
    claimed: float | None  # the report's own figure, where it prints one


# About 1100 px wide: GitHub shows it at 980 px, where 8.5 pt at 100 dpi is still some 10 px of text.
TEXT_PT, DPI = 8.5, 100

def forest_name(report: str) -> str:
    """The file name of a report's forest plot under ``plots/``."""
    return f"{'r' + report if report[0].isdigit() else report}-forest.png"


def forest_path(results_dir: Path, report: str) -> Path:
    return Path(results_dir) / PLOTS / forest_name(report)


def _number(text: str) -> float | None:
    match = _NUMBER.search(text or "")
    return None if match is None else float(match.group().replace("−", "-"))


def _claimed_region(part: dict) -> tuple[tuple[float, float] | None, float | None]:
    """The band (or half-line) the part claims, and the report's figure, read from the part's rule and claim."""
    rule = part.get("rule", "")
    band = re.search(r"band \[([-−\d.]+), ([-−\d.]+)\]", rule)
    if band:
        low, high = (float(x.replace("−", "-")) for x in band.groups())
        return (low, high), _number(part.get("claimed", ""))
    margin = re.search(r"margin (-?[\d.]+)", rule)
    if margin:
        return (float(margin.group(1)), math.inf), None
    if rule.startswith("per seed"):
        return (0.5, 1.0), None
    return None, None


def forest_lines(records: list[dict]) -> list[Line]:
    """The lines of a forest plot of ``records`` (in their order): each primary part with a measured interval."""
    lines = []
    for r in records:
        if r["verdict"] == "NOT RUN":
            continue
        claim = r["claim_id"].split(".", 1)[-1]
        for part in r.get("parts") or []:
            iv = part.get("interval")
            if not (part.get("judged", True) and part.get("verdict") and iv and iv.get("mean") is not None):
                continue
            band, claimed = _claimed_region(part)
            # "[1/3] {'model': …}: detector fires" names a grid case by its whole config: its place says enough here
            name = re.sub(r"^(\[\d+/\d+\]) \{.*\}: ", r"\1 ", part["name"])
            name = name if len(name) <= 46 else name[:45] + "…"
            lines.append(Line(f"{claim} [{r['reading']}] {name}", part["verdict"], iv["mean"], iv.get("low"),
                              iv.get("high"), band, claimed))
    return lines


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "∞"


def _numbers(line: Line) -> str:
    measured = _fmt(line.mean) + (f" [{_fmt(line.low)}, {_fmt(line.high)}]" if line.low is not None else "")
    if line.band is None:
        return measured
    claimed = (f"> {_fmt(line.band[0])}" if not math.isfinite(line.band[1])
               else f"[{_fmt(line.band[0])}, {_fmt(line.band[1])}]")
    return f"{measured}  vs  {claimed}"


def plot_forest(lines: list[Line], title: str, path: Path) -> Path:
    """Draw ``lines`` to ``path`` (written whole, then renamed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..atomic import atomic_path

    n = len(lines)
    height = 1.6 + 0.25 * n
    fig, ax = plt.subplots(figsize=(10, height))
    for y, line in enumerate(lines):
        values = [v for v in (line.mean, line.low, line.high, line.claimed) if v is not None and math.isfinite(v)]
        if line.band:
            values += [v for v in line.band if math.isfinite(v)]
        low, high = min(values), max(values)
        pad = (high - low) * 0.08 or abs(high) * 0.1 or 1.0
        low, high = low - pad, high + pad
        if line.band and not math.isfinite(line.band[1]):
            high += (high - low) * 0.15  # room for the half-line's arrow
        scale = lambda v: (min(max(v, low), high) - low) / (high - low)  # noqa: E731
        colour = COLOURS.get(line.verdict, "#57606a")
        ax.plot([0, 1], [y, y], color="#d0d7de", lw=0.6, zorder=0)
        if line.band:
            b0, b1 = scale(line.band[0]), scale(line.band[1])
            ax.fill_betweenx([y - 0.32, y + 0.32], b0, b1, color="#8c959f", alpha=0.35, lw=0, zorder=1)
            if not math.isfinite(line.band[1]):
                ax.annotate("", xy=(1.0, y), xytext=(b0, y), zorder=1,
                            arrowprops=dict(arrowstyle="->", color="#6e7781", lw=0.8))
        if line.claimed is not None:
            ax.plot(scale(line.claimed), y, marker="D", ms=5, color="black", zorder=3)
        if line.low is not None and line.high is not None:
            ax.plot([scale(line.low), scale(line.high)], [y, y], color=colour, lw=2.6, solid_capstyle="butt", zorder=2)
        ax.plot(scale(line.mean), y, marker="o", ms=5, color=colour, mec="white", mew=0.6, zorder=4)
        ax.text(1.02, y, _numbers(line), va="center", fontsize=TEXT_PT, family="monospace", transform=ax.get_yaxis_transform())
    ax.set_yticks(range(n), [line.label for line in lines], fontsize=TEXT_PT)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    fig.suptitle(title, fontsize=TEXT_PT + 1, x=0.01, ha="left")
    handles = [Line2D([], [], color=c, lw=2.6, marker="o", label=v) for v, c in COLOURS.items()
               if any(line.verdict == v for line in lines)]
    handles += [Patch(color="#8c959f", alpha=0.35, label="claimed ± tolerance (or the claimed region)"),
                Line2D([], [], color="black", marker="D", ls="", label="the report's figure")]
    ax.legend(handles=handles, fontsize=TEXT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.6 / height),
              ncol=3, frameon=False)
    fig.subplots_adjust(left=0.37, right=0.8, top=1 - 0.75 / height, bottom=0.65 / height)
    try:
        with atomic_path(path, prefix=".plot.") as tmp:
            fig.savefig(tmp, dpi=DPI, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def write_forests(results_dir: Path, records: list[dict], report_of, profile: str) -> list[Path]:
    """A forest plot for each report of ``records`` with a judged figure; a report without one loses its old one."""
    from .tables import report_title

    written = []
    reports = list(dict.fromkeys(report_of(r) for r in records))
    for report in reports:
        lines = forest_lines([r for r in records if report_of(r) == report])
        path = forest_path(results_dir, report)
        if not lines:
            path.unlink(missing_ok=True)
            continue
        title = (f"{report_title(report)} — {profile} profile: each judged figure's measured interval (coloured by "
                 "its verdict) beside the claim;\neach line on its own scale, its numbers on the right (measured "
                 "[interval] vs claimed band)")
        written.append(plot_forest(lines, title, path))
    return written
