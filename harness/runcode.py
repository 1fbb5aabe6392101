"""The code a training run depends on, for the results cache: each source it depends on, named and hashed.

A run depends on

- the harness's training code (``TRAINING_CODE``: the engine, the models, the data pipeline with its normalization,
  the numerics settings, the cache's serialization, the run store and this module), each file whole, and the
  torch release;
- its model's code: the classes of ``model_fn()``'s modules and their bases, each by the whole file defining it (a
  user's ``my_claims/mlp.py``), with what that file imports from the user's other modules (a module whole, a
  function or a class as below); a class in a test module (pytest's ``test_*.py``, ``*_test.py``) by its definition
  instead, as functions are. The harness's own files count only as its training code, and an installed package's
  (torch, site-packages, the standard library) only by a release: never file by file;
- for a run asked of ``Harness.trained`` directly, its declaring code (a run declared in a report folder's
  ``runs.py``, :mod:`harness.runs`, is by value in its key: its model's code is all that counts besides): the
  function that called ``Harness.trained``, up to its last statement that calls a
  ``trained`` (what runs after it, such as the measurements handed to the judge, can change none of its runs: cut
  there, the function is the same for each call it makes); its module's top-level statements (imports,
  constants); and what these name, from name to name: the module's own functions and classes, and, looked up in the
  module's namespace (``x`` or ``module.x``), the user's functions and classes of other modules (a function by its
  definition and its own module's top-level statements, a class as above). Another function of the module (another
  test, a plot) is left out unless named so. The function that defined ``model_fn`` counts alike (a lambda in the
  caller is in it already). A caller nested in another function counts as that whole function; a caller at a
  module's top level (a script), or one not found by name in its file, as its whole file.

The results cache records each source by a label and its SHA-256 (:class:`Dependencies`), and :func:`staleness`
hashes them again now, for ``python -m harness cache status`` and ``cache prune``. A label is ``WHERE`` (a whole
file), ``WHERE::<module>`` (its top-level statements), ``WHERE::NAME`` (a function or class; ``Class.method``, with
its class's own statements) or ``WHERE::NAME[:trained]`` (a function up to its last statement calling ``trained``),
``WHERE`` being the path relative to the folder that holds the harness (the repository: ``suites/r002/common.py``,
``harness/train/engine.py``), else absolute. A caller with no source file (code run from a string) is labelled
``<FILE>::NAME`` and keyed by its code object; it cannot be checked again. A function or class is hashed by its
syntax tree with its docstrings dropped (``ast.dump`` holds no line numbers): an edit of a comment, a docstring or
the layout, or another function growing above it, trains nothing again. Whole files are hashed byte for byte.
Sources are read once a process (:func:`forget` reads them again): a session keys its runs by the sources as it
first read them.

Not followed: code reached other than by a name (a method called on an object of another module's class, a
function looked up by a string), and the data behind a ``DeviceData`` that the caller built itself (the run key holds
its description and fingerprint).
"""

from __future__ import annotations

import ast
import copy
import functools
import hashlib
import inspect
import logging
import marshal
import site
import sys
import sysconfig
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

log = logging.getLogger("harness.cache")

HARNESS_DIR = Path(__file__).resolve().parent
# What a trained run depends on, relative to harness/: the engine, the models, the data pipeline, the numerics
# settings, the cache's serialization and this module (which decides what else counts: a change to it must make
# every entry stale, or `cache status` would call current an entry no session finds). Judges, statistics, tables,
# plans and the CLI are left out on purpose.
# runstore.py: how a run is asked of the engine (its seeds, its teacher, the budget's hook on each step).
# Not runs.py: what a declared run trains with is in its key by value (its model's spec and architecture, its
# config with the gradient-norm steps placed, its data's description), so an edit there changes a key or nothing.
TRAINING_CODE = ("train", "models", "data", "numerics.py", "runcache.py", "runcode.py", "runstore.py")
MODULE = "<module>"
GONE = "gone"
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
CUT = "[:trained]"  # a label's mark: the function up to its last statement that calls `trained`


