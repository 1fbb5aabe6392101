"""README's "Adding a claim" example, run as written: its files, then pytest on them with the harness plugin."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .helpers import SMOKE_ON_CPU

ROOT = Path(__file__).resolve().parents[1]


def example_files() -> dict[str, str]:
    """``path → text`` of every fenced block of README.md announced by ``<!-- example: path -->``."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- example: (\S+) -->\n```\w*\n(.*?)```", text, flags=re.S)
    return {path: body for path, body in blocks}


def test_the_readme_example_runs_as_written(tmp_path):
    files = example_files()
    assert set(files) == {"my_claims/r100.toml", "my_claims/judges.py", "my_claims/conftest.py",
                          "my_claims/test_r100.py", "my_claims/test_r100_judge.py"}
    for path, body in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "my_claims", "-p", "harness.pytest_plugin", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "--results-dir", str(results), "-q", "-n", "2", *SMOKE_ON_CPU],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout
    csv = (results / "claims.csv").read_text()
    assert "r100.cnn_beats_chance,literal," in csv
