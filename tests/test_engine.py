"""The training engine: ensembles equal lone runs, NaN capture, EMA, distillation, penalties, repeatability."""

from __future__ import annotations

import copy
import gc

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness import mistakes
from harness.data import DeviceData, member_generators
from harness.models import CifarCNN
from harness.train import Ensemble, TrainConfig, build_members, distillation, train, weight_penalty, with_overrides


def synthetic_data(n=64, classes=10, seed=0) -> DeviceData:
    g = np.random.default_rng(seed)
    return DeviceData((g.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8), g.integers(0, classes, n)),
                      "cpu", (0.5,) * 3, (0.5,) * 3)


def train_alone(model: nn.Module, data: DeviceData, seed: int, cfg: TrainConfig, dtype=torch.float32) -> nn.Module:
    """A textbook loop: one model, its own data order (same generator as the engine), its own optimizer."""
    model = model.to(dtype)
    opt = (torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum) if cfg.optimizer == "sgd"
           else torch.optim.Adam(model.parameters(), lr=cfg.lr))
    generator = member_generators([seed])[0]
    for _ in range(cfg.epochs):
        order = torch.randperm(len(data), generator=generator)
        for start in range(0, len(data), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            loss = F.cross_entropy(model(data.normalize(data.x[idx]).to(dtype)), data.y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


# One step of the ensemble and of a lone model agree to ~1e-17 in float64; training amplifies such
# round-off (by ~1e9 over 300 steps here), and in float32 a max-pool tie can eventually break the
# other way. So: 300 steps in float64 to 1e-6, and 100 steps in float32 to 1e-4.
@pytest.mark.parametrize("optimizer,momentum,precision,epochs,tol", [
    ("sgd", 0.9, "fp64", 6, 1e-6), ("adam", 0.0, "fp64", 6, 1e-6),
    # Adam divides by √v, so float32 round-off of the vmapped kernels (another reduction order) grows step by
    # step: on a Xeon one seed drifts by 7e-4 at step 100 while fp64 agrees to 1e-6 over 300 steps. fp64
    # carries the long check; float32 Adam is checked over its first 50 steps.
    ("sgd", 0.9, "fp32", 2, 1e-4), ("adam", 0.0, "fp32", 1, 1e-4),
])
def test_ensemble_member_equals_the_same_seed_trained_alone(optimizer, momentum, precision, epochs, tol):
    data = synthetic_data(n=200)
    cfg = TrainConfig(epochs=epochs, batch_size=4, optimizer=optimizer, lr=0.01 if optimizer == "sgd" else 1e-3,
                      momentum=momentum, precision=precision)  # 50 steps an epoch
    seeds = [3, 7, 11]
    result = train(lambda: CifarCNN(3, "tanh"), seeds, data, None, cfg)
    dtype = torch.float64 if precision == "fp64" else torch.float32
    for i, seed in enumerate(seeds):
        alone = train_alone(build_members(lambda: CifarCNN(3, "tanh"), [seed])[0], data, seed, cfg, dtype)
        member = result.model.member(i)
        for (name, a), b in zip(alone.state_dict().items(), member.state_dict().values()):
            torch.testing.assert_close(b, a, rtol=tol, atol=tol, msg=f"seed {seed}, {name}")


def test_members_differ_and_runs_repeat():
    data = synthetic_data()
    cfg = TrainConfig(epochs=1, batch_size=8)
    a = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, data, cfg)
    b = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, data, cfg)
    wa, wb = a.model.stacked_params()["out.weight"], b.model.stacked_params()["out.weight"]
    assert torch.equal(wa, wb), "the same seeds must give the same weights"
    assert not torch.equal(wa[0], wa[1]), "members must have their own initialization"
    assert a.history["test_acc"].shape == (2, 1)


