"""CUDA checks (``pytest -m gpu``): what the engine computes on a GPU, against itself and against the CPU.

Each model trains in each precision mode with finite losses where the mode should give them and in the dtype
autocast really uses; an ensemble member equals its lone run (fp64 and fp32, the batch-norm teacher under vmap
included); a seed's batches are the CPU's; evaluation, the teacher-logit table, distillation, the EMA, snapshots,
the all-NaN shortcut, dropout and the results cache's round trip work on the device; a real CUDA out-of-memory
error under the plugin records NOT RUN and gives the memory back.

They skip, saying why, where there is no CUDA device; the same code paths run on the CPU in test_engine.py and
test_device_paths.py. None changes a numerics setting (the plugin set them once; the fixture below checks).
scripts/gpu-smoke runs them and settles what needs two devices or a stopwatch.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from harness.data import DeviceData, member_generators
from harness.models import CifarCNN, student, teacher
from harness.numerics import numerics_state
from harness.train import Ensemble, TrainConfig, build_members, precision, train
from harness.train.engine import evaluate
from harness.train.teacher_table import teacher_logit_table

from .test_engine import ALL_NAN_RUNS, assert_all_nan_shortcut_measures_as_computed

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device: run `pytest -m gpu` on a machine "
                                                                    "with an NVIDIA GPU and a CUDA build of torch")]

MODELS = {"r002 CNN": (lambda: CifarCNN(3, "tanh"), 32, 4), "r002 6-FC CNN": (lambda: CifarCNN(6, "tanh"), 32, 4),
          "r000 teacher": (teacher, 64, 8), "r000 student": (student, 64, 8)}
BN_TEACHER = (lambda: teacher(batch_norm=True), 64, 8)
# The modes whose short runs must stay finite (pure fp16 may overflow: that is one of report 000's claims).
FINITE_MODES = ("fp32", "fp16-amp", "bf16-amp", "fp64")


@pytest.fixture(autouse=True)
def numerics_left_alone():
    """No test may change a numerics switch: a change would leak into every later test, under a header that says
    otherwise."""
    before = numerics_state()
    yield
    assert numerics_state() == before, "a test changed the session's numerics settings"


def _data(size: int, n: int = 64, device: str = "cuda") -> DeviceData:
    g = np.random.default_rng(0)
    return DeviceData((g.integers(0, 255, (n, size, size, 3), dtype=np.uint8), g.integers(0, 10, n)), device,
                      (0.5,) * 3, (0.5,) * 3)


def _cfg(batch: int, **changes) -> TrainConfig:
    base = dict(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, momentum=0.9, max_steps_per_epoch=5)
    return TrainConfig(**{**base, **changes})


def _close(a: Ensemble, b: Ensemble, **tolerance) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x.cpu(), y.cpu(), msg=lambda m, name=name: f"{name}: {m}", **tolerance)


@pytest.mark.parametrize("mode", ["fp32", "fp16", "fp16-amp", "bf16-amp"])
@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_trains_in_each_precision_mode(name, mode):
    model_fn, size, batch = MODELS[name]
    result = train(model_fn, [0, 1], _data(size), None, _cfg(batch, precision=mode, watch_nonfinite=True))
    assert result.steps == 5 and result.history["train_loss"].shape == (2, 1)
    if mode in FINITE_MODES:
        assert np.isfinite(result.history["train_loss"]).all(), f"{name} in {mode}: {result.history['train_loss']}"
        assert all(e["step"] is None for e in result.nonfinite), result.nonfinite


@pytest.mark.parametrize("mode, expected", [("fp32", "float32"), ("fp16", "float16"), ("fp16-amp", "float16"),
                                            ("bf16-amp", "bfloat16"), ("fp64", "float64")])
@pytest.mark.parametrize("name", list(MODELS))
def test_each_precision_mode_computes_in_its_dtype_on_cuda(name, mode, expected):
    """Every convolution and matrix product of a training step's forward (weights in the mode's dtype, under its
    autocast) in the mode's dtype. On a CPU the vmapped TinyCNNs' convolutions stay float32 under autocast
    (tests/test_device_paths.py); this says whether CUDA's do."""
    model_fn, size, batch = MODELS[name]
    model = Ensemble(build_members(model_fn, [0, 1])).to(device="cuda", dtype=precision.param_dtype(mode)).train()
    data = _data(size)
    x, _ = data.take(data.epoch_order(member_generators([0, 1]))[:, :batch])

    def forward():
        with precision.autocast(mode, data.device):
            model(x.to(precision.param_dtype(mode)))
    dtypes = precision.compute_dtypes(forward)
    assert dtypes and all(found == {expected} for found in dtypes.values()), dtypes


