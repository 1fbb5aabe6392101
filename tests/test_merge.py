"""python -m harness report: shards merged into one set of tables equal to a one-machine run's."""

from __future__ import annotations

from harness.claims import ClaimResult, Verdict
from harness.cli import main
from harness.report import write_record, write_results
from harness.stats import mean_ci

ENV = {"profile": "smoke", "device": "CPU: test", "torch": "x", "cuda": "none", "python": "3", "commit": "abc",
       "date": "today"}
ROWS = [("r002.tanh_learns", "momentum=0"), ("r002.sigmoid_chance", "momentum=0"), ("r000.conv_shape", "literal")]


def _write(folder, rows, env=ENV):
    for claim_id, reading in rows:
        write_record(folder, ClaimResult(claim_id=claim_id, reading=reading, verdict=Verdict.REPRODUCED, claimed="c",
                                         measured="m", unit="%", interval=mean_ci([1.0, 2.0, 3.0]), seeds=[0, 1, 2]),
                     env)
    return folder


def test_two_shards_merge_to_the_one_machine_tables(tmp_path, capsys):
    one = _write(tmp_path / "one", ROWS)
    write_results(one, ENV)
    a, b = _write(tmp_path / "a", ROWS[:1]), _write(tmp_path / "b", ROWS[1:])
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged" / "claims.csv").read_text() == (one / "claims.csv").read_text()
    assert "merged 3 records from 2 folders" in capsys.readouterr().out


def test_shards_of_different_commits_or_overlapping_are_refused(tmp_path, capsys):
    a = _write(tmp_path / "a", ROWS[:1])
    b = _write(tmp_path / "b", ROWS[1:], {**ENV, "commit": "def"})
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "m")]) == 2
    assert "different commits" in capsys.readouterr().err
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "m"), "--allow-mixed"]) == 0
    # A CPU's and a GPU's records (or two GPU models'): refused, and merged when asked, the header naming both.
    gpu = _write(tmp_path / "gpu", ROWS[1:], {**ENV, "device": "GPU: NVIDIA H100"})
    assert main(["report", str(a), str(gpu), "--out", str(tmp_path / "g")]) == 2
    assert "different devices (CPU: test, GPU: NVIDIA H100)" in capsys.readouterr().err
    assert main(["report", str(a), str(gpu), "--out", str(tmp_path / "g"), "--allow-mixed"]) == 0
    assert "- device: CPU: test; GPU: NVIDIA H100 (records from several devices)" in \
        (tmp_path / "g" / "README.md").read_text()
    # Each row says its device type: what `claims pin` chooses the pins by (and refuses to mix).
    assert [line.rsplit(",", 1)[1] for line in (tmp_path / "g" / "claims.csv").read_text().splitlines()] == [
        "device_type", "cuda", "cuda", "cpu"]  # catalogue order: r000.conv_shape, r002.sigmoid_chance, r002.tanh_learns
    c = _write(tmp_path / "c", ROWS[:1])
    assert main(["report", str(a), str(c), "--out", str(tmp_path / "n")]) == 2
    assert "shards must be disjoint" in capsys.readouterr().err