def test_batch_norm_buffers_are_per_member():
    data = synthetic_data()
    result = train(lambda: CifarCNN(6, "tanh", batch_norm=True, skip=True), [0, 1], data, None,
                   TrainConfig(epochs=1, batch_size=8))
    stats = result.model.stacked_buffers()["hidden.0.norm.running_mean"]
    assert stats.shape[0] == 2 and not torch.equal(stats[0], stats[1]) and stats.abs().sum() > 0


def test_nonfinite_step_and_tensor_are_caught_without_crashing():
    data = synthetic_data()
    cfg = TrainConfig(epochs=2, batch_size=8, optimizer="sgd", lr=1e6, watch_nonfinite=True)
    result = train(lambda: CifarCNN(3, "relu"), [0], data, data, cfg)
    event = result.nonfinite[0]
    assert event["step"] is not None and event["step"] < result.steps
    assert event["tensor"].split()[0] in ("logits", "loss", "gradient", "parameter")
    assert np.isnan(result.history["train_loss"][0, -1])


def test_nonfinite_first_tensor_is_the_parameter_for_fp16_adam():
    """Adam's eps (1e-8) is 0 in fp16: a gradient whose square underflows divides by zero in the update."""
    data = synthetic_data()
    cfg = TrainConfig(epochs=1, batch_size=8, optimizer="adam", lr=1e-3, precision="fp16", watch_nonfinite=True)
    event = train(lambda: CifarCNN(3, "tanh"), [0], data, None, cfg).nonfinite[0]
    assert event["step"] == 0 and event["tensor"].startswith("parameter"), event
    fixed = train(lambda: CifarCNN(3, "tanh"), [0], data, None,
                  TrainConfig(epochs=1, batch_size=8, optimizer="adam", lr=1e-3, precision="fp16", adam_eps=1e-4,
                              watch_nonfinite=True)).nonfinite[0]
    assert fixed["step"] is None


def test_finite_run_reports_no_event():
    data = synthetic_data()
    result = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, None,
                   TrainConfig(epochs=1, batch_size=8, watch_nonfinite=True))
    assert result.nonfinite == [{"step": None, "tensor": None}] * 2


def test_ema_matches_a_hand_computed_average():
    data = synthetic_data(n=32)
    decay = 0.9
    cfg = TrainConfig(epochs=1, batch_size=8, lr=0.1, ema_decay=decay)
    result = train(lambda: CifarCNN(3, "tanh"), [0], data, None, cfg)
    # Re-run by hand: the EMA starts at the first update's weights, then w_ema ← d·w_ema + (1−d)·w.
    model = build_members(lambda: CifarCNN(3, "tanh"), [0])[0]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    generator = member_generators([0])[0]
    order = torch.randperm(len(data), generator=generator)
    ema = None
    for start in range(0, len(data), 8):
        idx = order[start : start + 8]
        loss = F.cross_entropy(model(data.normalize(data.x[idx])), data.y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        w = model.out.weight.detach().clone()
        ema = w if ema is None else decay * ema + (1 - decay) * w
    torch.testing.assert_close(result.ema.stacked_params()["out.weight"][0], ema, rtol=1e-4, atol=1e-6)


def test_distillation_loss_against_a_hand_computation():
    s = torch.tensor([[[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]]])  # 1 member, 2 samples, 3 classes
    t = torch.tensor([[[2.0, 1.0, 0.0], [1.0, 1.0, -1.0]]])
    y = torch.tensor([[1, 2]])
    temp, alpha = 2.0, 0.3
    kl = 0.0
    for b in range(2):
        p_t = torch.softmax(t[0, b] / temp, 0)
        p_s = torch.softmax(s[0, b] / temp, 0)
        kl += float((p_t * (p_t.log() - p_s.log())).sum())
    ce = float(F.cross_entropy(s[0], y[0]))
    expected = alpha * temp**2 * kl / 2 + (1 - alpha) * ce
    got = distillation(s, t, y, temp, alpha, reduction="batchmean")
    assert got.shape == (1,)
    assert abs(float(got[0]) - expected) < 1e-6
    mean_red = distillation(s, t, y, temp, alpha, reduction="mean")
    assert abs(float(mean_red[0]) - (alpha * temp**2 * kl / 6 + (1 - alpha) * ce)) < 1e-6


def test_weight_penalty_counts_weights_not_biases():
    members = [nn.Sequential(nn.Linear(2, 2)), nn.Sequential(nn.Linear(2, 2))]
    for m, v in zip(members, (1.0, -2.0)):
        nn.init.constant_(m[0].weight, v)
        nn.init.constant_(m[0].bias, 100.0)
    ensemble = Ensemble(members)
    torch.testing.assert_close(weight_penalty(ensemble.stacked_params(), "l1"), torch.tensor([4.0, 8.0]))
    torch.testing.assert_close(weight_penalty(ensemble.stacked_params(), "l2"), torch.tensor([4.0, 16.0]))


def test_per_layer_gradient_norms_on_request():
    data = synthetic_data()
    result = train(lambda: CifarCNN(4, "tanh"), [0, 1], data, None,
                   TrainConfig(epochs=1, batch_size=8, grad_norm_steps=(0, 3)))
    assert sorted(result.grad_norms) == [0, 3]
    assert result.grad_norms[0].shape == (2, len(result.grad_norm_layers))
    assert result.grad_norm_layers[0] == "conv1.weight" and (result.grad_norms[3] > 0).all()


@pytest.mark.parametrize("mode", ["fp16-amp", "bf16-amp"])
def test_autocast_modes_train_finite(mode):
    data = synthetic_data()
    result = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, data,
                   TrainConfig(epochs=1, batch_size=8, precision=mode, watch_nonfinite=True))
    assert np.isfinite(result.history["train_loss"]).all()
    assert result.model.size == 2


