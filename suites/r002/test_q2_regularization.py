"""Report 002, Q2: L1, L2 and dropout on a CNN with 2 FC layers.

The report's data set (178 validation images from a private drive) is not
available; a two-class task cut from CIFAR-10 stands in, validated once on 178
images as in the report and once on all 2,000 test images of the two classes.
Claimed: L1 91 %, L2 93 % (167/178), dropout 96 % (171/178).
"""

from __future__ import annotations

import numpy as np

from harness.session import for_each_reading
from harness.train import evaluate

from .runs import regularizers, validation_images


@for_each_reading("r002.regularization_ranking")
def test_regularization_ranking(claim):
    val_size = claim.choices["val_size"]
    claim.declared["l1"].train.load(claim)  # first, as the record lists the data in the order it was loaded
    val_data = validation_images(val_size).load(claim)
    assert len(val_data) >= val_size
    # The nets train once, validated after each epoch on the largest reading's images (runs.py); each reading
    # evaluates the trained nets on its own.
    results = {name: claim.run(name) for name in regularizers(claim.record)}
    largest = max(r.choices["val_size"] for r in claim.record.readings)
    final = {name: evaluate(r.model, val_data) for name, r in results.items()}  # (loss, accuracy) per member
    claim.conclude({
        "n_val": len(val_data),
        "acc": {name: (100 * acc).tolist() for name, (_, acc) in final.items()},
        "loss": {name: loss.tolist() for name, (loss, _) in final.items()},
    }, curves={f"{name}_val{largest}_acc": r.history["test_acc"].tolist() for name, r in results.items()},
        notes="the report's 'average loss' 0.0046-0.0083 is per image of a summed loss; these are mean cross-entropies")
    for name, r in results.items():
        assert np.isfinite(r.history["train_loss"]).all(), f"{name} went non-finite"
