"""Result records, tables, claims.csv and plots; the same tables whatever -n."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.claims import ClaimResult, Verdict
from harness.report import read_records, write_record, write_results
from harness.report.tables import CSV_COLUMNS
from harness.stats import mean_ci

from .helpers import SMOKE_ON_CPU

ROOT = Path(__file__).resolve().parents[1]
ENV = {"profile": "smoke", "device": "CPU: test", "torch": "x", "cuda": "none", "python": "3", "commit": "abc",
       "date": "today"}


def _result(claim_id, reading, verdict=Verdict.REPRODUCED, curves=None):
    return ClaimResult(claim_id=claim_id, reading=reading, verdict=verdict, claimed="53 %", measured="52 %",
                       unit="%", interval=mean_ci([51.0, 52.0, 53.0]), seeds=[0, 1, 2], data="cifar10/test",
                       curves=curves or {}, wall_s=1.5)


def test_records_tables_csv_and_plots(tmp_path):
    write_record(tmp_path, _result("r002.tanh_learns", "momentum=0.9"), ENV)
    write_record(tmp_path, _result("r002.sigmoid_chance", "momentum=0", Verdict.NOT_REPRODUCED,
                                   curves={"test_acc": [[0.1, 0.2], [0.1, 0.3]]}), ENV)
    write_record(tmp_path, _result("r000.conv_shape", "literal"), ENV)
    write_record(tmp_path, _result("r002.tanh_learns", "a reading that no longer exists"), ENV)
    assert len(read_records(tmp_path)) == 4
    written = write_results(tmp_path, ENV)
    names = {p.name for p in written}
    assert {"README.md", "claims.csv", "r000.md", "r002.md"} <= names and any(n.endswith(".png") for n in names)
    rows = list(csv.DictReader(open(tmp_path / "claims.csv")))
    assert list(rows[0]) == CSV_COLUMNS
    # Catalogue order (r000 before r002; sigmoid_chance before tanh_learns); stale readings left out.
    assert [(r["id"], r["reading"]) for r in rows] == [
        ("r000.conv_shape", "literal"), ("r002.sigmoid_chance", "momentum=0"), ("r002.tanh_learns", "momentum=0.9")]
    assert rows[1]["verdict"] == "NOT REPRODUCED" and rows[1]["n_seeds"] == "3"
    summary = (tmp_path / "README.md").read_text()
    assert "device: CPU: test" in summary and "commit: abc" in summary and "NOT REPRODUCED" in summary
    # Smoke verdicts are labelled indicative, never bold like findings.
    assert "indicative verdict (smoke budget)" in summary and "| NOT REPRODUCED" in summary
    assert "| **NOT REPRODUCED**" not in summary
    assert "Smoke budget" in summary and "95 % prediction interval of one run" in summary
    full = {**ENV, "profile": "full"}
    write_results(tmp_path, full)
    assert "| **NOT REPRODUCED**" in (tmp_path / "README.md").read_text()
    detail = (tmp_path / "r002.md").read_text()
    assert "momentum=0.9" in detail and "Where the report is silent" in detail
    # Each recorded reading's choices explained once, in its detail section, never in the summary rows.
    assert detail.count("the tutorial's momentum; loss = the mean over each epoch") == 1
    assert "the tutorial's momentum" not in (tmp_path / "README.md").read_text()


def test_a_plot_drawn_when_its_claim_was_recorded_is_kept_until_the_record_changes(tmp_path):
    from harness.report.plots import plot_path, plot_record, write_plots

    result = _result("r002.sigmoid_chance", "momentum=0", curves={"test_acc": [[0.1, 0.2], [0.1, 0.3]]})
    source = write_record(tmp_path, result, ENV)
    record = json.loads(source.read_text())
    drawn = plot_record(record, tmp_path)  # as the worker that recorded the claim draws it
    assert drawn == plot_path(tmp_path, record) and drawn.exists()

    def times(record_s, plot_s):  # set both files' modification times (whole seconds since the epoch)
        os.utime(source, ns=(record_s * 10**9,) * 2)
        os.utime(drawn, ns=(plot_s * 10**9,) * 2)

    times(1, 2)  # the plot is newer than its record: the session's end keeps it
    assert write_plots(tmp_path, read_records(tmp_path), keep_newer=True) == [drawn]
    assert drawn.stat().st_mtime_ns == 2 * 10**9
    times(3, 2)  # the claim ran again: its record is newer than its plot
    assert write_plots(tmp_path, read_records(tmp_path), keep_newer=True) == [drawn]
    assert drawn.stat().st_mtime_ns != 2 * 10**9
    times(1, 2)  # merging records copied with their old times redraws every plot, however old its record
    assert write_plots(tmp_path, read_records(tmp_path)) == [drawn] and drawn.stat().st_mtime_ns != 2 * 10**9
    # Recorded again without curves: its old plot goes (a NOT RUN keeps the measured record, and so its plot).
    write_record(tmp_path, _result("r002.sigmoid_chance", "momentum=0", Verdict.INCONCLUSIVE), ENV)
    assert write_plots(tmp_path, read_records(tmp_path), keep_newer=True) == [] and not drawn.exists()


def test_rewriting_a_record_replaces_its_row(tmp_path):
    write_record(tmp_path, _result("r002.tanh_learns", "momentum=0", Verdict.INCONCLUSIVE), ENV)
    write_record(tmp_path, _result("r002.tanh_learns", "momentum=0", Verdict.REPRODUCED), ENV)
    records = read_records(tmp_path)
    assert len(records) == 1 and records[0]["verdict"] == "REPRODUCED"


def _run_suite(results_dir: Path, workers: list[str]) -> str:
    cmd = [sys.executable, "-m", "pytest", "suites/r000/test_q2_2_regularized_cost.py",
           "suites/r000/test_q2_3_conv_shape.py", "-k", "test_regularized_cost or test_conv_shape[", "-q", "-p", "no:cacheprovider", *SMOKE_ON_CPU,
           "--results-dir", str(results_dir), *workers]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return (results_dir / "claims.csv").read_text()


def test_tables_under_xdist_equal_a_single_process_run(tmp_path):
    single = _run_suite(tmp_path / "n0", [])
    parallel = _run_suite(tmp_path / "n2", ["-n", "2"])
    assert single == parallel
    assert single.count("\n") == 3  # header + one row each, none twice
    shutil.rmtree(tmp_path)
