"""Shared fixtures, hypothesis strategies and plain-Python reference implementations.

The reference implementations here are written from the definitions in ``docs/definitions.md``,
independently of ``kocgraph.algorithms``: one Python loop over events in ``(time, row)`` order for
the first-receipt rule, networkx for every figure of the resulting trees, and a loop over pairs for
the adoption-parent rule. Tests compare the vectorized library against them on random logs.

Import helpers with ``from kg_testlib import ...`` (pytest puts ``tests/`` on ``sys.path``); the
fixtures reach every test through ``tests/conftest.py``. (Not ``from conftest import``: the Spark
tests and the repository root have conftest modules of their own.)
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import kocgraph as kg

# one profile for the foundation's property tests: modest, no deadline (CI boxes are slow and shared)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROPERTY_SMALL = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z in epoch seconds


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture
def toy() -> kg.ShareGraph:
    """A fresh toy graph (tl tools mutate graphs, so never share one between tests)."""
    return kg.datasets.toy()


@pytest.fixture
def toy_cascades() -> kg.ShareGraph:
    g = kg.datasets.toy()
    kg.tl.cascades(g)
    return g


# ---------------------------------------------------------------------------------------------- strategies
USER_POOL = ["a", "b", "c", "d", "e", "f", "g"]
ITEM_POOL = ["p", "q", "r"]


@st.composite
def forward_logs(draw: Any, *, max_events: int = 30, n_users: int = 7, n_items: int = 3,
                 min_events: int = 0, max_time: int = 12) -> pd.DataFrame:
    """Small forwarding logs: string ids from small pools (so cascades, exposures, cycles, ties and
    forwards-before-receipt are all common), epoch-second times with many ties. Self-forwards and
    exact duplicates occur too (read_log quarantines them)."""
    users = USER_POOL[:n_users]
    items = ITEM_POOL[:n_items]
    m = draw(st.integers(min_events, max_events))
    rows = draw(st.lists(
        st.tuples(st.sampled_from(users), st.sampled_from(users), st.sampled_from(items),
                  st.integers(0, max_time)),
        min_size=m, max_size=m,
    ))
    return pd.DataFrame(
        {
            "source": pd.Series([r[0] for r in rows], dtype=object),
            "target": pd.Series([r[1] for r in rows], dtype=object),
            "item": pd.Series([r[2] for r in rows], dtype=object),
            "time": np.array([T0 + r[3] for r in rows], dtype=np.int64),
        }
    )


_DIRTY_IDS = st.one_of(
    st.sampled_from(["a", "b", "c", "张三", "😀", " b ", "openid_0123456789"]),
    st.sampled_from([1, 2, 2**63 - 1]),
    st.sampled_from([None, np.nan, pd.NA, "", "   "]),
)
_DIRTY_TIMES = st.one_of(
    st.integers(T0, T0 + 50),                              # epoch seconds
    st.integers(T0 * 1000, T0 * 1000 + 50_000),            # epoch milliseconds (mixed units)
    st.sampled_from([None, np.nan, pd.NaT, "garbage", "", "2026-13-45", pd.Timestamp("2026-01-01T05:00Z")]),
    st.sampled_from(["2026-01-01T08:00:00+08:00", "2026-01-01 09:30:00", "2026-01-01T01:00:00Z"]),
)


#: for tests over dirty_logs: their ids mix integers and text on purpose, which read_log warns about
MIXED_IDS = pytest.mark.filterwarnings("ignore::kocgraph.exceptions.DataQualityWarning")


@st.composite
def dirty_logs(draw: Any, *, max_events: int = 25) -> pd.DataFrame:
    """Forwarding logs with everything that goes wrong in real exports: null, blank and mixed-type ids,
    self-forwards, exact duplicates, unparseable and mixed-unit times, and a value column with junk."""
    m = draw(st.integers(0, max_events))
    rows = draw(st.lists(
        st.tuples(_DIRTY_IDS, _DIRTY_IDS, st.sampled_from(["p", "q", 7, None]), _DIRTY_TIMES,
                  st.sampled_from([1.5, None, "abc", "2", 3])),
        min_size=m, max_size=m,
    ))
    # exact duplicates and self-forwards on purpose
    extra = []
    if rows and draw(st.booleans()):
        extra.append(rows[draw(st.integers(0, len(rows) - 1))])
    if rows and draw(st.booleans()):
        r = rows[draw(st.integers(0, len(rows) - 1))]
        extra.append((r[0], r[0], r[2], r[3], r[4]))
    rows = rows + extra
    cols = list(zip(*rows)) if rows else [[], [], [], [], []]
    return pd.DataFrame({
        "source": pd.Series(list(cols[0]), dtype=object),
        "target": pd.Series(list(cols[1]), dtype=object),
        "item": pd.Series(list(cols[2]), dtype=object),
        "time": pd.Series(list(cols[3]), dtype=object),
        "value": pd.Series(list(cols[4]), dtype=object),
    })


def random_log(seed: int, *, n_users: int = 30, n_items: int = 6, n_events: int = 200,
               ids: str = "str", tie_rate: float = 0.3) -> pd.DataFrame:
    """A seeded random log (bigger than the hypothesis ones) with ties, exposures and cycles."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_users, n_events)
    tgt = rng.integers(0, n_users, n_events)
    item = rng.integers(0, n_items, n_events)
    t = rng.integers(0, int(n_events * (1 - tie_rate)) + 1, n_events)
    if ids == "str":
        uid = np.array([f"u{i:03d}" for i in range(n_users)], dtype=object)
    else:
        uid = (10**15 + rng.permutation(n_users) * 7919).astype(np.int64)
    return pd.DataFrame({"source": uid[src], "target": uid[tgt], "item": [f"i{k}" for k in item],
                         "time": T0 + t})


