"""The claims session: built once from the command line (:func:`harness.plugin.settings.build_session`) and
registered with pytest, whose hooks delegate to it (pytest-benchmark's shape).

It holds what a session keeps between hooks: the :class:`~harness.session.Harness` the fixtures hand out, the cost
plan, the progress board and terminal, the claims finished and the tables written. It decides nothing about a
claim: tests measure, judges decide, the report package writes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from harness import allocator
from harness.plan import Plan, hours
from harness.progress import Terminal, Ticker
from harness.progress.lines import session_line
from harness.progress.summary import verdict_table

from .settings import is_worker

NAME = "claims-harness-session"  # its name in pytest's plugin manager
CLAIM_TESTS_FILE = "claim-tests.json"  # in the session's memo folder: the controller under xdist collects nothing
# SIGTERM: what Slurm, `timeout` and CI runners send; SIGHUP: the terminal or the ssh connection went away.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def of(config) -> "ClaimsSession":
    """The claims session registered for ``config``."""
    return config.pluginmanager.get_plugin(NAME)


def ungrouped(nodeid: str) -> str:
    """``nodeid`` less the ``@group`` that pytest-xdist's loadgroup appends to it: the plan names tests without."""
    return re.sub(r"@[^\[\]/:]*$", "", nodeid)


def is_claim_test(item) -> bool:
    """Whether ``item`` measures a claim: it asks for the ``claim`` fixture (the judges' own tests do not)."""
    return "claim" in getattr(item, "fixturenames", ())


