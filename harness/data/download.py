"""The official downloads, for machines whose network reaches them."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .manifest import TINY_IMAGENET_MD5, TINY_IMAGENET_URL
from .paths import writable_data_root

_OFFLINE = "Without network access, import the archives of shared/data instead: " \
           "python -m harness data import ../shared/data/*.tar.xz"


def download(dataset: str, root: Path, log=print) -> None:
    """Fetch ``dataset`` from its official source into ``root``, checksum verified by torchvision; nothing when
    every split of it is already complete there.

    Downloads and imports into one root take turns under its import lock: jobs sharing a data root (a nightly's
    runners) neither extract over one another nor extract Tiny ImageNet's 100,000 images again on every job.
    """
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    from .archives import _importing
    from .status import data_status

    if dataset not in ("cifar10", "tiny-imagenet"):
        raise DataError(f"unknown data set {dataset!r}: choose cifar10 or tiny-imagenet.")
    root = writable_data_root(Path(root))
    # What torchvision leaves behind when the file it fetched fails its checksum.
    fetched = root / ("cifar-10-python.tar.gz" if dataset == "cifar10" else Path(TINY_IMAGENET_URL).name)
    with _importing(root, log):
        rows = [row for row in data_status(root) if row["dataset"] == dataset]
        if rows and all(row["present"] and row["note"] == "complete" for row in rows):
            log(f"{dataset} is complete under {root}; not downloaded again")
            return
        try:
            if dataset == "cifar10":
                for train in (True, False):
                    CIFAR10(str(root), train=train, download=True)
            else:
                download_and_extract_archive(TINY_IMAGENET_URL, str(root), md5=TINY_IMAGENET_MD5)
        except OSError as exc:
            raise DataError(f"downloading {dataset} failed ({exc}). {_OFFLINE}") from exc
        except RuntimeError as exc:  # torchvision's "not found or corrupted": the file fetched fails its checksum
            raise DataError(f"downloading {dataset} gave a file that fails its checksum ({exc}); delete {fetched} "
                            f"and download again. {_OFFLINE}") from exc
