"""A report folder outside the repository: found, checked before training, and seen by every command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.cli import main

from .helpers import SMOKE_ON_CPU

RECORD = '''[report]
title = "Report 901"

[[claim]]
id = "r901.beats_chance"
section = "T1"
statement = "s"
metric = "m"
check = "c"
claimed = { chance = 10.0 }
[claim.budget.smoke]
epochs = 1
[claim.budget.full]
epochs = 1
[[claim.readings]]
name = "literal"
why = "as stated"
'''
JUDGE = '''from harness.claims.verdicts import judged, per_seed_part
from harness.judges import judge


@judge("{claim_id}")
def beats_chance(m, claim, reading):
    part = per_seed_part("holds on every seed", [True, True], claimed="holds")
    return judged([part], claimed="holds", measured=part.measured, headline=part)
'''
TEST = '''from harness.session import for_each_reading


@for_each_reading("r901.beats_chance")
def test_beats_chance(claim):
    open("trained", "w").write("this test body ran")
    claim.conclude({})
'''


def _folder(tmp_path: Path, judge_id: str | None = "r901.beats_chance") -> Path:
    folder = tmp_path / "mine" / "r901"
    folder.mkdir(parents=True)
    (folder / "claims.toml").write_text(RECORD)
    (folder / "judges.py").write_text("" if judge_id is None else JUDGE.format(claim_id=judge_id))
    (folder / "test_r901.py").write_text(TEST)
    return folder


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "harness.pytest_plugin", "-p", "no:cacheprovider",
                           "-q", *SMOKE_ON_CPU, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_a_claim_test_without_a_judge_stops_the_session_at_collection_before_its_body_runs(tmp_path):
    _folder(tmp_path, judge_id=None)
    done = _pytest(tmp_path, "mine")
    assert done.returncode == 4, done.stdout + done.stderr  # a usage error
    assert "test_r901.py::test_beats_chance[literal]" in done.stderr and "r901.beats_chance has no judge" in done.stderr
    assert "judges.py" in done.stderr
    assert not (tmp_path / "trained").exists() and not list((tmp_path / "mine").rglob("records"))


def test_validate_names_a_misspelt_judge_id_and_a_pin_of_no_claim_without_training(tmp_path, capsys):
    folder = _folder(tmp_path, judge_id="r901.beats_chanse")
    (folder / "pinned_verdicts.json").write_text(json.dumps({"r901.gone|literal": ["REPRODUCED"]}))
    assert main(["claims", "validate", str(tmp_path / "mine")]) == 1
    out = capsys.readouterr().out
    assert "r901.beats_chance: no judge" in out and "@judge('r901.beats_chanse') names no claim" in out
    assert "pins 'r901.gone|literal', but r901.gone is no claim of this folder" in out
    assert not (tmp_path / "trained").exists()


RUNS = '''from harness.models import CifarCNN
from harness.runs import Data, Model, Run, runs_of
from harness.train import TrainConfig


@runs_of("r901.beats_chance")
def beats_chance(claim):
    return {"cnn": Run(Model.of(CifarCNN), TrainConfig(epochs=1, batch_size=4),
                       Data("cifar10", "train", per_class=claim.budget["train_per_class"]))}


@runs_of("r901.beats_chanse")
def misspelt(claim):
    return {}
'''


def test_a_failing_run_declaration_is_named_by_validate_and_stops_the_session_before_any_body(tmp_path, capsys):
    folder = _folder(tmp_path)
    (folder / "runs.py").write_text(RUNS)  # its budget has no train_per_class
    assert main(["claims", "validate", str(tmp_path / "mine")]) == 1
    out = capsys.readouterr().out
    assert "r901.beats_chance [literal], profile full: its run declaration fails (KeyError: " in out
    assert "@runs_of('r901.beats_chanse') names no claim" in out
    done = _pytest(tmp_path, "mine")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "r901.beats_chance: its run declaration fails under the smoke profile (KeyError: " in done.stderr
    assert "train_per_class" in done.stderr and not (tmp_path / "trained").exists()


def test_an_outside_folder_s_results_go_beside_it_and_its_pins_beside_its_claims(tmp_path, capsys):
    folder = _folder(tmp_path)
    done = _pytest(tmp_path, "mine")
    assert done.returncode == 0, done.stdout + done.stderr
    results = tmp_path / "mine" / "results" / "smoke"
    (record,) = (results / "records").glob("*.json")
    assert json.loads(record.read_text())["claim_folder"] == str(folder.resolve())
    # A full run's claims.csv (made from the smoke one here): the pin finds the claim through the records alone.
    full = tmp_path / "full"
    (full / "records").mkdir(parents=True)
    (full / "records" / record.name).write_text(record.read_text())
    rows = (results / "claims.csv").read_text().replace(",smoke,", ",full,")
    (full / "claims.csv").write_text(rows)
    assert main(["claims", "pin", str(full / "claims.csv")]) == 0, capsys.readouterr().err
    assert str(folder / "pinned_verdicts.json") in capsys.readouterr().out
    measured = rows.splitlines()[1].split(",")[2]  # the verdict the session recorded
    assert json.loads((folder / "pinned_verdicts.json").read_text()) == {"r901.beats_chance|literal": [measured]}


def test_a_claim_test_that_records_nothing_fails_naming_the_claim(tmp_path):
    folder = _folder(tmp_path)
    (folder / "test_r901.py").write_text(TEST.replace("    claim.conclude({})\n", ""))
    done = _pytest(tmp_path, "mine")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "r901.beats_chance [literal]: the test ended without recording the claim" in done.stdout


def test_rejudge_and_judge_see_an_outside_folder_through_its_records(tmp_path, capsys):
    _folder(tmp_path)
    assert _pytest(tmp_path, "mine").returncode == 0
    results = tmp_path / "mine" / "results" / "smoke"
    assert main(["rejudge", str(results), "--draws", "5"]) == 0
    assert "re-judged 1 records" in capsys.readouterr().out


ORDERED_JUDGE = '''from harness.claims.verdicts import judged, per_seed_part
from harness.judges import judge


@judge("r901.beats_chance")
def beats_chance(m, claim, reading):
    parts = [per_seed_part(f"case {name}", held, claimed="holds") for name, held in m["cases"].items()]
    return judged(parts, claimed="holds", measured=f"x {m['x']}", headline=parts[0])
'''


def test_a_session_judges_its_measurements_as_they_are_stored_so_a_replay_gives_its_record(tmp_path, capsys):
    folder = _folder(tmp_path)
    (folder / "judges.py").write_text(ORDERED_JUDGE)
    (folder / "test_r901.py").write_text(TEST.replace(
        "claim.conclude({})", "claim.conclude({'cases': {'b': [True, True], 'a': [True, False]}, 'x': float('nan')})"))
    done = _pytest(tmp_path, "mine")
    assert done.returncode == 0, done.stdout + done.stderr
    (path,) = (tmp_path / "mine" / "results" / "smoke" / "records").glob("*.json")
    session = json.loads(path.read_text())
    assert [p["name"] for p in session["parts"]] == ["case a", "case b"] and session["measured"] == "x None"
    assert main(["rejudge", str(path.parents[1]), "--draws", "5"]) == 0, capsys.readouterr().err
    replay = json.loads(path.read_text())
    assert [(p["name"], p["verdict"]) for p in replay["parts"]] == [(p["name"], p["verdict"]) for p in session["parts"]]
    assert (replay["verdict"], replay["measured"]) == (session["verdict"], session["measured"])


def test_the_example_claims_folder_validates():
    examples = Path(__file__).resolve().parents[1] / "examples" / "claims"
    assert main(["claims", "validate", str(examples)]) == 0
