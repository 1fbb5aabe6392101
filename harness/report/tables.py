"""Markdown tables and claims.csv from the stored records of a results folder."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from ..claims import catalog
from ..atomic import write_text_atomic

CSV_COLUMNS = ["id", "reading", "verdict", "metric", "claimed", "measured_mean", "ci_low", "ci_high",
               "interval_method", "n_seeds", "unit", "parts"]

VERDICT_RULES = """\
Verdicts are computed by each claim's judge, a pure function of the measurements (`harness/judges/`), never assigned:
- **REPRODUCED** — a claimed figure: the 95 % interval of the mean over seeds lies inside claimed ± tolerance;
  an ordering: the one-sided test gives p < 0.05 and the difference exceeds the measurement's resolution
  (one test image); a claimed change: the interval of the paired differences lies inside the claimed change ± tolerance;
  a mechanism: it holds for every seed (every case, for a deterministic check).
- **NOT REPRODUCED** — the interval misses the band entirely, the reverse ordering is significant, or the mechanism holds
  for no seed (fails in some case, for a deterministic check).
- **ARTIFACT** — the correct measurement refutes the figure, and an evaluation mistake gives the figure on this model
  while giving another figure on a contrast model the harness runs.
- **INCONCLUSIVE** — neither: the noise is too large for the seeds run (always so with one seed).
- **NOT RUN** — the data or device the claim needs is missing (the row says which).

A claim of several parts shows each part's verdict; it is REPRODUCED only if every judged part is, NOT REPRODUCED if
any is. Parts marked *shown* are figures beside the verdict, not part of it.

Intervals (95 %): a report's figure is one run, so it is set against the prediction interval of one more run
(mean ± t·s·√(1 + 1/n), marked "one more run"); other intervals are those of the mean. Accuracies in % use a
t-interval on the logit scale (never outside 0–100 %) whose spread is at least the binomial noise of the test set;
ratios a t-interval on the log scale around the geometric mean (never negative); other figures a t-interval,
clipped to the quantity's range (a difference of two percentages stays within ±100 pp). Orderings of runs that share seeds, initialization and
data order use the paired t-test (`scipy.stats.ttest_rel`); independent runs use Welch's test. Each row names its test."""

SMOKE_NOTE = ("**Smoke budget:** these verdicts come from small subsets of the real data and 2 seeds. They show "
              "that each claim's machinery runs end to end; they are indicative, not findings. The full profile's "
              "tables are the results.")


def _verdict_cell(verdict: str, profile: str) -> str:
    return f"**{verdict}**" if profile == "full" else verdict


def _verdict_header(profile: str) -> str:
    return "verdict" if profile == "full" else "indicative verdict (smoke budget)"


def parts_text(record: dict, judged_only: bool = True) -> str:
    """``name: VERDICT`` of each part of a record (judged parts only, or all with their figures)."""
    out = []
    for part in record.get("parts") or []:
        if judged_only and not part.get("judged", True):
            continue
        verdict = part.get("verdict") or "figure"
        if judged_only:
            out.append(f"{part['name']}: {verdict}")
        else:
            mark = "" if part.get("judged", True) else " (shown)"
            out.append(f"{part['name']}{mark}: {verdict} — claimed {part['claimed'] or '—'}; measured "
                       f"{part['measured']}; {part['rule']}")
    return "; ".join(out)


def _sorted(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: catalog.order_key(r["claim_id"], r["reading"]))


def format_interval(r: dict) -> str:
    """A record's mean with its interval and n, for tables and failure messages."""
    iv = r.get("interval")
    if not iv:
        return ""
    if iv.get("low") is None:
        return f"{iv['mean']:.4g} (n={iv['n']})"
    return f"{iv['mean']:.4g} [{iv['low']:.4g}, {iv['high']:.4g}] (n={iv['n']}, {iv.get('method', 't')})"


def csv_rows(records: list[dict]) -> list[dict]:
    """One row per claim and reading, in catalogue order."""
    rows = []
    for r in _sorted(records):
        iv = r.get("interval") or {}
        rows.append({
            "id": r["claim_id"], "reading": r["reading"], "verdict": r["verdict"], "metric": r.get("metric", ""),
            "claimed": r["claimed"], "measured_mean": iv.get("mean"), "ci_low": iv.get("low"), "ci_high": iv.get("high"),
            "interval_method": iv.get("method", "") if iv else "", "n_seeds": len(r.get("seeds") or []),
            "unit": r.get("unit", ""), "parts": parts_text(r),
        })
    return rows


def _header(environment: dict, records: list[dict]) -> str:
    commits = sorted({r["environment"]["commit"] for r in records})
    data = sorted({form for r in records for form in r.get("data_form", "").split("; ") if form})
    # Merged shards may come from processes set up differently: name each allocator their records were made under.
    allocators = sorted({r["environment"]["allocator"] for r in records if "allocator" in r["environment"]}) or \
        ([environment["allocator"]] if "allocator" in environment else [])
    lines = [
        f"- profile: **{environment['profile']}**",
        f"- device: {environment['device']}",
        f"- torch {environment['torch']}, CUDA {environment['cuda']}, Python {environment['python']}",
        f"- commit: {', '.join(commits) if commits else environment['commit']}"
        + (" (records from several commits: rerun the profile for one)" if len(commits) > 1 else ""),
        f"- written: {environment['date']}",
        "- numerics: " + ", ".join(f"{k} {v}" for k, v in environment.get("numerics", {}).items()),
        *([f"- allocator: {'; '.join(allocators)}" + (" (records differ)" if len(allocators) > 1 else "")]
          if allocators else []),
        "- data: " + ("; ".join(data) if data else "none") + " (each claim's splits and subsets: the report tables)",
    ]
    return "\n".join(lines)