@dataclass(frozen=True)
class Caller:
    """Where ``Harness.trained`` was called from: its code object, the line of the call, and its module's
    namespace (what the names of its code are bound to)."""

    filename: str
    qualname: str
    lineno: int
    code: types.CodeType = field(compare=False)
    namespace: dict = field(compare=False, repr=False, default_factory=dict)

    @classmethod
    def of(cls, frame) -> "Caller":
        return cls(frame.f_code.co_filename, frame.f_code.co_qualname, frame.f_lineno, frame.f_code, frame.f_globals)


@dataclass(frozen=True)
class Dependencies:
    """What a run's code is: each source it depends on (label → SHA-256) and the torch release."""

    depends: dict
    torch_release: str = str(torch.__version__)  # a plain str: its TorchVersion type is no weights_only global

    @property
    def code(self) -> str:
        """The hash a cache entry is keyed by: of every label with its SHA-256, so that an entry ``cache status``
        calls current (each label found as recorded) is one a session finds. A folder outside the repository that
        moves therefore trains its runs again; the repository moved, or copied, keeps them (its labels are
        relative)."""
        digest = hashlib.sha256(f"torch {self.torch_release}".encode())
        for label, sha in sorted(self.depends.items()):
            digest.update(f"\n{label} {sha}".encode())
        return digest.hexdigest()

    def merged(self, other: "Dependencies") -> "Dependencies":
        return Dependencies({**other.depends, **self.depends}, self.torch_release)

    def metadata(self, machine: str) -> dict:
        """What a cache entry records of them (plain strings: ``torch.load(weights_only=True)`` reads them)."""
        return {"depends": {str(k): str(v) for k, v in self.depends.items()}, "torch": str(self.torch_release),
                "machine": str(machine)}


def run_dependencies(caller: Caller | None, model_fn: Callable) -> Dependencies:
    """What the run that ``caller`` declared with ``model_fn`` depends on (see the module's docstring); ``caller``
    None for a run declared by value (:mod:`harness.runs`): its training code and its model's code only. Builds the
    model once, on the CPU, under a forked RNG (the session's random stream is left as it was)."""
    sources = _Sources()
    sources.deps.update(training_code())
    if caller is not None:
        sources.caller(caller)
    sources.model(model_fn, caller)
    return Dependencies(sources.deps)


def training_code() -> dict:
    """Label → SHA-256 of each file of ``TRAINING_CODE`` (read once a process)."""
    return dict(_training_code(HARNESS_DIR))


def forget() -> None:
    """Read every source again when next asked: ``cache status`` checks the files as they are now, not as this
    process first read them."""
    for cached in (_read, _tree, _training_code, _installed_roots):
        cached.cache_clear()


def staleness(depends: dict, torch_release: str) -> list[str]:
    """What changed since an entry recorded ``depends`` and ``torch_release``, in words; empty when nothing did.
    A source with no file (code run from a string) cannot be checked and is taken as it was."""
    reasons = [] if torch_release == torch.__version__ else [f"trained with torch {torch_release}, now "
                                                             f"{torch.__version__}"]
    for label, sha in sorted(depends.items()):
        now = digest_now(label)
        if now == GONE:
            reasons.append(f"{label} is gone")
        elif now is not None and now != sha:
            reasons.append(f"{label} changed")
    reasons += [f"{label} is new" for label in sorted(training_code()) if label not in depends]
    return reasons


def digest_now(label: str) -> str | None:
    """The SHA-256 of what ``label`` names as it is now; ``GONE`` where its file or function is gone; None where it
    names no file."""
    where, sep, what = label.partition("::")
    if where.startswith("<"):
        return None
    path = _path_of(where)
    if not sep:
        return _file_digest(path)
    if _read(path) is None:
        return GONE
    tree = _tree(path)
    if tree is None:
        return _sha(b"unparsable")
    if what == MODULE:
        return _module_digest(tree)
    name = what.removesuffix(CUT)
    nodes = _find(tree, name)
    if nodes is None:
        return GONE
    return _node_digest(nodes, _cut(nodes[-1]) if what.endswith(CUT) else None)


