"""python -m harness judge: another report's claims judged from stored measurements, without training.

Every test judges a copy of results/full's records in tmp_path: results/ is never written.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from harness.claims import catalog
from harness.cli import main
from harness.judges import judge_claim
from harness.report.store import record_path

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "results" / "full"
OWN = catalog.folder("r002").claims_file
STUDENT_B = ROOT / "examples" / "r002-student-b.toml"
DRAWS = "20"  # the stability figures' bootstrap: fewer draws than a table's, the same function (tests/test_rejudge.py)


def _measurements(tmp: Path) -> Path:
    """A results folder holding a copy of results/full's records (the tables are not needed to judge)."""
    shutil.copytree(FULL / "records", tmp / "full" / "records")
    return tmp / "full"


def _rows(path: Path) -> dict[tuple[str, str], dict]:
    return {(r["id"], r["reading"]): r for r in csv.DictReader(io.StringIO(path.read_text()))}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _nothing_written(out: Path) -> None:
    assert not out.exists(), f"{out} was written"
    assert not list(out.parent.glob(f".{out.name}.judging-*")), "a staging folder was left behind"


@pytest.fixture(scope="module")
def student_b(tmp_path_factory):
    """The README's example, judged once: the measurements' folder, the output folder, what the command printed."""
    tmp = tmp_path_factory.mktemp("student-b")
    full = _measurements(tmp)
    before = _digest(full)
    out = tmp / "student-b"
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        assert main(["judge", "--claims", str(STUDENT_B), str(full), "--out", str(out), "--draws", DRAWS]) == 0
    assert _digest(full) == before, "the measurements' folder was written"
    return full, out, capture.getvalue()


def test_judging_the_projects_own_r002_toml_reproduces_results_full_for_report_002(tmp_path):
    full = _measurements(tmp_path)
    out = tmp_path / "own"
    assert main(["judge", "--claims", str(OWN), str(full), "--out", str(out), "--draws", DRAWS]) == 0
    committed, judged = _rows(FULL / "claims.csv"), _rows(out / "claims.csv")
    r002 = {key: row for key, row in committed.items() if key[0].startswith("r002.")}
    assert r002 and set(judged) == set(r002) | {k for k in committed if catalog.get(k[0]).control}
    # A judge is a pure function of the measurements: every column but the bootstrap's (fewer draws here) agrees.
    for key, row in r002.items():
        for column, value in row.items():
            if column not in ("stability", "replicate_verdicts"):
                assert judged[key][column] == value, (key, column, judged[key][column], value)
    assert "[Report 002](#report-002)" in (out / "README.md").read_text()
    assert (out / "r002.md").exists() and not (out / "r000.md").exists()


def test_student_b_is_judged_against_its_own_claims_from_the_stored_measurements(student_b):
    full, out, printed = student_b
    other = {c.id: c for c in catalog.load_file(STUDENT_B)}
    rows = _rows(out / "claims.csv")
    for claim in other.values():
        for reading in claim.readings:
            path = record_path(full, claim.id, reading.name)
            row = rows[(claim.id, reading.name)]
            if not path.exists():
                assert row["verdict"] == "NOT RUN", (claim.id, reading.name)
                continue
            stored = json.loads(path.read_text())
            expected = judge_claim(claim, reading, stored["measurements"])  # the expectation, computed
            assert row["verdict"] == str(expected.verdict), (claim.id, reading.name)
            assert row["claimed"] == expected.claimed
    # The far-off figure (71 % where the recipe's runs give about 55 %): refuted from the measurements, where the
    # project's own claim (53 %) on the same measurements is not.
    far = other["r002.tanh_learns"]
    stored = json.loads((full / "records" / "r002.tanh_learns__momentum=0.json").read_text())
    own = catalog.get("r002.tanh_learns")
    mine = judge_claim(far, far.reading("momentum=0"), stored["measurements"])
    theirs = judge_claim(own, own.reading("momentum=0"), stored["measurements"])
    assert str(mine.verdict) == "NOT REPRODUCED" and mine.verdict != theirs.verdict
    assert rows[("r002.tanh_learns", "momentum=0")]["verdict"] == "NOT REPRODUCED"
    assert far.claimed["test_acc"] > mine.interval.high  # the claimed figure lies above one run's 95 % interval
    # A reading the harness does not measure is tabled NOT RUN, saying so; records of other claims are left out.
    assert rows[("r002.fix_init", "momentum=0,gain=2")]["verdict"] == "NOT RUN"
    assert "the harness measures no reading 'momentum=0,gain=2'" in printed
    assert not [key for key in rows if key[0].startswith("r000.")]
    assert not [key for key in rows if key[0] == "r002.depth_sweep" and key[1] != "momentum=0"]
    assert rows[("control.cifar10_tutorial", "tutorial")]["verdict"] == "REPRODUCED"  # the measurements' control
    # The built-in catalogue is whole again: the other file's claims never leaked into it.
    assert catalog.get("r002.tanh_learns").claimed["test_acc"] == 53.0


