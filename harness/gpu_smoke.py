"""The GPU smoke check (``scripts/gpu-smoke``): in at most 7 minutes (``--budget-s``, default 420) on one GPU, with
synthetic data, what only a GPU can settle before the harness's first real GPU session (issue 23).

Stages, in order (``STAGES``):

1. ``environment``: the header a session on this GPU would write (torch, CUDA, cuDNN, driver, numerics).
2. ``pytest-gpu``: ``pytest -m gpu`` (tests/test_gpu.py) in a subprocess, every test's outcome (at most
   ``PYTEST_CAP_S``).
3. ``determinism``: report 002's 6-FC net and report 000's teachers (plain and batch-norm) trained twice, compared
   bit for bit, with ``cudnn.deterministic`` off and on; and, in a subprocess of its own, one step of each under
   ``torch.use_deterministic_algorithms(True, warn_only=True)``, naming the ops that have no deterministic kernel.
4. ``cpu-vs-cuda``: the same seeds (hence the same batches) on both devices: fp64 equal to round-off; the fp32
   drift of the chaotic 6-FC momentum-0.9 net after 10, 100 and 1000 steps.
5. ``precision``: each model in each precision mode: finite or not, the dtype autocast really computes the logits
   in; the pure-fp16 Adam student's first non-finite step and tensor on both devices.
6. ``host-syncs``: synchronizing CUDA calls a training step makes (``torch.cuda.set_sync_debug_mode``).
7. ``oom``: a real CUDA out-of-memory error under the plugin (the pytest-gpu stage's test, run alone if the
   pytest-gpu stage did not reach it and more than ``OOM_RERUN_NEEDS_S`` are left).
8. ``step-times``: ms a member-step of each report's model as the engine trains it, and a projection of one
   full-profile run of 5 seeds from the catalog's budgets.

What a device call of a few minutes needs (the device tool returns what is under $OUT and the last 12,000
characters of output, also when the call is killed at its limit):

- Before each stage its JSON entry says ``{"status": "running"}``, and in-process stages rewrite it after each of
  their units, so a hang shows where it stopped; each stage prints one short result line when it ends.
- Each stage has a time limit (``CAP_S``, less where later stages need their minimum ``NEEDS_S``): in-process
  stages stop after the unit that passes it (status ``cut``, what ran kept); subprocesses run in a session of
  their own with their output in a log file, and past their limit their whole process group gets SIGTERM (pytest
  and the harness plugin then end as on Ctrl-C: summary and junit written), then SIGKILL. A SIGTERM to this
  script (``timeout``) kills those groups too, so that no nested pytest is left running on the GPU.
- The pytest logs (``pytest-gpu.log``, ``oom.log``) lie beside the JSON file.

Without CUDA (or with ``--dry-run``) it says so, writes the stage list with each stage's status, and exits 0. A
hidden ``--device cpu --quick`` runs every in-process stage on the CPU with a twentieth of the steps and batches of
at most 4 (subprocess stages skipped), so that tests/test_device_paths.py can check each stage's code before it
costs device time.
Nothing here changes what a claim trains; it only runs the engine and compares.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
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
SUBPROCESS_STAGES = ("pytest-gpu", "oom")  # skipped by --quick
BUDGET_S = 420  # the whole check's time: a device call of `timeout -k 10 540` leaves two minutes for start and ends
PYTEST_CAP_S = 200
OOM_RERUN_NEEDS_S = 90
# Seconds a stage may take at most; an in-process stage stops after the unit that passes it.
CAP_S = {"environment": 30, "pytest-gpu": PYTEST_CAP_S, "determinism": 75, "cpu-vs-cuda": 60, "precision": 60,
         "host-syncs": 40, "oom": 80, "step-times": 60}
# Seconds a stage needs at least (estimates on an H200-class GPU): it is not started with less left, and earlier
# stages leave this much for each later one (not for oom, which runs only when the time is there).
NEEDS_S = {"environment": 5, "pytest-gpu": 60, "determinism": 30, "cpu-vs-cuda": 30, "precision": 30,
           "host-syncs": 15, "oom": OOM_RERUN_NEEDS_S, "step-times": 30}
GRACE_S = 15  # between SIGTERM and SIGKILL to a subprocess's group
OOM_TEST = "test_a_real_cuda_out_of_memory_under_the_plugin_records_not_run_and_frees"
NO_CUDA = "no CUDA device here (torch.cuda.is_available() is False): nothing to settle; run it on a machine with one"
QUICK_SKIP = "--quick: subprocess stages are not run"
REPORT_MODELS = ("r002 CNN 3 FC", "r002 CNN 6 FC", "r000 teacher", "r000 student")
DETERMINISM_MODELS = ("r002 CNN 6 FC", "r000 teacher", "r000 batch-norm teacher")
# Read by cuBLAS when it makes its workspace, so it must be in the environment before CUDA initializes; only the
# determinism stage's subprocess gets it (see _run_deterministic_algorithms).
CUBLAS_WORKSPACE_CONFIG = ":4096:8"
OUTCOMES = ("PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL", "XPASS")


def _models():
    """name: (model_fn, image size, the report's batch, optimizer settings, catalog file)."""
    from .models import CifarCNN, student, teacher

    sgd = dict(optimizer="sgd", lr=0.01, momentum=0.9)
    adam = dict(optimizer="adam", lr=1e-3)
    return {"r002 CNN 3 FC": (lambda: CifarCNN(3, "tanh"), 32, 4, sgd, "r002"),
            "r002 CNN 6 FC": (lambda: CifarCNN(6, "tanh"), 32, 4, sgd, "r002"),
            "r000 teacher": (teacher, 64, 64, adam, "r000"),
            "r000 batch-norm teacher": (lambda: teacher(batch_norm=True), 64, 64, adam, "r000"),
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


_SAME_WIDTH_INT = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(t: torch.Tensor) -> torch.Tensor:
    """``t``'s bit patterns as integers of its width (NaN equals NaN of the same payload; -0.0 is not 0.0)."""
    t = t.detach().cpu().contiguous()
    return t if t.dtype == torch.bool else t.view(_SAME_WIDTH_INT[t.element_size()])


def _max_diff(a, b) -> dict:
    """Two ensembles' parameters and buffers compared: bit for bit, and the largest absolute and relative
    difference where neither value is NaN (NaN is not ordered: ``max(0, nan)`` is 0); NaNs are counted apart."""
    sa, sb = a.state_dict(), b.state_dict()
    equal = list(sa) == list(sb)
    worst_abs, worst_rel, any_nan, nan_mismatches = 0.0, 0.0, False, 0
    for x, y in zip(sa.values(), sb.values()):
        same_kind = x.shape == y.shape and x.dtype == y.dtype
        equal = equal and same_kind and torch.equal(_bits(x), _bits(y))
        if x.shape != y.shape:
            continue
        x, y = x.detach().cpu().double(), y.detach().cpu().double()
        nan_x, nan_y = torch.isnan(x), torch.isnan(y)
        any_nan = any_nan or bool(nan_x.any() or nan_y.any())
        nan_mismatches += int((nan_x != nan_y).sum())
        both = ~(nan_x | nan_y)
        x, y = x[both], y[both]
        diff = torch.where(x == y, torch.zeros_like(x), (x - y).abs())  # inf == inf: no difference (inf - inf is NaN)
        rel = torch.nan_to_num(torch.where(diff == 0, torch.zeros_like(x), diff / y.abs().clamp_min(1e-30)),
                               nan=float("inf"))  # inf / inf
        if diff.numel():
            worst_abs, worst_rel = max(worst_abs, float(diff.max())), max(worst_rel, float(rel.max()))
    return {"bitwise_equal": bool(equal), "max_abs": worst_abs, "max_rel": worst_rel, "any_nan": any_nan,
            "nan_mismatches": nan_mismatches}


class _Cut(Exception):
    """A stage passed its time limit: it stops, keeping what it ran."""


class _Stopped(BaseException):
    """This script got a stop signal (``timeout``'s SIGTERM, Ctrl-C): no stage catches it."""


_GROUPS: set[int] = set()  # process groups of the subprocesses running now


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group_gone(pgid: int, at_most_s: float = 3.0) -> None:
    """Until no process of the group is left (zombies nobody reaps count: hence the limit)."""
    end = time.monotonic() + at_most_s
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def _run_logged(cmd: list[str], log: Path, timeout_s: float, env: dict | None = None) -> dict:
    """``cmd`` in a session of its own, stdout and stderr into ``log`` (kept whatever happens). Past ``timeout_s``
    its whole process group (a nested pytest included) gets SIGTERM, then SIGKILL after ``GRACE_S``; whatever is
    left in the group when the leader ends is killed too."""
    began, timed_out = time.monotonic(), False
    with open(log, "wb") as sink:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env)
        _GROUPS.add(proc.pid)
        try:
            try:
                proc.wait(timeout=max(1.0, timeout_s))
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid, signal.SIGTERM)  # pytest + the harness plugin: ends as on Ctrl-C, summary written
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=GRACE_S)
        finally:
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
            _wait_group_gone(proc.pid)  # a killed nested pytest's GPU memory is back before the next stage
            _GROUPS.discard(proc.pid)
    return {"returncode": proc.returncode, "timed_out": timed_out, "timeout_s": round(timeout_s, 1),
            "subprocess_s": round(time.monotonic() - began, 1)}


