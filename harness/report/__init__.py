"""Results: per-claim records, the summary and per-report tables, claims.csv, plots."""

from pathlib import Path

from .environment import environment
from .plots import write_plots
from .store import read_records, record_path, write_record
from .tables import claims_csv, csv_rows, write_tables


def _in_catalog(record: dict) -> bool:
    """False for records of a claim or reading the catalogue no longer has (left by an older version)."""
    from ..claims import catalog

    try:
        catalog.get(record["claim_id"]).reading(record["reading"])
    except KeyError:
        return False
    return True


def write_results(results_dir: Path, env: dict, incomplete: bool = False, keep_newer_plots: bool = False) -> list[Path]:
    """Tables, curves and each report's forest plot from every record under ``results_dir``; returns the files
    written.

    ``incomplete``: the session was interrupted; the tables say so above everything else.
    ``keep_newer_plots``: keep plots newer than their records (drawn by the session's workers).
    """
    from .forest import write_forests
    from .tables import _report_of, _sorted

    records = [r for r in read_records(results_dir) if _in_catalog(r)]
    return (write_tables(results_dir, records, env, incomplete) + write_plots(results_dir, records, keep_newer_plots)
            + write_forests(results_dir, _sorted(records), _report_of, env["profile"]))


__all__ = ["claims_csv", "csv_rows", "environment", "read_records", "record_path", "write_plots",
           "write_record", "write_results", "write_tables"]
