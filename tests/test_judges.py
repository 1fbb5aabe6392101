"""Every claim of every report folder has a judge, and its folder's ``test_judges.py`` drives it.

The cases themselves live beside the claims (``suites/<report>/test_judges.py``, helpers in
:mod:`harness.judges.testing`): each verdict a claim can honestly reach is reached there.
"""

from __future__ import annotations

import ast

import pytest

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


def test_a_judge_of_a_folder_the_catalogue_dropped_is_not_registered(tmp_path):
    """A process that added a claims folder and dropped it (one test's tmp_path, then the next test) keeps no judge
    of it: the judges are those of the catalogue's folders."""
    folder = tmp_path / "r905"
    folder.mkdir()
    (folder / "claims.toml").write_text('[[claim]]\nid = "r905.x"\nsection = "s"\nstatement = "s"\nmetric = "m"\n'
                                        'check = "c"\n')
    (folder / "judges.py").write_text("from harness.judges import judge\n\n\n@judge('r905.x')\ndef x(m, claim, reading):"
                                      "\n    raise AssertionError('never called here')\n")
    catalog.add_dir(folder)
    assert "r905.x" in registered()
    catalog.forget_added_dirs()
    assert set(registered()) == {c.id for c in catalog.all_claims()}


def test_a_measurement_the_judge_reads_and_the_test_did_not_give_is_named_with_what_it_gave():
    from harness.claims import catalog
    from harness.judges import MeasurementMissing, judge_claim

    claim = catalog.get("r002.tanh_learns")
    with pytest.raises(MeasurementMissing, match=r"r002.tanh_learns \[momentum=0\]: its judge .* looked up "
                                                 r"'\w+', which is no measurement its test gave \(it gave "
                                                 r"\['test_acc'\]\)"):
        judge_claim(claim, claim.reading("momentum=0"), {"test_acc": [50.0, 51.0]})
