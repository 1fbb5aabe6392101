"""The GPU code paths that can be checked without a GPU (issue 23, items 3 to 6): the numerics set once and recorded,
the current CUDA device set, memory released after an out-of-memory error, steps timed without a host sync.

What only a GPU can settle is in tests/test_gpu.py (``pytest -m gpu``) and scripts/gpu-smoke.
"""

from __future__ import annotations

import gc
import json
import subprocess
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch

from harness import numerics
from harness.claims import catalog
from harness.data import DeviceData
from harness.device_memory import empty_cache, free_after_out_of_memory, release_exception
from harness.plugin.settings import use_device
from harness.report import environment as header_of
from harness.report.environment import cuda_versions
from harness.timing import StepClock

from .test_faults import session_beside_conv_shape
from .test_session import _harness

ROOT = Path(__file__).resolve().parents[1]


# Item 3: determinism set once, recorded, never changed by a test.

def test_the_session_runs_with_cudnn_deterministic_and_the_header_says_so():
    numerics.set_deterministic_numerics()  # what the plugin's configure did for this session
    state = header_of("smoke", "cpu")["numerics"]
    assert state["cudnn_deterministic"] is True and state["cudnn_benchmark"] is False
    assert state["tf32_matmul"] is False and state["tf32_cudnn"] is False
    assert {"fp16_reduced_precision_reduction", "bf16_reduced_precision_reduction"} <= set(state)


def test_no_gpu_test_changes_the_numerics_settings():
    source = (ROOT / "tests" / "test_gpu.py").read_text()
    for switch in ("cudnn.deterministic =", "cudnn.benchmark =", "allow_tf32 =", "reduced_precision_reduction ="):
        assert switch not in source, f"tests/test_gpu.py sets {switch!r}: a global that leaks into later tests"


def test_a_cuda_header_names_cudnn_and_the_driver(monkeypatch):
    assert cuda_versions("cpu") == {}  # a CPU's results depend on neither
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "version", lambda: 91002)
    monkeypatch.setattr(torch._C, "_cuda_getDriverVersion", lambda: 12080, raising=False)

    class Smi:
        returncode, stdout = 0, "570.124.06\n"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: Smi())
    assert cuda_versions("cuda:0") == {"cudnn": "91002", "cuda_driver_api": "12.8", "driver": "570.124.06"}

    from harness.report.tables import _header

    env = {"profile": "full", "device": "GPU: x", "torch": "2", "cuda": "12.8", "python": "3.11", "commit": "abc",
           "date": "today", "cudnn": "91002", "driver": "570.124.06"}
    assert "- torch 2, CUDA 12.8, cuDNN 91002, driver 570.124.06, Python 3.11" in _header(env, [])


# Item 4: the worker's GPU is the current device.

def test_a_worker_on_cuda_k_makes_it_the_current_device(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "set_device", calls.append)
    use_device(torch.device("cuda:3"))
    use_device(torch.device("cuda"))  # the current device already
    use_device(torch.device("cpu"))
    assert calls == [3]


# Item 5: out of memory frees for real.

def _failing_step(held: dict) -> None:
    activations = torch.ones(1 << 18)  # what a failed step holds in its frame
    held["ref"] = weakref.ref(activations)
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_releasing_the_exception_frees_the_failed_frames_tensors():
    held: dict = {}
    try:
        try:
            _failing_step(held)
        except torch.OutOfMemoryError as exc:
            raise RuntimeError("wrapped") from exc  # the chain is released too
    except RuntimeError as exc:
        kept = exc
    gc.collect()
    assert held["ref"]() is not None  # the traceback keeps the frame, and the frame its tensors
    release_exception(kept)
    gc.collect()
    assert held["ref"]() is None
    assert str(kept) == "wrapped" and str(kept.__cause__).startswith("CUDA out of memory")  # the messages stay


