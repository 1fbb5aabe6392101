"""The claims harness as a pytest plugin: its options, its fixtures, and the session its hooks delegate to.

This repository's conftest.py loads it; a claims folder elsewhere loads it with ``pytest -p harness.pytest_plugin``
(or ``pytest_plugins = ["harness.pytest_plugin"]``). ``pytest_configure`` builds the session once from the command
line (:func:`harness.plugin.settings.build_session`: every option checked before any test) and registers it; its
hooks live on :class:`harness.plugin.session.ClaimsSession`. Workers of pytest-xdist each write the records of the
claims they ran; the controller (or the single process without -n) writes the tables at the end.
"""

from __future__ import annotations

import pytest

from harness.plugin.session import NAME, of as session_of


def pytest_addoption(parser):
    group = parser.getgroup("claims harness")
    group.addoption("--profile", choices=["smoke", "full"], default=None,
                    help="smoke: small real subsets, 2 seeds, minutes on a CPU (default without a GPU); "
                         "full: the reports' budgets, 5 seeds, verdicts asserted (default with a GPU)")
    group.addoption("--seeds", type=int, default=None, help="seeds per claim (default: smoke 2, full 5)")
    group.addoption("--first-seed", type=int, default=0,
                    help="the first seed (default 0): seeds are K, K+1, ...; a replicate of a run takes seeds "
                         "that run did not use, e.g. --first-seed 5 after a 5-seed run")
    group.addoption("--data-root", default=None,
                    help="data folder (default: $HARNESS_DATA, else ~/.cache/claims-harness)")
    group.addoption("--results-dir", default=None,
                    help="where tables go (default: results/<profile> on a CPU, results/<profile>-gpu on CUDA)")
    group.addoption("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    group.addoption("--cpu-threads", type=int, default=1,
                    help="torch threads per process on the CPU (default 1: results then do not depend on -n)")
    group.addoption("--progress-every", type=float, default=60.0,
                    help="seconds between progress lines (what each worker trains now) when the output is not a "
                         "terminal or under -q; a terminal shows a live view instead; 0 turns both off")
    group.addoption("--max-hours", type=float, default=None,
                    help="time budget of the session: a claim whose cost estimate does not fit in what is left is "
                         "recorded NOT RUN with its estimate (default: none on a GPU, 3 on a CPU)")
    group.addoption("--cache-dir", default=None,
                    help="where finished training runs are kept across sessions (default: $HARNESS_CACHE, else "
                         "<data root>/runs); a rerun loads them instead of training")
    group.addoption("--no-cache", action="store_true", help="train every run again and keep nothing across sessions")
    group.addoption("--shard", default=None, metavar="K/N",
                    help="run the K-th of N disjoint parts of the selected tests (1-based); tests that share "
                         "training runs stay in one part; the union of all parts is the whole selection")
    group.addoption("--plan-file", default=None, metavar="PATH",
                    help="a cost plan (python -m harness plan --out PATH) for the header, the ETA and --shard's "
                         "balance; give every shard the same one (default: the plan cached for this profile and "
                         "device, for the header and the ETA only; shards then balance by test counts)")
    group.addoption("--plan", default=None, metavar="PATH", dest="plan_out",
                    help="plan mode (what python -m harness plan runs): cost every training run the selected "
                         "claims need, train and judge nothing, write the plan to PATH")
    group.addoption("--claims-dir", action="append", default=[], metavar="DIR",
                    help="a report folder (claims.toml, judges.py, test_*.py) or a folder of them, outside this "
                         "repository's suites/; repeatable. A test path holding claims.toml is added alike. Its "
                         "results go to DIR/results/<profile> unless --results-dir says otherwise")
    group.addoption("--require-data", action="store_true",
                    help="fail the session when a data set is missing, instead of recording NOT RUN and skipping "
                         "(CI passes it)")


def pytest_configure(config):
    # Registered here, not only in this repository's pyproject: a claims folder elsewhere loads just the plugin.
    config.addinivalue_line("markers", "claim(id): the claim this test measures (set by for_each_reading)")
    from harness.plugin.settings import build_session

    config.pluginmanager.register(build_session(config), NAME)


@pytest.fixture(scope="session")
def harness(request):
    """The session's :class:`harness.session.Harness`: profile, seeds, device, data, shared runs."""
    return session_of(request.config).harness


@pytest.fixture
def reading(request):
    """The reading a claim test runs under (``for_each_reading`` parametrizes it)."""
    return request.param


@pytest.fixture
def claim(request, harness, reading):
    """The claim this test measures, under its reading (:class:`harness.session.ClaimMeasurement`): its claim record,
    budget, data and :meth:`~harness.session.ClaimMeasurement.conclude`. The claim is the test's ``claim`` mark
    (``for_each_reading`` sets it) or its ``claim_id`` parameter."""
    from harness.shards import claims_of

    ids = claims_of(request.node)
    if len(ids) != 1:
        pytest.fail(f"{request.node.nodeid}: the claim fixture needs a test of one claim (decorate it with "
                    f"@for_each_reading(\"<claim id>\")); it names {ids or 'none'}", pytrace=False)
    measuring = harness.start(ids[0], reading, request.node.nodeid)
    if harness.planner is not None:
        # Plan mode costs the runs the claim declares and runs no test body: nothing is trained or judged.
        measuring.plan()
        harness.running = None
        pytest.skip("plan mode: the runs this claim declares are costed, nothing trained or judged")
    yield measuring
    harness.running = None  # nothing later is charged to this claim
