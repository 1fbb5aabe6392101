"""Session wiring: the memo key of a run, the pinned-verdict check, and --require-data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.claims import ClaimResult, Verdict, catalog
from harness.claims.pinned import UnpinnedVerdict, check_pinned, unpinned
from harness.data import DeviceData
from harness.models import CifarCNN
from harness.runstore import run_key
from harness.train import TrainConfig

from .helpers import SMOKE_ON_CPU

ROOT = Path(__file__).resolve().parents[1]


def _data(n=8, name="a"):
    g = np.random.default_rng(0)
    data = DeviceData((g.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8), g.integers(0, 2, n)), "cpu",
                      (0.5,) * 3, (0.5,) * 3)
    data.description = name
    return data


def test_run_key_names_everything_the_run_depends_on_and_nothing_else():
    cfg = TrainConfig(epochs=2, batch_size=4, label="progress")
    base = run_key({"n_fc": 3}, cfg, _data(), _data(name="t"), [0, 1])
    assert base == run_key({"n_fc": 3}, TrainConfig(epochs=2, batch_size=4, label="other words"), _data(),
                           _data(name="t"), [0, 1])
    for other in (run_key({"n_fc": 4}, cfg, _data(), _data(name="t"), [0, 1]),
                  run_key({"n_fc": 3}, TrainConfig(epochs=3, batch_size=4), _data(), _data(name="t"), [0, 1]),
                  run_key({"n_fc": 3}, cfg, _data(name="b"), _data(name="t"), [0, 1]),
                  run_key({"n_fc": 3}, cfg, _data(), _data(name="t"), [0, 2]),
                  run_key({"n_fc": 3}, cfg, _data(), _data(name="t"), [0, 1], teacher_key="teacher A")):
        assert other != base
    # Two different teachers never share a student.
    assert (run_key({"n_fc": 3}, cfg, _data(), None, [0], teacher_key="A")
            != run_key({"n_fc": 3}, cfg, _data(), None, [0], teacher_key="B"))


def _result(verdict):
    return ClaimResult(claim_id="r002.tanh_learns", reading="momentum=0", verdict=verdict, claimed="c", measured="m")


def test_pinned_verdicts_are_checked_apart_from_recording(tmp_path, pins):
    with pytest.warns(UnpinnedVerdict, match="no pinned verdict"):
        assert check_pinned(_result(Verdict.REPRODUCED), "record.json") is None
    pins("r002").write_text('{"r002.tanh_learns|momentum=0": "REPRODUCED"}')
    assert check_pinned(_result(Verdict.REPRODUCED), "record.json") == "REPRODUCED"
    with pytest.raises(AssertionError, match=r"outside the pinned set \['REPRODUCED'\]"):
        check_pinned(_result(Verdict.NOT_REPRODUCED), "record.json")
    # A pin is the set a replicate may give: a verdict within it passes, one outside fails.
    pins("r002").write_text('{"r002.tanh_learns|momentum=0": ["INCONCLUSIVE", "REPRODUCED"]}')
    assert check_pinned(_result(Verdict.INCONCLUSIVE), "record.json") == ["INCONCLUSIVE", "REPRODUCED"]
    with pytest.raises(AssertionError, match="outside the pinned set"):
        check_pinned(_result(Verdict.NOT_REPRODUCED), "record.json")
    records = [{"claim_id": "r002.tanh_learns", "reading": "momentum=0", "verdict": "REPRODUCED"},
               {"claim_id": "r002.tanh_learns", "reading": "momentum=0.9", "verdict": "REPRODUCED"},
               {"claim_id": "r000.epoch_time", "reading": "literal", "verdict": "REPRODUCED"}]
    assert unpinned(records) == ["r002.tanh_learns [momentum=0.9]"]  # timing claims are never pinned
    # A pin of every verdict the claim can reach asserts nothing either, and is said to.
    pins("r002").write_text('{"r002.tanh_learns|momentum=0": ["INCONCLUSIVE", "NOT REPRODUCED", "REPRODUCED"]}')
    assert unpinned(records[:1]) == ["r002.tanh_learns [momentum=0] (pinned to every verdict it can reach: "
                                     "INCONCLUSIVE, NOT REPRODUCED, REPRODUCED)"]


def test_a_gpu_session_is_held_to_the_gpus_pins_never_the_cpus(tmp_path, pins):
    pins("r002").write_text('{"r002.tanh_learns|momentum=0": ["REPRODUCED"]}')
    # No GPU pin yet: a CUDA verdict the CPU's pins would refuse is not asserted; the warning names the GPU's run.
    with pytest.warns(UnpinnedVerdict, match=r"no pinned verdict on cuda \(.*r002-pinned_verdicts_cuda.json\).*claims pin "
                                             r"results/full-gpu/claims.csv"):
        assert check_pinned(_result(Verdict.NOT_REPRODUCED), "record.json", "cuda") is None
    pins("r002", "cuda").write_text('{"r002.tanh_learns|momentum=0": ["NOT REPRODUCED"]}')
    assert check_pinned(_result(Verdict.NOT_REPRODUCED), "record.json", "cuda") == ["NOT REPRODUCED"]
    with pytest.raises(AssertionError, match="outside the pinned set"):
        check_pinned(_result(Verdict.NOT_REPRODUCED), "record.json", "cpu")
    records = [{"claim_id": "r002.tanh_learns", "reading": r, "verdict": "REPRODUCED"} for r in ("momentum=0", "momentum=0.9")]
    assert unpinned(records, "cuda") == unpinned(records, "cpu") == ["r002.tanh_learns [momentum=0.9]"]


def test_a_gpu_session_writes_its_own_folder_and_is_refused_one_of_cpu_records(tmp_path):
    from harness.plugin.settings import _claim_results_dir
    from harness.report import write_record
    from harness.report.environment import device_type, results_name

    assert [results_name(p, d) for p in ("smoke", "full") for d in ("cpu", "cuda")] == [
        "smoke", "smoke-gpu", "full", "full-gpu"]
    assert (device_type("CPU: AMD EPYC (1 threads)"), device_type("GPU: NVIDIA H100"), device_type("?")) == \
        ("cpu", "cuda", "")
    env = {"profile": "full", "device": "CPU: AMD EPYC (1 threads)", "commit": "abc"}
    write_record(tmp_path / "full", ClaimResult(claim_id="r002.tanh_learns", reading="momentum=0",
                                               verdict=Verdict.REPRODUCED, claimed="c", measured="m"), env)
    with pytest.raises(pytest.UsageError, match=r"holds records measured on cpu, and this session runs on cuda "
                                                r"\(--device\).*default is results/full-gpu"):
        _claim_results_dir(tmp_path / "full", "full", "cuda")
    _claim_results_dir(tmp_path / "full", "full", "cpu").release()  # the CPU's own: taken (and its lock given back)
    _claim_results_dir(tmp_path / "full-gpu", "full", "cuda").release()


def test_require_data_stops_the_session_naming_the_import_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/control", "-q", "-p", "no:cacheprovider", "--require-data", *SMOKE_ON_CPU,
         "--data-root", str(tmp_path / "empty"), "--results-dir", str(tmp_path / "results")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "--require-data" in out and "cifar10/train" in out and "python -m harness data import" in out
    assert not (tmp_path / "results").exists()  # stopped before any test


def test_without_require_data_a_missing_data_set_is_recorded_not_run(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/control", "-q", "-p", "no:cacheprovider", *SMOKE_ON_CPU,
         "--data-root", str(tmp_path / "empty"), "--results-dir", str(tmp_path / "results")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "NOT RUN" in (tmp_path / "results" / "claims.csv").read_text()


def _harness(tmp_path, max_hours, data_root=None):
    import torch

    from harness.runstore import RunStore
    from harness.session import Harness

    env = {"profile": "full", "device": "CPU: test", "torch": "x", "cuda": "none", "python": "3", "commit": "abc",
           "date": "today"}
    return Harness(profile="full", data_root=data_root or tmp_path, results_dir=tmp_path / "results",
                   runs=RunStore(torch.device("cpu"), [0, 1, 2], env, max_hours=max_hours))


def test_a_partial_data_set_is_warned_of_and_the_record_carries_the_data_fingerprint(tmp_path):
    import json

    from harness.data.errors import PartialDataWarning
    from harness.data.images import find_source

    from .helpers import write_cifar

    root = write_cifar(tmp_path / "data")  # 30 and 20 images: partial, as a data root with files deleted is
    claim = catalog.get("control.cifar10_tutorial")
    run = _harness(tmp_path, None, root).start(claim.id, claim.reading("tutorial"))
    with pytest.warns(PartialDataWarning, match=r"cifar10/test under .* is partial: 20/10000 images.*--force"):
        data = run.data("cifar10", "test", per_class=1)
    assert data.description == "cifar10/test: 10 images (1 per class, seed 0; data set partial: 20/10000)"
    run.record_not_run("stopped here")
    record = json.loads(next((tmp_path / "results" / "records").glob("*.json")).read_text())
    assert record["data_fingerprint"] == {"cifar10/test": find_source("cifar10", "test", root).fingerprint}
    assert "partial: 20/10000" in record["data"]
    (root / "cifar10" / "test" / "cat" / "0001.jpg").unlink()  # a deleted image changes what the record carries
    assert find_source("cifar10", "test", root).fingerprint != record["data_fingerprint"]["cifar10/test"]


def test_require_data_refuses_a_partial_data_set_up_front(tmp_path):
    from harness.plugin.settings import _require_data

    from .helpers import write_cifar, write_tiny

    root = write_tiny(write_cifar(tmp_path / "data"), per_class=1)
    with pytest.raises(pytest.UsageError, match=r"missing or partial") as info:
        _require_data(root)
    assert ("cifar10/train: partial: 30/50000 images; restore it with: python -m harness data import --force "
            "../shared/data/cifar10-jpeg.tar.xz") in str(info.value)


def test_a_claim_over_the_time_budget_is_recorded_not_run_with_its_estimate(tmp_path):
    import json

    harness = _harness(tmp_path, max_hours=1.0)
    claim = catalog.get("r000.teacher_train_acc")
    run = harness.start(claim.id, claim.reading("literal"))
    harness.runs.skip_unless_it_fits(run, 600.0, "ten minutes")  # fits: nothing happens
    with pytest.raises(pytest.skip.Exception, match="takes about 5.0 h"):
        harness.runs.skip_unless_it_fits(run, 5 * 3600.0, "timed over 3 steps")
    record = json.loads(next((tmp_path / "results" / "records").glob("*.json")).read_text())
    assert record["verdict"] == "NOT RUN" and "needs about 5.0 h on CPU: test (timed over 3 steps)" in record["notes"]
    assert _harness(tmp_path, max_hours=None).hours_left() is None


class _Counted(torch.nn.Module):
    """A small classifier that counts its forward calls (one a training step, all members at once under vmap)."""

    calls = 0

    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))

    def forward(self, x):
        type(self).calls += 1
        return self.net(x)


# How the members train (at batch 4 together, at 32 one after another: the hook then sees the first seed alone),
# the epochs that make 56 steps a member and 168 member-steps of 3 seeds on 32 images, and the members a step covers.
LAYOUTS = {"members-together": (4, 7, 168, 3), "members-one-after-another": (32, 56, 168, 1)}
# The timed steps' durations as the session's clock gives them, the median step, and the steps the check then took.
CLOCKS = {"one-second-steps": ([1.0] * 3, 1.0, 4), "a-pause-inside": ([1.0, 30.0, 1.0], 1.0, 4),
          "fast-steps": ([0.01] * 50, 0.01, 51)}


def _scripted_clock(monkeypatch, durations=None, readings=None):
    """The session's perf_counter giving ``readings`` (or those that make ``durations``), then standing still."""
    import time
    from types import SimpleNamespace

    import harness.runstore as runstore_module

    if readings is None:
        readings = np.concatenate([[0.0], np.cumsum(durations)]).tolist()
    ticks = iter(readings + readings[-1:] * 9)  # the NOT RUN record's wall time reads it too
    monkeypatch.setattr(runstore_module, "time", SimpleNamespace(time=time.time, perf_counter=lambda: next(ticks)))