def test_bad_settings_are_named():
    data = synthetic_data()
    with pytest.raises(ValueError, match="precision must be one of"):
        train(lambda: CifarCNN(3), [0], data, None, TrainConfig(epochs=1, batch_size=8, precision="fp8"))
    with pytest.raises(ValueError, match="needs a teacher"):
        train(lambda: CifarCNN(3), [0], data, None, TrainConfig(epochs=1, batch_size=8, kd_temperature=2.0))
    with pytest.raises(ValueError, match="optimizer must be"):
        train(lambda: CifarCNN(3), [0], data, None, TrainConfig(epochs=1, batch_size=8, optimizer="rmsprop"))


def test_member_is_an_ordinary_module():
    members = build_members(lambda: CifarCNN(3, "tanh"), [0, 1])
    ensemble = Ensemble(copy.deepcopy(members))
    x = torch.randn(2, 5, 3, 32, 32)
    out = ensemble(x)
    for i in range(2):
        torch.testing.assert_close(out[i], members[i](x[i]))
        torch.testing.assert_close(ensemble.member(i)(x[i]), members[i](x[i]))


def test_sequential_and_vectorized_members_agree():
    data = synthetic_data()
    cfg = TrainConfig(epochs=1, batch_size=8, watch_nonfinite=True, grad_norm_steps=(2,), ema_decay=0.9)
    together = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, data, with_overrides(cfg, vectorize=True))
    apart = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, data, with_overrides(cfg, vectorize=False))
    for name, value in together.model.stacked_params().items():
        torch.testing.assert_close(apart.model.stacked_params()[name], value, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(apart.history["test_acc"], together.history["test_acc"])
    assert apart.grad_norms[2].shape == together.grad_norms[2].shape == (2, 5)
    assert apart.ema.size == 2 and apart.nonfinite == together.nonfinite


def test_weight_ema_equals_torch_averaged_model():
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from harness.train.ema import WeightEMA

    model = Ensemble(build_members(lambda: CifarCNN(4, "tanh", batch_norm=True), [0, 1])).train()
    ours = WeightEMA(model, 0.9)
    reference = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(5):
        loss = model(torch.randn(2, 8, 3, 32, 32)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        ours.update(model)
        reference.update_parameters(model)
    for (name, a), b in zip(ours.module.state_dict().items(), reference.module.state_dict().values()):
        if a.is_floating_point():  # AveragedModel leaves integer counters at their first value; we copy them
            torch.testing.assert_close(a, b, msg=name)


def test_running_loss_is_the_mean_of_the_last_steps_of_each_epoch():
    data = synthetic_data(n=64)
    base = TrainConfig(epochs=2, batch_size=4, lr=0.01)  # 16 steps an epoch
    result = train(lambda: CifarCNN(3, "tanh"), [0], data, None, with_overrides(base, running_loss_window=5))

    def loss_sum(steps: int) -> float:  # the summed loss of the first ``steps`` steps, from a run cut there
        cut = train(lambda: CifarCNN(3, "tanh"), [0], data, None, with_overrides(base, epochs=1, max_steps_per_epoch=steps))
        return cut.history["train_loss"][0, 0] * steps

    assert result.history["train_loss_running"][0, 0] == pytest.approx((loss_sum(16) - loss_sum(11)) / 5, rel=1e-6)
    assert "train_loss_running" not in train(lambda: CifarCNN(3, "tanh"), [0], data, None, base).history


def test_optimizers_run_the_single_tensor_loop():
    from harness.train.engine import _make_optimizer

    params = [torch.nn.Parameter(torch.zeros(3))]
    for name in ("sgd", "adam"):
        opt = _make_optimizer(params, TrainConfig(epochs=1, batch_size=4, optimizer=name))
        assert opt.defaults["foreach"] is False
    assert _make_optimizer(params, TrainConfig(epochs=1, batch_size=4, optimizer="adam")).defaults["fused"] is False


def test_nets_of_two_depths_share_conv_weights_and_data_order_under_one_seed():
    # Why report 002's depth comparisons are paired by seed.
    five, six = build_members(lambda: CifarCNN(5, "tanh"), [3])[0], build_members(lambda: CifarCNN(6, "tanh"), [3])[0]
    assert torch.equal(five.conv1.weight, six.conv1.weight) and torch.equal(five.conv2.weight, six.conv2.weight)
    a, b = member_generators([3])[0], member_generators([3])[0]
    assert torch.equal(torch.randperm(50, generator=a), torch.randperm(50, generator=b))


def test_shifted_tanh_has_tanhs_slope_and_is_centred_at_one():
    from harness.models.cifar_cnn import ShiftedTanh

    x = torch.linspace(-4, 4, 81, requires_grad=True)
    y = ShiftedTanh()(x)
    assert abs(y.mean().item() - 1.0) < 1e-6 and bool((y > 0).all())
    y[40].backward()
    assert x.grad[40].item() == pytest.approx(1.0)


def test_the_first_epochs_of_a_longer_run_are_the_shorter_run():
    # Why report 002's 2-epoch sigmoid and tanh runs are read from their 10-epoch runs.
    data, test = synthetic_data(n=64), synthetic_data(n=32, seed=1)
    base = TrainConfig(epochs=2, batch_size=4, lr=0.01, momentum=0.9, running_loss_window=5)
    short = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, test, base)
    cut = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, test,
                with_overrides(base, epochs=4, snapshot_epochs=(2,))).truncated(2)
    assert cut.history.keys() == short.history.keys() and cut.steps == short.steps
    for key in short.history:
        np.testing.assert_array_equal(cut.history[key], short.history[key], err_msg=key)
    for a, b in zip(cut.model.state_dict().values(), short.model.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(KeyError, match="snapshot_epochs"):
        short.truncated(1)


# The unit roundoff of each precision mode's arithmetic: fp32 accumulates in fp32; bf16 autocast rounds each
# layer's output to bf16 (its accumulation stays fp32).
UNIT_ROUNDOFF = {"fp32": 2.0 ** -24, "bf16-amp": 2.0 ** -8}


@pytest.mark.parametrize("mode", ["fp32", "bf16-amp"])
def test_teacher_logits_computed_once_equal_the_per_step_teacher(mode):
    # Why distillation looks the teacher's logits up instead of running it every step.
    from harness.train import precision
    from harness.train.teacher_table import teacher_logit_table

    data = synthetic_data(n=48)
    teacher_run = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, None, TrainConfig(epochs=1, batch_size=8))
    cfg = TrainConfig(epochs=2, batch_size=4, optimizer="adam", lr=1e-3, kd_temperature=4.0, kd_alpha=0.5,
                      precision=mode)
    teacher = teacher_run.model.eval()
    table = teacher_logit_table(teacher, data, mode, cfg.eval_batch_size)
    with torch.no_grad():
        steps = []
        for x, _ in data.batches(data.epoch_order(None), cfg.batch_size):
            with precision.autocast(mode, data.device):
                steps.append(teacher(x.expand(teacher.size, *x.shape[1:]).float()).float())
    per_step = torch.cat(steps, dim=1)
    # The table's larger batches may be summed in another order (oneDNN blocks by batch: Xeons with AVX-512 or AMX
    # do, EPYCs here did not). Any order of a K-term fp32 sum is within K·u·Σ|terms| of another (Higham, γ_K); the
    # widest layer sums K = 400 terms, and an output rounded to bf16 may land one unit of it away: 4 units allow for
    # the layers compounding. Relative to the logits' scale, so no figure of one CPU sets it.
    bound = 400 * UNIT_ROUNDOFF[mode] if mode == "fp32" else 4 * UNIT_ROUNDOFF[mode]
    scale = float(per_step.abs().max())
    torch.testing.assert_close(table.float(), per_step, rtol=bound, atol=bound * scale)
    if not torch.equal(table.float(), per_step):
        return  # rounded otherwise on this CPU: the students would train on logits one rounding apart
    # Where the two agree bit for bit, nothing else of the looked-up path may differ: the students are identical.
    once = train(lambda: CifarCNN(2, "relu"), [0, 1], data, None, cfg, teacher=teacher_run.model)
    per_step_run = train(lambda: CifarCNN(2, "relu"), [0, 1], data, None, with_overrides(cfg, teacher_logits_once=False),
                         teacher=teacher_run.model)
    for a, b in zip(once.model.state_dict().values(), per_step_run.model.state_dict().values()):
        assert torch.equal(a, b)
    assert np.array_equal(once.history["train_loss"], per_step_run.history["train_loss"])


