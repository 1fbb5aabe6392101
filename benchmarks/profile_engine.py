"""Where a training step's time goes: torch.profiler over the engine's own loop on real data.

    python -m benchmarks.profile_engine [--model r002-cnn3|r002-cnn6|teacher|student] [--steps N] [--seeds 5]
                                        [--rows 25] [--threads 1] [--device cpu|cuda|cuda:K]

Prints a step's time and images per second unprofiled (the best of three runs), then under
the profiler the share of the step spent outside any op (Python, dispatch, the engine's
bookkeeping), the time of the arithmetic kernels alone as they run at the engine's shapes
(with the costliest ops left out of that count), and the ops that take the most self CPU
time. Profiling slows every op a little: read its shares, and the unprofiled figure for the
speed. On CUDA the profiler also records the kernels, the arithmetic count is their device time, and
the table is sorted by device time; every timed run ends on a synchronized device (the engine's).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from harness import allocator, numerics
from harness.data import DataMissing, load_images
from harness.data.device_data import DeviceData
from harness.data.paths import resolve_data_root
from harness.models import CifarCNN, student, teacher
from harness.plugin.settings import use_device
from harness.report.environment import device_name
from harness.data.device_data import NORMALIZATION
from harness.train import TrainConfig, train

# name: data set, model, the report's batch size and optimizer, images a class to draw batches from
MODELS = {
    "r002-cnn3": ("cifar10", lambda: CifarCNN(3, "tanh"), 4, dict(optimizer="sgd", lr=0.01, momentum=0.9), 500),
    "r002-cnn6": ("cifar10", lambda: CifarCNN(6, "tanh"), 4, dict(optimizer="sgd", lr=0.01, momentum=0.9), 500),
    "teacher": ("tiny-imagenet", teacher, 64, dict(optimizer="adam", lr=1e-3), 20),
    "student": ("tiny-imagenet", student, 64, dict(optimizer="adam", lr=1e-3), 20),
}


# The ops that do the models' arithmetic (forward and backward): convolutions, matrix products, activations,
# pooling, batch norm, the loss. The rest of a step (copies, the optimizer's elementwise updates, dispatch,
# Python) could be fused or trimmed; these kernels' own time, at the shapes the engine gives them, is what
# would be left: an estimate of the engine's floor (other shapes or fused kernels cost differently).
ARITHMETIC_OPS = {
    "aten::mkldnn_convolution", "aten::cudnn_convolution", "aten::convolution_backward", "aten::_slow_conv2d_forward",
    "aten::_slow_conv2d_backward", "aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm",
    "aten::tanh", "aten::tanh_backward", "aten::sigmoid", "aten::sigmoid_backward", "aten::relu",
    "aten::clamp_min", "aten::threshold_backward", "aten::leaky_relu", "aten::leaky_relu_backward",
    "aten::max_pool2d_with_indices", "aten::max_pool2d_with_indices_backward",
    "aten::native_batch_norm", "aten::native_batch_norm_backward", "aten::_batch_norm_with_update",
    "aten::batch_norm_backward", "aten::_log_softmax", "aten::_log_softmax_backward_data",
    "aten::nll_loss_forward", "aten::nll_loss_backward",
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="r002-cnn3")
    parser.add_argument("--steps", type=int, default=None, help="steps to profile (default: 200 at batch 4, 4 at 64)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the harness's default is 1)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:K")
    args = parser.parse_args(argv)
    try:
        device = torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device {args.device}: give cpu, cuda or cuda:K")
    if device.type not in ("cpu", "cuda") or (device.type == "cuda" and not torch.cuda.is_available()):
        parser.error(f"--device {args.device}: " + ("CUDA is not available on this machine; use --device cpu"
                                                    if device.type == "cuda" else "give cpu, cuda or cuda:K"))
    use_device(device)
    torch.set_num_threads(args.threads)
    numerics.set_deterministic_numerics()
    allocator.keep_freed_memory()  # as the harness's sessions run
    dataset, model_fn, batch, optimizer, per_class = MODELS[args.model]
    steps = args.steps or (200 if batch == 4 else 4)
    try:
        images = load_images(dataset, "train", resolve_data_root(None), per_class=per_class)
    except DataMissing as exc:
        parser.error(f"{exc.dataset} missing under {exc.where}; get it with: {exc.hint}")
    data = DeviceData(images, device, *NORMALIZATION[dataset])
    cfg = TrainConfig(epochs=1, batch_size=batch, max_steps_per_epoch=steps, grad_norm_steps=(0,),
                      running_loss_window=2000, **optimizer)
    seeds = list(range(args.seeds))
    train(model_fn, seeds, data, None, TrainConfig(epochs=1, batch_size=batch, max_steps_per_epoch=3))  # warm-up
    plain = float("inf")
    for _ in range(3):  # the best of three: other processes on a shared machine only ever slow a run down
        started = time.perf_counter()
        train(model_fn, seeds, data, None, cfg)
        plain = min(plain, time.perf_counter() - started)
    cuda = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])) as prof:
        started = time.perf_counter()
        train(model_fn, seeds, data, None, cfg)
        profiled = time.perf_counter() - started
    events = prof.key_averages()
    in_ops = sum(e.self_cpu_time_total for e in events) / 1e6
    # On CUDA an op's host time is its launch; the kernels' own time is the device's.
    own = (lambda e: e.self_device_time_total) if cuda else (lambda e: e.self_cpu_time_total)  # noqa: E731
    print(f"{args.model}, {args.seeds} seeds, batch {batch}, {steps} steps, torch {torch.__version__}, "
          + (device_name(device) if cuda else f"{torch.get_num_threads()} thread(s)"))
    print(f"unprofiled (best of 3): {plain / steps * 1e3:.2f} ms a step, {steps * batch * args.seeds / plain:,.0f} images/s")
    print(f"profiled:   {profiled / steps * 1e3:.2f} ms a step; self time inside ops {in_ops / profiled:.0%}, "
          f"outside any op (Python, the engine's loop) {1 - in_ops / profiled:.0%}")
    print(f"op calls a step: {sum(e.count for e in events) / steps:.0f}")
    arithmetic = sum(own(e) for e in events if e.key in ARITHMETIC_OPS) / 1e6 / steps
    print(f"arithmetic kernels (convolutions, matrix products, activations, pooling, batch norm, loss): "
          f"{arithmetic * 1e3:.2f} ms a step under the profiler, {arithmetic / (plain / steps):.0%} of the unprofiled "
          f"step: about what a step would take with every other cost gone, these kernels unchanged")
    others = sorted((e for e in events if e.key.startswith("aten::") and e.key not in ARITHMETIC_OPS),
                    key=lambda e: -own(e))[:5]
    print("costliest ops not counted as arithmetic: " + ", ".join(
        f"{e.key} {own(e) / 1e3 / steps:.3f} ms" for e in others))
    print(events.table(sort_by="self_device_time_total" if cuda else "self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
