"""Report 002, Q1 part 1: sigmoid against tanh in the tutorial CNN with 3 FC layers.

The report trains the net for 2 epochs with SGD at lr 0.01: sigmoid stays at
10 % (losses 2.313, 2.308), tanh reaches 53 % (1.716, 1.394). It explains the gap
by tanh's zero-centred activations and by too few epochs for sigmoid.
"""

from __future__ import annotations

import numpy as np
import torch

from harness.claims import combine, figure_verdict, ordering_verdict
from harness.session import for_each_reading
from harness.stats import describe, mean_ci

from .common import cifar, pct, train_cnn

LOSS_TOLERANCE = 0.05
LONGER_EPOCHS = {"smoke": 6, "full": 10}


def _accuracy_and_loss_claim(run, activation: str):
    result = train_cnn(run, n_fc=3, activation=activation)
    claim = run.claim
    acc = pct(result.final("test_acc"))
    acc_verdict, acc_ci = figure_verdict(acc, claim.claimed["test_acc"], claim.tolerance)
    loss2 = result.history["train_loss"][:, 1]
    loss_verdict, loss_ci = figure_verdict(loss2, claim.claimed["loss_epoch2"], LOSS_TOLERANCE)
    run.finish(
        combine([acc_verdict, loss_verdict]),
        claimed=f"test acc {claim.claimed['test_acc']:.0f} %; losses {claim.claimed['loss_epoch1']}, "
                f"{claim.claimed['loss_epoch2']}",
        measured=f"test acc {describe(acc_ci, '%')}; losses {result.history['train_loss'][:, 0].mean():.3f}, "
                 f"{describe(loss_ci, digits=3)}",
        interval=acc_ci, claimed_value=claim.claimed["test_acc"],
        figures={"acc_verdict": str(acc_verdict), "loss_epoch2_verdict": str(loss_verdict),
                 "loss_epoch1_mean": float(result.history["train_loss"][:, 0].mean()), "test_acc_per_seed": acc},
        curves={"train_loss": result.history["train_loss"].tolist(), "test_acc": result.history["test_acc"].tolist()},
    )
    return result


@for_each_reading("r002.sigmoid_chance")
def test_sigmoid_chance(harness, reading):
    run = harness.start("r002.sigmoid_chance", reading)
    result = _accuracy_and_loss_claim(run, "sigmoid")
    if run.choices["momentum"] == 0.0:
        # Plain SGD at lr 0.01 cannot move a sigmoid net off chance in 2 epochs at any budget.
        assert np.all(result.final("test_acc") < 0.15), result.final("test_acc")


@for_each_reading("r002.tanh_learns")
def test_tanh_learns(harness, reading):
    run = harness.start("r002.tanh_learns", reading)
    tanh = _accuracy_and_loss_claim(run, "tanh")
    sigmoid = train_cnn(run, n_fc=3, activation="sigmoid")
    if run.choices["momentum"] == 0.0:
        # With plain SGD the tanh net learns where the sigmoid one does not, at any budget (same seeds).
        # With momentum 0.9 at batch 4 neither holds: the full run measured tanh falling back and
        # sigmoid learning for some seeds, which the verdict reports.
        assert np.all(tanh.final("test_acc") > sigmoid.final("test_acc") + 0.05), (
            tanh.final("test_acc"), sigmoid.final("test_acc"))


@torch.no_grad()
def hidden_activation_means(result, test_data, images: int = 1000) -> np.ndarray:
    """Per seed, the mean over hidden layers of |mean activation| on the first ``images`` test images."""
    x = test_data.normalize(test_data.x[:images])
    out = []
    for i in range(result.model.size):
        member = result.model.member(i).eval()
        layers = member.features(x)[:-1]  # all but the logits
        out.append(float(np.mean([layer.mean().abs().item() for layer in layers])))
    return np.array(out)


@for_each_reading("r002.tanh_zero_mean")
def test_tanh_zero_mean(harness, reading):
    run = harness.start("r002.tanh_zero_mean", reading)
    _, test_data = cifar(run)
    sigmoid = hidden_activation_means(train_cnn(run, n_fc=3, activation="sigmoid"), test_data)
    tanh = hidden_activation_means(train_cnn(run, n_fc=3, activation="tanh"), test_data)
    verdict, p = ordering_verdict(sigmoid, tanh)
    run.finish(verdict, claimed="tanh activations are centred nearer 0 than sigmoid's",
               measured=f"|mean activation|: sigmoid {describe(mean_ci(sigmoid), digits=3)}, "
                        f"tanh {describe(mean_ci(tanh), digits=3)}; Welch p = {p:.2g}",
               interval=mean_ci(sigmoid - tanh),
               figures={"sigmoid_per_seed": sigmoid.tolist(), "tanh_per_seed": tanh.tolist(), "p_value": p})
    # A sigmoid's outputs lie in (0, 1), so its mean activation is far from 0 whatever the budget.
    assert np.all(sigmoid > tanh), (sigmoid, tanh)


@for_each_reading("r002.sigmoid_catches_up")
def test_sigmoid_catches_up(harness, reading):
    run = harness.start("r002.sigmoid_catches_up", reading)
    epochs = LONGER_EPOCHS[harness.profile]
    sigmoid = train_cnn(run, epochs=epochs, n_fc=3, activation="sigmoid")
    tanh = train_cnn(run, epochs=epochs, n_fc=3, activation="tanh")
    gap = 100 * (tanh.history["test_acc"] - sigmoid.history["test_acc"])  # seeds x epochs, pp
    verdict, p = ordering_verdict(gap[:, 1], gap[:, -1])
    run.finish(verdict, claimed="with more epochs the sigmoid–tanh gap would shrink",
               measured=f"gap after epoch 2 {describe(mean_ci(gap[:, 1]), 'pp')}, after epoch {epochs} "
                        f"{describe(mean_ci(gap[:, -1]), 'pp')}; Welch p = {p:.2g}",
               interval=mean_ci(gap[:, 1] - gap[:, -1]),
               figures={"epochs": epochs, "gap_epoch2": gap[:, 1].tolist(), "gap_last": gap[:, -1].tolist(),
                        "p_value": p},
               curves={"sigmoid_test_acc": sigmoid.history["test_acc"].tolist(),
                       "tanh_test_acc": tanh.history["test_acc"].tolist()})
    assert gap.shape == (len(harness.seeds), epochs) and np.isfinite(gap).all()
    if run.choices["momentum"] == 0.0:
        # With plain SGD tanh leads at epoch 2 at any budget (the premise of the claim).
        assert np.all(gap[:, 1] > 0), gap[:, 1]
