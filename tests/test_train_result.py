"""TrainResult's fields, each declared once with its kind: selecting members, joining member groups trained one after
another and truncating carry every field, a truncated run is the shorter run, and a field without a kind is named.
(The results cache's round trip of every field: tests/test_runcache.py.)"""

from __future__ import annotations

import functools
import math
from dataclasses import MISSING, dataclass, field, fields, replace

import numpy as np
import pytest
import torch

from harness.models import CifarCNN
from harness.train import Ensemble, TrainConfig, TrainResult, train
from harness.train.result import Kind, kind_of

from .test_engine import synthetic_data

MODEL_FN = lambda: CifarCNN(3, "tanh")  # noqa: E731
# 32 images in batches of 4: 8 steps an epoch, 16 in all.
FULL_CFG = TrainConfig(epochs=2, batch_size=4, lr=0.01, momentum=0.9, ema_decay=0.9, watch_nonfinite=True,
                       grad_norm_steps=(0, 5, 9), running_loss_window=3, snapshot_epochs=(1, 2))


def same(a, b) -> bool:
    """``a`` and ``b`` hold the same values bit for bit (NaN payloads included), whatever their types; ensembles by
    their state_dict tensors."""
    if isinstance(a, Ensemble):
        return isinstance(b, Ensemble) and same(a.state_dict(), b.state_dict())
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, torch.Tensor):
        return (isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
                and torch.equal(_bits(a), _bits(b)))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().cpu().flatten().view(torch.uint8)


def _default(f):
    return f.default if f.default is not MISSING else f.default_factory() if f.default_factory is not MISSING else None


@functools.cache
def full_run() -> TrainResult:
    """A run of three members with a value other than its default (or None) in every field, so that a field's round
    trip is checked: what a finite run leaves empty, its non-finite events and the step from which every member was
    all NaN, is set by hand (member 2's event after the first epoch, the all-NaN step too)."""
    result = train(MODEL_FN, [0, 1, 2], synthetic_data(n=32), synthetic_data(n=16, seed=1), FULL_CFG)
    result = replace(result, key="the run's key", nan_from_step=12,
                     nonfinite=[{"step": 3, "tensor": "gradient conv1.weight"}, {"step": None, "tensor": None},
                                {"step": 11, "tensor": "loss"}])
    for f in fields(TrainResult):
        value = getattr(result, f.name)
        assert value is not None and not same(value, _default(f)), f"give {f.name} a value in full_run: it is {value!r}"
    return result


@pytest.mark.parametrize("f", fields(TrainResult), ids=lambda f: f.name)
def test_every_field_declares_its_kind(f):
    assert isinstance(kind_of(f), Kind)


def test_a_field_declared_without_a_kind_is_named():
    @dataclass
    class WithANewField(TrainResult):
        learning_rates: list = field(default_factory=list)

    run = WithANewField(**{f.name: getattr(full_run(), f.name) for f in fields(TrainResult)}, learning_rates=[0.1] * 3)
    for use in (lambda: run.select(slice(0, 1)), lambda: WithANewField.concat([run, run]), lambda: run.truncated(1),
                lambda: run.encode(lambda e: e.state_dict())):
        with pytest.raises(TypeError, match=r"TrainResult\.learning_rates declares no kind"):
            use()


def test_members_selected_then_joined_again_are_the_run():
    run = full_run()
    first, rest = run.select(slice(0, 1)), run.select(slice(1, 3))
    assert (first.seeds, rest.seeds) == ([0], [1, 2]) and (first.model.size, rest.ema.size) == (1, 2)
    assert rest.nonfinite == run.nonfinite[1:] and rest.history["test_acc"].shape == (2, 2)
    assert {s: g.shape for s, g in rest.grad_norms.items()} == {0: (2, 5), 5: (2, 5), 9: (2, 5)}
    assert (rest.steps, rest.seconds, rest.key, rest.nan_from_step) == (run.steps, run.seconds, run.key, 12)
    joined = TrainResult.concat([first, rest])
    for f in fields(TrainResult):
        # Each selection keeps the whole run's seconds (trained together, they took them together); joined groups
        # are groups trained one after another, whose seconds add up.
        expected = 2 * run.seconds if f.name == "seconds" else getattr(run, f.name)
        assert same(getattr(joined, f.name), expected), f"{f.name} does not survive selecting members and joining them"


