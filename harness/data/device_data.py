"""A whole data set resident on the training device, drawn as shuffled, normalized batches there.

The images stay uint8 on the device (4x smaller than float); each batch is
gathered and normalized on the device, so the step loop never waits on the host.
Every ensemble member has its own generator, hence its own data order.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from .images import ImageSet


class DeviceData:
    """Images (uint8, NCHW) and labels of one split on ``device``, with the normalization to apply."""

    def __init__(self, images: ImageSet | tuple[np.ndarray, np.ndarray], device: torch.device | str,
                 mean: Sequence[float], std: Sequence[float]):
        arrays, labels = (images.images, images.labels) if isinstance(images, ImageSet) else images
        self.device = torch.device(device)
        self.x = torch.from_numpy(np.ascontiguousarray(arrays)).to(self.device).permute(0, 3, 1, 2).contiguous()
        self.y = torch.from_numpy(np.asarray(labels, np.int64)).to(self.device)
        self.mean = torch.tensor(mean, device=self.device, dtype=torch.float32).view(1, -1, 1, 1) * 255
        self.std = torch.tensor(std, device=self.device, dtype=torch.float32).view(1, -1, 1, 1) * 255
        self.num_classes = int(self.y.max().item()) + 1 if len(self.y) else 0

    def __len__(self) -> int:
        return len(self.y)

    def normalize(self, x_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 images (any leading dims, then C, H, W) to normalized float32."""
        return (x_uint8.float() - self.mean) / self.std

    def steps_per_epoch(self, batch_size: int) -> int:
        """Batches in one pass, the last one partial as a DataLoader without drop_last gives."""
        return -(-len(self) // batch_size)

    def epoch_order(self, generators: Sequence[torch.Generator] | None) -> torch.Tensor:
        """An ``E x N`` index tensor: each member's own shuffle, or the identity for ``None``."""
        if generators is None:
            return torch.arange(len(self), device=self.device).unsqueeze(0)
        return torch.stack([torch.randperm(len(self), generator=g, device=self.device) for g in generators])

    def batches(self, order: torch.Tensor, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield ``(x, y)`` with x ``E x B x C x H x W`` normalized float32 and y ``E x B``."""
        for idx in self.index_batches(order, batch_size):
            yield self.take(idx)

    def index_batches(self, order: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
        """Yield the ``E x B`` image indices of each batch of ``order``."""
        for start in range(0, order.shape[1], batch_size):
            yield order[:, start : start + batch_size]

    def take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalized images and the labels at ``idx`` (any shape of indices)."""
        return self.normalize(self.x[idx]), self.y[idx]


def member_generators(seeds: Sequence[int], device: torch.device | str, stream: int = 1) -> list[torch.Generator]:
    """One generator a seed for the data order; ``stream`` keeps it apart from the init generator."""
    device = torch.device(device)
    return [torch.Generator(device=device).manual_seed(int(seed) * 1_000_003 + stream) for seed in seeds]
