"""What a run measured: :class:`TrainResult`, each field declared once with its :class:`Kind`.

A field's kind says how its value follows the run: cut to some of its members (:meth:`TrainResult.select`), joined
across member groups trained one after another (:meth:`TrainResult.concat`), cut to the run's first epochs
(:meth:`TrainResult.truncated`), and kept as plain tensors, numbers and strings in the results cache
(:meth:`TrainResult.encode`, :meth:`TrainResult.decode`). Those are loops over the fields, so a new field is
written where it is declared and where it is measured (``engine._train_group``), and nowhere else; a field declared
without a kind stops the import, naming it.
"""

from __future__ import annotations

import json
from dataclasses import Field, dataclass, field, fields, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .ensemble import Ensemble


def _keep(value, *_):
    return value


def _first(values: list):
    return values[0]


@dataclass(frozen=True)
class Kind:
    """How one field of a :class:`TrainResult` follows its run; the defaults are those of a value of the whole run,
    the same for each of its members.

    ``select(value, members)``: the value of the members ``members`` (a slice) as a run of their own.
    ``concat(values)``: the value of the run made of ``values``' runs, member groups of one run trained one after
    another (so what is the run's is the first group's).
    ``truncate(value, run, epochs)``: ``run``'s value as it stood after its first ``epochs`` epochs.
    ``encode(value, state_of)``: the value as the results cache keeps it (what ``torch.load(weights_only=True)``
    accepts), an ensemble as ``state_of`` makes it tensors; ``decode(stored, rebuild)`` is its inverse, ``rebuild``
    making an ensemble of those tensors again. What they store is the cache's layout: a change to one calls for a
    new ``harness.runcache.FORMAT``.
    """

    select: Callable[[Any, slice], Any] = _keep
    concat: Callable[[list], Any] = _first
    truncate: Callable[[Any, "TrainResult", int], Any] = _keep
    encode: Callable[[Any, Callable], Any] = _keep
    decode: Callable[[Any, Callable], Any] = _keep


def _shared(cast: Callable) -> Kind:
    """A value of the whole run, stored as ``cast`` makes it (a Python number, string or list: a numpy scalar would
    not load with ``weights_only``); None stays None."""
    def plain(value, _):
        return None if value is None else cast(value)
    return Kind(encode=plain, decode=plain)


def _part(ensemble: Ensemble, members: slice) -> Ensemble:
    return Ensemble([ensemble.member(i) for i in range(ensemble.size)[members]])


# One entry a member, in member order.
MEMBERS = Kind(select=lambda items, members: items[members], concat=lambda lists: [x for items in lists for x in items],
               encode=lambda items, _: list(items), decode=lambda items, _: list(items))
# An ensemble (members stacked on dim 0 of each tensor), or None where the run has none.
ENSEMBLE = Kind(select=lambda e, members: None if e is None else _part(e, members),
                concat=lambda es: None if es[0] is None else Ensemble.concat(es),
                encode=lambda e, state_of: None if e is None else state_of(e),
                decode=lambda state, rebuild: None if state is None else rebuild(state))
# An array whose axis 0 is the members.
MEMBER_ARRAY = Kind(select=lambda a, members: a[members], concat=np.concatenate,
                    encode=lambda a, _: torch.from_numpy(np.asarray(a)), decode=lambda t, _: t.numpy())


def _keyed(inner: Kind, key: Callable[[str], Any]) -> Kind:
    """A dict of values of kind ``inner``, stored under its keys as strings (``key`` reads one back); the same keys
    in every member group. Truncating is the field's own."""
    return Kind(select=lambda d, members: {k: inner.select(v, members) for k, v in d.items()},
                concat=lambda ds: {k: inner.concat([d[k] for d in ds]) for k in ds[0]},
                encode=lambda d, state_of: {str(k): inner.encode(v, state_of) for k, v in d.items()},
                decode=lambda d, rebuild: {key(k): inner.decode(v, rebuild) for k, v in d.items()})


def _cut(run: "TrainResult", epochs: int) -> int:
    """The steps of ``run``'s first ``epochs`` epochs."""
    return epochs * run.steps_per_epoch


# Measurement name -> members x epochs.
PER_EPOCH = replace(_keyed(MEMBER_ARRAY, str), truncate=lambda h, _, epochs: {k: v[:, :epochs] for k, v in h.items()})
# Global step (0-based) -> an array per member; the steps of the first epochs are those before the cut.
PER_STEP = replace(_keyed(MEMBER_ARRAY, int),
                   truncate=lambda d, run, epochs: {s: v for s, v in d.items() if s < _cut(run, epochs)})
# Epoch (1-based) -> the ensemble after it; the first epochs' snapshots are those up to the last of them.
PER_EPOCH_ENSEMBLE = replace(_keyed(ENSEMBLE, int),
                             truncate=lambda d, _, epochs: {e: m for e, m in d.items() if e <= epochs})


def _events_before(events: list[dict], run: "TrainResult", epochs: int) -> list[dict]:
    """A member whose first non-finite value came after the cut reports none, as the shorter run would."""
    cut = _cut(run, epochs)
    return [e if e["step"] is not None and e["step"] < cut else {"step": None, "tensor": None} for e in events]


