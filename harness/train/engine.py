"""The one training engine every suite uses.

``train`` builds an :class:`Ensemble` of one architecture, one member a seed,
and trains all members at once on the device-resident data: each member with its
own initialization, data order and optimizer state. The step loop never waits on
the host: losses, accuracies and non-finite events accumulate on the device and
are read once an epoch.
"""

from __future__ import annotations

import collections
import copy
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .. import timing
from ..data.device_data import DeviceData, member_generators
from . import losses, precision
from .checkpoint import Checkpoint, Progress, TrainingState
from .ema import WeightEMA
from .ensemble import Ensemble, build_members
from .nonfinite import NonFiniteWatch
from .per_member import PerMemberSGD
from .result import TrainResult
from .teacher_table import teacher_logit_table

log = logging.getLogger("harness.train")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run's training depends on besides the model, the data and the seeds."""

    epochs: int
    batch_size: int
    optimizer: str = "sgd"  # 'sgd' or 'adam'
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    adam_eps: float = 1e-8
    precision: str = "fp32"  # see precision.MODES
    penalty: str | None = None  # 'l1' or 'l2' added to the loss
    penalty_weight: float = 0.0
    kd_temperature: float | None = None  # distillation on when set (needs a teacher)
    kd_alpha: float = 0.5
    kd_reduction: str = "batchmean"
    loss_in_fp32: bool = False  # compute the loss from float32 logits (a control for half-precision overflow)
    max_steps_per_epoch: int | None = None  # cut epochs short (smoke budgets of slow modes)
    vectorize: bool | None = None  # members as one vmapped ensemble; None: see vectorized()
    ema_decay: float | None = None  # an EMA of the weights, evaluated beside the model
    watch_nonfinite: bool = False
    grad_norm_steps: tuple[int, ...] = ()  # global steps (0-based) at which per-layer gradient norms are kept
    running_loss_window: int | None = None  # also record the mean loss of the last N steps of each epoch
    teacher_logits_once: bool = True  # distillation: the eval-mode teacher's logits of each image, computed once
    snapshot_epochs: tuple[int, ...] = ()  # keep a copy of the model after these epochs (1-based)
    eval_batch_size: int = 1000
    # For progress lines and logs (Harness.trained sets it from the run's spec: progress.labels); it names a run,
    # never changes one, so two configs that differ in it alone are equal.
    label: str = field(default="", compare=False)


# The optimizer's implementation is pinned so that a claim means the same on every device: CUDA
# defaults to the multi-tensor ('foreach') kernels and a fused Adam computes in fp32, which would
# hide the pure-fp16 NaN that report 000 shows; the CPU's default is this single-tensor loop.
OPTIMIZER_IMPL = "single-tensor loop (foreach=False, fused=False)"


# How often a run watching for non-finite values checks whether every member has gone all NaN. From
# then on every step would leave it NaN, and what it measures is known without computing it (see
# _all_nan); checking costs one host synchronization.
ALL_NAN_CHECK_EVERY = 50


def _all_nan(model: Ensemble, ema) -> bool:
    """True when every parameter of every member (and of the EMA) is NaN: no later step can change that.

    A NaN loss gives NaN gradients, and SGD or Adam turn a NaN gradient into a NaN weight, so an all-NaN
    model stays all NaN; its logits are NaN and ``argmax`` picks class 0 for every image.
    """
    modules = [model] + ([] if ema is None else [ema.module])
    return all(torch.isnan(p).all().item() for m in modules for p in m.parameters())


def _make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                               foreach=False)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, eps=cfg.adam_eps, weight_decay=cfg.weight_decay,
                                foreach=False, fused=False)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', not {cfg.optimizer!r}")


def all_nan_members(model: nn.Module) -> torch.Tensor:
    """Per member (dim 0 of every parameter): True where every parameter is entirely NaN."""
    return torch.stack([torch.isnan(p).reshape(p.shape[0], -1).all(1) for p in model.parameters()]).all(0)


