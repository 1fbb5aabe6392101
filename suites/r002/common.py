"""What report 002's Q1 experiments share: the data, the training setup, and one memoized run per net."""

from __future__ import annotations

from harness.models import CifarCNN
from harness.train import TrainConfig, TrainResult, train, with_overrides

# Smoke: a class-balanced 2,000-image subset and 1,000 test images; full: everything.
TRAIN_PER_CLASS = {"smoke": 200, "full": None}
TEST_PER_CLASS = {"smoke": 100, "full": None}
GRAD_NORM_POINTS = 5


def cifar(run):
    """CIFAR-10 train and test for the profile, on the device (NOT RUN + skip if missing)."""
    profile = run.harness.profile
    return (run.data("cifar10", "train", per_class=TRAIN_PER_CLASS[profile]),
            run.data("cifar10", "test", per_class=TEST_PER_CLASS[profile]))


def q1_config(momentum: float, epochs: int, steps_per_epoch: int) -> TrainConfig:
    """The report's Q1 training: SGD, lr 0.01, batch 4; gradient norms kept at 5 points spread over training."""
    total = epochs * steps_per_epoch
    points = tuple(sorted({int(i * (total - 1) / (GRAD_NORM_POINTS - 1)) for i in range(GRAD_NORM_POINTS)}))
    return TrainConfig(epochs=epochs, batch_size=4, optimizer="sgd", lr=0.01, momentum=momentum,
                       grad_norm_steps=points)


def train_cnn(run, epochs: int = 2, **model_kwargs) -> TrainResult:
    """Train report 002's CNN with ``model_kwargs`` under the run's reading, once per process."""
    harness = run.harness
    train_data, test_data = cifar(run)
    momentum = run.choices.get("momentum", 0.0)
    if "added_width" in run.choices:
        model_kwargs.setdefault("added_width", run.choices["added_width"])
    cfg = q1_config(momentum, epochs, train_data.steps_per_epoch(4))
    key = ("r002-q1", tuple(sorted(model_kwargs.items())), cfg, tuple(harness.seeds), train_data.description)
    label = f"r002 {model_kwargs} momentum={momentum}"
    return harness.memo(key, lambda: train(lambda: CifarCNN(**model_kwargs), harness.seeds, train_data, test_data,
                                           with_overrides(cfg, label=label)))


def pct(values):
    """Fractions to percent."""
    return [100.0 * float(v) for v in values]
