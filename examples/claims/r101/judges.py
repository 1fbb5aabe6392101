import numpy as np

from harness.claims.verdicts import judged, ordering_part, shown
from harness.judges import PP, judge, one_image


@judge("r101.bn_higher_lr")
def bn_higher_lr(m, claim, reading):
    bn = np.asarray(m["test_acc_bn"], float)
    plain = np.asarray(m["test_acc_plain"], float)
    order = ordering_part("with batch norm > without", bn, plain, paired=True, resolution=one_image(m["n_test"]),
                          unit="pp", bounds=PP, margin=max(1.0, one_image(m["n_test"])),
                          claimed="batch norm learns at a higher learning rate")
    parts = [order,
             shown("accuracy with batch norm", "no figure", f"{bn.mean():.1f} % (mean of {len(bn)} seeds)"),
             shown("accuracy without batch norm", "no figure", f"{plain.mean():.1f} % (mean of {len(plain)} seeds)")]
    return judged(parts, claimed="with batch norm > without", measured=order.measured, headline=order,
                  primary=[order.name])
