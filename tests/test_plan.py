"""The cost plan: distinct runs counted once, calibration kept per device, plan mode trains nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.plan import Calibration, Plan, PlannedRun, hours, plan_path

from .helpers import SMOKE_ON_CPU

ROOT = Path(__file__).resolve().parents[1]


def _plan() -> Plan:
    plan = Plan("full", "CPU: test", 5)
    shared = PlannedRun("k1", "tanh 10 epochs", "{'n_fc': 3}", member_steps=1000, seconds_per_step=0.01)
    plan.add("t::a", shared)
    plan.add("t::b", PlannedRun("k1", "tanh 10 epochs", "{'n_fc': 3}", 1000, 0.01))  # the same run again
    plan.add("t::b", PlannedRun("k2", "depth 6", "{'n_fc': 6}", member_steps=500, seconds_per_step=0.02))
    plan.add("t::c", PlannedRun("k3", "cached", "{}", member_steps=10**6, seconds_per_step=1.0, cached=True))
    return plan


def test_a_run_several_tests_share_is_counted_once():
    plan = _plan()
    assert len(plan.runs) == 3 and plan.runs["k1"].tests == ["t::a", "t::b"]
    assert plan.total_s() == pytest.approx(10 + 10)  # the cached run costs nothing
    assert plan.remaining_s([]) == pytest.approx(20)
    assert plan.remaining_s(["t::a"]) == pytest.approx(10)  # k1 is done; t::b still needs k2
    assert plan.remaining_s(["t::a"], workers=2) == pytest.approx(5)
    assert plan.remaining_s(["t::a", "t::b", "t::c"]) == 0
    assert plan.remaining_s([], selected={"t::a", "t::c"}) == pytest.approx(10)  # t::b is not in this session


def test_plan_round_trip_and_markdown(tmp_path):
    plan = _plan()
    plan.save(tmp_path / "plan.json")
    again = Plan.load(tmp_path / "plan.json")
    assert again.runs == plan.runs and again.tests == plan.tests and again.device == "CPU: test"
    text = again.markdown()
    assert "3 distinct training runs for 3 claim tests (of 3 selected" in text and "Not in this plan" not in text
    plan.not_run["t::d"] = "cifar10 missing under /x; get it with: python -m harness data import ..."
    plan.save(tmp_path / "plan.json")
    assert "**Not in this plan** (1 tests" in Plan.load(tmp_path / "plan.json").markdown() and "| cached |" in text and "tanh 10 epochs" in text
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="bad.json: not a cost plan"):
        Plan.load(tmp_path / "bad.json")
    assert plan_path(tmp_path, "full", "CPU: AMD EPYC (2 threads)").name == "full-CPU-AMD-EPYC-2-threads.json"


def test_a_plan_is_kept_for_the_report_folders_it_covers(tmp_path):
    """The repository's folders share one kept plan, however a session names them; a folder of one's own gets its
    own, which a session of that folder finds (by its folder, a test file of it, or a path below)."""
    from harness.plan import plan_scope

    from .test_claims_folders import _folder

    assert plan_scope([]) == plan_scope(["tests", "suites"]) == plan_scope([str(ROOT / "suites" / "r002")]) == \
        plan_scope(["suites/r000/test_q1_teacher.py::test_teacher_ema"]) == ""
    folder = _folder(tmp_path)
    mine = plan_scope([str(tmp_path / "mine")])
    assert mine and mine == plan_scope([str(folder / "test_r901.py")]) == plan_scope([str(folder)])
    assert plan_scope([str(tmp_path / "mine"), "suites"]) not in ("", mine)
    assert plan_path(tmp_path, "smoke", "CPU", mine).name == f"smoke-CPU-{mine}.json"
    assert [hours(s) for s in (30, 600, 7200)] == ["30 s", "10 min", "2.0 h"]


def test_calibration_is_measured_once_and_kept_across_sessions(tmp_path):
    calls = []
    first = Calibration(tmp_path / "calibration.json")
    assert first.get("cpu|x", lambda: calls.append(1) or 0.25) == 0.25
    assert first.get("cpu|x", lambda: calls.append(1) or 9.0) == 0.25
    assert Calibration(tmp_path / "calibration.json").get("cpu|x", lambda: 9.0) == 0.25 and calls == [1]
    (tmp_path / "calibration.json").write_text("not json")  # damaged: measured again, not an error
    assert Calibration(tmp_path / "calibration.json").get("cpu|x", lambda: 0.5) == 0.5
    assert Calibration(None).get("k", lambda: 1.5) == 1.5  # --no-cache: kept for the session only


def test_shards_are_balanced_by_the_plan_where_it_covers_every_test():
    from harness.shards import family_costs

    class Item:
        def __init__(self, nodeid):
            self.nodeid = nodeid

    plan = _plan()
    families = {"x": [Item("t::a")], "y": [Item("t::b"), Item("t::c")]}
    assert family_costs(families, plan) == {"x": 11, "y": 21}  # y: k1 and k2 (k3 is cached), once each
    assert family_costs({**families, "z": [Item("t::unplanned")]}, plan) == {"x": 1, "y": 2, "z": 1}
    assert family_costs(families, None) == {"x": 1, "y": 2}


def test_the_session_line_shows_the_eta():
    from harness.progress.lines import session_line

    assert session_line(3, 10, 65, "ETA about 5 min by the cost plan") == \
        "session: 3 of 10 claim tests done, 1 min 05 s elapsed, ETA about 5 min by the cost plan"


def test_plan_mode_lists_each_run_once_and_trains_nothing(tmp_path, request):
    results = ROOT / "results" / "smoke" / "claims.csv"
    before = results.stat().st_mtime if results.exists() else None
    out = tmp_path / "plan.json"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "plan", "suites/r002/test_q1_activations.py", "-k",
         "tanh_learns or sigmoid_catches_up", "--no-cache", *SMOKE_ON_CPU, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    plan = Plan.load(out)
    if not plan.tests and not request.config.getoption("--require-data"):
        pytest.skip("CIFAR-10 is not imported (every claim skipped): python -m harness data import ../shared/data/*")
    # 4 readings of tanh_learns and 4 of sigmoid_catches_up need 4 runs: tanh and sigmoid at each momentum, whose
    # 2-epoch readings are the first epochs of the longer runs (6 epochs of 500 steps, 2 seeds, in the smoke profile).
    assert len(plan.tests) == 8 and len(plan.runs) == 4
    assert {r.member_steps for r in plan.runs.values()} == {2 * 6 * 500}
    assert all(r.seconds_per_step > 0 and not r.cached for r in plan.runs.values())
    assert "4 distinct training runs for 8 claim tests (of 8 selected" in done.stdout
    # Every test was skipped before its body (its runs costed from its claim's declarations), and no table was written (records go to a scratch folder; other
    # workers of this session may be writing results/ now, so only the tables, written at a session's end, tell).
    assert " passed" not in done.stdout and "failed" not in done.stdout and "8 skipped" in done.stdout
    assert (results.stat().st_mtime if results.exists() else None) == before
    assert json.loads(out.read_text())["profile"] == "smoke"


def test_the_eta_comes_from_the_plan_and_the_time_budget_bounds_it():
    from types import SimpleNamespace

    from harness.plugin.session import ClaimsSession, ungrouped as _ungrouped

    def session(hours_left, plan="plan"):
        # The session's ETA reads only its plan, its workers, its finished and selected tests and the budget left.
        s = object.__new__(ClaimsSession)
        s.plan = _plan() if plan else None
        s.config = SimpleNamespace(option=SimpleNamespace(numprocesses=2))
        s.harness = SimpleNamespace(hours_left=lambda: hours_left)
        s.finished, s.selected = set(), None
        return s

    assert session(None).eta() == "ETA about 10 s by the cost plan"  # 20 s of runs over 2 workers
    assert session(1 / 3600).eta().startswith("ETA at most 1 s (the --max-hours budget")
    assert session(None, plan=None).eta() == ""
    # A session of some tests only (suites/r002 of a whole-profile plan) waits only for their runs.
    only_b = session(None)
    only_b.selected = {"t::b"}
    assert only_b.eta() == "ETA about 10 s by the cost plan"
    # Under pytest-xdist's loadgroup the reports' node ids carry "@group": the plan's do not.
    only_b.finished.add(_ungrouped("t::b@momentum=0"))
    assert only_b.eta() == "ETA about 0 s by the cost plan"
    assert _ungrouped("f.py::t[momentum=0]@momentum=0") == "f.py::t[momentum=0]"
    assert _ungrouped("dir@v2/f.py::t") == "dir@v2/f.py::t"
    assert _ungrouped("f.py::t[a@b]") == "f.py::t[a@b]" and _ungrouped("f.py::t@g") == "f.py::t"
