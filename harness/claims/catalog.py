"""The claim catalogue: report folders discovered, their claim records loaded strictly, and the verdicts pinned
beside them.

A report folder holds one report's claims in one place::

    suites/r002/
      claims.toml               the claim records: what the report says, readings, budgets, tolerances
      judges.py                 one pure judge a claim (@judge("r002.tanh_learns"))
      common.py, test_*.py      the measuring tests (and the judges' own tests)
      pinned_verdicts.json      the verdicts the full profile asserts on a CPU (pinned_verdicts_cuda.json: CUDA)

The folders are found, never listed: every folder of the repository's ``suites/`` that holds a ``claims.toml``,
then those named by ``$HARNESS_CLAIMS_DIRS`` (``os.pathsep``-separated), by the ``claims_harness.claims`` entry
point group (each entry point loads to a path), and by :func:`add_dir` (the ``--claims-dir`` option of pytest and
of every ``python -m harness`` command). A directory given may be a report folder or a folder of report folders.
The folder's name names the report (``r002`` is report ``002``; ``control``), and every claim id starts with it.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import json
import os
import re
import sys
import tomllib
from contextvars import ContextVar
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..atomic import write_text_atomic
from .record import Claim, Reading

SUITES_DIR = Path(__file__).resolve().parents[2] / "suites"  # the repository's own report folders
CLAIMS_FILE = "claims.toml"
JUDGES_FILE = "judges.py"
CLAIMS_DIRS_ENV = "HARNESS_CLAIMS_DIRS"
ENTRY_POINT_GROUP = "claims_harness.claims"
# One reference a device type: CUDA's kernels sum in other orders than the CPU's, so a GPU night may measure
# verdicts the CPU's pins do not allow (and the reverse); pinning one must never overwrite the other's.
PIN_FILES = {"cpu": "pinned_verdicts.json",  # pinned from results/full
             "cuda": "pinned_verdicts_cuda.json"}  # pinned from results/full-gpu
PINNED_DEVICE_TYPES = tuple(PIN_FILES)
PROFILES = ("smoke", "full")
VERDICT_NAMES = ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE", "ARTIFACT")

# The keys a claim file may hold, each from the one place that defines it: a misspelt key is an error naming the
# file, the claim and the key, never a silent default (`tolerence = 3.0`, `note =` for `notes =`).
FILE_KEYS = ("report", "defaults", "claim")
REPORT_KEYS = ("title", "source")
# Keys the harness once read and no longer does, with what took their place.
RETIRED_KEYS = {key: "which tests share training runs comes from the runs their claims declare (the folder's runs.py, "
                     "harness.runs): remove it" for key in ("shares_runs_by", "runs_family")}
CLAIM_KEYS = tuple(f.name for f in fields(Claim) if f.name not in ("report", "folder"))
DEFAULT_KEYS = ("printed", "setup", "open_choices", "budget", "readings", "params")
READING_KEYS = tuple(f.name for f in fields(Reading))
REQUIRED_CLAIM_KEYS = ("id", "section", "statement", "metric", "check")


class ClaimRecordError(ValueError):
    """A claim file that does not say what the harness needs, or says what it does not know."""


@dataclass(frozen=True)
class ReportFolder:
    """One report's folder: its claims, judges, measuring tests and pins."""

    path: Path
    name: str  # the folder's name: every claim id starts with it ("r002" → "r002.tanh_learns")
    report: str  # the report it checks: "002" for r002, else the name ("control")
    title: str  # the tables' heading ([report] title in claims.toml)
    source: str = ""  # where the report is ([report] source)

    @property
    def claims_file(self) -> Path:
        return self.path / CLAIMS_FILE

    @property
    def judges_file(self) -> Path:
        return self.path / JUDGES_FILE

    def pinned_file(self, device_type: str = "cpu") -> Path:
        """The pins a full-profile session on ``device_type`` asserts for this report's claims."""
        if device_type not in PIN_FILES:
            raise ValueError(f"no pinned verdicts for device type {device_type!r}: pins are kept for "
                             f"{' and '.join(PINNED_DEVICE_TYPES)}")
        return self.path / PIN_FILES[device_type]

    @property
    def builtin(self) -> bool:
        """Whether the folder is one of this repository's (its results go to the repository's results/)."""
        return self.path.parent == SUITES_DIR

    @property
    def recorded_path(self) -> str:
        """The folder as a record names it: ``suites/r002`` for the repository's own (the same on every clone),
        the absolute path for another."""
        return f"suites/{self.name}" if self.builtin else str(self.path)