def test_joined_groups_are_all_nan_from_the_last_groups_step_and_only_if_every_group_is():
    run = full_run()
    groups = [run.select(slice(0, 1)), run.select(slice(1, 3))]
    assert TrainResult.concat([replace(groups[0], nan_from_step=5), groups[1]]).nan_from_step == 12
    assert TrainResult.concat([groups[0], replace(groups[1], nan_from_step=None)]).nan_from_step is None


def test_truncated_cuts_every_field_to_the_first_epochs():
    run = full_run()
    cut = run.truncated(1)
    assert cut.model is run.snapshots[1] and cut.ema is None and list(cut.snapshots) == [1]
    assert cut.history.keys() == run.history.keys()
    assert all(same(cut.history[k], v[:, :1]) for k, v in run.history.items())
    assert list(cut.grad_norms) == [0, 5] and cut.steps == 8 and cut.steps_per_epoch == 8
    # Member 2's event came at step 11, after the cut: the shorter run never met it (nor its tensor).
    assert cut.nonfinite == [run.nonfinite[0], {"step": None, "tensor": None}, {"step": None, "tensor": None}]
    assert cut.nan_from_step is None  # found all NaN after step 12: the 8-step run never was
    assert cut.seeds == run.seeds and cut.grad_norm_layers == run.grad_norm_layers
    assert cut.seconds == run.seconds / 2 and cut.key == "the run's key[:1 epochs]"
    whole = run.truncated(2)  # every epoch: the run, but for its EMA (no snapshot keeps one) and its key
    for f in fields(TrainResult):
        if f.name not in ("ema", "key"):
            assert same(getattr(whole, f.name), getattr(run, f.name)), f.name
    for f in fields(TrainResult):  # cut twice is cut once, its key aside
        if f.name != "key":
            assert same(getattr(whole.truncated(1), f.name), getattr(cut, f.name)), f.name
    with pytest.raises(KeyError, match="snapshot_epochs"):
        cut.truncated(2)


@pytest.mark.parametrize("activation,cfg,check_every", [
    ("tanh", TrainConfig(epochs=2, batch_size=4, lr=0.01, momentum=0.9, running_loss_window=5, ema_decay=0.9,
                         watch_nonfinite=True, grad_norm_steps=(0, 20, 40), snapshot_epochs=(1, 2)), None),
    # Non-finite at step 2, all NaN soon after; checked for that every 7 steps: the first check is in epoch 2 (of
    # 5 steps each), so the 1-epoch run never finds it.
    ("relu", TrainConfig(epochs=2, batch_size=8, optimizer="sgd", lr=1e6, momentum=0.9, watch_nonfinite=True,
                         grad_norm_steps=(0, 6, 12), snapshot_epochs=(1, 2)), 7),
], ids=["finite", "all-nan-in-epoch-2"])
@pytest.mark.parametrize("epochs", [1, 2])
def test_a_truncated_run_is_the_shorter_run_in_every_field(activation, cfg, check_every, epochs, monkeypatch):
    """The first epochs of a longer run, field by field, are the shorter run: all but its seconds (measured),
    its key (named for the cut) and its EMA (no snapshot keeps one)."""
    from harness.train import engine

    if check_every is not None:
        monkeypatch.setattr(engine, "ALL_NAN_CHECK_EVERY", check_every)
    data, test = synthetic_data(n=64 if check_every is None else 40), synthetic_data(n=16, seed=1)
    model_fn = lambda: CifarCNN(3, activation)  # noqa: E731
    longer = train(model_fn, [0, 1], data, test, replace(cfg, epochs=4))
    shorter = train(model_fn, [0, 1], data, test,
                    replace(cfg, epochs=epochs, snapshot_epochs=tuple(e for e in cfg.snapshot_epochs if e <= epochs)))
    if check_every is not None:
        assert longer.nan_from_step == 7 and shorter.nan_from_step == (7 if epochs == 2 else None)
    cut = longer.truncated(epochs)
    for f in fields(TrainResult):
        if f.name not in ("seconds", "key", "ema"):
            assert same(getattr(cut, f.name), getattr(shorter, f.name)), f"{f.name}: the cut run's is not the shorter's"
