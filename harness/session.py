"""What a pytest session of claim tests shares: profile, seeds, device, data, and the record of each claim.

A suite test reads like this::

    @for_each_reading("r002.tanh_learns")
    def test_tanh_learns(harness, reading):
        run = harness.start("r002.tanh_learns", reading)
        train = run.data("cifar10", "train", per_class=harness.pick(smoke=200, full=None))
        ...
        run.finish(verdict, claimed=..., measured=..., interval=...)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from filelock import FileLock

from .claims import ClaimResult, Verdict, catalog
from .claims.record import Reading
from .data import DataMissing, DeviceData, load_images
from .data.cache import fingerprint
from .report import record_path, write_record
from .report.tables import format_interval

log = logging.getLogger("harness")

PROFILE_SEEDS = {"smoke": 2, "full": 5}

# Per-channel normalization of each data set: CIFAR-10 as the tutorial (0.5, 0.5);
# Tiny ImageNet with ImageNet's statistics (a reading the claims record).
NORMALIZATION = {
    "cifar10": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "tiny-imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def for_each_reading(claim_id: str, only: list[str] | None = None):
    """Parametrize a test over the readings of ``claim_id`` (test ids are the reading names)."""
    readings = [r for r in catalog.get(claim_id).readings if only is None or r.name in only]
    return pytest.mark.parametrize("reading", readings, ids=[r.name for r in readings])


@dataclass
class Harness:
    """Session-wide settings of the claim suites (built by conftest.py from the command line)."""

    profile: str
    seeds: list[int]
    device: torch.device
    data_root: Path
    results_dir: Path
    environment: dict
    memo_dir: Path | None = None
    _data: dict = field(default_factory=dict, repr=False)

    @property
    def full(self) -> bool:
        """True in the full profile (the report's budgets, verdicts asserted)."""
        return self.profile == "full"

    def pick(self, smoke, full):
        """The value for the current profile."""
        return full if self.full else smoke

    def memo(self, key, compute):
        """``compute()`` once per session for ``key``: claims that share a training run share it.

        With a session folder (set by conftest.py, shared by all pytest-xdist workers) the
        first worker to need a result computes it under a file lock and stores it; the
        others load it. ``key`` must name everything the result depends on, by value.
        """
        memo = self._data.setdefault("__memo__", {})
        if key in memo:
            return memo[key]
        if self.memo_dir is None:
            memo[key] = compute()
            return memo[key]
        path = Path(self.memo_dir) / f"{fingerprint(key)[:32]}.pt"
        with FileLock(str(path) + ".lock"):
            if path.exists():
                memo[key] = torch.load(path, weights_only=False, map_location=self.device)
            else:
                memo[key] = compute()
                tmp = path.with_suffix(".tmp")
                torch.save(memo[key], tmp)
                tmp.replace(path)
        return memo[key]

    def start(self, claim_id: str, reading: Reading) -> "ClaimRun":
        """Begin measuring ``claim_id`` under ``reading``; the wall clock starts now."""
        return ClaimRun(self, catalog.get(claim_id), reading)

    def device_data(self, dataset: str, split: str, per_class: int | None = None,
                    select_classes: list[int] | None = None, limit: int | None = None, seed: int = 0) -> DeviceData:
        """A split decoded (once per worker) and put on the device; DataMissing if absent.

        ``select_classes`` keeps only those classes, relabelled 0..k-1; ``limit`` keeps
        the first images of each kept class (both after the class-balanced subset).
        """
        key = (dataset, split, per_class, tuple(select_classes or ()), limit, seed)
        if key not in self._data:
            images = load_images(dataset, split, self.data_root, per_class=per_class, seed=seed)
            x, y = images.images, images.labels
            if select_classes is not None:
                lut = np.full(images.num_classes, -1)
                lut[select_classes] = np.arange(len(select_classes))
                keep = lut[y] >= 0
                x, y = x[keep], lut[y[keep]]
            if limit is not None:
                idx = np.sort(np.concatenate([np.flatnonzero(y == c)[:limit] for c in np.unique(y)]))
                x, y = x[idx], y[idx]
            mean, std = NORMALIZATION[dataset]
            data = DeviceData((x, y), self.device, mean, std)
            subset = images.subset + (f", classes {select_classes}" if select_classes else "") + (
                f", first {limit} per class" if limit else "")
            data.description = f"{dataset}/{split}: {len(y)} images ({subset})"
            data.form = f"{dataset} from {images.form}"
            self._data[key] = data
        return self._data[key]


class ClaimRun:
    """One claim under one reading being measured; ``finish`` computes nothing, it records."""

    def __init__(self, harness: Harness, claim, reading: Reading):
        self.harness = harness
        self.claim = claim
        self.reading = reading
        self.started = time.perf_counter()
        self.data_used: list[str] = []
        self.forms: list[str] = []

    @property
    def choices(self) -> dict:
        """The reading's choices (what it fills in where the report is silent)."""
        return self.reading.choices

    def data(self, dataset: str, split: str, **kwargs) -> DeviceData:
        """Like :meth:`Harness.device_data`, but a missing data set records NOT RUN and skips the test."""
        try:
            data = self.harness.device_data(dataset, split, **kwargs)
        except DataMissing as exc:
            self.finish(Verdict.NOT_RUN, claimed=self.claim.statement, measured="—",
                        notes=f"{exc.dataset} missing under {exc.where}; get it with: {exc.hint}")
            pytest.skip(f"{self.claim.id}: {exc}")
        self.data_used.append(data.description)
        self.forms.append(data.form)
        return data

    def finish(self, verdict: Verdict, *, claimed: str, measured: str, interval=None, figures: dict | None = None,
               curves: dict | None = None, notes: str = "", seeds: list[int] | None = None,
               claimed_value: float | None = None) -> ClaimResult:
        """Record the claim's result atomically; in the full profile, compare with the pinned verdict."""
        reading_text = self.reading.why + (
            " (" + ", ".join(f"{k}={v}" for k, v in self.reading.choices.items()) + ")" if self.reading.choices else "")
        result = ClaimResult(
            claim_id=self.claim.id, reading=self.reading.name, verdict=Verdict(verdict), claimed=claimed,
            measured=measured, unit=self.claim.unit, claimed_value=claimed_value, interval=interval,
            figures=figures or {}, curves=curves or {}, notes=" ".join(x for x in (notes, self.claim.notes) if x),
            wall_s=time.perf_counter() - self.started, seeds=list(self.harness.seeds if seeds is None else seeds),
            data="; ".join(dict.fromkeys(self.data_used)), data_form="; ".join(dict.fromkeys(self.forms)),
            reading_text=reading_text,
        )
        write_record(self.harness.results_dir, result, self.harness.environment)
        log.info("%s [%s]: %s — %s", self.claim.id, self.reading.name, result.verdict, measured)
        if self.harness.full and not self.claim.timing and verdict != Verdict.NOT_RUN:
            pinned = catalog.pinned_verdicts().get(f"{self.claim.id}|{self.reading.name}")
            if pinned is not None:
                assert str(result.verdict) == pinned, (
                    f"{self.claim.id} [{self.reading.name}] measured {result.verdict}, the last full run "
                    f"measured {pinned}. Row: claimed {claimed!r}; measured {measured!r}; "
                    f"{format_interval(result.to_json())}. See {record_path(self.harness.results_dir, self.claim.id, self.reading.name)}"
                )
        return result
