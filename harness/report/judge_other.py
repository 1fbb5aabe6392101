"""Another report's claims judged from a results folder's stored measurements: ``python -m harness judge``.

Course staff grade an assignment every student ran: the recipe is the same for every report of it, so its
measurements are too; only the claimed figures, the statements and the readings each report holds differ.
``python -m harness judge --claims OTHER.toml RESULTS_DIR --out DIR`` judges every stored record of RESULTS_DIR
whose claim and reading OTHER.toml has, with the claim's registered judge against OTHER.toml's claim record
(:func:`harness.report.rejudge.rejudge_record` under :func:`harness.claims.catalog.scoped`), with its stability as
``rejudge`` computes it, and writes DIR as a results folder of OTHER.toml's report: records, README.md, a table a
report, claims.csv and plots. A claim or reading of OTHER.toml without stored measurements is recorded NOT RUN,
naming the command that measures it; a stored record of a claim or reading OTHER.toml lacks is left out, but for
the positive control's, which checks the measurements themselves and is judged against the catalogue's own
record. Nothing is trained, and RESULTS_DIR is only read.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path

from ..atomic import write_json_atomic
from ..claims import catalog
from ..claims.record import Claim, ClaimResult, Reading
from ..claims.verdicts import Verdict
from ..judges import registered, judge_claim
from ..stability import DRAWS
from .environment import device_type, git_commit
from .rejudge import rejudge_record
from .store import JUDGE_COMMAND, RECORDS, read_records, record_path, refuse_other_reports

log = logging.getLogger("harness")


@dataclass
class JudgedAgainst:
    """What ``judge`` did: each reading of the other report's file with its verdict here and in RESULTS_DIR."""

    claims_file: Path
    sha256: str
    report: str
    results_dir: Path
    out: Path
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # claim, reading, verdict, stored verdict
    not_run: list[str] = field(default_factory=list)
    controls: list[str] = field(default_factory=list)  # the measurements' positive controls and their verdicts
    left_out: int = 0
    written: int = 0
    seconds: float = 0.0

    def markdown(self) -> str:
        """What the command prints: a line of counts, a row a reading, then the control and the NOT RUN notes."""
        judged = sum(1 for row in self.rows if row[2] != "NOT RUN")
        lines = [f"judged {self.claims_file} (report {self.report}, sha256 {self.sha256[:12]}) from the measurements "
                 f"of {self.results_dir}, without training: {judged} readings judged, {len(self.not_run)} NOT RUN; "
                 f"{self.left_out} stored records of claims or readings it does not have left out; wrote "
                 f"{self.written} files to {self.out} in {self.seconds:.1f} s", "",
                 f"| claim | reading | verdict against {self.claims_file.name} | verdict in {self.results_dir} |",
                 "| --- | --- | --- | --- |"]
        lines += [f"| {claim} | {reading} | {verdict} | {stored} |" for claim, reading, verdict, stored in self.rows]
        lines += [""] + [f"- control of the measurements (the catalogue's claim): {c}" for c in self.controls]
        lines += [f"- NOT RUN: {line}" for line in self.not_run]
        return "\n".join(lines).rstrip("\n") + "\n"


# What a hand-in's claim file states (its report's words, figures, precision and readings), and what it may not change.
HAND_IN_KEYS = ("statement", "claimed", "printed", "notes", "readings", "section", "metric", "check", "unit",
                "open_choices")
HARNESS_KEYS = ("params", "tolerance", "budget", "setup", "timing", "control", "extension", "reachable")
# What load_file gives a claim that leaves a key out (setup, a required field, is then {}).
_DEFAULTS = {f.name: f.default if f.default is not MISSING else
             f.default_factory() if f.default_factory is not MISSING else {} for f in fields(Claim) if f.name in HARNESS_KEYS}