def test_the_device_cache_is_emptied_on_cuda_only(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: calls.append("empty"))
    empty_cache(torch.device("cpu"))
    assert calls == []
    free_after_out_of_memory(RuntimeError("x"), torch.device("cuda:0"))
    assert calls == ["empty"]


OOM_FREES_TEST = '''
import weakref

import pytest
import torch
from harness.claims import catalog

HELD = {}


def _step():
    activations = torch.ones(1 << 18)
    HELD["ref"] = weakref.ref(activations)
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@pytest.fixture
def released_by_teardown():
    yield
    # The failed test's teardown: pytest still holds its exception (sys.last_value) until the next test starts,
    # and the device's cache was emptied before this; what the failed step held must be gone by then.
    HELD["released"] = HELD["ref"]() is None


def test_runs_out_of_memory(harness, released_by_teardown):
    claim = catalog.get("r000.regularized_cost")
    harness.start(claim.id, claim.reading("literal"))
    _step()


def test_the_failed_step_s_tensors_were_released_before_its_teardown():
    assert HELD["released"], "the out-of-memory step's tensors were still referenced after the plugin freed memory"
'''


def test_after_out_of_memory_under_the_plugin_the_failed_steps_memory_is_released(tmp_path):
    done, records = session_beside_conv_shape(tmp_path, "test_oom_frees.py", OOM_FREES_TEST)
    assert "1 failed, 2 passed" in done.stdout, done.stdout + done.stderr
    assert records["r000.regularized_cost__literal"]["verdict"] == "NOT RUN"


def test_device_data_permutes_on_the_host_and_uploads_once(monkeypatch):
    uploaded = []
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        if self.dtype == torch.uint8:
            uploaded.append((tuple(self.shape), self.is_contiguous()))
        return original(self, *args, **kwargs)
    monkeypatch.setattr(torch.Tensor, "to", to)
    DeviceData((np.zeros((5, 4, 6, 3), np.uint8), np.arange(5)), "cpu", (0.5,) * 3, (0.5,) * 3)
    assert uploaded == [((5, 3, 4, 6), True)]  # NCHW already: the device never holds the NHWC copy


# Item 6: timing without a host sync per step.

class _FakeEvent:
    """A CUDA event's interface, with a clock that advances 10 ms a step."""

    now = 0.0
    waits = 0

    def __init__(self, enable_timing: bool):
        assert enable_timing

    def record(self, stream=None):
        type(self).now += 10.0
        self.at = type(self).now

    def synchronize(self):
        type(self).waits += 1

    def elapsed_time(self, end) -> float:
        return end.at - self.at


def test_the_budget_check_on_cuda_waits_for_the_device_once_a_run_not_once_a_step(tmp_path, monkeypatch):
    syncs = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: syncs.append(a))
    monkeypatch.setattr(torch.cuda, "Event", _FakeEvent)
    monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: None)
    harness = _harness(tmp_path, max_hours=1.0)
    harness.runs.device = torch.device("cuda:0")  # the session's one device: the run store times the steps on it
    claim = catalog.get("r000.teacher_train_acc")
    run = harness.start(claim.id, claim.reading("literal"))
    data = DeviceData((np.zeros((400, 2, 2, 3), np.uint8), np.arange(400) % 2), "cpu", (0.5,) * 3, (0.5,) * 3)
    from harness.train import TrainConfig

    cfg = TrainConfig(epochs=20000, batch_size=4)  # 6 M member-steps: 3.3 ms each is over the hour
    on_step = harness.runs._budget_check(run, {"model": "x"}, cfg, data)
    with pytest.raises(pytest.skip.Exception, match="over the time"):
        for step in range(1, 1000):
            on_step(step, 3)
    assert syncs == [] and _FakeEvent.waits <= 50  # no torch.cuda.synchronize; the events read once at the end
    record = json.loads(next((tmp_path / "results" / "records").glob("*.json")).read_text())
    assert "0.00333 s each" in record["notes"]  # 10 ms a step of 3 members: the events' time, not the host's


