"""The verdict table of a session's end, for pytest's terminal summary: one narrow line per claim it ran."""

from __future__ import annotations

from .lines import clip

WIDTH = 120  # a terminal's summary stays readable at this width, and in a CI log
COLUMNS = (("claim", 28), ("reading", 18), ("verdict", 14), ("wall", 25))  # the headline (a figure, its interval and kind) takes what is left


def verdict_table(results: list[dict], width: int = WIDTH) -> list[str]:
    """``results`` (each with claim, reading, verdict, headline, wall) as aligned lines at most ``width`` wide."""
    if not results:
        return []
    sizes = [min(cap, max(len(name), *(len(str(r.get(name, ""))) for r in results))) for name, cap in COLUMNS]
    headline = max(10, width - sum(sizes) - 2 * len(sizes))

    def row(cells: list[str]) -> str:
        text = "  ".join(clip(c, n).ljust(n) for c, n in zip(cells, sizes))
        return clip(f"{text}  {cells[-1]}", width).rstrip()

    lines = [row([name for name, _ in COLUMNS] + ["headline"]), row(["-" * n for n in sizes] + ["-" * 8])]
    for r in results:
        lines.append(row([str(r.get(name, "")) for name, _ in COLUMNS] + [clip(str(r.get("headline", "")), headline)]))
    return lines
