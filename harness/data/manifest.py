"""The archives the harness knows, with the SHA-256 each must have.

These are the archives of ``shared/data`` (real CIFAR-10 and Tiny ImageNet, see
its README); ``python -m harness data import`` refuses anything not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ArchiveSpec:
    """One known archive: its file name, checksum, the data set it feeds and what it holds."""

    filename: str
    sha256: str
    dataset: str
    holds: str


ARCHIVES: dict[str, ArchiveSpec] = {
    spec.filename: spec
    for spec in [
        ArchiveSpec(
            "cifar10-jpeg.tar.xz",
            "fabce6294a91c8c1b2550bae4b4fb5848bbb157f94799fd1aa67416374766ad7",
            "cifar10",
            "CIFAR-10, 60,000 JPEG images in ImageFolder layout (cifar10/{train,test}/<class>/)",
        ),
        ArchiveSpec(
            "tiny-imagenet-200-val.tar.xz",
            "32d5d5cfb75a94316239cd2c59c1e5c4ea1d00482603aeb41e76ba6575ce125c",
            "tiny-imagenet",
            "Tiny ImageNet wnids, words and the 10,000 validation images",
        ),
    ]
    + [
        ArchiveSpec(
            f"tiny-imagenet-200-train-{k}of5.tar.xz",
            sha,
            "tiny-imagenet",
            f"Tiny ImageNet train shard {k}: images i with i mod 5 = {k}, 100 of each class",
        )
        for k, sha in enumerate(
            [
                "9109cdc42e203bf87579b8a048574803b8d0032faf57ea1f01f0bed4311b1f89",
                "27f7d80d0a46b500976703c08dd383bfa2f3a3bdb79d5b8d7f636bc9087c2cc8",
                "01c2662b843d310c637c66cd099e222962a23d57bdc102944369c3d8627aaee0",
                "a9ed97216f4c82a44216c0a402696aec5b5c93c6a0943095902ee89721814730",
                "6b67c4d030c1614006630568483c8df78c7dc52a37b21573b1350c5112efab69",
            ]
        )
    ]
}

# The official downloads, used when the network allows.
TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
