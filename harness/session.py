"""What a pytest session of claim tests shares: profile, seeds, device, data, and the record of each claim.

A suite test measures the claim under one of its readings (its ``claim`` fixture), then hands the measurements to
the claim's judge::

    @for_each_reading("r002.tanh_learns")
    def test_tanh_learns(claim):
        result = claim.run("tanh")  # declared in suites/r002/runs.py (harness.runs)
        ...
        claim.conclude({"test_acc": [...], "n_test": 10000, ...})
"""

from __future__ import annotations

import inspect
import json
import logging
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import torch

from .claims import ClaimResult, Verdict, catalog
from .claims.pinned import check_pinned
from .claims.record import Reading, as_stored
from .data import DataMissing, DeviceData, load_images, select
from .data.device_data import NORMALIZATION
from .data.errors import PartialDataWarning
from .data.sources import RESTORE_HINT
from .judges import judge_claim
from .plan import Plan
from .report import record_path, write_record
from .report.plots import plot_record
from .runcode import Caller
from .runs import Run, declared, spread_steps
from .runstore import RunStore
from .train import Ensemble, TrainResult, steps_per_epoch
from .stability import stability

log = logging.getLogger("harness")

PROFILE_SEEDS = {"smoke": 2, "full": 5}


def for_each_reading(claim_id: str, only: list[str] | None = None):
    """Parametrize a test over the readings of ``claim_id`` (test ids are the reading names), and mark it as the
    claim's test (``claim`` mark: the plugin checks its judge at collection, :mod:`harness.shards` its family); the
    test asks for the ``claim`` fixture, the claim under that reading being measured (:class:`ClaimMeasurement`).

    ``only`` keeps those readings; a name the record does not have is a KeyError naming its readings (at import,
    so at collection), never a test silently left out.
    """
    claim = catalog.get(claim_id)
    readings = list(claim.readings) if only is None else [claim.reading(name) for name in only]

    def mark(fn):
        fn = pytest.mark.claim(claim_id)(fn)
        # Indirect: the plugin's ``reading`` fixture hands it on, and its ``claim`` fixture measures the claim under it.
        return pytest.mark.parametrize("reading", readings, ids=[r.name for r in readings], indirect=True)(fn)
    return mark


