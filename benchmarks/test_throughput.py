"""Training throughput of the engine against the reports' naive loop, with pytest-benchmark.

Run without -n: ``pytest --benchmark-only`` (or ``pytest benchmarks --benchmark-only``); it writes
results/BENCHMARKS.md and results/benchmarks.png. Timings never decide a test; the asserts only check that each
timed run trained. Like for like: every figure times training steps only (the engine's rounds by their steps'
seconds, without building and uploading the members; the baseline builds its network outside its round), each
ending on a synchronized device.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from harness.models import CifarCNN, student, teacher
from harness.train import Ensemble, TrainConfig, build_members, train, train_together, with_overrides

from .conftest import FLOPS_PER_IMAGE, NOTES, record_throughput
from .flops import training_flops_per_image
from .report import NAIVE

MODELS = {
    "r002 CNN, 3 FC (batch 4)": ("cifar10", lambda: CifarCNN(3, "tanh"), 4),
    "r000 teacher (batch 64)": ("tiny-imagenet", teacher, 64),
    "r000 student (batch 64)": ("tiny-imagenet", student, 64),
}
IMAGE_SHAPE = {"cifar10": (3, 32, 32), "tiny-imagenet": (3, 64, 64)}
R002 = "r002 CNN, 3 FC (batch 4)"
MODES = ["fp32", "fp16", "fp16-amp", "bf16-amp"]
ENSEMBLE = 5


@pytest.fixture(scope="module", autouse=True)
def model_flops():
    """Each model's training FLOPs per image, for the table's share of the FLOP limit."""
    for name, (dataset, model_fn, _) in MODELS.items():
        FLOPS_PER_IMAGE[name] = training_flops_per_image(model_fn, IMAGE_SHAPE[dataset], batch=4)


def steps(harness, batch: int, mode: str = "fp32") -> int:
    """Steps a timed round takes: enough to amortize launch costs on a GPU, few on a CPU."""
    if harness.device.type == "cuda":
        return 500 if batch == 4 else 50
    slow = mode == "fp16"  # pure half convolutions are very slow on a CPU
    return (20 if slow else 100) if batch == 4 else (1 if slow else 3)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _engine_round(data, model_fn, batch, n_steps, mode, seeds, vectorize=None):
    """A round of the engine and the list its steps' seconds go to, round by round (see record_throughput)."""
    cfg = TrainConfig(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, momentum=0.9, precision=mode,
                      max_steps_per_epoch=n_steps, vectorize=vectorize)
    seconds: list[float] = []

    def one_round():
        result = train(model_fn, seeds, data, None, cfg)
        seconds.append(result.seconds)
        return result
    return one_round, seconds


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("model", list(MODELS))
def test_engine_throughput(benchmark, harness, bench_data, model, mode):
    dataset, model_fn, batch = MODELS[model]
    n = steps(harness, batch, mode)
    seeds = list(range(ENSEMBLE))
    run, seconds = _engine_round(bench_data[dataset], model_fn, batch, n, mode, seeds)
    result = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    record_throughput(model, f"engine, {mode}, {ENSEMBLE} seeds", n * batch * ENSEMBLE, benchmark, seconds)
    assert result.steps == n


