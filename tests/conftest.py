"""Fixtures for the library's unit tests: small synthetic data sets in the official layouts.

The images are synthetic: they test the machinery (layouts, decoding, caching,
import), never a claim.
"""

from __future__ import annotations

import errno
import os
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


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder tree read-only, as a read-only mount would be: ``read_only(folder)``.

    The tree is chmod'ed read-only; where permissions bind no one (tests run as root), opening a file for
    writing through ``os.open`` (mkstemp, file locks) or making a folder under it fails with EROFS instead,
    and ``os.access`` says it is not writable.
    """
    folders = []

    def apply(folder: Path) -> Path:
        folder = Path(folder).resolve()
        for dirpath, _dirnames, filenames in os.walk(folder):
            for name in filenames:
                os.chmod(Path(dirpath) / name, 0o444)
            os.chmod(dirpath, 0o555)
        folders.append(folder)
        if os.geteuid() == 0 and len(folders) == 1:
            real_open, real_mkdir, real_access = os.open, os.mkdir, os.access

            def refused(path) -> bool:
                path = Path(os.path.abspath(path))
                return any(path == f or f in path.parents for f in folders)

            def guarded_open(path, flags, *args, **kwargs):
                writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
                if writing and refused(path):
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
                return real_open(path, flags, *args, **kwargs)

            def guarded_mkdir(path, *args, **kwargs):
                if refused(path) and not os.path.exists(path):
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
                return real_mkdir(path, *args, **kwargs)

            def guarded_access(path, mode, *args, **kwargs):
                return not (mode & os.W_OK and refused(path)) and real_access(path, mode, *args, **kwargs)

            monkeypatch.setattr(os, "open", guarded_open)
            monkeypatch.setattr(os, "mkdir", guarded_mkdir)
            monkeypatch.setattr(os, "access", guarded_access)
        return folder

    yield apply
    for folder in folders:  # writable again, so that tmp_path can be removed
        for dirpath, _dirnames, filenames in os.walk(folder):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                os.chmod(Path(dirpath) / name, 0o644)


@pytest.fixture
def pins(tmp_path, monkeypatch):
    """Every report folder's pins redirected into ``tmp_path/pins``: ``pins("r002", "cuda")`` is the file a pin of
    report 002's claims on CUDA writes (the committed pins beside the claims are never touched)."""
    from harness.claims import catalog

    folder = tmp_path / "pins"
    folder.mkdir()

    def pinned_file(self, device_type="cpu"):
        if device_type not in catalog.PIN_FILES:
            raise ValueError(f"no pinned verdicts for device type {device_type!r}")
        return folder / f"{self.name}-{catalog.PIN_FILES[device_type]}"

    monkeypatch.setattr(catalog.ReportFolder, "pinned_file", pinned_file)
    return lambda name, device_type="cpu": pinned_file(catalog.folder(name), device_type)


@pytest.fixture(autouse=True)
def _catalogue_as_discovered():
    """Each test starts, and leaves, the catalogue with the discovered report folders only: a folder one test adds
    (its own tmp_path) is never another's."""
    from harness.claims import catalog

    yield
    catalog.forget_added_dirs()
