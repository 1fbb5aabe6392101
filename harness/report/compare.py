"""Compare two result sets: changed verdicts, figures whose intervals no longer overlap, rows added or missing."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..atomic import set_member


# What compare reads of each row: a csv without one of them would compare as "no differences".
COMPARED_COLUMNS = ("id", "reading", "verdict", "measured_mean", "ci_low", "ci_high")


def read_claims_csv(path: Path, required: tuple[str, ...] = COMPARED_COLUMNS) -> dict[tuple[str, str], dict]:
    """``(id, reading) → row`` of a results folder's claims.csv (or of the file itself); a ValueError naming the
    file when it is not a text CSV or lacks one of the ``required`` columns."""
    path = Path(path)
    if path.is_dir():
        path = path / "claims.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no claims.csv there; give a results folder or a claims.csv file")
    try:
        # Tables a killed session left half renamed: the new set's file (its journal names it).
        with open(set_member(path.parent, path.name), newline="") as fh:
            reader = csv.DictReader(fh)
            rows, columns = list(reader), set(reader.fieldnames or ())
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a text CSV file ({exc}); give a claims.csv written by the harness") from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValueError(f"{path}: not a claims.csv written by the harness (no {', '.join(missing)} column); give "
                         "the claims.csv of a results folder")
    return {(r["id"], r["reading"]): r for r in rows}


def _interval(row: dict) -> tuple[float, float] | None:
    try:
        low, high = float(row.get("ci_low") or "nan"), float(row.get("ci_high") or "nan")
    except ValueError:
        return None
    return None if low != low or high != high else (low, high)


def _is_timing(claim_id: str) -> bool:
    from ..claims import catalog

    try:
        return catalog.get(claim_id).timing
    except KeyError:
        return False


# Changes shown in the table that never fail a comparison, --exact included: wall time is no finding of the code.
TIMING_CHANGES = frozenset({"timing verdict differs", "timing figure differs"})


def compare(old: Path, new: Path, exact: bool = False) -> pd.DataFrame:
    """One row per difference that matters: a changed verdict, disjoint intervals, a row added or missing.

    A row NOT RUN in ``old`` and judged in ``new`` is "newly run"; judged in ``old`` and NOT RUN in ``new``
    is a changed verdict (a run that lost a verdict it had). A new verdict within the set a replicate of the old
    row may give (its ``replicate_verdicts``) is "within replicate set", and a timing claim's changed verdict, NOT
    RUN on either side included, is "timing verdict differs" (its disjoint intervals "timing figure differs"): all
    shown, none failing. Rows headed by different parts (their ``metric`` differs: another part decided one of
    them) are "headline from another part", their figures not compared.

    ``exact``: also every other field that differs (timing claims aside, whose seconds differ run to run);
    for checking that two runs of the same code on the same data agree, e.g. ``-n 4`` against ``-n 0``.
    """
    before, after = read_claims_csv(old), read_claims_csv(new)
    rows = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            rows.append({"claim": key[0], "reading": key[1], "change": "added" if a is None else "missing",
                         "old": "" if a is None else a["verdict"], "new": "" if b is None else b["verdict"]})
            continue
        if a["verdict"] != b["verdict"]:
            # A claim the reference could not run (no GPU there, say) and this run judged is news, not a change;
            # a verdict a replicate of the reference may give (its replicate set) is no change of finding.
            # A timing claim's verdict rests on wall time (the machine's load, -n): shown, never a change of finding,
            # nor news that --strict must check (a GPU night measures r000.epoch_time, NOT RUN in the CPU's run).
            allowed = set(filter(None, (a.get("replicate_verdicts") or "").split("; ")))
            change = "timing verdict differs" if _is_timing(key[0]) else "newly run" if a["verdict"] == "NOT RUN" \
                else "within replicate set" if b["verdict"] in allowed else "verdict changed"
            rows.append({"claim": key[0], "reading": key[1], "change": change, "old": a["verdict"],
                         "new": b["verdict"]})
        if exact and not _is_timing(key[0]):
            rows += [{"claim": key[0], "reading": key[1], "change": f"{field} differs", "old": a[field], "new": b[field]}
                     for field in a if field != "verdict" and a[field] != b.get(field)]
        ia, ib = _interval(a), _interval(b)
        if (a.get("metric") or "") != (b.get("metric") or "") and not exact:
            # Another part decided (and heads) one of the rows: its figure is another quantity, not a moved one.
            rows.append({"claim": key[0], "reading": key[1], "change": "headline from another part",
                         "old": a.get("metric", ""), "new": b.get("metric", "")})
        elif ia and ib and (ia[1] < ib[0] or ib[1] < ia[0]):
            # A timing claim's seconds move with the machine's load and -n as its verdict does: shown, never failing.
            change = "timing figure differs" if _is_timing(key[0]) else "intervals no longer overlap"
            rows.append({"claim": key[0], "reading": key[1], "change": change,
                         "old": f"{a['measured_mean']} [{ia[0]:.4g}, {ia[1]:.4g}]",
                         "new": f"{b['measured_mean']} [{ib[0]:.4g}, {ib[1]:.4g}]"})
    return pd.DataFrame(rows, columns=["claim", "reading", "change", "old", "new"])


def compare_markdown(table: pd.DataFrame, old: Path, new: Path) -> str:
    """The comparison as markdown, with a one-line summary first."""
    changed = int((table["change"] == "verdict changed").sum()) if len(table) else 0
    within = int((table["change"] == "within replicate set").sum()) if len(table) else 0
    head = (f"Comparing `{old}` with `{new}`: {changed} verdict(s) changed beyond their replicate sets, {within} "
            f"within them, {len(table)} difference(s) in all.")
    return head + "\n\n" + (table.to_markdown(index=False) if len(table) else "_no differences_") + "\n"
