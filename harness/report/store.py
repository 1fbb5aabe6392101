"""One JSON file per claim and reading, written atomically when the claim finishes.

Each pytest-xdist worker writes only the files of the claims it ran; the
controller reads them all at the end. Never two writers on one file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..claims.record import ClaimResult
from ..atomic import write_json_atomic

RECORDS = "records"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)


def record_path(results_dir: Path, claim_id: str, reading: str) -> Path:
    """Where the record of ``claim_id`` under ``reading`` lives."""
    return Path(results_dir) / RECORDS / f"{_slug(claim_id)}__{_slug(reading)}.json"


def write_record(results_dir: Path, result: ClaimResult, environment: dict) -> Path:
    """Store ``result`` with the environment it was measured in; returns the file."""
    path = record_path(results_dir, result.claim_id, result.reading)
    write_json_atomic(path, {**result.to_json(), "environment": environment})
    return path


def read_records(results_dir: Path) -> list[dict]:
    """Every stored record under ``results_dir``."""
    folder = Path(results_dir) / RECORDS
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
