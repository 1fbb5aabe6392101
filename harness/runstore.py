"""The run store: every training run a session asks for, trained once and shared, kept across sessions, costed.

One service for what a run is and where it comes from: its key (:func:`run_key`), the session's memo shared by
every pytest-xdist worker (a run two claims ask for is trained once), the results cache across sessions (keyed also
by the code training depends on, :mod:`harness.runcode`), the time budget (a run that would not fit is stopped
within its first steps and its claim recorded NOT RUN), the calibration of a step's cost, and plan mode (runs
costed and listed, never trained). It knows of claims only the one being measured, to charge its runs and record
it NOT RUN.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch
from filelock import FileLock

from .data import DeviceData
from .data.cache import fingerprint
from .plan import Calibration, Plan, PlannedRun
from .progress.board import RUN_LOADED, RUN_STARTED, RUN_TRAINED
from .progress.labels import run_label
from .runcache import RunCache
from .runcode import Caller, Dependencies, run_dependencies
from .timing import Stamp, StepClock
from .train import steps_per_epoch, train
from .train.engine import ALL_NAN_CHECK_EVERY

if TYPE_CHECKING:
    from .session import ClaimMeasurement

log = logging.getLogger("harness")

# Two calibration steps slower than this (seconds) are the estimate themselves: timing more would cost minutes.
CALIBRATION_SLOW_S = 10.0
# The time budget's check of a run times its steps after the first (one-time costs) until it has at least
# BUDGET_MIN_TIMED of them and either BUDGET_WINDOW_S seconds or BUDGET_MAX_TIMED steps, and costs the run by
# their median step: one pause, or an epoch's evaluation, inside the window does not count.
BUDGET_MIN_TIMED = 3
BUDGET_MAX_TIMED = 50
BUDGET_WINDOW_S = 2.0


def _canonical(value):
    """A number as a float (``momentum=0`` and ``momentum=0.0`` are one run, as they compare equal), tuples and lists
    alike; anything else as it is."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(v) for v in value)
    return value


def run_key(model_spec: dict, cfg, train_data: DeviceData, test_data: DeviceData | None, seeds,
            teacher_key: str | None = None, architecture: str = "") -> str:
    """The one memo key of a training run: everything its result depends on, by value, and nothing else (the
    data by its description and by the fingerprint of what was on disk: a data root changed in place is other
    data under the same description; the model by its spec and by its ``architecture``, :func:`architecture`;
    numbers by value, so values that compare equal give one key, as they give equal declared runs)."""
    config = tuple((f.name, _canonical(getattr(cfg, f.name))) for f in fields(cfg) if f.name != "label")
    return fingerprint(repr(sorted((k, _canonical(v)) for k, v in model_spec.items())), repr(config),
                       train_data.description,
                       None if test_data is None else test_data.description, tuple(int(s) for s in seeds),
                       teacher_key, *(getattr(d, "fingerprint", "") for d in (train_data, test_data)), architecture)


