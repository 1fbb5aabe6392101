"""Helpers for a report folder's ``test_judges.py``: synthetic measurements, and the checks every judge must pass.

A judge is driven with measurements a real run could produce (accuracies in %, on a stated number of test
images), each case naming the verdict the claim's rules must give. A judge that could only ever return one verdict
fails here: :func:`assert_reaches_its_verdicts` asks that the cases reach exactly the verdicts the claim record
lists as ``reachable``. A report folder's file holds its cases and three short tests::

    from harness.judges.testing import R, NR, I, N, near, noisy, judge_tests

    CASES = {"r100.cnn_beats_chance": [("literal", {"test_acc": near(40.0), "n_test": N}, R), ...]}
    test_each_reachable_verdict_is_reached, test_every_part_is_well_formed, test_every_claim_has_cases = \\
        judge_tests(__file__, CASES)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ..claims import Verdict, catalog
from ..claims.record import as_stored
from . import judge_claim

N = 10_000  # test images
SEEDS = 5
R, NR, A, I = Verdict.REPRODUCED, Verdict.NOT_REPRODUCED, Verdict.ARTIFACT, Verdict.INCONCLUSIVE


def near(value, spread=0.3, n=SEEDS):
    """n per-seed values around ``value``, deterministic."""
    return [float(value + spread * d) for d in np.linspace(-1, 1, n)]


def noisy(value, n=SEEDS):
    """n per-seed values spread ±15 around ``value``: more noise than any claim's tolerance."""
    return near(value, spread=15.0, n=n)


def epochs(first, second):
    """Per seed, two epochs' values near ``first`` and ``second``."""
    return [[a, b] for a, b in zip(near(first, 0.005), near(second, 0.005))]


def judged(claim_id: str, reading: str, measurements: dict):
    """The judgement of ``claim_id`` under the reading called ``reading``, from ``measurements`` as a record stores
    them (string keys, lists, None for NaN): what a session's judge and a replay see."""
    claim = catalog.get(claim_id)
    return judge_claim(claim, claim.reading(reading), as_stored(measurements))


def assert_reaches_its_verdicts(claim_id: str, cases: list) -> None:
    """Each case gives its expected verdict, and the cases together reach exactly the claim's ``reachable``."""
    claim = catalog.get(claim_id)
    assert {"REPRODUCED", "NOT REPRODUCED"} <= set(claim.reachable), claim.reachable
    reached = set()
    for reading, measurements, expected in cases:
        judgement = judged(claim_id, reading, measurements)
        assert judgement.verdict == expected, (reading, measurements, [(p.name, p.verdict, p.measured)
                                                                      for p in judgement.parts])
        reached.add(str(judgement.verdict))
    assert reached == set(claim.reachable), f"{claim_id} reaches {reached}, its record says {claim.reachable}"


def assert_parts_well_formed(claim_id: str, cases: list) -> None:
    """Every part has a rule and a name, every judged part a verdict, and intervals respect their ranges."""
    for reading, measurements, _ in cases:
        for part in judged(claim_id, reading, measurements).parts:
            assert part.rule and part.name
            if part.judged:
                assert part.verdict is not None, part
            iv = part.interval
            if iv is not None and iv.low == iv.low and iv.method == "logit-t":
                assert 0.0 <= iv.low <= iv.high <= 100.0, part
            if iv is not None and iv.low == iv.low and iv.method == "log-t":
                assert 0.0 < iv.low, part


def judge_tests(test_file: str, cases: dict):
    """The three tests of a report folder's ``test_judges.py``: each claim reaches its verdicts, its parts are
    well formed, and every claim of the folder (``test_file``'s) has cases."""
    ids = sorted(cases)

    @pytest.mark.parametrize("claim_id", ids)
    def test_each_reachable_verdict_is_reached(claim_id):
        assert_reaches_its_verdicts(claim_id, cases[claim_id])

    @pytest.mark.parametrize("claim_id", ids)
    def test_every_part_is_well_formed(claim_id):
        assert_parts_well_formed(claim_id, cases[claim_id])

    def test_every_claim_has_cases():
        folder = str(Path(test_file).resolve().parent)
        mine = {c.id for c in catalog.all_claims() if c.folder == folder}
        assert mine and set(cases) == mine, f"claims without cases: {sorted(mine - set(cases))}; cases of no claim " \
                                            f"of {folder}: {sorted(set(cases) - mine)}"

    return test_each_reachable_verdict_is_reached, test_every_part_is_well_formed, test_every_claim_has_cases
