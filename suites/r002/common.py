"""What report 002's Q1 experiments share: the data, the training setup, and one memoized run per net."""

from __future__ import annotations

from harness.models import CifarCNN
from harness.train import TrainConfig, TrainResult, with_overrides

GRAD_NORM_POINTS = 5
# The PyTorch tutorial prints the mean loss of the last 2,000 mini-batches: the report's second loss reading.
RUNNING_LOSS_WINDOW = 2000


def cifar(claim):
    """CIFAR-10 train and test of the claim's budget, on the device (NOT RUN + skip if missing)."""
    return (claim.data("cifar10", "train", per_class=claim.budget["train_per_class"]),
            claim.data("cifar10", "test", per_class=claim.budget["test_per_class"]))


def q1_config(momentum: float, epochs: int, steps_per_epoch: int, lr: float = 0.01) -> TrainConfig:
    """The report's Q1 training: SGD, lr 0.01, batch 4; gradient norms kept at 5 points spread over training."""
    total = epochs * steps_per_epoch
    points = tuple(sorted({int(i * (total - 1) / (GRAD_NORM_POINTS - 1)) for i in range(GRAD_NORM_POINTS)}))
    return TrainConfig(epochs=epochs, batch_size=4, optimizer="sgd", lr=lr, momentum=momentum,
                       grad_norm_steps=points, running_loss_window=RUNNING_LOSS_WINDOW)


def train_cnn(claim, epochs: int | None = None, momentum: float | None = None, lr: float = 0.01,
              **model_kwargs) -> TrainResult:
    """Train report 002's CNN with ``model_kwargs`` under the run's reading (momentum, added width), once a session.

    ``epochs`` defaults to the claim's budget. The 2-epoch runs of the 3-FC sigmoid and tanh nets are the
    first two epochs of their ``longer_epochs`` runs (the same run cut short: tests/test_engine.py), so they
    are never trained twice (the claim file refuses ``longer_epochs`` not above ``epochs``).
    """
    harness = claim.harness
    report_epochs = claim.budget["epochs"]
    epochs = report_epochs if epochs is None else epochs
    train_data, test_data = cifar(claim)
    momentum = claim.choices.get("momentum", 0.0) if momentum is None else momentum
    if "added_width" in claim.choices and model_kwargs.get("n_fc", 3) > 3:
        # Only layers beyond the tutorial's two hidden ones take the added width: a 3-FC net is the same net.
        model_kwargs.setdefault("added_width", claim.choices["added_width"])
    longer = claim.budget.get("longer_epochs")
    if epochs == report_epochs and lr == 0.01 and set(model_kwargs) == {"n_fc", "activation"} and\
            model_kwargs["n_fc"] == 3 and model_kwargs["activation"] in ("sigmoid", "tanh") and longer > epochs:
        return train_cnn(claim, longer, momentum, lr, **model_kwargs).truncated(report_epochs)
    cfg = with_overrides(q1_config(momentum, epochs, train_data.steps_per_epoch(4), lr),
                         snapshot_epochs=(report_epochs,) if epochs == longer > report_epochs else ())
    return harness.trained(lambda: CifarCNN(**model_kwargs), model_kwargs, cfg, train_data, test_data)


def pct(values) -> list[float]:
    """Fractions to percent."""
    return [100.0 * float(v) for v in values]
