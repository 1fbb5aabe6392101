from harness.models import CifarCNN
from harness.session import for_each_reading
from harness.train import TrainConfig


@for_each_reading("r101.bn_higher_lr")
def test_bn_higher_lr(claim):
    budget = claim.budget
    train_data = claim.data("cifar10", "train", per_class=budget["train_per_class"])
    test_data = claim.data("cifar10", "test", per_class=budget["test_per_class"])
    cfg = TrainConfig(epochs=budget["epochs"], batch_size=4, optimizer="sgd", lr=claim.choices["lr"], momentum=0.9)
    acc = {}
    for name, bn in (("bn", True), ("plain", False)):
        spec = {"n_fc": 3, "activation": "relu", "batch_norm": bn}
        result = claim.harness.trained(lambda spec=spec: CifarCNN(**spec), spec, cfg, train_data, test_data)
        acc[name] = (100 * result.final("test_acc")).tolist()
    claim.conclude({"test_acc_bn": acc["bn"], "test_acc_plain": acc["plain"], "n_test": len(test_data)})
