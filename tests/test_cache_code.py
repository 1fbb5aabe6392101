"""What a cached run's code is (harness.runcode): an edit of the user's model module, of the function that declared
the run before its call, or of a module constant trains again; an edit of another test, of a measurement after the
call, of a comment or docstring does not; ``cache status`` names what changed, ``cache prune`` removes exactly the
entries no session can load any more."""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest
import torch

from harness import runcode
from harness.cli import main
from harness.runcache import RunCache
from harness.runcode import Caller, Dependencies, run_dependencies, staleness
from harness.train import TrainConfig, train

from .test_engine import synthetic_data
from .test_runcache import _count_training
from .test_session import _harness

MODEL = '''import torch.nn as nn

from layers import hidden


class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), hidden(3 * 32 * 32, width), nn.ReLU(), nn.Linear(width, 10))

    def forward(self, x):
        return self.net(x)
'''

LAYERS = '''import torch.nn as nn


def hidden(inputs, width):
    return nn.Linear(inputs, width)
'''

HELPERS = '''def spec_of(width):
    return {"model": "mlp", "width": width}


def plotted(result):
    return "a plot"


def shared(harness, model_fn):
    return harness.trained(model_fn, {}, None, None, None)
'''

# A user's test module: `declare` asks for the run, as the README's example test does; `harness` is a session, or
# a recorder of what the run depends on.
DECLARING = '''"""A user's claim."""
from helpers import spec_of
from mlp import MLP

WIDTH = 8  # the hidden width


def layers():
    return WIDTH


def declare(harness, cfg=None, data=None):
    """The run, then its measurements."""
    spec = {**spec_of(layers()), "depth": 2}
    result = harness.trained(lambda: MLP(WIDTH), spec, cfg, data, None)
    return {"test_acc": result}


def test_other():
    return "a typo"
'''

# Each edit of DECLARING or MODEL, and whether the run's code changes with it.
EDITS = {
    "another test function": ("declaring", '"a typo"', '"a typo fixed"', False),
    "a measurement key after the call": ("declaring", '{"test_acc": result}', '{"test_accuracy": result}', False),
    "a comment": ("declaring", "# the hidden width", "# the width of the hidden layer", False),
    "a docstring": ("declaring", '"""The run, then its measurements."""', '"""Train, measure."""', False),
    "the calling function before its call": ("declaring", '"depth": 2', '"depth": 3', True),
    "a module constant": ("declaring", "WIDTH = 8", "WIDTH = 16", True),
    "a function the calling function names": ("declaring", "return WIDTH", "return WIDTH * 2", True),
    "an import": ("declaring", "from mlp import MLP", "from mlp import MLP\nimport math", True),
    "the user's model module": ("model", "nn.ReLU()", "nn.Tanh()", True),
    "a module the model module imports": ("layers", "nn.Linear(inputs, width)", "nn.Linear(inputs, width, False)",
                                          True),
    "a function imported from another module, which the calling function names": (
        "helpers", '"model": "mlp"', '"model": "MLP"', True),
    "another function of that module": ("helpers", '"a plot"', '"another plot"', False),
}


MODULES = ("mlp", "layers", "helpers", "test_mine")


class _Recorder:
    """Stands in for a session: records what the run asked for depends on."""

    def trained(self, model_fn, spec, cfg, data, teacher):
        self.deps = run_dependencies(Caller.of(inspect.currentframe().f_back), model_fn)
        return None


@pytest.fixture
def user(tmp_path, monkeypatch):
    """The user's folder, on sys.path: ``user.write(...)`` writes its four modules, ``user.load()`` imports them
    afresh (a new session) and returns the declaring one."""
    folder = tmp_path / "my_claims"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))

    class User:
        files = {"model": folder / "mlp.py", "declaring": folder / "test_mine.py", "layers": folder / "layers.py",
                 "helpers": folder / "helpers.py"}

        def write(self, model=MODEL, declaring=DECLARING):
            for which, text in {"model": model, "declaring": declaring, "layers": LAYERS, "helpers": HELPERS}.items():
                self.files[which].write_text(text)

        def edit(self, which, old, new):
            text = self.files[which].read_text()
            assert text.count(old) == 1, old
            self.files[which].write_text(text.replace(old, new))

        def load(self):
            for name in MODULES:
                sys.modules.pop(name, None)
            importlib.invalidate_caches()
            runcode.forget()
            return importlib.import_module("test_mine")

    yield User()
    for name in MODULES:
        sys.modules.pop(name, None)
    runcode.forget()


