"""A cache of finished training runs that outlives the session: reruns and interrupted runs cost little.

An entry is keyed by the run's full specification (the session's run key: model, training config, data, seeds,
teacher) and by the code training depends on (:mod:`harness.runcode`: the harness's training code listed in
``TRAINING_CODE``, the torch release, the model's files and the code that declared the run, each hashed) with the
machine's kernels, so a change to the engine, the models, a user's model file or the lines that set up a run trains
again, and a change to a judge, a table, the CLI or another test does not (``python -m harness rejudge`` re-judges
stored records without training). Entries hold plain tensors, numbers and strings only, loaded with
``torch.load(weights_only=True)`` (no code runs on load), with a SHA-256 beside each; each also records the key,
code hash and seeds of its run, compared with those asked for on load (a checksum only proves that a file matches
its own checksum file, not that it is this run: a copy or sync tool may swap two entries). A corrupt, truncated,
crafted or another run's entry is reported, removed and trained again, never trusted. While a run trains it keeps
a checkpoint beside its entry at the end of every epoch (:class:`RunCheckpoints`, checked alike): a run killed
part-way resumes from its last finished epoch, and its checkpoints go once its entry is stored.

Entries and checkpoints also record what their code depended on (``depends``: each source's label and SHA-256,
``torch``, ``machine``; metadata beside the fields :func:`deserialize` reads, so the format is unchanged and an
entry without them is one from before they were recorded). :meth:`RunCache.status` hashes those sources again now
and says which entries are current and which stale, and why; :meth:`RunCache.prune` removes those no session loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .atomic import atomic_path, write_text_atomic
from .data.cache import fingerprint
from .runcode import forget, staleness
from .train import Ensemble, TrainResult, build_members

log = logging.getLogger("harness.cache")
FORMAT = 2  # 2: the run's identity (key, code) and nan_from_step
# The names the cache gives its files (see RunCache.path and _write): a folder shared with other files
# (a user's my_model.pt) keeps them through `cache status` and `cache clear`.
ENTRY_NAME = re.compile(r"[0-9a-f]{40}\.pt")
PARTIAL_NAME = re.compile(r"[0-9a-f]{40}\.partial\.\d+(-\d+)*\.pt")
LEFT_BY_A_WRITE = re.compile(r"\.[0-9a-f]{40}(\.partial\.\d+(-\d+)*)?\.(pt|sha256)\.\w+\.tmp")  # entry or checksum
def _ensemble_state(model: Ensemble | None):
    return None if model is None else {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _rebuild(state: dict, model_fn: Callable, seeds: list[int], device) -> Ensemble:
    model = Ensemble(build_members(model_fn, seeds))
    dtype = next(v for k, v in state.items() if k in dict(model.named_parameters())).dtype
    model = model.to(dtype=dtype)
    model.load_state_dict(state)
    return model.to(device)


def serialize(result: TrainResult) -> dict:
    """A :class:`TrainResult` as tensors, numbers and strings (what ``weights_only`` loading accepts): each field
    under its name, as its kind encodes it (:class:`harness.train.result.Kind`)."""
    return {"format": FORMAT, **result.encode(_ensemble_state)}


def deserialize(payload: dict, model_fn: Callable, device) -> TrainResult:
    """The :class:`TrainResult` that :func:`serialize` stored, its ensembles rebuilt from ``model_fn``."""
    if payload.get("format") != FORMAT:
        raise ValueError(f"cache entry format {payload.get('format')!r}, expected {FORMAT}")
    seeds = list(payload["seeds"])
    return TrainResult.decode(payload, lambda state: _rebuild(state, model_fn, seeds, device))


class NotThisRun(ValueError):
    """An entry whose checksum holds but which records another run than the one asked for."""


def _check_identity(payload: dict, expected: dict) -> None:
    """Raise :class:`NotThisRun` unless ``payload`` records the run ``expected`` names (its key, which holds the
    run's full specification and its data's description, its code hash, its seeds)."""
    for name, value in expected.items():
        if payload.get(name) != value:
            raise NotThisRun(f"holds another run (its {name} {_short(payload.get(name))}, asked for {_short(value)})")


def _short(value) -> str:
    return f"{value[:12]}…" if isinstance(value, str) and len(value) > 12 else repr(value)


def _read(path: Path, expected: dict, decode: Callable[[dict], object]):
    """``decode`` of the payload at ``path`` once its checksum and identity (``expected``) hold; None when there is
    none. Anything else (corrupt, truncated, crafted, another run's) is reported, removed, and None: the run is
    trained again. Any exception counts: loading a crafted file raises what its bytes make it raise
    (``UnpicklingError`` for a forbidden global), and no entry is worth failing a test over."""
    if not path.exists():
        return None
    try:
        expected_digest = path.with_suffix(".sha256").read_text().strip()
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected_digest:
            raise ValueError(f"SHA-256 is {actual[:12]}…, expected {expected_digest[:12]}…")
        payload = torch.load(path, weights_only=True, map_location="cpu")
        if not isinstance(payload, dict):
            raise ValueError(f"holds a {type(payload).__name__}, not an entry")
        _check_identity(payload, expected)
        return decode(payload)
    except Exception as exc:  # noqa: BLE001 — see the docstring: reported with its file, then trained again
        why = str(exc) if isinstance(exc, NotThisRun) else f"corrupt or unreadable: {type(exc).__name__}: {exc}"
        log.warning("results cache: %s %s; removed, training it again", path, why.splitlines()[0])
        for stale in (path, path.with_suffix(".sha256")):
            stale.unlink(missing_ok=True)
        return None


def _write(path: Path, payload: dict) -> None:
    """``payload`` at ``path`` with its SHA-256 beside, atomically: a reader finds the old file, the new one, or a
    checksum that does not match (reported and trained again), never a half-written file taken for whole."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
        write_text_atomic(path.with_suffix(".sha256"), hashlib.sha256(tmp.read_bytes()).hexdigest() + "\n")


class RunCache:
    """Finished runs under ``folder``, one ``.pt`` file and its ``.sha256`` an entry; beside them the checkpoints of
    runs being trained (:class:`RunCheckpoints`)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, key: str, code: str) -> Path:
        return self.folder / f"{fingerprint(key, code)[:40]}.pt"

    def load(self, key: str, code: str, model_fn: Callable, device, seeds) -> TrainResult | None:
        """The stored run, or None when there is none, or it is corrupt, crafted or another run's (then it is
        removed and said so)."""
        path = self.path(key, code)
        result = _read(path, {"key": key, "code": code, "seeds": [int(s) for s in seeds]},
                       lambda payload: deserialize(payload, model_fn, device))
        if result is not None:
            log.info("results cache: loaded %s", path.name)
        return result

    def store(self, key: str, code: str, result: TrainResult, meta: dict | None = None) -> Path:
        """Write ``result`` atomically with its checksum, what it is the run of and ``meta`` (what its code
        depends on: :meth:`harness.runcode.Dependencies.metadata`), then drop the run's checkpoints (the entry holds
        all they would resume); returns the entry's path."""
        path = self.path(key, code)
        _write(path, {**serialize(result), **(meta or {}), "key": key, "code": code})
        self.checkpoints(key, code).discard()
        return path

    def checkpoints(self, key: str, code: str, meta: dict | None = None) -> "RunCheckpoints":
        """Where the run ``key`` keeps its state at the end of every epoch while it trains (each checkpoint
        recording ``meta``, as its entry will)."""
        return RunCheckpoints(self, key, code, meta)

    def entries(self) -> list[Path]:
        """The finished runs stored here: files named as :meth:`path` names them, nothing else in the folder."""
        return self._own(ENTRY_NAME)

    def partials(self, stem: str | None = None) -> list[Path]:
        """The checkpoints of runs not finished (of the entry named ``stem`` only, when given)."""
        return [p for p in self._own(PARTIAL_NAME) if stem is None or p.name.startswith(f"{stem}.")]

    def _own(self, pattern: re.Pattern) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if pattern.fullmatch(p.name)) if self.folder.is_dir() else []

    def survey(self) -> list["Surveyed"]:
        """Every entry and checkpoint here, each with its state: its recorded sources hashed again now
        (:func:`harness.runcode.staleness`)."""
        self._check_folder()
        forget()
        return [_survey(path, partial) for partial, paths in ((False, self.entries()), (True, self.partials()))
                for path in paths]

    def status(self) -> str:
        """What is cached, for ``python -m harness cache status``: the finished runs, and the partial ones (those
        a killed session left, which the next one resumes) with the epochs each has done; each with its size and
        state (current, stale with what changed, from before dependencies were recorded, unreadable), and the
        totals of each state."""
        surveyed = self.survey()
        entries = [s for s in surveyed if not s.partial]
        partials = [s for s in surveyed if s.partial]
        lines = [f"results cache: {self.folder}: {len(entries)} runs, "
                 f"{len({s.path.name.split('.')[0] for s in partials})} partial runs, {_mib(surveyed)}"]
        for state in STATES:
            of_state = [s for s in entries if s.state == state]
            if of_state:
                lines.append(f"  {state}: {len(of_state)} runs, {_mib(of_state)}")
        for state in STATES:
            of_state = [s for s in partials if s.state == state]
            if of_state:
                lines.append(f"  checkpoints of unfinished runs, {state}: {len(of_state)}, {_mib(of_state)}")
        lines += [f"  {s.line()}" for s in sorted(surveyed, key=lambda s: (s.partial, STATES.index(s.state)))]
        prunable = [s for s in surveyed if s.state in PRUNED]
        if prunable:
            lines.append(f"`python -m harness cache prune` removes the {len(prunable)} that no session loads any "
                         f"more ({_mib(prunable)})")
        return "\n".join(lines)

    def prune(self, dry_run: bool = False) -> list["Surveyed"]:
        """Remove every entry no session can load any more (stale, from before dependencies were recorded, or
        unreadable) with its checksum and checkpoints, and every such checkpoint; returns what it removed (with
        ``dry_run``, what it would remove, removing nothing). Current entries and checkpoints, and the folder's
        other files, stay."""
        surveyed = self.survey()
        gone = [s for s in surveyed if s.state in PRUNED]
        stems = {s.path.stem for s in gone if not s.partial}
        gone += [s for s in surveyed if s.partial and s.state not in PRUNED and s.path.name.split(".")[0] in stems]
        if not dry_run:
            for s in gone:
                _remove(s.path)
        return gone

    def clear(self) -> tuple[int, int]:
        """Remove every entry and checkpoint (and what a killed write left of one); returns how many entries and
        checkpoints. The folder's other files (a user's, the calibration, the plans) stay."""
        self._check_folder()
        entries, partials = self.entries(), self.partials()
        for path in entries + partials:
            _remove(path)
        for path in self._own(LEFT_BY_A_WRITE):
            path.unlink(missing_ok=True)
        return len(entries), len(partials)


    def _check_folder(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"results cache {self.folder}: is a file, not a folder; give the cache's folder with "
                             "--cache-dir (or $HARNESS_CACHE)")


