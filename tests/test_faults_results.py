"""Faults of the results folder and its readers: signals, a dead controller, a kill while the tables are renamed,
profiles mixed in one folder, the umask, and bad options or files given to the CLI (issue 21).

Session faults run a real pytest session of the harness in a subprocess, on a claim that needs no training.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import atomic
from harness.cli import main
from harness.report.compare import read_claims_csv
from tests.test_faults import CONV, ROOT, _pytest, _records

from .helpers import SMOKE_ON_CPU

FULL_RECORD = ROOT / "results" / "full" / "records" / "r000.conv_shape__literal.json"

SLOW_TEST = '''
import os
import time
from pathlib import Path

from harness.claims import catalog


def test_slow(harness):
    Path(os.environ["MARKER"]).write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("SLEEP", "60")))
    claim = catalog.get("r000.regularized_cost")
    harness.start(claim.id, claim.reading("literal")).record_not_run("the test slept")
'''


def _start(args, tmp_path, marker: Path, **env):
    (tmp_path / "test_slow.py").write_text(SLOW_TEST)
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "MARKER": str(marker), "TMPDIR": str(tmp_path / "tmp"), **env}
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cache", *SMOKE_ON_CPU,
                             CONV, str(tmp_path / "test_slow.py"), "--rootdir", str(ROOT), *args], cwd=ROOT,
                            env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(marker: Path, proc, results: Path, seconds: float = 240) -> int:
    """The slow test's pid, once it sleeps and the quick claim has been recorded."""
    recorded = results / "records" / "r000.conv_shape__literal.json"
    deadline = time.time() + seconds
    while not (marker.exists() and recorded.exists()) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert marker.exists() and recorded.exists(), proc.communicate(timeout=60)[0].decode(errors="replace")[-3000:]
    time.sleep(0.3)  # the pid is written whole
    return int(marker.read_text())


@pytest.mark.parametrize("workers, stop", [([], signal.SIGTERM), (["-n", "2"], signal.SIGTERM), ([], signal.SIGHUP)],
                         ids=["SIGTERM one process", "SIGTERM -n 2", "SIGHUP one process"])
def test_a_stop_signal_keeps_finished_claims_writes_incomplete_tables_and_leaves_no_memo_folder(tmp_path, workers,
                                                                                                stop):
    results, marker = tmp_path / "results", tmp_path / "started"
    proc = _start([*workers, f"--results-dir={results}"], tmp_path, marker)
    _wait_for(marker, proc, results)
    os.killpg(proc.pid, stop)  # as Slurm and CI runners do: every process of the job
    time.sleep(0.2)
    os.killpg(proc.pid, stop)  # and again, as `timeout` passes on what its process group already got
    out = proc.communicate(timeout=120)[0].decode(errors="replace")
    assert proc.returncode != 0, out[-3000:]
    summary = (results / "README.md").read_text()
    assert "INCOMPLETE" in summary and "r000.conv_shape" in summary, out[-3000:]
    assert _records(results)["r000.conv_shape__literal"]["verdict"] == "REPRODUCED"
    assert "r000.regularized_cost__literal" not in _records(results)  # the interrupted test recorded nothing
    assert not list((tmp_path / "tmp").glob("claims-harness-runs-*")), "the memo folder was left behind"


def test_workers_stop_when_their_controller_is_killed(tmp_path):
    results, marker = tmp_path / "results", tmp_path / "started"
    proc = _start(["-n", "2", f"--results-dir={results}"], tmp_path, marker, SLEEP="8")
    worker = _wait_for(marker, proc, results)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"worker {worker} still runs 20 s after its controller was killed")
    time.sleep(9)  # past the test's sleep: a worker left running would have recorded its claim by now
    assert "r000.regularized_cost__literal" not in _records(results)


