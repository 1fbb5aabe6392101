"""README's "Adding a claim" example, run as written: its files, then every command of its block."""

from __future__ import annotations

import json
import re
import shlex
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


def example_commands() -> list[str]:
    """The commands of README's block announced by ``<!-- commands: my_claims -->``."""
    text = (ROOT / "README.md").read_text()
    (block,) = re.findall(r"<!-- commands: my_claims -->\n```bash\n(.*?)```", text, flags=re.S)
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_example_runs_as_written(tmp_path):
    files = example_files()
    assert set(files) == {"my_claims/r100/claims.toml", "my_claims/r100/judges.py", "my_claims/r100/runs.py",
                          "my_claims/r100/test_r100.py", "my_claims/r100/test_judges.py"}
    for path, body in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(body)
    committed = {p: p.stat().st_mtime_ns for p in (ROOT / "results").rglob("*") if p.is_file()}
    outputs = []
    for command in example_commands():
        argv = shlex.split(command)
        if argv[0] == "python":
            argv[0] = sys.executable
        elif argv[0] == "pytest":
            # The session's own settings beside README's: a CPU, the smoke profile, no cache folder in the repository.
            argv = [sys.executable, "-m", "pytest", *argv[1:], "-p", "no:cacheprovider",
                    *[a for a in SMOKE_ON_CPU if a not in argv]]
        done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    validated, ran, listed, merged = outputs
    assert "1 report folder(s), 1 claims" in validated and "no problem found" in validated, validated
    assert "4 passed" in ran, ran  # the claim under its reading, and the judge's three tests
    assert "Report 100" in listed and "r100.cnn_beats_chance" in listed, listed
    assert "merged 1 records" in merged, merged
    results = tmp_path / "my_claims" / "results" / "smoke"
    (record,) = (results / "records").glob("*.json")
    assert json.loads(record.read_text())["claim_folder"] == str((tmp_path / "my_claims" / "r100").resolve())
    assert "r100.cnn_beats_chance,literal," in (results / "claims.csv").read_text()
    assert "r100.cnn_beats_chance" in (tmp_path / "merged-r100" / "claims.csv").read_text()
    assert "# Report 100" in (tmp_path / "merged-r100" / "r100.md").read_text()
    # Nothing of the user's reached this repository's committed results.
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "results").rglob("*") if p.is_file()} == committed
