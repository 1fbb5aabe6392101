"""``python -m harness claims validate [DIR]``: a report folder checked without training anything.

What it checks, each problem named with its file: the claim records load (unknown keys, missing keys, budgets —
:func:`harness.claims.catalog.load_file`); ``judges.py`` imports, every claim has a judge and every judge names a
claim of its folder (a misspelt ``@judge`` id); every ``@runs_of`` of its ``runs.py`` names a claim of the folder, and
each claim's run declaration gives runs under every reading and profile; pins name claims and readings that exist;
and the folder's tests
collect under the harness's pytest plugin, which checks every claim test's claim, readings and judge at collection.
It does not run the judges' tests: ``pytest DIR -p harness.pytest_plugin -k test_judges`` does, training nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from . import catalog


def problems(report_folder: catalog.ReportFolder) -> list[str]:
    """What is wrong with ``report_folder`` short of training (empty: nothing found)."""
    from ..judges import JUDGES

    found = []
    claims = {c.id: c for c in catalog.all_claims() if c.folder == str(report_folder.path)}
    try:
        catalog.load_judges(report_folder)
    except Exception as exc:  # noqa: BLE001 — any failure to import is the finding
        return [f"{report_folder.judges_file}: does not import ({type(exc).__name__}: {exc})"]
    if not report_folder.judges_file.is_file():
        found.append(f"{report_folder.judges_file}: missing; each claim needs a judge (@judge(\"<id>\"))")
    mine = {cid for cid, fn in JUDGES.items() if Path(fn.__code__.co_filename).resolve() ==
            report_folder.judges_file.resolve()}
    for cid in sorted(set(claims) - set(JUDGES)):
        found.append(f"{cid}: no judge; register one with @judge({cid!r}) in {report_folder.judges_file}")
    for cid in sorted(mine - set(claims)):
        found.append(f"{report_folder.judges_file}: @judge({cid!r}) names no claim of {report_folder.claims_file}")
    found += declaration_problems(report_folder, claims)
    for device in catalog.PINNED_DEVICE_TYPES:
        path = report_folder.pinned_file(device)
        if not path.exists():
            continue
        try:
            pins = json.loads(path.read_text())
        except ValueError as exc:
            found.append(f"{path}: not JSON ({exc})")
            continue
        for key in sorted(pins):
            cid, _, reading = key.partition("|")
            if cid not in claims:
                found.append(f"{path}: pins {key!r}, but {cid} is no claim of this folder")
            elif reading not in {r.name for r in claims[cid].readings}:
                found.append(f"{path}: pins {key!r}, but {cid} has no reading {reading!r}")
    return found


def declaration_problems(report_folder: catalog.ReportFolder, claims: dict) -> list[str]:
    """What is wrong with the folder's run declarations: a ``runs.py`` that does not import, an ``@runs_of`` that
    names no claim of the folder, a declaration that fails or gives other than runs under a reading and profile."""
    from .. import runs

    path = report_folder.path / runs.RUNS_FILE
    try:
        runs.load_runs_file(report_folder.path)
    except Exception as exc:  # noqa: BLE001 — any failure to import is the finding
        return [f"{path}: does not import ({type(exc).__name__}: {exc})"]
    found = []
    mine = {cid for cid, fn in runs.DECLARATIONS.items() if Path(fn.__code__.co_filename).resolve() == path.resolve()}
    found += [f"{path}: @runs_of({cid!r}) names no claim of {report_folder.claims_file}"
              for cid in sorted(mine - set(claims))]
    for cid, claim in sorted(claims.items()):
        for reading in claim.readings:
            for profile in claim.budget or ("smoke", "full"):
                try:
                    runs.declared(runs.ClaimUnderReading(claim, reading, profile))
                except Exception as exc:  # noqa: BLE001 — the declaration's failure is the finding
                    found.append(f"{cid} [{reading.name}], profile {profile}: its run declaration fails "
                                 f"({type(exc).__name__}: {exc})")
    return found


def collect(paths: list[Path]) -> tuple[int, str]:
    """``pytest --collect-only`` of ``paths`` under the harness's plugin, in this process: its exit code and
    output. Collection imports every test module (``for_each_reading`` checks its readings there) and the plugin
    checks each claim test's claim and judge."""
    import pytest

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = pytest.main([*map(str, paths), "--collect-only", "-q", "-p", "no:cacheprovider",
                            "-p", "harness.pytest_plugin", "--progress-every=0", "--device=cpu"])
    return int(code), out.getvalue()


def validate(path: Path | None = None) -> tuple[list[str], str]:
    """Every problem of the report folders under ``path`` (default: every folder of the catalogue), and a summary.

    A claim file that does not load stops at its first problem (it is raised: the message names file, claim and
    key); everything else is listed.
    """
    folders = catalog.add_dir(path) if path is not None else catalog.folders()
    found = [p for f in folders for p in problems(f)]
    code, output = collect([f.path for f in folders])
    if code not in (0, 5):  # 5: no tests collected, which problems() would not see
        found.append(f"pytest --collect-only {' '.join(str(f.path) for f in folders)} failed (exit {code}):\n"
                     + output.strip())
    n = sum(1 for c in catalog.all_claims() if any(c.folder == str(f.path) for f in folders))
    tests = sum(1 for line in output.splitlines() if "::" in line)
    summary = (f"{len(folders)} report folder(s), {n} claims, {tests} tests collected: "
               + ("no problem found" if not found else f"{len(found)} problem(s)"))
    return found, summary