def _depends(module) -> Dependencies:
    recorder = _Recorder()
    module.declare(recorder)
    return recorder.deps


def test_a_run_depends_on_its_declaring_code_to_the_call_and_its_model_module(user):
    user.write()
    labels = set(_depends(user.load()).depends)
    mine, model = str(user.files["declaring"]), str(user.files["model"])
    helpers = str(user.files["helpers"])
    assert {f"{mine}::<module>", f"{mine}::declare[:trained]", f"{mine}::layers", model,
            f'{user.files["layers"]}::hidden', f"{helpers}::<module>", f"{helpers}::spec_of"} <= labels
    assert not any(label.endswith(("::test_other", "::plotted")) for label in labels)
    assert set(runcode.training_code()) <= labels and "harness/runcode.py" in labels
    assert not any("torch/" in label for label in labels)  # an installed package counts by its release


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_changes_the_runs_code_only_where_training_depends_on_it(user, edit):
    which, old, new, retrains = EDITS[edit]
    user.write()
    before = _depends(user.load())
    user.edit(which, old, new)
    after = _depends(user.load())
    assert (after.code != before.code) == retrains
    runcode.forget()
    assert bool(staleness(before.depends, before.torch_release)) == retrains


def test_staleness_names_what_changed_or_is_gone(user):
    user.write()
    before = _depends(user.load())
    user.edit("model", "nn.ReLU()", "nn.Tanh()")
    user.edit("declaring", "def layers():\n    return WIDTH\n", "")
    user.edit("declaring", 'spec_of(layers())', 'spec_of(WIDTH)')
    runcode.forget()
    why = staleness(before.depends, "1.0")
    mine = user.files["declaring"]
    assert why == ["trained with torch 1.0, now " + str(torch.__version__), f"{user.files['model']} changed",
                   f"{mine}::declare[:trained] changed", f"{mine}::layers is gone"]
    user.files["model"].unlink()
    runcode.forget()
    assert f"{user.files['model']} is gone" in staleness(before.depends, before.torch_release)


def test_a_model_class_beside_the_test_and_a_model_fn_from_another_module_count_as_their_definitions(user):
    """A class defined in the declaring module counts as its definition there (not the whole test file); a
    model_fn handed in from another module (a test passing a lambda to a shared helper) counts as the function
    that defined it."""
    user.write(declaring=DECLARING.replace("from mlp import MLP\n", "import torch.nn as nn\n") + '''

class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(3 * 32 * 32, 10)


def shared(harness, model_fn):
    return harness.trained(model_fn, {}, None, None, None)


def via_helper(harness):
    return shared(harness, lambda: MLP(WIDTH))


def via_another_module(harness):
    import helpers
    return helpers.shared(harness, lambda: MLP(WIDTH))


def test_another():
    return 1
''')
    module = user.load()
    recorder = _Recorder()
    module.declare(recorder)
    mine = str(user.files["declaring"])
    assert f"{mine}::MLP" in recorder.deps.depends and mine not in recorder.deps.depends
    module.via_helper(recorder)
    assert {f"{mine}::shared[:trained]", f"{mine}::via_helper", f"{mine}::MLP"} <= set(recorder.deps.depends)
    assert not any(label.endswith(("::test_other", "::test_another", "::declare")) for label in recorder.deps.depends)
    module.via_another_module(recorder)  # the run declared by the helpers module, its model a class of the test's
    helpers = str(user.files["helpers"])
    assert {f"{helpers}::shared[:trained]", f"{mine}::via_another_module", f"{mine}::MLP"} <= set(recorder.deps.depends)
    assert mine not in recorder.deps.depends and not any(label.endswith("::test_other")
                                                         for label in recorder.deps.depends)


def test_a_caller_without_its_source_is_keyed_by_its_code_and_never_called_stale():
    namespace = {"Caller": Caller, "inspect": inspect}
    exec("def f():\n    return Caller.of(inspect.currentframe())\n", namespace)
    deps = run_dependencies(namespace["f"](), lambda: torch.nn.Linear(2, 2))
    assert "<<string>>::f" in deps.depends and staleness(deps.depends, deps.torch_release) == []


