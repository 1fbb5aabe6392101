"""What report 002's measuring tests share."""

from __future__ import annotations


def pct(values) -> list[float]:
    """Fractions to percent."""
    return [100.0 * float(v) for v in values]
