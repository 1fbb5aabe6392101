"""Where data lives: one root folder, chosen by option, environment or default."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import DataError, unwritable

ENV_VAR = "HARNESS_DATA"


def default_data_root() -> Path:
    """The user cache folder the harness uses when neither --data-root nor HARNESS_DATA is set."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "claims-harness"


def resolve_data_root(option: str | os.PathLike | None = None) -> Path:
    """The data root: the explicit option first, then $HARNESS_DATA, then the user cache folder.

    DataError, naming where the choice came from, if it is an existing file rather than a folder.
    """
    if option:
        root, named = Path(option).expanduser().resolve(), f"--data-root {option}"
    elif os.environ.get(ENV_VAR):
        root, named = Path(os.environ[ENV_VAR]).expanduser().resolve(), f"${ENV_VAR}={os.environ[ENV_VAR]}"
    else:
        root, named = default_data_root(), f"the default data root {default_data_root()}"
    if root.exists() and not root.is_dir():
        raise DataError(f"{named}: is a file, not a folder; give --data-root a folder (it is made if absent).")
    return root


def writable_data_root(root: Path) -> Path:
    """``root``, made if absent, once a file could be written there; DataError naming --data-root if not."""
    root = Path(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=root, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise unwritable(root, exc, "into the data root") from None
    return root


def cache_dir(root: Path) -> Path:
    """Folder of decoded uint8 arrays, keyed by the source's fingerprint."""
    return root / "cache"
