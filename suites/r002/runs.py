"""The training runs report 002's claims measure, each declared once (:mod:`harness.runs`).

Every run is the tutorial's CNN on CIFAR-10 (the claim's budget of images), trained by the report's Q1 recipe (SGD,
lr 0.01, batch 4) under the reading's momentum and added width; claims that declare an equal run share it (the
6-layer tanh net serves the depth sweep, the gradient claim and the three fixes).
"""

from __future__ import annotations

from dataclasses import replace

from harness.models import CifarCNN
from harness.runs import Data, Model, Run, runs_of
from harness.train import TrainConfig

GRAD_NORM_POINTS = 5  # per-layer gradient norms at 5 steps spread over training (the vanishing-gradient claim)
# The PyTorch tutorial prints the mean loss of the last 2,000 mini-batches: the report's second loss reading.
RUNNING_LOSS_WINDOW = 2000
DEPTHS = (3, 4, 5, 6)
FIXES = {
    "r002.fix_bn_skip": dict(activation="tanh", batch_norm=True, skip=True),
    "r002.fix_leaky_relu": dict(activation="leaky_relu"),
    "r002.fix_init": dict(activation="tanh", init="xavier"),  # the gain is a reading (its choice "init")
}
REGULARIZED_CLASSES = (0, 1)  # Q2's two-class task cut from CIFAR-10: airplane, automobile


def cifar(budget) -> tuple[Data, Data]:
    """CIFAR-10's train and test images of a claim's budget."""
    return (Data("cifar10", "train", per_class=budget["train_per_class"]),
            Data("cifar10", "test", per_class=budget["test_per_class"]))


def q1_config(momentum: float, epochs: int, lr: float = 0.01) -> TrainConfig:
    """The report's Q1 training: SGD, lr 0.01, batch 4, and the tutorial's running loss kept beside the epoch's."""
    return TrainConfig(epochs=epochs, batch_size=4, optimizer="sgd", lr=lr, momentum=momentum,
                       running_loss_window=RUNNING_LOSS_WINDOW)


def cnn_run(claim, epochs: int | None = None, momentum: float | None = None, lr: float = 0.01, **model_args) -> Run:
    """Report 002's CNN with ``model_args`` under the claim's reading (its momentum and added width), for the
    claim's budget of epochs unless ``epochs`` says otherwise.

    The 2-epoch runs of the 3-FC sigmoid and tanh nets are declared as the first epochs of their ``longer_epochs``
    runs (the same run cut short: tests/test_engine.py), so they are trained once for both claims.
    """
    budget = claim.budget
    report_epochs = budget["epochs"]
    epochs = report_epochs if epochs is None else epochs
    momentum = claim.choices.get("momentum", 0.0) if momentum is None else momentum
    if "added_width" in claim.choices and model_args.get("n_fc", 3) > 3:
        # Only layers beyond the tutorial's two hidden ones take the added width: a 3-FC net is the same net.
        model_args.setdefault("added_width", claim.choices["added_width"])
    longer = budget.get("longer_epochs")
    cut_from_longer = set(model_args) == {"n_fc", "activation"} and model_args["n_fc"] == 3 and \
        model_args["activation"] in ("sigmoid", "tanh") and lr == 0.01 and longer is not None and longer > report_epochs
    train, test = cifar(budget)
    config = q1_config(momentum, epochs, lr)
    if cut_from_longer and epochs == longer:
        config = replace(config, snapshot_epochs=(report_epochs,))
    run = Run(Model.of(CifarCNN, **model_args), config, train, test, grad_norm_points=GRAD_NORM_POINTS)
    if cut_from_longer and epochs == report_epochs:
        return Run(run.model, config, train, test, first_epochs_of=cnn_run(claim, longer, momentum, lr, **model_args))
    return run


# -- Q1 part 1: sigmoid against tanh --------------------------------------------------------------------------

