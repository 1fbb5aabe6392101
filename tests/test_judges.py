"""Every claim of every report folder has a judge, and its folder's ``test_judges.py`` drives it.

The cases themselves live beside the claims (``suites/<report>/test_judges.py``, helpers in
:mod:`harness.judges.testing`): each verdict a claim can honestly reach is reached there.
"""

from __future__ import annotations

import ast

from harness.claims import catalog
from harness.judges import registered


def test_every_claim_has_a_judge_and_every_judge_a_claim():
    assert set(registered()) == {c.id for c in catalog.all_claims()}


def test_every_report_folder_drives_its_judges_with_the_shared_checks():
    for folder in catalog.folders():
        path = folder.path / "test_judges.py"
        assert path.is_file(), f"{folder.path}: no test_judges.py driving its judges"
        names = {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}
        assert "judge_tests" in names and "CASES" in names, f"{path}: does not hand its CASES to judge_tests"
