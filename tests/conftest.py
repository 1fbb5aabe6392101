"""Fixtures for the library's unit tests: small synthetic data sets in the official layouts.

The images are synthetic: they test the machinery (layouts, decoding, caching,
import), never a claim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import write_cifar, write_tiny


@pytest.fixture
def cifar_root(tmp_path) -> Path:
    """CIFAR-10 in the ImageFolder JPEG layout of shared/data: 3 train and 2 test images a class."""
    return write_cifar(tmp_path / "data")


@pytest.fixture
def tiny_root(tmp_path) -> Path:
    """Tiny ImageNet in the official layout: 2 train and 1 val image for each of the 200 classes."""
    return write_tiny(tmp_path / "data")