@torch.no_grad()
def evaluate(model: nn.Module, data: DeviceData, batch_size: int = 1000, mode: str = "fp32") -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy of every member on all of ``data`` (the correct evaluation).

    An ensemble whose every member is all NaN is not run: its logits are NaN, its loss NaN, and ``argmax`` picks
    class 0 for every image (tests/test_engine.py), so its accuracy is the share of class 0 in ``data``, computed
    as below. That holds for models whose output is a layer with weights and whose every step carries a NaN
    through (the reports' CNNs: linear, convolution, ReLU, tanh, sigmoid, pooling, batch norm); a model that masks
    or replaces NaN on its way out would need the computed path. Pure half-precision students that went NaN are
    what makes this matter: their evaluation is the slowest part of their run on a CPU.
    """
    n = len(data)
    if n and bool(all_nan_members(model).all()):
        size = model.size
        share_of_zero = ((data.y == 0).sum().double() / n).item()  # the computed path's arithmetic
        return np.full(size, np.nan), np.full(size, share_of_zero)
    was_training = model.training
    model.eval()
    size = model.size
    dtype = precision.param_dtype(mode)
    loss_sum = torch.zeros(size, device=data.device, dtype=torch.float64)
    correct = torch.zeros(size, device=data.device, dtype=torch.int64)
    order = data.epoch_order(None)
    for x, y in data.batches(order, batch_size):
        x = x.expand(size, *x.shape[1:]).to(dtype)
        y = y.expand(size, -1)
        with precision.autocast(mode, data.device):
            logits = model(x)
        loss_sum += losses.cross_entropy(logits.float(), y).double() * y.shape[1]
        correct += (logits.argmax(-1) == y).sum(1)
    model.train(was_training)
    n = len(data)
    return (loss_sum / n).cpu().numpy(), (correct.double() / n).cpu().numpy()


@torch.no_grad()
def member_logits(model: nn.Module, data: DeviceData, batch_size: int = 1000, dtype=torch.float32) -> torch.Tensor:
    """Logits of every member on all of ``data`` in order: members x N x classes, float32 on the CPU.

    An ensemble whose every member is all NaN gives every image NaN logits (see :func:`evaluate`): only the
    first image is run, and its logits stand for all (tests/test_engine.py: every evaluation in
    :mod:`harness.mistakes` prints the same on them as on running all; fp16 kernels may set other NaN payload bits).
    """
    was_training = model.training
    model.eval()
    n = len(data)
    all_nan = n > 0 and bool(all_nan_members(model).all())
    run, batch_size = (1, 1) if all_nan else (n, batch_size)  # images to run, and how many at a time
    outs = []
    for start in range(0, run, batch_size):
        x = data.normalize(data.x[start : start + batch_size]).to(dtype)
        outs.append(model(x.expand(model.size, *x.shape)).float().cpu())
    model.train(was_training)
    return outs[0].expand(-1, n, -1).contiguous() if all_nan else torch.cat(outs, dim=1)


# On a CPU, vmapped (grouped) convolutions at large batches ran slower than one model after
# another (measured: teacher 138 vs 236 images/s); at small batches the per-step overhead that
# vectorizing removes dominates (report 002's CNN at batch 4: 2,895 vs 1,514 images/s). Since the
# allocator keeps freed memory (results/BENCHMARKS.md at 58ce19a) the teacher runs 180 vectorized vs 163
# one after another, the student 766 vs 869: not yet worth a switch that would need its own equality check.
CPU_VECTORIZE_MAX_BATCH = 16


def vectorized(cfg: TrainConfig, device: torch.device) -> bool:
    """Whether members train as one vmapped ensemble: always on a GPU, at small batches on a CPU.

    Either way each member's run is the same (tests/test_engine.py); only the speed differs.
    fp16 autocast never is: the GradScaler's overflow check is global, so one member's
    overflow would skip every member's step.
    """
    if cfg.precision == "fp16-amp":
        return False
    if cfg.vectorize is not None:
        return cfg.vectorize
    return device.type == "cuda" or cfg.batch_size <= CPU_VECTORIZE_MAX_BATCH


def train(model_fn: Callable[[], nn.Module], seeds: Sequence[int], train_data: DeviceData,
          test_data: DeviceData | None, cfg: TrainConfig, teacher: Ensemble | None = None,
          on_step: Callable[[int, int], None] | None = None, checkpoint: Checkpoint | None = None) -> TrainResult:
    """Train one member of ``model_fn()`` per seed and measure every epoch.

    Members train at once as one ensemble, or one after another where that is faster
    or needed (see :func:`vectorized`); the result is one ensemble either way.
    ``on_step(steps, members)`` is called after each computed step of the members trained together (all of
    them, or each seed in turn), with the steps they have done; it must not change training, and an
    exception it raises ends the run (the time budget's check times steps with it).
    With a ``checkpoint``, the members trained together keep their state there at the end of every epoch and
    start from what it holds: a run killed part-way goes on from its last finished epoch, exactly as it would
    have gone on unstopped (see :mod:`.checkpoint`).
    """
    precision.check_mode(cfg.precision)
    seeds = [int(s) for s in seeds]
    if cfg.kd_temperature is not None and teacher is None:
        raise ValueError("distillation (kd_temperature) needs a teacher ensemble")
    if len(seeds) > 1 and not vectorized(cfg, train_data.device):
        parts = [train(model_fn, [s], train_data, test_data, cfg,
                       None if teacher is None else Ensemble([teacher.member(i)]), on_step, checkpoint)
                 for i, s in enumerate(seeds)]
        return TrainResult.concat(parts)
    return _train_group(model_fn, seeds, train_data, test_data, cfg, teacher, on_step=on_step, checkpoint=checkpoint)


# What may differ between runs trained together as one ensemble by :func:`train_together`.
PER_MEMBER = ("lr", "momentum", "weight_decay")


def train_together(model_fn: Callable[[], nn.Module], runs: Sequence[tuple[Sequence[int], TrainConfig]],
                   train_data: DeviceData, test_data: DeviceData | None) -> list[TrainResult]:
    """Several SGD runs of one architecture that differ only in learning rate, momentum or weight decay, trained
    as one ensemble with per-member hyperparameters; one result a run, each as :func:`train` would give it
    (within rounding, see :mod:`.per_member`). Each result's ``seconds`` is the joint run's.
    """
    base = runs[0][1]
    for _, cfg in runs:
        if cfg.optimizer != "sgd" or replace(cfg, **{k: getattr(base, k) for k in PER_MEMBER}, label="") != \
                replace(base, label=""):
            raise ValueError(f"train_together: runs must be SGD runs that differ only in {PER_MEMBER}")
    if base.precision not in ("fp32", "fp64") or base.kd_temperature is not None:
        raise ValueError("train_together: fp32 or fp64 runs without distillation only (one GradScaler would skip "
                         "every member's step on one member's overflow; pure fp16 would round the hyperparameters)")
    seeds = [int(s) for member_seeds, _ in runs for s in member_seeds]
    hyper = {k: [getattr(cfg, k) for member_seeds, cfg in runs for _ in member_seeds] for k in PER_MEMBER}
    result = _train_group(model_fn, seeds, train_data, test_data, base, None, member_hyper=hyper)
    parts, start = [], 0
    for member_seeds, _ in runs:
        parts.append(result.select(slice(start, start + len(member_seeds))))
        start += len(member_seeds)
    return parts


def _train_group(model_fn, seeds, train_data: DeviceData, test_data, cfg: TrainConfig, teacher,
                 member_hyper: dict | None = None, on_step=None, checkpoint: Checkpoint | None = None) -> TrainResult:
    device = train_data.device
    dtype = precision.param_dtype(cfg.precision)
    torch.manual_seed(seeds[0])  # dropout masks; each member still draws its own under vmap
    model = Ensemble(build_members(model_fn, seeds)).to(device=device, dtype=dtype).train()
    size = model.size
    if teacher is not None:
        if teacher.size != size:
            raise ValueError(f"teacher has {teacher.size} members, the student {size}: one teacher a seed")
        teacher = teacher.to(device).eval()
    optimizer = (_make_optimizer(model.parameters(), cfg) if member_hyper is None
                 else PerMemberSGD(model.parameters(), **member_hyper))
    scaler = precision.grad_scaler(cfg.precision, device)
    ema = None
    if cfg.ema_decay is not None:
        ema = WeightEMA(model, cfg.ema_decay)
    watch = NonFiniteWatch(model, enabled=cfg.watch_nonfinite, check_gradients=scaler is None)
    generators = member_generators(seeds)  # CPU generators: the same batches on every device
    layer_names = _grad_norm_layers(model)
    grad_norm_steps = set(cfg.grad_norm_steps)
    grad_norms: dict[int, torch.Tensor] = {}
    history = {k: np.zeros((size, cfg.epochs)) for k in _history_keys(cfg, test_data is not None)}
    snapshots: dict[int, Ensemble] = {}
    table = None
    if cfg.kd_temperature is not None and cfg.teacher_logits_once:
        # An eval-mode teacher on unaugmented images gives each image the same logits every epoch: compute them
        # once per member (in the run's autocast mode, as per step) and look them up per batch.
        table = teacher_logit_table(teacher, train_data, cfg.precision, cfg.eval_batch_size)
        members = torch.arange(size, device=device)
    state = TrainingState(model, optimizer, scaler, ema, watch, generators, history, grad_norms, snapshots)
    done = _resume(checkpoint, seeds, state, cfg)
    step = done.step
    nan_from = done.nan_from
    # A run's seconds are its steps': on a GPU the members' upload and the teacher table are still queued here, and
    # without this wait they would count in the run's time on a GPU while on a CPU they never do.
    timing.synchronize(device)
    started = time.perf_counter() - done.seconds  # a resumed run's seconds count the epochs before the stop
    for epoch in range(done.epoch, cfg.epochs):
        loss_sum = torch.zeros(size, device=device, dtype=torch.float64)
        correct = torch.zeros(size, device=device, dtype=torch.int64)
        recent = collections.deque(maxlen=cfg.running_loss_window or 1)
        seen = 0
        for idx in train_data.index_batches(train_data.epoch_order(generators), cfg.batch_size):
            if cfg.max_steps_per_epoch is not None and seen >= cfg.max_steps_per_epoch * cfg.batch_size:
                break
            if nan_from is not None:
                # All NaN for good: the step's loss is NaN and every prediction class 0, as computing it would
                # give (tests/test_engine.py); the gradient norms it would record are NaN.
                y = train_data.y[idx]  # the labels only: no image is needed
                loss_sum += float("nan")
                if cfg.running_loss_window:
                    recent.append(torch.full((size,), float("nan"), device=device, dtype=torch.float64))
                if step in grad_norm_steps:
                    grad_norms[step] = torch.full((size, len(layer_names)), float("nan"), device=device)
                correct += (y == 0).sum(1)
                seen += y.shape[1]
                step += 1
                continue
            x, y = train_data.take(idx)
            x = x.to(dtype)
            with precision.autocast(cfg.precision, device):
                logits = model(x)
                loss_logits = logits.float() if cfg.loss_in_fp32 else logits
                if cfg.kd_temperature is not None:
                    if table is not None:
                        teacher_logits = table[members[:, None], idx]
                    else:
                        with torch.no_grad():
                            teacher_logits = teacher(x.float())
                    per_member = losses.distillation(loss_logits, teacher_logits, y, cfg.kd_temperature,
                                                     cfg.kd_alpha, cfg.kd_reduction)
                else:
                    per_member = losses.cross_entropy(loss_logits, y)
                if cfg.penalty:
                    per_member = per_member + cfg.penalty_weight * losses.weight_penalty(
                        model.stacked_params(), cfg.penalty)
            total = per_member.sum()
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(total).backward()
                scaler.unscale_(optimizer)
            else:
                total.backward()
            watch.after_backward(step, logits, per_member)
            if step in grad_norm_steps:
                grads = model.stacked_params()
                grad_norms[step] = torch.stack(
                    [grads[n].grad.float().flatten(1).norm(dim=1) for n in layer_names], dim=1)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            watch.after_step(step)
            if ema is not None:
                ema.update(model)
            loss_sum += per_member.detach().double() * y.shape[1]
            if cfg.running_loss_window:
                recent.append(per_member.detach().double())
            correct += (logits.detach().argmax(-1) == y).sum(1)
            seen += y.shape[1]
            step += 1
            if on_step is not None:
                on_step(step, size)
            if cfg.watch_nonfinite and step % ALL_NAN_CHECK_EVERY == 0 and _all_nan(model, ema):
                nan_from = step
                # The next forward pass would make the batch-norm statistics NaN as well: make them so now.
                for module in [model] + ([] if ema is None else [ema.module]):
                    for buffer in module.buffers():
                        if buffer.is_floating_point():
                            buffer.fill_(float("nan"))
                log.info("%s: every member all NaN after step %d; later steps are not computed", cfg.label or "run",
                         step)
        history["train_loss"][:, epoch] = (loss_sum / seen).cpu().numpy()
        history["train_acc"][:, epoch] = (correct.double() / seen).cpu().numpy()
        if cfg.running_loss_window:
            history["train_loss_running"][:, epoch] = torch.stack(list(recent)).mean(0).cpu().numpy()
        if test_data is not None:
            history["test_loss"][:, epoch], history["test_acc"][:, epoch] = evaluate(
                model, test_data, cfg.eval_batch_size, cfg.precision)
            if ema is not None:
                history["ema_test_loss"][:, epoch], history["ema_test_acc"][:, epoch] = evaluate(
                    ema.module, test_data, cfg.eval_batch_size, cfg.precision)
        if epoch + 1 in cfg.snapshot_epochs:
            snapshots[epoch + 1] = copy.deepcopy(model)
        log.info("%s epoch %d/%d: train loss %s acc %s%s (%.1fs)", cfg.label or "run", epoch + 1, cfg.epochs,
                 np.array2string(history["train_loss"][:, epoch], precision=3),
                 np.array2string(history["train_acc"][:, epoch], precision=3),
                 "" if test_data is None else " test acc " + np.array2string(history["test_acc"][:, epoch], precision=3),
                 time.perf_counter() - started,
                 # The same figures by value, for the progress board (harness.progress.board), which rounds them.
                 extra={"progress": {"epoch": epoch + 1, "epochs": cfg.epochs,
                                     "loss": history["train_loss"][:, epoch].tolist(),
                                     "acc": history["train_acc"][:, epoch].tolist(),
                                     "test_acc": None if test_data is None else history["test_acc"][:, epoch].tolist()}})
        if checkpoint is not None:
            checkpoint.save(seeds, state.capture(Progress(epoch + 1, step, nan_from, time.perf_counter() - started),
                                                 cfg.epochs))
    timing.synchronize(device)  # the last steps' kernels count in the run's seconds
    seconds = time.perf_counter() - started
    return TrainResult(
        seeds=list(seeds), model=model, ema=None if ema is None else ema.module, history=history, nonfinite=watch.report(),
        grad_norms={s: g.cpu().numpy() for s, g in sorted(grad_norms.items())}, grad_norm_layers=layer_names,
        seconds=seconds, steps=step, snapshots=snapshots, steps_per_epoch=step // max(1, cfg.epochs),
        nan_from_step=nan_from,
    )


def _resume(checkpoint: Checkpoint | None, seeds: list[int], state: TrainingState, cfg: TrainConfig) -> Progress:
    """Where the group starts: from what ``checkpoint`` kept of it (restored into ``state``), else from scratch."""
    saved = None if checkpoint is None else checkpoint.load(list(seeds))
    if saved is None:
        return Progress()
    done = state.restore(saved)
    log.info("%s: resumed after epoch %d/%d (step %d, %.1fs trained before)", cfg.label or "run", done.epoch,
             cfg.epochs, done.step, done.seconds)
    return done


def _grad_norm_layers(model: Ensemble) -> list[str]:
    return [n for n in model.param_names if n.endswith("weight") and model.stacked_params()[n].dim() > 2]


def _history_keys(cfg: TrainConfig, has_test: bool) -> list[str]:
    keys = ["train_loss", "train_acc"] + (["test_loss", "test_acc"] if has_test else [])
    if cfg.running_loss_window:
        keys.append("train_loss_running")
    if cfg.ema_decay is not None and has_test:
        keys += ["ema_test_loss", "ema_test_acc"]
    return keys


def steps_per_epoch(cfg: TrainConfig, train_data: DeviceData) -> int:
    """Steps one epoch of ``cfg`` takes on ``train_data`` (its ``max_steps_per_epoch`` included)."""
    per_epoch = train_data.steps_per_epoch(cfg.batch_size)
    return per_epoch if cfg.max_steps_per_epoch is None else min(per_epoch, cfg.max_steps_per_epoch)


def with_overrides(cfg: TrainConfig, **changes) -> TrainConfig:
    """A copy of ``cfg`` with ``changes``; readings are built this way from a claim's base setup."""
    return replace(cfg, **changes)