_VERBOSE = re.compile(r"^(?P<id>\S+?::.*?) (?P<outcome>" + "|".join(OUTCOMES) + r")\b")
_SUMMARY = re.compile(r"^(?P<outcome>" + "|".join(OUTCOMES) + r") ")
_STARTED = re.compile(r"^(?P<id>\S+?::\S.*?) *$")


def _pytest_log(path: Path, tail_chars: int = 3000) -> dict:
    """What a ``pytest -v -rA`` log says, finished or not: each test's outcome as its line shows it, the summary's
    outcome lines, the test still running when the log ends (-v writes a test's id before running it), the tail."""
    text = path.read_text(errors="replace") if path.exists() else ""
    lines = text.splitlines()
    outcomes, summary = {}, []
    for line in lines:
        if m := _VERBOSE.match(line):
            outcomes[m["id"].rsplit("::", 1)[-1]] = m["outcome"].lower()
        if _SUMMARY.match(line) or _VERBOSE.match(line):
            summary.append(line[:300])
    last = next((line for line in reversed(lines) if line.strip()), "")
    running = m["id"] if (m := _STARTED.match(last)) and not _VERBOSE.match(last) else None
    return {"outcomes": outcomes, "outcome_lines": summary[-400:], "running_when_log_ends": running,
            "tail": text[-tail_chars:]}


