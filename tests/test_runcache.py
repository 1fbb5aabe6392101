"""The results cache: a second identical session trains nothing, a code change retrains, a corrupt, crafted or
another run's entry retrains, every field of a run survives it, and it keeps to its own files."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from dataclasses import replace

import numpy as np
import pytest
import torch

import harness.runstore as runstore_module
from harness.models import CifarCNN
from harness.report import read_records
from harness.runcache import RunCache, deserialize, serialize
from harness.runcode import Dependencies
from harness.train import TrainConfig, TrainResult, train

from .test_engine import synthetic_data
from .test_session import _harness
from .test_train_result import full_run, same

CFG = TrainConfig(epochs=2, batch_size=4, lr=0.01, momentum=0.9, snapshot_epochs=(1,), ema_decay=0.9,
                  grad_norm_steps=(0, 5))


def _count_training(monkeypatch) -> list:
    calls = []
    real = runstore_module.train

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(runstore_module, "train", counting)
    return calls


def _session(tmp_path, cache):
    harness = _harness(tmp_path, max_hours=None)
    harness.runs.run_cache = cache
    return harness


def _data():
    data = synthetic_data(n=32)
    data.description = "synthetic: 32 images"
    return data


def _run(harness, data, cfg=CFG):
    return harness.trained(lambda: CifarCNN(3, "tanh"), {"n_fc": 3, "activation": "tanh"}, cfg, data, data)


def test_every_field_of_a_stored_run_loads_back_equal(tmp_path):
    """Every field of TrainResult, a field added later included (full_run gives each a value other than its
    default), stored and loaded through the cache: arrays bit for bit, ensembles by their state_dict tensors."""
    run = full_run()
    cache = RunCache(tmp_path)
    cache.store(run.key, "c", run)  # the cache records the key it is stored under as the run's
    back = cache.load(run.key, "c", lambda: CifarCNN(3, "tanh"), "cpu", run.seeds)
    assert back is not None
    for f in dataclasses.fields(TrainResult):
        assert same(getattr(back, f.name), getattr(run, f.name)), f"{f.name} does not survive the results cache"


def test_the_stored_layout_is_each_field_under_its_name():
    """What entries of format 2 hold, so that they load: a change here is a new FORMAT."""
    payload = serialize(full_run())
    assert set(payload) == {"format", *(f.name for f in dataclasses.fields(TrainResult))} and payload["format"] == 2
    assert isinstance(payload["nonfinite"], str) and list(payload["grad_norms"]) == ["0", "5", "9"]
    assert list(payload["snapshots"]) == ["1", "2"] and payload["nan_from_step"] == 12
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float64 for v in payload["history"].values())
    assert all(isinstance(v, torch.Tensor) for v in payload["model"].values()) and isinstance(payload["seconds"], float)
    back = deserialize(payload, lambda: CifarCNN(3, "tanh"), "cpu")
    assert same(back.snapshots, full_run().snapshots) and back.nan_from_step == 12


def test_a_second_identical_session_trains_nothing(tmp_path, monkeypatch):
    calls = _count_training(monkeypatch)
    cache, data = RunCache(tmp_path / "cache"), _data()
    first = _run(_session(tmp_path, cache), data)
    second = _run(_session(tmp_path, cache), data)  # a new session: its own (empty) memo
    assert len(calls) == 1 and len(cache.entries()) == 1
    np.testing.assert_array_equal(first.history["test_acc"], second.history["test_acc"])
    assert "1 runs" in cache.status() and cache.clear() == (1, 0) and cache.entries() == []


def test_a_code_change_trains_again(tmp_path, monkeypatch):
    calls = _count_training(monkeypatch)
    cache, data = RunCache(tmp_path / "cache"), _data()
    _run(_session(tmp_path, cache), data)
    monkeypatch.setattr(runstore_module, "run_dependencies",
                        lambda caller, model_fn: Dependencies({"harness/train/engine.py": "the engine changed"}))
    _run(_session(tmp_path, cache), data)
    assert len(calls) == 2 and len(cache.entries()) == 2


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_corrupt_entry_is_reported_and_trained_again(tmp_path, monkeypatch, caplog, damage):
    calls = _count_training(monkeypatch)
    cache, data = RunCache(tmp_path / "cache"), _data()
    _run(_session(tmp_path, cache), data)
    entry = cache.entries()[0]
    raw = entry.read_bytes()
    entry.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else raw[:-10] + bytes(10))
    with caplog.at_level("WARNING", logger="harness.cache"):
        again = _run(_session(tmp_path, cache), data)
    assert len(calls) == 2 and "corrupt" in caplog.text
    assert np.isfinite(again.history["train_loss"]).all() and len(cache.entries()) == 1


def test_cache_status_and_clear_on_the_command_line(tmp_path, capsys):
    from harness.cli import main

    cache = RunCache(tmp_path / "runs")
    result = train(lambda: CifarCNN(3, "tanh"), [0], _data(), None, TrainConfig(epochs=1, batch_size=4, max_steps_per_epoch=2))
    cache.store("k", "c", result)
    assert main(["cache", "status", "--cache-dir", str(cache.folder)]) == 0
    assert "1 runs" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(cache.folder)]) == 0
    assert "removed 1 cached runs" in capsys.readouterr().out and cache.entries() == []


def test_two_swapped_entries_are_each_reported_and_trained_again(tmp_path, monkeypatch, caplog):
    """A copy or sync tool that swaps two entries (their checksums with them) must not serve one run as the other."""
    calls = _count_training(monkeypatch)
    cache, data = RunCache(tmp_path / "cache"), _data()
    plain = replace(CFG, momentum=0.0)
    expected = _run(_session(tmp_path, cache), data, plain)
    _run(_session(tmp_path, cache), data)
    a, b = cache.entries()
    for suffix in (".pt", ".sha256"):
        a_bytes, b_bytes = a.with_suffix(suffix).read_bytes(), b.with_suffix(suffix).read_bytes()
        a.with_suffix(suffix).write_bytes(b_bytes)
        b.with_suffix(suffix).write_bytes(a_bytes)
    with caplog.at_level("WARNING", logger="harness.cache"):
        again = _run(_session(tmp_path, cache), data, plain)
    assert len(calls) == 3 and "holds another run" in caplog.text and len(cache.entries()) == 2
    assert any(str(p) in caplog.text for p in (a, b))
    np.testing.assert_array_equal(again.history["train_loss"], expected.history["train_loss"])


@pytest.mark.parametrize("differs", ["key", "code", "seeds"])
def test_an_entry_proves_it_is_the_run_asked_for(tmp_path, caplog, differs):
    cache = RunCache(tmp_path / "cache")
    result = train(lambda: CifarCNN(3, "tanh"), [0], _data(), None, TrainConfig(epochs=1, batch_size=4, max_steps_per_epoch=2))
    result.key = "k"
    stored = cache.store("k", "c", result)
    asked = {"key": "k", "code": "c", "seeds": [0], differs: "other" if differs != "seeds" else [1]}
    for suffix in (".pt", ".sha256"):  # the entry under the name the other run would have
        cache.path(asked["key"], asked["code"]).with_suffix(suffix).write_bytes(stored.with_suffix(suffix).read_bytes())
    with caplog.at_level("WARNING", logger="harness.cache"):
        assert cache.load(asked["key"], asked["code"], lambda: CifarCNN(3, "tanh"), "cpu", asked["seeds"]) is None
    assert f"holds another run (its {differs}" in caplog.text
    assert not cache.path(asked["key"], asked["code"]).exists()  # removed: the next session trains it


class _Crafted:
    """What a crafted entry may hold: an object whose unpickling would call a function."""

    def __reduce__(self):
        return (print, ("this ran on load",))


def test_a_crafted_entry_is_reported_removed_and_trained_again(tmp_path, monkeypatch, caplog):
    calls = _count_training(monkeypatch)
    cache, data = RunCache(tmp_path / "cache"), _data()
    _run(_session(tmp_path, cache), data)
    entry = cache.entries()[0]
    torch.save({"format": 1, "model": _Crafted()}, entry)
    entry.with_suffix(".sha256").write_text(hashlib.sha256(entry.read_bytes()).hexdigest() + "\n")  # checksum matches
    with caplog.at_level("WARNING", logger="harness.cache"):
        again = _run(_session(tmp_path, cache), data)
    assert len(calls) == 2 and str(entry) in caplog.text and "Unpickling" in caplog.text
    assert np.isfinite(again.history["train_loss"]).all() and len(cache.entries()) == 1


def test_cache_status_and_clear_touch_only_the_harness_entries(tmp_path, capsys):
    from harness.cli import main

    cache = RunCache(tmp_path / "runs")
    cache.store("k", "c", train(lambda: CifarCNN(3, "tanh"), [0], _data(), None,
                                TrainConfig(epochs=1, batch_size=4, max_steps_per_epoch=2)))
    mine = {name: cache.folder / name for name in ("my_model.pt", "my_model.sha256", f"{'f' * 39}.pt", "calibration.json")}
    for path in mine.values():
        path.write_text("a user's file")
    entry = cache.path('k2', 'c')
    left = [cache.folder / f".{entry.name}.x1y2_z.tmp",  # what a killed write leaves, of an entry or its checksum
            cache.folder / f".{entry.with_suffix('.sha256').name}.a_b9.tmp"]
    for path in left:
        path.write_bytes(b"half")
    assert main(["cache", "status", "--cache-dir", str(cache.folder)]) == 0
    assert "1 runs" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(cache.folder)]) == 0
    assert "removed 1 cached runs" in capsys.readouterr().out
    assert all(path.read_text() == "a user's file" for path in mine.values()) and not any(p.exists() for p in left)
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted(mine)
    assert main(["cache", "status", "--cache-dir", str(mine["calibration.json"])]) == 2  # a file: named, not "0 runs"
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_cache_that_became_unwritable_keeps_the_finished_run_for_this_session(tmp_path, caplog):
    """The session checks the folder before training (tests/test_faults.py); should it go after, the run that just
    finished is still judged: only later sessions lose it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with caplog.at_level("WARNING", logger="harness"):
        result = _run(_session(tmp_path, RunCache(blocker)), _data())
    assert np.isfinite(result.history["train_loss"]).all() and "could not be stored" in caplog.text
    assert str(blocker) in caplog.text


