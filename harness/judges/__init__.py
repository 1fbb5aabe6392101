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
import numpy as np

from ..claims.verdicts import Judgement, Part, figure_part, ordering_part
from ..stats import accuracy_sd

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


def accuracy_part(name: str, values, claimed: float, tolerance: float, n_images: int, digits: int = 1) -> Part:
    """A claimed accuracy in %, judged by the figure rule on the logit scale, with the binomial noise of
    ``n_images`` images as the least spread and one image as the resolution."""
    return figure_part(name, values, claimed, tolerance, "%", digits=digits, bounds=PCT, method="logit-t",
                       resolution=one_image(n_images), sd_floor=accuracy_sd(values, n_images), trials=n_images)


def accuracy_floor(n_images: int, *groups) -> float:
    """The binomial spread (pp) of one accuracy measured on ``n_images`` images, at the groups' mean level."""
    return accuracy_sd(np.concatenate([np.asarray(g, float).ravel() for g in groups]), n_images)


def accuracy_order(name: str, greater, lesser, n_images: int, claimed: str, digits: int = 1) -> Part:
    """The ordering greater > lesser of accuracies (pp) of runs paired by seed, at their resolution and noise."""
    return ordering_part(name, greater, lesser, paired=True, resolution=one_image(n_images), unit="pp",
                         digits=digits, bounds=PP, claimed=claimed, sd_floor=accuracy_floor(n_images, greater, lesser))


from . import control, r000, r002  # noqa: E402,F401  (registers the judges)
