"""The GPU smoke check (``scripts/gpu-smoke``): in at most 8 minutes on one GPU, with synthetic data, what only a GPU
can settle before the harness's first real GPU session (issue 23).

Stages, in order (``STAGES``); the findings are written as JSON after every stage, so a run stopped by a time
limit keeps what it ran:

1. ``environment``: the header a session on this GPU would write (torch, CUDA, cuDNN, driver, numerics).
2. ``pytest-gpu``: ``pytest -m gpu`` (tests/test_gpu.py) in a subprocess, every test's outcome.
3. ``determinism``: report 002's 6-FC net and both of report 000's CNNs trained twice, compared bit for bit, with
   ``cudnn.deterministic`` off and on.
4. ``cpu-vs-cuda``: the same seeds (hence the same batches) on both devices: fp64 equal to round-off; the fp32
   drift of the chaotic 6-FC momentum-0.9 net after 10, 100 and 1000 steps.
5. ``precision``: each model in each precision mode: finite or not, the dtype autocast really computes the logits
   in; the pure-fp16 Adam student's first non-finite step and tensor on both devices.
6. ``host-syncs``: synchronizing CUDA calls a training step makes (``torch.cuda.set_sync_debug_mode``).
7. ``oom``: a real CUDA out-of-memory error under the plugin (the pytest-gpu stage's test, run alone if needed).
8. ``step-times``: ms a member-step of each report's model as the engine trains it, and a projection of one
   full-profile run of 5 seeds from the catalog's budgets.

Without CUDA (or with ``--dry-run``) it says so, writes the stage list with each stage's status, and exits 0.
Nothing here changes what a claim trains; it only runs the engine and compares.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("environment", "pytest-gpu", "determinism", "cpu-vs-cuda", "precision", "host-syncs", "oom", "step-times")
BUDGET_S = 480  # the check's whole time on one GPU
OOM_TEST = "test_a_real_cuda_out_of_memory_under_the_plugin_records_not_run_and_frees"
NO_CUDA = "no CUDA device here (torch.cuda.is_available() is False): nothing to settle; run it on a machine with one"


def _models():
    """name: (model_fn, image size, the report's batch, optimizer settings, catalog file)."""
    from .models import CifarCNN, student, teacher

    sgd = dict(optimizer="sgd", lr=0.01, momentum=0.9)
    adam = dict(optimizer="adam", lr=1e-3)
    return {"r002 CNN 3 FC": (lambda: CifarCNN(3, "tanh"), 32, 4, sgd, "r002"),
            "r002 CNN 6 FC": (lambda: CifarCNN(6, "tanh"), 32, 4, sgd, "r002"),
            "r000 teacher": (teacher, 64, 64, adam, "r000"),
            "r000 student": (student, 64, 64, adam, "r000")}


def _data(size: int, n: int, device) -> "DeviceData":  # noqa: F821
    from .data import DeviceData

    g = np.random.default_rng(0)
    classes = 10 if size == 32 else 200
    return DeviceData((g.integers(0, 255, (n, size, size, 3), dtype=np.uint8), g.integers(0, classes, n)), device,
                      (0.5,) * 3, (0.5,) * 3)


def _cfg(batch: int, steps: int, **changes):
    from .train import TrainConfig

    return TrainConfig(**{"epochs": 1, "batch_size": batch, "max_steps_per_epoch": steps, **changes})


def _max_diff(a, b) -> dict:
    """Largest absolute and relative difference over every parameter and buffer of two ensembles."""
    worst_abs, worst_rel, equal = 0.0, 0.0, True
    for x, y in zip(a.state_dict().values(), b.state_dict().values()):
        x, y = x.detach().cpu().double(), y.detach().cpu().double()
        equal = equal and torch.equal(x, y)
        diff = (x - y).abs()
        worst_abs = max(worst_abs, float(diff.max()) if diff.numel() else 0.0)
        worst_rel = max(worst_rel, float((diff / y.abs().clamp_min(1e-30)).max()) if diff.numel() else 0.0)
    return {"bitwise_equal": equal, "max_abs": worst_abs, "max_rel": worst_rel}


def stage_environment(ctx) -> dict:
    from .numerics import numerics_state
    from .report.environment import environment

    return {"header": environment("full", ctx.device, ROOT), "numerics": numerics_state(),
            "gpus": torch.cuda.device_count(), "bf16_supported": torch.cuda.is_bf16_supported()}


def stage_pytest_gpu(ctx) -> dict:
    junit = Path(ctx.scratch) / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-n", "0", "-q", "-p", "no:cacheprovider",
                           "--no-cache", "--profile", "smoke", f"--results-dir={Path(ctx.scratch) / 'results'}",
                           f"--junitxml={junit}", "tests/test_gpu.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=max(30, min(300, ctx.left() - 200)))
    tests = _junit(junit)
    ctx.junit = tests
    return {"returncode": done.returncode, "summary": done.stdout.strip().splitlines()[-1:],
            "passed": sum(t["outcome"] == "passed" for t in tests.values()),
            "failed": {k: v["message"] for k, v in tests.items() if v["outcome"] == "failed"},
            "skipped": {k: v["message"] for k, v in tests.items() if v["outcome"] == "skipped"},
            "tail": done.stdout[-2000:] if done.returncode else ""}


def _junit(path: Path) -> dict:
    if not path.exists():
        return {}
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        problem = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        outcome = "passed" if problem is None else ("skipped" if problem.tag == "skipped" else "failed")
        out[case.get("name")] = {"outcome": outcome,
                                 "message": "" if problem is None else (problem.get("message") or "")[:500]}
    return out


def stage_determinism(ctx) -> dict:
    from .train import train

    out = {}
    try:
        for deterministic in (False, True):
            torch.backends.cudnn.deterministic = deterministic
            for name in ("r002 CNN 6 FC", "r000 teacher", "r000 student"):
                model_fn, size, batch, opt, _ = ctx.models[name]
                steps = 50 if size == 32 else 10
                data = _data(size, batch * steps, ctx.device)
                runs = [train(model_fn, [0, 1], data, None, _cfg(batch, steps, **opt)) for _ in range(2)]
                out[f"{name}, cudnn.deterministic={deterministic}"] = {"steps": steps,
                                                                      **_max_diff(runs[0].model, runs[1].model)}
    finally:
        torch.backends.cudnn.deterministic = True  # the harness's setting (harness.numerics)
    return out


def stage_cpu_vs_cuda(ctx) -> dict:
    from .train import train

    out = {"fp64": {}, "fp32 drift, r002 CNN 6 FC, SGD momentum 0.9": {}}
    for name, (model_fn, size, batch, opt, _) in ctx.models.items():
        steps = 20 if size == 32 else 3
        runs = [train(model_fn, [0], _data(size, batch * steps, d), None, _cfg(batch, steps, precision="fp64", **opt))
                for d in ("cpu", ctx.device)]
        out["fp64"][name] = {"steps": steps, **_max_diff(runs[0].model, runs[1].model),
                             "train_loss": [float(r.history["train_loss"][0, 0]) for r in runs]}
    model_fn, size, batch, opt, _ = ctx.models["r002 CNN 6 FC"]
    for steps in (10, 100, 1000):
        runs = [train(model_fn, [0], _data(size, batch * 1000, d), None, _cfg(batch, steps, **opt))
                for d in ("cpu", ctx.device)]
        out["fp32 drift, r002 CNN 6 FC, SGD momentum 0.9"][str(steps)] = {
            **_max_diff(runs[0].model, runs[1].model),
            "train_loss cpu, cuda": [float(r.history["train_loss"][0, 0]) for r in runs]}
    return out


def stage_precision(ctx) -> dict:
    from .train import Ensemble, build_members, precision, train

    out = {"modes": {}, "pure fp16 Adam student, first non-finite": {}}
    for name, (model_fn, size, batch, opt, _) in ctx.models.items():
        data = _data(size, batch * 5, ctx.device)
        for mode in ("fp32", "fp16", "fp16-amp", "bf16-amp"):
            result = train(model_fn, [0, 1], data, None, _cfg(batch, 5, precision=mode, watch_nonfinite=True, **opt))
            model = Ensemble(build_members(model_fn, [0, 1])).to(device=ctx.device,
                                                                  dtype=precision.param_dtype(mode)).train()
            logits = []

            def forward():
                with precision.autocast(mode, data.device):
                    logits.append(model(data.normalize(data.x[:2]).expand(2, -1, -1, -1, -1)
                                        .to(precision.param_dtype(mode))))
            dtypes = precision.compute_dtypes(forward)
            out["modes"][f"{name}, {mode}"] = {"finite": bool(np.isfinite(result.history["train_loss"]).all()),
                                               "op_dtypes": {k: sorted(v) for k, v in dtypes.items()},
                                               "logits_dtype": str(logits[0].dtype), "nonfinite": result.nonfinite}
    model_fn, size, batch, opt, _ = ctx.models["r000 student"]
    for device, steps in ((ctx.device, 50), ("cpu", 4)):  # pure fp16 convolutions are very slow on a CPU
        result = train(model_fn, [0], _data(size, batch * steps, device), None,
                       _cfg(batch, steps, precision="fp16", watch_nonfinite=True, **opt))
        out["pure fp16 Adam student, first non-finite"][str(device)] = {"steps_run": steps, **result.nonfinite[0]}
    return out


def stage_host_syncs(ctx) -> dict:
    from .train import train, train_together, with_overrides

    out = {}
    steps = 20

    def count(run) -> dict:
        marks: list[int] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                run(lambda step, members: marks.append(len(caught)))
            finally:
                torch.cuda.set_sync_debug_mode("default")
        # Between the end of step 2 and the end of the last step: steady steps, no epoch-end reads.
        inside = marks[-1] - marks[1] if len(marks) > 2 else None
        messages = sorted({str(w.message).splitlines()[0][:200] for w in caught})[:5]
        return {"syncs_per_step": None if inside is None else inside / (len(marks) - 2), "messages": messages}

    for name, (model_fn, size, batch, opt, _) in ctx.models.items():
        data = _data(size, batch * steps, ctx.device)
        for watch in (False, True):
            cfg = _cfg(batch, steps, watch_nonfinite=watch, **opt)
            out[f"{name}, watch_nonfinite={watch}"] = count(
                lambda on_step: train(model_fn, [0, 1], data, None, cfg, on_step=on_step))
    model_fn, size, batch, opt, _ = ctx.models["r002 CNN 3 FC"]
    data = _data(size, batch * steps, ctx.device)
    base = _cfg(batch, steps, **opt)
    runs = [([0, 1], with_overrides(base, momentum=m)) for m in (0.0, 0.9)]
    # train_together takes no on_step: count over the whole run, per step.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            train_together(model_fn, runs, data, None)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    out["r002 CNN 3 FC, PerMemberSGD (train_together), whole run"] = {
        "syncs_per_step": len(caught) / steps, "messages": sorted({str(w.message)[:200] for w in caught})[:5]}
    return out