class ClaimsSession:
    """A pytest session of claim tests: the settings it was built with and what its hooks keep."""

    def __init__(self, config, harness, plan: Plan | None, board, started: float, results_lock=None):
        self.config = config
        self.harness = harness
        self.plan = plan  # the cost plan: the header's total, the ETA, --shard's balance
        self.board = board  # what each worker trains now (harness.progress)
        self.started = started  # the controller's clock
        self.results_lock = results_lock  # the results folder, held for this session alone (the controller's)
        self.worker = is_worker(config)
        self.terminal = None  # the progress terminal wrapping pytest's (the controller's, when shown)
        self.ticker = None
        self.signals: dict = {}
        self.selected: set | None = None  # node ids of the selected tests
        self.claim_tests: set | None = None  # those that measure a claim
        self.finished: set = set()  # node ids of the tests the controller has seen finish (for the ETA)
        self.results: list[dict] = []  # each claim this session finished, for the verdict table at its end
        self.written: int | None = None  # files the tables took (None: none written)
        self.interrupted = False  # the session stopped early: pytest's interrupt handler ran
        self._stop_on_signals()
        if self.worker and os.getppid() == config.workerinput.get("harness_controller_pid"):
            _exit_with_controller(config.workerinput["harness_controller_pid"])

    # -- the session's start and end ---------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)  # after the terminal reporter's header
    def pytest_sessionstart(self, session):
        """The controller's progress: a live view on a terminal (not under -q), else plain lines (--progress-every)."""
        config = self.config
        every = config.getoption("--progress-every")
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        writer = getattr(reporter, "_tw", None)
        if self.worker or every <= 0 or writer is None or not hasattr(writer, "_file") or \
                config.getoption("plan_out") is not None:
            return
        # pytest's writer has no public way to share its file; without one, progress stays off rather than garble it.
        self.terminal = Terminal(writer._file)
        writer._file = self.terminal
        live = bool(reporter.isatty) and config.option.verbose >= 0  # the ticker starts the view at its first draw
        self.ticker = Ticker(self.board, self.terminal, every, session=self.session_text, live=live)
        self.ticker.start()

    def pytest_report_header(self, config):
        h = self.harness
        lines = [f"claims harness: profile {h.profile}, {len(h.seeds)} seeds ({h.seeds[0]}–{h.seeds[-1]}), device "
                 f"{h.device} ({h.environment['device']}), data {h.data_root}, results {h.results_dir}"]
        if self.plan is not None:
            training = sum(1 for keys in self.plan.tests.values() if keys)
            lines.append(f"cost plan ({self.plan.made}): {len(self.plan.runs)} distinct runs for {training} claim "
                         f"tests, about {hours(self.plan.total_s())} of training one after another on "
                         f"{self.plan.device}")
        elif h.planner is None:
            from harness.plan import plan_scope

            paths = " ".join(config.args) + " " if plan_scope(config.args) else ""
            lines.append(f"cost plan: none for this profile and device; python -m harness plan {paths}--profile "
                         f"{h.profile} --device {h.device.type} estimates what this session costs")
        return lines

    def pytest_sessionfinish(self, session, exitstatus):
        """The controller writes the tables (only a session that ran claims) and names the claims no pin guards."""
        self._stop_progress()
        if self.worker:
            return
        h = self.harness
        if h.planner is not None:
            h.planner.save(Path(self.config.getoption("plan_out")))
            return
        from harness.report import write_results
        from harness.report.store import RECORDS

        records = h.results_dir / RECORDS
        fresh = records.is_dir() and any(p.stat().st_mtime >= self.started for p in records.glob("*.json"))
        if not fresh:  # only sessions that ran claims rewrite the tables
            return
        # An interrupted session (Ctrl-C) keeps the records of the claims that finished and says so in its tables.
        incomplete = self.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        written = write_results(h.results_dir, h.environment, incomplete=incomplete, keep_newer_plots=True)
        self.written = len(written)  # said under the verdict table (pytest_terminal_summary)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter and h.full:
            from harness.claims.pinned import unpinned
            from harness.report import read_records

            loose = unpinned([r for r in read_records(h.results_dir)
                              if r.get("environment", {}).get("profile") == "full"], h.device.type)
            if loose:
                reporter.write_sep("!", f"{len(loose)} full-profile claims have NO PINNED VERDICT that can fail "
                                        "(none pinned, or every verdict they can reach)", red=True)
                for name in loose:
                    reporter.write_line(f"  unguarded: {name}", red=True)
                reporter.write_line("  pin a reviewed full run with: python -m harness claims pin "
                                    f"{h.results_dir / 'claims.csv'}", red=True)

    @pytest.hookimpl(wrapper=True)
    def pytest_keyboard_interrupt(self, excinfo):
        """Remember that the session stopped early (Ctrl-C, a signal, pytest.exit) for the tables, and drop from the
        interrupt's traceback the frames without a line number: on Python 3.11 an interrupt can land on an
        instruction that has none (``tb_lineno`` None), and pytest's terminal reporter, formatting it, raised
        TypeError out of pytest's interrupt handler, which left the exit status at OK (tables not marked INCOMPLETE,
        exit code 1 instead of 2). A wrapper runs before every plain implementation, the reporter's included."""
        self.interrupted = True
        excinfo.traceback = excinfo.traceback.filter(_has_line_number)
        return (yield)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        """The claims this session finished, one narrow line each (claim, reading, verdict, wall time and where its
        runs came from, headline), then where the tables were written."""
        if self.worker or (not self.results and self.written is None):
            return
        terminalreporter.write_sep("=", "claims harness: verdicts")
        from harness.claims import catalog

        for line in verdict_table(sorted(self.results, key=lambda r: catalog.order_key(r["claim"], r["reading"]))):
            terminalreporter.write_line(line)
        if self.written is not None:
            terminalreporter.write_line(f"tables written to {self.harness.results_dir} ({self.written} files)")

    def pytest_unconfigure(self, config):
        self._stop_progress()
        for sig, previous in self.signals.items():
            if previous is not None:  # None: set outside Python, nothing to put back
                signal.signal(sig, previous)
        if not self.worker:
            shutil.rmtree(self.harness.runs.memo_dir, ignore_errors=True)
            if self.results_lock is not None:
                self.results_lock.release()

    # -- collection ----------------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns these marks into groups
    def pytest_collection_modifyitems(self, config, items):
        """Check every claim test's contract before anything trains, keep tests that share training runs on one
        worker (:mod:`harness.shards`), and under ``--shard`` keep this shard's part.

        Under xdist the claim tests come before the unit tests: their training runs are the long ones, and started
        first they leave the short tests to fill the session's end instead of the reverse.
        """
        from harness import shards

        check_claim_tests(items, self.harness.profile)
        self._note_claim_tests(items)
        shards.mark_groups(items, self.harness.profile)
        if self.worker:  # every worker sorts alike, so their collections still agree
            items.sort(key=lambda item: not is_claim_test(item))
        if config.getoption("--shard"):
            try:
                k, n = shards.parse_shard(config.getoption("--shard"))
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
            # Every shard must weigh alike: only a plan all of them are given (--plan-file), never one cached per
            # machine.
            keep, dropped = shards.split(items, k, n, self.harness.profile, self.plan if config.getoption("--plan-file") else None)
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    def pytest_collection_finish(self, session):
        """The session's selected tests, for the ETA (under pytest-xdist the workers collect: see the next hook)."""
        if session.items:
            self.selected = {ungrouped(item.nodeid) for item in session.items}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.selected = {ungrouped(nodeid) for nodeid in ids}

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        """pytest-xdist: hand each worker the controller's folder of shared training runs."""
        node.workerinput["harness_memo_dir"] = str(self.harness.runs.memo_dir)
        node.workerinput["harness_started"] = self.started
        node.workerinput["harness_loadgroup"] = node.config.getvalue("dist") == "loadgroup"
        node.workerinput["harness_controller_pid"] = os.getpid()

    def _note_claim_tests(self, items) -> None:
        """Keep the node ids of the claim tests for the progress line; a worker leaves them for the controller,
        which sees only node ids."""
        ids = sorted(item.nodeid for item in items if is_claim_test(item))
        self.claim_tests = set(ids)
        if self.worker:
            from harness.atomic import write_text_atomic

            write_text_atomic(Path(self.harness.runs.memo_dir) / CLAIM_TESTS_FILE, json.dumps(ids))

    def _claim_test_ids(self) -> set:
        """The claim tests of the session (empty until collected)."""
        if self.claim_tests is None:
            try:
                self.claim_tests = set(json.loads((Path(self.harness.runs.memo_dir) / CLAIM_TESTS_FILE).read_text()))
            except (OSError, ValueError):
                return set()  # not written yet (the workers are still collecting)
        return self.claim_tests

    # -- each test -----------------------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.board.start_test(item.nodeid)
        self.harness.running = None  # until the test's claim fixture starts its claim: no earlier claim is charged
        if self.harness.planner is not None:
            self.harness.planner.tests.setdefault(item.nodeid, [])  # a test that trains nothing costs 0

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        measuring = self.harness.running
        if call.when != "call" or measuring is None:
            return
        if call.excinfo is not None and call.excinfo.errisinstance((torch.OutOfMemoryError, MemoryError)):
            # Out of memory is a fact about this device, not a verdict: the claim is recorded NOT RUN with the
            # error, and the session goes on with the other claims, without the teacher tables kept for reuse and
            # without the failed step's tensors (its frames' locals, see harness.device_memory).
            from harness.device_memory import free_after_out_of_memory
            from harness.train import teacher_table

            teacher_table.clear()
            measuring.record_not_run(f"out of memory on {self.harness.environment['device']}: "
                                     f"{str(call.excinfo.value).splitlines()[0][:300]}")
            free_after_out_of_memory(call.excinfo.value, self.harness.device)
        if report.passed and not measuring.results and measuring.not_run is None:
            # A claim test that ends without a verdict would leave its claim out of the tables without a word.
            report.outcome = "failed"
            report.longrepr = (f"{measuring.record.id} [{measuring.reading.name}]: the test ended without "
                               "recording the claim: hand its measurements to the judge with claim.conclude({...})")
        # The verdicts this test recorded travel to the controller with its report (also under xdist), as JSON text:
        # what xdist serializes for any report.
        from harness.claims.record import runs_text
        from harness.report.tables import short_measured

        for result in measuring.results:
            source = runs_text({"runs_trained": result.runs_trained, "runs_loaded": result.runs_loaded,
                                "runs_shared": result.runs_shared})
            report.user_properties.append(("claim result", json.dumps({
                "claim": result.claim_id, "reading": result.reading, "verdict": str(result.verdict),
                "headline": short_measured(result.to_json()),
                "wall": f"{result.wall_s:.0f} s" + (f", {source}" if source else "")})))

    def pytest_runtest_logreport(self, report):
        """On the controller (or the single process): each finished claim with its verdict, as it finishes."""
        if report.when == "teardown":
            self.finished.add(ungrouped(report.nodeid))
        if report.when != "call" or self.worker:
            return
        for key, text in getattr(report, "user_properties", []):
            if key == "claim result":
                result = json.loads(text)
                self.results.append(result)
                self.write_line(f"claim finished: {result['claim']} [{result['reading']}]: {result['verdict']} "
                                f"({result['wall']})")

    def pytest_runtest_teardown(self, item, nextitem):
        """Between tests, hand freed memory back to the OS (while a test trains, the allocator keeps it), and on a
        GPU the device's cached blocks back to the driver."""
        allocator.release_freed_memory()
        self.board.idle()  # a worker with nothing left to run shows nothing, not its last test
        from harness.device_memory import empty_cache

        empty_cache(self.harness.device)

    # -- progress --------------------------------------------------------------------------------------------------

    def write_line(self, line: str) -> None:
        """A line of the harness's own beside pytest's output: through the progress terminal where there is one (it
        reaches the terminal, above the live view, also while a test captures output), else the terminal
        reporter."""
        if self.terminal is not None:
            self.terminal.line(line)
            return
        # Looked up when used: the terminal reporter registers itself after this plugin's pytest_configure.
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)

    def eta(self) -> str:
        """``ETA about X by the cost plan`` (or bounded by the time budget); '' without a plan."""
        if self.plan is None:
            return ""
        workers = max(1, getattr(self.config.option, "numprocesses", None) or 1)
        remaining = self.plan.remaining_s(self.finished, workers, self.selected)
        left = self.harness.hours_left()
        if left is not None and remaining > left * 3600:
            # Claims whose runs do not fit are recorded NOT RUN when they come up: the budget bounds the session.
            return (f"ETA at most {hours(max(left, 0) * 3600)} (the --max-hours budget; the cost plan needs "
                    f"{hours(remaining)})")
        return f"ETA about {hours(remaining)} by the cost plan"

    def session_text(self) -> str:
        """The session's progress line: claim tests done of those selected, elapsed time, ETA."""
        claim_tests = self._claim_test_ids()
        selected = [n for n in self.selected or () if n in claim_tests]
        if not selected:
            return ""  # still collecting, or no claim selected: nothing to count
        done = sum(1 for n in selected if n in self.finished)
        return session_line(done, len(selected), time.time() - self.started, self.eta())

    def _stop_progress(self) -> None:
        """Stop the progress thread and the live view, and give pytest its file back (idempotent)."""
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker.join(timeout=5)
        if self.terminal is not None:
            self.terminal.stop_live()
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None and getattr(reporter._tw, "_file", None) is self.terminal:
                reporter._tw._file = self.terminal.file

    # -- signals ---------------------------------------------------------------------------------------------------

    def _stop_on_signals(self) -> None:
        """A stop signal (``STOP_SIGNALS``) ends the session as Ctrl-C does: finished claims kept, tables written and
        marked INCOMPLETE, the memo folder removed. A worker leaves it to its controller, which tears the workers
        down (a whole process group is often signalled at once)."""
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set there (pytest.main called from a thread)
        handler = signal.SIG_IGN if self.worker else _stop_once
        self.signals = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def check_claim_tests(items, profile: str) -> None:
    """A claim test whose claim has no judge, a reading its record does not have, or a run declaration that fails
    under ``profile``, fails the session at collection, naming the test and what to fix: never after its
    training."""
    from harness.claims import catalog
    from harness.judges import judge_of
    from harness.runs import ClaimUnderReading, declared
    from harness.shards import claims_of

    problems = {}
    for item in items:
        for claim_id in claims_of(item):
            try:
                claim = catalog.get(claim_id)
                judge_of(claim)
                reading = getattr(getattr(item, "callspec", None), "params", {}).get("reading")
                if reading is not None and reading not in claim.readings:
                    claim.reading(getattr(reading, "name", str(reading)))  # KeyError naming the readings
                    raise KeyError(f"{claim_id}: reading {reading.name!r} differs from its record's")
            except KeyError as exc:
                problems.setdefault(str(exc.args[0]), []).append(item.nodeid)
                continue
            if reading is None:
                continue
            try:
                declared(ClaimUnderReading(claim, reading, profile))
            except Exception as exc:  # noqa: BLE001 — a declaration that fails is named before anything trains
                problems.setdefault(f"{claim_id}: its run declaration fails under the {profile} profile "
                                    f"({type(exc).__name__}: {exc})", []).append(item.nodeid)
    if problems:
        raise pytest.UsageError("claim tests that cannot be judged (fix before training):\n" + "\n".join(
            f"  {why}\n    in {', '.join(tests[:3])}" + (f" and {len(tests) - 3} more" if len(tests) > 3 else "")
            for why, tests in problems.items()))


def _has_line_number(entry) -> bool:
    """Whether pytest can say where a traceback entry is (``tb_lineno`` None makes its ``lineno`` raise)."""
    try:
        entry.lineno
    except TypeError:
        return False
    return True


def _stop_once(signum, frame):
    """The first stop signal interrupts; later ones are ignored, so that the tables get written: one signal often
    arrives twice (``timeout`` passes on to its child what the process group already got)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.default_int_handler(signum, frame)


def _exit_with_controller(controller: int) -> None:
    """A worker whose controller is gone (SIGKILL, an out-of-memory kill) stops at once: no one would read what
    it writes, and its records would land after the folder's lock was released, under another session."""
    def watch():
        while os.getppid() == controller:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="harness-controller-watch", daemon=True).start()
