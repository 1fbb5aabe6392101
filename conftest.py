"""This repository's claim suites run under the claims harness plugin (options: ``pytest --help``).

``pytest --benchmark-only`` with no path runs the benchmarks (``benchmarks/``) and writes results/BENCHMARKS.md.
"""

from pathlib import Path

import pytest

pytest_plugins = ["harness.pytest_plugin"]

BENCHMARKS = "benchmarks"


def pytest_configure(config):
    # testpaths (pyproject.toml) holds the unit tests and claim suites only, so that the README's
    # `pytest -n 4 --require-data` never collects the benchmarks (pytest-benchmark is off under -n: they would
    # train once each, untimed, for minutes). There --benchmark-only would skip every test it found; a user who
    # types it with no path means the benchmarks, so collect those instead. A path on the command line wins.
    if config.getoption("benchmark_only") and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        config.args = [str(Path(config.rootpath) / BENCHMARKS)]
        config._harness_benchmarks_only = True


def pytest_report_header(config):
    if getattr(config, "_harness_benchmarks_only", False):
        return [f"--benchmark-only with no path: collecting {BENCHMARKS}/ instead of testpaths"]
    return []
