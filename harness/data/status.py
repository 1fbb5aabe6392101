"""What data is present under the data root, in which form, and how to get what is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .archives import folder_mib, import_running, read_imported, staging_folders
from .errors import DataError, DataMissing
from .images import find_source
from .sources import RESTORE_HINT
from .paths import cache_dir

SPLITS = {"cifar10": ("train", "test"), "tiny-imagenet": ("train", "val")}


def data_status(root: Path) -> list[dict]:
    """One row per data set and split: present or not, form, location, counts, and a hint when missing."""
    rows = []
    for dataset, splits in SPLITS.items():
        for split in splits:
            row = {"dataset": dataset, "split": split}
            try:
                source = find_source(dataset, split, root)
            except DataMissing as exc:
                row.update(present=False, note=f"missing; get it with: {exc.hint}")
            except DataError as exc:
                row.update(present=False, note=f"BROKEN: {exc}")
            else:
                counts = np.bincount(source.labels, minlength=len(source.classes))
                row.update(present=True, form=source.form, location=str(source.location), images=len(source),
                           classes=len(source.classes), per_class=f"{counts.min()}-{counts.max()}",
                           note=source.shortfall() or "complete")
            rows.append(row)
    return rows


def format_status(root: Path) -> str:
    """Human-readable status report for ``python -m harness data status``."""
    root = Path(root)
    lines = [f"data root: {root}" + ("" if root.exists() else "  (does not exist yet)")]
    for row in data_status(root):
        name = f"{row['dataset']}/{row['split']}"
        if row["present"]:
            restore = "" if row["note"] == "complete" else f" (restore it with: {RESTORE_HINT[row['dataset']]})"
            lines.append(f"  {name:22s} present  {row['images']:>7} images, {row['classes']} classes "
                         f"({row['per_class']} per class), {row['note']}{restore}; {row['form']} at {row['location']}")
        else:
            lines.append(f"  {name:22s} {row['note']}")
    imported = read_imported(root)
    lines.append("imported archives: " + (", ".join(sorted(imported)) if imported else "none"))
    staging = staging_folders(root)
    if staging:
        running = import_running(root)
        why = {True: "an import into this root is running now",
               False: "left by an interrupted import; the next `python -m harness data import` removes it",
               None: "left by an import, interrupted or still running; delete it once none runs"}[running]
        lines += [f"staging folder {folder} ({folder_mib(folder):.0f} MiB): {why}" for folder in staging]
    caches = sorted(cache_dir(root).glob("*.npz")) if cache_dir(root).is_dir() else []
    size = sum(p.stat().st_size for p in caches) / 2**20
    lines.append(f"decoded cache: {len(caches)} arrays, {size:.0f} MiB in {cache_dir(root)}")
    return "\n".join(lines)
