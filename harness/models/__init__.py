"""Models of the two reports, each configurable and documented."""

from .cifar_cnn import ACTIVATIONS, CifarCNN, fc_widths, init_weights
from .linear import regularized_cost
from .tiny_cnn import TinyCNN, student, teacher

__all__ = ["ACTIVATIONS", "CifarCNN", "TinyCNN", "fc_widths", "init_weights", "regularized_cost", "student", "teacher"]