def _budget_session(tmp_path, max_hours):
    from harness.runcache import RunCache
    from tests.test_engine import synthetic_data

    harness = _harness(tmp_path, max_hours=max_hours)
    harness.runs.memo_dir, harness.runs.run_cache = tmp_path / "memo", RunCache(tmp_path / "cache")
    harness.runs.memo_dir.mkdir()
    claim = catalog.get("r000.teacher_train_acc")
    harness.start(claim.id, claim.reading("literal"))
    data = synthetic_data(n=32)
    data.description = "synthetic: 32 images"
    return harness, data


def _trained_unstopped(harness, model_fn, cfg, data):
    try:
        return harness.trained(model_fn, {"model": "counted"}, cfg, data, None)
    except pytest.skip.Exception as stopped:  # a skip here would hide the failure
        pytest.fail(f"a run within the time budget was stopped: {stopped}")


@pytest.mark.parametrize("fits", [True, False], ids=["fits", "over"])
@pytest.mark.parametrize("clock", list(CLOCKS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_time_budget_is_checked_on_the_runs_own_first_steps(tmp_path, monkeypatch, layout, clock, fits):
    import json

    from filelock import FileLock

    batch, epochs, member_steps, members = LAYOUTS[layout]
    durations, per_step, calls = CLOCKS[clock]
    per_member_step = per_step / members
    estimate = member_steps * per_member_step
    # A minute to spare, or ten seconds short (the test itself takes well under a second of the budget).
    harness, data = _budget_session(tmp_path, (estimate + (60 if fits else -10)) / 3600)
    cfg = TrainConfig(epochs=epochs, batch_size=batch, lr=0.01)
    _Counted.calls = 0
    _scripted_clock(monkeypatch, durations)
    if fits:
        result = _trained_unstopped(harness, _Counted, cfg, data)
        assert result.steps * len(harness.seeds) == member_steps and not (tmp_path / "results" / "records").exists()
        return
    with pytest.raises(pytest.skip.Exception, match="takes about"):
        harness.trained(_Counted, {"model": "counted"}, cfg, data, None)
    assert _Counted.calls == calls  # the run stopped at the check
    record = json.loads(next((tmp_path / "results" / "records").glob("*.json")).read_text())
    assert record["verdict"] == "NOT RUN"
    assert (f"{member_steps} member-steps of {{'model': 'counted'}} at batch {batch}, {per_member_step:.3g} s each, "
            f"the median of its first {len(durations)} timed steps on this device; training steps only"
            ) in record["notes"]
    # Nothing half-written: no memo file, no cache entry, the lock free; the next claim to need the run checks again.
    assert not list(harness.runs.memo_dir.glob("*.pt")) and not list(harness.runs.memo_dir.glob("*.tmp"))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    for lock in harness.runs.memo_dir.glob("*.lock"):
        FileLock(str(lock)).acquire(timeout=0).lock.release()
    _scripted_clock(monkeypatch, durations)
    with pytest.raises(pytest.skip.Exception, match="takes about"):
        harness.trained(_Counted, {"model": "counted"}, cfg, data, None)


def test_members_one_after_another_are_timed_in_turn_until_the_window_is_full(tmp_path, monkeypatch):
    """Two steps a member: each member's first step is untimed, its second timed, until three are."""
    import json

    harness, data = _budget_session(tmp_path, 1e-9)  # nothing left: any estimate is over
    cfg = TrainConfig(epochs=2, batch_size=32, lr=0.01)  # one step an epoch, one member at a time
    _Counted.calls = 0
    # Readings after each member's steps 1 and 2: the timed steps take 1, 2 and 4 s; the gaps between members
    # (their first steps, building the next model) are never counted.
    _scripted_clock(monkeypatch, readings=[0.0, 1.0, 50.0, 52.0, 90.0, 94.0])
    with pytest.raises(pytest.skip.Exception, match="takes about"):
        harness.trained(_Counted, {"model": "counted"}, cfg, data, None)
    assert _Counted.calls == 6  # stopped at the third member's second step
    record = json.loads(next((tmp_path / "results" / "records").glob("*.json")).read_text())
    assert "6 member-steps of {'model': 'counted'} at batch 32, 2 s each, the median of its first 3 timed steps" \
        in record["notes"]


def test_a_run_watched_for_nan_is_decided_after_the_engines_all_nan_check_and_never_stopped_once_all_nan(
        tmp_path, monkeypatch):
    """An all-NaN run's later steps are not computed (they cost nothing): the check waits for the engine's first
    all-NaN check, and a run gone all NaN by then trains to its end whatever its first steps cost."""
    from harness.train.engine import ALL_NAN_CHECK_EVERY

    harness, data = _budget_session(tmp_path, 1e-9)  # nothing left: any estimate is over
    finite = TrainConfig(epochs=7, batch_size=4, lr=0.01, watch_nonfinite=True)  # 56 steps
    _Counted.calls = 0
    _scripted_clock(monkeypatch, [1.0] * 3)
    with pytest.raises(pytest.skip.Exception, match="takes about"):
        harness.trained(_Counted, {"model": "counted"}, finite, data, None)
    assert _Counted.calls == ALL_NAN_CHECK_EVERY + 1
    # A run with no more steps than the engine's check waits for is decided as soon as its window is full.
    short = TrainConfig(epochs=2, batch_size=4, lr=0.01, watch_nonfinite=True)  # 16 steps
    _Counted.calls = 0
    _scripted_clock(monkeypatch, [1.0] * 3)
    with pytest.raises(pytest.skip.Exception, match="takes about"):
        harness.trained(_Counted, {"model": "counted"}, short, data, None)
    assert _Counted.calls == 4
    diverging = TrainConfig(epochs=7, batch_size=4, lr=float("inf"), watch_nonfinite=True)
    _scripted_clock(monkeypatch, [1.0] * 3)
    result = _trained_unstopped(harness, _Counted, diverging, data)
    assert result.nan_from_step == ALL_NAN_CHECK_EVERY and result.steps == 56


def test_a_run_within_the_time_budget_trains_as_it_would_unchecked(tmp_path):
    from harness.train import train
    from tests.test_engine import synthetic_data

    harness = _harness(tmp_path, max_hours=100.0)
    claim = catalog.get("r000.teacher_train_acc")
    harness.start(claim.id, claim.reading("literal"))
    data = synthetic_data(n=32)
    data.description = "synthetic: 32 images"
    cfg = TrainConfig(epochs=2, batch_size=4, lr=0.01, momentum=0.9)
    checked = harness.trained(lambda: CifarCNN(3, "tanh"), {"n_fc": 3}, cfg, data, data)
    unchecked = train(lambda: CifarCNN(3, "tanh"), harness.seeds, data, data, cfg)
    assert checked.steps == unchecked.steps == 16
    for key in unchecked.history:
        np.testing.assert_array_equal(checked.history[key], unchecked.history[key])
    for a, b in zip(checked.model.state_dict().values(), unchecked.model.state_dict().values()):
        assert torch.equal(a, b)
    assert not (tmp_path / "results" / "records").exists()  # nothing recorded: the claim goes on


def test_progress_board_gets_the_engines_epochs_by_value(tmp_path):
    import logging

    from harness.progress import BoardHandler, ProgressBoard
    from harness.train import train

    board = ProgressBoard(tmp_path, "gw0")
    board.start_test("suites/r002/test_q1_depth.py::test_depth_sweep[momentum=0]")
    handler = BoardHandler(board)
    logger = logging.getLogger("harness.train")
    logger.addHandler(handler)
    try:
        g = np.random.default_rng(0)
        data = DeviceData((g.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), g.integers(0, 10, 8)), "cpu",
                          (0.5,) * 3, (0.5,) * 3)
        train(lambda: CifarCNN(3, "tanh"), [0, 1], data, data, TrainConfig(epochs=2, batch_size=4))
    finally:
        logger.removeHandler(handler)
    (state,) = ProgressBoard(tmp_path, "main").states()
    assert state["worker"] == "gw0" and state["test"] == "test_depth_sweep[momentum=0]"
    assert (state["epoch"], state["epochs"]) == (2, 2)
    assert len(state["loss"]) == len(state["acc"]) == len(state["test_acc"]) == 2  # per member, as numbers


def test_one_worker_per_gpu():
    from harness.plugin.settings import default_device

    assert default_device(None, 0) == "cpu" and default_device("gw3", 0) == "cpu"
    assert default_device(None, 4) == "cuda:0"
    assert [default_device(f"gw{k}", 2) for k in range(5)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]


def _collected(args):
    done = subprocess.run([sys.executable, "-m", "pytest", "suites", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_shards_are_disjoint_and_their_union_is_the_whole_selection(tmp_path):
    from harness.shards import assign_shards

    everything = _collected([])
    parts = [_collected(["--shard", f"{k}/3"]) for k in (1, 2, 3)]
    assert set().union(*parts) == everything and sum(len(p) for p in parts) == len(everything)
    assert all(parts)
    # Claims that share runs stay together: every momentum=0 reading of report 002 lands in one shard.
    holders = [i for i, p in enumerate(parts) if any("momentum=0]" in t or "momentum=0," in t for t in p)]
    assert len(holders) == 1
    assert assign_shards({"a": 5, "b": 3, "c": 2}, 2) == {"a": 0, "b": 1, "c": 1}
    assert assign_shards({"a": 5, "b": 3, "c": 2}, 1) == {"a": 0, "b": 0, "c": 0}  # --shard 1/1: everything


def test_families_come_from_the_declared_runs_and_workers_start_with_the_claim_tests(tmp_path):
    """Tests whose claims declare an equal run share a group, and so does every test linked to them by another:
    report 002's tests of one momentum (the 6-layer tanh net of the depth sweep and of each fix), report 000's Q1
    claims (every one trains or distils from a teacher, whatever optimizer its reading names); a test that declares
    no run (a judges' test, a unit test) is its module's family."""
    from types import SimpleNamespace

    import pytest

    from harness.claims import catalog
    from harness.plugin.session import ClaimsSession
    from harness.shards import run_families

    class Item(SimpleNamespace):
        def add_marker(self, mark):
            self.marks.append(mark)

        def iter_markers(self, name):
            return [m for m in self.marks if m.name == name]

    def item(path, claim_id=None, reading=None, name="test"):
        marks = [pytest.mark.claim(claim_id).mark] if claim_id else []
        params = {"reading": catalog.get(claim_id).reading(reading)} if claim_id else {}
        return Item(path=ROOT / path, nodeid=f"{path}::{name}[{reading}]", callspec=SimpleNamespace(params=params),
                    marks=marks, fixturenames=["claim", "reading"] if claim_id else [])

    r002 = item("suites/r002/test_q1_depth.py", "r002.depth_sweep", "momentum=0.9")
    fix = item("suites/r002/test_q1_fixes.py", "r002.fix_leaky_relu", "momentum=0.9")
    other_momentum = item("suites/r002/test_q1_fixes.py", "r002.fix_leaky_relu", "momentum=0")
    r000 = item("suites/r000/test_q1_student.py", "r000.student_fp16_nan", "sgd")
    teacher = item("suites/r000/test_q1_teacher.py", "r000.teacher_ema", "batch-norm")
    judges = item("suites/r002/test_judges.py")

    def session(worker: bool):
        # Collection reads only whether it is a worker, the profile, the shard option and (a worker's) memo folder.
        s = object.__new__(ClaimsSession)
        s.worker, s.harness = worker, SimpleNamespace(runs=SimpleNamespace(memo_dir=tmp_path), profile="smoke")
        return s

    def pytest_collection_modifyitems(config, items):
        session(hasattr(config, "workerinput")).pytest_collection_modifyitems(config, items)

    claim_tests = [r002, fix, other_momentum, r000, teacher]
    pytest_collection_modifyitems(SimpleNamespace(getoption=lambda name: None), [*claim_tests, judges])
    groups = {it.nodeid: [m.args[0] for m in it.marks if m.name == "xdist_group"] for it in [*claim_tests, judges]}
    assert groups[r002.nodeid] == groups[fix.nodeid] and len(groups[r002.nodeid]) == 1
    assert groups[other_momentum.nodeid] != groups[r002.nodeid]
    # student_fp16_nan's SGD student distils from the literal teacher, teacher_test_acc_zero's contrast links the
    # batch-norm one: teacher_ema [batch-norm] is the same family only through that test, which is not selected here.
    assert groups[r000.nodeid][0].startswith("r000.runs-") and groups[teacher.nodeid] != groups[r000.nodeid]
    assert groups[judges.nodeid] == []
    zero = item("suites/r000/test_q1_teacher.py", "r000.teacher_test_acc_zero", "literal")
    families = run_families([r000, teacher, zero, judges], "smoke")
    assert families[r000.nodeid] == families[teacher.nodeid] == families[zero.nodeid]
    assert families[judges.nodeid] == "suites/r002/test_judges.py"
    assert all(not any(c in name for c in "[]/:") for name in families.values() if name.startswith("r0"))
    # An xdist worker puts the claim tests (the long ones) first, in their order; one process keeps the order.
    unit = item("tests/test_engine.py")
    for config, order in [(SimpleNamespace(getoption=lambda name: None), [unit, r002, r000]),
                          (SimpleNamespace(getoption=lambda name: None, workerinput={}), [r002, r000, unit])]:
        items = [unit, r002, r000]
        pytest_collection_modifyitems(config, items)
        assert items == order
    # The worker left the claim tests' ids for its controller, which sees node ids only.
    assert json.loads((tmp_path / "claim-tests.json").read_text()) == sorted([r002.nodeid, r000.nodeid])


def test_a_path_option_split_from_its_value_under_xdist_is_refused_naming_the_fix(tmp_path):
    # The controller parses it, but its workers would take the (by then existing) folder for a test path.
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--results-dir", str(tmp_path / "out"),
                           "-p", "no:cacheprovider", "-k", "no_such_test"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert f"write --results-dir={tmp_path / 'out'} (one word)" in done.stdout + done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--seeds=0", "--first-seed=-1", "--max-hours=0", "--max-hours=-1"])
def test_an_invalid_seed_or_budget_option_is_a_usage_error_naming_it(option, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pytest", "suites/control", "-q", "-p", "no:cacheprovider", option,
                           f"--results-dir={tmp_path / 'results'}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert option.split("=")[0] in done.stderr
    assert not (tmp_path / "results").exists()  # nothing written


def test_two_models_a_spec_cannot_tell_apart_never_share_a_run_key():
    """The model is given twice, as code and as a spec: a spec that leaves out what the code changes (the
    activation, an initialization) must not make two nets one run."""
    from harness.models import CifarCNN
    from harness.runstore import architecture

    cfg, data = TrainConfig(epochs=1, batch_size=4), _data()
    keys = {run_key({"n_fc": 3}, cfg, data, None, [0], None, architecture(fn))
            for fn in (lambda: CifarCNN(3, "relu"), lambda: CifarCNN(3, "sigmoid"),
                       lambda: CifarCNN(3, "tanh"), lambda: CifarCNN(3, "tanh", init="xavier"))}
    assert len(keys) == 4
    same = architecture(lambda: CifarCNN(3, "tanh"))
    assert architecture(lambda: CifarCNN(3, "tanh")) == same  # by value: the same net is the same run
    before = torch.random.get_rng_state()
    architecture(lambda: CifarCNN(3, "tanh"))
    assert torch.equal(torch.random.get_rng_state(), before)  # building it to look leaves the global RNG alone
