"""A whole data set resident on the training device, drawn as shuffled, normalized batches there.

The images stay uint8 on the device (4x smaller than float); each batch is
gathered and normalized on the device, so the step loop never waits on the host.
Every ensemble member has its own generator, hence its own data order. The generators are CPU
generators on every device: CUDA's generator is another algorithm than the CPU's, and a GPU run must
train on the batches of the CPU run whose verdicts it is compared with. An epoch's order is drawn on
the host and copied to the device once (one small copy an epoch, never a step).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from .images import ImageSet


# Per-channel normalization of each data set: CIFAR-10 as the tutorial (0.5, 0.5); Tiny ImageNet with ImageNet's
# statistics (a reading the claims record). Here, in the data pipeline, because training depends on it: the results
# cache keys on this file (harness.runcode.TRAINING_CODE).
NORMALIZATION = {
    "cifar10": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    "tiny-imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


class DeviceData:
    """Images (uint8, NCHW) and labels of one split on ``device``, with the normalization to apply."""

    def __init__(self, images: ImageSet | tuple[np.ndarray, np.ndarray], device: torch.device | str,
                 mean: Sequence[float], std: Sequence[float]):
        arrays, labels = (images.images, images.labels) if isinstance(images, ImageSet) else images
        self.device = torch.device(device)
        # NHWC to NCHW on the host, then one upload: permuting on the device would hold the images there twice
        # for a moment (about 2.4 GB a worker for Tiny ImageNet), which is what a GPU shared by -n workers lacks.
        self.x = torch.from_numpy(np.ascontiguousarray(arrays)).permute(0, 3, 1, 2).contiguous().to(self.device)
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
        """An ``E x N`` index tensor on the data's device: each member's own shuffle, or the identity for ``None``.

        The shuffles are drawn by the members' CPU generators (:func:`member_generators`), so a seed gives the
        same order on every device; the whole epoch's order then goes to the device in one copy.
        """
        if generators is None:
            return torch.arange(len(self), device=self.device).unsqueeze(0)
        if any(g.device.type != "cpu" for g in generators):
            raise ValueError("DeviceData.epoch_order draws orders from CPU generators (member_generators), so that a "
                             "seed means the same batches on every device; got a generator on "
                             f"{next(g.device for g in generators if g.device.type != 'cpu')}")
        return torch.stack([torch.randperm(len(self), generator=g) for g in generators]).to(self.device)

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


def member_generators(seeds: Sequence[int], stream: int = 1) -> list[torch.Generator]:
    """One CPU generator a seed for the data order, whatever the training device (see the module's docstring);
    ``stream`` keeps it apart from the init generator."""
    return [torch.Generator().manual_seed(int(seed) * 1_000_003 + stream) for seed in seeds]