@dataclass
class Harness:
    """What the claim tests of a session share (built by the plugin from the command line): the profile, data and
    results folder, and the run store their training runs come from, which holds the seeds, device and
    environment (one copy: the runs are trained on what the tables say)."""

    profile: str
    data_root: Path
    results_dir: Path
    runs: RunStore  # every training run: keys, the session's memo, the results cache, the time budget, the plan
    require_data: bool = False  # a missing data set fails the session instead of skipping the claim
    running: "ClaimMeasurement | None" = None  # the claim the current test measures (its NOT RUN record: memory, time budget)
    _data: dict = field(default_factory=dict, repr=False)  # decoded data sets on the device, once a process

    @property
    def seeds(self) -> list[int]:
        """The seeds every claim runs (``--seeds``, ``--first-seed``)."""
        return self.runs.seeds

    @property
    def device(self) -> torch.device:
        """The device every run trains on."""
        return self.runs.device

    @property
    def environment(self) -> dict:
        """The session's environment header (device, torch, commit, ...)."""
        return self.runs.environment

    @property
    def full(self) -> bool:
        """True in the full profile (the report's budgets, verdicts asserted)."""
        return self.profile == "full"

    def pick(self, smoke, full):
        """The value for the current profile."""
        return full if self.full else smoke

    @property
    def planner(self) -> Plan | None:
        """The plan being made (plan mode: runs costed, nothing trained or judged), else None."""
        return self.runs.planner

    def hours_left(self) -> float | None:
        """What is left of the session's time budget, in hours (None: no limit)."""
        return self.runs.hours_left()

    def trained(self, model_fn, model_spec: dict, cfg, train_data: DeviceData, test_data: DeviceData | None,
                teacher=None):
        """The run of ``model_fn`` (its arguments by value in ``model_spec``) under ``cfg`` on this data, trained
        once a session and shared (:meth:`harness.runstore.RunStore.trained`), charged to the claim being measured.
        The function that calls this one declares the run: what the results cache keys on besides the run's key."""
        return self.runs.trained(model_fn, model_spec, cfg, train_data, test_data, teacher,
                                 caller=Caller.of(inspect.currentframe().f_back), claim=self.running)

    def train_run(self, claim: "ClaimMeasurement", run: Run) -> TrainResult:
        """The declared ``run`` (:mod:`harness.runs`), trained once a session and shared by every claim that declares
        an equal one, charged to ``claim``: its teacher first, a run declared as the first epochs of a longer one
        cut from that run."""
        if run.first_epochs_of is not None:
            return self.train_run(claim, run.first_epochs_of).truncated(run.config.epochs)
        teacher = None if run.teacher is None else self.train_run(claim, run.teacher)
        train_data, test_data, cfg = self._materialized(claim, run)
        return self.runs.trained(run.model.factory, run.model.spec, cfg, train_data, test_data, teacher, claim=claim)

    def timed_run(self, claim: "ClaimMeasurement", run: Run) -> list[TrainResult]:
        """The declared ``run`` (``alone=True``) trained now, each seed on its own (member *i* taught by the
        teacher's member *i*), never shared or cached: one result a seed."""
        teacher = None if run.teacher is None else self.train_run(claim, run.teacher)
        train_data, _, cfg = self._materialized(claim, run)
        return [self.runs.timed(run.model.factory, run.model.spec, seed, train_data, cfg,
                                None if teacher is None else Ensemble([teacher.model.member(i)]), claim=claim)
                for i, seed in enumerate(self.seeds)]

    def plan_run(self, claim: "ClaimMeasurement", run: Run) -> str | None:
        """Cost the declared ``run`` and what it needs into the plan, training nothing (plan mode); its key (None for
        a run trained alone, which nothing shares)."""
        if run.first_epochs_of is not None:
            return self.plan_run(claim, run.first_epochs_of)  # cut from the longer run: costs nothing more
        teacher_key = None if run.teacher is None else self.plan_run(claim, run.teacher)
        train_data, test_data, cfg = self._materialized(claim, run)
        if run.alone:
            for seed in self.seeds:
                self.runs.plan_timed(run.model.factory, run.model.spec, seed, train_data, cfg, claim=claim)
            return None
        return self.runs.plan(run.model.factory, run.model.spec, cfg, train_data, test_data, teacher_key,
                              claim=claim)

    def _materialized(self, claim: "ClaimMeasurement", run: Run):
        """The run's data on the device and its config with its gradient-norm points placed on its steps."""
        train_data = run.train.load(claim)
        test_data = None if run.test is None else run.test.load(claim)
        cfg = run.config
        if run.grad_norm_points:
            total = steps_per_epoch(cfg, train_data) * cfg.epochs
            cfg = replace(cfg, grad_norm_steps=spread_steps(run.grad_norm_points, total))
        return train_data, test_data, cfg

    def start(self, claim_id: str, reading: Reading, test_id: str = "") -> "ClaimMeasurement":
        """Begin measuring ``claim_id`` under ``reading`` (what a test's ``claim`` fixture does); the wall clock
        starts now."""
        self.running = ClaimMeasurement(self, catalog.get(claim_id), reading, test_id)
        log.info("%s [%s]: measuring", claim_id, reading.name,
                 extra={"progress": {"claim": claim_id, "reading": reading.name}})
        return self.running

    def device_data(self, dataset: str, split: str, per_class: int | None = None,
                    select_classes: list[int] | None = None, limit: int | None = None, seed: int = 0) -> DeviceData:
        """A split decoded (once per worker) and put on the device; DataMissing if absent.

        ``select_classes`` keeps only those classes, relabelled 0..k-1; ``limit`` keeps
        the first images of each kept class (both after the class-balanced subset).
        """
        key = (dataset, split, per_class, tuple(select_classes or ()), limit, seed)
        if key not in self._data:
            images = load_images(dataset, split, self.data_root, per_class=per_class, seed=seed)
            x, y, subset = select(images.images, images.labels, images.num_classes, select_classes, limit)
            mean, std = NORMALIZATION[dataset]
            data = DeviceData((x, y), self.device, mean, std)
            # A partial split draws other subsets than a whole one: its description (hence the record, the tables
            # and the run's cache key) says so.
            partial = f"; data set {images.partial}" if images.partial else ""
            data.description = f"{dataset}/{split}: {len(y)} images ({images.subset}{subset}{partial})"
            data.form = f"{dataset} from {images.form}"
            data.classes = images.classes
            data.fingerprint = images.fingerprint
            data.partial = images.partial
            self._data[key] = data
        return self._data[key]

    def conclude(self, claim: "ClaimMeasurement", measurements: dict, *, curves: dict | None = None,
                 seeds: list[int] | None = None, notes: str = "") -> ClaimResult:
        """Judge ``measurements`` as they are stored (:func:`~harness.claims.record.as_stored`, so a replay judges
        the same) by the claim's judge, record the result, and (full profile) check the pinned verdict."""
        if self.planner is not None:
            pytest.skip("plan mode: runs costed, nothing trained or judged")
        measurements = as_stored(measurements)
        judgement = judge_claim(claim.record, claim.reading, measurements)
        result = claim.write_result(judgement, measurements, curves=curves, seeds=seeds, notes=notes,
                                    stability=None if claim.record.timing else stability(
                                        claim.record, claim.reading, measurements,
                                        len(self.seeds if seeds is None else seeds), str(judgement.verdict)))
        claim.results.append(result)
        if self.full:
            check_pinned(result, str(record_path(self.results_dir, result.claim_id, result.reading)), self.device.type)
        return result


