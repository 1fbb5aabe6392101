"""Import the archives of ``shared/data`` into the data root: verify, then extract atomically.

An archive is checked against the manifest's SHA-256 before anything is written.
It is extracted into a temporary folder beside its destination; only a complete,
clean extraction is moved into place, so a truncated or corrupt archive leaves
nothing behind but the error. Imports into one data root take turns (a file lock);
the next import removes the staging folder of one that was killed.
"""

from __future__ import annotations

import json
import lzma
import os
import shutil
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..atomic import write_json_atomic
from .cache import sha256_of
from .errors import DataError, disk_full
from .manifest import ARCHIVES, ArchiveSpec
from .paths import writable_data_root

IMPORTED_FILE = "imported.json"
IMPORT_LOCK = ".import.lock"
STAGING_PREFIX = ".import-"


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
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); delete it and import the archives again.") from None


def staging_folders(root: Path) -> list[Path]:
    """The staging folders of imports into ``root``: a running import's, or those an interrupted one left."""
    root = Path(root)
    return sorted(p for p in root.glob(STAGING_PREFIX + "*") if p.is_dir()) if root.is_dir() else []


def folder_mib(folder: Path) -> float:
    """Size of the files under ``folder``, in MiB."""
    return sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20


def import_lock(root: Path) -> FileLock:
    """The lock every import into ``root`` holds: one at a time, so none loses another's imported.json entry
    and every staging folder found while holding it was left by an interrupted one."""
    return FileLock(str(Path(root) / IMPORT_LOCK))


def import_running(root: Path) -> bool | None:
    """Whether an import into ``root`` holds its lock now; None where that cannot be told (a read-only root)."""
    lock = import_lock(root)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return None
    lock.release()
    return False


@contextmanager
def _importing(root: Path, log):
    """Hold ``root``'s import lock (waiting for another import if one runs), after removing stale staging."""
    writable_data_root(root)
    lock = import_lock(root)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log(f"waiting for another import into {root} to finish ...")
        lock.acquire()
    try:
        for stale in staging_folders(root):
            log(f"removing {stale.name} ({folder_mib(stale):.0f} MiB), left by an interrupted import")
            shutil.rmtree(stale)
        yield
    finally:
        lock.release()


def _extract(archive: Path, root: Path, spec: ArchiveSpec, log) -> None:
    """Extract the verified ``archive`` into ``root`` and record it; nothing is written unless all of it extracts.
    The caller holds the import lock."""
    staging = Path(tempfile.mkdtemp(dir=root, prefix=STAGING_PREFIX))
    needed = None
    try:
        log(f"extracting {archive.name} into {root} ...")
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = list(_safe_members(tar, archive))
                needed = sum(m.size for m in members)
                tar.extractall(staging, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError, ValueError, lzma.LZMAError) as exc:
            raise (disk_full(exc, root, needed, f"extracting {archive.name}")
                   or DataError(f"{archive}: cannot be extracted ({exc}); copy it again from shared/data.")) from exc
        _merge_tree(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    imported = read_imported(root)
    imported[spec.filename] = spec.sha256
    try:
        write_json_atomic(root / IMPORTED_FILE, imported)
    except OSError as exc:
        full = disk_full(exc, root, None, f"writing {IMPORTED_FILE}")
        if full is None:
            raise
        raise full from exc


def import_archive(archive: Path, root: Path, log=print, spec: ArchiveSpec | None = None) -> ArchiveSpec:
    """Verify ``archive`` (unless ``spec`` says it was) and extract it into ``root``, imported before or not.

    Nothing is written unless all of it extracts.
    """
    archive = Path(archive)
    if spec is None:
        log(f"checking {archive.name} ...")
        spec = verify_archive(archive)
    with _importing(Path(root), log):
        _extract(archive, Path(root), spec, log)
    return spec


def import_archives(archives: list[Path], root: Path, log=print, force: bool = False) -> list[ArchiveSpec]:
    """Verify every archive first, then import each; one bad archive stops all before any write.

    An archive already imported into ``root`` with the same checksum is skipped unless ``force``.
    """
    checked = []
    for archive in archives:
        log(f"checking {Path(archive).name} ...")
        checked.append((Path(archive), verify_archive(Path(archive))))
    root = Path(root)
    done = []
    with _importing(root, log):
        imported = read_imported(root)
        for archive, spec in checked:
            if not force and imported.get(spec.filename) == spec.sha256:
                log(f"{spec.filename} already imported into {root}; skipped (--force to extract again)")
                continue
            _extract(archive, root, spec, log)
            done.append(spec)
    return done