class _Sources:
    """The sources of one run, gathered: label → SHA-256, and which definitions of each file are in whole."""

    def __init__(self):
        self.deps: dict[str, str] = {}
        self.whole: dict[str, set[str]] = {}  # per file label: the definitions in whole ("*": the file)

    def caller(self, caller: Caller) -> None:
        path = Path(caller.filename)
        if _tree(path) is None:
            # No source (code run from a string, a notebook cell's deleted file): its code object stands for it.
            self.deps[f"<{caller.filename}>::{caller.qualname}"] = _sha(marshal.dumps(caller.code))
            return
        name = _declared(caller.qualname)
        if name is None:  # called at a module's top level (a script): all of it may run before the call
            self.whole_file(path, caller.namespace)
            return
        nodes = _find(_tree(path), name)
        cut = None
        if nodes is not None and name == caller.qualname:  # not nested: the call is a statement of its own body
            cut = _cut(nodes[-1])
            at = _statements_to(nodes[-1], caller.lineno)
            cut = cut if at is not None and cut is not None and at <= cut else None  # called by another name
        self.declared(path, name, cut, caller.namespace)

    def model(self, model_fn: Callable, caller: Caller) -> None:
        fn = model_fn
        while isinstance(fn, functools.partial):
            fn = fn.func
        classes = {fn} if inspect.isclass(fn) else set()
        try:
            with torch.random.fork_rng(devices=[]):
                model = model_fn()
        except Exception as exc:  # noqa: BLE001 — training builds it again and reports what fails
            log.debug("results cache: model_fn() failed (%s); its classes are not part of the run's code", exc)
        else:
            classes |= {type(m) for m in model.modules()} if isinstance(model, torch.nn.Module) else {type(model)}
        for cls in sorted({base for c in classes for base in c.__mro__}, key=lambda c: (c.__module__, c.__qualname__)):
            self.definition(cls)
        if not inspect.isclass(fn):
            self.definition(fn)  # the function that builds the model: a lambda in the caller is in already

    def definition(self, obj) -> None:
        """The code of ``obj``, a class or function that the run's code names or builds: a class by its whole file
        (a model module, with whatever it calls there), unless a test module holds it; a function, or a class
        beside tests, by its definition (as the caller is: another test of the module is left out)."""
        obj = inspect.unwrap(obj) if inspect.isfunction(obj) else obj
        path = _source_file(obj)
        if path is None or not self.counts(path) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            return
        namespace = obj.__globals__ if inspect.isfunction(obj) else _namespace(obj)
        if inspect.isclass(obj) and not _test_module(path):
            self.whole_file(path, namespace)
        else:
            self.declared(path, _declared(obj.__qualname__), namespace=namespace)

    def counts(self, path: Path) -> bool:
        """Whether the source file ``path`` adds to the run's code: a Python file outside the harness (its training
        code counts whole, the rest never) and outside installed packages (their releases, not their files)."""
        return _tree(path) is not None and not Path(path).resolve().is_relative_to(HARNESS_DIR) \
            and not _installed(path)

    def whole_file(self, path: Path, namespace: dict) -> None:
        """The file at ``path`` byte for byte, and the user's modules, classes and functions its namespace holds
        (what it imports), each whole."""
        where = _label_of(path)
        if "*" in self.whole.get(where, ()):
            return
        for label in [label for label in self.deps if label.startswith(f"{where}::")]:
            del self.deps[label]  # the whole file holds them
        self.deps[where] = _file_digest(path)
        self.whole[where] = {"*"}
        for value in list(namespace.values()):
            if inspect.ismodule(value):
                module_file = getattr(value, "__file__", None)
                if module_file and self.counts(Path(module_file)):
                    self.whole_file(Path(module_file), vars(value))
            elif inspect.isclass(value) or inspect.isfunction(value):
                self.definition(value)

    def declared(self, path: Path, name: str | None, n: int | None = None, namespace: dict | None = None) -> None:
        """The definition ``name`` of the file at ``path`` (its first ``n`` statements; None: none, the module's
        top level), the file's top-level statements, and what these name, from name to name: the file's own
        functions and classes, and (looked up in ``namespace``, the module's) those imported from the user's other
        modules."""
        where = _label_of(path)
        whole = self.whole.setdefault(where, set())
        if _covered(name, whole):
            return
        tree = _tree(path)
        nodes = None if name is None else _find(tree, name)
        if name is not None and nodes is None:  # not found by name (defined under an `if`, say): the whole file
            self.whole_file(path, namespace or {})
            return
        self.deps[f"{where}::{MODULE}"] = _module_digest(tree)
        todo = _names(_module_statements(tree))
        if nodes is not None:
            self.deps[f"{where}::{name}" + ("" if n is None else CUT)] = _node_digest(nodes, n)
            todo |= _names(_kept(nodes, n))
            # A caller cut after its call holds every function defined in it that the run can use (a lambda model).
            whole.add(name)
        definitions = {node.name: node for node in tree.body if isinstance(node, _DEFS)}
        while todo:
            other = todo.pop()
            if other in definitions:
                if not _covered(other, whole):
                    whole.add(other)
                    self.deps[f"{where}::{other}"] = _node_digest([definitions[other]])
                    todo |= _names([definitions[other]])
            elif namespace is not None:
                self.definition(_bound(namespace, other))


