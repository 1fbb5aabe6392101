from harness.models import CifarCNN
from harness.runs import Data, Model, Run, runs_of
from harness.train import TrainConfig


@runs_of("r101.bn_higher_lr")
def bn_higher_lr(claim):
    budget = claim.budget
    train = Data("cifar10", "train", per_class=budget["train_per_class"])
    test = Data("cifar10", "test", per_class=budget["test_per_class"])
    config = TrainConfig(epochs=budget["epochs"], batch_size=4, optimizer="sgd", lr=claim.choices["lr"], momentum=0.9)
    return {name: Run(Model.of(CifarCNN, n_fc=3, activation="relu", batch_norm=bn), config, train, test)
            for name, bn in (("bn", True), ("plain", False))}
