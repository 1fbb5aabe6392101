"""python -m harness compare: changed verdicts, disjoint intervals, rows added or missing; the exit status."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]

HEADER = "id,reading,verdict,metric,claimed,measured_mean,ci_low,ci_high,interval_method,n_seeds,unit,parts\n"


def _write(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claims.csv").write_text(HEADER + "".join(f"{r}\n" for r in rows))
    return folder


def test_compare_finds_every_kind_of_change_and_fails_on_a_changed_verdict(tmp_path, capsys):
    old = _write(tmp_path / "old", ["a.x,r,REPRODUCED,m,c,50,48,52,t,5,%,", "a.y,r,INCONCLUSIVE,m,c,10,5,15,t,5,%,",
                                    "a.gone,r,REPRODUCED,m,c,1,0,2,t,5,%,"])
    new = _write(tmp_path / "new", ["a.x,r,NOT REPRODUCED,m,c,30,28,32,t,5,%,", "a.y,r,INCONCLUSIVE,m,c,11,6,16,t,5,%,",
                                    "a.new,r,REPRODUCED,m,c,1,0,2,t,5,%,"])
    assert main(["compare", str(old), str(new)]) == 1
    out = capsys.readouterr().out
    assert "1 verdict(s) changed" in out
    for change in ("verdict changed", "intervals no longer overlap", "added", "missing"):
        assert change in out
    assert "a.y" not in out  # overlapping intervals and the same verdict: no difference


def test_compare_of_equal_results_exits_0(tmp_path, capsys):
    rows = ["a.x,r,REPRODUCED,m,c,50,48,52,t,5,%,"]
    assert main(["compare", str(_write(tmp_path / "a", rows) / "claims.csv"), str(_write(tmp_path / "b", rows))]) == 0
    assert "_no differences_" in capsys.readouterr().out


def test_compare_names_a_missing_file(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nowhere"), str(tmp_path / "nowhere")]) == 2
    assert "no claims.csv there" in capsys.readouterr().err


def test_exact_compare_reports_any_field_but_timing_claims(tmp_path, capsys):
    a = _write(tmp_path / "a", ["r002.tanh_learns,r,REPRODUCED,m,c,50.0,48,52,t,5,%,x",
                                "r000.epoch_time,literal,REPRODUCED,m,c,3.1,2,4,t,5,s,"])
    b = _write(tmp_path / "b", ["r002.tanh_learns,r,REPRODUCED,m,c,50.01,48,52,t,5,%,x",
                                "r000.epoch_time,literal,REPRODUCED,m,c,3.5,2,4,t,5,s,"])
    assert main(["compare", str(a), str(b)]) == 0  # the same verdicts, overlapping intervals
    assert main(["compare", "--exact", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "measured_mean differs" in out and "epoch_time" not in out


def test_a_claim_the_reference_could_not_run_is_newly_run_not_changed(tmp_path, capsys):
    old = _write(tmp_path / "old", ["a.x,r,NOT RUN,m,c,,,,t,5,%,", "a.y,r,REPRODUCED,m,c,10,5,15,t,5,%,"])
    new = _write(tmp_path / "new", ["a.x,r,REPRODUCED,m,c,50,48,52,t,5,%,", "a.y,r,REPRODUCED,m,c,10,5,15,t,5,%,"])
    assert main(["compare", str(old), str(new)]) == 0
    assert "newly run" in capsys.readouterr().out
    # The other way round a verdict was lost: that fails.
    assert main(["compare", str(new), str(old)]) == 1
    assert "verdict changed" in capsys.readouterr().out


def test_strict_compare_fails_on_any_row_without_a_reference(tmp_path, capsys):
    old = _write(tmp_path / "old", ["a.x,r,NOT RUN,m,c,,,,t,5,%,", "a.y,r,REPRODUCED,m,c,10,5,15,t,5,%,"])
    newly = _write(tmp_path / "newly", ["a.x,r,REPRODUCED,m,c,50,48,52,t,5,%,", "a.y,r,REPRODUCED,m,c,10,5,15,t,5,%,"])
    short = _write(tmp_path / "short", ["a.y,r,REPRODUCED,m,c,10,5,15,t,5,%,"])
    assert main(["compare", str(old), str(newly), "--strict"]) == 1  # newly run: nothing checked it
    assert main(["compare", str(old), str(short), "--strict"]) == 1  # a row went missing
    assert main(["compare", str(old), str(short)]) == 0
    assert main(["compare", str(short), str(short), "--strict"]) == 0
    capsys.readouterr()


def test_merging_and_comparing_results_start_without_torch(tmp_path):
    # The nightly merge runs these commands several times a night: each would otherwise import torch (~1.3 s).
    rows = ["a.x,r,REPRODUCED,m,c,50,48,52,t,5,%,"]
    old, new = _write(tmp_path / "a", rows), _write(tmp_path / "b", rows)
    record = ROOT / "results" / "smoke" / "records" / "r002.tanh_learns__momentum=0.json"  # one with curves: a plot
    (tmp_path / "run" / "records").mkdir(parents=True)
    shutil.copy(record, tmp_path / "run" / "records" / record.name)
    script = ("import sys\nfrom harness.cli import main\n"
              f"assert main(['compare', {str(old)!r}, {str(new)!r}]) == 0\n"
              f"assert main(['report', {str(tmp_path / 'run')!r}, '--out', {str(tmp_path / 'merged')!r}]) == 0\n"
              "assert (sys.modules.get('torch') is None), 'torch imported'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "merged" / "claims.csv").exists() and list((tmp_path / "merged" / "plots").glob("*.png"))


def test_a_verdict_within_the_reference_s_replicate_set_is_no_change_of_finding(tmp_path, capsys):
    header = "id,reading,verdict,measured_mean,ci_low,ci_high,replicate_verdicts\n"
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    (tmp_path / "old" / "claims.csv").write_text(header + "a.x,r,INCONCLUSIVE,5,1,9,INCONCLUSIVE; NOT REPRODUCED\n"
                                                          "a.y,r,REPRODUCED,5,1,9,REPRODUCED\n")
    (tmp_path / "new" / "claims.csv").write_text(header + "a.x,r,NOT REPRODUCED,4,1,8,NOT REPRODUCED\n"
                                                          "a.y,r,REPRODUCED,5,1,9,REPRODUCED\n")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "0 verdict(s) changed beyond their replicate sets, 1 within them" in out and "within replicate set" in out
    (tmp_path / "new" / "claims.csv").write_text(header + "a.x,r,REPRODUCED,4,1,8,REPRODUCED\n"
                                                          "a.y,r,REPRODUCED,5,1,9,REPRODUCED\n")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 1


def test_a_timing_claim_s_verdict_is_shown_and_never_fails_a_comparison(tmp_path, capsys):
    header = "id,reading,verdict,measured_mean,ci_low,ci_high\n"
    for name, verdict in (("old", "INCONCLUSIVE"), ("new", "NOT REPRODUCED")):
        (tmp_path / name).mkdir()
        # CI's -n 4 run against its -n 0 run measured -7.34 s [-8.25, -6.43] against -3.14 s [-3.60, -2.68].
        seconds = "-7.3,-8.3,-6.4" if name == "old" else "-3.1,-3.6,-2.7"
        (tmp_path / name / "claims.csv").write_text(header + f"r000.epoch_time,literal,{verdict},{seconds}\n")
    assert main(["compare", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    assert main(["compare", "--exact", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    out = capsys.readouterr().out
    assert "timing verdict differs" in out and "timing figure differs" in out


def test_rows_headed_by_different_parts_are_said_so_and_their_figures_not_compared(tmp_path, capsys):
    old = _write(tmp_path / "old", ["a.x,r,NOT REPRODUCED,a > b,c,-17,-28,-7,t,5,pp,"])
    new = _write(tmp_path / "new", ["a.x,r,NOT REPRODUCED,b > c (the primary part that decided),c,5,1,10,t,5,pp,"])
    assert main(["compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "headline from another part" in out and "no longer overlap" not in out