def _bound(namespace: dict, name: str):
    """What ``name`` (``x`` or ``module.x``) is bound to in ``namespace``; None where nothing is."""
    head, _, attr = name.partition(".")
    value = namespace.get(head)
    if attr and inspect.ismodule(value):
        return getattr(value, attr, None)
    return None if attr else value


def _namespace(cls: type) -> dict:
    module = sys.modules.get(cls.__module__)
    return {} if module is None else vars(module)


def _test_module(path: Path) -> bool:
    """Whether pytest collects ``path`` as a test module (its default ``python_files``)."""
    return Path(path).name.startswith("test_") or Path(path).name.endswith("_test.py")


def _source_file(obj) -> Path | None:
    try:
        source = inspect.getsourcefile(obj)
    except TypeError:  # a built-in
        return None
    return Path(source) if source else None


def _covered(name: str | None, whole: set[str]) -> bool:
    """Whether the definition ``name`` (None: the module's top level) is in already: its file, or a definition
    holding it, counted whole."""
    if "*" in whole:
        return True
    if name is None:
        return False
    parts = name.split(".")
    return any(".".join(parts[:i]) in whole for i in range(1, len(parts) + 1))


def _declared(qualname: str) -> str | None:
    """The name, among its file's top-level definitions and their classes' methods, of the definition holding the
    code named ``qualname`` (``test_x.<locals>.<lambda>`` → ``test_x``); None at the module's top level."""
    parts = []
    for part in qualname.split("."):
        if part.startswith("<"):
            break
        parts.append(part)
    return ".".join(parts) or None


def _find(tree: ast.Module, name: str) -> list | None:
    """The definitions from the module down to ``name`` (``Class.method``: the class, then the method); the last of
    its name where one is defined twice, as Python keeps."""
    body, path = tree.body, []
    for part in name.split("."):
        found = [node for node in body if isinstance(node, _DEFS) and node.name == part]
        if not found:
            return None
        path.append(found[-1])
        body = found[-1].body
    return path


def _statements_to(node, lineno: int) -> int | None:
    """How many statements of ``node``'s body (its docstring aside) run up to the one holding line ``lineno``."""
    for i, statement in enumerate(_body(node)):
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        if first <= lineno <= statement.end_lineno:
            return i + 1
    return None