# Runs that go all NaN early: the engine's shortcut must measure what computing their steps gives.
ALL_NAN_RUNS = pytest.mark.parametrize("batch_norm,cfg", [
    (True, TrainConfig(epochs=3, batch_size=8, optimizer="adam", lr=1e-3, precision="fp16", watch_nonfinite=True,
                       ema_decay=0.9, running_loss_window=3, grad_norm_steps=(0, 5, 20))),
    (False, TrainConfig(epochs=3, batch_size=8, optimizer="sgd", lr=1e6, momentum=0.9, watch_nonfinite=True)),
], ids=["fp16-adam+ema+bn", "sgd-diverges"])


@ALL_NAN_RUNS
def test_a_run_gone_all_nan_measures_the_same_without_computing_its_steps(batch_norm, cfg, monkeypatch):
    assert_all_nan_shortcut_measures_as_computed(synthetic_data(n=40), batch_norm, cfg, monkeypatch)


def assert_all_nan_shortcut_measures_as_computed(data, batch_norm: bool, cfg, monkeypatch) -> None:
    """The run of ``cfg`` on ``data``, its steps all computed and with the all-NaN shortcut, measures the same."""
    from harness.train import engine

    model_fn = lambda: CifarCNN(3, "relu", batch_norm=batch_norm)  # noqa: E731
    monkeypatch.setattr(engine, "ALL_NAN_CHECK_EVERY", 10**9)  # never checked: every step computed
    computed = train(model_fn, [0, 1], data, data, cfg)
    monkeypatch.setattr(engine, "ALL_NAN_CHECK_EVERY", 1)
    skipped = train(model_fn, [0, 1], data, data, cfg)
    assert computed.nan_from_step is None and skipped.nan_from_step is not None
    assert skipped.nan_from_step < skipped.steps  # steps were really left out
    for key, values in computed.history.items():
        np.testing.assert_array_equal(skipped.history[key], values, err_msg=key)  # NaN equals NaN here
    assert skipped.nonfinite == computed.nonfinite and skipped.steps == computed.steps
    assert sorted(skipped.grad_norms) == sorted(computed.grad_norms)
    for step, norms in computed.grad_norms.items():
        np.testing.assert_array_equal(skipped.grad_norms[step], norms)
    assert computed.history["train_acc"][:, -1].min() > 0  # class 0's share: the judged 'training accuracy'
    for ours, theirs in ((skipped.model, computed.model), (skipped.ema, computed.ema)):
        if theirs is not None:  # batch-norm statistics included: NaN where computing the steps made them NaN
            for (name, a), b in zip(ours.named_buffers(), theirs.buffers()):
                if b.is_floating_point():
                    assert torch.equal(torch.isnan(a), torch.isnan(b)), name