def test_student_bs_tables_carry_its_claims_and_say_what_they_were_judged_against(student_b):
    full, out, printed = student_b
    sha = hashlib.sha256(STUDENT_B.read_bytes()).hexdigest()
    summary, report = (out / "README.md").read_text(), (out / "r002-student-b.md").read_text()
    for text in (summary, report):
        assert f"judged against: `{STUDENT_B}` (sha256 {sha[:12]}) from the measurements of `{full}`" in text
        assert "- commit: " + json.loads((FULL / "records" / "r002.tanh_learns__momentum=0.json").read_text())[
            "environment"]["commit"] in text  # the measuring session's environment header is kept
    assert "## Report 002-student-b" in summary and "[r002.tanh_learns](r002-student-b.md#tanh-learns-1)" in summary
    assert "> the same with tanh: epoch losses 1.602, 1.297; test accuracy 71 %" in report
    assert "test accuracy 53 %" not in report  # not the catalogue's statement
    assert "Student B writes that tanh" in report  # the file's notes
    assert (out / "plots" / "r002-student-b-forest.png").exists()
    assert "r002.tanh_learns | momentum=0 | NOT REPRODUCED | REPRODUCED" in printed
    records = sorted((out / "records").glob("*.json"))
    judged = [json.loads(p.read_text())["judged"] for p in records]
    assert all(j["by"] == "python -m harness judge" for j in judged)
    assert {j.get("claims_sha256") for j in judged} == {sha, None}  # None: the control, judged by its own record


def test_the_readmes_example_prints_what_the_command_prints(student_b):
    full, out, printed = student_b
    section = (ROOT / "README.md").read_text().split("## Grading a class: one set of runs, many reports\n", 1)[1]
    block = section.split("It prints:\n\n```\n", 1)[1].split("\n```", 1)[0]
    for path, here in (("examples/r002-student-b.toml", STUDENT_B), ("results/full", full), ("/tmp/student-b", out)):
        block = block.replace(path, str(here))
    seconds = re.compile(r" in [\d.]+ s$", re.M)  # the wall time is this machine's
    assert seconds.sub("", block) == seconds.sub("", printed.rstrip("\n"))


def test_a_reading_without_usable_measurements_names_the_session_that_measures_it(tmp_path, capsys):
    full = _measurements(tmp_path)
    (full / "records" / "r002.depth_sweep__momentum=0.json").unlink()
    stale = full / "records" / "r002.tanh_learns__momentum=0.9.json"  # a record its judge cannot read (older code)
    record = json.loads(stale.read_text())
    del record["measurements"]["test_acc"]
    stale.write_text(json.dumps(record))
    out = tmp_path / "existing"
    out.mkdir()  # an empty folder is taken, as by report --out
    assert main(["judge", "--claims", str(STUDENT_B), str(full), "--out", str(out), "--draws", "5"]) == 0
    row = _rows(out / "claims.csv")[("r002.depth_sweep", "momentum=0")]
    assert row["verdict"] == "NOT RUN"
    command = f"pytest suites -k depth_sweep --profile full --device cpu --results-dir={full}"
    assert command in capsys.readouterr().out
    assert command in (out / "r002-student-b.md").read_text()
    assert _rows(out / "claims.csv")[("r002.tanh_learns", "momentum=0.9")]["verdict"] == "NOT RUN"
    assert "cannot be judged, even against the catalogue's claim" in (out / "r002-student-b.md").read_text()
    assert not list(tmp_path.glob(".existing.judging-*"))