# ---------------------------------------------------------------------------------------------- references
def reference_clean(df: pd.DataFrame) -> list[tuple[Any, Any, Any, int, int]]:
    """The accepted events of a clean log, by the quarantine rules: no self-forward, no exact
    duplicate (the first copy stays). Returns ``(source, target, item, time, row)`` in row order."""
    seen = set()
    out = []
    for row, (s, t, i, tm) in enumerate(zip(df["source"], df["target"], df["item"], df["time"])):
        if s == t:
            continue
        key = (s, t, i, tm)
        if key in seen:
            continue
        seen.add(key)
        out.append((s, t, i, int(tm), row))
    return out


def reference_forests(events: list[tuple[Any, Any, Any, int, int]]) -> dict[Any, dict[str, Any]]:
    """The first-receipt rule, one event at a time in ``(time, row)`` order.

    For each item: ``parent`` maps every holder to its parent (None for a root), ``hold`` maps it to
    the time it started to hold the item, ``exposures`` counts receipts that did not make a link,
    ``fbr`` counts holders who sent before they first received (and did receive later).
    """
    out: dict[Any, dict[str, Any]] = {}
    for s, t, i, tm, _row in sorted(events, key=lambda e: (e[3], e[4])):
        f = out.setdefault(i, {"parent": {}, "hold": {}, "exposures": 0, "sent_first": set(), "fbr": 0})
        if s not in f["parent"]:          # s sends before holding by a receipt: a root
            f["parent"][s] = None
            f["hold"][s] = tm
            f["sent_first"].add(s)
        if t not in f["parent"]:          # first receipt: a tree link
            f["parent"][t] = s
            f["hold"][t] = tm
        else:                             # already holds it: an exposure
            f["exposures"] += 1
            if t in f["sent_first"]:
                f["fbr"] += 1
                f["sent_first"].discard(t)
    return out


def forest_digraph(forest: dict[str, Any]) -> nx.DiGraph:
    T = nx.DiGraph()
    for u, p in forest["parent"].items():
        T.add_node(u)
        if p is not None:
            T.add_edge(p, u)
    return T


def nx_item_figures(forest: dict[str, Any]) -> dict[str, Any]:
    """size, depth, max_breadth, n_roots, virality, duration (seconds) of one item by networkx."""
    T = forest_digraph(forest)
    assert nx.is_directed_acyclic_graph(T) and max((d for _, d in T.in_degree()), default=0) <= 1
    roots = [u for u, p in forest["parent"].items() if p is None]
    depth_of: dict[Any, int] = {}
    for r in roots:
        depth_of.update(nx.single_source_shortest_path_length(T, r))
    breadth = defaultdict(int)
    for d in depth_of.values():
        breadth[d] += 1
    # virality: mean shortest-path length over connected pairs, tree by tree
    total, pairs = 0.0, 0
    single_tree_aspl = None
    U = T.to_undirected()
    for comp in nx.connected_components(U):
        n = len(comp)
        if n < 2:
            continue
        sub = U.subgraph(comp)
        aspl = nx.average_shortest_path_length(sub)
        total += aspl * n * (n - 1)
        pairs += n * (n - 1)
        single_tree_aspl = aspl
    virality = total / pairs if pairs else math.nan
    if len(roots) == 1 and pairs:
        assert virality == pytest.approx(single_tree_aspl)
    holds = list(forest["hold"].values())
    return {
        "size": T.number_of_nodes(),
        "depth": max(depth_of.values()),
        "max_breadth": max(breadth.values()),
        "n_roots": len(roots),
        "virality": virality,
        "duration_s": max(holds) - min(holds),
        "start_s": min(holds),
    }


def nx_user_figures(forests: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, int]]:
    """reach (sum of len(nx.descendants)), direct_reach, items_started, items_received per user."""
    out: dict[Any, dict[str, int]] = defaultdict(lambda: dict(reach=0, direct_reach=0, items_started=0,
                                                                items_received=0))
    for f in forests.values():
        T = forest_digraph(f)
        for u, p in f["parent"].items():
            out[u]["reach"] += len(nx.descendants(T, u))
            out[u]["direct_reach"] += T.out_degree(u)
            out[u]["items_started" if p is None else "items_received"] += 1
    return out


def reference_adoption_events(ad: pd.DataFrame, soc: pd.DataFrame, *, parent: str = "latest",
                              directed: bool = True) -> list[tuple[Any, Any, Any, int]]:
    """The adoption-parent rule by brute force over pairs.

    Adoptions are ordered by (time, row); a repeated (user, item) keeps its first. A user's parent is,
    among the earlier adopters of the item whom the user follows (social ``source -> target``: the
    target sees the source), the latest (or earliest) one. Returns ``(parent, user, item, time)``.
    """
    follows = set()
    for s, t in zip(soc["source"], soc["target"]):
        if s == t:
            continue
        follows.add((s, t))
        if not directed:
            follows.add((t, s))
    order = sorted(range(len(ad)), key=lambda r: (ad["time"].iloc[r], r))
    seen = set()
    adopted: dict[Any, list[tuple[Any, int]]] = defaultdict(list)  # item -> [(user, time)] in order
    out = []
    for r in order:
        u, i, tm = ad["user"].iloc[r], ad["item"].iloc[r], int(ad["time"].iloc[r])
        if (u, i) in seen:
            continue
        seen.add((u, i))
        cands = [v for v, _ in adopted[i] if (v, u) in follows]
        if cands:
            out.append((cands[-1] if parent == "latest" else cands[0], u, i, tm))
        adopted[i].append((u, tm))
    return out
