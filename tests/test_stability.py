"""Stability: the bootstrap over seeds keeps a seed's measurements together and re-judges each replicate."""

from __future__ import annotations

import numpy as np

from harness.claims import catalog
from harness.report.tables import _short_stability
from harness.stability import SHORT, has_seed_noise, resample, stability, stability_words


def test_a_resample_keeps_each_seed_s_measurements_together_and_leaves_the_rest():
    m = {"fixed": [1.0, 2.0, 3.0], "unfixed": [10.0, 20.0, 30.0], "n_test": 100, "names": ["a", "b", "c"],
         "curves": [[1, 2], [3, 4], [5, 6]], "grid": [{"x": [7.0, 8.0, 9.0], "setup": "s"}]}
    out = resample(m, np.array([2, 2, 0]), 3)
    assert out["fixed"] == [3.0, 3.0, 1.0] and out["unfixed"] == [30.0, 30.0, 10.0]  # pairs stay paired
    assert out["curves"] == [[5, 6], [5, 6], [1, 2]] and out["grid"][0]["x"] == [9.0, 9.0, 7.0]
    assert out["n_test"] == 100 and out["names"] == ["a", "b", "c"]  # not one value a seed
    assert has_seed_noise(m, 3) and not has_seed_noise({"x": [1.0, 1.0, 1.0]}, 3)


def test_a_decisive_row_is_stable_and_a_borderline_one_is_not_and_says_what_more_seeds_give():
    claim = catalog.get("r002.fix_bn_skip")
    reading = claim.reading("momentum=0")
    clear = {"unfixed": [34.0, 35.0, 33.0, 34.5, 33.5], "fixed": [54.0, 55.5, 53.0, 54.5, 53.5], "n_test": 10_000}
    s = stability(claim, reading, clear, 5, "NOT REPRODUCED", draws=50, projection_draws=20)
    assert s["same"] == 1.0 and s["set"] == ["NOT REPRODUCED"] and s["stable"]
    # A gain whose band edge (+9.5 pp) sits inside the seeds' spread: replicates split.
    edge = {"unfixed": [34.0, 35.0, 33.0, 34.5, 33.5], "fixed": [48.0, 42.0, 46.0, 40.0, 44.0], "n_test": 10_000}
    verdict = "INCONCLUSIVE"
    s = stability(claim, reading, edge, 5, verdict, draws=100, projection_draws=30)
    assert 0.0 < s["same"] < 0.9 and len(s["set"]) >= 2 and not s["stable"]
    assert set(s["projected"]) == {"10", "20"} and "unstable" in stability_words(s, verdict)
    # An unstable row says which verdict the other replicates give most, and how often.
    other, share = max((share, v) for v, share in s["shares"].items() if v != verdict)[::-1]
    assert f"replicates also give {SHORT[other]} {share:.2f}" in stability_words(s, verdict)
    assert _short_stability(s, verdict) == f"{s['same']:.2f} unstable ({SHORT[other]} {share:.2f})"


def test_a_deterministic_check_is_stable_by_construction():
    claim = catalog.get("r002.gradient_check")
    m = {"families": {"own": {"max_rel_error": 1e-6, "gradcheck": True, "report_network": True}}}
    s = stability(claim, claim.reading("noise-floor"), m, 1, "REPRODUCED")
    assert s["same"] == 1.0 and s["draws"] == 0 and stability_words(s, "REPRODUCED") == "1 (deterministic)"
