"""Judges: pure functions from a claim's measurements to its verdict and table row.

A claim's test *measures* (trains, evaluates) and hands named per-seed measurements
to its judge; the judge decides. Judges import no torch, train nothing and read no
file, so ``tests/test_judges.py`` can drive each with synthetic measurements and show
that every verdict the claim can honestly reach is reachable, and a stored record can
be judged again from its ``measurements``.
"""

from __future__ import annotations

from typing import Callable

from ..claims.record import Claim, Reading
from ..claims.verdicts import Judgement, Part, figure_part

Judge = Callable[[dict, Claim, Reading], Judgement]
JUDGES: dict[str, Judge] = {}


def judge(claim_id: str):
    """Register the decorated function as the judge of ``claim_id``."""
    def register(fn: Judge) -> Judge:
        if claim_id in JUDGES:
            raise ValueError(f"{claim_id} has two judges: {JUDGES[claim_id].__name__} and {fn.__name__}")
        JUDGES[claim_id] = fn
        return fn
    return register


def judge_claim(claim: Claim, reading: Reading, measurements: dict) -> Judgement:
    """The verdict of ``claim`` under ``reading`` from ``measurements``."""
    try:
        fn = JUDGES[claim.id]
    except KeyError:
        raise KeyError(f"{claim.id} has no judge: register one with @judge({claim.id!r}) in harness/judges/") from None
    return fn(measurements, claim, reading)


PCT = (0.0, 100.0)  # the range of an accuracy in %
PP = (-100.0, 100.0)  # the range of a difference of two accuracies in %


def one_image(n_images: int) -> float:
    """The resolution of an accuracy in % measured on ``n_images`` images: one image."""
    return 100.0 / n_images


def accuracy_part(name: str, values, claimed: float, tolerance: float, n_images: int) -> Part:
    """A claimed accuracy in %, judged by the figure rule on the logit scale at the resolution of ``n_images``."""
    return figure_part(name, values, claimed, tolerance, "%", bounds=PCT, method="logit-t",
                       resolution=one_image(n_images))


from . import control, r000, r002  # noqa: E402,F401  (registers the judges)
