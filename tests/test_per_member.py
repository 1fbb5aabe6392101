"""Runs that differ only in SGD hyperparameters, trained as one ensemble, equal the runs trained apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.models import CifarCNN
from harness.train import TrainConfig, train, train_together
from harness.train.per_member import PerMemberSGD

from .test_engine import synthetic_data


@pytest.mark.parametrize("precision,tol", [("fp64", 1e-9), ("fp32", 1e-4)])
def test_momentum_0_and_0_9_trained_together_equal_each_alone(precision, tol):
    data = synthetic_data(n=48)
    base = TrainConfig(epochs=2, batch_size=4, optimizer="sgd", lr=0.01, precision=precision,
                       grad_norm_steps=(0, 7), running_loss_window=5, snapshot_epochs=(1,))
    runs = [([0, 1], TrainConfig(**{**base.__dict__, "momentum": 0.0})),
            ([0, 1], TrainConfig(**{**base.__dict__, "momentum": 0.9})),
            ([2], TrainConfig(**{**base.__dict__, "momentum": 0.5, "lr": 0.02, "weight_decay": 1e-3}))]
    model_fn = lambda: CifarCNN(3, "tanh")  # noqa: E731
    together = train_together(model_fn, runs, data, data)
    for (seeds, cfg), joint in zip(runs, together):
        alone = train(model_fn, seeds, data, data, cfg)
        assert joint.seeds == alone.seeds and joint.steps == alone.steps
        for key, values in alone.history.items():
            np.testing.assert_allclose(joint.history[key], values, rtol=tol, atol=tol, err_msg=key)
        for name, p in alone.model.stacked_params().items():
            np.testing.assert_allclose(joint.model.stacked_params()[name].detach().numpy(), p.detach().numpy(),
                                       rtol=tol, atol=tol, err_msg=name)
        for step, norms in alone.grad_norms.items():
            np.testing.assert_allclose(joint.grad_norms[step], norms, rtol=tol, atol=tol)
        assert sorted(joint.snapshots) == [1]


def test_only_sgd_runs_that_differ_in_lr_momentum_or_decay_train_together():
    data = synthetic_data(n=8)
    sgd = TrainConfig(epochs=1, batch_size=4, optimizer="sgd")
    with pytest.raises(ValueError, match="differ only in"):
        train_together(lambda: CifarCNN(3, "tanh"), [([0], sgd), ([1], TrainConfig(epochs=2, batch_size=4))],
                       data, None)
    with pytest.raises(ValueError, match="differ only in"):
        train_together(lambda: CifarCNN(3, "tanh"), [([0], TrainConfig(epochs=1, batch_size=4, optimizer="adam"))],
                       data, None)
    with pytest.raises(ValueError, match="fp32 or fp64 runs without distillation"):
        train_together(lambda: CifarCNN(3, "tanh"), [([0], TrainConfig(epochs=1, batch_size=4, precision="bf16-amp"))],
                       data, None)
    with pytest.raises(ValueError, match="2 members, but 1 learning rates"):
        PerMemberSGD([torch.zeros(2, 3, requires_grad=True)], lr=[0.1], momentum=[0, 0], weight_decay=[0, 0])
