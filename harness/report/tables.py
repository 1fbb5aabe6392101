"""Markdown tables and claims.csv from the stored records of a results folder."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from ..atomic import write_text_set
from ..claims import catalog
from ..claims.record import RUN_SOURCES, runs_text
from ..claims.verdicts import rules_markdown
from ..stability import stability_words

CSV_COLUMNS = ["id", "reading", "verdict", "profile", "metric", "claimed", "measured_mean", "ci_low", "ci_high",
               "interval_method", "interval_kind", "n_seeds", "unit", "primary", "parts", "stability",
               "replicate_verdicts", "modes"]


def verdict_rules() -> str:
    """The legend of every table: the rules as ``harness/claims/verdicts.py`` states them (README prints the same)."""
    return ("Verdicts are computed by each claim's judge, a pure function of the measurements (`harness/judges/`), "
            "never assigned:\n\n" + rules_markdown() + "\n\nIntervals say their kind: *one run* is the 95 % "
            "prediction interval of one run of the recipe (what a one-run figure is set against); *bounds* of a "
            "difference are its two one-sided 95 % bounds (a 90 % interval); a *rate* has one-sided 95 % "
            "Clopper–Pearson bounds.")


SMOKE_NOTE = ("**Smoke budget:** these verdicts come from small subsets of the real data and 2 seeds. They show "
              "that each claim's machinery runs end to end; they are indicative, not findings. The full profile's "
              "tables are the results.")


def _verdict_cell(verdict: str, profile: str) -> str:
    return f"**{verdict}**" if profile == "full" else verdict


def _verdict_header(profile: str) -> str:
    return "verdict" if profile == "full" else "indicative verdict (smoke budget)"


def parts_text(record: dict, judged_only: bool = True) -> str:
    """``name: VERDICT`` of each part of a record: the primary parts and a count of the verdicts beside them, or every
    part with its figures."""
    out = []
    for part in record.get("parts") or []:
        if judged_only and not part.get("judged", True):
            continue
        verdict = part.get("verdict") or "figure"
        if part.get("reason") and verdict == "INCONCLUSIVE":
            verdict += f" ({_REASONS.get(part['reason'], part['reason'])})"
        if judged_only:
            out.append(f"{part['name']}: {verdict}")
            continue
        mark = " (primary)" if part.get("judged", True) and part.get("verdict") else (
            " (beside)" if part.get("verdict") else " (shown)")
        out.append(f"{part['name']}{mark}: {verdict} — claimed {part['claimed'] or '—'}; measured "
                   f"{part['measured']}; {part['rule']}")
    if judged_only:
        beside = Counter(p["verdict"] for p in record.get("parts") or [] if not p.get("judged", True) and p.get("verdict"))
        if beside:
            out.append("beside: " + ", ".join(f"{n} {v}" for v, n in sorted(beside.items())))
    return "; ".join(out)


_REASONS = {"seeds": "more seeds would narrow it", "spread": "runs spread too widely to check a one-run figure",
            "modes": "too few seeds in the report's mode"}


def _sorted(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: catalog.order_key(r["claim_id"], r["reading"]))


INTERVAL_KINDS = {"prediction": "95 % prediction interval of one run", "mean": "bounds of the mean",
                  "rate": "bounds of a rate"}


def interval_kind(iv: dict | None) -> str:
    """What an interval is, in words: its kind and its sides."""
    if not iv:
        return ""
    kind = iv.get("kind", "mean")
    sides = iv.get("sides", "two-sided 95 %")
    return INTERVAL_KINDS.get(kind, kind) if kind == "prediction" else f"{INTERVAL_KINDS.get(kind, kind)}, {sides}"


def format_interval(r: dict) -> str:
    """A record's headline figure with its interval, its kind and n, for tables and failure messages."""
    iv = r.get("interval")
    if not iv:
        return ""
    if iv.get("low") is None:
        return f"{iv['mean']:.4g} (n={iv['n']})"
    return f"{iv['mean']:.4g} [{iv['low']:.4g}, {iv['high']:.4g}] (n={iv['n']}; {interval_kind(iv)})"


def primary_parts(record: dict) -> list[str]:
    """Names of a record's parts that decide its verdict."""
    return [p["name"] for p in record.get("parts") or [] if p.get("judged", True) and p.get("verdict")]