def _cut(node) -> int | None:
    """How many statements of ``node``'s body (its docstring aside) run up to its last that calls ``trained``
    (``harness.trained(...)``, ``run.harness.trained(...)``); None where none does. Cut there, the function
    is the same for each of its calls, and what follows (the measurements) can change none of its runs."""
    cut = None
    for i, statement in enumerate(_body(node)):
        if any(isinstance(n, ast.Call) and (isinstance(n.func, ast.Attribute) and n.func.attr == "trained"
                                            or isinstance(n.func, ast.Name) and n.func.id == "trained")
               for n in ast.walk(statement)):
            cut = i + 1
    return cut


def _body(node) -> list:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


class _NoDocstrings(ast.NodeTransformer):
    def generic_visit(self, node):
        node = super().generic_visit(node)
        if isinstance(node, (*_DEFS, ast.Module)):
            node.body = _body(node) or [ast.Pass()]
        return node


def _dump(node) -> str:
    return ast.dump(_NoDocstrings().visit(copy.deepcopy(node)))


def _kept(nodes: list, n: int | None) -> list:
    """What of the definitions ``nodes`` counts: each enclosing class's own statements (not its other methods), and
    the last definition, cut after its ``n``-th statement."""
    kept = []
    for node in nodes[:-1]:
        head = copy.copy(node)
        head.body = [s for s in node.body if not isinstance(s, _DEFS)] or [ast.Pass()]
        kept.append(head)
    last = copy.copy(nodes[-1])
    if n is not None:
        last.body = _body(last)[:n]
    kept.append(last)
    return kept


def _node_digest(nodes: list, n: int | None = None) -> str:
    return _sha("\n".join(map(_dump, _kept(nodes, n))).encode())


def _module_statements(tree: ast.Module) -> list:
    return [s for s in _body(tree) if not isinstance(s, _DEFS)]


def _module_digest(tree: ast.Module) -> str:
    return _sha(_dump(ast.Module(body=_module_statements(tree), type_ignores=[])).encode())


def _names(nodes) -> set[str]:
    """The names the code of ``nodes`` uses: ``x``, and ``module.x`` where an attribute is read of a name."""
    names = set()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                names.add(n.id)
            elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name):
                names.add(f"{n.value.id}.{n.attr}")
    return names


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=None)
def _read(path: Path) -> bytes | None:
    """The file's bytes; None unless it is a regular file (a crafted entry's label may name /dev/zero)."""
    try:
        return Path(path).read_bytes() if Path(path).is_file() else None
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module | None:
    source = _read(path)
    try:
        return None if source is None else ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _file_digest(path: Path) -> str:
    source = _read(path)
    return GONE if source is None else _sha(source)


@functools.lru_cache(maxsize=4)
def _training_code(harness_dir: Path) -> tuple:
    files = [p for entry in TRAINING_CODE for p in
             (sorted((harness_dir / entry).rglob("*.py")) if (harness_dir / entry).is_dir() else [harness_dir / entry])]
    return tuple((_label_of(p), _file_digest(p)) for p in files)


def _root() -> Path:
    return HARNESS_DIR.parent


def _label_of(path: Path) -> str:
    path = Path(path).resolve()
    return path.relative_to(_root()).as_posix() if path.is_relative_to(_root()) else str(path)


def _path_of(where: str) -> Path:
    return Path(where) if Path(where).is_absolute() else _root() / where


@functools.lru_cache(maxsize=1)
def _installed_roots() -> tuple:
    paths = sysconfig.get_paths()
    roots = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")] + list(site.getsitepackages())
    roots.append(site.getusersitepackages())
    return tuple({Path(r).resolve() for r in roots if r})


def _installed(path: Path) -> bool:
    path = Path(path).resolve()
    return any(path.is_relative_to(root) for root in _installed_roots())
