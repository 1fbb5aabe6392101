"""Progress of a session: runs in words, plain lines for logs, the live view, the verdict table, and runs loaded from
the results cache said as such (harness.progress)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from harness.claims import catalog
from harness.claims.record import runs_text
from harness.data import DeviceData
from harness.models import CifarCNN
from harness.progress import BoardHandler, ProgressBoard, Ticker, run_label
from harness.progress.lines import MAX_LINE, event_line, session_line, worker_line
from harness.progress.live import live_view
from harness.progress.summary import verdict_table
from harness.runcache import RunCache
from harness.runstore import RunStore
from harness.session import Harness
from harness.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
REPR = re.compile(r"[{}]|\[[0-9. ]+\]|array\(|'\w+': ")  # a dict, a printed array, a repr's key


def test_run_label_says_the_run_in_words():
    assert run_label({"n_fc": 3, "activation": "tanh"}, TrainConfig(epochs=10, batch_size=4, momentum=0.9)) == \
        "tanh CNN 3 FC, SGD lr 0.01 momentum 0.9, 10 epochs"
    assert run_label({"n_fc": 2, "activation": "relu", "num_classes": 2, "dropout": 0.5},
                     TrainConfig(epochs=5, batch_size=4, penalty="l1", penalty_weight=1e-4)) == \
        "relu CNN 2 FC (2 classes, dropout 0.5), SGD lr 0.01, L1 0.0001, 5 epochs"
    assert run_label({"model": "student"}, TrainConfig(epochs=1, batch_size=64, optimizer="adam", lr=1e-3,
                                                       precision="fp16", kd_temperature=4.0, ema_decay=0.99)) == \
        "student, Adam lr 0.001, fp16, distilled T=4, EMA, 1 epoch"
    assert run_label({"model": "teacher", "batch_norm": True}, TrainConfig(epochs=30, batch_size=64)) == \
        "teacher (batch norm), SGD lr 0.01, 30 epochs"
    # A setting the label does not know still shows, in words.
    assert "(new knob 3)" in run_label({"n_fc": 3, "activation": "tanh", "new_knob": 3}, TrainConfig(1, 4))


def _state(**fields):
    return {"worker": "gw1", "test": "test_tanh_learns[momentum=0]", "since": 100.0, "claim": "r002.tanh_learns",
            "reading": "momentum=0", **fields}


def test_plain_lines_are_short_words_without_reprs():
    label = run_label({"n_fc": 6, "activation": "sigmoid", "batch_norm": True, "skip": True, "init": "xavier",
                       "added_width": 120}, TrainConfig(epochs=10, batch_size=4, momentum=0.9, precision="fp16-amp"))
    training = _state(run=label, run_since=90.0, epoch=3, epochs=10, loss=[2.3114, 2.3125], acc=[0.4121, 0.4119],
                      test_acc=[0.398, float("nan")])
    line = worker_line(training, now=102.0)
    assert line.startswith("worker gw1: r002.tanh_learns [momentum=0] run 'sigmoid CNN 6 FC")
    assert "epoch 3/10 loss 2.31 acc 41.2% test 39.8% 12 s" in line  # member means, NaN members left out
    assert worker_line(_state(run="x" * 400, run_since=90.0), now=102.0).endswith("…' 12 s")  # the label gives way
    assert worker_line(_state(epoch=1, epochs=2, loss=[float("nan")] * 2, acc=[0.1, 0.1]), now=101.0) == \
        "worker gw1: r002.tanh_learns [momentum=0] epoch 1/2 loss nan acc 10.0% 1 s"
    assert worker_line({"worker": "gw2"}) is None  # idle: no line
    events = [event_line({"event": "run started", "worker": "gw1", "claim": "r002.tanh_learns", "reading": "momentum=0",
                          "run": label}),
              event_line({"event": "run trained", "worker": "gw1", "claim": "c", "run": label, "seconds": 125.2}),
              event_line({"event": "run loaded", "worker": "main", "claim": "c", "reading": "r", "run": "x" * 300})]
    assert events[0] == f"gw1: r002.tanh_learns [momentum=0] training '{label}'"
    assert events[1].endswith("' in 2 min 05 s") and "loaded from the results cache '" in events[2]
    session = session_line(12, 50, 190, "ETA about 4 min by the cost plan")
    assert session == "session: 12 of 50 claim tests done, 3 min 10 s elapsed, ETA about 4 min by the cost plan"
    for text in [line, session, *events]:
        assert len(text) <= MAX_LINE and not REPR.search(text), text


def test_the_board_takes_the_harness_records_and_the_ticker_says_them(tmp_path):
    import logging

    class Out:
        def __init__(self):
            self.lines, self.shown = [], []

        def line(self, text):
            self.lines.append(text)

        def show(self, renderable):
            self.shown.append(renderable)

    worker, idle = ProgressBoard(tmp_path, "gw0"), ProgressBoard(tmp_path, "gw1")
    idle.idle()
    logger = logging.getLogger("harness.test-progress")
    logger.setLevel(logging.INFO)
    logger.propagate = False  # this test's records are not the session running it
    handler = BoardHandler(worker)
    logger.addHandler(handler)
    try:
        worker.start_test("suites/r002/test_q1_depth.py::test_depth_sweep[momentum=0]")
        logger.info("plain message, no progress")  # ignored
        logger.info("c", extra={"progress": {"claim": "r002.depth_sweep", "reading": "momentum=0"}})
        logger.info("s", extra={"progress": {"event": "run started", "run": "tanh CNN 5 FC, SGD lr 0.01, 2 epochs"}})
        logger.info("e", extra={"progress": {"epoch": 1, "epochs": 2, "loss": [2.0, 2.2], "acc": [0.3, 0.1]}})
    finally:
        logger.removeHandler(handler)
    out = Out()
    ticker = Ticker(worker, out, every=0.05, session=lambda: "session: 0 of 1 claim tests done, 1 s elapsed", poll=0.01)
    ticker.start()
    time.sleep(0.3)
    ticker.stop()
    ticker.join()
    assert out.lines[0] == "gw0: r002.depth_sweep [momentum=0] training 'tanh CNN 5 FC, SGD lr 0.01, 2 epochs'"
    periodic = [x for x in out.lines[1:] if x.startswith("worker ")]
    assert periodic and periodic[0].startswith("worker gw0: r002.depth_sweep [momentum=0] run 'tanh CNN 5 FC")
    assert "epoch 1/2 loss 2.1 acc 20.0%" in periodic[0]
    assert not any(x.startswith("worker gw1") for x in out.lines)  # idle workers say nothing
    assert "session: 0 of 1 claim tests done, 1 s elapsed" in out.lines
    # Live: the view is redrawn instead of plain lines; events are still lines.
    worker.event("run trained", run="tanh CNN 5 FC, SGD lr 0.01, 2 epochs", seconds=3.0)
    live = Ticker(worker, out := Out(), every=60, session=lambda: "session line", live=True, poll=0.01)
    live.events = ticker.events  # what the first ticker said is not said again
    live.tick(periodic=False)
    assert out.lines == ["gw0: r002.depth_sweep [momentum=0] trained 'tanh CNN 5 FC, SGD lr 0.01, 2 epochs' in 3 s"]
    assert len(out.shown) == 1 and not any(x.startswith("worker") for x in out.lines)


def test_live_view_has_a_row_per_busy_worker_and_the_session_line():
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(live_view([_state(run="tanh CNN 3 FC, SGD lr 0.01 momentum 0.9, 10 epochs", run_since=90.0, epoch=3,
                                    epochs=10, loss=[1.62], acc=[0.412]), {"worker": "gw2"}],
                            "session: 1 of 4 claim tests done, 2 min 00 s elapsed", now=102.0))
    text = console.file.getvalue()
    rows = text.splitlines()
    assert any(r.split()[:1] == ["gw1"] and "r002.tanh_learns [momentum=0]" in r and "3/10" in r and "1.62" in r
               and "41.2%" in r and "12 s" in r for r in rows), text
    assert "gw2" not in text and "session: 1 of 4 claim tests done" in text
    assert max(len(r) for r in rows) <= 120


def test_verdict_table_is_narrow_and_aligned():
    results = [{"claim": "r002.tanh_learns", "reading": "momentum=0", "verdict": "REPRODUCED", "wall": "12 s, trained",
                "headline": "test accuracy 41.2 % " * 20},
               {"claim": "r000.conv_shape", "reading": "literal", "verdict": "NOT REPRODUCED", "wall": "0 s",
                "headline": "15x15x8"}]
    lines = verdict_table(results)
    assert lines[0].split() == ["claim", "reading", "verdict", "wall", "headline"]
    assert all(len(x) <= 120 for x in lines) and lines[2].endswith("…") and lines[3].endswith("15x15x8")
    assert lines[3].index("NOT REPRODUCED") == lines[2].index("REPRODUCED") == lines[0].index("verdict")
    assert verdict_table([]) == []


def _data(n=8):
    g = np.random.default_rng(0)
    data = DeviceData((g.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8), g.integers(0, 10, n)), "cpu",
                      (0.5,) * 3, (0.5,) * 3)
    data.description = "synthetic"
    return data


def test_each_claim_records_where_its_runs_came_from(tmp_path):
    def harness():
        runs = RunStore(torch.device("cpu"), [0], {"device": "cpu"}, run_cache=RunCache(tmp_path / "cache"))
        return Harness(profile="smoke", data_root=tmp_path, results_dir=tmp_path / "results", runs=runs)

    spec, cfg = {"n_fc": 3, "activation": "tanh"}, TrainConfig(epochs=1, batch_size=4)
    claim = catalog.get("r002.tanh_learns")
    first = harness()
    run = first.start(claim.id, claim.readings[0])
    first.trained(lambda: CifarCNN(**spec), spec, cfg, _data(), None)
    first.trained(lambda: CifarCNN(**spec), spec, cfg, _data(), None)  # the same run again: shared this session
    assert run.run_sources == {"trained": 1, "loaded": 0, "shared": 1}
    again = harness()  # a later session: the run is in the results cache
    later = again.start(claim.id, claim.readings[0])
    again.trained(lambda: CifarCNN(**spec), spec, cfg, _data(), None)
    assert later.run_sources == {"trained": 0, "loaded": 1, "shared": 0}
    record = later.record_not_run("only the runs' sources are looked at").to_json()
    assert (record["runs_trained"], record["runs_loaded"], record["runs_shared"]) == (0, 1, 0)
    assert runs_text(record) == "cached" and runs_text({"runs_trained": 2, "runs_loaded": 1}) == "2 trained, 1 cached"
    assert runs_text({"wall_s": 3.0}) == ""  # a record from before these fields says nothing


def test_tables_say_beside_the_wall_time_where_the_runs_came_from():
    from harness.report.tables import _runs_note, _wall_cell

    assert _wall_cell({"wall_s": 0.42, "runs_trained": 0, "runs_loaded": 2, "runs_shared": 0}) == "0.4 s (cached)"
    assert _wall_cell({"wall_s": 61.0}) == "61.0 s"  # older records: as before
    assert _runs_note([{"runs_trained": 1, "runs_loaded": 2}, {"runs_shared": 1}]) == \
        "; of their training runs 1 trained, 2 cached (loaded from the results cache), 1 shared (trained earlier " \
        "in the session for another claim)"
    assert _runs_note([{"wall_s": 1.0}]) == ""


def _pytest(*args, cwd=ROOT, timeout=600):
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-p", "no:cacheprovider", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_terminal_summary_has_the_verdict_table(tmp_path):
    out = _pytest("suites/r000/test_q2_3_conv_shape.py::test_conv_shape", "--no-cache", f"--results-dir={tmp_path}")
    summary = out[out.index("claims harness: verdicts"):]
    head, rule, row = summary.splitlines()[1:4]
    assert head.split() == ["claim", "reading", "verdict", "wall", "headline"] and set(rule) <= {"-", " "}
    assert row.split()[:3] == ["r000.conv_shape", "literal", "REPRODUCED"]
    assert f"tables written to {tmp_path} (" in summary
    assert "claim finished: r000.conv_shape [literal]: REPRODUCED" in out
    assert all(len(x) <= 120 for x in summary.splitlines()[1:-1])


def test_a_run_loaded_from_the_results_cache_is_said_so(tmp_path):
    # A session of one tiny run, outside this repository's suites (the plugin loaded by name), twice on one cache.
    (tmp_path / "test_one_run.py").write_text(textwrap.dedent("""
        import numpy as np
        from harness.data import DeviceData
        from harness.models import CifarCNN
        from harness.train import TrainConfig

        def test_one_run(harness):
            g = np.random.default_rng(0)
            data = DeviceData((g.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8), g.integers(0, 10, 8)), "cpu",
                              (0.5,) * 3, (0.5,) * 3)
            data.description = "synthetic"
            harness.trained(lambda: CifarCNN(3, "tanh"), {"n_fc": 3, "activation": "tanh"},
                            TrainConfig(epochs=1, batch_size=4), data, None)
    """))
    args = ["-p", "harness.pytest_plugin", "test_one_run.py", f"--cache-dir={tmp_path / 'cache'}",
            f"--results-dir={tmp_path / 'results'}", "--progress-every=0.2", "--device=cpu"]
    first = _pytest(*args, cwd=tmp_path)
    assert "main: test_one_run training 'tanh CNN 3 FC, SGD lr 0.01, 1 epoch'" in first
    assert "main: test_one_run trained 'tanh CNN 3 FC, SGD lr 0.01, 1 epoch' in " in first
    assert "loaded from the results cache" not in first
    second = _pytest(*args, cwd=tmp_path)
    assert "main: test_one_run loaded from the results cache 'tanh CNN 3 FC, SGD lr 0.01, 1 epoch'" in second
    assert "training '" not in second


def test_the_terminal_keeps_pytests_lines_whole(tmp_path):
    from rich.text import Text

    from harness.progress import Terminal

    path = tmp_path / "plain.txt"
    with open(path, "w") as file:
        terminal = Terminal(file)
        terminal.write("suites/x.py ..")
        terminal.line("gw0: c [r] training 'x'")  # on a line of its own, after pytest's text
        terminal.write(".  [ 10%]\n")
        terminal.flush()
    assert path.read_text() == "suites/x.py ..\ngw0: c [r] training 'x'\n.  [ 10%]\n"
    path = tmp_path / "live.txt"
    with open(path, "w") as file:
        terminal = Terminal(file)
        terminal.show(Text("the live view"))
        terminal.write("suites/y.py ")
        terminal.write(".\rsuites/y.py ..\n")  # a carriage return rewrites its line, as on a terminal
        terminal.write("suites/z.py .")
        terminal.line("claim finished: c [r]: REPRODUCED (1 s)")
        terminal.stop_live()
        terminal.write(".\n")
        terminal.flush()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", path.read_text())
    assert "suites/y.py ..\n" in text and "claim finished: c [r]: REPRODUCED (1 s)\n" in text
    assert text.endswith("suites/z.py ..\n")  # pytest's unfinished line waited for the view to go
