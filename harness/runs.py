"""Training runs declared, then trained: what a claim measures, stated once as frozen specifications.

A report folder's ``runs.py`` declares, for each claim that trains, the runs it measures by name::

    @runs_of("r002.tanh_learns")
    def tanh_learns(claim):
        return {"tanh": Run(Model.of(CifarCNN, n_fc=3, activation="tanh"), TrainConfig(epochs=2, batch_size=4),
                            Data("cifar10", "train", per_class=claim.budget["train_per_class"]),
                            Data("cifar10", "test", per_class=claim.budget["test_per_class"]))}

and its test asks for them: ``claim.run("tanh")``. A declaration reads only the claim record, the reading and the
profile's budget (``claim.record``, ``claim.choices``, ``claim.budget``), never data or a trained run, so it can be
asked before anything trains: the plugin derives which tests share runs from it (their xdist groups and shard
families: tests that declare an equal run are one family), and plan mode costs each distinct declared run without
running the test's body. Two declarations that build equal specifications are one training run, whoever declares
them; "the 2-epoch run is the first two epochs of the 10-epoch run" is :attr:`Run.first_epochs_of`, a checked
relation.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

from .train import TrainConfig

RUNS_FILE = "runs.py"  # a report folder's run declarations


PLAIN = (str, int, float, bool, type(None))


def _plain(value, where: str):
    """``value`` as a plain, hashable value (a list becomes a tuple); TypeError naming ``where`` for anything else
    (a function or a tensor has no value a run's key could hold across processes)."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v, where) for v in value)
    if isinstance(value, PLAIN):
        return value
    raise TypeError(f"{where} = {value!r}: a declared run holds plain values only (str, int, float, bool, None, "
                    f"tuples of them), so that its key means the same in every process")


def _with_defaults(builder: Callable, args: dict) -> dict:
    """``args`` with every keyword ``builder`` would default filled in: ``Model.of(CifarCNN)`` and
    ``Model.of(CifarCNN, n_fc=3)`` are one net, so one run. A ``**kwargs`` builder's own keywords are only those
    given."""
    try:
        signature = inspect.signature(builder)
    except (TypeError, ValueError):  # a builder without a signature: its arguments as given
        return dict(args)
    bound = signature.bind_partial(**args)
    bound.apply_defaults()
    out = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            out[name] = value
    return out


@dataclass(frozen=True)
class Model:
    """A model by value: the function or class that builds it (``CifarCNN``, ``teacher``, a user's ``MLP``) and its
    keyword arguments, defaults filled in. Built from this and nothing else, so the run's key (which holds
    :attr:`spec` and what :meth:`build` builds) cannot disagree with the net trained."""

    builder: Callable
    args: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, builder: Callable, **args) -> "Model":
        """``builder(**args)`` as a specification: arguments sorted (the order they were written in is no
        difference), the builder's defaults filled in, lists made tuples; a builder that is not a named class or
        function, or an argument that is not a plain value, is a TypeError naming it."""
        if not (inspect.isclass(builder) or inspect.isfunction(builder)):
            raise TypeError(f"Model.of({builder!r}): give the class or function that builds the model (its "
                            f"arguments as keywords), not {type(builder).__name__}")
        name = getattr(builder, "__name__", repr(builder))
        args = {k: _plain(v, f"Model.of({name}, {k}=...)") for k, v in _with_defaults(builder, args).items()}
        return cls(builder, tuple(sorted(args.items())))

    def build(self):
        """The model, built anew (the engine builds one a seed, under that seed)."""
        return self.builder(**dict(self.args))

    @property
    def factory(self) -> Callable:
        """What the engine calls to build the model: ``builder`` with its arguments bound (the results cache keys on
        ``builder``'s code through it)."""
        return functools.partial(self.builder, **dict(self.args))

    @property
    def spec(self) -> dict:
        """The model's name and arguments, by value: what the run's key and its label are made of."""
        return {"model": self.builder.__name__, **dict(self.args)}

    def with_args(self, **changes) -> "Model":
        """The same builder with some arguments changed or added."""
        return Model.of(self.builder, **{**dict(self.args), **changes})