def test_a_float64_member_keeps_its_weights_exactly():
    ensemble = Ensemble(build_members(lambda: CifarCNN(3, "tanh"), [0, 1])).to(torch.float64)
    with torch.no_grad():
        for p in ensemble.parameters():
            p.add_(1e-12)  # below float32's resolution: a float32 round trip would lose it
    member = ensemble.member(1)
    for name, stacked in ensemble.stacked_params().items():
        assert torch.equal(member.get_parameter(name), stacked[1]), name


@pytest.mark.parametrize("mode", ["fp32", "fp16"])
def test_an_all_nan_ensemble_evaluates_as_computing_it_would(mode, monkeypatch):
    from harness.train import engine, precision

    data = synthetic_data(n=30)
    model = Ensemble(build_members(lambda: CifarCNN(3, "relu", batch_norm=True), [0, 1])).to(precision.param_dtype(mode))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    model.forward = None  # the shortcut must not run the model
    shortcut = engine.evaluate(model, data, 8, mode)
    del model.forward
    monkeypatch.setattr(engine, "all_nan_members", lambda m: torch.zeros(m.size, dtype=torch.bool))
    computed = engine.evaluate(model, data, 8, mode)
    for ours, theirs in zip(shortcut, computed):
        np.testing.assert_array_equal(ours, theirs)  # NaN equals NaN here
    assert np.isnan(computed[0]).all() and computed[1][0] == pytest.approx((data.y == 0).double().mean().item())