class ClaimMeasurement:
    """One claim under one reading being measured (a test's ``claim`` fixture): its record, its data, and its end,
    :meth:`conclude`; nothing here trains or judges."""

    def __init__(self, harness: Harness, record, reading: Reading, test_id: str = ""):
        self.harness = harness
        self.record = record  # the claim record (harness.claims.record.Claim)
        self.reading = reading
        self.test_id = test_id  # the test measuring it (the plan lists runs by test)
        self.results: list[ClaimResult] = []  # what conclude recorded (the plugin sends it to the controller)
        self.not_run: str | None = None  # why it was recorded NOT RUN, if it was
        self.started = time.perf_counter()
        self.data_used: list[str] = []
        self.forms: list[str] = []
        self.fingerprints: dict[str, str] = {}
        self.run_sources = {"trained": 0, "loaded": 0, "shared": 0}  # where its training runs came from
        self._declared: dict[str, Run] | None = None

    @property
    def budget(self):
        """What this claim's runs train under the session's profile, from its claim record."""
        return self.record.budget_for(self.harness.profile)

    @property
    def choices(self) -> dict:
        """The reading's choices (what it fills in where the report is silent)."""
        return self.reading.choices

    @property
    def profile(self) -> str:
        """The session's profile (``smoke``, ``full``)."""
        return self.harness.profile

    @property
    def declared(self) -> dict[str, Run]:
        """The runs this claim measures under its reading, by name, as its report folder's ``runs.py`` declares
        them (:mod:`harness.runs`); {} for a claim that declares none."""
        if self._declared is None:
            self._declared = declared(self)
        return self._declared

    def _run(self, name: str) -> Run:
        try:
            return self.declared[name]
        except KeyError:
            raise KeyError(f"{self.record.id} declares no run {name!r}: its runs are "
                           f"{sorted(self.declared) or 'none'} "
                           f"(declare it in {self.record.folder or 'its report folder'}/runs.py with "
                           f"@runs_of({self.record.id!r}))") from None

    def run(self, name: str) -> TrainResult:
        """The declared run ``name``, trained once a session and shared (:meth:`Harness.train_run`)."""
        run = self._run(name)
        if run.alone:
            raise TypeError(f"{self.record.id}: run {name!r} is declared alone=True (one result a seed): use "
                            f"claim.timed({name!r})")
        return self.harness.train_run(self, run)

    def timed(self, name: str) -> list[TrainResult]:
        """The declared run ``name`` (``alone=True``), each seed trained now on its own: one result a seed."""
        run = self._run(name)
        if not run.alone:
            raise TypeError(f"{self.record.id}: run {name!r} is shared, not timed: declare it with alone=True")
        return self.harness.timed_run(self, run)

    def run_data(self, name: str) -> tuple[DeviceData, DeviceData | None]:
        """The data the declared run ``name`` trains and is evaluated on (None: not evaluated), on the device."""
        run = self._run(name)
        return run.train.load(self), None if run.test is None else run.test.load(self)

    def plan(self) -> None:
        """Cost every run this claim declares into the session's plan, training nothing (plan mode)."""
        for run in self.declared.values():
            self.harness.plan_run(self, run)  # its teacher and the longer run it is cut from too

    def data(self, dataset: str, split: str, **kwargs) -> DeviceData:
        """Like :meth:`Harness.device_data`; a missing data set records NOT RUN and skips the test, or fails
        the session under ``--require-data``; a partial one (which ``--require-data`` refuses up front) is
        warned of."""
        try:
            data = self.harness.device_data(dataset, split, **kwargs)
        except DataMissing as exc:
            message = f"{exc.dataset} missing under {exc.where}; get it with: {exc.hint}"
            if self.harness.require_data:
                pytest.fail(f"--require-data: {self.record.id} needs {message}", pytrace=False)
            self.record_not_run(message)
            pytest.skip(f"{self.record.id}: {message}")
        if data.partial:
            warnings.warn(PartialDataWarning(
                f"{self.record.id}: {dataset}/{split} under {self.harness.data_root} is {data.partial} images (one "
                f"deleted or added since the import), so its subsets differ from a whole data set's; the record says "
                f"so. To restore it: {RESTORE_HINT[dataset]}"), stacklevel=2)
        self.data_used.append(data.description)
        self.forms.append(data.form)
        self.fingerprints[f"{dataset}/{split}"] = data.fingerprint
        return data

    def record_not_run(self, why: str) -> ClaimResult:
        """Record the claim as NOT RUN, saying why and what to do."""
        self.not_run = why
        if self.harness.planner is not None:
            self.harness.planner.not_run[self.test_id] = why  # the plan says which runs it could not see
        result = self._result(Verdict.NOT_RUN, claimed=self.record.statement, measured="—", notes=why)
        write_record(self.harness.results_dir, result, self.harness.environment)
        return result

    def conclude(self, measurements: dict, *, curves: dict | None = None, seeds: list[int] | None = None,
                 notes: str = "") -> ClaimResult:
        """Hand ``measurements`` to the claim's judge and record the result (:meth:`Harness.conclude`)."""
        return self.harness.conclude(self, measurements, curves=curves, seeds=seeds, notes=notes)

    def write_result(self, judgement, measurements: dict, *, curves: dict | None = None,
                     seeds: list[int] | None = None, notes: str = "", stability: dict | None = None) -> ClaimResult:
        """Record a judged claim atomically; returns what was written."""
        result = self._result(
            judgement.verdict, claimed=judgement.claimed, measured=judgement.measured, interval=judgement.interval,
            claimed_value=judgement.claimed_value, figures=judgement.figures, curves=curves, notes=notes, seeds=seeds,
            parts=[p.to_json() for p in judgement.parts], measurements=measurements, metric=judgement.metric)
        result.stability = stability
        path = write_record(self.harness.results_dir, result, self.harness.environment)
        try:  # here, on this worker's core; a plot that fails is drawn again (or fails) at the session's end
            plot_record(json.loads(path.read_text()), self.harness.results_dir)
        except Exception as exc:  # noqa: BLE001 — the verdict is recorded; a plot never decides a claim
            log.warning("%s [%s]: plot not drawn here (%s); the session's end draws it", self.record.id,
                        self.reading.name, exc)
        log.info("%s [%s]: %s — %s", self.record.id, self.reading.name, result.verdict, result.measured)
        return result

    def _result(self, verdict: Verdict, *, claimed: str, measured: str, interval=None, figures: dict | None = None,
                curves: dict | None = None, notes: str = "", seeds: list[int] | None = None,
                claimed_value: float | None = None, parts: list | None = None,
                measurements: dict | None = None, metric: str = "") -> ClaimResult:
        reading_text = self.reading.text()
        return ClaimResult(
            claim_id=self.record.id, reading=self.reading.name, verdict=Verdict(verdict), claimed=claimed,
            measured=measured, unit=self.record.unit, metric=metric or self.record.metric, claimed_value=claimed_value,
            interval=interval, figures=figures or {}, curves=curves or {}, parts=parts or [],
            measurements=measurements or {},
            notes=" ".join(x for x in (notes, self.record.notes) if x),
            wall_s=time.perf_counter() - self.started,
            seeds=list(self.harness.seeds if seeds is None else seeds),
            data="; ".join(dict.fromkeys(self.data_used)), data_form="; ".join(dict.fromkeys(self.forms)),
            data_fingerprint=dict(self.fingerprints),
            reading_text=reading_text, runs_trained=self.run_sources["trained"],
            runs_loaded=self.run_sources["loaded"], runs_shared=self.run_sources["shared"],
            claim_folder=catalog.folder_of(self.record.id).recorded_path,
        )
