"""Markdown tables and claims.csv from the stored records of a results folder."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

from ..atomic import write_text_set
from ..claims import catalog
from ..claims.record import RUN_SOURCES, runs_text
from ..claims.verdicts import rules_markdown
from ..stability import other_verdict, stability_words
from .environment import device_type

CSV_COLUMNS = ["id", "reading", "verdict", "profile", "metric", "claimed", "measured_mean", "ci_low", "ci_high",
               "interval_method", "interval_kind", "n_seeds", "unit", "primary", "parts", "stability",
               "replicate_verdicts", "modes", "device_type"]  # device_type last: older files' columns keep their places


def verdict_rules() -> str:
    """The legend of every table: the rules as ``harness/claims/verdicts.py`` states them (README prints the same)."""
    return ("Verdicts are computed by each claim's judge, a pure function of the measurements (`harness/judges/`), "
            "never assigned:\n\n" + rules_markdown() + "\n\nA measured cell's interval says its kind: *(run)* is the "
            "95 % prediction interval of one run of the recipe (what a one-run figure is set against); *(bounds)* "
            "are a difference's two one-sided 95 % bounds (a 90 % interval); *(mean)* is a two-sided 95 % interval "
            "of the mean; *(rate)* has one-sided 95 % Clopper–Pearson bounds; *(n=K)* is a figure without an "
            "interval, from K seeds (where seeds split between modes, those of the report's mode).")


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
            # What `claims pin` reads to choose the device type's pins (cpu, cuda).
            "device_type": device_type(r.get("environment", {}).get("device", "")),
        })
    return rows


# What a CUDA session's header adds to the torch line (harness.report.environment.cuda_versions); a CPU's has none.
CUDA_VERSION_LABELS = (("cudnn", "cuDNN"), ("driver", "driver"), ("cuda_driver_api", "driver CUDA API"))


def _header(environment: dict, records: list[dict]) -> str:
    commits = sorted({r["environment"]["commit"] for r in records})
    judged = sorted({r["judged"]["commit"] for r in records if r.get("judged")})
    by = sorted({r["judged"].get("by", "python -m harness rejudge") for r in records if r.get("judged")})
    # Another report's claims judged from these measurements (python -m harness judge): said, with the file's hash.
    against = sorted({(j["claims"], j.get("claims_sha256", ""), j.get("measurements", "?"))
                      for r in records if "claims" in (j := r.get("judged") or {})})
    data = sorted({form for r in records for form in r.get("data_form", "").split("; ") if form})
    # Merged shards may come from processes set up differently: name each allocator their records were made under.
    allocators = sorted({r["environment"]["allocator"] for r in records if "allocator" in r["environment"]}) or \
        ([environment["allocator"]] if "allocator" in environment else [])
    # Merged shards (and --allow-mixed) may hold records of several devices: name every one they were measured on.
    devices = sorted({r["environment"]["device"] for r in records if "device" in r.get("environment", {})}) or \
        [environment["device"]]
    lines = [
        f"- profile: **{environment['profile']}**",
        f"- device: {'; '.join(devices)}" + (" (records from several devices)" if len(devices) > 1 else ""),
        f"- torch {environment['torch']}, CUDA {environment['cuda']}"
        + "".join(f", {label} {environment[key]}" for key, label in CUDA_VERSION_LABELS if key in environment)
        + f", Python {environment['python']}",
        f"- commit: {', '.join(commits) if commits else environment['commit']}"
        + (" (records from several commits: rerun the profile for one)" if len(commits) > 1 else ""),
        f"- written: {environment['date']}",
        "- numerics: " + ", ".join(f"{k} {v}" for k, v in environment.get("numerics", {}).items()),
        *([f"- allocator: {'; '.join(allocators)}" + (" (records differ)" if len(allocators) > 1 else "")]
          if allocators else []),
        "- data: " + ("; ".join(data) if data else "none") + " (each claim's splits and subsets: the report tables)",
        *([f"- judged: commit {', '.join(judged)} ({', '.join(f'`{b}`' for b in by)}, from the stored measurements)"]
          if judged else []),
        *[f"- judged against: `{file}` (sha256 {sha[:12]}) from the measurements of `{source}`: the statements, "
          "claimed figures and readings are that file's; the figures, seeds and environment are the measuring "
          "session's" for file, sha, source in against],
    ]
    return "\n".join(lines)


WIDTH = 200  # no line of a summary table wider than this: GitHub's page width, read without sideways scrolling

_TAGS = {"prediction": "run", "mean": "bounds", "rate": "rate"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _cut(text: str, width: int) -> str:
    """``text`` cut at a word boundary to at most ``width`` characters, with an ellipsis where cut."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text[:max(width - 1, 1)]
    if " " in cut[width // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def _g(x: float) -> str:
    return f"{x:.3g}"


def interval_tag(iv: dict | None) -> str:
    """The short word a summary cell prints for an interval's kind (the legend says what each means)."""
    if not iv:
        return ""
    if iv.get("kind") == "mean" and not str(iv.get("sides", "")).startswith("one-sided"):
        return "mean"
    return _TAGS.get(iv.get("kind", "mean"), iv.get("kind", ""))


def short_measured(r: dict, width: int = 44) -> str:
    """A record's headline figure with its interval and the interval's kind, for a summary cell."""
    iv = r.get("interval")
    unit = f" {r['unit']}" if r.get("unit") else ""
    if iv and iv.get("mean") is not None and iv.get("low") is not None and iv.get("high") is not None:
        return f"{_g(iv['mean'])} [{_g(iv['low'])}, {_g(iv['high'])}]{unit} ({interval_tag(iv)})"
    if iv and iv.get("mean") is not None:
        modes = modes_short(r)
        return f"{_g(iv['mean'])}{unit} (n={iv.get('n')})" + (f"; seeds {modes}" if modes else "")
    return _cut(r.get("measured", ""), width)


def modes_short(record: dict) -> str:
    """The modes of the first deciding part whose seeds split (``at chance 1/5: 10; learned 4/5: 24.3``), '' where
    none did: a figure of one mode must not read as the recipe's."""
    for part in record.get("parts") or []:
        modes = part.get("modes")
        if modes and part.get("judged", True):
            cells = [(key[len(part["name"]):].strip() or key, value) for key, value in modes.items()
                     if isinstance(value, dict) and "seeds" in value]
            total = sum(value["seeds"] for _, value in cells)
            return "; ".join(f"{name} {value['seeds']}/{total}: {_g(value['mean'])}" for name, value in cells)
    return ""


def rule_kind(rule: str) -> str:
    """The rule's name from a part's rule text: figure, change, ordering, per seed, all cases, existence …"""
    head = rule.split(":", 1)[0].split(" (", 1)[0].strip()
    return head if len(head) <= 16 else head.split(" ", 1)[0]  # 'ARTIFACT if the correct evaluation …' → ARTIFACT


def primary_rules(r: dict) -> str:
    """The rules that decided a record: its primary parts' rules, each named once; ``existence`` for an existence
    claim, whose judge decides from the cases of its grid (one case shows it), not by combining its parts."""
    try:
        if catalog.get(r["claim_id"]).check.lower().startswith("an existence claim"):
            return "existence"
    except KeyError:
        pass
    kinds = [rule_kind(p.get("rule", "")) for p in r.get("parts") or [] if p.get("judged", True) and p.get("verdict")]
    return " + ".join(dict.fromkeys(k for k in kinds if k))


def anchor(record: dict) -> str:
    """The id of a record's detail section in its report's file: the claim's name and the reading's place in the
    catalogue (short, so that summary lines stay narrow; the section's heading names the reading)."""
    claim = catalog.get(record["claim_id"])
    names = [reading.name for reading in claim.readings]
    place = names.index(record["reading"]) + 1 if record["reading"] in names else _slug_words(record["reading"])
    return f"{claim_anchor(record['claim_id'])}-{place}"


def claim_anchor(claim_id: str) -> str:
    return _slug_words(claim_id.split(".", 1)[-1])


def _slug_words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def detail_link(record: dict, here: bool = False) -> str:
    """Where a record's detail section is: ``r002.md#depth-sweep-1`` (``#depth-sweep-1`` within that file)."""
    return ("" if here else _report_file(_report_of(record))) + "#" + anchor(record)


def not_run_estimate(record: dict) -> str:
    """A NOT RUN record's estimate in one line: what it needs and on what, without the basis (the detail has it)."""
    text = record.get("notes") or record.get("measured") or ""
    text = re.sub(r" \(\d[^()]*(?:\([^()]*\)[^()]*)*steps[^()]*(?:\([^()]*\)[^()]*)*\)", "", text)
    return _cut(text, 110)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def summary_rows(records: list[dict], profile: str, here: bool = False) -> list[str]:
    """The summary table of ``records``: decided rows first, then NOT RUN rows grouped with their estimates; every
    line at most WIDTH characters (the report's words are cut to fit; the detail has them whole)."""
    decided = [r for r in records if r["verdict"] != "NOT RUN"]
    not_run = [r for r in records if r["verdict"] == "NOT RUN"]
    lines = []
    if decided:
        header = ["claim", "reading", "the report says", "measured [interval] (kind)",
                  f"{_verdict_header(profile)} · rule · stability"]
        rows = []
        for r in decided:  # five columns: GitHub's page width holds them without scrolling sideways
            verdict = " · ".join(x for x in (_verdict_cell(r["verdict"], profile), primary_rules(r),
                                             _short_stability(r.get("stability"), r["verdict"])) if x)
            cells = [f"[{r['claim_id']}]({detail_link(r, here)})", _cell(r["reading"]), "",
                     _cell(short_measured(r)), _cell(verdict)]
            room = WIDTH - len(_row(cells))
            cells[2] = _cell(_cut(r["claimed"], max(room, 12)))
            while len(_row(cells)) > WIDTH and len(cells[2]) > 2:  # escaped pipes take room too
                cells[2] = _cell(_cut(r["claimed"], len(cells[2]) - 4))
            rows.append(cells)
        lines += _table(header, rows)
    if not_run:
        lines += ["", f"**NOT RUN** ({len(not_run)}): not measured; each row says what measuring it needs, the detail "
                  "has the whole note (an estimate with its basis).", ""]
        rows = []
        for r in not_run:
            cells = [f"[{r['claim_id']}]({detail_link(r, here)})", _cell(r["reading"]), ""]
            cells[2] = _cell(_cut(not_run_estimate(r), max(WIDTH - len(_row(cells)), 12)))
            rows.append(cells)
        lines += _table(["claim", "reading", "NOT RUN: needs"], rows)
    return lines or ["_no claims recorded_"]


def _short_stability(s: dict | None, verdict: str) -> str:
    if not s:
        return "—"
    if s.get("draws", 0) == 0:
        return "1 (deterministic)"
    if s.get("stable"):
        return f"{s['same']:.2f}"
    other = other_verdict(s, verdict)
    return f"{s['same']:.2f} unstable" + (f" ({other})" if other else "")


def _control(records: list[dict]) -> list[dict]:
    return [r for r in records if catalog.get(r["claim_id"]).control]


def counts_line(records: list[dict], all_records: list[dict], profile: str) -> str:
    """Claims, readings, each verdict, and the control's verdict, in one line."""
    counts = Counter(r["verdict"] for r in records)
    order = ["REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE", "ARTIFACT", "NOT RUN"]
    verdicts = ", ".join(f"{k} {counts[k]}" for k in sorted(counts, key=lambda v: (order + [v]).index(v)))
    claims = len({r["claim_id"] for r in records})
    control = [f"{r['claim_id']} [{r['reading']}] {_verdict_cell(r['verdict'], profile)}" for r in _control(all_records)]
    wall = sum(r.get("wall_s", 0) for r in records)
    return (f"{claims} claim{'s' * (claims != 1)}, {len(records)} reading{'s' * (len(records) != 1)}: {verdicts}; "
            f"control: {'; '.join(control) or 'none recorded'}; wall time {wall:.0f} s.")


def _forest_image(results_dir_plots: set[str] | None, report: str) -> list[str]:
    from .forest import forest_name

    name = forest_name(report)
    if results_dir_plots is not None and name not in results_dir_plots:
        return []
    return [f"![Forest plot of report {report}: each judged figure's interval beside the claim](plots/{name})", ""]


def report_title(report: str) -> str:
    """A report's name in the tables and its forest plot: its folder's ``[report] title`` (``Report 002``,
    ``Positive controls``), else ``Report <name>`` (another report's file judged by ``python -m harness judge``)."""
    return catalog.report_title(report)


def legend(profile: str) -> str:
    """What the tables' columns, interval kinds and stability mean, and the verdict rules: once, at the end."""
    return "\n".join([
        '<a id="legend"></a>', "", "## How to read these tables", "",
        "- **the report says**: the report's figure or statement (cut to fit; the detail has it whole).",
        "- **measured [interval] (kind)**: the headline figure of the claim's primary part and its interval; the kind "
        "says which interval: *run* is the 95 % prediction interval of one run of the recipe (what a one-run figure "
        "is set against); *bounds* are the two one-sided 95 % bounds of a mean or a difference (a 90 % interval, "
        "as its test is one-sided); *mean* a two-sided 95 % interval of the mean; *rate* one-sided 95 % "
        "Clopper–Pearson bounds of a per-seed rate.",
        f"- **{_verdict_header(profile)} · rule · stability**: the verdict; the rule (below) that decided it, one "
        "for each kind of primary part; and its stability. The claim's link opens its detail: every part with its "
        "claimed and measured figures, rule, test and verdict; the reading's choices; the data; the curves.",
        "- **stability**: the share of predictive bootstrap replicates of the seeds (rules below) that give the same "
        "verdict; *unstable* "
        "below 0.9, with the verdict the other replicates give most and its share (R, NR, I: the row sits near "
        "that boundary; the detail gives what 10 and 20 seeds would give, and the replicate set a later run may "
        "measure without failing).",
        "- **forest plot**: one line per judged figure: the claimed band (grey; an ordering's region above its "
        "margin, a rate's above 1/2) and the report's figure (◆) beside the measured interval, coloured by the "
        "part's verdict; each line on its own scale.",
        "- **curves**: the mean over seeds with the seeds' min–max band, named in the report's words; ★ marks the "
        "report's own figure where it gives one for that curve.",
        "", verdict_rules(), "",
    ])


def summary_markdown(records: list[dict], environment: dict, plots: set[str] | None = None) -> str:
    """``results/<profile>/README.md``: the header, then a short section a report (its counts, forest plot and
    summary table linking each row to its detail in ``r<report>.md``), then the legend."""
    records = _sorted(records)
    profile = environment["profile"]
    counts = Counter(r["verdict"] for r in records)
    total_wall = sum(r.get("wall_s", 0) for r in records)
    reports = _reports(records)
    parts = [
        f"# Claim results — {profile} profile", "", _header(environment, records), "",
        *([SMOKE_NOTE, ""] if profile != "full" else []), *_control_warning(records),
        "Verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; wall time of the claims {total_wall:.0f} s"
        + _runs_note(records) + ".",
        "", "Reports: " + " · ".join(f"[{report_title(rep)}](#{_report_anchor(rep)})" for rep in reports)
        + " · [how to read these tables](#legend) · machine-readable: [claims.csv](claims.csv)", "",
    ]
    for report in reports:
        mine = [r for r in records if _report_of(r) == report]
        parts += [f'<a id="{_report_anchor(report)}"></a>', "", f"## {report_title(report)}", "",
                  counts_line(mine, records, profile), "", *_forest_image(plots, report),
                  *summary_rows(mine, profile), "",
                  f"Every claim's detail, readings and curves: [{_report_file(report)}]({_report_file(report)}).", ""]
    parts += [legend(profile)]
    return "\n".join(parts)


def _wall_cell(record: dict) -> str:
    """The wall time, and where the claim's runs came from where the record says: a run loaded from the results
    cache costs seconds that training it cost minutes."""
    source = runs_text(record)
    return f"{record.get('wall_s', 0):.1f}" + (f" s ({source})" if source else " s")


def _runs_note(records: list[dict]) -> str:
    """``; of their training runs, 3 trained, 40 cached (loaded from the results cache), 7 shared ...`` ('' where no
    record says)."""
    totals = {word: sum(r.get(key) or 0 for r in records) for key, word in RUN_SOURCES}
    if not any(totals.values()):
        return ""
    words = {"trained": "trained", "cached": "cached (loaded from the results cache)",
             "shared": "shared (trained earlier in the session for another claim)"}
    return "; of their training runs " + ", ".join(f"{n} {words[w]}" for w, n in totals.items() if n)


def _report_anchor(report: str) -> str:
    return f"report-{_slug_words(report)}"


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


def _part_lines(part: dict) -> list[str]:
    verdict = part.get("verdict")
    role = "primary" if part.get("judged", True) and verdict else ("beside" if verdict else "shown")
    head = f"- **{_cell(part['name'])}** ({role}): " + (f"**{verdict}**" if verdict else "a figure, not judged")
    if part.get("reason") and verdict == "INCONCLUSIVE":
        head += f" ({_REASONS.get(part['reason'], part['reason'])})"
    lines = [head, f"  - claimed {part.get('claimed') or '—'}; measured {part.get('measured') or '—'}"]
    if part.get("rule"):
        lines.append(f"  - rule and test: {part['rule']}")
    if part.get("modes"):
        lines.append(f"  - modes: {part['modes'].get('text', part['modes'])}")
    return lines


def detail_markdown(r: dict, profile: str, plots: set[str] | None = None) -> list[str]:
    """The detail section of one record: verdict, figures, every part, the reading's choices, data, notes, curves."""
    from .plots import plot_path

    claim = catalog.get(r["claim_id"])
    try:
        reading = claim.reading(r["reading"])
        choices = reading.why + (" (" + ", ".join(f"{k}={v}" for k, v in reading.choices.items()) + ")"
                                 if reading.choices else "")
    except KeyError:
        choices = r.get("reading_text", "")
    s = r.get("stability")
    stab = _short_stability(s, r["verdict"])
    if s and s.get("draws", 0):
        stab = stability_words(s, r["verdict"]) + ("; replicate set: " + ", ".join(s.get("set", [])) if s.get("set") else "")
    seeds = r.get("seeds") or []
    lines = [f'<a id="{anchor(r)}"></a>', "", f"### {r['claim_id']} — {r['reading']}: "
             f"{_verdict_cell(r['verdict'], profile)}", "",
             f"- reading `{r['reading']}`: {choices}",
             f"- the report says: {r['claimed']}",
             f"- measured: {r.get('measured') or '—'}"]
    if r.get("interval"):
        lines.append(f"- headline: {format_interval(r)}" + (f"; metric: {r['metric']}" if r.get("metric") else ""))
    if primary_parts(r):
        lines.append(f"- decided by: {'; '.join(primary_parts(r))} ({primary_rules(r)} rule)")
    lines += [f"- stability: {stab}",
              f"- seeds: {len(seeds)}" + (f" ({', '.join(map(str, seeds))})" if seeds else "")
              + f"; wall time {_wall_cell(r)}"]
    if r.get("data"):
        lines.append(f"- data: {r['data']}")
    if r.get("figures"):
        lines.append("- other figures: " + "; ".join(f"{k} = {_fmt(v)}" for k, v in r["figures"].items()))
    if r.get("notes"):
        lines.append(f"- notes: {r['notes']}")
    if r.get("parts"):
        lines += ["", "Parts:", ""] + [line for part in r["parts"] for line in _part_lines(part)]
    plot = plot_path(Path("."), r).relative_to(".")
    if r.get("curves") and (plots is None or plot.name in plots):
        lines += ["", f"![{r['claim_id']} — {r['reading']}: curves]({plot.as_posix()})"]
    return lines + [""]


def report_markdown(report: str, records: list[dict], environment: dict, plots: set[str] | None = None) -> str:
    """``results/<profile>/r<report>.md``: the report's forest plot and summary table, then a section a claim (how
    it is checked, where the report is silent) with a small section a reading (parts, figures, curves)."""
    profile = environment["profile"]
    all_records = _sorted(records)
    records = [r for r in all_records if _report_of(r) == report]
    out = [f"# {report_title(report)} — {profile} profile", "", _header(environment, records), "",
           *([SMOKE_NOTE, ""] if profile != "full" else []), counts_line(records, all_records, profile), "",
           *_forest_image(plots, report), *summary_rows(records, profile, here=True), "",
           "[How to read these tables](#legend) · [all reports](README.md)", ""]
    for claim_id in dict.fromkeys(r["claim_id"] for r in records):
        claim = catalog.get(claim_id)
        opened = "; ".join(f"{k}: {v}" for k, v in claim.open_choices.items())
        out += [f'<a id="{claim_anchor(claim_id)}"></a>', "", f"## {claim_id} ({claim.section})", "",
                f"> {claim.statement}", "", f"- check: {claim.check}", f"- Where the report is silent: {opened}",
                f"- metric: {claim.metric}", "- readings: " + ", ".join(f"`{reading.name}`" for reading in claim.readings)
                + " (each recorded one's choices in its section below)", ""]
        for r in records:
            if r["claim_id"] == claim_id:
                out += detail_markdown(r, profile, plots)
    out += [legend(profile)]
    return "\n".join(out)


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
    files mixed, even after a kill); returns the paths written. Images are linked where their plots will be
    drawn: a record's curves, and a report's forest plot where it has a judged figure."""
    from .forest import forest_lines, forest_name
    from .plots import plot_path

    note = INCOMPLETE_NOTE if incomplete else ""
    plots = {plot_path(Path("."), r).name for r in records if r.get("curves")}
    plots |= {forest_name(rep) for rep in _reports(records)
              if forest_lines([r for r in _sorted(records) if _report_of(r) == rep])}
    files = {"README.md": note + summary_markdown(records, environment, plots), "claims.csv": claims_csv(records)}
    for report in _reports(records):
        files[_report_file(report)] = report_markdown(report, records, environment, plots)
    return write_text_set(Path(results_dir), files)