def other_claims(path: Path) -> list[Claim]:
    """The claims of ``path`` (:func:`harness.claims.catalog.load_file`: every check of a claim file applies), each
    checked against what the harness can judge: a claim id without a registered judge, or a reading named as one
    the harness measures but with other choices, is a ValueError naming the file, the claim and the reading."""
    path = Path(path)
    claims = catalog.load_file(path, folder_rule=False)  # a hand-in re-states another folder's claim ids
    known = {c.id: c for c in catalog.all_claims()}
    judges = registered()
    for claim in claims:
        if claim.id not in judges or claim.id not in known:
            close = difflib.get_close_matches(claim.id, sorted(set(judges) & set(known)), n=1)
            raise ValueError(f"{path}: claim {claim.id!r} has no judge in any report folder's judges.py"
                             + (f" (did you mean {close[0]!r}?)" if close else "")
                             + "; a report's file judged from stored measurements uses the catalogue's claim ids")
        own = known[claim.id]
        # The hand-in states its report's words and figures; how a claim is checked (thresholds, budgets, the
        # verdicts it can reach, the recipe's setup) is the harness's and the measurements', never the hand-in's.
        for key in HARNESS_KEYS:
            stated = getattr(claim, key)
            if stated != _DEFAULTS[key] and stated != getattr(own, key):
                raise ValueError(f"{path}: claim {claim.id}: {key} differs from the catalogue's "
                                 f"({own.folder}/claims.toml); a hand-in may change only "
                                 f"{', '.join(HAND_IN_KEYS)}: remove {key} or give the catalogue's value")
        missing = sorted(set(own.claimed) - set(claim.claimed))
        if missing:
            raise ValueError(f"{path}: claim {claim.id}: claimed has no {', '.join(missing)}; the judge checks every "
                             f"figure the claim states ({', '.join(sorted(own.claimed))}): give the hand-in's figure "
                             "for each, or leave the claim out")
        for reading in claim.readings:
            try:
                measured = own.reading(reading.name)
            except KeyError:
                continue  # no suite measures it: recorded NOT RUN, saying so
            # Judges read a reading's choices (which loss, which gap): a reading named as a measured one must mean it.
            if measured.choices != reading.choices:
                raise ValueError(f"{path}: claim {claim.id} reading {reading.name!r} has choices {reading.choices}, "
                                 f"but the harness measures that reading with {measured.choices}: give it those "
                                 "choices, or another name")
    # What the hand-in leaves out of the harness's keys is the catalogue's: it is judged as the claim was measured.
    return [replace(c, **{key: getattr(known[c.id], key) for key in HARNESS_KEYS}) for c in claims]


def check_out(results_dir: Path, out: Path) -> None:
    """ValueError naming ``--out`` where it is a file, RESULTS_DIR or a folder inside it, or a folder that already
    holds records (as ``report --out``): the judged records would be mixed with measured ones."""
    results_dir, out = Path(results_dir), Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: is a file; give a new folder for the judged records and tables")
    if out.resolve() == results_dir.resolve() or results_dir.resolve() in out.resolve().parents:
        raise ValueError(f"--out {out}: is the results folder {results_dir} or inside it; its measurements are only "
                         "read: give another folder")
    if any((out / RECORDS).glob("*.json")):
        raise ValueError(f"--out {out}: already holds records ({out / RECORDS}); give a new or empty folder")


def _session_notes(record: dict, own: Claim) -> str:
    """A record's notes less the catalogue claim's own (a session appends them): what the measuring session said."""
    notes = record.get("notes") or ""
    if own.notes and notes.endswith(own.notes):
        notes = notes[:-len(own.notes)].rstrip()
    return notes


def _measure_command(claim: Claim, results_dir: Path, environment: dict) -> str:
    """The session that measures ``claim`` into ``results_dir``, on the device type its records came from."""
    dev = device_type(environment.get("device", "")) or "cpu"
    return (f"`pytest suites -k {claim.id.split('.', 1)[-1]} --profile {environment.get('profile', 'full')} "
            f"--device {dev} --results-dir={results_dir}`")


def _not_run(claim: Claim, reading: Reading, stored: dict | None, results_dir: Path, environment: dict,
             stale: bool = False) -> dict:
    """The NOT RUN record of a reading without usable measurements, saying why and what measures it."""
    own = catalog.get(claim.id)
    measure = _measure_command(claim, results_dir, environment)
    if stored is not None and not stale:  # recorded NOT RUN there: its reason (a time budget, missing data) holds
        why = f"{_session_notes(stored, own) or 'recorded NOT RUN'}; measured by {measure}"
        record = {**stored, "environment": stored.get("environment") or environment}
    else:
        if stale:
            why = (f"the stored record in {results_dir} cannot be judged, even against the catalogue's claim (a "
                   f"measurement its judge reads is missing); measured again by {measure}, then judge again")
        elif reading.name in {r.name for r in own.readings}:
            why = f"no stored measurements in {results_dir}; measured by {measure}, then judge again"
        else:
            why = (f"the harness measures no reading {reading.name!r} of {claim.id} (it measures "
                   f"{', '.join(r.name for r in own.readings)}): judge one of those, or add this one to the "
                   "catalogue with its measurement")
        record = {**ClaimResult(claim.id, reading.name, Verdict.NOT_RUN, claimed="", measured="—").to_json(),
                  "environment": environment}
    return {**record, "claimed": claim.statement, "measured": "—", "unit": claim.unit, "metric": claim.metric,
            "notes": " ".join(x for x in (why, claim.notes) if x), "reading_text": reading.text()}


def _judged(claim: Claim, reading: Reading, stored: dict, claims: list[Claim], claims_file: Path, draws: int,
            commit: str) -> dict | None:
    """``stored`` judged against ``claim``; None where the stored record cannot be judged even against the
    catalogue's own claim (stale or malformed: not the other file's fault)."""
    own = catalog.get(claim.id)
    try:
        with catalog.scoped(claims, claims_file):
            new = rejudge_record(stored, draws, commit)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        try:
            judge_claim(own, own.reading(reading.name), stored["measurements"])
        except (KeyError, ValueError, TypeError, IndexError):
            return None
        # The catalogue's claim judges these measurements, so the other file's record lacks what its judge reads.
        raise ValueError(f"{claims_file}: claim {claim.id} [{reading.name}]: its judge cannot judge it "
                         f"({type(exc).__name__}: {exc}); a claimed figure, printed precision or param the judge "
                         f"reads is missing or malformed (compare the catalogue's record of {claim.id})") from None
    return {**new, "notes": " ".join(x for x in (_session_notes(stored, own), claim.notes) if x),
            "reading_text": reading.text()}


