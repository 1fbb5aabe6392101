"""``python -m harness``: the data, the claim catalogue, the cost plan, the results cache, merging, re-judging
and comparing results, and judging another report's claims from stored measurements."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _data_root_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", default=None,
                        help="data folder (default: $HARNESS_DATA, else ~/.cache/claims-harness)")


def _claims_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claims-dir", action="append", default=[], type=Path, metavar="DIR",
                        help="also the report folders in DIR (claims.toml, judges.py, test_*.py), besides this "
                             "repository's suites/; repeatable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="get and inspect the data sets").add_subparsers(dest="action", required=True)
    imp = data.add_parser("import", help="verify archives against the manifest and extract them atomically")
    imp.add_argument("archives", nargs="+", type=Path, help="archives from shared/data")
    imp.add_argument("--force", action="store_true", help="extract again archives already imported")
    _data_root_arg(imp)
    status = data.add_parser("status", help="what is present, where, in which form, and how to get the rest")
    _data_root_arg(status)
    dl = data.add_parser("download", help="fetch a data set from its official source (needs network)")
    dl.add_argument("dataset", choices=["cifar10", "tiny-imagenet"])
    _data_root_arg(dl)

    claims = sub.add_parser("claims", help="the claim catalogue").add_subparsers(dest="action", required=True)
    _claims_dir_arg(claims.add_parser("list", help="every claim of every report folder, with its readings"))
    validate = claims.add_parser("validate", help="check report folders without training: their claim records, "
                                                  "judges, pins, and that their tests collect")
    validate.add_argument("folder", nargs="?", type=Path, default=None,
                          help="a report folder or a folder of them (default: every folder the catalogue has)")
    _claims_dir_arg(validate)
    pin = claims.add_parser("pin", help="record the verdicts a full run measured, for the full profile to assert on "
                                        "the device type its rows were measured on (column device_type)")
    pin.add_argument("csv", type=Path, help="claims.csv of a reviewed full-profile run: results/full/claims.csv (the "
                                            "CPU's) or results/full-gpu/claims.csv (the GPU's)")
    pin.add_argument("--add", action="store_true", help="a replicate run (other seeds, another machine): add its "
                                                        "verdicts to each row's pinned set instead of replacing it")
    _claims_dir_arg(pin)

    cache = sub.add_parser("cache", help="the results cache of finished training runs")
    cache.add_argument("action", choices=["status", "prune", "clear"],
                       help="status: each entry with its size and state (current; stale, saying what changed; from "
                            "before dependencies were recorded) and the totals; prune: remove the entries and "
                            "checkpoints no session can load any more; clear: remove every entry and checkpoint")
    cache.add_argument("--dry-run", action="store_true", help="prune: list what it would remove, removing nothing")
    cache.add_argument("--cache-dir", default=None, help="default: $HARNESS_CACHE, else <data root>/runs")
    _data_root_arg(cache)

    plan = sub.add_parser("plan", help="what the selected claims cost on this device: every distinct training run, "
                                       "costed by timing a few of its steps (run it from the repository root)")
    plan.add_argument("paths", nargs="*", default=[], help="test paths (default: every report folder of the "
                                                           "catalogue: suites/ and those of --claims-dir)")
    plan.add_argument("--profile", choices=["smoke", "full"], default=None,
                      help="default: full with a GPU, smoke without (as pytest)")
    plan.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    plan.add_argument("--seeds", type=int, default=None, help="seeds per claim (default: the profile's)")
    plan.add_argument("--cpu-threads", type=int, default=None, help="torch threads (default: pytest's, 1)")
    plan.add_argument("-k", dest="keyword", default=None, help="only tests matching this pytest -k expression")
    plan.add_argument("--no-cache", action="store_true",
                      help="cost every run as if none were cached, and keep no calibration (what the shards of one "
                           "nightly run share, so that they split the work alike)")
    plan.add_argument("--out", type=Path, default=None, help="also write the plan's JSON here (for --plan-file)")
    plan.add_argument("--cache-dir", default=None, help="default: $HARNESS_CACHE, else <data root>/runs")
    _data_root_arg(plan)
    _claims_dir_arg(plan)

    rep = sub.add_parser("report", help="merge the results folders of several machines (shards) into one set of tables")
    rep.add_argument("sources", nargs="+", type=Path, help="results folders, each with records/")
    rep.add_argument("--out", type=Path, required=True, help="where the merged tables, claims.csv and plots go")
    rep.add_argument("--allow-mixed", action="store_true", help="merge records of different commits, profiles or devices")
    _claims_dir_arg(rep)

    rej = sub.add_parser("rejudge", help="judge every stored record again with today's judges and rewrite the "
                                         "tables, without training")
    rej.add_argument("results", type=Path, help="a results folder with records/ (e.g. results/full)")
    rej.add_argument("--draws", type=int, default=None, help="bootstrap replicates for each stability figure "
                                                              "(default: harness.stability.DRAWS)")
    _claims_dir_arg(rej)

    jud = sub.add_parser("judge", help="judge another report's claims (the same claim ids, its own claimed figures, "
                                       "statements and readings) from a results folder's stored measurements, "
                                       "without training, and write its tables")
    jud.add_argument("results", type=Path, help="the results folder whose records hold the measurements (e.g. "
                                                "results/full); only read")
    jud.add_argument("--claims", type=Path, required=True,
                     help="the other report's claim file, shaped as suites/r002/claims.toml with its claim ids (e.g. "
                          "examples/r002-student-b.toml); its name names the report")
    jud.add_argument("--out", type=Path, required=True, help="a new or empty folder for its records, tables, "
                                                             "claims.csv and plots")
    jud.add_argument("--draws", type=int, default=None, help="bootstrap replicates for each stability figure "
                                                              "(default: harness.stability.DRAWS)")
    _claims_dir_arg(jud)

    cmp = sub.add_parser("compare", help="what changed between two result sets; exit 1 when a verdict changed")
    cmp.add_argument("old", type=Path, help="a results folder or its claims.csv (the reference)")
    cmp.add_argument("new", type=Path, help="a results folder or its claims.csv (the run to check)")
    cmp.add_argument("--exact", action="store_true",
                     help="report every differing field (timing claims aside) and exit 1 on any: two runs of the same "
                          "code must agree")
    cmp.add_argument("--strict", action="store_true",
                     help="also exit 1 on a row newly run, added or missing: every verdict of NEW must have one in OLD "
                          "to be checked against (the nightly run of every claim)")
    _claims_dir_arg(cmp)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    from .data import DataError, format_status, import_archives, resolve_data_root

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        from .claims import catalog

        for folder in getattr(args, "claims_dir", []):
            catalog.add_dir(folder)
        if args.command == "data":
            root = resolve_data_root(args.data_root)
            if args.action == "import":
                specs = import_archives(args.archives, root, force=args.force)
                print(f"imported {len(specs)} archive(s) into {root}")
                print(format_status(root))
            elif args.action == "status":
                print(format_status(root))
            elif args.action == "download":
                from .data.download import download

                download(args.dataset, root)
                print(format_status(root))
        elif args.command == "claims":
            from .claims import catalog

            if args.action == "list":
                for folder in catalog.folders():
                    print(f"{folder.title} ({folder.path})")
                    for claim in catalog.all_claims():
                        if claim.folder == str(folder.path):
                            readings = ", ".join(r.name for r in claim.readings)
                            print(f"  {claim.id:32s} {claim.section:10s} readings: {readings}")
            elif args.action == "validate":
                from .claims.validate import validate

                found, summary = validate(args.folder)
                print("\n".join(f"- {p}" for p in found + [summary]))
                return 1 if found else 0
            elif args.action == "pin":
                from .report import read_records

                from .report.store import refuse_other_reports

                # A hand-in's verdicts (python -m harness judge) are never the project's reference.
                refuse_other_reports(args.csv.parent, "python -m harness claims pin",
                                     "would pin the hand-in's verdicts as the project's reference")
                read_records(args.csv.parent)  # its records name the report folders of claims outside suites/
                pinned, changes, written = catalog.pin_verdicts(args.csv, add=args.add)
                print("\n".join(changes) or "no pin changed")
                print(f"{len(pinned)} pinned verdict sets in " + ", ".join(map(str, written)))
        elif args.command == "cache":
            from .runcache import RunCache, default_cache_dir

            cache = RunCache(default_cache_dir(resolve_data_root(args.data_root), args.cache_dir))
            if args.dry_run and args.action != "prune":  # `clear --dry-run` would clear: refused, never ignored
                raise ValueError(f"--dry-run goes with `cache prune`, not `cache {args.action}`")
            if args.action == "status":
                print(cache.status())
            elif args.action == "prune":
                gone = cache.prune(dry_run=args.dry_run)
                for surveyed in gone:
                    print(f"  {surveyed.line()}")
                runs = sum(not s.partial for s in gone)
                removed, freed = ("would remove", "would free") if args.dry_run else ("removed", "freed")
                print(f"{removed} {runs} cached runs and {len(gone) - runs} checkpoints of unfinished runs from "
                      f"{cache.folder}, {freed} {sum(s.size for s in gone) / 2**20:.1f} MiB (stale for this "
                      f"checkout's code: another checkout or branch sharing the folder trains those runs again)")
            else:
                runs, partials = cache.clear()
                print(f"removed {runs} cached runs and {partials} partial runs' checkpoints from {cache.folder}")
        elif args.command == "plan":
            return _plan(args)
        elif args.command == "report":
            from .report import write_results
            from .report.merge import merge_records

            records = merge_records(args.sources, args.out, args.allow_mixed)
            written = write_results(args.out, records[0]["environment"])
            print(f"merged {len(records)} records from {len(args.sources)} folders; wrote {len(written)} files to "
                  f"{args.out}")
        elif args.command == "rejudge":
            from .report.rejudge import rejudge

            summary = rejudge(args.results, draws=args.draws)
            print(summary.markdown(), end="")
        elif args.command == "judge":
            from .report.judge_other import judge_against

            print(judge_against(args.claims, args.results, args.out, draws=args.draws).markdown(), end="")
        elif args.command == "compare":
            from .report.compare import TIMING_CHANGES, compare, compare_markdown

            from .report.store import refuse_other_reports

            for side in (args.old, args.new):  # a hand-in's verdicts against a run's read as drift: never compared
                refuse_other_reports(side.parent if side.is_file() else side, "python -m harness compare",
                                     "would count the hand-in's verdicts as changes of the measured run")
            table = compare(args.old, args.new, exact=args.exact)
            print(compare_markdown(table, args.old, args.new), end="")
            if args.exact:  # a timing claim's verdict rests on wall time: never a difference of two runs' code
                return 1 if (len(table) and (~table["change"].isin(TIMING_CHANGES)).any()) else 0
            failing = {"verdict changed"} | ({"newly run", "added", "missing"} if args.strict else set())
            return 1 if len(table) and table["change"].isin(failing).any() else 0
    except (DataError, FileNotFoundError, ValueError) as exc:  # MixedRecords and ClaimRecordError are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _plan(args) -> int:
    """Collect the selected claim tests in plan mode (pytest ``--plan``: each claim's declared runs costed, no test
    body run) and print the plan; keep it for later sessions of the folders planned unless ``-k`` selected some."""
    import tempfile

    import pytest

    from .data import resolve_data_root
    from .plan import Plan, plan_path, plan_scope
    from .runcache import default_cache_dir

    if args.out is not None and args.out.is_dir():  # found before the minutes of costing, not after
        raise ValueError(f"--out {args.out}: is a folder; give the plan's file name, e.g. {args.out / 'plan.json'}")
    cache_dir = default_cache_dir(resolve_data_root(args.data_root), args.cache_dir)
    with tempfile.TemporaryDirectory(prefix="claims-harness-plan-") as tmp:
        out = Path(tmp) / "plan.json"
        # Path options as one word: pytest takes a separate existing folder for a test path.
        from .claims import catalog

        paths = args.paths or [str(f.path) for f in catalog.folders()]
        # The plugin named: outside this repository no conftest.py loads it.
        argv = [*paths, "-n", "0", "-q", "-p", "no:cacheprovider", "-p", "harness.pytest_plugin",
                "--progress-every", "0", f"--plan={out}", f"--cache-dir={cache_dir}",
                *(f"--claims-dir={d}" for d in args.claims_dir)]
        for flag, value in (("--profile", args.profile), ("--device", args.device), ("--seeds", args.seeds),
                            ("--cpu-threads", args.cpu_threads), ("-k", args.keyword), ("--data-root", args.data_root)):
            if value is not None:
                argv.append(f"{flag}={value}")
        if args.no_cache:
            argv.append("--no-cache")
        code = pytest.main(argv)
        if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.INTERRUPTED) \
                or not out.exists():
            print(f"error: no plan came out of 'pytest {' '.join(argv)}' (exit {int(code)})", file=sys.stderr)
            return 2
        plan = Plan.load(out)
    print(plan.markdown(), end="")
    if args.out is not None:
        plan.save(args.out)
        print(f"plan written to {args.out}")
    if args.keyword is None:
        # Every claim of the folders planned: kept where pytest sessions of them, of this profile on this device,
        # find it.
        where = plan_path(cache_dir, plan.profile, plan.device, plan_scope(paths))
        plan.save(where)
        print(f"plan kept for pytest sessions in {where}")
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        print("warning: some tests failed in plan mode (above): the runs of their claims are not in the plan",
              file=sys.stderr)
        return 1
    return 0
