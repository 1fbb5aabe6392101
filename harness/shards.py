"""Which claim tests share training runs, and how a selection splits into shards and xdist groups.

Tests that share training runs form a *family*: under ``-n`` a family stays on one worker (an xdist group, so
that no worker idles on another's lock), and under ``--shard K/N`` in one shard (else the shared runs would be
trained in several). Families come from what the claim records declare, never from folder names or test ids:

- ``[report] shares_runs_by = ["momentum"]`` in a report folder's ``claims.toml``: its claim tests whose readings
  choose the same value of that choice share runs (report 002: every run of one momentum serves several claims);
- ``runs_family = "teachers"`` on claims: those claims of the folder share runs whatever their readings (report
  000's Q1 claims all train on its teachers).

A test of no family is a family of its own module.
"""

from __future__ import annotations

from harness.claims import catalog


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


def declared_family(item) -> str | None:
    """The family the claim records give ``item`` (``r002.momentum=0.9``, ``r000.teachers``); None where they give
    none."""
    ids = claims_of(item)
    if not ids:
        return None
    claim = catalog.get(ids[0])
    folder = catalog.folder_of(claim.id)
    choices = getattr(_reading(item), "choices", {})
    parts = [claim.runs_family] if claim.runs_family else []
    parts += [f"{name}={_value(choices[name])}" for name in folder.shares_runs_by if name in choices]
    return ".".join([folder.name, *parts]) if parts else None


def _value(value) -> str:
    return f"{float(value):g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def mark_groups(items) -> None:
    """Put each test of a declared family in that family's xdist group (``loadgroup`` keeps a group on one
    worker)."""
    import pytest

    for item in items:
        family = declared_family(item)
        if family is not None:
            item.add_marker(pytest.mark.xdist_group(family))


def run_family(item) -> str:
    """The family ``item`` shares training runs with: its declared family, else its module."""
    return declared_family(item) or item.nodeid.split("::")[0]


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


def split(items, k: int, n: int, plan=None) -> tuple[list, list]:
    """The tests of shard ``k`` of ``n`` (1-based) and the others, families kept whole."""
    families: dict[str, list] = {}
    for item in items:
        families.setdefault(run_family(item), []).append(item)
    shard = assign_shards(family_costs(families, plan), n)
    keep = [item for item in items if shard[run_family(item)] == k - 1]
    return keep, [item for item in items if shard[run_family(item)] != k - 1]
