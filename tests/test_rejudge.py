"""python -m harness rejudge: stored records judged again with today's judges, tables rewritten, nothing trained."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness import runcode
from harness.claims import catalog
from harness.cli import main
from harness.report.rejudge import rejudge

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT / "results" / "full"


def test_rejudging_the_committed_full_run_gives_its_verdicts_within_their_pinned_sets(tmp_path):
    shutil.copytree(FULL, tmp_path / "full")
    done = rejudge(tmp_path / "full", draws=20)
    assert done.judged > 0 and not done.skipped, done.skipped
    assert not done.changed, f"the committed records are stale against today's judges: {done.changed}"
    pins = catalog.pinned_verdicts()
    for path in sorted((tmp_path / "full" / "records").glob("*.json")):
        r = json.loads(path.read_text())
        if r["verdict"] == "NOT RUN" or catalog.get(r["claim_id"]).timing:
            continue
        pinned = pins.get(f"{r['claim_id']}|{r['reading']}")
        assert pinned is not None, f"{r['claim_id']} [{r['reading']}] has no pin"
        assert r["verdict"] in pinned, (r["claim_id"], r["reading"], r["verdict"], pinned)
        assert r["stability"]["set"], r["claim_id"]


def test_a_session_judged_its_measurements_as_a_replay_judges_them(tmp_path):
    """results/smoke is written by a session (the README's test command): re-judged, each record keeps its
    verdict, its metric, and its parts in their order with their verdicts. (A session that judged the test's dict
    and not the stored one, whose keys are sorted, listed r002.fixes_below_best's parts in another order.)
    Figures are not compared here: they may move in the last bits on another CPU; stability is re-drawn at 20."""
    copy = tmp_path / "smoke" / "records"
    # A copy read before it is re-judged: the README's command, running this test, rewrites results/smoke meanwhile
    # (each record atomically, through a temporary file that may come and go while it is copied).
    shutil.copytree(ROOT / "results" / "smoke" / "records", copy, ignore=shutil.ignore_patterns("*.tmp"))
    sessions = {path.name: json.loads(path.read_text()) for path in sorted(copy.glob("*.json"))}
    done = rejudge(tmp_path / "smoke", draws=20)
    assert done.judged > 0 and not done.skipped, done.skipped

    def shape(record):
        return (record["verdict"], record["metric"], [(p["name"], p["verdict"]) for p in record["parts"]])

    for name, session in sessions.items():
        assert shape(json.loads((copy / name).read_text())) == shape(session), (
            f"results/smoke/records/{name}: its replay differs from its session; if the records predate today's "
            "judges, run the README's test command again (or python -m harness rejudge results/smoke)")


def test_a_record_that_cannot_be_judged_is_named_and_kept_and_the_rest_are_judged(tmp_path, capsys):
    shutil.copytree(FULL, tmp_path / "full")
    records = tmp_path / "full" / "records"
    (records / "broken.json").write_text('{"claim_id": "r002.tanh_learns", "verdict": ')
    stale = next(p for p in sorted(records.glob("r002.tanh_learns__*.json")))
    record = json.loads(stale.read_text())
    record["reading"] = "no-such-reading"
    (records / "stale.json").write_text(json.dumps(record))
    assert main(["rejudge", str(tmp_path / "full"), "--draws", "5"]) == 0
    out = capsys.readouterr().out
    assert "broken.json" in out and "stale.json" in out and "no-such-reading" in out
    assert (records / "broken.json").read_text().endswith('"verdict": ')  # kept as it was
    assert (tmp_path / "full" / "README.md").exists()


def test_a_folder_without_records_is_an_error_naming_it(tmp_path, capsys):
    assert main(["rejudge", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


def test_the_results_cache_keys_on_training_code_not_on_judges_or_tables(tmp_path, monkeypatch):
    copy = tmp_path / "harness"
    shutil.copytree(runcode.HARNESS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runcode, "HARNESS_DIR", copy)
    runcode.forget()
    before = runcode.training_code()
    for changed in ("judges/__init__.py", "report/tables.py", "claims/verdicts.py", "cli.py"):
        (copy / changed).write_text((copy / changed).read_text() + "\n# edited\n")
    runcode.forget()
    assert runcode.training_code() == before
    (copy / "train" / "engine.py").write_text((copy / "train" / "engine.py").read_text() + "\n# edited\n")
    runcode.forget()
    assert runcode.Dependencies(runcode.training_code()).code != runcode.Dependencies(before).code
    assert runcode.staleness(before, runcode.torch.__version__) == ["harness/train/engine.py changed"]
    # The data sets' normalization and the run store (how a run is asked of the engine) are training code too.
    for changed in ("data/device_data.py", "runstore.py"):
        runcode.forget()
        ahead = runcode.training_code()
        (copy / changed).write_text((copy / changed).read_text() + "\n# edited\n")
        runcode.forget()
        assert runcode.staleness(ahead, runcode.torch.__version__) == [f"harness/{changed} changed"]
    runcode.forget()