def test_a_seeds_batches_on_cuda_are_the_cpus():
    orders = [_data(4, n=50, device=d).epoch_order(member_generators([0, 7])) for d in ("cpu", "cuda")]
    assert orders[1].is_cuda and torch.equal(orders[0], orders[1].cpu())


@pytest.mark.parametrize("name", ["r002 CNN", "r000 student"])
def test_a_cuda_run_equals_the_cpu_run_to_round_off_in_fp64(name):
    model_fn, size, batch = MODELS[name]
    cfg = _cfg(batch, precision="fp64", max_steps_per_epoch=3)
    runs = [train(model_fn, [0], _data(size, device=d), None, cfg) for d in ("cpu", "cuda")]
    _close(runs[0].model, runs[1].model, rtol=1e-9, atol=1e-11)


FP64, FP32 = dict(rtol=1e-9, atol=1e-10), dict(rtol=1e-4, atol=1e-5)


# fp32 for the shallow nets only: the 12-layer teachers' rounding differences grow past any fixed bound in 5 steps
# (on the CPU too), and fp64 shows their equality.
@pytest.mark.parametrize("name, mode, tolerance", [
    *[(name, "fp64", FP64) for name in [*MODELS, "r000 batch-norm teacher"]],
    *[(name, "fp32", FP32) for name in ("r002 CNN", "r002 6-FC CNN", "r000 student")]])
def test_an_ensemble_member_equals_its_lone_run_on_cuda(name, mode, tolerance):
    """Vmapped (the batch-norm teacher's statistics per member included) against one member alone."""
    model_fn, size, batch = BN_TEACHER if name == "r000 batch-norm teacher" else MODELS[name]
    cfg = _cfg(batch, precision=mode, vectorize=True)
    data = _data(size)
    together = train(model_fn, [0, 1, 2], data, None, cfg)
    alone = train(model_fn, [1], data, None, cfg)
    _close(Ensemble([together.model.member(1)]), alone.model, **tolerance)


def test_evaluation_on_cuda_equals_the_cpus_in_fp64():
    model_fn, size, batch = MODELS["r000 student"]
    result = train(model_fn, [0, 1], _data(size), None, _cfg(batch, precision="fp64"))
    on_cpu = copy.deepcopy(result.model).cpu()
    loss_gpu, acc_gpu = evaluate(result.model, _data(size), 16, "fp64")
    loss_cpu, acc_cpu = evaluate(on_cpu, _data(size, device="cpu"), 16, "fp64")
    np.testing.assert_allclose(loss_gpu, loss_cpu, rtol=1e-9)
    np.testing.assert_array_equal(acc_gpu, acc_cpu)


def test_the_teacher_table_and_distillation_on_cuda():
    """The table holds what the teacher computes per batch; distilling through it matches running the teacher
    every step (teachers are fp32: the engine runs them on float32 images)."""
    model_fn, size, batch = MODELS["r000 student"]
    data = _data(size)
    cfg = _cfg(batch, optimizer="adam", lr=1e-3, momentum=0.0)
    taught = train(teacher, [0, 1], data, None, cfg).model.eval()
    table = teacher_logit_table(taught, data, "fp32", 16)
    with torch.no_grad():
        direct = taught(data.normalize(data.x).expand(2, *data.x.shape))
    assert table.is_cuda and table.shape == (2, len(data), 200)
    torch.testing.assert_close(table, direct, rtol=1e-4, atol=1e-5)
    kd = dict(kd_temperature=4.0, kd_alpha=0.5)
    once = train(model_fn, [0, 1], data, None, _cfg(batch, **kd), teacher=taught)
    each_step = train(model_fn, [0, 1], data, None, _cfg(batch, teacher_logits_once=False, **kd), teacher=taught)
    _close(once.model, each_step.model, rtol=1e-4, atol=1e-5)
    assert np.isfinite(once.history["train_loss"]).all()


