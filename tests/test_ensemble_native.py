"""The ensemble-native CifarCNN forward equals the general vmap path: outputs, gradients, buffers, whole runs."""

from __future__ import annotations

import copy

import pytest
import torch

from harness.models import CifarCNN
from harness.train import Ensemble, TrainConfig, build_members, train

from .test_engine import synthetic_data, train_alone

ARCHITECTURES = {
    "3 FC tanh": dict(n_fc=3, activation="tanh"),
    "3 FC sigmoid": dict(n_fc=3, activation="sigmoid"),
    "3 FC shifted tanh": dict(n_fc=3, activation="tanh_shifted"),
    "6 FC tanh, batch norm, skips": dict(n_fc=6, activation="tanh", batch_norm=True, skip=True),
    "6 FC leaky relu": dict(n_fc=6, activation="leaky_relu"),
    "6 FC xavier, width 256": dict(n_fc=6, activation="tanh", init="xavier", added_width=256),
    "2 FC relu, 2 classes": dict(n_fc=2, activation="relu", num_classes=2),
}


def _pair(spec, dtype=torch.float64):
    native = Ensemble(build_members(lambda: CifarCNN(**spec), [1, 2, 3])).to(dtype).train()
    general = copy.deepcopy(native)
    general.native = False
    assert native.native
    return native, general


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_forward_backward_and_buffers_equal_the_vmap_path(name):
    native, general = _pair(ARCHITECTURES[name])
    x = torch.randn(3, 4, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for model in (native, general):
        model(x).square().sum().backward()
    torch.testing.assert_close(native(x), general(x), rtol=1e-10, atol=1e-12)
    # Round-off relative to the largest gradient: a bias before batch norm has gradient 0 analytically, and
    # each path's round-off there is of the order of the other gradients' last digits.
    scale = max(p.grad.abs().max().item() for p in general.parameters())
    for (n, a), b in zip(native.named_parameters(), general.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12 * scale, msg=n)
    for (n, a), b in zip(native.named_buffers(), general.buffers()):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=n)
    native.eval(), general.eval()
    torch.testing.assert_close(native(x), general(x), rtol=1e-10, atol=1e-12)


def test_dropout_nets_keep_the_vmap_path():
    assert not Ensemble(build_members(lambda: CifarCNN(2, "relu", dropout=0.5), [0])).native


def test_a_training_run_is_the_same_either_way(monkeypatch):
    data = synthetic_data(n=120)
    cfg = TrainConfig(epochs=2, batch_size=4, lr=0.01, momentum=0.9, precision="fp64")
    native = train(lambda: CifarCNN(**ARCHITECTURES["3 FC tanh"]), [0, 1], data, data, cfg)
    monkeypatch.setattr("harness.models.cifar_cnn_ensemble.supports", lambda template: False)
    general = train(lambda: CifarCNN(**ARCHITECTURES["3 FC tanh"]), [0, 1], data, data, cfg)
    assert native.model.native and not general.model.native
    for (n, a), b in zip(native.model.state_dict().items(), general.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10, msg=n)
    for key in native.history:
        torch.testing.assert_close(torch.tensor(native.history[key]), torch.tensor(general.history[key]),
                                   rtol=1e-8, atol=1e-10, msg=key)


def test_a_batch_norm_member_equals_its_lone_run():
    # Batch norm over 4 random-label images is ill-conditioned: round-off (another reduction order, the
    # channels-last layout) grows by orders of magnitude within 20 steps on either path, so the run is held
    # to the textbook lone run over its first 10 steps; the forward/backward test above checks each step.
    data = synthetic_data(n=40)
    spec = ARCHITECTURES["6 FC tanh, batch norm, skips"]
    cfg = TrainConfig(epochs=1, batch_size=4, lr=0.01, momentum=0.9, precision="fp64")
    result = train(lambda: CifarCNN(**spec), [0, 1], data, None, cfg)
    assert result.model.native
    alone = train_alone(build_members(lambda: CifarCNN(**spec), [0])[0], data, 0, cfg, torch.float64)
    for (n, a), b in zip(result.model.member(0).state_dict().items(), alone.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-8, msg=n)


@pytest.mark.parametrize("mode", ["fp64", "bf16-amp"])
def test_the_ensemble_linear_layer_equals_autograds_baddbmm(mode):
    # The layer's own backward (the weight's gradient in the weight's layout) against autograd's gradient of the
    # baddbmm it replaces, in full precision and under autocast, where both must compute in bfloat16.
    from harness.models.cifar_cnn_ensemble import _linear
    from harness.train import precision

    g = torch.Generator().manual_seed(0)
    dtype = torch.float64 if mode == "fp64" else torch.float32
    x, weight, bias = (torch.randn(*shape, dtype=dtype, generator=g) for shape in ((3, 4, 7), (3, 5, 7), (3, 5)))
    out_grad = torch.randn(3, 4, 5, dtype=dtype, generator=g)
    results, contiguous = [], []
    for layer in (_linear, lambda x, w, b: torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))):
        leaves = [t.clone().requires_grad_() for t in (x, weight, bias)]
        # The weight's gradient as the backward hands it over, before accumulation copies it into the weight's layout.
        leaves[1].register_hook(lambda grad: contiguous.append(grad.is_contiguous()))
        with precision.autocast(mode, torch.device("cpu")):
            y = layer(*leaves)
        y.backward(out_grad)
        results.append((y, *(t.grad for t in leaves)))
    tolerance = dict(rtol=1e-12, atol=1e-12) if mode == "fp64" else dict(rtol=1e-2, atol=1e-2)
    assert results[0][0].dtype == results[1][0].dtype == (torch.float64 if mode == "fp64" else torch.bfloat16)
    for name, mine, reference in zip(("output", "x grad", "weight grad", "bias grad"), *results):
        assert mine.dtype == reference.dtype, name
        torch.testing.assert_close(mine, reference, **tolerance, msg=name)
    assert contiguous == [True, False]  # what the layer is for: autograd's own gradient needs a copy, ours not
