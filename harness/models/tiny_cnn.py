"""Report 000's teacher and student CNNs for Tiny ImageNet (64x64, 200 classes).

The report states: Xavier initialization; average pooling; a teacher of 12 conv
layers and 1 pool layer with 12 filters in the first layer; a student of 3 conv
layers and 1 pool layer; one FC layer of 1024 nodes in both. Everything else is
a reading, named by the arguments below and recorded in each claim.
"""

from __future__ import annotations

import torch
from torch import nn

from .cifar_cnn import init_weights


class TinyCNN(nn.Module):
    """``n_conv`` 3x3 conv layers, one average-pool layer, an FC layer of ``fc_width`` and a 200-way output.

    Args:
        n_conv: conv layers (teacher 12, student 3).
        first_filters: filters of the first conv layer (report: 12).
        downsample_every: the filter count doubles and the conv stride is 2 every this many layers
            (reading: the usual CNN schedule; the report only gives the first layer's 12 filters).
        pool: 'global' (one global average pool before the FC layer) or 'early' (one 2x2 average pool after
            the first conv layer, then a flatten).
        batch_norm: BatchNorm2d after every conv (a reading the report neither states nor excludes).
        fc_width: the FC layer (report: 1024); an output layer to ``num_classes`` follows it.
    """

    def __init__(self, n_conv: int = 12, first_filters: int = 12, downsample_every: int = 3, pool: str = "global",
                 batch_norm: bool = False, fc_width: int = 1024, num_classes: int = 200, image_size: int = 64):
        super().__init__()
        if pool not in ("global", "early"):
            raise ValueError(f"pool must be 'global' or 'early', not {pool!r}")
        layers: list[nn.Module] = []
        channels, filters, size = 3, first_filters, image_size
        for i in range(n_conv):
            stride = 2 if i > 0 and i % downsample_every == 0 else 1
            if stride == 2:
                filters *= 2
            layers += [nn.Conv2d(channels, filters, 3, stride=stride, padding=1)]
            layers += [nn.BatchNorm2d(filters)] if batch_norm else []
            layers += [nn.ReLU()]
            size = (size + 2 - 3) // stride + 1
            if pool == "early" and i == 0:
                layers.append(nn.AvgPool2d(2))
                size //= 2
            channels = filters
        if pool == "global":
            layers += [nn.AdaptiveAvgPool2d(1)]
            flat = channels
        else:
            flat = channels * size * size
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(flat, fc_width), nn.ReLU())
        self.out = nn.Linear(fc_width, num_classes)
        init_weights(self, "xavier")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(self.features(x)))


def teacher(**overrides) -> TinyCNN:
    """The report's teacher: 12 conv layers, 12 first filters, one average pool, FC 1024."""
    return TinyCNN(**{"n_conv": 12, **overrides})


def student(**overrides) -> TinyCNN:
    """The report's student: 3 conv layers, one average pool, FC 1024."""
    return TinyCNN(**{"n_conv": 3, "downsample_every": 1, **overrides})