def _move_into(staging: Path, out: Path) -> None:
    """The finished folder ``staging`` becomes ``out``: one rename where ``out`` is new; else (a folder without
    records) each file moved in, the records last."""
    if not out.exists():
        os.rename(staging, out)
        return
    for entry in sorted(staging.iterdir(), key=lambda e: (e.name == RECORDS, e.name)):  # the records last
        target = out / entry.name
        if entry.is_dir() and target.is_dir():
            for item in sorted(entry.iterdir()):
                os.replace(item, target / item.name)
        else:
            os.replace(entry, target)


def judge_against(claims_file: Path, results_dir: Path, out: Path, draws: int | None = None) -> JudgedAgainst:
    """Judge the claims of ``claims_file`` (another report of the same recipe) from the stored measurements of
    ``results_dir`` and write ``out`` as that report's results folder; returns what was done.

    Every input is checked and every record judged before anything is written, and ``out`` is written in a
    hidden folder beside it, then renamed (or, where ``out`` is an existing folder without records, moved in, the
    records last): a bad input leaves nothing, and a reader never finds records without their tables.
    FileNotFoundError for a missing file or folder, ValueError for a bad file or ``--out``, each naming it.
    """
    started = time.perf_counter()
    claims_file, results_dir, out = Path(claims_file), Path(results_dir), Path(out)
    if not any((results_dir / RECORDS).glob("*.json")):
        raise FileNotFoundError(f"{results_dir}: no records under {results_dir / RECORDS}; give a results folder a "
                                "session wrote (e.g. results/full)")
    check_out(results_dir, out)
    refuse_other_reports(results_dir, JUDGE_COMMAND, "judges measured records, not another report's verdicts")
    records = read_records(results_dir)  # first: records of a claims folder outside suites/ bring its claims
    claims = other_claims(claims_file)
    stored = {(r["claim_id"], r["reading"]): r for r in records}
    environment = next((r["environment"] for r in stored.values() if r.get("environment")), None)
    if environment is None:
        raise ValueError(f"{results_dir}: no record says where it was measured (environment); rerun its session")
    sha = hashlib.sha256(claims_file.read_bytes()).hexdigest()
    provenance = {"commit": git_commit(Path(__file__).resolve().parents[2]), "by": JUDGE_COMMAND,
                  "claims": str(claims_file), "claims_sha256": sha, "measurements": str(results_dir)}
    draws = DRAWS if draws is None else draws
    done = JudgedAgainst(claims_file, sha, claims[0].report, results_dir, out)
    records, used = [], set()
    for claim in claims:
        for reading in claim.readings:
            key = (claim.id, reading.name)
            record = stored.get(key)
            new, stale = None, False
            if record is not None and record["verdict"] != str(Verdict.NOT_RUN):
                new = _judged(claim, reading, record, claims, claims_file, draws, provenance["commit"])
                stale = new is None
            if new is None:
                new = _not_run(claim, reading, record, results_dir, environment, stale)
                done.not_run.append(f"{claim.id} [{reading.name}]: {new['notes']}")
            used.add(key)
            records.append({**new, "judged": provenance})
            done.rows.append((claim.id, reading.name, new["verdict"],
                              stored[key]["verdict"] if key in stored else "—"))
    # The positive control checks the measurements (data pipeline, engine), not a report: it is judged against the
    # catalogue's own record, so the tables still say first whether these measurements can be trusted.
    controls = [c for c in catalog.all_claims() if c.control and c.id not in {o.id for o in claims}]
    for key, record in stored.items():
        if key[0] in {c.id for c in controls}:
            try:  # by the catalogue's control record, as rejudge would: judged here at this commit, like the rest
                record = {**rejudge_record(record, draws, provenance["commit"]),
                          "judged": {"commit": provenance["commit"], "by": JUDGE_COMMAND}}
            except (KeyError, ValueError, TypeError, IndexError) as exc:
                log.warning("%s [%s]: the stored control record cannot be judged (%s); carried over as it was",
                            key[0], key[1], exc)
            records.append(record)
            used.add(key)
            done.controls.append(f"{key[0]} [{key[1]}] {record['verdict']}")
    claims = controls + claims
    done.left_out = len(set(stored) - used)

    from . import write_results

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.judging-"))
    except OSError as exc:
        raise ValueError(f"--out {out}: cannot be written ({exc})") from None
    try:
        for record in records:
            write_json_atomic(record_path(staging, record["claim_id"], record["reading"]), record)
        with catalog.scoped(claims, claims_file):
            written = write_results(staging, environment)
        _move_into(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    done.written = len(records) + len(written)
    done.seconds = time.perf_counter() - started
    return done