class RunCheckpoints:
    """The state of the run ``key`` at the end of its last finished epoch, one file per group of members trained
    together (all the seeds at once, or each in turn), beside the run's entry: ``<entry>.partial.<seeds>.pt`` and its
    ``.sha256``. Each records the run's key, code hash and seeds, checked on load as an entry's are. Keeping one
    can fail (a full disk): the run then trains on without, said once."""

    def __init__(self, cache: RunCache, key: str, code: str, meta: dict | None = None):
        self.cache, self.key, self.code, self.meta = cache, key, code, meta or {}
        self._failed = False
        self.resumed_member_steps = 0  # what the groups resumed so far had trained: the time budget costs the rest

    def path(self, seeds: list[int]) -> Path:
        return self.cache.path(self.key, self.code).with_suffix(f".partial.{'-'.join(map(str, seeds))}.pt")

    def load(self, seeds: list[int]) -> dict | None:
        """The kept state of the members ``seeds``, or None (none, or reported and removed: trained from scratch)."""
        path = self.path(seeds)
        state = _read(path, self._identity(seeds), lambda payload: payload["state"])
        if state is not None:
            log.info("results cache: resuming %s after epoch %d/%d", path.name, state["epoch"], state["epochs"])
            self.resumed_member_steps += int(state["step"]) * len(seeds)
        return state

    def save(self, seeds: list[int], state: dict) -> None:
        """Keep ``state`` of the members ``seeds`` atomically, replacing the one before."""
        try:
            _write(self.path(seeds), {"format": FORMAT, **self.meta, **self._identity(seeds), "state": state})
        except (OSError, RuntimeError) as exc:  # torch.save reports a full disk as a RuntimeError
            if not self._failed:
                log.warning("results cache: could not keep a checkpoint at %s (%s); the run trains on without one",
                            self.path(seeds), exc)
            self._failed = True

    def discard(self) -> None:
        """Remove every checkpoint of the run (each group's)."""
        for partial in self.cache.partials(self.cache.path(self.key, self.code).stem):
            _remove(partial)

    def _identity(self, seeds: list[int]) -> dict:
        return {"key": self.key, "code": self.code, "seeds": [int(s) for s in seeds]}


