"""CI's commands name the profile and device they check, and run the README's test command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest_commands() -> list[list[str]]:
    """Each ``python -m pytest`` command of .ci/run, as words (continued lines joined)."""
    text = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return [shlex.split(line) for line in lines if line.strip().startswith("python -m pytest")]


def test_every_ci_session_names_the_smoke_profile_on_the_cpu():
    # On a CUDA host the defaults are the full profile on the GPU: CI would then compare a full run with the
    # committed smoke tables (compare --exact results/smoke).
    commands = _pytest_commands()
    assert len(commands) == 2
    for words in commands:
        assert "--profile" in words and words[words.index("--profile") + 1] == "smoke", words
        assert "--device" in words and words[words.index("--device") + 1] == "cpu", words


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Run the tests \(.*?```bash\n(.*?)\n```", readme, re.S)
    assert block, "README.md: the test command's block after 'Run the tests' is gone"
    assert ["python", "-m", *shlex.split(block.group(1))] == _pytest_commands()[0]