def _junit(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return {}
    out = {}
    for case in root.iter("testcase"):
        problem = next((c for c in case if c.tag in ("failure", "error", "skipped")), None)
        outcome = "passed" if problem is None else ("skipped" if problem.tag == "skipped" else "failed")
        out[case.get("name")] = {"outcome": outcome,
                                 "message": "" if problem is None else (problem.get("message") or "")[:500]}
    return out


def _pytest_cmd(ctx, name: str, *targets: str, marks: tuple[str, ...] = ()) -> list[str]:
    # -v: each test's id when it starts and its outcome when it ends, so a cut or a hang shows how far it got;
    # -rA: the outcome lines at the end (written on SIGTERM too).
    return [sys.executable, "-m", "pytest", *marks, "-n", "0", "-v", "-rA", "-p", "no:cacheprovider", "--no-cache",
            "--profile", "smoke", f"--device={ctx.device}", f"--results-dir={Path(ctx.scratch) / (name + '-results')}",
            f"--junitxml={Path(ctx.scratch) / (name + '.xml')}", *targets]


def _outcomes(ctx, name: str) -> tuple[dict, dict]:
    """(junit's cases, or the log's where junit was not written; what the log says)."""
    log = _pytest_log(ctx.logs / f"{name}.log")
    tests = _junit(Path(ctx.scratch) / f"{name}.xml") or {k: {"outcome": v, "message": "from the log"}
                                                          for k, v in log["outcomes"].items()}
    return tests, log


def stage_environment(ctx, out: dict) -> None:
    from .numerics import numerics_state
    from .report.environment import environment

    cuda = ctx.device.type == "cuda"
    out.update({"header": environment("full", ctx.device, ROOT), "numerics": numerics_state(),
                "gpus": torch.cuda.device_count() if cuda else 0,
                "bf16_supported": torch.cuda.is_bf16_supported() if cuda else None})


def stage_pytest_gpu(ctx, out: dict) -> None:
    ran = _run_logged(_pytest_cmd(ctx, "pytest-gpu", "tests/test_gpu.py", marks=("-m", "gpu")),
                      ctx.logs / "pytest-gpu.log", min(PYTEST_CAP_S, ctx.stage_left()))
    tests, log = _outcomes(ctx, "pytest-gpu")
    ctx.junit = tests
    status = "timed out" if ran["timed_out"] else ("ok" if ran["returncode"] in (0, 1) else "error")
    out.update({"status": status, **ran, "log": str(ctx.logs / "pytest-gpu.log"),
                "passed": sum(t["outcome"] == "passed" for t in tests.values()),
                "failed": {k: v["message"] for k, v in tests.items() if v["outcome"] == "failed"},
                "skipped": {k: v["message"] for k, v in tests.items() if v["outcome"] == "skipped"},
                "running_when_log_ends": log["running_when_log_ends"] if ran["timed_out"] else None,
                "outcome_lines": log["outcome_lines"], "tail": log["tail"]})


def stage_determinism(ctx, out: dict) -> None:
    from .train import train

    out["deterministic_algorithms"] = _run_deterministic_algorithms(ctx)
    ctx.tick()
    # A CPU has no cuDNN: the switch changes nothing there, so --device cpu compares once.
    switches = (False, True) if ctx.device.type == "cuda" else (True,)
    try:
        for deterministic in switches:
            torch.backends.cudnn.deterministic = deterministic
            for name in DETERMINISM_MODELS:
                model_fn, size, batch, opt, _ = ctx.models[name]
                batch, steps = ctx.batch(batch), ctx.steps(50 if size == 32 else 10)
                data = _data(size, batch * steps, ctx.device)
                runs = [train(model_fn, [0, 1], data, None, _cfg(batch, steps, **opt)) for _ in range(2)]
                out[f"{name}, cudnn.deterministic={deterministic}"] = {"steps": steps, "batch": batch,
                                                                      **_max_diff(runs[0].model, runs[1].model)}
                ctx.tick()
    finally:
        torch.backends.cudnn.deterministic = True  # the harness's setting (harness.numerics)


def _run_deterministic_algorithms(ctx) -> dict:
    """One step of each DETERMINISM_MODELS model under ``torch.use_deterministic_algorithms(True, warn_only=True)``,
    in a subprocess: CUBLAS_WORKSPACE_CONFIG must be set before CUDA initializes, and both it and the
    deterministic-algorithms switch are process-wide; set at this script's start they would change the cuBLAS
    workspace (and the kernels) every other stage runs with and the pytest subprocesses inherit, which a harness
    session does not set. The subprocess costs one CUDA start."""
    found, log = Path(ctx.scratch) / "deterministic-algorithms.json", Path(ctx.scratch) / "deterministic-algorithms.log"
    cmd = [sys.executable, "-m", "harness.gpu_smoke", "--deterministic-algorithms-child", str(found),
           "--device", ctx.device.type, *(["--quick"] if ctx.quick else [])]
    env = {**os.environ, "CUBLAS_WORKSPACE_CONFIG": CUBLAS_WORKSPACE_CONFIG,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    ran = _run_logged(cmd, log, min(90, max(20, ctx.stage_left() - 20)), env=env)
    result = json.loads(found.read_text()) if found.exists() else {}
    if ran["returncode"] != 0 or not result:
        result["tail"] = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    return {**ran, **result}


def _deterministic_algorithms_child(path: Path, device: torch.device, quick: bool) -> int:
    from .numerics import set_deterministic_numerics
    from .train import train

    found = {"CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
             "cuda_initialized_at_start": torch.cuda.is_initialized(), "models": {}}
    set_deterministic_numerics()
    torch.use_deterministic_algorithms(True, warn_only=True)
    models = _models()
    for name in DETERMINISM_MODELS:
        model_fn, size, batch, opt, _ = models[name]
        batch = min(batch, 4) if quick else batch
        entry: dict = {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = train(model_fn, [0, 1], _data(size, batch, device), None, _cfg(batch, 1, **opt))
                entry["train_loss"] = [float(v) for v in result.history["train_loss"][:, 0]]
            except Exception as exc:  # noqa: BLE001 — a finding
                entry["error"] = f"{type(exc).__name__}: {exc}"[:1000]
        messages = sorted({str(w.message).splitlines()[0][:300] for w in caught})
        entry["nondeterministic_ops"] = sorted({m.split(" does not have a deterministic implementation")[0]
                                                for m in messages if "does not have a deterministic" in m})
        entry["warnings"] = messages[:20]
        found["models"][name] = entry
        _write(path, found)
    _write(path, found)
    return 0


def stage_cpu_vs_cuda(ctx, out: dict) -> None:
    from .train import train

    out.update({"fp64": {}, "fp32 drift, r002 CNN 6 FC, SGD momentum 0.9": {}})
    for name in REPORT_MODELS:
        model_fn, size, batch, opt, _ = ctx.models[name]
        batch, steps = ctx.batch(batch), ctx.steps(20 if size == 32 else 3)
        runs = [train(model_fn, [0], _data(size, batch * steps, d), None, _cfg(batch, steps, precision="fp64", **opt))
                for d in ("cpu", ctx.device)]
        out["fp64"][name] = {"steps": steps, **_max_diff(runs[0].model, runs[1].model),
                             "train_loss": [float(r.history["train_loss"][0, 0]) for r in runs]}
        ctx.tick()
    model_fn, size, batch, opt, _ = ctx.models["r002 CNN 6 FC"]
    for steps in (ctx.steps(10), ctx.steps(100), ctx.steps(1000)):
        runs = [train(model_fn, [0], _data(size, batch * steps, d), None, _cfg(batch, steps, **opt))
                for d in ("cpu", ctx.device)]
        out["fp32 drift, r002 CNN 6 FC, SGD momentum 0.9"][str(steps)] = {
            **_max_diff(runs[0].model, runs[1].model),
            "train_loss cpu, cuda": [float(r.history["train_loss"][0, 0]) for r in runs]}
        ctx.tick()


def stage_precision(ctx, out: dict) -> None:
    from .train import Ensemble, build_members, precision, train

    out.update({"modes": {}, "pure fp16 Adam student, first non-finite": {}})
    for name in REPORT_MODELS:
        model_fn, size, batch, opt, _ = ctx.models[name]
        batch, steps = ctx.batch(batch), ctx.steps(5)
        data = _data(size, batch * steps, ctx.device)
        for mode in ("fp32", "fp16", "fp16-amp", "bf16-amp"):
            result = train(model_fn, [0, 1], data, None,
                           _cfg(batch, steps, precision=mode, watch_nonfinite=True, **opt))
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
            ctx.tick()
    model_fn, size, batch, opt, _ = ctx.models["r000 student"]
    batch = ctx.batch(batch)
    # Pure fp16 convolutions are slow on a CPU: fewer steps there. (With --device cpu both runs are the CPU's.)
    for key, device, steps in ((str(ctx.device), ctx.device, ctx.steps(50)), ("cpu, 4 steps", "cpu", ctx.steps(4))):
        result = train(model_fn, [0], _data(size, batch * steps, device), None,
                       _cfg(batch, steps, precision="fp16", watch_nonfinite=True, **opt))
        out["pure fp16 Adam student, first non-finite"][key] = {"steps_run": steps, **result.nonfinite[0]}
        ctx.tick()


def _is_sync(w: warnings.WarningMessage) -> bool:
    """A warning of ``set_sync_debug_mode('warn')`` ("called a synchronizing CUDA operation"), not any other."""
    return "synchroniz" in str(w.message).lower()


@contextlib.contextmanager
def _sync_warnings(device: torch.device):
    """Every warning raised inside, with CUDA's synchronizing calls warned of (on CUDA only: a CPU has none)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        try:
            yield caught
        finally:
            if device.type == "cuda":
                torch.cuda.set_sync_debug_mode("default")


def _sync_findings(caught) -> dict:
    syncs = [w for w in caught if _is_sync(w)]
    return {"syncs": len(syncs), "other_warnings": len(caught) - len(syncs),
            "messages": sorted({str(w.message).splitlines()[0][:200] for w in syncs})[:5],
            "other_messages": sorted({str(w.message).splitlines()[0][:200] for w in caught if not _is_sync(w)})[:3]}


def stage_host_syncs(ctx, out: dict) -> None:
    from .train import train, train_together, with_overrides

    steps = max(4, ctx.steps(20))
    out["sync_debug_mode"] = "warn" if ctx.device.type == "cuda" else "none on a CPU: nothing to count"

    def count(run) -> dict:
        marks: list[int] = []
        with _sync_warnings(ctx.device) as caught:
            run(lambda step, members: marks.append(sum(map(_is_sync, caught))))
        # Between the end of step 2 and the end of the last step: steady steps, no epoch-end reads.
        inside = marks[-1] - marks[1] if len(marks) > 2 else None
        return {"syncs_per_step": None if inside is None else inside / (len(marks) - 2), **_sync_findings(caught)}

    for name in REPORT_MODELS:
        model_fn, size, batch, opt, _ = ctx.models[name]
        batch = ctx.batch(batch)
        data = _data(size, batch * steps, ctx.device)
        for watch in (False, True):
            cfg = _cfg(batch, steps, watch_nonfinite=watch, **opt)
            out[f"{name}, watch_nonfinite={watch}"] = count(
                lambda on_step: train(model_fn, [0, 1], data, None, cfg, on_step=on_step))
            ctx.tick()
    model_fn, size, batch, opt, _ = ctx.models["r002 CNN 3 FC"]
    data = _data(size, batch * steps, ctx.device)
    base = _cfg(batch, steps, **opt)
    runs = [([0, 1], with_overrides(base, momentum=m)) for m in (0.0, 0.9)]
    # train_together takes no on_step: count over the whole run, per step.
    with _sync_warnings(ctx.device) as caught:
        train_together(model_fn, runs, data, None)
    found = _sync_findings(caught)
    out["r002 CNN 3 FC, PerMemberSGD (train_together), whole run"] = {"syncs_per_step": found["syncs"] / steps,
                                                                      **found}


def stage_oom(ctx, out: dict) -> None:
    if OOM_TEST in ctx.junit:
        out.update({"from": "pytest-gpu stage", **ctx.junit[OOM_TEST]})
        return
    if ctx.left() <= OOM_RERUN_NEEDS_S:
        out.update({"status": "not run", "why": f"not reached by pytest-gpu, and {ctx.left():.0f} s left "
                                                f"(runs alone with more than {OOM_RERUN_NEEDS_S} s)"})
        return
    ran = _run_logged(_pytest_cmd(ctx, "oom", f"tests/test_gpu.py::{OOM_TEST}"), ctx.logs / "oom.log",
                      ctx.stage_left())
    tests, log = _outcomes(ctx, "oom")
    status = "timed out" if ran["timed_out"] else ("ok" if ran["returncode"] in (0, 1) else "error")
    out.update({"status": status, "from": "run alone", **ran, "log": str(ctx.logs / "oom.log"),
                **tests.get(OOM_TEST, {"outcome": "not run"}), "outcome_lines": log["outcome_lines"],
                "tail": log["tail"] if ran["returncode"] else ""})


def _full_member_steps(catalog_file: str, batch: int) -> dict:
    """Member-steps of one full-profile run of 5 seeds: the report folder's default epochs over the whole train
    split (``catalog_file`` names the folder: ``r002``)."""
    budget = tomllib.loads((ROOT / "suites" / catalog_file / "claims.toml").read_text())
    full = budget["defaults"]["budget"]["full"]
    images = {"r002": 50_000, "r000": 100_000}[catalog_file]
    per_epoch = -(-images // batch)
    out = {f"{full['epochs']} epochs": per_epoch * full["epochs"] * 5}
    if "longer_epochs" in full:
        out[f"{full['longer_epochs']} epochs (longer)"] = per_epoch * full["longer_epochs"] * 5
    return out


def stage_step_times(ctx, out: dict) -> None:
    from .timing import synchronize
    from .train import train

    for name in REPORT_MODELS:
        model_fn, size, batch, opt, catalog_file = ctx.models[name]
        batch, steps = ctx.batch(batch), ctx.steps(200 if size == 32 else 30)
        data = _data(size, batch * steps, ctx.device)
        cfg = _cfg(batch, steps, **opt)
        train(model_fn, list(range(5)), data, None, _cfg(batch, ctx.steps(5), **opt))  # warm-up: kernels, caches
        synchronize(ctx.device)
        result = train(model_fn, list(range(5)), data, None, cfg)  # 5 seeds at once, as the full profile trains
        per_member_step = result.seconds / steps / 5
        out[name] = {"batch": batch, "steps": steps, "members": 5, "ms_per_step": 1e3 * result.seconds / steps,
                     "ms_per_member_step": 1e3 * per_member_step,
                     "full-profile run of 5 seeds, hours": {k: v * per_member_step / 3600 for k, v in
                                                            _full_member_steps(catalog_file, batch).items()}}
        ctx.tick()


class _Context:
    def __init__(self, device, scratch: str, budget_s: float, out: Path, findings: dict, quick: bool = False):
        self.device = device
        self.scratch = scratch
        self.logs = out.parent  # the pytest logs lie beside the JSON file (they come back from $OUT)
        self.out, self.findings = out, findings
        self.quick = quick
        self.started = time.monotonic()
        self.budget_s = budget_s
        self.junit: dict = {}
        self.models = _models()
        self.stage, self.partial, self.deadline = None, {}, float("inf")

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.started)

    def stage_left(self) -> float:
        return self.deadline - time.monotonic()

    def steps(self, n: int) -> int:
        return max(1, n // 20) if self.quick else n

    def batch(self, n: int) -> int:
        return min(n, 4) if self.quick else n

    def begin(self, stage: str, later: list[str]) -> float:
        """Start ``stage``: its time limit, less what the later stages need at least (oom's rerun excepted)."""
        reserve = sum(NEEDS_S[s] for s in later if s != "oom")
        limit = min(CAP_S[stage], max(NEEDS_S[stage], self.left() - reserve), self.left())
        self.stage, self.partial, self.deadline = stage, {}, time.monotonic() + limit
        self.findings["stages"][stage] = {"status": "running", "at_s": round(self.budget_s - self.left(), 1),
                                          "limit_s": round(limit, 1)}
        _write(self.out, self.findings)
        return limit

    def tick(self) -> None:
        """After a stage's unit: its findings so far written (status still running); past its limit it stops."""
        self.findings["stages"][self.stage] = {**self.findings["stages"][self.stage], **self.partial,
                                               "status": "running"}
        _write(self.out, self.findings)
        if self.stage_left() < 0:
            raise _Cut(f"past its {CAP_S[self.stage]} s limit (or what the later stages needed): stopped there")


RUNNERS = {"environment": stage_environment, "pytest-gpu": stage_pytest_gpu, "determinism": stage_determinism,
           "cpu-vs-cuda": stage_cpu_vs_cuda, "precision": stage_precision, "host-syncs": stage_host_syncs,
           "oom": stage_oom, "step-times": stage_step_times}


def _write(path: Path, findings: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(findings, indent=1, default=str))
    tmp.replace(path)


def _fmt(x) -> str:
    return "?" if x is None else (f"{x:.2g}" if isinstance(x, float) else str(x))


def _headline(stage: str, r: dict) -> str:
    """One short line of a stage's findings, for the output's tail (the JSON may not come back)."""
    if stage == "environment":
        h = r["header"]
        return f"{h.get('device')}, torch {h.get('torch')}, CUDA {h.get('cuda')}, cuDNN {h.get('cudnn', '-')}"
    if stage in ("pytest-gpu", "oom") and "passed" in r:
        return (f"{r['passed']} passed, {len(r['failed'])} failed {sorted(r['failed'])[:3]}, {len(r['skipped'])} "
                f"skipped, rc {r.get('returncode')}" + (f", cut in {r['running_when_log_ends']}"
                                                        if r.get("running_when_log_ends") else ""))
    if stage == "oom":
        return f"{r.get('from')}: {r.get('outcome', r.get('why'))} {r.get('message', '')[:100]}"
    if stage == "determinism":
        ops = {op for m in r.get("deterministic_algorithms", {}).get("models", {}).values()
               for op in m.get("nondeterministic_ops", [])}
        pairs = [f"{k.replace('cudnn.deterministic=', 'det=')}: "
                 + ("=" if v["bitwise_equal"] else f"≠ {_fmt(v['max_abs'])}") for k, v in r.items()
                 if isinstance(v, dict) and "bitwise_equal" in v]
        return "; ".join(pairs) + f"; no deterministic kernel: {sorted(ops) or 'none'}"
    if stage == "cpu-vs-cuda":
        fp64 = ", ".join(f"{k} {_fmt(v['max_abs'])}" for k, v in r.get("fp64", {}).items())
        drift = ", ".join(f"{k} steps {_fmt(v['max_abs'])}"
                          for k, v in r.get("fp32 drift, r002 CNN 6 FC, SGD momentum 0.9", {}).items())
        return f"fp64 max_abs: {fp64}; fp32 drift: {drift}"
    if stage == "precision":
        bad = [k for k, v in r.get("modes", {}).items() if not v["finite"]]
        first = {k: v.get("step") for k, v in r.get("pure fp16 Adam student, first non-finite", {}).items()}
        return f"non-finite: {bad or 'none'}; pure fp16 student's first non-finite step: {first}"
    if stage == "host-syncs":
        return ", ".join(f"{k.replace('watch_nonfinite=', 'w=')} {_fmt(v['syncs_per_step'])}" for k, v in r.items()
                         if isinstance(v, dict) and "syncs_per_step" in v)
    if stage == "step-times":
        return ", ".join(f"{k} {_fmt(v['ms_per_member_step'])} ms/member-step" for k, v in r.items()
                         if isinstance(v, dict) and "ms_per_member_step" in v)
    return ""


def _line(stage: str, result: dict) -> str:
    try:
        if "error" in result:
            what = result["error"]
        elif result["status"] in ("skipped", "not run", "stopped"):
            what = result.get("why", "")
        else:  # ok, cut, timed out, or a pytest that ended in a usage or internal error
            what = _headline(stage, result) + (f" ({result['why']})" if "why" in result else "")
    except Exception as exc:  # noqa: BLE001 — a line must never cost the stage
        what = f"(no summary: {type(exc).__name__}: {exc})"
    seconds = f" in {result['seconds']} s" if "seconds" in result else ""
    return f"gpu-smoke: {stage} {result['status']}{seconds}: {what}"[:600]


def _on_stop(signum, frame):
    for pgid in list(_GROUPS):  # before anything else: no nested pytest left running on the GPU
        _kill_group(pgid, signal.SIGKILL)
    raise _Stopped(signum)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gpu-smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None,
                        help="the findings' JSON file (default: $OUT/gpu-smoke.json where $OUT is set, else "
                             "gpu-smoke.json here); the pytest logs are written beside it")
    parser.add_argument("--dry-run", action="store_true", help="list the stages and write them as planned; run none")
    parser.add_argument("--only", nargs="+", choices=STAGES, help="run these stages only")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S, help=f"the whole check's time (default {BUDGET_S})")
    # Hidden: the stages' code on a CPU (tests/test_device_paths.py), and the determinism stage's subprocess.
    parser.add_argument("--device", choices=("cuda", "cpu"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--deterministic-algorithms-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        # As the harness's test sessions run (--cpu-threads 1): a CPU shared with other tests loses minutes to
        # oversubscribed threads (a quick run's 20 s became 130 s with two threads on two busy cores).
        torch.set_num_threads(1)
    if args.deterministic_algorithms_child:
        device = torch.device("cuda:0" if (args.device or "cuda") == "cuda" else "cpu")
        return _deterministic_algorithms_child(Path(args.deterministic_algorithms_child), device, args.quick)
    out = Path(args.out or (Path(os.environ["OUT"]) / "gpu-smoke.json" if os.environ.get("OUT") else "gpu-smoke.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    selected = [s for s in STAGES if args.only is None or s in args.only]
    cuda = torch.cuda.is_available()
    mode = "dry-run" if args.dry_run else ("cpu" if args.device == "cpu" else ("gpu" if cuda else "no-cuda"))
    findings = {"mode": mode, "quick": args.quick, "budget_s": args.budget_s, "stages_planned": selected,
                "torch": torch.__version__, "cuda_build": torch.version.cuda, "stages": {}}
    if mode in ("dry-run", "no-cuda"):
        why = "dry run: nothing run" if args.dry_run else NO_CUDA
        print(f"gpu-smoke: {why}", flush=True)
        for stage in selected:
            findings["stages"][stage] = {"status": "skipped", "why": why}
            print(f"  {stage}: skipped", flush=True)
        _write(out, findings)
        print(f"gpu-smoke: wrote {out}", flush=True)
        return 0

    from .numerics import set_deterministic_numerics
    from .plugin.settings import use_device

    device = torch.device("cuda:0" if mode == "gpu" else "cpu")
    use_device(device)
    set_deterministic_numerics()  # as a session runs
    stops = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, _on_stop) for sig in stops}
    code = 0
    try:
        with tempfile.TemporaryDirectory(prefix="gpu-smoke-") as scratch:
            ctx = _Context(device, scratch, args.budget_s, out, findings, quick=args.quick)
            for i, stage in enumerate(selected):
                if code:
                    result = {"status": "not run", "why": "the check was stopped by a signal"}
                elif args.quick and stage in SUBPROCESS_STAGES:
                    result = {"status": "skipped", "why": QUICK_SKIP}
                elif ctx.left() < NEEDS_S[stage]:
                    result = {"status": "not run", "why": f"{ctx.left():.0f} s of the budget left"}
                else:
                    limit = ctx.begin(stage, selected[i + 1:])
                    print(f"gpu-smoke: {stage} started ({ctx.left():.0f} s left, at most {limit:.0f} s)", flush=True)
                    began = time.monotonic()
                    try:
                        RUNNERS[stage](ctx, ctx.partial)
                        result = {"status": "ok", **ctx.partial}
                    except _Cut as cut:
                        result = {**ctx.partial, "status": "cut", "why": str(cut)}
                    except _Stopped as stop:
                        code = 128 + stop.args[0]
                        result = {**ctx.partial, "status": "stopped",
                                  "why": f"signal {signal.Signals(stop.args[0]).name} during this stage"}
                    except Exception as exc:  # noqa: BLE001 — a stage's failure is a finding; the next stage runs
                        result = {**ctx.partial, "status": "error", "error": f"{type(exc).__name__}: {exc}"[:2000],
                                  "traceback": traceback.format_exc()[-4000:]}
                    result["seconds"] = round(time.monotonic() - began, 1)
                findings["stages"][stage] = result
                _write(out, findings)  # after every stage: a time limit keeps what ran
                print(_line(stage, result), flush=True)
                with contextlib.suppress(Exception):
                    if device.type == "cuda":
                        torch.cuda.empty_cache()
    except _Stopped as stop:  # between stages
        code = 128 + stop.args[0]
        _write(out, findings)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(f"gpu-smoke: wrote {out}" + (f" (stopped by a signal: exit {code})" if code else ""), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
