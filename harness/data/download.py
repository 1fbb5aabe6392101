"""The official downloads, for machines whose network reaches them."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .manifest import TINY_IMAGENET_MD5, TINY_IMAGENET_URL


def download(dataset: str, root: Path) -> None:
    """Fetch ``dataset`` from its official source into ``root``, checksum verified by torchvision."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        if dataset == "cifar10":
            for train in (True, False):
                CIFAR10(str(root), train=train, download=True)
        elif dataset == "tiny-imagenet":
            download_and_extract_archive(TINY_IMAGENET_URL, str(root), md5=TINY_IMAGENET_MD5)
        else:
            raise DataError(f"unknown data set {dataset!r}: choose cifar10 or tiny-imagenet.")
    except OSError as exc:
        raise DataError(
            f"downloading {dataset} failed ({exc}). Without network access, import the archives of "
            "shared/data instead: python -m harness data import ../shared/data/*.tar.xz"
        ) from exc
