"""Report 002, Q2: L1, L2 and dropout on a CNN with 2 FC layers.

The report's data set (178 validation images from a private drive) is not
available; a two-class task cut from CIFAR-10 stands in, validated once on 178
images as in the report and once on all 2,000 test images of the two classes.
Claimed: L1 91 %, L2 93 % (167/178), dropout 96 % (171/178).
"""

from __future__ import annotations

import numpy as np

from harness.models import CifarCNN
from harness.session import for_each_reading
from harness.train import TrainConfig, evaluate

CLASSES = [0, 1]  # airplane, automobile


def regularizers(record) -> dict:
    """Each regularizer's model and loss settings, with the strengths of the claim record."""
    p = record.params
    return {"l1": ({}, dict(penalty="l1", penalty_weight=p["l1_weight"])),
            "l2": ({}, dict(penalty="l2", penalty_weight=p["l2_weight"])),
            "dropout": ({"dropout": p["dropout"]}, {})}


def regularized_run(claim, name: str, train_data, val_data):
    model_extra, loss = regularizers(claim.record)[name]
    cfg = TrainConfig(epochs=claim.budget["epochs"], batch_size=4, optimizer="sgd", lr=0.01, momentum=0.9, **loss)
    spec = dict(n_fc=2, activation="relu", num_classes=2, **model_extra)
    return claim.harness.trained(lambda: CifarCNN(**spec), spec, cfg, train_data, val_data)


@for_each_reading("r002.regularization_ranking")
def test_regularization_ranking(claim):
    val_size = claim.choices["val_size"]
    train_data = claim.data("cifar10", "train", per_class=claim.budget["train_per_class"], select_classes=CLASSES)
    val_data = claim.data("cifar10", "test", select_classes=CLASSES, limit=val_size // 2 + val_size % 2)
    assert len(val_data) >= val_size
    # Every reading's validation set is the first images of each class of the largest one: the nets train
    # once, validated on the largest set each epoch, and each reading evaluates the trained nets on its own.
    largest = max(r.choices["val_size"] for r in claim.record.readings)
    curve_data = claim.data("cifar10", "test", select_classes=CLASSES, limit=largest // 2 + largest % 2)
    results = {name: regularized_run(claim, name, train_data, curve_data) for name in regularizers(claim.record)}
    final = {name: evaluate(r.model, val_data) for name, r in results.items()}  # (loss, accuracy) per member
    claim.conclude({
        "n_val": len(val_data),
        "acc": {name: (100 * acc).tolist() for name, (_, acc) in final.items()},
        "loss": {name: loss.tolist() for name, (loss, _) in final.items()},
    }, curves={f"{name}_val{largest}_acc": r.history["test_acc"].tolist() for name, r in results.items()},
        notes="the report's 'average loss' 0.0046-0.0083 is per image of a summed loss; these are mean cross-entropies")
    for name, r in results.items():
        assert np.isfinite(r.history["train_loss"]).all(), f"{name} went non-finite"