def _remove(path: Path) -> None:
    """A file of the cache and its checksum."""
    path.unlink(missing_ok=True)
    path.with_suffix(".sha256").unlink(missing_ok=True)


CURRENT, STALE, UNRECORDED, UNREADABLE = "current", "stale", "from before dependencies were recorded", "unreadable"
STATES = (CURRENT, STALE, UNRECORDED, UNREADABLE)
PRUNED = (STALE, UNRECORDED, UNREADABLE)  # what no session loads: the code it recorded is not today's


@dataclass
class Surveyed:
    """An entry or checkpoint as ``cache status`` and ``cache prune`` see it."""

    path: Path
    partial: bool
    state: str
    why: list[str]  # what changed (stale), or why it could not be read
    size: int  # bytes, its checksum's included
    machine: str = ""
    progress: str = ""  # a checkpoint's seeds and epochs done

    def line(self) -> str:
        what = self.path.name[:12]
        if self.partial:
            what = f"partial {what}" + (f" ({self.progress})" if self.progress else "")
        why = "; ".join(self.why[:3]) + (f"; and {len(self.why) - 3} more" if len(self.why) > 3 else "")
        machine = f", {'training' if self.partial else 'trained'} on {self.machine}" if self.machine else ""
        return f"{what}: {self.size / 2**20:.1f} MiB, {self.state}{f': {why}' if why else ''}{machine}"


