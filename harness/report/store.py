"""One JSON file per claim and reading, written atomically when the claim finishes.

Each pytest-xdist worker writes only the files of the claims it ran; the
controller reads them all at the end. Never two writers on one file.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from ..claims.record import ClaimResult
from ..claims.verdicts import Verdict
from ..atomic import write_json_atomic

RECORDS = "records"
JUDGE_COMMAND = "python -m harness judge"  # what writes records judged against another report's claim file
log = logging.getLogger("harness")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)


def record_path(results_dir: Path, claim_id: str, reading: str) -> Path:
    """Where the record of ``claim_id`` under ``reading`` lives."""
    return Path(results_dir) / RECORDS / f"{_slug(claim_id)}__{_slug(reading)}.json"


def write_record(results_dir: Path, result: ClaimResult, environment: dict) -> Path:
    """Store ``result`` with the environment it was measured in; returns the file.

    A NOT RUN never replaces a measured record (a wrong data root, a spent time budget, an out-of-memory): what
    was measured stays, and the warning says why this session did not measure it again.
    """
    path = record_path(results_dir, result.claim_id, result.reading)
    if result.verdict == Verdict.NOT_RUN:
        kept = _measured(path)
        if kept is not None:
            log.warning("%s [%s]: not run this session (%s); its measured record (%s, commit %s) is kept in %s",
                        result.claim_id, result.reading, result.notes, kept["verdict"],
                        kept.get("environment", {}).get("commit", "?"), path)
            return path
    write_json_atomic(path, {**result.to_json(), "environment": environment})
    return path


def _measured(path: Path) -> dict | None:
    """The record at ``path`` if it holds a verdict that was measured (not NOT RUN), else None."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("verdict") not in (None, Verdict.NOT_RUN.value) \
        else None


def read_records(results_dir: Path) -> list[dict]:
    """Every stored record under ``results_dir``; a file that is not a whole record is skipped with a warning
    naming it (the rest still make the tables)."""
    folder = Path(results_dir) / RECORDS
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            log.warning("%s: not a readable record (%s); left out of the tables. Remove it, or rerun its claim", path,
                        exc)
            continue
        if not isinstance(record, dict) or not {"claim_id", "reading", "verdict"} <= set(record):
            log.warning("%s: not a claim record (no claim_id, reading and verdict); left out of the tables", path)
            continue
        records.append(record)
    from ..claims import catalog

    catalog.add_dirs_of(records)  # a record of a claims folder outside the repository brings its claims
    return records


def refuse_other_reports(results_dir: Path, command: str, why: str) -> None:
    """ValueError where a record under ``results_dir`` was judged against another report's file by ``judge``:
    ``command`` takes measured records judged against the catalogue, and ``why`` says what it would do with these."""
    for path in sorted((Path(results_dir) / RECORDS).glob("*.json")):
        try:
            judged = json.loads(path.read_text()).get("judged") or {}
        except (OSError, ValueError, AttributeError):
            continue  # the command itself names a malformed record
        if isinstance(judged, dict) and judged.get("claims"):
            raise ValueError(f"{results_dir}: its records were judged against {judged['claims']} by "
                             f"`{JUDGE_COMMAND}`, and `{command}` {why}; judge that file again from the measurements: "
                             f"`{JUDGE_COMMAND} --claims {judged['claims']} "
                             f"{judged.get('measurements', 'RESULTS_DIR')} --out NEW`")
