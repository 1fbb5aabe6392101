"""The claim catalogue: every id of CLAIMS.md, each with its readings; pinned verdicts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.claims import catalog

from .helpers import SHARED_DATA

CLAIMS_MD = SHARED_DATA.parent / "CLAIMS.md"


def test_catalogue_has_exactly_the_ids_of_claims_md():
    # No silent skip: without ../shared the catalogue cannot be checked, and that is a failure to see.
    assert CLAIMS_MD.exists(), f"{CLAIMS_MD} is missing: check out ../shared beside this repository"
    ids = set(re.findall(r"`((?:r\d{3}|control)\.[a-z0-9_]+)`", CLAIMS_MD.read_text()))
    assert "control.cifar10_tutorial" in ids
    assert {c.id for c in catalog.all_claims()} == ids


def test_every_claim_is_complete():
    for claim in catalog.all_claims():
        assert claim.statement and claim.metric and claim.check, claim.id
        assert claim.readings and len({r.name for r in claim.readings}) == len(claim.readings), claim.id
        assert all(r.why for r in claim.readings), claim.id
        assert claim.section and claim.report == catalog.folder_of(claim.id).report
        assert claim.metric and (claim.unit == "" or claim.unit in claim.metric or claim.unit in ("%", "pp", "s")), claim.id
        assert {"REPRODUCED", "NOT REPRODUCED"} <= set(claim.reachable), claim.id


def test_unknown_claim_and_reading_are_named():
    with pytest.raises(KeyError, match="no claim"):
        catalog.get("r999.nothing")
    with pytest.raises(KeyError, match="readings"):
        catalog.get("r002.tanh_learns").reading("nope")


def test_the_control_is_listed_first():
    assert catalog.all_claims()[0].id == "control.cifar10_tutorial" and catalog.all_claims()[0].control


def test_pin_verdicts_pins_each_row_s_replicate_set_beside_its_claims_and_merges_by_claim_and_reading(tmp_path, pins):
    pins("r002").write_text('{"r002.depth_sweep|momentum=0": ["NOT REPRODUCED"]}')
    csv_file = tmp_path / "claims.csv"
    csv_file.write_text(
        "id,reading,verdict,profile,replicate_verdicts\n"
        "r002.tanh_learns,momentum=0,REPRODUCED,full,INCONCLUSIVE; REPRODUCED\n"
        "r000.epoch_time,literal,NOT REPRODUCED,full,NOT REPRODUCED\n"
        "r000.conv_shape,literal,NOT RUN,full,\n")
    pinned, changes, where = catalog.pin_verdicts(csv_file)
    assert where == [pins("r002")]  # no device_type column: a claims.csv from before GPU runs, the CPU's
    # Timing claims and NOT RUN are never pinned; a pin the csv does not name is kept.
    assert pinned == {"r002.tanh_learns|momentum=0": ["INCONCLUSIVE", "REPRODUCED"],
                      "r002.depth_sweep|momentum=0": ["NOT REPRODUCED"]}
    assert changes == ["r002.tanh_learns|momentum=0: not pinned → ['INCONCLUSIVE', 'REPRODUCED']"]
    assert catalog.pinned_verdicts() == pinned
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a claims.csv"):
        catalog.pin_verdicts(bad)
    smoke = tmp_path / "smoke.csv"
    smoke.write_text("id,reading,verdict,profile\nr002.tanh_learns,momentum=0,REPRODUCED,smoke\n")
    with pytest.raises(ValueError, match="full-profile"):
        catalog.pin_verdicts(smoke)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("id,reading,verdict,profile\nr002.nope,x,REPRODUCED,full\n")
    with pytest.raises(ValueError, match="r002.nope"):
        catalog.pin_verdicts(unknown)
    assert catalog.pinned_verdicts() == pinned  # a refused csv changes no pin
    replicate = tmp_path / "replicate.csv"
    replicate.write_text("id,reading,verdict,profile,replicate_verdicts\n"
                         "r002.depth_sweep,momentum=0,INCONCLUSIVE,full,INCONCLUSIVE\n")
    pinned, changes, _ = catalog.pin_verdicts(replicate, add=True)  # a replicate's verdict joins the set
    assert pinned["r002.depth_sweep|momentum=0"] == ["INCONCLUSIVE", "NOT REPRODUCED"]


def test_each_device_type_has_its_own_pins_and_a_pin_goes_to_its_rows_device_type(tmp_path, pins):
    pins("r002").write_text('{"r002.tanh_learns|momentum=0": ["REPRODUCED"]}')
    gpu = tmp_path / "gpu.csv"
    gpu.write_text("id,reading,verdict,profile,replicate_verdicts,device_type\n"
                   "r002.tanh_learns,momentum=0,NOT REPRODUCED,full,NOT REPRODUCED,cuda\n")
    pinned, _, where = catalog.pin_verdicts(gpu)
    assert where == [pins("r002", "cuda")] and pinned == {"r002.tanh_learns|momentum=0": ["NOT REPRODUCED"]}
    # The GPU's pin never touched the CPU's, and each device type reads its own.
    assert catalog.pinned_verdicts() == catalog.pinned_verdicts("cpu") == {"r002.tanh_learns|momentum=0": ["REPRODUCED"]}
    assert catalog.pinned_verdicts("cuda") == pinned
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("id,reading,verdict,profile,device_type\n"
                     "r002.tanh_learns,momentum=0,REPRODUCED,full,cpu\nr002.tanh_learns,momentum=0.9,REPRODUCED,full,cuda\n")
    before = (pins("r002").read_text(), pins("r002", "cuda").read_text())
    with pytest.raises(ValueError, match=r"mixed.csv: has rows of device type\(s\) \['cpu', 'cuda'\].*pin one device"):
        catalog.pin_verdicts(mixed)
    unknown = tmp_path / "unknown-device.csv"
    unknown.write_text("id,reading,verdict,profile,device_type\nr002.tanh_learns,momentum=0,REPRODUCED,full,\n")
    with pytest.raises(ValueError, match=r"unknown-device.csv: has rows of device type\(s\) \[''\]"):
        catalog.pin_verdicts(unknown)
    assert (pins("r002").read_text(), pins("r002", "cuda").read_text()) == before  # refused: no pin moved
    with pytest.raises(ValueError, match="device type 'mps'"):
        catalog.pinned_verdicts("mps")


def test_re_pinning_the_committed_cpu_run_goes_to_the_cpu_pins_beside_each_report_and_changes_none(tmp_path, pins):
    import shutil

    committed = {f.name: (f.path / catalog.PIN_FILES["cpu"]).read_bytes() for f in catalog.folders()}
    for f in catalog.folders():
        shutil.copy(f.path / catalog.PIN_FILES["cpu"], pins(f.name))
    _, changes, where = catalog.pin_verdicts(Path(__file__).resolve().parents[1] / "results" / "full" / "claims.csv",
                                             add=True)
    assert sorted(where) == sorted(pins(f.name) for f in catalog.folders()) and changes == []
    assert {f.name: pins(f.name).read_bytes() for f in catalog.folders()} == committed
    assert not any(pins(f.name, "cuda").exists() for f in catalog.folders())


def test_every_claim_declares_its_budget_for_both_profiles():
    for claim in catalog.all_claims():
        smoke, full = claim.budget_for("smoke"), claim.budget_for("full")
        assert set(smoke) == set(full) and "epochs" in full, claim.id
        # The full profile is the report's budget: never fewer epochs or images than the smoke one.
        for key, value in full.items():
            if isinstance(value, int) and isinstance(smoke[key], int):
                assert value >= smoke[key], (claim.id, key)


def test_the_control_trains_on_report_002s_data():
    control, q1 = catalog.get("control.cifar10_tutorial"), catalog.get("r002.tanh_learns")
    for profile in ("smoke", "full"):
        for key in ("train_per_class", "test_per_class"):
            assert control.budget_for(profile)[key] == q1.budget_for(profile)[key], (profile, key)


def test_a_missing_budget_entry_names_the_claim_and_the_record():
    with pytest.raises(KeyError, match=r"r002.tanh_learns has no budget entry 'epochz' under profile 'full'"):
        catalog.get("r002.tanh_learns").budget_for("full")["epochz"]
    with pytest.raises(KeyError, match=r"no budget for profile 'huge'"):
        catalog.get("r002.tanh_learns").budget_for("huge")


def test_a_bad_budget_entry_names_the_file_and_the_entry(tmp_path):
    bad = tmp_path / "r901.toml"
    bad.write_text('[[claim]]\nid = "r901.x"\nsection = "s"\nstatement = "s"\nmetric = "m"\ncheck = "c"\n'
                   '[claim.budget.full]\nepochs = "5"\n')
    with pytest.raises(ValueError, match=r"r901.toml: claim r901.x: budget.full.epochs = '5'"):
        catalog.load_file(bad)


CLAIM = '[[claim]]\nid = "r901.x"\nsection = "s"\nstatement = "s"\nmetric = "m"\ncheck = "c"\n'


@pytest.mark.parametrize(("text", "message"), [
    (CLAIM + "tolerence = 3.0\n", r"claim 'r901.x': unknown key 'tolerence' \(did you mean 'tolerance'\?\)"),
    (CLAIM + 'note = "n"\n', r"claim 'r901.x': unknown key 'note' \(did you mean 'notes'\?\)"),
    (CLAIM + '[[claim.readings]]\nname = "a"\nwhy = "w"\nchoice = {}\n',
     r"claim 'r901.x': reading 'a': unknown key 'choice' \(did you mean 'choices'\?\)"),
    ('[report]\ntitel = "T"\n' + CLAIM, r"\[report\]: unknown key 'titel' \(did you mean 'title'\?\)"),
    ('[defaults]\nprinted = {}\nbudgets = {}\n' + CLAIM, r"\[defaults\]: unknown key 'budgets'"),
    ('[[claims]]\nid = "r901.x"\n', r"unknown key 'claims' \(did you mean 'claim'\?\)"),
    (CLAIM.replace('"r901.x"', '"r902.x"'), r"claim 'r902.x': a claim id of report folder 'r901' starts with 'r901.'"),
    (CLAIM.replace('check = "c"\n', ''), r"claim 'r901.x': give its check"),
    (CLAIM + 'tolerance = "3"\n', r"claim 'r901.x': tolerance = '3'; give a value of type int or float"),
    (CLAIM + 'reachable = ["REPRODUCED", "NOT REPRODUCD"]\n', r"reachable names \['NOT REPRODUCD'\]"),
    (CLAIM + '[claim.budget.smok]\nepochs = 1\n', r"claim r901.x: budget: unknown key 'smok' \(did you mean 'smoke'\?\)"),
    (CLAIM + '[claim.budget.smoke]\nepochs = 1\ntrain_per_clas = 5\n[claim.budget.full]\nepochs = 1\n',
     r"claim r901.x: budget.smoke and budget.full name other entries \(\['train_per_clas'\] in one only\)"),
    ('[report]\nshares_runs_by = ["momentum"]\n' + CLAIM,
     r"\[report\]: 'shares_runs_by' is no longer read: which tests share training runs comes from the runs their "
     r"claims declare \(the folder's runs.py"),
    (CLAIM + 'runs_family = "teachers"\n', r"claim 'r901.x': 'runs_family' is no longer read"),
], ids=["tolerence", "note", "reading key", "report key", "defaults key", "file key", "id prefix", "missing check",
        "tolerance type", "verdict name", "budget profile", "budget entry in one profile", "retired report key",
        "retired claim key"])
def test_a_claim_file_s_mistake_is_named_with_its_file_claim_and_key_before_anything_trains(tmp_path, text, message):
    path = tmp_path / "r901" / "claims.toml"
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(catalog.ClaimRecordError, match=message) as raised:
        catalog.load_file(path)
    assert str(path) in str(raised.value)
    with pytest.raises(catalog.ClaimRecordError, match=message):
        catalog.add_dir(path.parent)  # refused whole: the catalogue is left as it was
    assert "r901.x" not in {c.id for c in catalog.all_claims()}


def test_a_folder_without_claims_is_refused_naming_what_a_claims_folder_holds(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no claims.toml"):
        catalog.add_dir(tmp_path)


def test_a_misspelt_reading_in_for_each_reading_is_an_error_not_a_test_left_out():
    from harness.session import for_each_reading

    with pytest.raises(KeyError, match=r"r002.tanh_learns has no reading 'momentum=O'; readings: \['momentum=0'"):
        for_each_reading("r002.tanh_learns", only=["momentum=O"])
    assert for_each_reading("r002.tanh_learns", only=["momentum=0"]) is not None


def test_every_key_a_claim_record_may_hold_is_in_readme_s_reference():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    reference = readme[readme.index("### Reference"):]
    for key in (*catalog.CLAIM_KEYS, *catalog.DEFAULT_KEYS, *catalog.READING_KEYS, *catalog.REPORT_KEYS):
        assert f"`{key}`" in reference, f"README's reference does not describe the claim file key {key!r}"