def _survey(path: Path, partial: bool) -> Surveyed:
    size = 0
    for file in (path, path.with_suffix(".sha256")):
        with contextlib.suppress(OSError):  # gone since listed: a session stored or discarded it
            size += file.stat().st_size
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu", mmap=True)
        if not isinstance(payload, dict):
            raise ValueError(f"holds a {type(payload).__name__}")
        progress = ""
        if partial:
            state = payload["state"]
            seeds = ", ".join(map(str, payload["seeds"]))
            progress = f"seeds {seeds}: {state['epoch']} of {state['epochs']} epochs done"
        depends = payload.get("depends")
        if depends is None:
            return Surveyed(path, partial, UNRECORDED, [], size, progress=progress)
        if not (isinstance(depends, dict) and all(isinstance(x, str) for item in depends.items() for x in item)):
            raise ValueError("its dependencies are not labels and hashes")
        why = staleness(depends, str(payload.get("torch")))
    except Exception as exc:  # noqa: BLE001 — a status line; loading it for training checks it fully
        return Surveyed(path, partial, UNREADABLE, [f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"],
                        size)
    return Surveyed(path, partial, STALE if why else CURRENT, why, size, str(payload.get("machine") or ""), progress)


def _mib(surveyed: list[Surveyed]) -> str:
    return f"{sum(s.size for s in surveyed) / 2**20:.1f} MiB"


def default_cache_dir(data_root: Path, option: str | None = None) -> Path:
    """``option``, else ``$HARNESS_CACHE``, else ``<data root>/runs``."""
    return Path(option or os.environ.get("HARNESS_CACHE") or Path(data_root) / "runs").expanduser()
