"""The cost plan: every training run the selected claims need, counted once, with its time on this device.

``python -m harness plan`` collects the claim tests in plan mode: each test's claim declares its runs
(:mod:`harness.runs`), and each distinct run (by its memo key, so a run several claims share is one run) is timed for
a few steps on this device (cached per device, see :class:`Calibration`) or found in the results cache; no test body
runs and nothing is trained. Plan, training and cache read the same declarations and budgets.
The plan file feeds the pytest session's header and its ETA.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import write_text_atomic


@dataclass
class PlannedRun:
    """One distinct training run: what it is, how long it takes here, and which tests need it."""

    key: str
    label: str
    model: str
    member_steps: int
    seconds_per_step: float
    cached: bool = False  # already in the results cache: costs nothing
    tests: list[str] = field(default_factory=list)

    @property
    def estimate_s(self) -> float:
        """Seconds to train it here (0 when the results cache holds it)."""
        return 0.0 if self.cached else self.member_steps * self.seconds_per_step


@dataclass
class Plan:
    """The runs of a selection of claim tests under one profile on one device."""

    profile: str
    device: str
    seeds: int
    runs: dict[str, PlannedRun] = field(default_factory=dict)
    tests: dict[str, list[str]] = field(default_factory=dict)  # test node id -> keys of its runs, in order
    not_run: dict[str, str] = field(default_factory=dict)  # test node id -> why it could not be planned (no data)
    made: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M"))

    def add(self, test: str, run: PlannedRun) -> None:
        """Count ``run`` for ``test`` (once however many tests need it)."""
        known = self.runs.setdefault(run.key, run)
        if test not in known.tests:
            known.tests.append(test)
        keys = self.tests.setdefault(test, [])
        if run.key not in keys:
            keys.append(run.key)

    def total_s(self) -> float:
        """Seconds to train every distinct run one after another."""
        return sum(r.estimate_s for r in self.runs.values())

    def remaining_s(self, finished_tests, workers: int = 1, selected=None) -> float:
        """Seconds left when ``finished_tests`` are done: the runs only unfinished tests need, spread over workers.

        ``selected``: the session's tests (default: every test the plan lists); a planned test outside them costs
        nothing, since this session does not run it.
        """
        finished = set(finished_tests)
        tests = self.tests if selected is None else {t: keys for t, keys in self.tests.items() if t in selected}
        done = {k for t in finished for k in tests.get(t, [])}
        todo = {k for t, keys in tests.items() if t not in finished for k in keys} - done
        return sum(self.runs[k].estimate_s for k in todo) / max(1, workers)

    def save(self, path: Path) -> None:
        """Write the plan as JSON (atomically)."""
        payload = {"profile": self.profile, "device": self.device, "seeds": self.seeds, "made": self.made,
                   "tests": self.tests, "runs": [asdict(r) for r in self.runs.values()], "not_run": self.not_run}
        write_text_atomic(Path(path), json.dumps(payload, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Plan":
        """A plan written by :meth:`save`; ValueError naming the file if it is not one."""
        try:
            payload = json.loads(Path(path).read_text())
            runs = {r["key"]: PlannedRun(**r) for r in payload["runs"]}
            return cls(payload["profile"], payload["device"], payload["seeds"], runs, payload["tests"],
                       payload.get("not_run", {}), payload["made"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a cost plan written by 'python -m harness plan' ({exc})") from None

    def markdown(self) -> str:
        """The plan as a person reads it: each distinct run, then each test with what it adds."""
        training = {t: keys for t, keys in self.tests.items() if keys}
        lines = [f"# Cost plan: profile {self.profile}, {self.seeds} seeds, on {self.device}", "",
                 f"{len(self.runs)} distinct training runs for {len(training)} claim tests (of {len(self.tests)} "
                 f"selected; the others train nothing); about "
                 f"**{hours(self.total_s())}** one after another (made {self.made}). Each estimate is the run's "
                 "member-steps times the seconds one member-step took when a few steps of it were timed on this "
                 "device; a run several claims share is counted once; a run in the results cache costs nothing. Training "
                 "steps only: evaluation, data loading and distillation's one pass of the teacher come on top.", "",
                 "| run | model | member-steps | s / member-step | estimate | needed by |",
                 "| --- | --- | ---: | ---: | ---: | --- |"]
        for run in sorted(self.runs.values(), key=lambda r: -r.estimate_s):
            lines.append(f"| {run.label or run.key[:12]} | {run.model} | {run.member_steps:,} | "
                         f"{run.seconds_per_step:.4f} | {'cached' if run.cached else hours(run.estimate_s)} | "
                         f"{len(run.tests)} test{'s' if len(run.tests) != 1 else ''} |")
        lines += ["", "| claim test | runs | estimate if run alone |", "| --- | ---: | ---: |"]
        for test, keys in training.items():
            lines.append(f"| {test.split('::')[-1]} | {len(keys)} | "
                         f"{hours(sum(self.runs[k].estimate_s for k in keys))} |")
        if self.not_run:
            lines += ["", f"**Not in this plan** ({len(self.not_run)} tests: their runs are missing from the total):", ""]
            lines += [f"- {test.split('::')[-1]}: {why}" for test, why in self.not_run.items()]
        return "\n".join(lines) + "\n"


def hours(seconds: float) -> str:
    """A duration as a person says it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def plan_path(cache_dir: Path, profile: str, device: str, scope: str = "") -> Path:
    """Where the plan of ``profile`` on ``device`` (its description) is kept, for the report folders ``scope``
    names (:func:`plan_scope`; '' for this repository's)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", device).strip("-")[:80]
    return Path(cache_dir) / "plans" / f"{profile}-{slug}{'-' + scope if scope else ''}.json"


def plan_scope(paths) -> str:
    """The report folders a selection of test paths covers, as a short name for their kept plan: '' where the paths
    name none but this repository's own (no paths, ``tests suites``, ``suites/r002``: the repository's plan covers
    them), else a digest of the folders (``my_claims``, or ``suites`` with an outside folder), so that a session of
    a folder of one's own finds the plan ``python -m harness plan`` made of it."""
    from .claims import catalog
    from .data.cache import fingerprint

    folders = set()
    for given in paths:
        path = Path(str(given).split("::")[0]).resolve()
        found = catalog.folders_under(path if path.is_dir() else path.parent)
        if not found:  # a test file, or a folder below a report folder
            found = [p for p in (path, *path.parents) if (p / catalog.CLAIMS_FILE).is_file()][:1]
        folders |= {Path(f).resolve() for f in found}
    builtin = {f.path.resolve() for f in catalog.folders() if f.builtin}
    return "" if folders <= builtin else fingerprint(*sorted(map(str, folders)))[:12]


class Calibration:
    """Seconds per member-step of each kind of run on each device, kept in a JSON file across sessions.

    A calibration is an estimate for planning, never a measurement that decides anything (the time budget's
    check times the run's own first steps); the key names the device, thread count and torch release, which
    the time depends on.
    """

    def __init__(self, path: Path | None):
        self.path = None if path is None else Path(path)
        self.values: dict[str, float] = {}
        if self.path is not None and self.path.exists():
            try:
                self.values = {str(k): float(v) for k, v in json.loads(self.path.read_text()).items()}
            except (OSError, ValueError, AttributeError):
                self.values = {}  # a damaged file is only a lost estimate: time again

    def get(self, key: str, measure) -> float:
        """The stored seconds for ``key``, else ``measure()``'s, stored."""
        if key not in self.values:
            self.values[key] = float(measure())
            if self.path is not None:
                try:
                    # Re-read first: another worker may have added its own calibrations meanwhile.
                    stored = json.loads(self.path.read_text()) if self.path.exists() else {}
                except (OSError, ValueError):
                    stored = {}
                write_text_atomic(self.path, json.dumps({**stored, **self.values}, indent=1, sort_keys=True) + "\n")
        return self.values[key]
