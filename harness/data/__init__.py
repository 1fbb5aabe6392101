"""Data: find, verify, import, decode once and serve CIFAR-10 and Tiny ImageNet."""

from .archives import import_archive, import_archives, verify_archive
from .device_data import DeviceData, member_generators
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