def test_the_cpu_clock_reads_the_host():
    clock = StepClock(torch.device("cpu"))
    a, b = clock.stamp(), clock.stamp()
    assert a.event is None and clock.seconds(a, b) == clock.host_seconds(a, b) >= 0


def test_per_member_sgd_decides_its_branches_once_not_per_step():
    """Its step asks no device tensor for a truth value (two host syncs a parameter a step on a GPU)."""
    from harness.train.per_member import PerMemberSGD

    p = torch.nn.Parameter(torch.ones(2, 3))
    opt = PerMemberSGD([p], lr=[0.1, 0.1], momentum=[0.0, 0.9], weight_decay=[0.0, 0.0])
    p.grad = torch.ones(2, 3)
    original = torch.Tensor.__bool__

    def no_bool(self):
        raise AssertionError("PerMemberSGD.step read a tensor's truth value (a host sync on a GPU)")
    torch.Tensor.__bool__ = no_bool
    try:
        opt.step()
        opt.step()
    finally:
        torch.Tensor.__bool__ = original
    torch.testing.assert_close(p.detach(), torch.tensor([[0.8] * 3, [1 - 0.1 - 0.19] * 3]))


# Item 9's dtype question on the CPU (tests/test_gpu.py asks it on CUDA).

def test_what_each_autocast_mode_computes_in_on_the_cpu():
    """A finding, pinned so that a torch release that changes it is noticed: on the CPU, autocast casts the
    vmapped TinyCNN's matrix products but not its convolutions (vmap's batching rule dispatches ``convolution``,
    which the CPU's autocast list lacks), so report 000's "-amp" runs on a CPU compute their convolutions in float32;
    the native CifarCNN ensemble's convolutions are cast."""
    from harness.models import CifarCNN, student
    from harness.train import Ensemble, build_members, precision

    for model_fn, size, conv in ((student, 64, "float32"), (lambda: CifarCNN(3, "tanh"), 32, "bfloat16")):
        model = Ensemble(build_members(model_fn, [0, 1])).train()
        x = torch.randn(2, 2, 3, size, size)

        def forward():
            with precision.autocast("bf16-amp", torch.device("cpu")):
                model(x)
        dtypes = precision.compute_dtypes(forward)
        assert dtypes["convolution"] == {conv}, dtypes
        assert {d for op, found in dtypes.items() if op != "convolution" for d in found} == {"bfloat16"}, dtypes


