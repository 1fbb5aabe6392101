"""The one training engine: ensembles, precision modes, distillation, EMA, non-finite capture."""

from .engine import (OPTIMIZER_IMPL, TrainConfig, evaluate, member_logits, steps_per_epoch, train,
                     train_together, with_overrides)
from .ensemble import Ensemble, build_members
from .losses import cross_entropy, distillation, weight_penalty
from .nonfinite import NonFiniteWatch
from .result import TrainResult

__all__ = ["OPTIMIZER_IMPL", "Ensemble", "member_logits", "NonFiniteWatch", "TrainConfig", "TrainResult", "build_members", "cross_entropy",
           "distillation", "evaluate", "steps_per_epoch", "train", "train_together", "weight_penalty", "with_overrides"]
