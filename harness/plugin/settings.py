"""What a claims session is set up from: the command line checked and turned into its settings, before any test.

Every check here stops the session with a usage error naming the option and what to do, before anything trains:
the device, the seeds and budget, the data root, the results folder (writable, this session's alone, no other
profile's or device's records), the results cache, the claims folders, the cost plan.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import pytest
import torch

from harness import allocator
from harness.plan import Calibration, Plan, plan_path, plan_scope
from harness.runcache import RunCache, default_cache_dir


def is_worker(config) -> bool:
    """Whether this process is a pytest-xdist worker (the controller, or a single process, is not)."""
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
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        # A test file of a report folder (its test_judges.py) brings that folder, as the folder itself would.
        given.append((path.parent if path.is_file() and (path.parent / catalog.CLAIMS_FILE).is_file() else path, ""))
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



PATH_OPTIONS = ("--results-dir", "--data-root", "--cache-dir", "--plan-file", "--plan")


def _refuse_split_path_options(config) -> None:
    """Under -n, ``--results-dir DIR`` (two words) with no test path breaks the workers: pytest-xdist hands them
    the command line, and they read the (by then existing) DIR as the only test path, lose this repository's
    rootdir and with it these options. ``--results-dir=DIR`` is one word and safe: ask for it, naming the option.
    (Test paths on the command line anchor the rootdir, and the two words are safe then.)"""
    if is_worker(config) or not (getattr(config.option, "numprocesses", None) or 0) or \
            config.args_source == pytest.Config.ArgsSource.ARGS:
        return
    args = [str(a) for a in config.invocation_params.args]
    for option, value in zip(args, args[1:]):
        if option in PATH_OPTIONS:
            raise pytest.UsageError(f"{option} {value} under -n: write {option}={value} (one word); pytest-xdist's "
                                    f"workers would read {value} as a test path")


def _session_plan(config, cache_dir: Path, profile: str, device: str) -> Plan | None:
    """The plan given with --plan-file, else the one kept for this profile and device and the report folders the
    session's test paths cover (None: none)."""
    given = config.getoption("--plan-file")
    path = Path(given) if given else plan_path(cache_dir, profile, device, plan_scope(config.args))
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


def build_session(config):
    """The session's :class:`~harness.plugin.session.ClaimsSession`, from the command line (every check above), with
    the process set up for it (threads, device, numerics, allocator)."""
    from harness import numerics
    from harness.data import DataError, resolve_data_root
    from harness.report import environment
    from harness.report.environment import results_name
    from harness.plugin.session import ClaimsSession
    from harness.progress import BoardHandler, ProgressBoard
    from harness.runstore import RunStore
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
    if is_worker(config) and config.workerinput.get("harness_loadgroup"):
        # Workers parse the original command line again (dist "load"): tell them to name the groups.
        config.option.loadgroup = True
    try:
        data_root = resolve_data_root(config.getoption("--data-root"))
    except DataError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.getoption("--require-data") and not is_worker(config):
        _require_data(data_root)
    _refuse_split_path_options(config)
    root = Path(config.rootpath)
    own_folders = _add_claims_dirs(config)
    planning = config.getoption("plan_out") is not None
    if planning and (is_worker(config) or (getattr(config.option, "numprocesses", None) or 0) > 0):
        raise pytest.UsageError("--plan runs in one process: pass -n 0")
    # Training runs shared by several claims are stored here once per session, for every worker.
    if is_worker(config):
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
    results_lock = None
    if not is_worker(config) and not config.getoption("collectonly") and not planning:  # collecting writes nothing
        results_lock = _claim_results_dir(results_dir, profile, device.type)
    cache_dir = default_cache_dir(data_root, config.getoption("--cache-dir"))
    if not is_worker(config) and not config.getoption("collectonly") and not config.getoption("--no-cache"):
        _check_cache_dir(cache_dir, config.getoption("--cache-dir"))
    env = environment(profile, device, root)
    seeds = list(range(first_seed, first_seed + n_seeds))
    started = config.workerinput["harness_started"] if is_worker(config) else time.time()
    max_hours = config.getoption("--max-hours")
    runs = RunStore(
        device, seeds, env, memo_dir=memo_dir, run_cache=None if config.getoption("--no-cache") else RunCache(cache_dir),
        calibration=Calibration(None if config.getoption("--no-cache") else cache_dir / "calibration.json"),
        planner=Plan(profile, env["device"], n_seeds) if planning else None,
        max_hours=max_hours if max_hours is not None else (None if device.type == "cuda" else 3.0), started=started)
    harness = Harness(profile=profile, data_root=data_root, results_dir=results_dir, runs=runs,
                      require_data=config.getoption("--require-data"))
    logging.getLogger("harness").setLevel(logging.INFO)
    board = ProgressBoard(memo_dir / "progress", config.workerinput["workerid"] if is_worker(config) else "main")
    # Every harness logger: the engine's epochs, the session's runs (trained, loaded from the cache) and claims.
    logging.getLogger("harness").addHandler(BoardHandler(board))
    return ClaimsSession(config, harness, plan=_session_plan(config, cache_dir, profile, env["device"]), board=board,
                         started=started, results_lock=results_lock)