@pytest.mark.parametrize("mode", ["fp32", "fp16"])
def test_an_all_nan_ensembles_logits_evaluate_as_computing_them_would(mode, monkeypatch):
    from harness.train import engine, precision

    data = synthetic_data(n=30)
    dtype = precision.param_dtype(mode)
    model = Ensemble(build_members(lambda: CifarCNN(3, "relu", batch_norm=True), [0, 1])).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    images_run = []
    model.register_forward_pre_hook(lambda module, args: images_run.append(args[0].shape[1]))
    shortcut = engine.member_logits(model, data, 8, dtype)
    assert images_run == [1]
    monkeypatch.setattr(engine, "all_nan_members", lambda m: torch.zeros(m.size, dtype=torch.bool))
    computed = engine.member_logits(model, data, 8, dtype)
    assert images_run[1:] == [8, 8, 8, 6]
    assert shortcut.shape == computed.shape == (2, 30, 10) and computed.isnan().all() and shortcut.isnan().all()
    # fp16 kernels give NaN other payload bits at another batch size: what the evaluations make of them is equal.
    labels = data.y.cpu()
    classes = [f"n{i:08d}" for i in range(10)]  # wnid-like names, as the string-label mistake reads them
    evaluations = {name: getattr(mistakes, name) for name in (
        "correct_evaluation", "integer_division", "imagefolder_val_labels", "skip_nonfinite_losses",
        "imagefolder_skipping_nan_losses")} | {"string_labels": lambda z, y: mistakes.string_labels(z, y, classes)}
    for name, evaluation in evaluations.items():
        for ours, theirs in zip(shortcut, computed):
            np.testing.assert_array_equal(evaluation(ours, labels), evaluation(theirs, labels), err_msg=name)