def test_a_kill_while_the_tables_are_renamed_leaves_a_set_the_next_reader_completes(tmp_path, monkeypatch):
    def tables(age):
        return {"README.md": age, "claims.csv": f"id,reading,verdict,measured_mean,ci_low,ci_high\n{age},r,x,1,0,2\n",
                "r002.md": age}

    def ages():
        return sorted("new" if "new" in p.read_text() else "old" for p in tmp_path.glob("[!.]*"))

    atomic.write_text_set(tmp_path, tables("old"))
    renames, real_replace = [], os.replace

    def killed_after_two(src, dst):
        if Path(dst).name != atomic.JOURNAL:
            if len(renames) == 2:
                raise KeyboardInterrupt  # the kill, between the second and the third table
            renames.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_text_set(tmp_path, tables("new"))
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert ages() == ["new", "new", "old"]  # the mix a kill leaves on disk
    assert list(read_claims_csv(tmp_path)) == [("new", "r")]  # a reader reads the new set, renaming nothing
    assert ages() == ["new", "new", "old"]
    atomic.finish_interrupted_set(tmp_path)  # the folder's next writer (a session taking its lock)
    assert ages() == ["new", "new", "new"]
    assert not list(tmp_path.glob(".*"))  # neither the journal nor a staged file is left


def test_the_tables_of_a_results_folder_are_written_as_one_set(tmp_path, monkeypatch):
    from harness.report import write_results

    records = tmp_path / "records"
    records.mkdir()
    shutil.copy(FULL_RECORD, records / FULL_RECORD.name)
    real_replace, renamed = os.replace, []

    def killed_at_the_second_table(src, dst):
        if Path(dst).name != atomic.JOURNAL and Path(src).name.endswith(".tmp") and Path(dst).suffix in (".md", ".csv"):
            if renamed:
                raise KeyboardInterrupt
            renamed.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", killed_at_the_second_table)
    with pytest.raises(KeyboardInterrupt):
        write_results(tmp_path, json.loads(FULL_RECORD.read_text())["environment"])
    assert (tmp_path / atomic.JOURNAL).exists()  # written file by file, no journal would be left to finish from


@pytest.mark.parametrize("staged", ["../victim.txt", "/tmp/victim.txt", ".README.md.x.tmp/../../victim.txt"])
def test_a_crafted_journal_names_no_file_outside_its_set(tmp_path, staged):
    folder, victim = tmp_path / "results", tmp_path / "victim.txt"
    folder.mkdir()
    victim.write_text("mine")
    (folder / "README.md").write_text("old")
    payload = folder / ".README.md.x.tmp"
    payload.write_text("payload")
    for journal in ({"../victim.txt": ".README.md.x.tmp"}, {"README.md": staged}):
        (folder / atomic.JOURNAL).write_text(json.dumps(journal))
        assert atomic.set_member(folder, "README.md") == folder / "README.md"
        atomic.finish_interrupted_set(folder)
        assert victim.read_text() == "mine" and (folder / "README.md").read_text() == "old"
        assert not (folder / atomic.JOURNAL).exists()


def test_a_set_is_written_into_a_folder_given_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert atomic.write_text_set(Path("results"), {"README.md": "x"}) == [Path("results/README.md")]
    assert (tmp_path / "results" / "README.md").read_text() == "x"


