"""Import the archives of ``shared/data`` into the data root: verify, then extract atomically.

An archive is checked against the manifest's SHA-256 before anything is written.
It is extracted into a temporary folder beside its destination; only a complete,
clean extraction is moved into place, so a truncated or corrupt archive leaves
nothing behind but the error.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from ..atomic import write_json_atomic
from .cache import sha256_of
from .errors import DataError
from .manifest import ARCHIVES, ArchiveSpec

IMPORTED_FILE = "imported.json"


def verify_archive(path: Path) -> ArchiveSpec:
    """The manifest entry of ``path`` after checking its checksum; DataError if unknown or wrong."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such archive file.")
    spec = ARCHIVES.get(path.name)
    if spec is None:
        known = ", ".join(sorted(ARCHIVES))
        raise DataError(f"{path}: not an archive the harness knows. Known archives: {known}.")
    actual = sha256_of(path)
    if actual != spec.sha256:
        raise DataError(
            f"{path}: SHA-256 is {actual}, expected {spec.sha256}. The archive is truncated or "
            "corrupt; copy it again from shared/data (compare with shared/data/SHA256SUMS)."
        )
    return spec


def _safe_members(tar: tarfile.TarFile, archive: Path):
    for member in tar.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise DataError(f"{archive}: member {member.name!r} would escape the data root.")
        if not (member.isfile() or member.isdir()):
            raise DataError(f"{archive}: member {member.name!r} is not a plain file or folder.")
        yield member


def _merge_tree(src: Path, dest: Path) -> None:
    """Move every file of ``src`` into ``dest``, replacing files of the same name."""
    for dirpath, _dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for filename in filenames:
            os.replace(Path(dirpath) / filename, dest / rel / filename)


def read_imported(root: Path) -> dict[str, str]:
    """Archive name → SHA-256 of everything imported into ``root`` so far."""
    path = Path(root) / IMPORTED_FILE
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def import_archive(archive: Path, root: Path, log=print, spec: ArchiveSpec | None = None) -> ArchiveSpec:
    """Verify ``archive`` (unless ``spec`` says it was) and extract it into ``root``.

    Nothing is written unless all of it extracts.
    """
    archive = Path(archive)
    root = Path(root)
    if spec is None:
        log(f"checking {archive.name} ...")
        spec = verify_archive(archive)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".import-"))
    try:
        log(f"extracting {archive.name} into {root} ...")
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(staging, members=list(_safe_members(tar, archive)), filter="data")
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise DataError(f"{archive}: cannot be extracted ({exc}); copy it again from shared/data.") from exc
        _merge_tree(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    imported = read_imported(root)
    imported[spec.filename] = spec.sha256
    write_json_atomic(root / IMPORTED_FILE, imported)
    return spec


def import_archives(archives: list[Path], root: Path, log=print, force: bool = False) -> list[ArchiveSpec]:
    """Verify every archive first, then import each; one bad archive stops all before any write.

    An archive already imported into ``root`` with the same checksum is skipped unless ``force``.
    """
    checked = []
    for archive in archives:
        log(f"checking {Path(archive).name} ...")
        checked.append((Path(archive), verify_archive(Path(archive))))
    imported = read_imported(root)
    done = []
    for archive, spec in checked:
        if not force and imported.get(spec.filename) == spec.sha256:
            log(f"{spec.filename} already imported into {root}; skipped (--force to extract again)")
            continue
        done.append(import_archive(archive, root, log=log, spec=spec))
    return done