def test_cache_entries_get_the_mode_the_umask_gives(tmp_path):
    old = os.umask(0o022)
    try:
        path = RunCache(tmp_path).store("k", "c", train(lambda: CifarCNN(3, "tanh"), [0], _data(), None,
                                                        TrainConfig(epochs=1, batch_size=4, max_steps_per_epoch=2)))
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert stat.S_IMODE(path.with_suffix(".sha256").stat().st_mode) == 0o644
    finally:
        os.umask(old)


class _Killed(BaseException):
    """A kill at an epoch's end, after its checkpoint was kept."""


def _budget_session(tmp_path, max_hours):
    from harness.claims import catalog

    harness = _harness(tmp_path, max_hours=max_hours)
    harness.runs.run_cache = RunCache(tmp_path / "cache")
    claim = catalog.get("r000.teacher_train_acc")
    harness.start(claim.id, claim.reading("literal"))
    return harness


def test_a_resumed_run_stopped_by_the_time_budget_keeps_its_checkpoints_and_is_costed_for_what_is_left(
        tmp_path, monkeypatch):
    from harness import runcache

    monkeypatch.setattr(runstore_module, "BUDGET_MAX_TIMED", 3)
    data, cfg = _data(), TrainConfig(epochs=6, batch_size=4, lr=0.01)
    keep = runcache.RunCheckpoints.save

    def killed_after_epoch_4(self, seeds, state):
        keep(self, seeds, state)
        if state["epoch"] == 4:
            raise _Killed

    monkeypatch.setattr(runcache.RunCheckpoints, "save", killed_after_epoch_4)
    with pytest.raises(_Killed):
        _run(_budget_session(tmp_path, None), data, cfg)
    monkeypatch.setattr(runcache.RunCheckpoints, "save", keep)
    partials = sorted((tmp_path / "cache").glob("*.partial.*.pt"))
    assert partials
    harness = _budget_session(tmp_path, 1e-9)  # a budget nothing fits in
    with pytest.raises(pytest.skip.Exception):
        _run(harness, data, cfg)
    (record,) = read_records(harness.results_dir)
    assert "member-steps left (after" in record["notes"]  # costed for the 2 epochs left, not the whole run
    assert sorted((tmp_path / "cache").glob("*.partial.*.pt")) == partials  # 4 epochs of training kept


def test_a_full_cache_disk_costs_the_checkpoints_and_the_entry_never_the_run(tmp_path, monkeypatch, caplog):
    from harness import runcache

    def disk_full(*args, **kwargs):  # what torch.save raises on a full disk
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 128 vs 64")

    monkeypatch.setattr(runcache.torch, "save", disk_full)
    harness = _budget_session(tmp_path, None)
    result = _run(harness, _data(), TrainConfig(epochs=2, batch_size=4, lr=0.01))
    assert result.history["train_loss"].shape[1] == 2 and np.isfinite(result.history["train_loss"]).all()
    assert "could not keep a checkpoint" in caplog.text and "could not be stored" in caplog.text
    assert not RunCache(tmp_path / "cache").entries()