def _markdown(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False) if len(df) else "_no claims recorded_"


def summary_markdown(records: list[dict], environment: dict) -> str:
    """``results/<profile>/README.md``: header, verdict counts, and one row per claim and reading."""
    records = _sorted(records)
    profile = environment["profile"]
    counts = Counter(r["verdict"] for r in records)
    table = pd.DataFrame([{
        "claim": r["claim_id"], "reading": r["reading"], "the report says": r["claimed"],
        "measured (mean [95 % CI], n seeds)": r["measured"], _verdict_header(profile): _verdict_cell(r["verdict"], profile),
        "parts": parts_text(r), "wall s": f"{r.get('wall_s', 0):.1f}",
    } for r in records])
    total_wall = sum(r.get("wall_s", 0) for r in records)
    parts = [
        f"# Claim results — {profile} profile", "", _header(environment, records), "",
        *([SMOKE_NOTE, ""] if profile != "full" else []), *_control_warning(records),
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; wall time of the claims {total_wall:.0f} s.",
        "", _markdown(table), "", "Per-report detail, with every reading's choices: "
        + ", ".join(f"[{_report_file(rep)}]({_report_file(rep)})" for rep in _reports(records)) + ".",
        "Per-epoch curves: `plots/`. Machine-readable: [claims.csv](claims.csv).", "", VERDICT_RULES, "",
    ]
    return "\n".join(parts)


def _report_of(record: dict) -> str:
    return catalog.get(record["claim_id"]).report


def _reports(records: list[dict]) -> list[str]:
    return list(dict.fromkeys(_report_of(r) for r in records))


def _report_file(report: str) -> str:
    return f"r{report}.md" if report[0].isdigit() else f"{report}.md"


def _control_warning(records: list[dict]) -> list[str]:
    """A failed positive control, said first: every verdict on its data rests on it."""
    failed = [r for r in records if catalog.get(r["claim_id"]).control and r["verdict"] != "REPRODUCED"]
    return [f"> **Control {r['claim_id']} is {r['verdict']}** ({r['measured']}): the CIFAR-10 verdicts below rest "
            "on the data pipeline and engine it checks; read them with that in mind." for r in failed] + (
        [""] if failed else [])


def report_markdown(report: str, records: list[dict], environment: dict) -> str:
    """``results/<profile>/r<report>.md``: every claim of one report with its readings, parts and figures."""
    profile = environment["profile"]
    records = [r for r in _sorted(records) if _report_of(r) == report]
    rows = []
    for r in records:
        claim = catalog.get(r["claim_id"])
        figures = "; ".join(f"{k} = {_fmt(v)}" for k, v in r.get("figures", {}).items())
        rows.append({
            "claim": r["claim_id"], "section": claim.section, "reading": r["reading"],
            "the report says": r["claimed"], "measured": r["measured"], "metric": r.get("metric", ""),
            "mean [95 % CI]": format_interval(r), _verdict_header(profile): _verdict_cell(r["verdict"], profile),
            "parts": parts_text(r, judged_only=False), "other figures": figures, "data": r.get("data", ""),
            "notes": r.get("notes", ""),
        })
    choices = []
    for claim_id in dict.fromkeys(r["claim_id"] for r in records):
        claim = catalog.get(claim_id)
        opened = "; ".join(f"{k}: {v}" for k, v in claim.open_choices.items())
        choices.append(f"- `{claim_id}` — check: {claim.check}. Where the report is silent: {opened}. Readings:")
        # Each reading's explanation once, here, rather than in every row of the table.
        choices += [f"  - `{reading.name}`: {reading.why}"
                    + (" (" + ", ".join(f"{k}={v}" for k, v in reading.choices.items()) + ")" if reading.choices else "")
                    for reading in claim.readings]
    title = f"Report {report}" if report[0].isdigit() else "Positive controls"
    return "\n".join([
        f"# {title} — {profile} profile", "", _header(environment, records), "",
        *([SMOKE_NOTE, ""] if profile != "full" else []), _markdown(pd.DataFrame(rows)), "", "## How each claim is checked, and the readings taken", "",
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


INCOMPLETE_NOTE = ("> **INCOMPLETE:** this session was interrupted. The rows below are the claims that finished; "
                   "rerun the profile for the rest (finished training runs load from the results cache).\n\n")


def write_tables(results_dir: Path, records: list[dict], environment: dict, incomplete: bool = False) -> list[Path]:
    """Write README.md, one r<report>.md a report and claims.csv; returns the paths written."""
    results_dir = Path(results_dir)
    note = INCOMPLETE_NOTE if incomplete else ""
    written = [write_text_atomic(results_dir / "README.md", note + summary_markdown(records, environment)),
               write_text_atomic(results_dir / "claims.csv", claims_csv(records))]
    for report in _reports(records):
        written.append(write_text_atomic(results_dir / _report_file(report), report_markdown(report, records, environment)))
    return written
