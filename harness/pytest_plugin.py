"""The claims harness as a pytest plugin: command-line options and session wiring (see README.md).

This repository's conftest.py loads it; a project holding its own claims loads it with
``pytest -p harness.pytest_plugin`` (or ``pytest_plugins = ["harness.pytest_plugin"]``).

Options: --profile smoke|full, --seeds N, --data-root, --results-dir, --device, --cpu-threads, --require-data.
Workers of pytest-xdist each write the records of the claims they ran; the
controller (or the single process without -n) writes the tables at the end.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch

from harness import allocator
from harness.plan import Calibration, Plan, hours, plan_path
from harness.progress import BoardHandler, ProgressBoard, Terminal, Ticker
from harness.progress.lines import session_line
from harness.progress.summary import verdict_table
from harness.runcache import RunCache, default_cache_dir


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


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def default_device(worker: str | None, gpus: int) -> str:
    """One worker per GPU: worker gw<k> trains on cuda:(k mod G); a single process on cuda:0; no GPU, the CPU.

    Chosen from ``PYTEST_XDIST_WORKER`` before any CUDA context exists; ``--device`` always wins.
    """
    if gpus <= 0:
        return "cpu"
    if worker and worker.startswith("gw") and worker[2:].isdigit():
        return f"cuda:{int(worker[2:]) % gpus}"
    return "cuda:0"


DEVICE_TYPES = ("cpu", "cuda")  # what the engine, the numerics settings and the environment header know


def parse_device(option: str | None, worker: str | None) -> torch.device:
    """``--device`` (default: :func:`default_device`) as a torch device the harness can train on; a usage error
    naming the option for anything else (a typo, another backend, a GPU this machine does not have)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if option is None:
        return torch.device(default_device(worker, gpus))
    try:
        device = torch.device(option)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise pytest.UsageError(f"--device {option}: the harness trains on cpu, cuda or cuda:K; use --device cpu "
                                "(or leave it out: cuda when available, else cpu)")
    if device.type == "cuda" and not gpus:
        raise pytest.UsageError(f"--device {option}: CUDA is not available on this machine; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= gpus:
        raise pytest.UsageError(f"--device {option}: this machine has {gpus} GPU(s), cuda:0 to cuda:{gpus - 1}")
    return device


def use_device(device: torch.device) -> None:
    """Make ``device`` the process's current CUDA device (a no-op on the CPU).

    A worker that trains on cuda:k must also make it current: otherwise code that says plain "cuda" (a
    GradScaler, ``torch.cuda.is_bf16_supported()``, an allocation without an index, the caching allocator's
    ``empty_cache``) lands on GPU 0, and every worker of a multi-GPU machine would hold a context there.
    Plain ``cuda`` (no index) is the current device already.
    """
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device.index)