@pytest.mark.skipif(torch.cuda.is_available(), reason="this checks the no-CUDA path; on a CUDA machine run scripts/gpu-smoke, which runs every stage")
def test_gpu_smoke_without_cuda_says_so_lists_its_stages_and_exits_cleanly(tmp_path):
    from harness.gpu_smoke import STAGES

    for extra, mode in (([], "no-cuda"), (["--dry-run"], "dry-run")):
        out = tmp_path / f"{mode}.json"
        done = subprocess.run([str(ROOT / "scripts" / "gpu-smoke"), "--out", str(out), *extra], capture_output=True,
                              text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        findings = json.loads(out.read_text())
        assert findings["mode"] == mode and findings["stages_planned"] == list(STAGES)
        assert all(findings["stages"][s]["status"] == "skipped" for s in STAGES)
        assert ("no CUDA device here" if mode == "no-cuda" else "dry run") in done.stdout


# The GPU smoke check's own code, on the CPU: a typo must not cost a stage of a lent GPU's few minutes.

def test_gpu_smoke_runs_every_in_process_stage_on_the_cpu_with_quick(tmp_path):
    from harness.gpu_smoke import DETERMINISM_MODELS, QUICK_SKIP, STAGES, SUBPROCESS_STAGES

    out = tmp_path / "quick.json"
    done = subprocess.run([str(ROOT / "scripts" / "gpu-smoke"), "--device", "cpu", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    findings = json.loads(out.read_text())
    assert findings["mode"] == "cpu" and findings["quick"] is True
    for stage in STAGES:
        entry = findings["stages"][stage]
        if stage in SUBPROCESS_STAGES:
            assert entry == {"status": "skipped", "why": QUICK_SKIP}, (stage, entry)
        else:
            assert entry["status"] == "ok", (stage, entry.get("error"), entry.get("traceback"))
        assert f"gpu-smoke: {stage} {entry['status']}" in done.stdout  # one line a stage, as it ends
    determinism = findings["stages"]["determinism"]
    for name in DETERMINISM_MODELS:
        assert determinism[f"{name}, cudnn.deterministic=True"]["bitwise_equal"] is True  # one device, same seeds
    child = determinism["deterministic_algorithms"]
    assert child["returncode"] == 0 and not child["timed_out"], child
    assert child["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8" and child["cuda_initialized_at_start"] is False
    assert set(child["models"]) == set(DETERMINISM_MODELS)
    assert all("error" not in m and len(m["train_loss"]) == 2 for m in child["models"].values()), child
    assert "CUBLAS_WORKSPACE_CONFIG" not in findings["stages"]["environment"]["header"]  # the parent never sets it
    assert set(findings["stages"]["step-times"]) >= {"r000 teacher", "r002 CNN 6 FC"}


class _State:
    def __init__(self, **tensors):
        self.tensors = tensors

    def state_dict(self):
        return self.tensors


def test_gpu_smoke_compares_bit_patterns_and_counts_nans_apart():
    from harness.gpu_smoke import _max_diff

    nan, inf = float("nan"), float("inf")
    same = _max_diff(_State(w=torch.tensor([nan, 1.0, inf]), n=torch.tensor(3)),
                     _State(w=torch.tensor([nan, 1.0, inf]), n=torch.tensor(3)))
    assert same == {"bitwise_equal": True, "max_abs": 0.0, "max_rel": 0.0, "any_nan": True, "nan_mismatches": 0}
    one_nan = _max_diff(_State(w=torch.tensor([nan, 1.0])), _State(w=torch.tensor([2.0, 1.5])))
    assert one_nan["bitwise_equal"] is False and one_nan["nan_mismatches"] == 1 and one_nan["any_nan"]
    assert one_nan["max_abs"] == 0.5 and one_nan["max_rel"] == pytest.approx(1 / 3)  # NaN ordered nowhere
    signed_zero = _max_diff(_State(w=torch.tensor([0.0])), _State(w=torch.tensor([-0.0])))
    assert signed_zero["bitwise_equal"] is False and signed_zero["max_abs"] == 0.0
    assert _max_diff(_State(w=torch.tensor([inf])), _State(w=torch.tensor([1.0])))["max_abs"] == inf
    assert _max_diff(_State(w=torch.ones(2)), _State(w=torch.ones(2, dtype=torch.float64)))["bitwise_equal"] is False
    half = _max_diff(_State(w=torch.tensor([1.0], dtype=torch.float16)),
                     _State(w=torch.tensor([1.0009765625], dtype=torch.float16)))
    assert half["bitwise_equal"] is False and half["max_abs"] == pytest.approx(2 ** -10)


def test_gpu_smoke_counts_synchronization_warnings_only():
    import warnings

    from harness.gpu_smoke import _is_sync, _sync_findings, _sync_warnings

    with _sync_warnings(torch.device("cpu")) as caught:
        warnings.warn("called a synchronizing CUDA operation")
        warnings.warn("Synchronization happened in cudaMemcpy")
        warnings.warn("TypedStorage is deprecated", UserWarning)
    assert [_is_sync(w) for w in caught] == [True, True, False]
    found = _sync_findings(caught)
    assert found["syncs"] == 2 and found["other_warnings"] == 1 and found["other_messages"] == ["TypedStorage is "
                                                                                                "deprecated"]


def _gone(pid: int) -> bool:
    """Dead or a zombie within 5 s (a SIGKILL is delivered asynchronously)."""
    import time

    for _ in range(100):
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


SLEEPER = '''
import signal, subprocess, sys, time
from pathlib import Path
IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
grandchild = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM])
Path(sys.argv[1]).write_text(str(grandchild.pid))
print("printed before the limit", flush=True)
if sys.argv[2] == "summary":
    def summary(*_):
        print("short test summary on SIGTERM", flush=True)
        sys.exit(2)
    signal.signal(signal.SIGTERM, summary)
else:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
time.sleep(120)
'''


@pytest.mark.parametrize("on_sigterm", ["summary", "ignored"])
def test_gpu_smoke_subprocess_past_its_limit_keeps_its_output_and_leaves_nothing_running(tmp_path, monkeypatch,
                                                                                         on_sigterm):
    import sys

    from harness import gpu_smoke

    monkeypatch.setattr(gpu_smoke, "GRACE_S", 2)
    (tmp_path / "sleeper.py").write_text(SLEEPER)
    log, pid_file = tmp_path / "sleeper.log", tmp_path / "grandchild.pid"
    ran = gpu_smoke._run_logged([sys.executable, str(tmp_path / "sleeper.py"), str(pid_file), on_sigterm], log, 3)
    assert ran["timed_out"] and ran["subprocess_s"] < 20, ran
    text = log.read_text()
    assert "printed before the limit" in text
    assert ("short test summary on SIGTERM" in text) == (on_sigterm == "summary")
    assert ran["returncode"] == (2 if on_sigterm == "summary" else -9)
    assert _gone(int(pid_file.read_text())), "the grandchild (a nested pytest) was left running"
    assert gpu_smoke._GROUPS == set()


def test_gpu_smoke_reads_a_pytest_log_cut_mid_test():
    import tempfile

    from harness.gpu_smoke import _pytest_log

    text = ("tests/test_gpu.py::test_each_model_trains_in_each_precision_mode[r002 CNN-fp32] PASSED      [  1%]\n"
            "tests/test_gpu.py::test_a_seeds_batches_on_cuda_are_the_cpus SKIPPED (needs a CUDA device) [  2%]\n"
            "tests/test_gpu.py::test_evaluation_on_cuda_equals_the_cpus_in_fp64 FAILED        [  3%]\n"
            "tests/test_gpu.py::test_the_ema_on_cuda_equals_the_cpus_in_fp64 ")
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "x.log").write_text(text)
        log = _pytest_log(Path(d) / "x.log")
    assert log["outcomes"] == {"test_each_model_trains_in_each_precision_mode[r002 CNN-fp32]": "passed",
                               "test_a_seeds_batches_on_cuda_are_the_cpus": "skipped",
                               "test_evaluation_on_cuda_equals_the_cpus_in_fp64": "failed"}
    assert log["running_when_log_ends"] == "tests/test_gpu.py::test_the_ema_on_cuda_equals_the_cpus_in_fp64"
    assert len(log["outcome_lines"]) == 3 and log["tail"].endswith("fp64 ")
    finished = "PASSED tests/test_gpu.py::test_x\nFAILED tests/test_gpu.py::test_y - AssertionError\n=== 1 failed ==="
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "y.log").write_text(finished)
        log = _pytest_log(Path(d) / "y.log")
    assert log["running_when_log_ends"] is None and len(log["outcome_lines"]) == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this runs the stages where every GPU test skips; on a CUDA machine scripts/gpu-smoke runs them "
                                                        "for real")
def test_gpu_smoke_pytest_stages_run_through_their_logs_on_the_cpu(tmp_path):
    """The pytest-gpu and oom stages as the H200 runs them, where every GPU test skips."""
    from harness.gpu_smoke import OOM_TEST, _Context, stage_oom, stage_pytest_gpu

    out = tmp_path / "out" / "gpu-smoke.json"
    out.parent.mkdir()
    findings = {"stages": {}}
    ctx = _Context(torch.device("cpu"), str(tmp_path), 420, out, findings)
    ctx.begin("pytest-gpu", [])
    assert json.loads(out.read_text())["stages"]["pytest-gpu"]["status"] == "running"
    stage_pytest_gpu(ctx, ctx.partial)
    found = ctx.partial
    assert found["status"] == "ok" and found["returncode"] == 0 and not found["timed_out"], found["tail"]
    assert found["passed"] == 0 and not found["failed"] and len(found["skipped"]) > 50
    assert OOM_TEST in ctx.junit and any(line.startswith("SKIPPED") for line in found["outcome_lines"])
    assert (out.parent / "pytest-gpu.log").exists()
    ctx.junit = {}  # as if pytest-gpu had been cut before the OOM test: it runs alone
    ctx.begin("oom", [])
    stage_oom(ctx, ctx.partial)
    assert ctx.partial["from"] == "run alone" and ctx.partial["outcome"] == "skipped", ctx.partial
    assert (out.parent / "oom.log").exists()


def test_gpu_smoke_cuts_a_stage_past_its_limit_keeping_what_ran(tmp_path, monkeypatch, capsys):
    import time

    from harness import gpu_smoke

    out = tmp_path / "f.json"
    seen = {}

    def slow(ctx, found):
        seen["at_start"] = json.loads(out.read_text())["stages"]["determinism"]["status"]
        found["first"] = 1
        ctx.tick()
        time.sleep(0.3)
        found["second"] = 2
        ctx.tick()  # past the limit: cut here
        found["third"] = 3

    def broken(ctx, found):
        found["part"] = "kept"
        raise ValueError("a typo")

    monkeypatch.setitem(gpu_smoke.RUNNERS, "determinism", slow)
    monkeypatch.setitem(gpu_smoke.RUNNERS, "host-syncs", broken)
    monkeypatch.setitem(gpu_smoke.CAP_S, "determinism", 0.2)
    monkeypatch.setitem(gpu_smoke.NEEDS_S, "determinism", 0.1)
    assert gpu_smoke.main(["--device", "cpu", "--only", "determinism", "host-syncs", "--out", str(out)]) == 0
    stages = json.loads(out.read_text())["stages"]
    assert seen["at_start"] == "running"
    assert stages["determinism"]["status"] == "cut" and stages["determinism"]["second"] == 2
    assert "third" not in stages["determinism"]
    assert stages["host-syncs"]["status"] == "error" and stages["host-syncs"]["part"] == "kept"
    assert "ValueError: a typo" in stages["host-syncs"]["error"]
    printed = capsys.readouterr().out
    assert "gpu-smoke: determinism cut in" in printed and "gpu-smoke: host-syncs error in" in printed


STOPPED = '''
import subprocess, sys
from pathlib import Path
from harness import gpu_smoke

def stage(ctx, found):
    found["child"] = gpu_smoke._run_logged([sys.executable, "-c", "import os, time; from pathlib import Path; "
                                            f"Path({sys.argv[2]!r}).write_text(str(os.getpid())); time.sleep(120)"],
                                           ctx.logs / "sleeper.log", 100)

gpu_smoke.RUNNERS["determinism"] = stage
sys.exit(gpu_smoke.main(["--device", "cpu", "--only", "determinism", "step-times", "--out", sys.argv[1]]))
'''


def test_gpu_smoke_stopped_by_sigterm_kills_its_subprocess_group_and_says_where(tmp_path):
    import signal
    import sys
    import time

    out, pid_file = tmp_path / "f.json", tmp_path / "sleeper.pid"
    (tmp_path / "stopped.py").write_text(STOPPED)
    proc = subprocess.Popen([sys.executable, str(tmp_path / "stopped.py"), str(out), str(pid_file)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # what `timeout` sends
    printed, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, printed
    stages = json.loads(out.read_text())["stages"]
    assert stages["determinism"]["status"] == "stopped" and "SIGTERM" in stages["determinism"]["why"]
    assert stages["step-times"]["status"] == "not run"
    assert _gone(int(pid_file.read_text())), "the stage's subprocess (its own session) was left running"
    assert "gpu-smoke: determinism stopped" in printed
