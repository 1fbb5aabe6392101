"""The full profile's regression check: a claim's verdict against the set the last full run on its device type pinned.

A pin is the set of verdicts a replicate of the reviewed full run may give (its stability's set,
``harness/stability.py``): a change of rounding or a fresh draw of seeds may move a figure within its
interval and a borderline verdict within that set, never outside it. Kept apart from recording: a record
is written whatever the verdict; this check then fails the test on a verdict outside the set, and warns
loudly when none is pinned.
"""

from __future__ import annotations

import warnings

from ..report.environment import results_name
from . import catalog
from .record import ClaimResult
from .verdicts import Verdict


class UnpinnedVerdict(UserWarning):
    """A full-profile claim ran with no verdict pinned for it: nothing guards its verdict yet."""


def pinned_key(claim_id: str, reading: str) -> str:
    return f"{claim_id}|{reading}"


def check_pinned(result: ClaimResult, where: str, device_type: str = "cpu") -> str | None:
    """Assert that ``result``'s verdict is in the set pinned for ``device_type`` (the session's: a GPU run is held
    to the GPU's reference, never the CPU's); warn and return None when none is pinned.

    Timing claims and NOT RUN rows are never checked. ``where`` names the record for the message.
    """
    if catalog.get(result.claim_id).timing or result.verdict == Verdict.NOT_RUN:
        return None
    pinned = catalog.pinned_verdicts(device_type).get(pinned_key(result.claim_id, result.reading))
    if pinned is None:
        reference = f"results/{results_name('full', device_type)}/claims.csv"
        warnings.warn(UnpinnedVerdict(
            f"{result.claim_id} [{result.reading}] measured {result.verdict} and has no pinned verdict on "
            f"{device_type} ({catalog.folder_of(result.claim_id).pinned_file(device_type)}): the full profile asserts nothing for it "
            f"until `python -m harness claims pin {reference}`"))
        return None
    allowed = [pinned] if isinstance(pinned, str) else list(pinned)
    assert str(result.verdict) in allowed, (
        f"{result.claim_id} [{result.reading}] measured {result.verdict}, outside the pinned set {allowed} (the "
        f"verdicts a replicate of the last full run may give). Row: claimed {result.claimed!r}; measured "
        f"{result.measured!r}. See {where}")
    return pinned


def unpinned(records: list[dict], device_type: str = "cpu") -> list[str]:
    """``id [reading]`` of every record that a full run on ``device_type`` asserts nothing for: none is pinned, or
    its pin holds every verdict the claim can reach (a row so unstable that any verdict is within its set; said)."""
    pins = catalog.pinned_verdicts(device_type)
    out = []
    for r in records:
        claim = catalog.get(r["claim_id"])
        if r["verdict"] == str(Verdict.NOT_RUN) or claim.timing:
            continue
        pin = pins.get(pinned_key(r["claim_id"], r["reading"]))
        pin = [pin] if isinstance(pin, str) else pin  # a pin of one verdict, as first written
        if pin is None:
            out.append(f"{r['claim_id']} [{r['reading']}]")
        elif set(claim.reachable) <= set(pin):
            out.append(f"{r['claim_id']} [{r['reading']}] (pinned to every verdict it can reach: "
                       f"{', '.join(sorted(pin))})")
    return out
