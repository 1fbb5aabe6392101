from harness.session import for_each_reading


@for_each_reading("r101.bn_higher_lr")
def test_bn_higher_lr(claim):
    acc = {name: (100 * claim.run(name).final("test_acc")).tolist() for name in ("bn", "plain")}
    claim.conclude({"test_acc_bn": acc["bn"], "test_acc_plain": acc["plain"], "n_test": len(claim.run_data("bn")[1])})