def report_of(name: str) -> str:
    """The report a folder (or a claim file) checks, from its name: a leading ``r`` before a digit dropped (``r002``
    → ``002``, ``r002-student-b`` → ``002-student-b``); another name is the report's own (``control``)."""
    return name[1:] if re.fullmatch(r"r\d.*", name) else name


# -- loading one file ------------------------------------------------------------------------------------------

def _refuse_unknown(table: dict, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key in RETIRED_KEYS and key not in allowed:
            raise ClaimRecordError(f"{where}: {key!r} is no longer read: {RETIRED_KEYS[key]}")
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            raise ClaimRecordError(f"{where}: unknown key {key!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                                   + f"; the keys it may hold: {', '.join(allowed)}")


def _typed(raw: dict, key: str, kind, where: str, default=None):
    """``raw[key]`` (``default`` when absent) if it is of ``kind``; ClaimRecordError naming the key otherwise. TOML's
    true and false are never numbers here, though Python counts bools as ints."""
    value = raw.get(key, default)
    wrong_kind = value is not None and not isinstance(value, kind)
    if wrong_kind or (kind is not bool and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ClaimRecordError(f"{where}: {key} = {value!r}; give a value of type {names}")
    return value


def _readings(raw: list, where: str) -> tuple[Reading, ...]:
    if not isinstance(raw, list):
        raise ClaimRecordError(f"{where}: readings must be [[...readings]] tables with name, choices and why")
    out = []
    for i, r in enumerate(raw):
        at = f"{where}: reading {r.get('name', i + 1)!r}" if isinstance(r, dict) else f"{where}: reading {i + 1}"
        if not isinstance(r, dict):
            raise ClaimRecordError(f"{at}: must be a table with name, choices and why")
        _refuse_unknown(r, READING_KEYS, at)
        for key in ("name", "why"):
            if not isinstance(r.get(key), str) or not r[key]:
                raise ClaimRecordError(f"{at}: give its {key} (a non-empty string)")
        out.append(Reading(r["name"], dict(_typed(r, "choices", dict, at, {})), r["why"]))
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        raise ClaimRecordError(f"{where}: reading names repeat: {names}")
    return tuple(out)


def _checked_budget(path: Path, claim_id: str, budget: dict) -> dict:
    """``budget`` if every profile is known, every entry a positive whole number or "all", and a longer run longer
    than the report's; ClaimRecordError naming the file and claim otherwise."""
    where = f"{path}: claim {claim_id}"
    if not isinstance(budget, dict):
        raise ClaimRecordError(f"{where}: budget must be a table of profiles ({', '.join(PROFILES)})")
    _refuse_unknown(budget, PROFILES, f"{where}: budget")
    for profile, entries in budget.items():
        if not isinstance(entries, dict):
            raise ClaimRecordError(f"{where}: budget.{profile} must be a table (epochs = 2, ...)")
        for key, value in entries.items():
            if not (value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value > 0)):
                raise ClaimRecordError(f"{where}: budget.{profile}.{key} = {value!r}; give a positive whole number "
                                       "or \"all\"")
        others = {p: set(e) for p, e in budget.items() if p != profile and isinstance(e, dict)}
        for other, keys in others.items():
            if keys != set(entries):
                # Each profile trains the same runs at another size: an entry one of them lacks is a typo.
                raise ClaimRecordError(f"{where}: budget.{profile} and budget.{other} name other entries "
                                       f"({sorted(set(entries) ^ keys)} in one only); give both profiles the same "
                                       "entries")
        longer, epochs = entries.get("longer_epochs"), entries.get("epochs")
        if isinstance(longer, int) and isinstance(epochs, int) and longer <= epochs:
            # The report's runs are the first epochs of the longer ones, a declared relation: a longer run no longer
            # than the report's says nothing the report's runs do not.
            raise ClaimRecordError(f"{where}: budget.{profile}.longer_epochs = {longer} is not above "
                                   f"budget.{profile}.epochs = {epochs}; give longer_epochs > epochs")
    return budget


def load_file(path: Path, folder_rule: bool = True) -> list[Claim]:
    """The claims of one claim file, checked, in the file's order, without adding them to the catalogue.

    Every claim file is read through here (a report folder's ``claims.toml``, and another report's file judged by
    ``python -m harness judge``), so every check applies to all of them. A ``claims.toml`` names its report by its
    folder, whose name every claim id starts with; another file by its name less ``.toml`` (less a leading ``r``
    before a digit: ``r002-student-b.toml`` → ``002-student-b``), its ids unchecked (they are the ids of the claims
    it re-states). ``folder_rule=False``: named by its file and its ids unchecked, whatever its name (a hand-in saved
    as ``hand-ins/alice/claims.toml``). See :func:`_read_file` for the checks.
    """
    path = Path(path)
    folder_name = path.parent.name if path.name == CLAIMS_FILE else None
    return _read_file(path, folder_name if folder_rule else None, report=folder_name)[1]


def _read_file(path: Path, name: str | None, report: str | None = None) -> tuple[dict, list[Claim]]:
    """The ``[report]`` table and the claims of one claim file, checked.

    ``name``: the report folder's name every claim id must start with (None: ids unchecked); ``report``: what names
    the report when ``name`` does not (default: the file's name less ``.toml``). Every table is checked against the keys
    it may hold (:data:`CLAIM_KEYS`, :data:`DEFAULT_KEYS`, :data:`READING_KEYS`, :data:`REPORT_KEYS`); a missing
    required key, a value of the wrong kind, a verdict name the harness does not know, or a budget that cannot be
    trained is a :class:`ClaimRecordError` naming the file, the claim and the key.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such claim file (a TOML file with [[claim]] tables)")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ClaimRecordError(f"{path}: not valid TOML ({exc})") from None
    _refuse_unknown(data, FILE_KEYS, str(path))
    if not isinstance(data.get("claim"), list) or not data["claim"]:
        raise ClaimRecordError(f"{path}: holds no [[claim]] tables")
    info = data.get("report", {})
    _refuse_unknown(info, REPORT_KEYS, f"{path}: [report]")
    for key in ("title", "source"):
        _typed(info, key, str, f"{path}: [report]")
    defaults = data.get("defaults", {})
    _refuse_unknown(defaults, DEFAULT_KEYS, f"{path}: [defaults]")
    default_readings = _readings(defaults["readings"], f"{path}: [defaults]") if "readings" in defaults else None
    claims = []
    for raw in data.get("claim", []):
        where = f"{path}: claim {raw.get('id', len(claims) + 1)!r}"
        _refuse_unknown(raw, CLAIM_KEYS, where)
        for key in REQUIRED_CLAIM_KEYS:
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise ClaimRecordError(f"{where}: give its {key} (a non-empty string)")
        if name is not None and not raw["id"].startswith(f"{name}."):
            raise ClaimRecordError(f"{where}: a claim id of report folder {name!r} starts with '{name}.'")
        stated = _typed(raw, "reachable", list, where)
        # Left out: the Claim dataclass's default, the one place it is written.
        reachable = Claim.__dataclass_fields__["reachable"].default if stated is None else tuple(stated)
        unknown = sorted(set(reachable) - set(VERDICT_NAMES))
        if unknown:
            raise ClaimRecordError(f"{where}: reachable names {unknown}; verdicts are {', '.join(VERDICT_NAMES)}")
        claimed = _typed(raw, "claimed", dict, where, {})
        readings = _readings(raw["readings"], where) if "readings" in raw else default_readings or (
            Reading("literal", {}, "the report's setup as stated"),)
        claims.append(Claim(
            id=raw["id"], report=report_of(name or report or path.stem), section=raw["section"],
            statement=raw["statement"],
            metric=raw["metric"], unit=_typed(raw, "unit", str, where, ""), claimed=dict(claimed),
            check=raw["check"],
            setup={**defaults.get("setup", {}), **_typed(raw, "setup", dict, where, {})},
            open_choices={**defaults.get("open_choices", {}), **_typed(raw, "open_choices", dict, where, {})},
            readings=readings, tolerance=_typed(raw, "tolerance", (int, float), where),
            printed={**defaults.get("printed", {}), **_typed(raw, "printed", dict, where, {})},
            extension=_typed(raw, "extension", bool, where, False), timing=_typed(raw, "timing", bool, where, False),
            control=_typed(raw, "control", bool, where, False), notes=_typed(raw, "notes", str, where, ""),
            params={**defaults.get("params", {}), **_typed(raw, "params", dict, where, {})}, reachable=reachable,
            # A claim's own budget replaces the report's default whole: no entry is inherited unseen.
            budget=_checked_budget(path, raw["id"], raw.get("budget") or defaults.get("budget", {})),
            folder=str(path.parent),
        ))
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ClaimRecordError(f"{path}: claim ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return info, claims


# -- discovering folders ---------------------------------------------------------------------------------------

_added_dirs: list[Path] = []


def folders_under(path: Path) -> list[Path]:
    """The report folders ``path`` is or holds (one level down)."""
    if (path / CLAIMS_FILE).is_file():
        return [path]
    return sorted(p for p in path.iterdir() if (p / CLAIMS_FILE).is_file()) if path.is_dir() else []


def _discovered_dirs() -> list[Path]:
    dirs = [SUITES_DIR]
    dirs += [Path(p) for p in os.environ.get(CLAIMS_DIRS_ENV, "").split(os.pathsep) if p]
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dirs.append(Path(str(entry.load())))
    return dirs + _added_dirs


def forget_added_dirs() -> None:
    """Drop every folder :func:`add_dir` added (tests: each starts from the discovered folders)."""
    _added_dirs.clear()
    _catalog.cache_clear()


def add_dir(path: Path) -> list[ReportFolder]:
    """Add the report folder ``path`` (or the report folders it holds) to the catalogue; returns them.

    A path without a ``claims.toml`` in it or one level below is a FileNotFoundError saying so; a folder whose name
    another folder of the catalogue has (so would its claim ids), or a claim file that does not load, is a
    ClaimRecordError naming it, and the catalogue stays as it was.
    """
    path = Path(path).resolve()
    found = folders_under(path)
    if not found:
        raise FileNotFoundError(f"{path}: holds no {CLAIMS_FILE}, nor does any folder in it: a claims folder is a "
                                f"report folder (its {CLAIMS_FILE}, {JUDGES_FILE}, test_*.py) or a folder of them")
    if path in _added_dirs:
        return [folder(p.name) for p in found]
    _added_dirs.append(path)
    _catalog.cache_clear()
    try:
        _catalog()  # checked now, not at the first claim asked for
    except ClaimRecordError:
        _added_dirs.remove(path)
        _catalog.cache_clear()
        raise
    return [folder(p.name) for p in found]


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, ReportFolder], dict[str, Claim]]:
    folders: dict[str, ReportFolder] = {}
    claims: dict[str, Claim] = {}
    paths = list(dict.fromkeys(p.resolve() for d in _discovered_dirs() for p in folders_under(Path(d))))
    loaded = [(p, *_read_file(p / CLAIMS_FILE, p.name)) for p in paths]
    # The control first: every CIFAR-10 verdict rests on it, so tables list it at the top.
    for path, info, mine in sorted(loaded, key=lambda t: (not any(c.control for c in t[2]), t[0].name)):
        if path.name in folders:
            raise ClaimRecordError(f"report folders {folders[path.name].path} and {path} share the name "
                                   f"{path.name!r}: rename one")
        folders[path.name] = ReportFolder(path, path.name, report_of(path.name),
                                          info.get("title") or f"Report {report_of(path.name)}",
                                          info.get("source", ""))
        for claim in mine:
            claims[claim.id] = claim
    return folders, claims


def add_dirs_of(records: list[dict]) -> None:
    """Add the report folders that records of claims the catalogue does not know were judged from (their
    ``claim_folder``), where those folders still exist: every command that reads records sees their claims."""
    known = _catalog()[1]
    for record in records:
        path = Path(record.get("claim_folder") or "")
        claim = known.get(record.get("claim_id"))
        if path.is_absolute() and (path / CLAIMS_FILE).is_file() and (
                claim is None or Path(claim.folder).resolve() != path.resolve()):
            add_dir(path)  # a folder of the same name elsewhere is an error naming both
            known = _catalog()[1]


def folders() -> list[ReportFolder]:
    """Every report folder, in catalogue order (the control first)."""
    return list(_catalog()[0].values())


def folder(name: str) -> ReportFolder:
    """The report folder called ``name`` (``r002``); KeyError naming the known ones otherwise."""
    try:
        return _catalog()[0][name]
    except KeyError:
        raise KeyError(f"no report folder {name!r}; folders: {sorted(_catalog()[0])} (add one with --claims-dir)") \
            from None


def holds_file(path: Path | str) -> bool:
    """Whether ``path`` is a file of a report folder the catalogue holds now (a judge or run declaration from a
    folder this process dropped is not)."""
    path = Path(path).resolve()
    return any(path.is_relative_to(f.path.resolve()) for f in folders())


def origin(fn) -> tuple[str, str]:
    """Where a registered function was defined: its file and qualified name (the same function imported twice has
    one origin)."""
    code = getattr(fn, "__code__", None)
    return getattr(code, "co_filename", ""), getattr(fn, "__qualname__", repr(fn))


def register_once(registry: dict, claim_id: str, fn, what: str) -> None:
    """``registry[claim_id] = fn`` (a judge, a run declaration): the same function registered again (its module
    imported a second time) replaces itself, and so does one of a folder the catalogue no longer holds; another
    function for the same claim is a ValueError naming both, as ``claim_id has two <what>``."""
    old = registry.get(claim_id)
    if old is not None and origin(old) != origin(fn) and holds_file(origin(old)[0]):
        raise ValueError(f"{claim_id} has two {what}: {old.__qualname__} ({origin(old)[0]}) and {fn.__qualname__} "
                         f"({origin(fn)[0]})")
    registry[claim_id] = fn


def folder_of(claim_id: str) -> ReportFolder:
    """The report folder that holds ``claim_id``."""
    return folder(get(claim_id).id.split(".")[0])


def report_title(report: str) -> str:
    """The tables' heading of ``report`` (``002``, ``control``): its folder's ``[report] title``."""
    for f in folders():
        if f.report == report:
            return f.title
    return f"Report {report}"


# Another report's claims standing in for the catalogue while its tables are written (:func:`scoped`): a context
# variable, so the stand-in ends with its block and never reaches another thread's or a later caller's lookups.
_SCOPE: ContextVar[tuple[dict[str, Claim], str] | None] = ContextVar("claims_scope", default=None)


@contextlib.contextmanager
def scoped(claims: list[Claim], source: Path | str):
    """Within the block, :func:`get`, :func:`all_claims` and :func:`order_key` see ``claims`` (loaded from
    ``source`` by :func:`load_file`) and nothing else: the tables, plots and re-judging of another report's file
    read its records (claimed figures, statements, readings) instead of the catalogue's. Nothing is registered; the
    catalogue is whole again when the block ends, by an exception too."""
    token = _SCOPE.set(({c.id: c for c in claims}, str(source)))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _current() -> tuple[dict[str, Claim], str]:
    scope = _SCOPE.get()
    if scope is not None:
        return scope
    where = ", ".join(str(f.path) for f in folders())
    return _catalog()[1], f"the report folders {where} (another folder: --claims-dir DIR, ${CLAIMS_DIRS_ENV})"


def all_claims() -> list[Claim]:
    """Every claim, report by report in catalogue order (within :func:`scoped`, its claims in their file's order)."""
    return list(_current()[0].values())


def get(claim_id: str) -> Claim:
    """The claim ``claim_id`` (within :func:`scoped`, of its claims); KeyError naming where it was looked for."""
    claims, where = _current()
    try:
        return claims[claim_id]
    except KeyError:
        raise KeyError(f"no claim {claim_id!r} in {where}") from None


def order_key(claim_id: str, reading: str) -> tuple:
    """Sort key: catalogue order of the claim, then of the reading (within :func:`scoped`, its file's order)."""
    catalogue = _current()[0]
    ids = list(catalogue)
    claim = catalogue.get(claim_id)
    names = [r.name for r in claim.readings] if claim else []
    return (ids.index(claim_id) if claim_id in ids else len(ids), names.index(reading) if reading in names else len(names), reading)


# -- judges ----------------------------------------------------------------------------------------------------

_loaded_judges: dict[Path, object] = {}


def load_judges(report_folder: ReportFolder):
    """Import the folder's ``judges.py`` once (its ``@judge`` decorators register its judges); None without one."""
    path = report_folder.judges_file
    if path in _loaded_judges:
        return _loaded_judges[path]
    if not path.is_file():
        _loaded_judges[path] = None
        return None
    # Its own module name a folder: two folders' judges.py never replace each other in sys.modules.
    _loaded_judges[path] = import_file(f"harness_claims_judges.{report_folder.name}", path)
    return _loaded_judges[path]


def import_file(name: str, path: Path):
    """The module at ``path`` imported as ``name`` (a report folder's own file); nothing is left in
    ``sys.modules`` when it fails to import."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


# -- pins ------------------------------------------------------------------------------------------------------

def pinned_verdicts(device_type: str = "cpu") -> dict[str, list[str]]:
    """``"id|reading"`` → the verdicts a replicate of the last full-profile run on ``device_type`` may give, from
    every report folder's pins (empty before the first)."""
    pins: dict[str, list[str]] = {}
    for f in folders():
        path = f.pinned_file(device_type)
        if path.exists():
            pins.update(json.loads(path.read_text()))
    return pins


def csv_device_type(rows: list[dict], csv_path: Path) -> str:
    """The one device type the rows of ``csv_path`` were measured on (its ``device_type`` column); ValueError
    naming the file when they are of several or of one the harness does not know.

    A claims.csv without the column was written before GPU runs were recorded by type: every such run was the
    CPU's.
    """
    types = sorted({r.get("device_type", "cpu") for r in rows})
    if len(types) > 1 or types[0] not in PINNED_DEVICE_TYPES:
        raise ValueError(f"{csv_path}: has rows of device type(s) {types} (column device_type); pin one device "
                         "type's run: the CPU's results/full/claims.csv or the GPU's results/full-gpu/claims.csv")
    return types[0]


def pin_verdicts(csv_path: Path, pinned_file: Path | None = None,
                 add: bool = False) -> tuple[dict[str, list[str]], list[str], list[Path]]:
    """Pin the verdict sets of a full run's claims.csv for the full profile to assert, merged by claim and reading
    into the pins beside each claim (its report folder's file for the device type the rows were measured on,
    :meth:`ReportFolder.pinned_file`), or all into ``pinned_file`` where one is given; returns the pins written, a
    line for each pin that changed, and the files written.

    Only full-profile rows are taken (the ``profile`` column), NOT RUN and timing rows never; an id the catalogue
    does not know, or rows of several device types, are a ValueError naming the file, and no pin changes.
    ``add``: a replicate run's verdicts join each row's pinned set instead of replacing it (what a true replicate
    gave is a verdict a replicate may give).
    """
    from ..report.compare import read_claims_csv

    rows = list(read_claims_csv(csv_path, required=("id", "reading", "verdict")).values())
    if not rows:
        raise ValueError(f"{csv_path}: holds no rows; pin a full-profile run's claims.csv")
    if "profile" in rows[0] and any(r["profile"] != "full" for r in rows):
        raise ValueError(f"{csv_path}: has rows of profile(s) {sorted({r['profile'] for r in rows} - {'full'})}; "
                         "pin a full-profile run's claims.csv")
    unknown = sorted({r["id"] for r in rows} - {c.id for c in all_claims()})
    if unknown:
        raise ValueError(f"{csv_path}: claim(s) {unknown} are not in the catalogue; add their report folder with "
                         "--claims-dir")
    device = csv_device_type(rows, csv_path)  # checked even where the file is given: a mixed csv is never pinned
    by_file: dict[Path, list[dict]] = {}
    for r in rows:
        if r["verdict"] == "NOT RUN" or get(r["id"]).timing:
            continue
        target = pinned_file if pinned_file is not None else folder_of(r["id"]).pinned_file(device)
        by_file.setdefault(Path(target), []).append(r)
    written, changes, pins = [], [], {}
    for path, mine in by_file.items():
        pinned = json.loads(path.read_text()) if path.exists() else {}
        for r in mine:
            key = f"{r['id']}|{r['reading']}"
            allowed = set(filter(None, (r.get("replicate_verdicts") or r["verdict"]).split("; "))) | {r["verdict"]}
            old = pinned.get(key)
            if add and old is not None:
                allowed |= {old} if isinstance(old, str) else set(old)
            allowed = sorted(allowed)
            if old != allowed:
                changes.append(f"{key}: {old if old is not None else 'not pinned'} → {allowed}")
            pinned[key] = allowed
        write_text_atomic(path, json.dumps(pinned, indent=2, sort_keys=True) + "\n")  # no kill loses the pins
        written.append(path)
        pins.update(pinned)
    return pins, changes, written
