"""The claim catalogue: every id of CLAIMS.md, each with its readings; pinned verdicts."""

from __future__ import annotations

import re

import pytest

from harness.claims import catalog

from .helpers import SHARED_DATA

CLAIMS_MD = SHARED_DATA.parent / "CLAIMS.md"


@pytest.mark.skipif(not CLAIMS_MD.exists(), reason="needs ../shared/CLAIMS.md (the shared folder beside the checkout)")
def test_catalogue_has_exactly_the_ids_of_claims_md():
    ids = set(re.findall(r"`(r00[02]\.[a-z0-9_]+)`", CLAIMS_MD.read_text()))
    assert {c.id for c in catalog.all_claims()} == ids


def test_every_claim_is_complete():
    for claim in catalog.all_claims():
        assert claim.statement and claim.metric and claim.check, claim.id
        assert claim.readings and len({r.name for r in claim.readings}) == len(claim.readings), claim.id
        assert all(r.why for r in claim.readings), claim.id
        assert claim.section and claim.report in ("000", "002")


def test_unknown_claim_and_reading_are_named():
    with pytest.raises(KeyError, match="no claim"):
        catalog.get("r999.nothing")
    with pytest.raises(KeyError, match="readings"):
        catalog.get("r002.tanh_learns").reading("nope")


def test_pin_verdicts_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "PINNED_FILE", tmp_path / "pinned.json")
    csv_file = tmp_path / "claims.csv"
    csv_file.write_text(
        "id,reading,verdict,claimed,measured_mean,ci_low,ci_high,n_seeds,unit\n"
        "r002.tanh_learns,momentum=0,REPRODUCED,x,1,0,2,5,%\n"
        "r000.epoch_time,literal,NOT REPRODUCED,x,1,0,2,5,s\n"
        "r000.conv_shape,literal,NOT RUN,x,,,,0,\n")
    pinned = catalog.pin_verdicts(csv_file)
    assert pinned == {"r002.tanh_learns|momentum=0": "REPRODUCED"}  # timing claims and NOT RUN are never pinned
    assert catalog.pinned_verdicts() == pinned
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a claims.csv"):
        catalog.pin_verdicts(bad)
