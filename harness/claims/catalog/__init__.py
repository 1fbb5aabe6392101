"""The claim catalogue: one TOML file a report, and the verdicts pinned from the last full run on each device type."""

from __future__ import annotations

import contextlib
import json
import re
import tomllib
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from ...atomic import write_text_atomic
from ..record import Claim, Reading

CATALOG_DIR = Path(__file__).parent
# One reference a device type: CUDA's kernels sum in other orders than the CPU's, so a GPU night may measure
# verdicts the CPU's pins do not allow (and the reverse); pinning one must never overwrite the other's.
PINNED_FILE = CATALOG_DIR / "pinned_verdicts.json"  # the CPU's, pinned from results/full
CUDA_PINNED_FILE = CATALOG_DIR / "pinned_verdicts_cuda.json"  # CUDA's, pinned from results/full-gpu
PINNED_DEVICE_TYPES = ("cpu", "cuda")


REQUIRED = ("id", "section", "statement", "metric", "check")  # every [[claim]] table's keys without a default


def load_file(path: Path) -> list[Claim]:
    """The claims of one TOML claim file, checked, in the file's order; nothing is registered.

    Every claim file is read here (the catalogue's own, :func:`add_file`'s, and another report's file judged by
    ``python -m harness judge``), so a check added here applies to all of them. The file's name less ``.toml``
    names the report, less a leading ``r`` before a digit (``r002.toml`` → ``002``, ``alice.toml`` → ``alice``).
    FileNotFoundError for a missing file; ValueError naming the file (and the claim, the key) for a file that is
    not TOML, holds no ``[[claim]]`` table, lacks a required key, defines a claim or a reading twice, or has a bad
    budget.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such claim file (a TOML file with [[claim]] tables)")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a TOML claim file ({exc})") from None
    raws = data.get("claim", [])
    if not isinstance(raws, list) or not raws:
        raise ValueError(f"{path}: holds no [[claim]] tables")
    report = path.stem[1:] if re.fullmatch(r"r\d.*", path.stem) else path.stem
    defaults = data.get("defaults", {})
    claims: list[Claim] = []
    for k, raw in enumerate(raws, 1):
        missing = [key for key in REQUIRED if key not in raw]
        if missing:
            raise ValueError(f"{path}: claim {raw.get('id', f'#{k}')}: no {', '.join(missing)} (every [[claim]] "
                             f"needs {', '.join(REQUIRED)})")
        if any(c.id == raw["id"] for c in claims):
            raise ValueError(f"{path}: claim {raw['id']} is defined twice")
        readings = raw.get("readings") or defaults.get("readings") or [
            {"name": "literal", "choices": {}, "why": "the report's setup as stated"}]
        names = []
        for r in readings:
            if not isinstance(r, dict) or "name" not in r or "why" not in r:
                raise ValueError(f"{path}: claim {raw['id']}: a reading without a name or a why ({r!r})")
            if r["name"] in names:
                raise ValueError(f"{path}: claim {raw['id']}: reading {r['name']!r} is defined twice")
            names.append(r["name"])
        claims.append(Claim(
            id=raw["id"], report=report, section=raw["section"], statement=raw["statement"],
            metric=raw["metric"], unit=raw.get("unit", ""), claimed=dict(raw.get("claimed", {})),
            check=raw["check"], setup={**defaults.get("setup", {}), **raw.get("setup", {})},
            open_choices={**defaults.get("open_choices", {}), **raw.get("open_choices", {})},
            readings=tuple(Reading(r["name"], dict(r.get("choices", {})), r["why"]) for r in readings),
            tolerance=raw.get("tolerance"), printed={**defaults.get("printed", {}), **raw.get("printed", {})},
            extension=bool(raw.get("extension", False)),
            timing=bool(raw.get("timing", False)), control=bool(raw.get("control", False)),
            notes=raw.get("notes", ""), params={**defaults.get("params", {}), **raw.get("params", {})},
            reachable=tuple(raw.get("reachable", ("REPRODUCED", "NOT REPRODUCED"))),
            # A claim's own budget replaces the report's default whole: no entry is inherited unseen.
            budget=_checked_budget(path, raw["id"], raw.get("budget") or defaults.get("budget", {})),
        ))
    return claims


def _checked_budget(path: Path, claim_id: str, budget: dict) -> dict:
    """``budget`` if every entry is a positive whole number or "all"; ValueError naming the file otherwise."""
    for profile, entries in budget.items():
        for key, value in (entries.items() if isinstance(entries, dict) else [(None, entries)]):
            if not (value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value > 0)):
                raise ValueError(f"{path}: claim {claim_id}: budget.{profile}.{key} = {value!r}; give a positive "
                                 "whole number or \"all\"")
        longer, epochs = (entries.get(k) if isinstance(entries, dict) else None for k in ("longer_epochs", "epochs"))
        if isinstance(longer, int) and isinstance(epochs, int) and longer < epochs:
            # The report's runs are the first epochs of the longer ones (suites/r002/common.py): never shorter.
            raise ValueError(f"{path}: claim {claim_id}: budget.{profile}.longer_epochs = {longer} is below "
                             f"budget.{profile}.epochs = {epochs}; give longer_epochs >= epochs (equal: the longer "
                             "runs are the report's runs)")
    return budget


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Claim]:
    claims: dict[str, Claim] = {}
    # The control first: every CIFAR-10 verdict rests on it, so tables list it at the top.
    for path in sorted(CATALOG_DIR.glob("*.toml"), key=lambda p: (not p.stem.startswith("control"), p.stem)):
        for claim in load_file(path):
            if claim.id in claims:
                raise ValueError(f"{path}: claim {claim.id} is defined twice")
            claims[claim.id] = claim
    return claims


def add_file(path: Path) -> list[Claim]:
    """Add the claims of a TOML file outside the package (a project's own report) to the catalogue.

    The file's name less ``.toml`` names the report (``r100.toml`` → report ``100``). Adding the
    same file again is a no-op; an id that another file already defines is a ValueError.
    """
    added = load_file(path)
    claims = _catalog()
    for claim in added:
        if claim.id in claims and claims[claim.id] != claim:
            raise ValueError(f"{path}: claim {claim.id} is already defined elsewhere in the catalogue")
    for claim in added:
        claims[claim.id] = claim
    return added


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
    return (_catalog(), f"{CATALOG_DIR}/*.toml") if scope is None else scope


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


def pinned_file_for(device_type: str = "cpu") -> Path:
    """The pins a full-profile session on ``device_type`` (``cpu``, ``cuda``) asserts; ValueError for another."""
    if device_type not in PINNED_DEVICE_TYPES:
        raise ValueError(f"no pinned verdicts for device type {device_type!r}: pins are kept for "
                         f"{' and '.join(PINNED_DEVICE_TYPES)}")
    return PINNED_FILE if device_type == "cpu" else CUDA_PINNED_FILE  # read at each call: tests point them elsewhere


def pinned_verdicts(device_type: str = "cpu") -> dict[str, list[str]]:
    """``"id|reading"`` → the verdicts a replicate of the last full-profile run on ``device_type`` may give (empty
    before the first)."""
    path = pinned_file_for(device_type)
    if not path.exists():
        return {}
    return json.loads(path.read_text())


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
                 add: bool = False) -> tuple[dict[str, list[str]], list[str], Path]:
    """Pin the verdict sets of a full run's claims.csv for the full profile to assert, merged by claim and reading
    into ``pinned_file`` (default: the pins of the device type the rows were measured on, :func:`pinned_file_for`);
    returns the pins, a line for each pin that changed, and the file.

    Only full-profile rows are taken (the ``profile`` column), NOT RUN and timing rows never; an id the catalogue
    does not know, or rows of several device types, are a ValueError naming the file. ``add``: a replicate run's
    verdicts join each row's pinned set instead of replacing it (what a true replicate gave is a verdict a
    replicate may give).
    """
    from ...report.compare import read_claims_csv

    rows = list(read_claims_csv(csv_path, required=("id", "reading", "verdict")).values())
    if not rows:
        raise ValueError(f"{csv_path}: holds no rows; pin a full-profile run's claims.csv")
    if "profile" in rows[0] and any(r["profile"] != "full" for r in rows):
        raise ValueError(f"{csv_path}: has rows of profile(s) {sorted({r['profile'] for r in rows} - {'full'})}; "
                         "pin a full-profile run's claims.csv")
    unknown = sorted({r["id"] for r in rows} - {c.id for c in all_claims()})
    if unknown:
        raise ValueError(f"{csv_path}: claim(s) {unknown} are not in the catalogue; add their records first")
    device = csv_device_type(rows, csv_path)  # checked even where the file is given: a mixed csv is never pinned
    pinned_file = pinned_file_for(device) if pinned_file is None else pinned_file
    pinned = json.loads(pinned_file.read_text()) if pinned_file.exists() else {}
    changes = []
    for r in rows:
        if r["verdict"] == "NOT RUN" or get(r["id"]).timing:
            continue
        key = f"{r['id']}|{r['reading']}"
        allowed = set(filter(None, (r.get("replicate_verdicts") or r["verdict"]).split("; "))) | {r["verdict"]}
        old = pinned.get(key)
        if add and old is not None:
            allowed |= {old} if isinstance(old, str) else set(old)
        allowed = sorted(allowed)
        if old != allowed:
            changes.append(f"{key}: {old if old is not None else 'not pinned'} → {allowed}")
        pinned[key] = allowed
    write_text_atomic(pinned_file, json.dumps(pinned, indent=2, sort_keys=True) + "\n")  # no kill loses the pins
    return pinned, changes, pinned_file