@runs_of("r002.sigmoid_chance")
def sigmoid_chance(claim):
    return {"sigmoid": cnn_run(claim, n_fc=3, activation="sigmoid")}


@runs_of("r002.tanh_learns")
def tanh_learns(claim):
    return {"tanh": cnn_run(claim, n_fc=3, activation="tanh")}


@runs_of("r002.tanh_zero_mean")
def tanh_zero_mean(claim):
    return {name: cnn_run(claim, n_fc=3, activation=name) for name in ("sigmoid", "tanh", "tanh_shifted")}


@runs_of("r002.sigmoid_catches_up")
def sigmoid_catches_up(claim):
    epochs = claim.budget["longer_epochs"]
    return {name: cnn_run(claim, epochs=epochs, n_fc=3, activation=name) for name in ("sigmoid", "tanh")}


# -- Q1 part 2: more fully connected layers --------------------------------------------------------------------

@runs_of("r002.depth_sweep")
def depth_sweep(claim):
    return {f"depth{d}": cnn_run(claim, n_fc=d, activation="tanh") for d in DEPTHS}


@runs_of("r002.depth6_vanishing")
def depth6_vanishing(claim):
    return {f"depth{d}": cnn_run(claim, n_fc=d, activation="tanh") for d in (4, 5, 6)}


# -- Q1 part 3: the fixes of the 6-layer net -------------------------------------------------------------------

def fix_of(claim_id: str, choices: dict) -> dict:
    """The fixed 6-layer net's model arguments under a reading's ``choices`` (r002.fix_init's gain is its choice
    "init")."""
    fix = dict(FIXES[claim_id])
    if "init" in choices:
        fix["init"] = choices["init"]
    return fix


@runs_of(*FIXES)
def fix(claim):
    return {"unfixed": cnn_run(claim, n_fc=6, activation="tanh"),
            "fixed": cnn_run(claim, n_fc=6, **fix_of(claim.record.id, claim.choices))}


@runs_of("r002.fixes_below_best")
def fixes_below_best(claim):
    # Each fix as FIXES states it (r002.fix_init with Xavier's own gain 1, its first reading).
    return {"five": cnn_run(claim, n_fc=5, activation="tanh"),
            **{claim_id: cnn_run(claim, n_fc=6, **fix_of(claim_id, {})) for claim_id in FIXES}}


# -- Q2: regularization --------------------------------------------------------------------------------------

def regularizers(record) -> dict:
    """Each regularizer's model and loss settings, with the strengths of the claim record."""
    p = record.params
    return {"l1": ({}, dict(penalty="l1", penalty_weight=p["l1_weight"])),
            "l2": ({}, dict(penalty="l2", penalty_weight=p["l2_weight"])),
            "dropout": ({"dropout": p["dropout"]}, {})}


def validation_images(val_size: int) -> Data:
    """The first ``val_size`` test images of the two classes (half of each, the odd one from the first class)."""
    return Data("cifar10", "test", select_classes=REGULARIZED_CLASSES, limit=val_size // 2 + val_size % 2)


@runs_of("r002.regularization_ranking")
def regularization_ranking(claim):
    # Every reading's validation set is the first images of each class of the largest one: the nets train once,
    # validated on the largest set each epoch, and each reading evaluates the trained nets on its own.
    largest = max(r.choices["val_size"] for r in claim.record.readings)
    train = Data("cifar10", "train", per_class=claim.budget["train_per_class"], select_classes=REGULARIZED_CLASSES)
    runs = {}
    for name, (model_extra, loss) in regularizers(claim.record).items():
        config = TrainConfig(epochs=claim.budget["epochs"], batch_size=4, optimizer="sgd", lr=0.01, momentum=0.9,
                             **loss)
        runs[name] = Run(Model.of(CifarCNN, n_fc=2, activation="relu", num_classes=2, **model_extra), config, train,
                         validation_images(largest))
    return runs