@dataclass(frozen=True)
class Data:
    """A split of an imported data set, as :meth:`harness.session.ClaimMeasurement.data` loads it: ``per_class``
    images of each class (a class-balanced subset; None: all), then of the ``select_classes`` only (relabelled
    0..k-1), the first ``limit`` of each kept class."""

    dataset: str
    split: str
    per_class: int | None = None
    select_classes: tuple[int, ...] = ()
    limit: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "select_classes", _plain(tuple(self.select_classes or ()),
                                                          f"Data({self.dataset!r}, select_classes=...)"))
        for name in ("per_class", "limit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"Data({self.dataset!r}, {name}={value!r}): give a number of images or None (all); "
                                f"claim.budget reads a record's \"all\" as None")

    def load(self, claim):
        """The split on the session's device, through ``claim`` (a missing data set records its claim NOT RUN)."""
        return claim.data(self.dataset, self.split, per_class=self.per_class,
                          select_classes=list(self.select_classes) or None, limit=self.limit)


@dataclass(frozen=True)
class Run:
    """One training run, by value: the model, the training config, the data it trains and is evaluated on after
    each epoch (``test`` None: not evaluated), the run it distils from (``teacher``, another declared run, trained
    on the same seeds: member *i* is taught by the teacher's member *i*).

    - ``grad_norm_points``: per-layer gradient norms kept at this many global steps spread evenly over the run
      (first and last included), placed once the data's steps an epoch are known; ``config.grad_norm_steps``
      names fixed steps instead.
    - ``first_epochs_of``: this run is the first ``config.epochs`` epochs of that longer run, which is trained
      (with a snapshot after those epochs) and cut (:meth:`harness.train.TrainResult.truncated`); the two must
      be the same run but for the epochs, or the declaration is refused. A cut run's gradient norms are those the
      longer run kept within the cut, so it declares no ``grad_norm_points`` of its own.
    - ``alone``: each seed is trained now, on its own, never shared or cached (a timing claim measures the
      training itself): :meth:`harness.session.ClaimMeasurement.timed` gives one result a seed. A run trained
      alone is never a teacher nor cut from another.
    """

    model: Model
    config: TrainConfig
    train: Data
    test: Data | None = None
    teacher: "Run | None" = None
    grad_norm_points: int = 0
    first_epochs_of: "Run | None" = None
    alone: bool = False

    def __post_init__(self):
        for needed, what in ((self.teacher, "a teacher"), (self.first_epochs_of, "the run it is cut from")):
            if needed is not None and needed.alone:
                raise ValueError(f"{what} is declared alone=True: a run trained alone, one seed at a time, is "
                                 f"never shared, so it cannot be another run's {what.split()[-1]}")
        longer = self.first_epochs_of
        if longer is None:
            return
        if self.alone or self.grad_norm_points:
            raise ValueError("a run cut from a longer one takes that run's gradient norms and is shared: declare it "
                             "without grad_norm_points or alone (declare them on the longer run)")
        if longer.config.epochs <= self.config.epochs:
            raise ValueError(f"a run of {self.config.epochs} epochs cannot be the first epochs of one of "
                             f"{longer.config.epochs}: the longer run must train more epochs")
        if self.config.epochs not in longer.config.snapshot_epochs:
            raise ValueError(f"the {longer.config.epochs}-epoch run keeps no snapshot after epoch "
                             f"{self.config.epochs}: declare it with snapshot_epochs=({self.config.epochs},)")
        same = {"config": (_but_epochs(self.config), _but_epochs(longer.config))}
        same.update({f.name: (getattr(self, f.name), getattr(longer, f.name)) for f in fields(self)
                     if f.name not in ("config", "first_epochs_of", "grad_norm_points", "alone")})
        differ = [name for name, (mine, its) in same.items() if mine != its]
        if differ:
            raise ValueError(f"a run declared as the first epochs of another must be that run but for its epochs; "
                             f"its {', '.join(differ)} differ")

    def with_config(self, **changes) -> "Run":
        """This run with some of its training config changed."""
        return replace(self, config=replace(self.config, **changes))


def _but_epochs(cfg: TrainConfig) -> TrainConfig:
    return replace(cfg, epochs=0, snapshot_epochs=(), label="")


def spread_steps(points: int, total_steps: int) -> tuple[int, ...]:
    """``points`` global steps (0-based) spread evenly over ``total_steps``, the first and the last included."""
    if points <= 0:
        return ()
    if points == 1:
        return (total_steps - 1,)
    return tuple(sorted({int(i * (total_steps - 1) / (points - 1)) for i in range(points)}))


