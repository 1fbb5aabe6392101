"""The tolerance policy: how far a measured figure may sit from a report's printed one, for reasons other than noise.

One place for every number of it. A report's figure is one run: its run-to-run noise is not part of the
tolerance, the figure rule adds it from the recipe's measured spread (``harness/claims/verdicts.py``). The
tolerance covers only what noise does not:

- **printed precision**: the interval the printed figure stands for. The PyTorch tutorial's accuracy line, which
  report 002 prints verbatim (``'... test images: %d %%' % (100 * correct / total)``), truncates, so "53 %" means
  a run in [53, 54) %; the report's own Q2 line confirms its figures truncate ("167/178 (93%)" is 93.8 %). Its
  depth table and its "34 to 39%" changes are retyped by hand: that they were read off the same print is a
  reading. A loss printed ``%.3f`` rounds, so "1.716" means [1.7155, 1.7165).
- **known systematic differences**: our CIFAR-10 is the official images re-encoded as JPEG
  (``shared/data/README.md``), loaded by another data loader in another PyTorch release.
  ``SYSTEMATIC`` is the harness's allowance for these, the same for the control and for every claim on the
  same data. Both numbers are assumptions, not measurements: nothing here has the official CIFAR-10 arrays to
  measure the JPEG effect. The control's passing is consistent with them but does not bound them tighter (it would
  pass for offsets up to about ±3 pp). The loss allowance takes the slope of the report's own depth table
  between 3 and 4 layers (0.02 for 3 pp); its other rows give slopes from 0.007 to 0.14 per pp, so it is the
  assumption most able to move a loss part (all of which are beside their claims' primary parts).

A difference of two figures (a gain "34 → 39 %") carries both printed intervals (their half-widths add) and
both systematic allowances, taken as independent (they add in quadrature: √2 × one). That is the wide end: a
systematic effect common to both runs (the JPEG images) cancels in their difference.

A one-run figure can only be checked against a recipe whose runs agree well enough: when the central 95 % of
the recipe's runs spans more than ``RUN_RANGE_LIMIT`` tolerances either side, any figure near it would pass, and
the figure rule says so (INCONCLUSIVE, with the spread) instead of asking for more seeds. Beyond it the rule's
REPRODUCED region (the band within 1.96 σ of the mean) would span more than eight tolerances: figures four
tolerances apart would both "reproduce", which no longer checks the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Allowance for known systematic differences of data and software from the report's, per quantity.
SYSTEMATIC = {
    "accuracy": 2.5,  # pp: JPEG-re-encoded CIFAR-10, another data loader and PyTorch release
    # A loss moves with accuracy: the report's own depth table has 1.411 → 1.391 for 52 → 55 %, about 0.02 for
    # the 2.5 pp above.
    "loss": 0.02,
}
# How each kind of figure was printed: (offset of the interval's centre from the printed value, its half-width).
PRINTED = {
    "%d": (0.5, 0.5),  # truncated to a whole number: "53" is [53, 54)
    "%.0f": (0.0, 0.5),  # rounded to a whole number
    "%.3f": (0.0, 0.0005),  # rounded to 3 decimals
    "%.4f": (0.0, 0.00005),
}
RUN_RANGE_LIMIT = 3.0  # a one-run figure is checkable while 1.96 σ ≤ this many tolerances
ORDERING_MARGIN_PP = 1.0  # an accuracy ordering below 1 pp would not show in figures printed as whole percents


@dataclass(frozen=True)
class Band:
    """What a claimed figure allows: [low, high], its tolerance, and the widest run range still checkable."""

    low: float
    high: float
    tolerance: float  # half-width: printed half-width + systematic allowance
    limit: float  # the largest 1.96 σ (half of the recipe's 95 % run range) at which the figure can be checked
    why: str  # the policy in words, for the table

    @property
    def centre(self) -> float:
        return (self.low + self.high) / 2


def band(quantity: str, printed: str, value: float) -> Band:
    """The band of a figure of ``quantity`` ('accuracy', 'loss') printed as ``printed`` ('%d', '%.3f', ...)."""
    offset, half = _printed(printed)
    tolerance = half + SYSTEMATIC[quantity]
    centre = value + offset
    return Band(centre - tolerance, centre + tolerance, tolerance, RUN_RANGE_LIMIT * tolerance,
                f"printed {printed} (±{half:g}) + systematic ±{SYSTEMATIC[quantity]:g}")


def difference_band(quantity: str, printed: str, greater: float, lesser: float) -> Band:
    """The band of the difference ``greater − lesser`` of two figures printed alike (a claimed change)."""
    offset, half = _printed(printed)
    tolerance = 2 * half + math.sqrt(2.0) * SYSTEMATIC[quantity]
    centre = greater - lesser  # the two offsets cancel
    return Band(centre - tolerance, centre + tolerance, tolerance, RUN_RANGE_LIMIT * tolerance,
                f"difference of two figures printed {printed} (±{2 * half:g}) + systematic "
                f"±{math.sqrt(2.0) * SYSTEMATIC[quantity]:.2f} (√2 × {SYSTEMATIC[quantity]:g})")


def _printed(printed: str) -> tuple[float, float]:
    try:
        return PRINTED[printed]
    except KeyError:
        raise KeyError(f"no printed precision {printed!r} in the tolerance policy; known: {sorted(PRINTED)}") from None


def policy_text() -> str:
    """The policy in words, for README and the table legends."""
    return (f"Tolerance = half the printed precision (a `%d` accuracy \"53 %\" stands for a run in [53, 54) %) + a "
            f"systematic allowance for known differences of data and software (CIFAR-10 as JPEG, another loader and "
            f"release: ±{SYSTEMATIC['accuracy']:g} pp for accuracies, ±{SYSTEMATIC['loss']:g} for losses), the same "
            f"for the control and the claims it guards; a difference of two figures takes both printed half-widths "
            f"and √2 × the allowance. A one-run figure is checkable while the recipe's 95 % run range (±1.96 σ) is "
            f"within {RUN_RANGE_LIMIT:g} tolerances; orderings of accuracies need a difference of at least "
            f"{ORDERING_MARGIN_PP:g} pp (figures printed as whole percents show no smaller one).")
