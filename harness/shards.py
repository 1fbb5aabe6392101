"""Which claim tests share training runs, and how a selection splits into shards and xdist groups.

Tests that share training runs form a *family*: under ``-n`` a family stays on one worker (an xdist group, so
that no worker idles on another's lock), and under ``--shard K/N`` in one shard (else the shared runs would be
trained in several). Families come from the runs the claims declare (:mod:`harness.runs`), never from folder names
or test ids: two claim tests that declare an equal run (a teacher, a longer run one is cut from, counted too) are of
one family, and so is every test linked to them by another shared run. A test that declares no shared run is a
family of its own module.
"""

from __future__ import annotations

from harness.claims import catalog
from harness.data.cache import fingerprint
from harness.runs import ClaimUnderReading, declared, every_run


def claims_of(item) -> list[str]:
    """The claim ids a test measures: its ``claim`` mark (``for_each_reading`` sets it), else its ``claim_id``
    parameter; [] for a test that measures no claim."""
    marked = [m.args[0] for m in item.iter_markers("claim") if m.args]
    if marked:
        return marked
    params = getattr(getattr(item, "callspec", None), "params", {})
    return [params["claim_id"]] if isinstance(params.get("claim_id"), str) else []


def _reading(item):
    return getattr(getattr(item, "callspec", None), "params", {}).get("reading")


def shared_runs(item, profile: str) -> list:
    """The runs ``item`` declares under ``profile`` that another test may share (every run but those trained
    alone), with what they need; [] for a test that measures no claim or whose claim declares no run."""
    ids, reading = claims_of(item), _reading(item)
    if not ids or reading is None or not hasattr(reading, "choices"):
        return []
    claim = ClaimUnderReading(catalog.get(ids[0]), reading, profile)
    return [run for run in every_run(declared(claim).values()) if not run.alone]


def declared_families(items, profile: str) -> dict[str, str]:
    """Node id → family, for the tests that declare shared runs: tests linked by an equal run, directly or through
    others, are one family, named by its report folder and a digest of one of its tests (the root the union of
    links ends at: the same name in every worker and shard, as each collects the same tests in the same order)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    first_with: dict = {}  # run → the first test declaring it
    for item in items:
        runs = shared_runs(item, profile)
        if not runs:
            continue
        parent.setdefault(item.nodeid, item.nodeid)
        for run in runs:
            other = first_with.setdefault(run, item.nodeid)
            a, b = root(other), root(item.nodeid)
            if a != b:
                parent[b] = a
    folder_of = {item.nodeid: catalog.folder_of(claims_of(item)[0]).name for item in items if item.nodeid in parent}
    # A digest, not the test's id: no xdist group name may hold '[', ']', '/' or ':' (they end a node id).
    return {node: f"{folder_of[root(node)]}.runs-{fingerprint(root(node))[:8]}" for node in parent}


def mark_groups(items, profile: str) -> None:
    """Put each test of a declared family in that family's xdist group (``loadgroup`` keeps a group on one
    worker)."""
    import pytest

    families = declared_families(items, profile)
    for item in items:
        if item.nodeid in families:
            item.add_marker(pytest.mark.xdist_group(families[item.nodeid]))


def run_families(items, profile: str) -> dict[str, str]:
    """Node id → the family each test shares training runs with: its declared family, else its module."""
    families = declared_families(items, profile)
    return {item.nodeid: families.get(item.nodeid, item.nodeid.split("::")[0]) for item in items}


def assign_shards(sizes: dict[str, int], n: int) -> dict[str, int]:
    """Each family to one of ``n`` shards (0-based), largest first onto the lightest shard: a stable balance."""
    load = [0] * n
    out = {}
    for family in sorted(sizes, key=lambda f: (-sizes[f], f)):
        k = min(range(n), key=lambda i: (load[i], i))
        out[family] = k
        load[k] += sizes[family]
    return out


def family_costs(families: dict[str, list], plan) -> dict[str, int]:
    """Each family's weight for the shards: its distinct runs' planned seconds where a plan covers every test,
    else its number of tests. Every shard must compute the same weights: pass them all one --plan-file.
    A run two families share counts in both (it is trained twice: once in each family's shard)."""
    if plan is None or any(item.nodeid not in plan.tests for items in families.values() for item in items):
        return {f: len(v) for f, v in families.items()}
    return {f: 1 + round(sum(plan.runs[k].estimate_s for k in {k for item in v for k in plan.tests[item.nodeid]}))
            for f, v in families.items()}


def parse_shard(spec: str) -> tuple[int, int]:
    """``K/N`` as (K, N); ValueError saying the form otherwise."""
    try:
        k, n = (int(v) for v in spec.split("/"))
        if not 1 <= k <= n:
            raise ValueError
    except ValueError:
        raise ValueError(f"--shard {spec}: give K/N with 1 <= K <= N, e.g. --shard 2/4") from None
    return k, n


def split(items, k: int, n: int, profile: str, plan=None) -> tuple[list, list]:
    """The tests of shard ``k`` of ``n`` (1-based) and the others, families kept whole."""
    family_of = run_families(items, profile)
    families: dict[str, list] = {}
    for item in items:
        families.setdefault(family_of[item.nodeid], []).append(item)
    shard = assign_shards(family_costs(families, plan), n)
    keep = [item for item in items if shard[family_of[item.nodeid]] == k - 1]
    return keep, [item for item in items if shard[family_of[item.nodeid]] != k - 1]