@pytest.mark.parametrize("model", list(MODELS))
def test_naive_baseline(benchmark, harness, bench_data, model):
    """The reports' loop: DataLoader over decoded images, normalize per batch, fp32, sync every step."""
    dataset, model_fn, batch = MODELS[model]
    data = bench_data[dataset]
    n = steps(harness, batch)
    images = data.x.cpu()  # decoded uint8, on the host like a Dataset of decoded images
    loader = DataLoader(TensorDataset(images, data.y.cpu()), batch_size=batch, shuffle=True)
    net = model_fn().to(harness.device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    mean, std = data.mean.cpu(), data.std.cpu()

    def one_round():
        losses = []
        for i, (x, y) in enumerate(loader):
            if i == n:
                break
            x = ((x.float() - mean) / std).to(harness.device)
            loss = F.cross_entropy(net(x), y.to(harness.device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())  # the per-step host sync of a typical training script
        _sync(harness.device)
        return losses

    losses = benchmark.pedantic(one_round, rounds=3, warmup_rounds=1)
    record_throughput(model, NAIVE, n * batch, benchmark)
    assert len(losses) == n and np.isfinite(losses).all()


@pytest.mark.parametrize("how", ["sequential", "ensemble"])
@pytest.mark.parametrize("model", list(MODELS))
def test_five_seeds_sequential_vs_ensemble(benchmark, harness, bench_data, model, how):
    """The same 5 seeds trained one after another, and as one vmapped ensemble."""
    dataset, model_fn, batch = MODELS[model]
    n = steps(harness, batch)
    run, seconds = _engine_round(bench_data[dataset], model_fn, batch, n, "fp32", list(range(ENSEMBLE)),
                                 vectorize=how == "ensemble")
    result = benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    record_throughput(model, f"{ENSEMBLE} seeds, {how}", n * batch * ENSEMBLE, benchmark, seconds)
    assert result.model.size == ENSEMBLE and result.steps == n


@pytest.mark.parametrize("how", ["two ensembles", "one ensemble, per-member momentum"])
def test_momentum_readings_as_one_ensemble(benchmark, harness, bench_data, how):
    """Report 002's momentum 0 and 0.9 readings, 5 seeds each: two ensembles one after the other, or one
    ensemble of 10 members with per-member momentum (train_together; equal member by member, tests/)."""
    _, model_fn, batch = MODELS[R002]
    n = steps(harness, batch)
    base = TrainConfig(epochs=1, batch_size=batch, optimizer="sgd", lr=0.01, max_steps_per_epoch=n)
    runs = [(list(range(ENSEMBLE)), with_overrides(base, momentum=m)) for m in (0.0, 0.9)]
    data = bench_data["cifar10"]
    seconds: list[float] = []  # the steps' own seconds of each round (see record_throughput)
    if how == "two ensembles":
        def one_round():
            results = [train(model_fn, seeds, data, None, cfg) for seeds, cfg in runs]
            seconds.append(sum(r.seconds for r in results))
            return results
    else:
        def one_round():
            results = train_together(model_fn, runs, data, None)
            seconds.append(results[0].seconds)  # each result's seconds are the joint run's
            return results
    results = benchmark.pedantic(one_round, rounds=3, warmup_rounds=1)
    record_throughput(R002, f"momentum 0 and 0.9, {ENSEMBLE} seeds each: {how}", n * batch * 2 * ENSEMBLE, benchmark,
                      seconds)
    assert [r.steps for r in results] == [n, n]


def test_compiled_step(benchmark, harness, bench_data):
    """The ensemble's forward and backward compiled by torch.compile (inductor), the same optimizer after it.

    Not the engine's path: it measures what compiling would gain. Compile time is said under the table.
    """
    _, model_fn, batch = MODELS[R002]
    data = bench_data["cifar10"]
    n = steps(harness, batch)
    model = Ensemble(build_members(model_fn, range(ENSEMBLE))).to(harness.device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=False)
    forward = torch.compile(model)
    x = data.normalize(data.x[: ENSEMBLE * batch]).view(ENSEMBLE, batch, *data.x.shape[1:])
    y = data.y[: ENSEMBLE * batch].view(ENSEMBLE, batch)

    def one_step():
        loss = F.cross_entropy(forward(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss

    started = time.perf_counter()
    one_step()
    _sync(harness.device)
    NOTES.append(f"{R002}, compiled step: torch.compile took {time.perf_counter() - started:.1f} s before the first "
                 f"step (once per architecture and process)")

    def one_round():
        losses = [one_step() for _ in range(n)]
        _sync(harness.device)
        return torch.stack(losses).detach()

    losses = benchmark.pedantic(one_round, rounds=3, warmup_rounds=1)
    record_throughput(R002, f"ensemble forward+backward compiled (torch.compile), fp32, {ENSEMBLE} seeds, one batch",
                      n * batch * ENSEMBLE, benchmark)
    assert losses.shape == (n,) and torch.isfinite(losses).all()