def modes_text(record: dict) -> str:
    """Each part whose seeds split between chance and learning, with its modes."""
    return "; ".join(f"{p['name']}: {p['modes']['text']}" for p in record.get("parts") or [] if p.get("modes"))


def csv_rows(records: list[dict]) -> list[dict]:
    """One row per claim and reading, in catalogue order."""
    rows = []
    for r in _sorted(records):
        iv = r.get("interval") or {}
        rows.append({
            "id": r["claim_id"], "reading": r["reading"], "verdict": r["verdict"], "metric": r.get("metric", ""),
            "claimed": r["claimed"], "measured_mean": iv.get("mean"), "ci_low": iv.get("low"), "ci_high": iv.get("high"),
            "profile": r.get("environment", {}).get("profile", ""),
            "interval_method": iv.get("method", "") if iv else "", "interval_kind": interval_kind(iv),
            "n_seeds": len(r.get("seeds") or []), "unit": r.get("unit", ""), "primary": "; ".join(primary_parts(r)),
            "parts": parts_text(r), "stability": "" if not r.get("stability") else round(r["stability"]["same"], 3),
            "replicate_verdicts": "; ".join((r.get("stability") or {}).get("set", [])), "modes": modes_text(r),
        })
    return rows


def _header(environment: dict, records: list[dict]) -> str:
    commits = sorted({r["environment"]["commit"] for r in records})
    judged = sorted({r["judged"]["commit"] for r in records if r.get("judged")})
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
        *([f"- judged: commit {', '.join(judged)} (`python -m harness rejudge`, from the stored measurements)"]
          if judged else []),
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
        "measured (headline; its interval says its kind)": r["measured"],
        _verdict_header(profile): _verdict_cell(r["verdict"], profile), "stability": stability_words(r.get("stability")),
        "primary parts": parts_text(r), "wall s": _wall_cell(r),
    } for r in records])
    total_wall = sum(r.get("wall_s", 0) for r in records)
    parts = [
        f"# Claim results — {profile} profile", "", _header(environment, records), "",
        *([SMOKE_NOTE, ""] if profile != "full" else []), *_control_warning(records),
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; wall time of the claims {total_wall:.0f} s"
        + _runs_note(records) + ".",
        "", _markdown(table), "", "Per-report detail, with every reading's choices: "
        + ", ".join(f"[{_report_file(rep)}]({_report_file(rep)})" for rep in _reports(records)) + ".",
        "Per-epoch curves: `plots/`. Machine-readable: [claims.csv](claims.csv).", "", verdict_rules(), "",
    ]
    return "\n".join(parts)


def _wall_cell(record: dict) -> str:
    """The wall time, and where the claim's runs came from where the record says: a run loaded from the results
    cache costs seconds that training it cost minutes."""
    source = runs_text(record)
    return f"{record.get('wall_s', 0):.1f}" + (f" ({source})" if source else "")


def _runs_note(records: list[dict]) -> str:
    """``; of their training runs, 3 trained, 40 cached (loaded from the results cache), 7 shared ...`` ('' where no
    record says)."""
    totals = {word: sum(r.get(key) or 0 for r in records) for key, word in RUN_SOURCES}
    if not any(totals.values()):
        return ""
    words = {"trained": "trained", "cached": "cached (loaded from the results cache)",
             "shared": "shared (trained earlier in the session for another claim)"}
    return "; of their training runs " + ", ".join(f"{n} {words[w]}" for w, n in totals.items() if n)


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
            "headline [interval] (kind)": format_interval(r), _verdict_header(profile): _verdict_cell(r["verdict"], profile),
            "stability": stability_words(r.get("stability")),
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
        *choices, "", verdict_rules(), "",
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
    """Write README.md, one r<report>.md a report and claims.csv as one set (a reader never sees old and new
    files mixed, even after a kill); returns the paths written."""
    note = INCOMPLETE_NOTE if incomplete else ""
    files = {"README.md": note + summary_markdown(records, environment), "claims.csv": claims_csv(records)}
    for report in _reports(records):
        files[_report_file(report)] = report_markdown(report, records, environment)
    return write_text_set(Path(results_dir), files)
