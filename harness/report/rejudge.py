"""Judge stored records again with today's judges, and rewrite the tables: no training.

A record keeps the measurements its verdict was judged from, so a change to a judge, a rule or a table never
needs a new training run: ``python -m harness rejudge results/full``. The measuring session's environment is
kept (it says where the figures came from); the record says which commit judged it (``judged``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import write_json_atomic
from ..claims import catalog
from ..claims.record import json_safe
from ..judges import judge_claim
from ..stability import DRAWS, stability
from .environment import git_commit
from .store import RECORDS, refuse_other_reports

log = logging.getLogger("harness")


@dataclass
class Rejudged:
    """What a rejudge did: the records judged, the verdicts that changed, the files it could not judge."""

    folder: Path
    judged: int = 0
    changed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"re-judged {self.judged} records in {self.folder}; wrote {len(self.written)} files"]
        lines += [f"- changed: {c}" for c in self.changed] or ["- no verdict changed"]
        lines += [f"- skipped: {s}" for s in self.skipped]
        return "\n".join(lines) + "\n"


def rejudge_record(record: dict, draws: int = DRAWS, commit: str = "") -> dict:
    """``record`` judged again from its measurements, with its stability, and its metric and unit as the claim's
    record now words them; NOT RUN records come back as they are.

    KeyError when the catalogue has no such claim or reading, or the judge misses a measurement.
    """
    if record["verdict"] == "NOT RUN":
        return record
    claim = catalog.get(record["claim_id"])
    reading = claim.reading(record["reading"])
    judgement = judge_claim(claim, reading, record["measurements"])
    n_seeds = len(record.get("seeds") or [])
    new = {**record, "metric": judgement.metric or claim.metric, "unit": claim.unit, "verdict": str(judgement.verdict), "claimed": judgement.claimed, "measured": judgement.measured,
           "claimed_value": judgement.claimed_value, "figures": {**record.get("figures", {}), **judgement.figures},
           "parts": [p.to_json() for p in judgement.parts],
           "interval": None if judgement.interval is None else json_safe(judgement.interval.__dict__),
           "stability": None if claim.timing else stability(claim, reading, record["measurements"], n_seeds,
                                                            str(judgement.verdict), draws=draws),
           "judged": {"commit": commit, "by": "python -m harness rejudge"}}
    return json_safe(new)


def rejudge(results_dir: Path, draws: int | None = None) -> Rejudged:
    """Re-judge every record under ``results_dir`` and rewrite its tables and plots; a record that cannot be judged
    (malformed, an unknown claim or reading, a missing measurement) is skipped with its file named, and kept.

    A folder ``python -m harness judge`` wrote (records judged against another report's file) is a ValueError
    before anything is rewritten: judged against the catalogue, its tables would carry the wrong report's claims.
    """
    from . import write_results
    results_dir = Path(results_dir)
    folder = results_dir / RECORDS
    if not folder.is_dir():
        raise FileNotFoundError(f"{results_dir}: no {RECORDS}/ folder; give a results folder a session wrote")
    refuse_other_reports(results_dir, "python -m harness rejudge",
                         "would judge them against the catalogue's claims")
    from .store import read_records

    read_records(results_dir)  # records of a claims folder outside suites/ bring that folder to the catalogue
    out = Rejudged(results_dir)
    commit = git_commit(Path(__file__).resolve().parents[2])
    environment = None
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            new = rejudge_record(record, DRAWS if draws is None else draws, commit)
        except (json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            out.skipped.append(f"{path}: {type(exc).__name__}: {exc}")
            log.warning("rejudge: %s not judged (%s); kept as it was", path, exc)
            continue
        if new["verdict"] != record["verdict"]:
            out.changed.append(f"{record['claim_id']} [{record['reading']}]: {record['verdict']} → {new['verdict']}")
        write_json_atomic(path, new)
        out.judged += 1
        environment = environment or new["environment"]
    if environment is not None:
        out.written = write_results(results_dir, environment)
    return out
