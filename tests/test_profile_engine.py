"""The profiling tool runs the engine's loop on real data and says where the time went."""

from __future__ import annotations

import pytest


def test_the_profile_names_the_step_time_and_the_costliest_ops(capsys):
    from benchmarks import profile_engine

    try:
        profile_engine.main(["--steps", "2", "--seeds", "2", "--rows", "3"])
    except SystemExit as exc:  # argparse's error: the data set is missing, and the message says how to get it
        pytest.skip(capsys.readouterr().err.strip().splitlines()[-1] if exc.code else "")
    out = capsys.readouterr().out
    assert "r002-cnn3, 2 seeds, batch 4, 2 steps" in out and "ms a step" in out
    assert "aten::" in out  # the op table