def _session(tmp_path, cache):
    harness = _harness(tmp_path, max_hours=None)
    harness.runs.seeds = [0]
    harness.runs.run_cache = cache
    return harness


def _train_declared(user, tmp_path, cache) -> None:
    """A new session runs the user's `declare` (imported afresh)."""
    data = synthetic_data(n=16)
    data.description = "synthetic: 16 images"
    user.load().declare(_session(tmp_path, cache), TrainConfig(epochs=1, batch_size=8, lr=0.01), data)


def _status(cache, capsys) -> str:
    assert main(["cache", "status", f"--cache-dir={cache.folder}"]) == 0
    return capsys.readouterr().out


def test_cache_status_names_stale_entries_and_prune_removes_exactly_them(user, tmp_path, capsys, monkeypatch):
    calls, cache = _count_training(monkeypatch), RunCache(tmp_path / "runs")
    user.write()
    _train_declared(user, tmp_path, cache)
    (first,) = cache.entries()
    user.edit("declaring", '"a typo"', '"a typo fixed"')  # another test: the run is loaded, not trained
    _train_declared(user, tmp_path, cache)
    assert len(calls) == 1 and "current: 1 runs" in _status(cache, capsys)

    user.edit("model", "nn.ReLU()", "nn.Tanh()")
    _train_declared(user, tmp_path, cache)
    assert len(calls) == 2
    (second,) = set(cache.entries()) - {first}
    # Beside them: an entry from before dependencies were recorded, a stale run's checkpoint, a current one's,
    # and a user's files.
    old = cache.store("old", "c", train(lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 10)),
                                        [0], synthetic_data(n=8), None, TrainConfig(epochs=1, batch_size=8)))
    gone_meta = Dependencies({**runcode.training_code(), str(user.files["model"]): "0" * 64}).metadata("m")
    cache.checkpoints("k1", "c", gone_meta).save([0, 1], {"epoch": 1, "epochs": 3})
    current_meta = Dependencies(runcode.training_code()).metadata("m")
    cache.checkpoints("k2", "c", current_meta).save([0], {"epoch": 2, "epochs": 3})
    stale_partial, current_partial = cache.checkpoints("k1", "c").path([0, 1]), cache.checkpoints("k2", "c").path([0])
    broken = cache.folder / f"{'a' * 40}.pt"  # a truncated entry
    broken.write_bytes(old.read_bytes()[:100])
    mine = [cache.folder / name for name in ("my_model.pt", "notes.sha256")]
    for path in mine:
        path.write_text("a user's file")

    status = _status(cache, capsys)
    assert "4 runs, 2 partial runs" in status and f"{broken.name[:12]}: 0.0 MiB, unreadable" in status
    assert "current: 1 runs" in status and "stale: 1 runs" in status
    assert "from before dependencies were recorded: 1 runs" in status
    assert f"{first.name[:12]}: " in status and f"stale: {user.files['model']} changed" in status
    assert "1 of 3 epochs done" in status and "cache prune" in status

    assert main(["cache", "clear", "--dry-run", f"--cache-dir={cache.folder}"]) == 2  # refused, not ignored
    assert "--dry-run goes with `cache prune`" in capsys.readouterr().err
    assert main(["cache", "prune", "--dry-run", f"--cache-dir={cache.folder}"]) == 0
    dry = capsys.readouterr().out
    assert "would remove 3 cached runs and 1 checkpoints of unfinished runs" in dry and first.name[:12] in dry
    assert all(p.exists() for p in (first, old, broken, stale_partial))

    assert main(["cache", "prune", f"--cache-dir={cache.folder}"]) == 0
    out = capsys.readouterr().out
    assert "removed 3 cached runs and 1 checkpoints of unfinished runs" in out and "freed" in out
    assert cache.entries() == [second] and cache.partials() == [current_partial]
    for path in (first, old, broken, stale_partial):
        assert not path.exists() and not path.with_suffix(".sha256").exists()
    assert all(path.read_text() == "a user's file" for path in mine)
    assert "1 runs, 1 partial runs" in _status(cache, capsys)
    _train_declared(user, tmp_path, cache)
    assert len(calls) == 2  # the current entry is loaded, not trained
