"""Markdown tables and claims.csv from the stored records of a results folder."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from ..claims import catalog
from ..atomic import write_text_atomic

CSV_COLUMNS = ["id", "reading", "verdict", "claimed", "measured_mean", "ci_low", "ci_high", "n_seeds", "unit"]

VERDICT_RULES = """\
Verdicts are computed from the measurements, never assigned:
**REPRODUCED** — a claimed figure: the 95 % t-interval of the mean over seeds lies inside claimed ± tolerance;
an ordering: Welch's one-sided test gives p < 0.05; a mechanism: it holds for every seed.
**NOT REPRODUCED** — the interval misses the band entirely, the reverse ordering is significant, or the mechanism holds for no seed.
**ARTIFACT** — the correct measurement refutes the figure, and an evaluation mistake the harness runs reproduces it.
**INCONCLUSIVE** — neither: the noise is too large for the seeds run (always so with one seed).
**NOT RUN** — the data or device the claim needs is missing (the row says which)."""


def _sorted(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: catalog.order_key(r["claim_id"], r["reading"]))


def format_interval(r: dict) -> str:
    """A record's mean with its interval and n, for tables and failure messages."""
    iv = r.get("interval")
    if not iv:
        return ""
    if iv.get("low") is None:
        return f"{iv['mean']:.4g} (n={iv['n']})"
    return f"{iv['mean']:.4g} [{iv['low']:.4g}, {iv['high']:.4g}] (n={iv['n']})"


def csv_rows(records: list[dict]) -> list[dict]:
    """One row per claim and reading, in catalogue order."""
    rows = []
    for r in _sorted(records):
        iv = r.get("interval") or {}
        rows.append({
            "id": r["claim_id"], "reading": r["reading"], "verdict": r["verdict"], "claimed": r["claimed"],
            "measured_mean": iv.get("mean"), "ci_low": iv.get("low"), "ci_high": iv.get("high"),
            "n_seeds": len(r.get("seeds") or []), "unit": r.get("unit", ""),
        })
    return rows


def _header(environment: dict, records: list[dict]) -> str:
    commits = sorted({r["environment"]["commit"] for r in records})
    data = sorted({form for r in records for form in r.get("data_form", "").split("; ") if form})
    lines = [
        f"- profile: **{environment['profile']}**",
        f"- device: {environment['device']}",
        f"- torch {environment['torch']}, CUDA {environment['cuda']}, Python {environment['python']}",
        f"- commit: {', '.join(commits) if commits else environment['commit']}"
        + (" (records from several commits: rerun the profile for one)" if len(commits) > 1 else ""),
        f"- written: {environment['date']}",
        "- data: " + ("; ".join(data) if data else "none") + " (each claim's splits and subsets: the report tables)",
    ]
    return "\n".join(lines)


def _markdown(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False) if len(df) else "_no claims recorded_"


def summary_markdown(records: list[dict], environment: dict) -> str:
    """``results/<profile>/README.md``: header, verdict counts, and one row per claim and reading."""
    records = _sorted(records)
    counts = Counter(r["verdict"] for r in records)
    table = pd.DataFrame([{
        "claim": r["claim_id"], "reading": r["reading"], "the report says": r["claimed"],
        "measured (mean [95 % CI], n seeds)": r["measured"], "verdict": f"**{r['verdict']}**",
        "wall s": f"{r.get('wall_s', 0):.1f}",
    } for r in records])
    total_wall = sum(r.get("wall_s", 0) for r in records)
    parts = [
        f"# Claim results — {environment['profile']} profile", "", _header(environment, records), "",
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; wall time of the claims {total_wall:.0f} s.",
        "", _markdown(table), "", "Per-report detail, with every reading's choices: "
        + ", ".join(f"[r{rep}.md](r{rep}.md)" for rep in sorted({r['claim_id'][1:4] for r in records})) + ".",
        "Per-epoch curves: `plots/`. Machine-readable: [claims.csv](claims.csv).", "", VERDICT_RULES, "",
    ]
    return "\n".join(parts)


def report_markdown(report: str, records: list[dict], environment: dict) -> str:
    """``results/<profile>/r<report>.md``: every claim of one report with its readings and figures."""
    records = [r for r in _sorted(records) if r["claim_id"].startswith(f"r{report}.")]
    rows = []
    for r in records:
        claim = catalog.get(r["claim_id"])
        figures = "; ".join(f"{k} = {_fmt(v)}" for k, v in r.get("figures", {}).items())
        rows.append({
            "claim": r["claim_id"], "section": claim.section, "reading": f"{r['reading']}: {r.get('reading_text', '')}",
            "the report says": r["claimed"], "measured": r["measured"], "mean [95 % CI]": format_interval(r),
            "verdict": f"**{r['verdict']}**", "other figures": figures, "data": r.get("data", ""),
            "notes": r.get("notes", ""),
        })
    choices = []
    for claim_id in dict.fromkeys(r["claim_id"] for r in records):
        claim = catalog.get(claim_id)
        opened = "; ".join(f"{k}: {v}" for k, v in claim.open_choices.items())
        choices.append(f"- `{claim_id}` — check: {claim.check}. Readings where the report is silent: {opened}.")
    return "\n".join([
        f"# Report {report} — {environment['profile']} profile", "", _header(environment, records), "",
        _markdown(pd.DataFrame(rows)), "", "## How each claim is checked, and the readings taken", "",
        *choices, "", VERDICT_RULES, "",
    ])


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and value and isinstance(value[0], float):
        return "[" + ", ".join(f"{v:.3g}" for v in value) + "]"
    return str(value)


def claims_csv(records: list[dict]) -> str:
    """``claims.csv`` text with the columns of CSV_COLUMNS."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(records):
        writer.writerow(row)
    return buffer.getvalue()


def write_tables(results_dir: Path, records: list[dict], environment: dict) -> list[Path]:
    """Write README.md, one r<report>.md a report and claims.csv; returns the paths written."""
    results_dir = Path(results_dir)
    written = [write_text_atomic(results_dir / "README.md", summary_markdown(records, environment)),
               write_text_atomic(results_dir / "claims.csv", claims_csv(records))]
    for report in sorted({r["claim_id"][1:4] for r in records}):
        written.append(write_text_atomic(results_dir / f"r{report}.md", report_markdown(report, records, environment)))
    return written
