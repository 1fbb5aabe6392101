"""Merge the record folders of several machines (shards of one run) into one set of tables."""

from __future__ import annotations

import shutil
from pathlib import Path

from .store import RECORDS, read_records, refuse_other_reports


class MixedRecords(ValueError):
    """Records from different commits, profiles or devices: their verdicts do not belong in one table."""


def _check_out(sources: list[Path], out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file; give a folder for the merged tables")
    if any(Path(source).resolve() == out.resolve() for source in sources):
        raise ValueError(f"--out {out}: is also a source; give another folder for the merged tables")
    if any((out / RECORDS).glob("*.json")):
        raise ValueError(f"--out {out}: already holds records ({out / RECORDS}), which would be merged unchecked; "
                         "give a new or empty folder, or list it among the sources and merge into another")


def merge_records(sources: list[Path], out: Path, allow_mixed: bool = False) -> list[dict]:
    """Copy every record of ``sources`` into ``out/records``; returns them.

    Records of one claim and reading found twice are refused, and so are records of different commits, profiles
    or devices (a CPU and a GPU, or two GPU models: their figures differ by round-off, and each device type has its
    own pinned reference) unless ``allow_mixed`` (the header then names every commit and device). ``out`` must be a
    new folder or one without records: records already there would join the tables past these checks. A source
    that ``python -m harness judge`` wrote (judged against another report's file) is refused, naming that file.
    """
    _check_out(sources, Path(out))
    for source in sources:
        refuse_other_reports(source, "python -m harness report", "would table them under the catalogue's claims")
    records, origin = [], {}
    for source in sources:
        found = read_records(source)
        if not found:
            raise FileNotFoundError(f"{source}: no records under {Path(source) / RECORDS}; give results folders "
                                    "written by the harness")
        for record in found:
            key = (record["claim_id"], record["reading"])
            if key in origin:
                raise MixedRecords(f"{record['claim_id']} [{record['reading']}] is in both {origin[key]} and {source}: "
                                   "shards must be disjoint")
            origin[key] = source
            records.append(record)
    for field in ("commit", "profile", "device"):
        values = sorted({str(r.get("environment", {}).get(field)) for r in records})
        if len(values) > 1 and not allow_mixed:
            raise MixedRecords(f"records from different {field}s ({', '.join(values)}): rerun the shards on one "
                               f"{field}, or pass --allow-mixed to merge them anyway")
    folder = Path(out) / RECORDS
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for path in sorted((Path(source) / RECORDS).glob("*.json")):
            shutil.copy2(path, folder / path.name)
    return records