def test_the_ema_on_cuda_equals_the_cpus_in_fp64():
    model_fn, size, batch = MODELS["r002 CNN"]
    cfg = _cfg(batch, precision="fp64", ema_decay=0.9)
    runs = [train(model_fn, [0, 1], _data(size, device=d), _data(size, device=d), cfg) for d in ("cpu", "cuda")]
    _close(runs[0].ema, runs[1].ema, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(runs[1].history["ema_test_loss"], runs[0].history["ema_test_loss"], rtol=1e-9)


def test_a_snapshot_on_cuda_is_the_shorter_run():
    model_fn, size, batch = MODELS["r002 CNN"]
    data = _data(size)
    long = train(model_fn, [0, 1], data, None, _cfg(batch, epochs=2, max_steps_per_epoch=3, snapshot_epochs=(1,)))
    short = train(model_fn, [0, 1], data, None, _cfg(batch, epochs=1, max_steps_per_epoch=3))
    cut = long.truncated(1)
    for a, b in zip(cut.model.state_dict().values(), short.model.state_dict().values()):
        assert torch.equal(a, b)  # the same device, deterministic numerics: bit for bit
    np.testing.assert_array_equal(cut.history["train_loss"], short.history["train_loss"])


@ALL_NAN_RUNS
def test_a_run_gone_all_nan_on_cuda_measures_the_same_without_computing_its_steps(batch_norm, cfg, monkeypatch):
    """tests/test_engine.py's check on the device: the shortcut's NaN losses and class-0 accuracies are what the
    computed steps give there too."""
    assert_all_nan_shortcut_measures_as_computed(_data(32, n=40), batch_norm, cfg, monkeypatch)


def test_dropout_on_cuda_draws_masks_per_member_and_repeats_with_the_seed():
    model_fn = lambda: CifarCNN(3, "relu", dropout=0.5)  # noqa: E731
    data = _data(32)
    cfg = _cfg(4, vectorize=True)
    first, again = (train(model_fn, [0, 0], data, None, cfg) for _ in range(2))
    members = [Ensemble([first.model.member(i)]) for i in range(2)]
    # Two members of one seed start alike and see the same batches: only their dropout masks tell them apart.
    assert any(not torch.equal(a, b) for a, b in zip(members[0].state_dict().values(),
                                                     members[1].state_dict().values()))
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    assert np.isfinite(first.history["train_loss"]).all()


def test_the_results_cache_round_trip_on_cuda(tmp_path):
    from harness.runcache import RunCache

    model_fn, size, batch = MODELS["r002 CNN"]
    data = _data(size)
    result = train(model_fn, [0, 1], data, data, _cfg(batch, ema_decay=0.9, watch_nonfinite=True))
    cache = RunCache(tmp_path)
    cache.store("key", "code", result)
    back = cache.load("key", "code", model_fn, torch.device("cuda"), [0, 1])
    assert back is not None and next(back.model.parameters()).is_cuda
    for a, b in zip(result.model.state_dict().values(), back.model.state_dict().values()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(result.history["test_acc"], back.history["test_acc"])
    np.testing.assert_array_equal(evaluate(back.model, data)[1], evaluate(result.model, data)[1])


REAL_OOM_TEST = '''
import pytest
import torch
from harness.claims import catalog

SEEN = {}


@pytest.fixture
def measured():
    yield
    # The failed test's teardown: the plugin has released the step and emptied the cache by now.
    SEEN["allocated_after"] = torch.cuda.memory_allocated()
    SEEN["reserved_after"] = torch.cuda.memory_reserved()


def _step():
    held = torch.ones(1 << 30, dtype=torch.uint8, device="cuda")  # 1 GiB the failing step holds
    return held, torch.empty(2 * torch.cuda.get_device_properties(0).total_memory, dtype=torch.uint8, device="cuda")


def test_runs_out_of_memory(harness, measured):
    SEEN["allocated_before"] = torch.cuda.memory_allocated()
    claim = catalog.get("r000.regularized_cost")
    harness.start(claim.id, claim.reading("literal"))
    _step()


def test_the_memory_went_back():
    assert SEEN["allocated_after"] <= SEEN["allocated_before"], SEEN
    assert SEEN["reserved_after"] < 1 << 30, SEEN  # the failed step's gigabyte went back to the driver
'''


def test_a_real_cuda_out_of_memory_under_the_plugin_records_not_run_and_frees(tmp_path):
    from .test_faults import CONV, ROOT, _pytest, _records

    (tmp_path / "test_real_oom.py").write_text(REAL_OOM_TEST)
    results = tmp_path / "results"
    done = _pytest([str(tmp_path / "test_real_oom.py"), CONV, "--profile", "smoke", "--device", "cuda",
                    "--results-dir", str(results), "--rootdir", str(ROOT)], tmp_path)
    assert "1 failed, 2 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    record = _records(results)["r000.regularized_cost__literal"]
    assert record["verdict"] == "NOT RUN" and "out of memory on GPU" in record["notes"], record["notes"]