def _cannot_write(folder: Path) -> str | None:
    """Why ``folder`` (made if missing) cannot take a file, or None when it can. Asks the file system first (a
    read-only mount says so without a write), then writes a probe (what the permissions cannot tell)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            return "not writable"
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")  # its own name: sessions share a cache
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _claim_results_dir(results_dir: Path, profile: str, device_type: str):
    """Check that ``results_dir`` is writable and holds no other profile's or device type's records before any
    training, and hold it for this session alone."""
    from filelock import FileLock, Timeout

    from harness.atomic import finish_interrupted_set

    why = _cannot_write(results_dir)
    if why is not None:
        raise pytest.UsageError(f"--results-dir {results_dir}: cannot write there ({why}); choose a "
                                "writable folder with --results-dir")
    lock_path = results_dir / ".session.lock"
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise pytest.UsageError(f"--results-dir {results_dir}: another session is writing there now; wait for it, "
                                "or give this one another folder with --results-dir") from None
    except OSError as exc:  # e.g. a folder of that name: the lock can never be taken
        raise pytest.UsageError(f"--results-dir {results_dir}: cannot take its lock {lock_path} "
                                f"({exc.strerror or exc}); remove {lock_path}") from None
    finish_interrupted_set(results_dir)  # tables a killed session left half renamed: complete them first
    _refuse_other_runs(results_dir, profile, device_type, lock)
    return lock


def _refuse_other_runs(results_dir: Path, profile: str, device_type: str, lock) -> None:
    """A session adds its records to the folder's and rewrites the tables from all of them: records of another
    profile there would be retitled as this one's, and a GPU session's records would join (and a pin of the folder
    would mix) a CPU reference such as results/full, or the reverse."""
    from harness.report import read_records
    from harness.report.environment import device_type as type_of, results_name

    found = [r.get("environment", {}) for r in read_records(results_dir)]
    others = sorted({env.get("profile") for env in found} - {profile, None})
    if others:
        lock.release()
        raise pytest.UsageError(f"--results-dir {results_dir}: holds records of the {', '.join(others)} profile, and "
                                f"this session runs {profile}; give it its own folder with --results-dir, or move "
                                f"{results_dir / 'records'} away")
    devices = sorted({type_of(env.get("device", "")) for env in found if "device" in env} - {device_type})
    if devices:
        lock.release()
        raise pytest.UsageError(f"--results-dir {results_dir}: holds records measured on {', '.join(devices)}, and "
                                f"this session runs on {device_type} (--device); give it its own folder with "
                                f"--results-dir (a {device_type} session's default is results/"
                                f"{results_name(profile, device_type)}), or move {results_dir / 'records'} away")


def _check_cache_dir(cache_dir: Path, option: str | None) -> None:
    """Stop before any training when the results cache cannot be written: a finished run would be lost at its
    store (report 000's teacher after 4 hours), and plan mode keeps its calibration there."""
    why = _cannot_write(cache_dir)
    if why is None:
        return
    source = "--cache-dir" if option else "$HARNESS_CACHE" if os.environ.get("HARNESS_CACHE") else \
        "<data root>/runs (--data-root, $HARNESS_DATA)"
    raise pytest.UsageError(f"results cache {cache_dir} (from {source}): cannot write there ({why}); give a writable "
                            "folder with --cache-dir or $HARNESS_CACHE, or train without a cache with --no-cache")


def _require_data(root: Path) -> None:
    """--require-data: stop before any test when a data set is missing or partial (its subsets would not be the
    whole data set's), naming the command that gets or restores it."""
    from harness.data import data_status
    from harness.data.sources import RESTORE_HINT

    rows = data_status(root)
    lines = [f"  {row['dataset']}/{row['split']}: {row['note']}" for row in rows if not row["present"]]
    lines += [f"  {row['dataset']}/{row['split']}: {row['note']} images; restore it with: "
              f"{RESTORE_HINT[row['dataset']]}" for row in rows if row["present"] and row["note"] != "complete"]
    if lines:
        raise pytest.UsageError(f"--require-data: data missing or partial under {root}:\n" + "\n".join(lines))


def _add_claims_dirs(config) -> list[Path]:
    """Add the report folders of ``--claims-dir`` and of the test paths that hold a ``claims.toml`` (or whose
    folders do) to the catalogue; returns those of the given folders that hold report folders outside this
    repository's ``suites/`` (their results go beside them)."""
    from harness.claims import catalog

    given = [(Path(option), f"--claims-dir {option}: ") for option in config.getoption("--claims-dir")]
    given += [(Path(str(arg).split("::")[0]), "") for arg in config.args]
    own = []
    for path, where in given:
        if where == "" and not (path.is_dir() and catalog.folders_under(path.resolve())):
            continue  # a test path that is no claims folder
        try:
            folders = catalog.add_dir(path)
        except (FileNotFoundError, ValueError) as exc:
            raise pytest.UsageError(f"{where}{exc}") from None
        if any(not f.builtin for f in folders):
            own.append(path.resolve())
    return list(dict.fromkeys(own))


def pytest_configure(config):
    # Registered here, not only in this repository's pyproject: a claims folder elsewhere loads just the plugin.
    config.addinivalue_line("markers", "claim(id): the claim this test measures (set by for_each_reading)")
    from harness import numerics
    from harness.data import DataError, resolve_data_root
    from harness.report import environment
    from harness.report.environment import results_name
    from harness.session import PROFILE_SEEDS, Harness

    device = parse_device(config.getoption("--device"), os.environ.get("PYTEST_XDIST_WORKER"))
    profile = config.getoption("--profile") or ("full" if device.type == "cuda" else "smoke")
    n_seeds = config.getoption("--seeds")
    n_seeds = PROFILE_SEEDS[profile] if n_seeds is None else n_seeds
    if n_seeds < 1:
        raise pytest.UsageError(f"--seeds {n_seeds}: need at least 1")
    if profile == "full" and n_seeds < 3:
        raise pytest.UsageError(f"--seeds {n_seeds}: the full profile asserts verdicts and needs at least 3 seeds")
    first_seed = config.getoption("--first-seed")
    if first_seed < 0:
        raise pytest.UsageError(f"--first-seed {first_seed}: seeds are non-negative; give 0 or more")
    if config.getoption("--max-hours") is not None and not config.getoption("--max-hours") > 0:
        raise pytest.UsageError(f"--max-hours {config.getoption('--max-hours')}: the time budget must be positive "
                                "hours; leave it out for the default (none on a GPU, 3 on a CPU)")
    if device.type == "cpu":
        torch.set_num_threads(max(1, config.getoption("--cpu-threads")))
    use_device(device)
    numerics.set_deterministic_numerics()
    allocator.keep_freed_memory()
    if getattr(config.option, "dist", None) == "load":
        config.option.dist = "loadgroup"  # honour the groups above (xdist's default would ignore them)
    if _is_worker(config) and config.workerinput.get("harness_loadgroup"):
        # Workers parse the original command line again (dist "load"): tell them to name the groups.
        config.option.loadgroup = True
    try:
        data_root = resolve_data_root(config.getoption("--data-root"))
    except DataError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.getoption("--require-data") and not _is_worker(config):
        _require_data(data_root)
    _refuse_split_path_options(config)
    root = Path(config.rootpath)
    own_folders = _add_claims_dirs(config)
    planning = config.getoption("plan_out") is not None
    if planning and (_is_worker(config) or (getattr(config.option, "numprocesses", None) or 0) > 0):
        raise pytest.UsageError("--plan runs in one process: pass -n 0")
    # Training runs shared by several claims are stored here once per session, for every worker.
    if _is_worker(config):
        memo_dir = Path(config.workerinput["harness_memo_dir"])
    else:
        memo_dir = Path(tempfile.mkdtemp(prefix="claims-harness-runs-"))
    # Plan mode records nothing worth keeping: a claim found NOT RUN there goes to a scratch folder.
    # A GPU session's default folder is its own (results/full-gpu): never the committed CPU reference results/full.
    # A user's own claims never write into this repository's committed results/: theirs go beside their claims.
    results_home = own_folders[0] if own_folders else root
    results_dir = (memo_dir / "plan-results") if planning else \
        Path(config.getoption("--results-dir") or results_home / "results" / results_name(profile, device.type)).resolve()
    if not planning and (results_dir == data_root.resolve() or data_root.resolve() in results_dir.parents):
        raise pytest.UsageError(f"--results-dir {results_dir} lies inside the data root {data_root} (--data-root): "
                                "results there mix with the data (a folder in cifar10/train stops every claim that "
                                "reads it); give a --results-dir outside it")
    if not _is_worker(config) and not config.getoption("collectonly") and not planning:  # collecting writes nothing
        config._harness_results_lock = _claim_results_dir(results_dir, profile, device.type)
    cache_dir = default_cache_dir(data_root, config.getoption("--cache-dir"))
    if not _is_worker(config) and not config.getoption("collectonly") and not config.getoption("--no-cache"):
        _check_cache_dir(cache_dir, config.getoption("--cache-dir"))
    env = environment(profile, device, root)
    config._harness = Harness(
        profile=profile, seeds=list(range(first_seed, first_seed + n_seeds)), device=device,
        data_root=data_root, results_dir=results_dir,
        environment=env, memo_dir=memo_dir, require_data=config.getoption("--require-data"),
        run_cache=None if config.getoption("--no-cache") else RunCache(cache_dir),
        calibration=Calibration(None if config.getoption("--no-cache") else cache_dir / "calibration.json"),
        planner=Plan(profile, env["device"], n_seeds) if planning else None,
    )
    config._harness_plan = _session_plan(config, cache_dir, profile, env["device"])
    config._harness_started = (config.workerinput["harness_started"] if _is_worker(config) else time.time())
    config._harness.started = config._harness_started
    max_hours = config.getoption("--max-hours")
    config._harness.max_hours = max_hours if max_hours is not None else (None if device.type == "cuda" else 3.0)
    logging.getLogger("harness").setLevel(logging.INFO)
    board = ProgressBoard(memo_dir / "progress", config.workerinput["workerid"] if _is_worker(config) else "main")
    config._harness_board = board
    # Every harness logger: the engine's epochs, the session's runs (trained, loaded from the cache) and claims.
    logging.getLogger("harness").addHandler(BoardHandler(board))
    if not _is_worker(config):
        _CONTROLLER["config"] = config
        config._harness_results = []  # each claim this session finished, for the verdict table at its end
    _stop_on_sigterm(config)
    if _is_worker(config) and os.getppid() == config.workerinput.get("harness_controller_pid"):
        _exit_with_controller(config.workerinput["harness_controller_pid"])


@pytest.hookimpl(trylast=True)  # after the terminal reporter's header
def pytest_sessionstart(session):
    """The controller's progress: a live view on a terminal (not under -q), else plain lines (see --progress-every)."""
    config = session.config
    every = config.getoption("--progress-every")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    writer = getattr(reporter, "_tw", None)
    if _is_worker(config) or every <= 0 or writer is None or not hasattr(writer, "_file") or \
            config.getoption("plan_out") is not None:
        return
    # pytest's writer has no public way to share its file; without one, progress stays off rather than garble it.
    config._harness_terminal = terminal = Terminal(writer._file)
    writer._file = terminal
    live = bool(reporter.isatty) and config.option.verbose >= 0  # the ticker starts the view at its first draw
    config._harness_ticker = Ticker(config._harness_board, terminal, every, session=lambda: _session_text(config),
                                    live=live)
    config._harness_ticker.start()


def _stop_progress(config) -> None:
    """Stop the progress thread and the live view, and give pytest its file back (idempotent)."""
    ticker = getattr(config, "_harness_ticker", None)
    if ticker is not None:
        ticker.stop()
        ticker.join(timeout=5)
    terminal = getattr(config, "_harness_terminal", None)
    if terminal is not None:
        terminal.stop_live()
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and getattr(reporter._tw, "_file", None) is terminal:
            reporter._tw._file = terminal.file


# SIGTERM: what Slurm, `timeout` and CI runners send; SIGHUP: the terminal or the ssh connection went away.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _stop_on_sigterm(config) -> None:
    """A stop signal (``STOP_SIGNALS``) ends the session as Ctrl-C does: finished claims kept, tables written and
    marked INCOMPLETE, the memo folder removed. A worker leaves it to its controller, which tears the workers
    down (a whole process group is often signalled at once)."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set there (pytest.main called from a thread)
    handler = signal.SIG_IGN if _is_worker(config) else _stop_once
    config._harness_signals = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


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


PATH_OPTIONS = ("--results-dir", "--data-root", "--cache-dir", "--plan-file", "--plan")


def _refuse_split_path_options(config) -> None:
    """Under -n, ``--results-dir DIR`` (two words) with no test path breaks the workers: pytest-xdist hands them
    the command line, and they read the (by then existing) DIR as the only test path, lose this repository's
    rootdir and with it these options. ``--results-dir=DIR`` is one word and safe: ask for it, naming the option.
    (Test paths on the command line anchor the rootdir, and the two words are safe then.)"""
    if _is_worker(config) or not (getattr(config.option, "numprocesses", None) or 0) or \
            config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    args = [str(a) for a in config.invocation_params.args]
    for option, value in zip(args, args[1:]):
        if option in PATH_OPTIONS:
            raise pytest.UsageError(f"{option} {value} under -n: write {option}={value} (one word); pytest-xdist's "
                                    f"workers would read {value} as a test path")


def _session_plan(config, cache_dir: Path, profile: str, device: str) -> Plan | None:
    """The plan given with --plan-file, else the one cached for this profile and device (None: none)."""
    given = config.getoption("--plan-file")
    path = Path(given) if given else plan_path(cache_dir, profile, device)
    if not path.exists():
        if given:
            raise pytest.UsageError(f"--plan-file {given}: no such file; make one with python -m harness plan "
                                    f"--profile {profile} --out {given}")
        return None
    try:
        plan = Plan.load(path)
    except ValueError as exc:
        if given:
            raise pytest.UsageError(f"--plan-file: {exc}") from None
        return None  # a damaged cached plan only costs the ETA
    if plan.profile != profile:
        if given:
            raise pytest.UsageError(f"--plan-file {given} plans the {plan.profile} profile, this session runs {profile}")
        return None
    return plan


_FINISHED: set = set()  # node ids of the tests the controller has seen finish (for the ETA)


def _ungrouped(nodeid: str) -> str:
    """``nodeid`` less the ``@group`` that pytest-xdist's loadgroup appends to it: the plan names tests without."""
    return re.sub(r"@[^\[\]/:]*$", "", nodeid)


def pytest_collection_finish(session):
    """The session's selected tests, for the ETA (under pytest-xdist the workers collect: see the next hook)."""
    if session.items:
        session.config._harness_selected = {_ungrouped(item.nodeid) for item in session.items}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    node.config._harness_selected = {_ungrouped(nodeid) for nodeid in ids}


def _eta(config) -> str:
    """``ETA about X by the cost plan`` (or bounded by the time budget); '' without a plan."""
    plan = config._harness_plan
    if plan is None:
        return ""
    workers = max(1, getattr(config.option, "numprocesses", None) or 1)
    remaining = plan.remaining_s(_FINISHED, workers, getattr(config, "_harness_selected", None))
    left = config._harness.hours_left()
    if left is not None and remaining > left * 3600:
        # Claims whose runs do not fit are recorded NOT RUN when they come up: the budget bounds the session.
        return f"ETA at most {hours(max(left, 0) * 3600)} (the --max-hours budget; the cost plan needs {hours(remaining)})"
    return f"ETA about {hours(remaining)} by the cost plan"


def _session_text(config) -> str:
    """The session's progress line: claim tests done of those selected, elapsed time, ETA."""
    claim_tests = _claim_tests(config)
    selected = [n for n in getattr(config, "_harness_selected", set()) if n in claim_tests]
    if not selected:
        return ""  # still collecting, or no claim selected: nothing to count
    done = sum(1 for n in selected if n in _FINISHED)
    return session_line(done, len(selected), time.time() - config._harness_started, _eta(config))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: hand each worker the controller's folder of shared training runs."""
    node.workerinput["harness_memo_dir"] = str(node.config._harness.memo_dir)
    node.workerinput["harness_started"] = node.config._harness_started
    node.workerinput["harness_loadgroup"] = node.config.getvalue("dist") == "loadgroup"
    node.workerinput["harness_controller_pid"] = os.getpid()


def is_claim_test(item) -> bool:
    """Whether ``item`` measures a claim: it asks for the ``claim`` fixture (the judges' own tests do not)."""
    return "claim" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns these marks into groups
def pytest_collection_modifyitems(config, items):
    """Check every claim test's contract before anything trains, keep tests that share training runs on one worker
    (:mod:`harness.shards`), and under ``--shard`` keep this shard's part.

    Under xdist the claim tests come before the unit tests: their training runs are the long ones, and started
    first they leave the short tests to fill the session's end instead of the reverse.
    """
    from harness import shards

    _check_claim_tests(items)
    _note_claim_tests(config, items)
    shards.mark_groups(items)
    if _is_worker(config):  # every worker sorts alike, so their collections still agree
        items.sort(key=lambda item: not is_claim_test(item))
    if config.getoption("--shard"):
        try:
            k, n = shards.parse_shard(config.getoption("--shard"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        # Every shard must weigh alike: only a plan all of them are given (--plan-file), never one cached per machine.
        plan = config._harness_plan if config.getoption("--plan-file") else None
        keep, dropped = shards.split(items, k, n, plan)
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


CLAIM_TESTS_FILE = "claim-tests.json"  # in the session's memo folder: the controller under xdist collects nothing


def _note_claim_tests(config, items) -> None:
    """Keep the node ids of the claim tests for the session's progress line; a worker leaves them for the
    controller, which sees only node ids."""
    ids = sorted(item.nodeid for item in items if is_claim_test(item))
    config._harness_claim_tests = set(ids)
    if _is_worker(config):
        from harness.atomic import write_text_atomic

        write_text_atomic(Path(config._harness.memo_dir) / CLAIM_TESTS_FILE, json.dumps(ids))


def _claim_tests(config) -> set:
    """The claim tests of the session (empty until collected)."""
    found = getattr(config, "_harness_claim_tests", None)
    if found is None:
        path = Path(config._harness.memo_dir) / CLAIM_TESTS_FILE
        try:
            found = config._harness_claim_tests = set(json.loads(path.read_text()))
        except (OSError, ValueError):
            return set()  # not written yet (the workers are still collecting)
    return found


def _check_claim_tests(items) -> None:
    """A claim test whose claim has no judge, or a reading its record does not have, fails the session at
    collection, naming the test and what to fix: never after its training."""
    from harness.claims import catalog
    from harness.judges import judge_of
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
                problems.setdefault(str(exc.args[0]), item.nodeid)
    if problems:
        raise pytest.UsageError("claim tests that cannot be judged (fix before training):\n" + "\n".join(
            f"  {test}: {why}" for why, test in problems.items()))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    board = getattr(item.config, "_harness_board", None)
    if board is not None:
        board.start_test(item.nodeid)
        item.config._harness.concluded.clear()
        item.config._harness.running = None  # until the test starts its claim: no earlier claim is charged
        item.config._harness.test_id = item.nodeid
        if item.config._harness.planner is not None:
            item.config._harness.planner.tests.setdefault(item.nodeid, [])  # a test that trains nothing costs 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    harness = getattr(item.config, "_harness", None)
    if call.when == "call" and harness is not None and call.excinfo is not None and harness.running is not None \
            and call.excinfo.errisinstance((torch.OutOfMemoryError, MemoryError)):
        # Out of memory is a fact about this device, not a verdict: the claim is recorded NOT RUN with the
        # error, and the session goes on with the other claims, without the teacher tables kept for reuse and
        # without the failed step's tensors (its frames' locals, see harness.device_memory).
        from harness.device_memory import free_after_out_of_memory
        from harness.train import teacher_table

        teacher_table.clear()
        harness.running.record_not_run(f"out of memory on {harness.environment['device']}: "
                                       f"{str(call.excinfo.value).splitlines()[0][:300]}")
        free_after_out_of_memory(call.excinfo.value, harness.device)
    if call.when == "call" and harness is not None:
        # The verdicts this test recorded travel to the controller with its report (also under xdist), as JSON text:
        # what xdist serializes for any report.
        from harness.claims.record import runs_text
        from harness.report.tables import short_measured

        for result in harness.concluded:
            source = runs_text({"runs_trained": result.runs_trained, "runs_loaded": result.runs_loaded,
                                "runs_shared": result.runs_shared})
            report.user_properties.append(("claim result", json.dumps({
                "claim": result.claim_id, "reading": result.reading, "verdict": str(result.verdict),
                "headline": short_measured(result.to_json()), "wall": f"{result.wall_s:.0f} s" + (f", {source}" if source else "")})))


def pytest_runtest_logreport(report):
    """On the controller (or the single process): each finished claim with its verdict, as it finishes."""
    if report.when == "teardown":
        _FINISHED.add(_ungrouped(report.nodeid))
    config = _CONTROLLER["config"]
    if report.when != "call" or config is None:
        return
    for key, text in getattr(report, "user_properties", []):
        if key == "claim result":
            result = json.loads(text)
            config._harness_results.append(result)
            _write_line(config, f"claim finished: {result['claim']} [{result['reading']}]: {result['verdict']} "
                                f"({result['wall']})")


_CONTROLLER: dict = {"config": None}


def _write_line(config, line: str) -> None:
    """A line of the harness's own beside pytest's output: through the progress terminal where there is one (it
    reaches the terminal, above the live view, also while a test captures output), else the terminal reporter."""
    terminal = getattr(config, "_harness_terminal", None)
    if terminal is not None:
        terminal.line(line)
        return
    # Looked up when used: the terminal reporter registers itself after this plugin's pytest_configure.
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


def pytest_runtest_teardown(item, nextitem):
    """Between tests, hand freed memory back to the OS (while a test trains, the allocator keeps it), and on a GPU
    the device's cached blocks back to the driver."""
    allocator.release_freed_memory()
    board = getattr(item.config, "_harness_board", None)
    if board is not None:
        board.idle()  # a worker with nothing left to run shows nothing, not its last test
    harness = getattr(item.config, "_harness", None)
    if harness is not None:
        from harness.device_memory import empty_cache

        empty_cache(harness.device)


def pytest_unconfigure(config):
    _stop_progress(config)
    for sig, previous in getattr(config, "_harness_signals", {}).items():
        if previous is not None:  # None: set outside Python, nothing to put back
            signal.signal(sig, previous)
    if not _is_worker(config) and hasattr(config, "_harness"):
        shutil.rmtree(config._harness.memo_dir, ignore_errors=True)
        lock = getattr(config, "_harness_results_lock", None)
        if lock is not None:
            lock.release()


def pytest_report_header(config):
    h = config._harness
    lines = [f"claims harness: profile {h.profile}, {len(h.seeds)} seeds ({h.seeds[0]}–{h.seeds[-1]}), device {h.device} "
             f"({h.environment['device']}), data {h.data_root}, results {h.results_dir}"]
    plan = config._harness_plan
    if plan is not None:
        training = sum(1 for keys in plan.tests.values() if keys)
        lines.append(f"cost plan ({plan.made}): {len(plan.runs)} distinct runs for {training} claim tests, about "
                     f"{hours(plan.total_s())} of training one after another on {plan.device}")
    elif h.planner is None:
        lines.append(f"cost plan: none for this profile and device; python -m harness plan --profile {h.profile} "
                     f"--device {h.device.type} estimates what this session costs")
    return lines


@pytest.fixture(scope="session")
def harness(request):
    """The session's :class:`harness.session.Harness`: profile, seeds, device, data, shared runs."""
    return request.config._harness


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
    yield measuring
    harness.running = None  # nothing later is charged to this claim


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    _stop_progress(config)
    if _is_worker(config) or not hasattr(config, "_harness"):
        return
    h = config._harness
    if h.planner is not None:
        h.planner.save(Path(config.getoption("plan_out")))
        return
    from harness.report import write_results
    from harness.report.store import RECORDS

    records = h.results_dir / RECORDS
    fresh = records.is_dir() and any(p.stat().st_mtime >= config._harness_started for p in records.glob("*.json"))
    if fresh:  # only sessions that ran claims rewrite the tables
        # An interrupted session (Ctrl-C) keeps the records of the claims that finished and says so in its tables.
        written = write_results(h.results_dir, h.environment, incomplete=exitstatus == pytest.ExitCode.INTERRUPTED,
                                keep_newer_plots=True)
        config._harness_written = len(written)  # said under the verdict table (pytest_terminal_summary)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            if h.full:
                from harness.claims.pinned import unpinned
                from harness.report import read_records

                loose = unpinned([r for r in read_records(h.results_dir)
                                  if r.get("environment", {}).get("profile") == "full"], h.device.type)
                if loose:
                    reporter.write_sep("!", f"{len(loose)} full-profile claims have NO PINNED VERDICT", red=True)
                    for name in loose:
                        reporter.write_line(f"  unguarded: {name}", red=True)
                    reporter.write_line("  pin a reviewed full run with: python -m harness claims pin "
                                        f"{h.results_dir / 'claims.csv'}", red=True)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The claims this session finished, one narrow line each (claim, reading, verdict, wall time and where its runs
    came from, headline), then where the tables were written."""
    results = getattr(config, "_harness_results", None)
    if _is_worker(config) or not hasattr(config, "_harness"):
        return
    written = getattr(config, "_harness_written", None)
    if not results and written is None:
        return
    terminalreporter.write_sep("=", "claims harness: verdicts")
    from harness.claims import catalog

    for line in verdict_table(sorted(results or [], key=lambda r: catalog.order_key(r["claim"], r["reading"]))):
        terminalreporter.write_line(line)
    if written is not None:
        terminalreporter.write_line(f"tables written to {config._harness.results_dir} ({written} files)")
