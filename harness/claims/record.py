"""A claim record (what the report says, the setup, the readings) and a claim's measured result."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from ..stats import Interval
from .verdicts import Verdict


@dataclass(frozen=True)
class Reading:
    """One way of filling in what the report leaves open, with the reason for it."""

    name: str
    choices: dict
    why: str

    def text(self) -> str:
        """The reading in words, with its choices: what a record keeps as ``reading_text``."""
        return self.why + (" (" + ", ".join(f"{k}={v}" for k, v in self.choices.items()) + ")" if self.choices else "")


@dataclass(frozen=True)
class Claim:
    """A claim as a declarative record, loaded from its report folder's ``claims.toml`` (:mod:`harness.claims.catalog`)."""

    id: str
    report: str
    section: str
    statement: str
    metric: str
    unit: str
    claimed: dict
    check: str
    setup: dict
    open_choices: dict
    readings: tuple[Reading, ...]
    tolerance: float | None = None  # a claim's own tolerance (report 000's); CIFAR-10 claims use the policy instead
    printed: dict = field(default_factory=dict)  # quantity -> how the report printed it ('%d', '%.3f'): the policy
    extension: bool = False
    timing: bool = False  # a timing claim: measured and tabled, its verdict never asserted
    control: bool = False  # a positive control: not a claim of a report, but every verdict on its data rests on it
    notes: str = ""
    params: dict = field(default_factory=dict)  # the harness's own thresholds for this check, named
    reachable: tuple[str, ...] = ("REPRODUCED", "NOT REPRODUCED")  # verdicts the judge can honestly reach
    budget: dict = field(default_factory=dict)  # profile -> {epochs, images a class, ...}: what its runs train
    folder: str = ""  # the report folder it was loaded from (its judges.py and pins lie there)

    def budget_for(self, profile: str) -> "Budget":
        """What this claim's runs train under ``profile`` (``"all"`` in the record reads as None: every image)."""
        try:
            raw = self.budget[profile]
        except KeyError:
            raise KeyError(f"{self.id} declares no budget for profile {profile!r} (budget.{profile} in "
                           f"{self.folder or 'its report folder'}/claims.toml); profiles with one: "
                           f"{sorted(self.budget)}") from None
        return Budget(self.id, profile, {k: (None if v == "all" else v) for k, v in raw.items()},
                      f"{self.folder or 'its report folder'}/claims.toml")

    def param(self, name: str):
        """The harness parameter ``name`` of this claim's check; KeyError naming the known ones otherwise."""
        try:
            return self.params[name]
        except KeyError:
            raise KeyError(f"{self.id} has no parameter {name!r}; parameters: {sorted(self.params)}") from None

    def reading(self, name: str) -> Reading:
        """The reading called ``name``; KeyError naming the known ones otherwise."""
        for r in self.readings:
            if r.name == name:
                return r
        raise KeyError(f"{self.id} has no reading {name!r}; readings: {[r.name for r in self.readings]}")


class Budget(dict):
    """A claim's budget under one profile; a missing entry is a KeyError naming the claim and the record."""

    def __init__(self, claim_id: str, profile: str, values: dict, where: str = "its claims.toml"):
        super().__init__(values)
        self.claim_id, self.profile, self.where = claim_id, profile, where

    def __missing__(self, key):
        raise KeyError(f"{self.claim_id} has no budget entry {key!r} under profile {self.profile!r} "
                       f"(budget.{self.profile} in {self.where}); entries: {sorted(self)}")


@dataclass
class ClaimResult:
    """What one claim under one reading measured, and the verdict computed from it."""

    claim_id: str
    reading: str
    verdict: Verdict
    claimed: str  # the report's figure or statement, in words
    measured: str  # the measured headline, in words
    unit: str = ""
    metric: str = ""  # what the headline number is
    parts: list = field(default_factory=list)  # each part's verdict (Part.to_json())
    measurements: dict = field(default_factory=dict)  # what the judge was given: the verdict can be recomputed
    claimed_value: float | None = None
    interval: Interval | None = None
    figures: dict = field(default_factory=dict)  # every other measured figure
    curves: dict = field(default_factory=dict)  # name -> per-seed lists of per-epoch values
    notes: str = ""
    wall_s: float = 0.0
    seeds: list = field(default_factory=list)
    data: str = ""  # the splits and subsets used
    data_form: str = ""  # the form each data set was read from
    data_fingerprint: dict = field(default_factory=dict)  # split -> Source.fingerprint of the files it was read from
    reading_text: str = ""
    stability: dict | None = None  # harness.stability.stability(): how often a replicate gives this verdict
    # Where the claim's training runs came from (None: not recorded): trained by it, loaded from the results cache,
    # or shared with a claim that trained them earlier in the session. Its wall time depends on it.
    runs_trained: int | None = None
    runs_loaded: int | None = None
    runs_shared: int | None = None
    # The report folder of the claim record it was judged against: a command that reads the record finds the claim
    # there, also when the folder is outside the repository ('suites/r002' for the repository's own).
    claim_folder: str = ""

    def to_json(self) -> dict:
        """A JSON-safe dict (NaN as None)."""
        out = asdict(self)
        out["verdict"] = str(self.verdict)
        out["interval"] = None if self.interval is None else {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self.interval).items()}
        return json_safe(out)


def json_safe(value):
    """NaN and infinities as None, numpy scalars and arrays as plain Python, recursively."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_stored(measurements: dict) -> dict:
    """``measurements`` as a record stores them and ``rejudge`` reads them back: NaN as None, numpy as plain Python,
    keys sorted. A session judges this form, so its verdicts and tables are the ones a replay gives (a judge that
    iterates over a dict saw the test's order in the session and the sorted one in a replay)."""
    from ..atomic import json_text

    return json.loads(json_text(json_safe(measurements)))


RUN_SOURCES = (("runs_trained", "trained"), ("runs_loaded", "cached"), ("runs_shared", "shared"))


def runs_text(record: dict) -> str:
    """Where a claim's runs came from, in words: ``trained``, ``cached`` (loaded from the results cache), ``shared``
    (trained earlier in the session for another claim), or counts of each (``2 trained, 1 cached``); '' where the
    record does not say (records from before it was kept) or the claim trains no run."""
    counts = [(record.get(key) or 0, word) for key, word in RUN_SOURCES]
    present = [(n, word) for n, word in counts if n]
    if len(present) == 1:
        return present[0][1]
    return ", ".join(f"{n} {word}" for n, word in present)