def _seconds_of_epochs(seconds: float, run: "TrainResult", epochs: int) -> float:
    # The time up to a snapshot is not measured: the run's share of its epochs stands for it.
    return seconds * epochs / max(1, run.history["train_loss"].shape[1])


def _all_nan_from(values: list[int | None]) -> int | None:
    # Every member is all NaN from the step the last of the groups was found so (never while one group is not).
    return None if any(v is None for v in values) else max(values)


def _nan_within(step: int | None, run: "TrainResult", epochs: int) -> int | None:
    # The check that found it ran once `step` steps were done: a shorter run of at least as many steps ran it too.
    return step if step is not None and step <= _cut(run, epochs) else None


def _kind(kind: Kind, **kwargs) -> Field:
    return field(metadata={"kind": kind}, **kwargs)


@dataclass
class TrainResult:
    """What a run measured. Per-epoch arrays are ``members x epochs``."""

    seeds: list[int] = _kind(MEMBERS)
    model: Ensemble = _kind(replace(ENSEMBLE, truncate=lambda _, run, epochs: run.snapshots[epochs]))
    ema: Ensemble | None = _kind(replace(ENSEMBLE, truncate=lambda *_: None))  # no snapshot keeps the EMA
    history: dict[str, np.ndarray] = _kind(PER_EPOCH)
    nonfinite: list[dict] = _kind(replace(MEMBERS, truncate=_events_before,
                                          encode=lambda events, _: json.dumps(events, default=str),
                                          decode=lambda text, _: json.loads(text)), default_factory=list)
    grad_norms: dict[int, np.ndarray] = _kind(PER_STEP, default_factory=dict)  # step -> members x layers
    grad_norm_layers: list[str] = _kind(_shared(list), default_factory=list)
    seconds: float = _kind(replace(_shared(float), concat=sum, truncate=_seconds_of_epochs), default=0.0)
    steps: int = _kind(replace(_shared(int), truncate=lambda _, run, epochs: _cut(run, epochs)), default=0)
    # The session's memo key of this run (its full specification), when trained through it.
    key: str = _kind(replace(_shared(str), truncate=lambda key, _, epochs: f"{key}[:{epochs} epochs]"), default="")
    snapshots: dict[int, Ensemble] = _kind(PER_EPOCH_ENSEMBLE, default_factory=dict)  # epoch -> the model after it
    steps_per_epoch: int = _kind(_shared(int), default=0)
    # Every member (and its EMA) was all NaN here: later steps were not computed.
    nan_from_step: int | None = _kind(replace(_shared(int), concat=_all_nan_from, truncate=_nan_within), default=None)

    def final(self, key: str) -> np.ndarray:
        """Last-epoch value of history ``key`` for each member."""
        return self.history[key][:, -1]

    def select(self, members: slice) -> "TrainResult":
        """The members ``members`` as a run of their own; what is the whole run's (its seconds, its steps) stays."""
        return type(self)(**{f.name: kind_of(f).select(getattr(self, f.name), members) for f in fields(self)})

    @classmethod
    def concat(cls, parts: Sequence["TrainResult"]) -> "TrainResult":
        """One run of the members of ``parts``, in order: groups of one run trained one after another (its seconds
        are theirs together)."""
        return cls(**{f.name: kind_of(f).concat([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def truncated(self, epochs: int) -> "TrainResult":
        """This run as it stood after ``epochs`` epochs: the same run cut short (its snapshot, its history).

        With a constant learning rate and each member's data order drawn epoch by epoch from its own
        generator, the first epochs of a longer run are exactly the shorter run, field by field
        (tests/test_train_result.py), but for these: the EMA is not kept at a snapshot (None), the seconds are
        the run's share of its epochs, the key is named for the cut, and the gradient norms are those the longer
        run kept within the cut (at the steps its own ``grad_norm_steps`` named, which a config spreading them
        over the run's length places otherwise than the shorter run's; no claim reads a cut run's norms).
        """
        if epochs not in self.snapshots:
            raise KeyError(f"no snapshot after epoch {epochs}: train with snapshot_epochs=({epochs},); "
                           f"snapshots: {sorted(self.snapshots)}")
        return type(self)(**{f.name: kind_of(f).truncate(getattr(self, f.name), self, epochs) for f in fields(self)})

    def encode(self, state_of: Callable[[Ensemble], dict]) -> dict:
        """Every field by its name, as the results cache keeps it (see :class:`Kind`)."""
        return {f.name: kind_of(f).encode(getattr(self, f.name), state_of) for f in fields(self)}

    @classmethod
    def decode(cls, payload: dict, rebuild: Callable[[dict], Ensemble]) -> "TrainResult":
        """The run :meth:`encode` stored in ``payload`` (other entries of it are left alone)."""
        return cls(**{f.name: kind_of(f).decode(payload[f.name], rebuild) for f in fields(cls)})


def kind_of(f: Field) -> Kind:
    """The kind declared for the field ``f`` of a :class:`TrainResult`; TypeError, naming it, where there is none."""
    kind = f.metadata.get("kind")
    if not isinstance(kind, Kind):
        raise TypeError(f"TrainResult.{f.name} declares no kind: declare it with _kind(...) (see harness.train.result)"
                        " so that selecting members, joining, truncating and the results cache carry it")
    return kind


for _field in fields(TrainResult):
    kind_of(_field)
del _field