def every_run(runs) -> list[Run]:
    """Each run of ``runs`` and each run they need (teachers, longer runs they are cut from), once each, a run's
    needs before it."""
    out: list[Run] = []

    def visit(run: Run) -> None:
        for needed in (run.teacher, run.first_epochs_of):
            if needed is not None:
                visit(needed)
        if run not in out:
            out.append(run)
    for run in runs:
        visit(run)
    return out


# -- declarations --------------------------------------------------------------------------------------------

Declaration = Callable[[Any], dict]
DECLARATIONS: dict[str, Declaration] = {}



def runs_of(*claim_ids: str):
    """Register the decorated function as the declaration of the runs ``claim_ids`` measure: called with the claim
    under a reading (``record``, ``reading``, ``choices``, ``budget``, ``profile``), it returns the runs by name.

    The same function registered again (its module imported a second time) replaces itself, and so does one of a
    folder the catalogue no longer holds; another function for the same claim is a ValueError naming both.
    """
    def register(fn: Declaration) -> Declaration:
        from .claims import catalog

        for claim_id in claim_ids:
            catalog.register_once(DECLARATIONS, claim_id, fn, "run declarations")
        return fn
    return register


@dataclass(frozen=True)
class ClaimUnderReading:
    """A claim under one of its readings in a profile: all a declaration may read (the plugin asks declarations
    at collection, before any data is loaded)."""

    record: Any  # harness.claims.record.Claim
    reading: Any  # harness.claims.record.Reading
    profile: str

    @property
    def choices(self) -> dict:
        return self.reading.choices

    @property
    def budget(self) -> dict:
        return self.record.budget_for(self.profile)


def declaration_of(claim_id: str) -> Declaration | None:
    """The function declaring ``claim_id``'s runs (its report folder's ``runs.py`` imported first); None for a
    claim that declares none (it trains nothing, or a test trains through ``Harness.trained`` itself)."""
    from .claims import catalog

    folder = catalog.folder(claim_id.split(".")[0]) if "." in claim_id else None
    if folder is None:
        return DECLARATIONS.get(claim_id)
    load_runs_file(folder.path)
    fn = DECLARATIONS.get(claim_id)
    # A declaration from another folder of the same name (one this process dropped from the catalogue) is not this
    # claim's.
    mine = fn is not None and Path(catalog.origin(fn)[0]).resolve().is_relative_to(folder.path.resolve())
    return fn if mine else None


def declared(claim) -> dict[str, Run]:
    """The runs ``claim`` (a claim under a reading: a :class:`ClaimUnderReading` or a test's ``claim``) measures,
    by name; {} where its claim declares none. A declaration that returns other than names → runs is a TypeError
    naming it."""
    fn = declaration_of(claim.record.id)
    if fn is None:
        return {}
    runs = fn(claim)
    if not isinstance(runs, dict) or not all(isinstance(k, str) and isinstance(v, Run) for k, v in runs.items()):
        raise TypeError(f"{fn.__module__}.{fn.__qualname__} (the runs of {claim.record.id}) must return a dict of "
                        f"name → harness.runs.Run, not {type(runs).__name__}")
    return runs


_loaded: dict[Path, object] = {}


def load_runs_file(folder: Path):
    """Import a report folder's ``runs.py`` once (its ``@runs_of`` decorators register its declarations); None
    without one. Its imports resolve as under pytest (whose default import mode puts the first folder above a test
    module that is no package on ``sys.path``): a folder that is a package (``suites/r002``) is imported by its
    dotted name from its package root, so that its tests' ``from .runs import ...`` find the same module; another
    by its file, with the folder on ``sys.path`` for its sibling modules."""
    path = Path(folder) / RUNS_FILE
    if path in _loaded:
        return _loaded[path]
    if not path.is_file():
        _loaded[path] = None
        return None
    top, parts = _package_root(Path(folder))
    _on_path(top)
    if parts:
        module = importlib.import_module(".".join([*parts, "runs"]))
    else:
        from .claims.catalog import import_file

        module = import_file(f"harness_claims_runs.{Path(folder).name}", path)
    _loaded[path] = module
    return module


def _package_root(folder: Path) -> tuple[Path, list[str]]:
    """The first folder at or above ``folder`` that is no package, and ``folder``'s dotted name below it."""
    top, parts = folder.resolve(), []
    while (top / "__init__.py").is_file():
        parts.insert(0, top.name)
        top = top.parent
    return top, parts


def _on_path(folder: Path) -> None:
    if folder not in {Path(p or ".").resolve() for p in sys.path}:
        sys.path.insert(0, str(folder))
