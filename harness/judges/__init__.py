"""Judges: pure functions from a claim's measurements to its verdict and table row; the decorator that registers
them and the helpers they are written with.

A claim's test *measures* (trains, evaluates) and hands named per-seed measurements to its judge; the judge
decides. Each report folder's ``judges.py`` holds its claims' judges (``@judge("r002.tanh_learns")``), imported
when a judge of the folder is first asked for. Judges import no torch, train nothing and read no file, so each
report folder's ``test_judges.py`` can drive them with synthetic measurements (:mod:`harness.judges.testing`) and
show that every verdict the claim can honestly reach is reachable, and a stored record can be judged again from
its ``measurements``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..claims.record import Claim, Reading
import numpy as np

from ..claims.tolerance import ORDERING_MARGIN_PP, band, difference_band
from ..claims.verdicts import Judgement, Part, band_figure_part, effect_part, figure_part, ordering_part

Judge = Callable[[dict, Claim, Reading], Judgement]
JUDGES: dict[str, Judge] = {}




def judge(claim_id: str):
    """Register the decorated function as the judge of ``claim_id`` (in its report folder's ``judges.py``).

    The same function registered again (its module imported a second time) replaces itself, and so does one of a
    folder the catalogue no longer holds; another function for the same claim is a ValueError naming both.
    """
    def register(fn: Judge) -> Judge:
        from ..claims import catalog

        catalog.register_once(JUDGES, claim_id, fn, "judges")
        return fn
    return register


def judge_of(claim: Claim) -> Judge:
    """The judge registered for ``claim`` (its report folder's ``judges.py`` imported first); KeyError naming the
    file to register it in otherwise."""
    from ..claims import catalog

    if claim.folder:
        catalog.load_judges(catalog.folder(claim.id.split(".")[0]))
    try:
        return JUDGES[claim.id]
    except KeyError:
        home = f"{claim.folder}/judges.py" if claim.folder else "its report folder's judges.py"
        raise KeyError(f"{claim.id} has no judge: register one with @judge({claim.id!r}) in {home}") from None


def registered() -> dict[str, Judge]:
    """Every judge of every report folder in the catalogue, by claim id (each folder's ``judges.py`` imported);
    a judge of a folder the catalogue no longer holds (a process that dropped an added folder) is not among them."""
    from ..claims import catalog

    files = set()
    for folder in catalog.folders():
        catalog.load_judges(folder)
        files.add(folder.judges_file.resolve())
    return {cid: fn for cid, fn in JUDGES.items() if Path(catalog.origin(fn)[0]).resolve() in files}


class MeasurementMissing(KeyError):
    """A judge looked up a measurement its claim's test did not give."""

    def __str__(self) -> str:
        return str(self.args[0])


def judge_claim(claim: Claim, reading: Reading, measurements: dict) -> Judgement:
    """The verdict of ``claim`` under ``reading`` from ``measurements``. A judge that looks up a measurement the
    test did not give is a :class:`MeasurementMissing` naming the key, the judge and the keys the test gave (the
    trained runs are kept in the results cache: mending the test or the judge trains nothing again)."""
    from ..claims import catalog

    judge = judge_of(claim)
    try:
        return judge(measurements, claim, reading)
    except KeyError as exc:
        key = exc.args[0] if exc.args else None
        if isinstance(exc, MeasurementMissing) or not isinstance(key, str) or key in measurements or \
                key in claim.claimed or key in claim.params or key in reading.choices:
            raise
        raise MeasurementMissing(
            f"{claim.id} [{reading.name}]: its judge {judge.__qualname__} ({catalog.origin(judge)[0]}) looked up {key!r}, "
            f"which is no measurement its test gave (it gave {sorted(measurements)}): give it in "
            f"claim.conclude({{...}}), or read a key the test gives") from exc


PCT = (0.0, 100.0)  # the range of an accuracy in %
PP = (-100.0, 100.0)  # the range of a difference of two accuracies in %


def one_image(n_images: int) -> float:
    """The resolution of an accuracy in % measured on ``n_images`` images: one image."""
    return 100.0 / n_images


def accuracy_part(name: str, values, claimed: float, tolerance: float, n_images: int, digits: int = 1) -> Part:
    """A claimed accuracy in % ± a tolerance of the claim's own record, by the figure rule (one image the least
    spread, the interval clipped to 0–100 %)."""
    return figure_part(name, values, claimed, tolerance, "%", digits=digits, bounds=PCT, resolution=one_image(n_images))


def policy_accuracy_part(name: str, values, claim: Claim, key: str, n_images: int, chance: float | None = None,
                         digits: int = 1) -> Part:
    """The claimed accuracy ``claim.claimed[key]`` (%) by the figure rule against the tolerance policy's band for
    how the report printed it, judged within the report's mode where seeds split between ``chance`` and learning.

    Every seed and the report were evaluated on one test set, so its sampling noise is shared, not a spread.
    """
    claimed = claim.claimed[key]
    b = band("accuracy", claim.printed["accuracy"], claimed)
    return band_figure_part(name, values, b, f"{claimed:.0f} % (printed {claim.printed['accuracy']})", "%", digits,
                            resolution=one_image(n_images), bounds=PCT, chance=chance)


def policy_loss_part(name: str, values, claim: Claim, key: str, digits: int = 3) -> Part:
    """The claimed loss ``claim.claimed[key]`` by the figure rule against the tolerance policy's band."""
    claimed = claim.claimed[key]
    b = band("loss", claim.printed["loss"], claimed)
    return band_figure_part(name, values, b, f"{claimed:.{digits}f}", "", digits, bounds=(0.0, np.inf))


def policy_change_part(name: str, changed, base, claim: Claim, changed_key: str, base_key: str, n_images: int,
                       chance: float | None = None) -> Part:
    """The claimed change ``claimed[base_key] → claimed[changed_key]`` (pp), by the change rule on paired seeds."""
    c, printed = claim.claimed, claim.printed["accuracy"]
    b = difference_band("accuracy", printed, c[changed_key], c[base_key])
    # The report's two figures, at the centres of the intervals they were printed for, say which mode it saw.
    centres = (band("accuracy", printed, c[changed_key]).centre, band("accuracy", printed, c[base_key]).centre)
    return effect_part(name, changed, base, b, "pp", resolution=one_image(n_images), bounds=PP, chance=chance,
                       claimed_components=centres)


def accuracy_order(name: str, greater, lesser, n_images: int, claimed: str, digits: int = 1,
                   margin: float = ORDERING_MARGIN_PP) -> Part:
    """The ordering greater > lesser of accuracies (pp) of runs paired by seed, by the ordering rule with one
    boundary, ``margin`` (the policy's 1 pp; at least one test image): REPRODUCED when the one-sided 95 % lower bound
    of the mean difference is above it, NOT REPRODUCED when the upper bound is below it."""
    return ordering_part(name, greater, lesser, paired=True, resolution=one_image(n_images), unit="pp",
                         digits=digits, bounds=PP, claimed=claimed, margin=margin)