def stage_oom(ctx) -> dict:
    if OOM_TEST in ctx.junit:
        return {"from": "pytest-gpu stage", **ctx.junit[OOM_TEST]}
    junit = Path(ctx.scratch) / "oom.xml"
    done = subprocess.run([sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider", "--no-cache",
                           "--profile", "smoke", f"--results-dir={Path(ctx.scratch) / 'oom-results'}",
                           f"--junitxml={junit}", f"tests/test_gpu.py::{OOM_TEST}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=max(30, min(180, ctx.left() - 60)))
    return {"from": "run alone", "returncode": done.returncode, **_junit(junit).get(OOM_TEST, {"outcome": "not run"})}


def _full_member_steps(catalog_file: str, batch: int) -> dict:
    """Member-steps of one full-profile run of 5 seeds: the catalog's default epochs over the whole train split."""
    budget = tomllib.loads((ROOT / "harness" / "claims" / "catalog" / f"{catalog_file}.toml").read_text())
    full = budget["defaults"]["budget"]["full"]
    images = {"r002": 50_000, "r000": 100_000}[catalog_file]
    per_epoch = -(-images // batch)
    out = {f"{full['epochs']} epochs": per_epoch * full["epochs"] * 5}
    if "longer_epochs" in full:
        out[f"{full['longer_epochs']} epochs (longer)"] = per_epoch * full["longer_epochs"] * 5
    return out


def stage_step_times(ctx) -> dict:
    from .timing import synchronize
    from .train import train

    out = {}
    for name, (model_fn, size, batch, opt, catalog_file) in ctx.models.items():
        steps = 200 if size == 32 else 30
        data = _data(size, batch * steps, ctx.device)
        cfg = _cfg(batch, steps, **opt)
        train(model_fn, list(range(5)), data, None, _cfg(batch, 5, **opt))  # warm-up: kernels chosen, caches made
        synchronize(ctx.device)
        result = train(model_fn, list(range(5)), data, None, cfg)  # 5 seeds at once, as the full profile trains
        per_member_step = result.seconds / steps / 5
        out[name] = {"batch": batch, "members": 5, "ms_per_step": 1e3 * result.seconds / steps,
                     "ms_per_member_step": 1e3 * per_member_step,
                     "full-profile run of 5 seeds, hours": {k: v * per_member_step / 3600 for k, v in
                                                            _full_member_steps(catalog_file, batch).items()}}
    return out


class _Context:
    def __init__(self, device, scratch: str, budget_s: float):
        self.device = device
        self.scratch = scratch
        self.started = time.monotonic()
        self.budget_s = budget_s
        self.junit: dict = {}
        self.models = _models()

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.started)


RUNNERS = {"environment": stage_environment, "pytest-gpu": stage_pytest_gpu, "determinism": stage_determinism,
           "cpu-vs-cuda": stage_cpu_vs_cuda, "precision": stage_precision, "host-syncs": stage_host_syncs,
           "oom": stage_oom, "step-times": stage_step_times}
# Seconds a stage needs at least on an H200-class GPU (estimates): a stage is not started with less left.
NEEDS_S = {"environment": 5, "pytest-gpu": 60, "determinism": 30, "cpu-vs-cuda": 40, "precision": 40,
           "host-syncs": 20, "oom": 20, "step-times": 30}


def _write(path: Path, findings: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(findings, indent=1, default=str))
    tmp.replace(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gpu-smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None,
                        help="the findings' JSON file (default: $OUT/gpu-smoke.json where $OUT is set, else "
                             "gpu-smoke.json here)")
    parser.add_argument("--dry-run", action="store_true", help="list the stages and write them as planned; run none")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run these stages only")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S, help=f"the whole check's time (default {BUDGET_S})")
    args = parser.parse_args(argv)
    out = Path(args.out or (Path(os.environ["OUT"]) / "gpu-smoke.json" if os.environ.get("OUT") else "gpu-smoke.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    selected = [s for s in STAGES if args.only is None or s in args.only]
    cuda = torch.cuda.is_available()
    mode = "dry-run" if args.dry_run else ("gpu" if cuda else "no-cuda")
    findings = {"mode": mode, "stages_planned": selected, "torch": torch.__version__, "cuda_build": torch.version.cuda,
                "stages": {}}
    if mode != "gpu":
        why = "dry run: nothing run" if args.dry_run else NO_CUDA
        print(f"gpu-smoke: {why}", flush=True)
        for stage in selected:
            findings["stages"][stage] = {"status": "skipped", "why": why}
            print(f"  {stage}: skipped", flush=True)
        _write(out, findings)
        print(f"gpu-smoke: wrote {out}", flush=True)
        return 0

    from .numerics import set_deterministic_numerics
    from .pytest_plugin import use_device

    device = torch.device("cuda:0")
    use_device(device)
    set_deterministic_numerics()  # as a session runs
    with tempfile.TemporaryDirectory(prefix="gpu-smoke-") as scratch:
        ctx = _Context(device, scratch, args.budget_s)
        for stage in selected:
            if ctx.left() < NEEDS_S[stage]:
                findings["stages"][stage] = {"status": "not run", "why": f"{ctx.left():.0f} s of the budget left"}
                _write(out, findings)
                continue
            print(f"gpu-smoke: {stage} ({ctx.left():.0f} s left)", flush=True)
            began = time.monotonic()
            try:
                result = {"status": "ran", **RUNNERS[stage](ctx)}
            except Exception as exc:  # noqa: BLE001 — a stage's failure is a finding; the next stage still runs
                result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:2000],
                          "traceback": traceback.format_exc()[-4000:]}
            result["seconds"] = round(time.monotonic() - began, 1)
            findings["stages"][stage] = result
            _write(out, findings)  # after every stage: a time limit keeps what ran
            with contextlib.suppress(Exception):
                torch.cuda.empty_cache()
    print(f"gpu-smoke: wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