def test_files_written_atomically_get_the_mode_the_umask_gives(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic.write_text_atomic(tmp_path / "a.md", "x")
        (set_file,) = atomic.write_text_set(tmp_path / "set", {"README.md": "x"})
        assert stat.S_IMODE(path.stat().st_mode) == 0o644 and stat.S_IMODE(set_file.stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(atomic.write_text_atomic(tmp_path / "b.md", "x").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_session_over_a_folder_of_another_profile_s_records_is_refused(tmp_path):
    results = tmp_path / "results"
    (results / "records").mkdir(parents=True)
    shutil.copy(FULL_RECORD, results / "records" / FULL_RECORD.name)
    done = _pytest([CONV, f"--results-dir={results}", "--profile", "smoke"], tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and "holds records of the full profile" in out, out
    assert (results / "records" / FULL_RECORD.name).read_bytes() == FULL_RECORD.read_bytes()
    assert not (results / "README.md").exists()


def test_a_lock_that_is_a_folder_is_a_usage_error_naming_it(tmp_path):
    results = tmp_path / "results"
    (results / ".session.lock").mkdir(parents=True)
    done = _pytest([CONV, f"--results-dir={results}"], tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and "remove " + str(results / ".session.lock") in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "meta", "cuda:7"])
def test_a_device_the_harness_cannot_train_on_is_a_usage_error_naming_it(tmp_path, device):
    done = _pytest([CONV, f"--results-dir={tmp_path / 'results'}", "--device", device], tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR and f"--device {device}:" in out, out
    assert "INTERNALERROR" not in out and "Traceback" not in out


def _claims_folder(folder: Path, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claims.csv").write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


BAD_CSVS = {
    "no measured_mean": "id,reading,verdict,ci_low,ci_high\na.x,r,REPRODUCED,1,2\n",
    "no interval": "id,reading,verdict,measured_mean\na.x,r,REPRODUCED,1\n",
    "binary": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("kind", BAD_CSVS)
def test_compare_of_a_file_that_is_not_a_claims_csv_names_it(tmp_path, capsys, kind):
    good = _claims_folder(tmp_path / "good", "id,reading,verdict,measured_mean,ci_low,ci_high\na.x,r,REPRODUCED,1,0,2\n")
    bad = _claims_folder(tmp_path / "bad", BAD_CSVS[kind])
    assert main(["compare", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad / "claims.csv") in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("text", ["id,verdict\nr000.conv_shape,REPRODUCED\n", bytes(range(256)) * 4],
                         ids=["no reading", "binary"])
def test_pinning_a_file_that_is_not_a_claims_csv_names_it_and_changes_no_pin(tmp_path, capsys, text):
    from harness.claims import catalog

    before = {f.name: f.pinned_file().read_bytes() for f in catalog.folders()}
    bad = _claims_folder(tmp_path / "bad", text) / "claims.csv"
    assert main(["claims", "pin", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and len(err.strip().splitlines()) == 1, err
    assert {f.name: f.pinned_file().read_bytes() for f in catalog.folders()} == before


def test_report_refuses_an_out_folder_that_is_a_file_a_source_or_holds_records(tmp_path, capsys):
    source = tmp_path / "shard"
    (source / "records").mkdir(parents=True)
    shutil.copy(FULL_RECORD, source / "records" / FULL_RECORD.name)
    (tmp_path / "a-file").write_text("x")
    held = tmp_path / "held"
    (held / "records").mkdir(parents=True)
    (held / "records" / "other.json").write_text(json.dumps({"claim_id": "r000.regularized_cost",
                                                             "reading": "literal", "verdict": "NOT RUN"}))
    for out, says in ((tmp_path / "a-file", "is a file"), (source, "is also a source"),
                      (held, "already holds records")):
        assert main(["report", str(source), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"--out {out}: {says}" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in (held / "records").iterdir()) == ["other.json"]  # nothing copied in
    assert main(["report", str(source), "--out", str(tmp_path / "new")]) == 0


def test_plan_out_a_folder_is_refused_before_any_costing(tmp_path, capsys):
    started = time.time()
    assert main(["plan", "--out", str(tmp_path)]) == 2
    assert "--out " + str(tmp_path) + ": is a folder" in capsys.readouterr().err
    assert time.time() - started < 5  # no pytest session was started


def test_a_not_run_never_replaces_a_measured_record(tmp_path):
    measured = ROOT / "results" / "smoke" / "records" / "control.cifar10_tutorial__tutorial.json"
    results = tmp_path / "results"
    (results / "records").mkdir(parents=True)
    shutil.copy(measured, results / "records" / measured.name)
    # A wrong data root: the claim cannot run, and would be recorded NOT RUN over what was measured.
    done = _pytest(["suites/control", f"--results-dir={results}", f"--data-root={tmp_path / 'empty'}",
                    "-o", "log_cli=true", "--log-cli-level=WARNING"], tmp_path)
    assert "skipped" in done.stdout, done.stdout + done.stderr
    assert (results / "records" / measured.name).read_bytes() == measured.read_bytes()
    assert "its measured record" in done.stdout + done.stderr


def test_a_malformed_record_is_skipped_by_the_session_s_end_and_by_report_naming_it(tmp_path, capsys):
    results = tmp_path / "results"
    (results / "records").mkdir(parents=True)
    bad = results / "records" / "r002.tanh_learns__momentum=0.json"
    bad.write_text('{"claim_id": "r002.tanh_learns", "verdict": "REPRO')  # a record cut short
    done = _pytest([CONV, f"--results-dir={results}", "-o", "log_cli=true", "--log-cli-level=WARNING"], tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0 and f"{bad}: not a readable record" in out, out
    assert "r000.conv_shape" in (results / "claims.csv").read_text()
    assert main(["report", str(results), "--out", str(tmp_path / "merged")]) == 0
    assert "r000.conv_shape" in (tmp_path / "merged" / "claims.csv").read_text()