def _claim_file(tmp_path: Path, name: str, edit) -> Path:
    text = edit(STUDENT_B.read_text())
    assert text != STUDENT_B.read_text(), "the edit changed nothing"
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("name", "edit", "says"), [
    ("alice.toml", lambda t: t.replace('id = "r002.tanh_learns"', 'id = "r002.tanh_learn"'),
     "claim 'r002.tanh_learn' has no judge in any report folder's judges.py (did you mean 'r002.tanh_learns'?)"),
    ("bob.toml", lambda t: t.replace('{ momentum = 0.0 }, why = "plain SGD (the report',
                                     '{ momentum = 0.5 }, why = "plain SGD (the report'),
     "claim r002.fix_leaky_relu reading 'momentum=0' has choices {'momentum': 0.5}"),
    ("carol.toml", lambda t: t.replace("claimed = { test_acc = 71.0, ", "claimed = { "),
     "claim r002.tanh_learns: claimed has no test_acc; the judge checks every figure the claim states"),
    # How a claim is checked is the harness's: a hand-in that would loosen a tolerance or a threshold is refused.
    ("frank.toml", lambda t: t.replace('id = "r002.tanh_learns"', 'id = "r002.tanh_learns"\ntolerance = 9.0'),
     "claim r002.tanh_learns: tolerance differs from the catalogue's"),
    ("dave.toml", lambda t: t.replace('statement = "LeakyReLU', 'statemint = "LeakyReLU'),
     "claim 'r002.fix_leaky_relu': unknown key 'statemint' (did you mean 'statement'?)"),
    ("erin.toml", lambda t: t.replace("[[claim]]", "[[claim]", 1), "not valid TOML"),
])
def test_a_bad_claim_file_is_named_with_the_claim_and_nothing_is_written(tmp_path, capsys, name, edit, says):
    full = _measurements(tmp_path)
    bad, out = _claim_file(tmp_path, name, edit), tmp_path / "out"
    assert main(["judge", "--claims", str(bad), str(full), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and says in err, err
    _nothing_written(out)


def test_a_missing_claim_file_or_results_folder_is_named(tmp_path, capsys):
    full, out = _measurements(tmp_path), tmp_path / "out"
    assert main(["judge", "--claims", str(tmp_path / "nope.toml"), str(full), "--out", str(out)]) == 2
    assert f"{tmp_path / 'nope.toml'}: no such claim file" in capsys.readouterr().err
    assert main(["judge", "--claims", str(STUDENT_B), str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert f"{tmp_path / 'empty'}: no records" in capsys.readouterr().err
    _nothing_written(out)
    with pytest.raises(SystemExit) as exit_:
        main(["judge", str(full), "--out", str(out)])
    assert exit_.value.code == 2 and "--claims" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["a file", "the results folder", "inside it", "a folder with records"])
def test_a_refused_out_is_named_and_left_as_it_was(tmp_path, capsys, where):
    full = _measurements(tmp_path)
    out = {"a file": tmp_path / "out.txt", "the results folder": full, "inside it": full / "student-b",
           "a folder with records": tmp_path / "taken"}[where]
    if where == "a file":
        out.write_text("mine")
    if where == "a folder with records":
        (out / "records").mkdir(parents=True)
        (out / "records" / "x.json").write_text("{}")
    before = _digest(tmp_path)
    assert main(["judge", "--claims", str(STUDENT_B), str(full), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}:" in err, err
    assert _digest(tmp_path) == before and not list(tmp_path.rglob(".*.judging-*"))


def test_rejudge_and_report_refuse_a_folder_judged_against_another_file(student_b, tmp_path, capsys):
    full, out, _ = student_b
    copy = tmp_path / "student-b"
    shutil.copytree(out, copy)
    before = _digest(copy)
    assert main(["rejudge", str(copy)]) == 2
    assert f"judged against {STUDENT_B}" in capsys.readouterr().err
    assert main(["report", str(copy), "--out", str(tmp_path / "merged")]) == 2
    assert f"judged against {STUDENT_B}" in capsys.readouterr().err
    assert _digest(copy) == before and not (tmp_path / "merged").exists()
    assert main(["judge", "--claims", str(STUDENT_B), str(copy), "--out", str(tmp_path / "again")]) == 2
    assert "judged against" in capsys.readouterr().err  # judge the measurements, not another report's verdicts
    # A hand-in's verdicts are never the project's pins, nor a change of the measured run.
    pins = {f.name: f.pinned_file().read_bytes() for f in catalog.folders()}
    assert main(["claims", "pin", str(copy / "claims.csv")]) == 2
    assert "python -m harness claims pin` would pin the hand-in's verdicts" in capsys.readouterr().err
    assert {f.name: f.pinned_file().read_bytes() for f in catalog.folders()} == pins
    assert main(["compare", str(full), str(copy)]) == 2
    assert "python -m harness compare` would count the hand-in's verdicts" in capsys.readouterr().err


def test_a_hand_in_saved_as_claims_toml_in_a_folder_of_its_own_is_named_by_that_folder(student_b, tmp_path, capsys):
    full, _, _ = student_b
    hand_in = tmp_path / "hand-ins" / "alice" / "claims.toml"
    hand_in.parent.mkdir(parents=True)
    hand_in.write_text(STUDENT_B.read_text())
    assert main(["judge", "--claims", str(hand_in), str(full), "--out", str(tmp_path / "alice"), "--draws", "5"]) == 0
    assert "# Report alice" in (tmp_path / "alice" / "alice.md").read_text()


def test_the_scoped_catalogue_ends_with_its_block_an_exception_too():
    other = catalog.load_file(STUDENT_B)
    with pytest.raises(RuntimeError):
        with catalog.scoped(other, STUDENT_B):
            assert catalog.get("r002.tanh_learns").claimed["test_acc"] == 71.0
            assert [c.id for c in catalog.all_claims()] == [c.id for c in other]
            with pytest.raises(KeyError, match="r002-student-b.toml"):
                catalog.get("r002.tanh_zero_mean")  # only the other file's claims, none of the catalogue's
            raise RuntimeError
    assert catalog.get("r002.tanh_learns").claimed["test_acc"] == 53.0
    assert catalog.get("r002.tanh_zero_mean").report == "002"


def test_load_file_reads_without_registering_and_names_the_report_by_the_file(tmp_path):
    claims = catalog.load_file(STUDENT_B)
    assert {c.report for c in claims} == {"002-student-b"}
    assert catalog.get("r002.tanh_learns").report == "002"  # not registered
    plain = tmp_path / "roberts.toml"  # a leading r names the report only before a digit
    plain.write_text(STUDENT_B.read_text())
    assert {c.report for c in catalog.load_file(plain)} == {"roberts"}
    twice = _claim_file(tmp_path, "twice.toml", lambda t: t.replace(
        '{ name = "momentum=0.9", choices = { momentum = 0.9, loss = "epoch-mean" }, why = "the tutorial\'s momentum; '
        'loss = the mean over each epoch" },',
        '{ name = "momentum=0", choices = { momentum = 0.9, loss = "epoch-mean" }, why = "again" },', 1))
    with pytest.raises(ValueError, match=r"twice.toml: claim 'r002.sigmoid_chance': reading names repeat: "
                                         r"\['momentum=0', 'momentum=0'\]"):
        catalog.load_file(twice)