def architecture(model_fn) -> str:
    """What ``model_fn()`` builds, by value: its modules (their ``repr``), every parameter's and buffer's name, shape
    and dtype, and their initial values under a fixed seed (an initialization the repr does not show). Two runs whose
    spec says the same but whose ``model_fn`` builds other nets (``spec = {"n_fc": 3}`` beside ``lambda:
    CifarCNN(3, act)``) never share a key. Built on the CPU, the global RNG left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = model_fn()
    if not isinstance(model, torch.nn.Module):
        return repr(type(model))
    state = model.state_dict()
    shapes = [(name, tuple(t.shape), str(t.dtype)) for name, t in state.items()]
    values = hashlib.sha256(b"".join(t.detach().cpu().contiguous().numpy().tobytes() for t in state.values()
                                     if t.dtype != torch.bfloat16)).hexdigest()
    return fingerprint(repr(model), repr(shapes), values)


@dataclass
class RunStore:
    """Where a session's training runs come from (built by the plugin from the command line)."""

    device: torch.device
    seeds: list[int]
    environment: dict
    memo_dir: Path | None = None  # the session's folder of shared runs, for every worker (None: this process only)
    run_cache: RunCache | None = None  # finished runs kept across sessions (None: --no-cache)
    calibration: Calibration = field(default_factory=lambda: Calibration(None))  # seconds per member-step
    planner: Plan | None = None  # plan mode (python -m harness plan): runs are costed and listed, never trained
    max_hours: float | None = None  # the time budget; None: no limit
    started: float = field(default_factory=time.time)  # the session's start (the controller's clock)
    _memo: dict = field(default_factory=dict, repr=False)
    # Run key → (caller, model_fn, teacher's key) of each run asked for in this process: a student's code takes in
    # its teacher's.
    _declared: dict = field(default_factory=dict, repr=False)
    _dependency_cache: dict = field(default_factory=dict, repr=False)

    def memo(self, key, compute):
        """``compute()`` once per session for ``key``: claims that share a training run share it.

        With a session folder (the plugin's, shared by all pytest-xdist workers) the
        first worker to need a result computes it under a file lock and stores it; the
        others load it. ``key`` must name everything the result depends on, by value.
        """
        memo = self._memo
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

    def trained(self, model_fn, model_spec: dict, cfg, train_data: DeviceData, test_data: DeviceData | None,
                teacher=None, *, caller: Caller | None = None, claim: "ClaimMeasurement | None" = None):
        """``train(...)`` once per session for its full specification: claims that share a run share it.

        The key is :func:`run_key` of the model spec, the config (less its progress label), the
        data, the seeds and the teacher's own key, so two different teachers never share a student. In the results
        cache a run is also keyed by its code (:meth:`_code`: what :mod:`harness.runcode` finds it depends on, from
        ``model_fn`` and the function that called ``Harness.trained``; ``caller`` None for a declared run,
        :mod:`harness.runs`, which is by value: only its model's code counts).
        Under a time budget (``--max-hours``), a run that is not trained yet is costed from its own first steps
        on this device: one that does not fit in what is left stops there, recording the claim being measured
        NOT RUN and skipping its test.
        """
        if self.planner is not None:
            raise RuntimeError("plan mode trains nothing: a claim's runs are costed from its declarations "
                               "(harness.runs), before its test would ask for them")
        teacher_key = None if teacher is None else teacher.key
        key = run_key(model_spec, cfg, train_data, test_data, self.seeds, teacher_key, architecture(model_fn))
        cfg = replace(cfg, label=run_label(model_spec, cfg))  # the key leaves the label out: it names, never changes
        if self.run_cache is not None:
            self._declared.setdefault(key, (caller, model_fn, teacher_key))

        source = "shared"  # unless compute() runs: another claim of this session trained it

        def compute():
            nonlocal source
            code, meta = self._code(caller, model_fn, key) if self.run_cache is not None else ("", None)
            if self.run_cache is not None:
                cached = self.run_cache.load(key, code, model_fn, self.device, self.seeds)
                if cached is not None:
                    source = "loaded"
                    log.info("%s: loaded from the results cache", cfg.label,
                             extra={"progress": {"event": RUN_LOADED, "run": cfg.label}})
                    return cached
            source = "trained"
            checkpoint = None if self.run_cache is None else self.run_cache.checkpoints(key, code, meta)
            on_step = None if claim is None else self._budget_check(claim, model_spec, cfg, train_data, checkpoint)
            try:
                result = self._logged_train(model_fn, self.seeds, train_data, test_data, cfg,
                                            teacher=None if teacher is None else teacher.model, on_step=on_step,
                                            checkpoint=checkpoint)
            except pytest.skip.Exception:
                # Stopped by the time budget within its first steps: what it kept is seconds of training, and the
                # next session's check must cost the whole run from its own first steps again. A run that resumed
                # keeps its checkpoints: they hold what earlier sessions trained (hours, maybe).
                if checkpoint is not None and not checkpoint.resumed_member_steps:
                    checkpoint.discard()
                raise
            result.key = key
            if self.run_cache is not None:
                self._store(key, code, result, cfg.label, meta)
            return result
        result = self.memo(key, compute)
        if claim is not None:
            claim.run_sources[source] += 1
        return result

    def _logged_train(self, model_fn, seeds, train_data, test_data, cfg, **kwargs):
        """:func:`train`, its start and end said on the progress board (the end only once it trained)."""
        log.info("%s: training", cfg.label, extra={"progress": {"event": RUN_STARTED, "run": cfg.label}})
        result = train(model_fn, seeds, train_data, test_data, cfg, **kwargs)
        log.info("%s: trained in %.1f s", cfg.label, result.seconds,
                 extra={"progress": {"event": RUN_TRAINED, "run": cfg.label, "seconds": result.seconds}})
        return result

    def _dependencies(self, caller: Caller | None, model_fn, key: str) -> Dependencies:
        """What the run ``key``, declared by ``caller`` with ``model_fn``, depends on (:mod:`harness.runcode`),
        its teacher's sources included: a teacher trained by other code is another teacher. Once a process."""
        cached = self._dependency_cache
        if (key, caller) not in cached:
            deps = run_dependencies(caller, model_fn)
            teacher_key = self._declared.get(key, (None, None, None))[2]
            if teacher_key in self._declared:
                deps = deps.merged(self._dependencies(*self._declared[teacher_key][:2], teacher_key))
            cached[(key, caller)] = deps
        return cached[(key, caller)]

    def _code(self, caller: Caller | None, model_fn, key: str) -> tuple[str, dict]:
        """The code hash a cached run is keyed by, and what its entry records of it. Besides the sources, the
        machine's kernels (CPU model, threads and ISA, or the GPU) count: another CPU rounds otherwise, and a run
        it trained must not be shown under this machine's header."""
        machine = self.environment.get("device", self.device.type)
        deps = self._dependencies(caller, model_fn, key)
        return deps.code + machine, deps.metadata(machine)

    def _store(self, key: str, code: str, result, label: str, meta: dict | None = None) -> None:
        """Keep a finished run in the results cache; a cache that cannot take it costs later sessions the run,
        never this one (the folder is checked before any training: harness.plugin.settings._check_cache_dir)."""
        try:
            self.run_cache.store(key, code, result, meta)
        except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as a RuntimeError
            log.warning("results cache %s: run %s could not be stored (%s); this session goes on with it, a later "
                        "one trains it again", self.run_cache.folder, label or key[:12], exc)

    def timed(self, model_fn, model_spec: dict, seed: int, train_data: DeviceData, cfg, teacher=None, *,
              claim: "ClaimMeasurement | None" = None):
        """One member trained now, alone, never memoized or cached: a timing claim measures the training itself
        (in plan mode it is costed instead: :meth:`plan_timed`)."""
        if self.planner is not None:
            raise RuntimeError("plan mode trains nothing: a claim's timed runs are costed from its declarations")
        if claim is not None:
            claim.run_sources["trained"] += 1
        return self._logged_train(model_fn, [seed], train_data, None, replace(cfg, label=run_label(model_spec, cfg)),
                                  teacher=teacher)

    def plan(self, model_fn, model_spec: dict, cfg, train_data: DeviceData, test_data: DeviceData | None,
             teacher_key: str | None = None, *, claim: "ClaimMeasurement | None" = None) -> str:
        """Cost a declared run (the key :meth:`trained` would give it) into the plan, training nothing: a few timed
        steps on this device, or nothing where the results cache holds it. Returns its key (its students' keys hold
        it)."""
        key = run_key(model_spec, cfg, train_data, test_data, self.seeds, teacher_key, architecture(model_fn))
        if self.run_cache is not None:
            self._declared.setdefault(key, (None, model_fn, teacher_key))
        cached = self.run_cache is not None and self.run_cache.path(key, self._code(None, model_fn, key)[0]).exists()
        self._planned(key, model_fn, model_spec, replace(cfg, label=run_label(model_spec, cfg)), train_data, cached,
                      claim=claim)
        return key

    def plan_timed(self, model_fn, model_spec: dict, seed: int, train_data: DeviceData, cfg, *,
                   claim: "ClaimMeasurement | None" = None) -> None:
        """Cost one member trained alone (:meth:`timed`) into the plan: never shared, never cached."""
        key = run_key({**model_spec, "timed alone": True}, cfg, train_data, None, [seed], None,
                      architecture(model_fn))
        self._planned(key, model_fn, model_spec, replace(cfg, label=run_label(model_spec, cfg)), train_data, False,
                      seeds=[seed], claim=claim)

    def _planned(self, key: str, model_fn, model_spec: dict, cfg, train_data: DeviceData, cached: bool,
                 seeds: list[int] | None = None, claim: "ClaimMeasurement | None" = None) -> None:
        seeds = self.seeds if seeds is None else seeds
        per_step = 0.0 if cached else self.seconds_per_step(model_fn, model_spec, cfg, train_data, seeds)
        self.planner.add(claim.test_id if claim else "", PlannedRun(
            key=key, label=cfg.label, model=repr(model_spec), member_steps=self.planned_steps(cfg, train_data, seeds),
            seconds_per_step=per_step, cached=cached))

    def _budget_check(self, claim: "ClaimMeasurement", model_spec: dict, cfg, train_data: DeviceData, checkpoint=None):
        """An ``on_step`` hook for :func:`train` that costs the run from its own first steps and, where the whole run
        would not fit in the time budget left, records ``claim`` NOT RUN and skips it: the run stops there.

        A verdict (NOT RUN) rests on this estimate: timed in this session on the run itself, never taken from a
        stored calibration, as the median of a window of steps (see ``BUDGET_MIN_TIMED``); members trained one
        after another are timed in turn until the window is full, each one's first step untimed. A run that
        watches for non-finite values, and has more steps a member than the engine's all-NaN check waits for, is
        decided only after that check (about 50 steps in): a run gone all NaN by then (whose later steps cost
        nothing) is never stopped; one that goes all NaN later is costed as if every step were computed. A run
        too short to fill the window is not checked (at most a few seconds of steps). The estimate counts
        training steps only (not evaluation after each epoch), and says so. A run resumed from ``checkpoint`` is
        costed for the member-steps it has left.
        """
        if self.max_hours is None:
            return None
        watched_long = cfg.watch_nonfinite and steps_per_epoch(cfg, train_data) * cfg.epochs > ALL_NAN_CHECK_EVERY
        decide_from = ALL_NAN_CHECK_EVERY + 1 if watched_long else 0
        # On a GPU the steps are stamped with CUDA events and read once, at the decision: a synchronization after
        # every timed step would cost an unpipelined step each (harness.timing). Whether the window is full is
        # judged by the host's clock, which on a GPU runs ahead by at most the launch queue.
        clock = StepClock(self.device, lambda: time.perf_counter())  # this module's clock, looked up when read
        intervals: list[tuple[Stamp, Stamp]] = []
        previous: Stamp | None = None
        checked = False

        def window_done() -> bool:
            return len(intervals) >= BUDGET_MIN_TIMED and (
                len(intervals) >= BUDGET_MAX_TIMED
                or sum(clock.host_seconds(a, b) for a, b in intervals) >= BUDGET_WINDOW_S)

        def on_step(steps: int, members: int) -> None:
            nonlocal previous, checked
            if checked:
                return
            if steps == 1:
                previous = None  # the next member trained alone: its first step is not timed either
            if not window_done():
                now = clock.stamp()
                if previous is not None:  # the first step (one-time costs) is never timed
                    intervals.append((previous, now))
                previous = now
            if not window_done() or steps < decide_from:
                return
            checked = True
            durations = [clock.seconds(a, b) for a, b in reversed(intervals)]  # the last first: one wait
            per_member_step = statistics.median(durations) / members
            done = 0 if checkpoint is None else checkpoint.resumed_member_steps
            total = self.planned_steps(cfg, train_data) - done
            self.skip_unless_it_fits(claim, total * per_member_step,
                                     f"{total:,} member-steps{f' left (after {done:,} resumed)' if done else ''} of "
                                     f"{model_spec} at batch {cfg.batch_size}, "
                                     f"{per_member_step:.3g} s each, the median of its first {len(durations)} timed "
                                     f"steps on this device; training steps only")
        return on_step

    def planned_steps(self, cfg, train_data: DeviceData, seeds: list[int] | None = None) -> int:
        """Member-steps a run of ``cfg`` takes: every seed, every epoch."""
        return steps_per_epoch(cfg, train_data) * cfg.epochs * len(self.seeds if seeds is None else seeds)

    def seconds_per_step(self, model_fn, model_spec: dict, cfg, train_data: DeviceData,
                         seeds: list[int] | None = None) -> float:
        """Seconds of one member-step of ``cfg`` on this device, as the run trains (all its seeds at once).

        Timed over 4 steps after a warm-up and kept per device, thread count and torch release
        (:class:`harness.plan.Calibration`).
        An estimate for the plan and its ETA, never a measurement that a claim's figures or verdicts come from.
        """
        seeds = list(self.seeds if seeds is None else seeds)
        key = "|".join(map(str, (self.environment["device"], f"threads={torch.get_num_threads()}", torch.__version__,
                                 sorted(model_spec.items()), f"batch={cfg.batch_size}", cfg.precision, cfg.optimizer,
                                 f"kd={cfg.kd_temperature is not None}", f"members={len(seeds)}")))

        def measure():
            probe = replace(cfg, epochs=1, ema_decay=None, kd_temperature=None, grad_norm_steps=(), snapshot_epochs=(),
                            label="calibration")
            # The first run of an architecture pays one-time costs (allocations, dispatch caches): not timed,
            # unless its steps are so slow (pure fp16 on a CPU) that those costs do not matter.
            warm = train(model_fn, seeds, train_data, None, replace(probe, max_steps_per_epoch=2)).seconds
            if warm > CALIBRATION_SLOW_S:
                return warm / 2 / len(seeds)
            one = train(model_fn, seeds, train_data, None, replace(probe, max_steps_per_epoch=1)).seconds
            five = train(model_fn, seeds, train_data, None, replace(probe, max_steps_per_epoch=5)).seconds
            per_step = (five - one) / 4 if five > one else five / 5  # timer noise cannot make a step free
            return per_step / len(seeds)
        return self.calibration.get(key, measure)

    def hours_left(self) -> float | None:
        """What is left of the time budget, in hours (None: no limit)."""
        if self.max_hours is None:
            return None
        return self.max_hours - (time.time() - self.started) / 3600

    def skip_unless_it_fits(self, claim: "ClaimMeasurement", estimate_s: float, how: str) -> None:
        """Record ``claim`` NOT RUN and skip it when ``estimate_s`` does not fit in the time budget left.

        ``how`` says how the estimate was made; the row says what the claim needs on this device, so that a
        reader sees it is unrun, not failed. The full profile never runs a smaller budget instead.
        """
        left = self.hours_left()
        if left is None or estimate_s / 3600 <= left:
            return
        device = self.environment["device"]
        claim.record_not_run(f"needs about {estimate_s / 3600:.1f} h on {device} ({how}); the session's budget had "
                           f"{max(left, 0):.1f} h left (--max-hours)")
        pytest.skip(f"{claim.record.id}: a run it needs takes about {estimate_s / 3600:.1f} h on {device}, over the time "
                    f"budget: rerun with a larger --max-hours (`python -m harness plan` costs every run of a claim) or "
                    f"on a GPU (--device cuda)")
