"""Data: find, verify, import, decode once and serve CIFAR-10 and Tiny ImageNet."""

from .archives import import_archive, import_archives, verify_archive
from .errors import DataError, DataMissing
from .images import ImageSet, class_balanced_indices, find_source, load_images
from .paths import resolve_data_root
from .status import data_status, format_status
from .subsets import select

__all__ = [
    "DataError", "DataMissing", "DeviceData", "ImageSet", "class_balanced_indices", "data_status",
    "find_source", "format_status", "import_archive", "import_archives", "load_images", "member_generators",
    "resolve_data_root", "select", "verify_archive",
]


def __getattr__(name: str):
    # Only the device-resident batches need torch: imported on first use, so that `python -m harness report`,
    # `compare` and `data` start without it (about 1.3 s a call).
    if name in ("DeviceData", "member_generators"):
        from . import device_data

        return getattr(device_data, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