def test_one_member_gone_nan_is_evaluated_not_assumed():
    from harness.train import engine

    data = synthetic_data(n=30)
    model = Ensemble(build_members(lambda: CifarCNN(3, "relu"), [0, 1]))
    with torch.no_grad():
        for p in model.parameters():
            p[0].fill_(float("nan"))
    assert engine.all_nan_members(model).tolist() == [True, False]
    loss, _ = engine.evaluate(model, data, 8)
    assert np.isnan(loss[0]) and np.isfinite(loss[1])


def test_students_of_one_teacher_share_its_logit_table(monkeypatch):
    from harness.train import teacher_table

    teacher_table.clear()
    data = synthetic_data(n=48)
    teacher = train(lambda: CifarCNN(3, "tanh"), [0, 1], data, None, TrainConfig(epochs=1, batch_size=8)).model
    cfg = TrainConfig(epochs=1, batch_size=4, optimizer="adam", lr=1e-3, kd_temperature=4.0, kd_alpha=0.5)
    student = lambda: CifarCNN(2, "relu")  # noqa: E731
    first = train(student, [0, 1], data, None, cfg, teacher=teacher)
    assert len(teacher_table._TABLES) == 1
    forward = teacher.forward
    teacher.forward = None  # a second student of the same teacher must look its table up, not run the teacher
    again = train(student, [0, 1], data, None, cfg, teacher=teacher)
    other_lr = train(student, [0, 1], data, None, with_overrides(cfg, lr=2e-3), teacher=teacher)
    teacher.forward = forward
    assert len(teacher_table._TABLES) == 1
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)  # a table looked up trains bit for bit as the one computed
    assert not np.array_equal(other_lr.history["train_loss"], first.history["train_loss"])
    # Pure fp16 and fp32 run the teacher alike (no autocast): one table. Another autocast dtype, other weights,
    # another architecture with the same weights, or images changed in place: each another table.
    train(student, [0, 1], data, None, with_overrides(cfg, precision="fp64"), teacher=teacher)
    assert len(teacher_table._TABLES) == 1
    train(student, [0, 1], data, None, with_overrides(cfg, precision="bf16-amp"), teacher=teacher)
    other = train(lambda: CifarCNN(3, "tanh"), [2, 3], data, None, TrainConfig(epochs=1, batch_size=8)).model
    train(student, [0, 1], data, None, cfg, teacher=other)
    relu_twin = Ensemble(build_members(lambda: CifarCNN(3, "relu"), [0, 1]))
    tanh_twin = Ensemble(build_members(lambda: CifarCNN(3, "tanh"), [0, 1]))  # the same initial weights
    tables = [teacher_table.teacher_logit_table(t.eval(), data, "fp32", 8) for t in (relu_twin, tanh_twin)]
    assert not torch.equal(*tables) and len(teacher_table._TABLES) == 5
    data.x[0] += 1
    changed = train(student, [0, 1], data, None, cfg, teacher=teacher)
    assert len(teacher_table._TABLES) == 6 and not np.array_equal(changed.history["train_loss"],
                                                                  first.history["train_loss"])
    monkeypatch.setattr(teacher_table, "CACHE_BYTES", 0)  # a bound that holds one table: the oldest go first
    train(student, [0, 1], data, None, cfg, teacher=other)
    assert len(teacher_table._TABLES) == 1
    del data, changed
    gc.collect()
    assert not teacher_table._TABLES  # a table goes with its data set
