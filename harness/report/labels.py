"""The report's words for the curves a claim records, and which of the report's figures each curve carries.

One place for them, beside the plots that print them: the history keys (``test_acc_depth3``) are the judges' and
the training code's names, and the words are presentation only. They are not claim data (no judge, verdict or
cache key reads them), so they live here rather than in the claim catalogue, whose records the judges and the
cost plan read. A key with no entry is shown in plain words made from the key (``test acc depth3``).

Each entry: a regular expression over the history key, the legend's words (``{0}`` is the expression's first
group), and the report's figures on that curve: ``{epoch: key of the claim's "claimed" table}``, ``"last"`` for the
curve's last epoch; optionally, a pattern over the reading's name where those figures belong (a reading that judges
another quantity marks none on this curve). A figure is marked only where the claim record gives it and the curve
is that quantity.
"""

from __future__ import annotations

import re

CURVES: dict[str, list[tuple[str, str, dict]]] = {
    "control.cifar10_tutorial": [
        (r"test_acc", "test accuracy", {"last": "test_acc"}),
        (r"train_loss", "training loss", {}),
    ],
    # The report's epoch losses go on the loss its reading judges: the epoch mean, or the running loss.
    "r002.sigmoid_chance": [
        (r"train_loss", "sigmoid, training loss (epoch mean)", {1: "loss_epoch1", 2: "loss_epoch2"}, "(?!.*running-loss)"),
        (r"train_loss_running", "sigmoid, running training loss", {1: "loss_epoch1", 2: "loss_epoch2"}, ".*running-loss"),
    ],
    "r002.tanh_learns": [
        (r"train_loss", "tanh, training loss (epoch mean)", {1: "loss_epoch1", 2: "loss_epoch2"}, "(?!.*running-loss)"),
        (r"train_loss_running", "tanh, running training loss", {1: "loss_epoch1", 2: "loss_epoch2"}, ".*running-loss"),
    ],
    "r002.tanh_zero_mean": [
        (r"tanh_test_acc", "tanh", {}),
        (r"tanh_shifted_test_acc", "tanh(x) + 1 (uncentred)", {}),
        (r"sigmoid_test_acc", "sigmoid", {}),
    ],
    "r002.sigmoid_catches_up": [(r"tanh_test_acc", "tanh", {}), (r"sigmoid_test_acc", "sigmoid", {})],
    "r002.depth_sweep": [(r"test_acc_depth(\d)", "{0} FC layers", {"last": "acc_{0}"})],
    "r002.depth6_vanishing": [(r"grad_norm_depth(\d)_(.+)", "{0} FC layers: {1}", {})],
    "r002.fix_bn_skip": [(r"fixed_test_acc", "with BN + skip", {"last": "acc_fixed"}),
                         (r"fixed_train_loss", "with BN + skip, training loss", {})],
    "r002.fix_leaky_relu": [(r"fixed_test_acc", "LeakyReLU", {"last": "acc_fixed"}),
                            (r"fixed_train_loss", "LeakyReLU, training loss", {})],
    "r002.fix_init": [(r"fixed_test_acc", "initialization of weights", {"last": "acc_fixed"}),
                      (r"fixed_train_loss", "initialization of weights, training loss", {})],
    "r002.regularization_ranking": [(r"(dropout|l1|l2)_val\d+_acc", "{0} regularization", {"last": "acc_{0}"})],
    "r000.teacher_train_acc": [
        (r"train_acc", "training accuracy", {i: f"acc_epoch{i}" for i in range(1, 6)}),
        (r"train_loss", "training loss", {5: "loss_epoch5"}),
        (r"val_acc", "validation accuracy", {}),
    ],
    "r000.teacher_ema": [(r"val_(acc|loss)_ema", "with EMA, validation {0}", {}),
                         (r"val_(acc|loss)_plain", "without EMA, validation {0}", {})],
    "r000.kd_vs_scratch": [(r"distilled_val_acc", "distilled student", {}), (r"scratch_val_acc", "scratch student", {})],
    "r000.student_fp16_nan": [(r"train_loss_fp16", "fp16 student, training loss", {}),
                              (r"train_loss_fp32", "fp32 student, training loss", {})],
}

_WORDS = {"l1": "L1", "l2": "L2", "dropout": "Dropout", "acc": "accuracy"}


def curve_label(claim_id: str, key: str, reading: str = "") -> tuple[str, dict]:
    """The legend's words for the curve ``key`` of ``claim_id``, and ``{epoch: claimed key}`` of its figures under
    ``reading`` (an entry's optional fourth item, a pattern over the reading's name, says where they belong)."""
    for pattern, words, figures, *where in CURVES.get(claim_id, []):
        match = re.fullmatch(pattern, key)
        if match:
            groups = [_WORDS.get(g, g) for g in match.groups()]
            if where and not re.match(where[0], reading):
                figures = {}
            return words.format(*groups), {e: k.format(*match.groups()) for e, k in figures.items()}
    return key.replace("_", " "), {}
