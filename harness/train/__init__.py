"""The one training engine: ensembles, precision modes, distillation, EMA, non-finite capture."""

from .engine import TrainConfig, TrainResult, evaluate, train, with_overrides
from .ensemble import Ensemble, build_members
from .losses import cross_entropy, distillation, weight_penalty
from .nonfinite import NonFiniteWatch

__all__ = ["Ensemble", "NonFiniteWatch", "TrainConfig", "TrainResult", "build_members", "cross_entropy",
           "distillation", "evaluate", "train", "weight_penalty", "with_overrides"]
