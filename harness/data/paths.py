"""Where data lives: one root folder, chosen by option, environment or default."""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "HARNESS_DATA"


def default_data_root() -> Path:
    """The user cache folder the harness uses when neither --data-root nor HARNESS_DATA is set."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "claims-harness"


def resolve_data_root(option: str | os.PathLike | None = None) -> Path:
    """The data root: the explicit option first, then $HARNESS_DATA, then the user cache folder."""
    if option:
        return Path(option).expanduser().resolve()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return default_data_root()


def cache_dir(root: Path) -> Path:
    """Folder of decoded uint8 arrays, keyed by the source's fingerprint."""
    return root / "cache"
