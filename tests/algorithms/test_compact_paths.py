"""The compact (memory-bounded) paths of issue 15 give the same results as the whole-log paths.

- cascades: forests built block by block of items equal the one-block forest (the previous
  algorithm: one sort of every (item, user) key), field by field; slice sizes of the per-item and
  per-user sums change nothing; the whole tool agrees with the reference first-receipt rule when
  blocks and slices hold a handful of events.
- undirected simple edges: ``unique_pairs`` equals ``np.unique`` (also on its fallback path), and
  ``symmetrize`` equals the previous ``np.unique``-based definition.
- igraph: the view built from one int32 array has the same edges as the list-of-pairs build; Leiden
  with an array of weights gives the same labels as with a list.
- PageRank: the transpose-view path equals the previous ``A.T.tocsr()`` path bit for bit.
"""

from __future__ import annotations

import random

import igraph as ig
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import PROPERTY, PROPERTY_SMALL, forward_logs, random_log

import kocgraph as kg
from kocgraph.algorithms import cascades as C
from kocgraph.algorithms import centrality as K
from kocgraph.algorithms import communities as CM
from kocgraph.algorithms._sort import unique_pairs

FIELDS = ("item", "user", "parent", "parent_event", "hold_event", "depth", "root", "size")


def _random_events(seed: int, n_events: int, n_users: int, n_items: int, *, sorted_time: bool):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_users, n_events)
    tgt = (src + rng.integers(1, n_users, n_events)) % n_users  # no self-forward
    item = rng.integers(0, n_items, n_events)
    time = rng.integers(0, max(n_events // 3, 1), n_events)  # many ties
    if sorted_time:
        time = np.sort(time)
    return src.astype(np.int32), tgt.astype(np.int32), item.astype(np.int32), time.astype(np.int64)


def _same_forest(a: C.Forest, b: C.Forest) -> None:
    for k in FIELDS:
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    assert a.n_forwarded_before_receipt == b.n_forwarded_before_receipt


# ------------------------------------------------------------------------------------------- cascades
@pytest.mark.parametrize("sorted_time", [True, False])
@pytest.mark.parametrize("block", [1, 5, 64, 1000])
def test_blocks_give_the_one_block_forest(sorted_time, block):
    src, tgt, item, time = _random_events(block, 3000, 60, 40, sorted_time=sorted_time)
    whole = C.build_forest(src, tgt, item, time, 60, block_events=len(src))  # one block: the whole log
    _same_forest(C.build_forest(src, tgt, item, time, 60, block_events=block), whole)


@PROPERTY
@given(st.integers(0, 10_000), st.integers(1, 400), st.integers(2, 12), st.integers(1, 9), st.integers(1, 50),
       st.booleans())
def test_blocks_give_the_one_block_forest_property(seed, n, n_users, n_items, block, sorted_time):
    src, tgt, item, time = _random_events(seed, n, n_users, n_items, sorted_time=sorted_time)
    whole = C.build_forest(src, tgt, item, time, n_users, block_events=n)
    _same_forest(C.build_forest(src, tgt, item, time, n_users, block_events=block), whole)


def test_one_viral_item_larger_than_a_block():
    # item 3 has 2,000 of the 2,300 events: its block holds it whole
    src, tgt, item, time = _random_events(7, 2300, 80, 6, sorted_time=True)
    item[:2000] = 3
    whole = C.build_forest(src, tgt, item, time, 80, block_events=len(src))
    _same_forest(C.build_forest(src, tgt, item, time, 80, block_events=100), whole)


def test_forest_indices_are_int32_and_holders_sorted():
    src, tgt, item, time = _random_events(3, 500, 30, 7, sorted_time=True)
    f = C.build_forest(src, tgt, item, time, 30, block_events=50)
    assert all(getattr(f, k).dtype == np.int32 for k in FIELDS)
    key = f.item.astype(np.int64) * 30 + f.user
    assert np.all(key[1:] > key[:-1])
    assert C.index_dtype(2**31).__name__ == "int32" and C.index_dtype(2**31 + 1).__name__ == "int64"


def test_block_events_must_be_positive():
    z = np.zeros(1, dtype=np.int64)
    with pytest.raises(kg.InvalidParameterError, match="block_events"):
        C.build_forest(z, z + 1, z, z, 2, block_events=0)


@pytest.mark.parametrize("chunk", [1, 3, 17, 10**6])
def test_slices_change_no_item_or_user_figure(chunk):
    src, tgt, item, time = _random_events(11, 4000, 90, 50, sorted_time=False)
    f = C.build_forest(src, tgt, item, time, 90)
    whole_i = C.item_metrics(f, time, 52, chunk=10**9)
    whole_u = C.user_metrics(f, 90, chunk=10**9)
    got_i = C.item_metrics(f, time, 52, chunk=chunk)
    got_u = C.user_metrics(f, 90, chunk=chunk)
    for k, v in whole_i.items():
        assert np.array_equal(got_i[k], v, equal_nan=True) and got_i[k].dtype == v.dtype, k
    for k, v in whole_u.items():
        assert np.array_equal(got_u[k], v) and got_u[k].dtype == v.dtype, k


def test_item_metrics_known_answer_across_slices():
    # item 0: A(0) -> B(1) -> C(2) (a path of 3: virality 4/3), item 1: no event, item 2: D(3) -> E(4)
    src, tgt = np.array([0, 1, 3]), np.array([1, 2, 4])
    item, time = np.array([0, 0, 2]), np.array([10, 20, 30])
    f = C.build_forest(src, tgt, item, time, 5, block_events=1)
    for chunk in (1, 2, 100):
        im = C.item_metrics(f, time, 3, chunk=chunk)
        assert im["size"].tolist() == [3, 0, 2] and im["depth"].tolist() == [2, 0, 1]
        assert im["max_breadth"].tolist() == [1, 0, 1] and im["n_roots"].tolist() == [1, 0, 1]
        assert im["virality"][0] == pytest.approx(4 / 3) and np.isnan(im["virality"][1]) and im["virality"][2] == 1.0
        assert im["start"][[0, 2]].tolist() == [10, 30] and im["end"][[0, 2]].tolist() == [20, 30]


@pytest.mark.parametrize("x", [np.array([], dtype=np.int32), np.array([4, 0, 4, 2, 9], dtype=np.int32)])
def test_chunked_bincount_equals_bincount(x):
    w = np.arange(x.size, dtype=np.float64)
    for chunk in (1, 2, 1000):
        assert np.array_equal(C.chunked_bincount(x, 12, chunk=chunk), np.bincount(x, minlength=12))
        assert np.array_equal(C.chunked_bincount(x, 3, w, chunk=chunk), np.bincount(x, w, minlength=3))


@PROPERTY_SMALL
@given(forward_logs(min_events=1))
def test_tool_with_tiny_blocks_and_slices_matches_whole(df):
    g1 = kg.read_log(df, time_unit="s")
    if g1.n_events == 0:
        return
    g2 = kg.read_log(df, time_unit="s")
    kg.tl.cascades(g1)
    old = (C.BLOCK_EVENTS, C.CHUNK)
    C.BLOCK_EVENTS, C.CHUNK = 3, 2
    try:
        kg.tl.cascades(g2)
    finally:
        C.BLOCK_EVENTS, C.CHUNK = old
    pd.testing.assert_frame_equal(g1.items, g2.items)
    pd.testing.assert_frame_equal(g1.nodes, g2.nodes)
    pd.testing.assert_frame_equal(g1.edges, g2.edges)
    pd.testing.assert_frame_equal(g1.trees, g2.trees)
    assert g1.meta["cascades"] == g2.meta["cascades"]


def test_tool_with_tiny_blocks_on_a_seeded_log_matches_reference():
    from kg_testlib import nx_user_figures, reference_clean, reference_forests

    df = random_log(5, n_users=40, n_items=8, n_events=400)
    g = kg.read_log(df, time_unit="s")
    old = (C.BLOCK_EVENTS, C.CHUNK)
    C.BLOCK_EVENTS, C.CHUNK = 20, 7
    try:
        kg.tl.cascades(g)
    finally:
        C.BLOCK_EVENTS, C.CHUNK = old
    users = nx_user_figures(reference_forests(reference_clean(df)))
    for u in g.nodes.index:
        got = tuple(int(x) for x in g.nodes.loc[u, ["reach", "direct_reach", "items_started", "items_received"]])
        assert got == tuple(users[u][c] for c in ("reach", "direct_reach", "items_started", "items_received")), u


# ------------------------------------------------------------------------------------------- g.trees
def test_trees_are_built_when_first_read_and_equal_the_table(toy):
    from kocgraph.tl._cascades import trees_table

    assert toy.trees is None
    kg.tl.cascades(toy)
    assert toy._trees is None and "trees: 25 holders" in repr(toy)  # repr does not build it
    c = toy.codes
    want = trees_table(toy._forest, c.time, toy.events["item"].dtype, toy.events["source"].dtype)
    t = toy.trees
    pd.testing.assert_frame_equal(t, want)
    assert toy.trees is t  # kept once built
    assert t["subtree_size"].dtype == np.int64 and t["depth"].dtype == np.int32


def test_trees_copy_and_assignment(toy):
    kg.tl.cascades(toy)
    h = toy.copy()  # an unread view stays unread in the copy, and builds the same table
    assert h._trees is None
    pd.testing.assert_frame_equal(h.trees, toy.trees)
    assert h.trees is not toy.trees
    toy.trees = None
    assert toy.trees is None
    mine = pd.DataFrame({"x": [1]})
    toy.trees = mine
    assert toy.trees is mine


# ------------------------------------------------------------------------------------------- pairs
@PROPERTY
@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=200))
def test_unique_pairs_equals_np_unique(n, pairs):
    pairs = [(a % n, b % n) for a, b in pairs]
    u = np.array([p[0] for p in pairs], dtype=np.int32)
    v = np.array([p[1] for p in pairs], dtype=np.int32)
    uu, vv, inv = unique_pairs(u, v, n)
    keys, want_inv = np.unique(u.astype(np.int64) * n + v, return_inverse=True)
    assert np.array_equal(uu.astype(np.int64) * n + vv, keys) and np.array_equal(inv, want_inv)
    assert uu.dtype == vv.dtype == inv.dtype == np.int32


def test_unique_pairs_fallback_when_the_bits_do_not_fit():
    n = 2**31  # n * n needs 62 bits: no room for the positions, so sort_with_order sorts
    rng = np.random.default_rng(0)
    u, v = rng.integers(0, n, 500), rng.integers(0, n, 500)
    u[:100], v[:100] = u[100:200], v[100:200]
    uu, vv, inv = unique_pairs(u, v, n)
    assert np.array_equal(uu[inv], u) and np.array_equal(vv[inv], v)
    assert len(uu) == len(set(zip(u.tolist(), v.tolist()))) and np.all(np.diff(uu.astype(np.int64)) >= 0)


def _symmetrize_previous(src, dst, w, n):
    """The previous definition (np.unique over int64 keys), kept here as the reference."""
    s, d = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    ww = np.ones(s.shape[0]) if w is None else np.asarray(w, dtype=np.float64)
    keep = s != d
    a, b, ww = np.minimum(s, d)[keep], np.maximum(s, d)[keep], ww[keep]
    uniq, inv = np.unique(a * n + b, return_inverse=True)
    return uniq // n, uniq % n, np.bincount(inv, weights=ww, minlength=uniq.shape[0])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [True, False])
def test_symmetrize_equals_the_previous_definition(seed, weighted):
    rng = np.random.default_rng(seed)
    n = 50
    src, dst = rng.integers(0, n, 600), rng.integers(0, n, 600)  # self-loops, parallel and reciprocal edges
    w = rng.integers(1, 9, 600).astype(np.float64) if weighted else None
    got, want = CM.symmetrize(src, dst, w, n), _symmetrize_previous(src, dst, w, n)
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)
    assert got[0].dtype == np.int32 and got[2].dtype == np.float64


def test_simple_igraph_has_the_list_built_edges():
    rng = np.random.default_rng(1)
    src, dst = rng.integers(0, 80, 700), rng.integers(0, 80, 700)
    for directed in (True, False):
        g = K.simple_igraph(src, dst, 80, directed=directed)
        u, v, _ = _symmetrize_previous(src, dst, None, 80) if not directed else (None, None, None)
        if directed:
            keep = src != dst
            keys = np.unique(src[keep] * 80 + dst[keep])
            u, v = keys // 80, keys % 80
        ref = ig.Graph(n=80, edges=np.column_stack((u, v)).tolist(), directed=directed)
        assert g.get_edgelist() == ref.get_edgelist() and g.vcount() == 80


def test_leiden_with_array_weights_gives_the_list_labels():
    g = kg.datasets.toy()
    c = g.codes
    w = g.edges["n_forwards"].to_numpy(np.float64)
    labels, q = CM.communities(c.edge_src, c.edge_tgt, w, g.n_users, rng=3)
    # the previous call: the same seed drawn the same way, weights as a Python list
    seed = int(np.random.default_rng(3).integers(0, 2**31 - 1))
    u, v, ww = _symmetrize_previous(c.edge_src, c.edge_tgt, w, g.n_users)
    G = ig.Graph(n=g.n_users, edges=np.column_stack((u, v)).tolist(), directed=False)
    ig.set_random_number_generator(random.Random(seed))
    try:
        cl = G.community_leiden(objective_function="modularity", weights=ww.tolist(), n_iterations=2)
    finally:
        ig.set_random_number_generator(random)
    assert np.array_equal(labels, CM.canonical_labels(np.asarray(cl.membership)))
    assert q == pytest.approx(G.modularity(cl.membership, weights=ww.tolist()), abs=1e-12)


# ------------------------------------------------------------------------------------------- PageRank
def _pagerank_previous(A, damping=0.85, tol=1e-10, max_iter=1000):
    """The previous kernel body: P^T = (D^-1 W)^T via a sparse product and a transpose copy."""
    n = A.shape[0]
    p = np.full(n, 1.0 / n)
    W = sp.csr_matrix(A, dtype=np.float64)
    out_w = np.asarray(W.sum(axis=1)).ravel()
    dangling = out_w <= 0
    inv = np.zeros(n)
    inv[~dangling] = 1.0 / out_w[~dangling]
    PT = (sp.diags(inv) @ W).T.tocsr()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        x_new = damping * (PT @ x) + (damping * x[dangling].sum() + (1.0 - damping)) * p
        x_new /= x_new.sum()
        err = np.abs(x_new - x).sum()
        x = x_new
        if err < tol:
            break
    return x


@pytest.mark.parametrize("seed", range(3))
def test_pagerank_transpose_view_equals_the_previous_path(seed):
    g = kg.read_log(random_log(seed, n_users=60, n_items=5, n_events=500), time_unit="s")
    A = g.adjacency()
    influence, _, ok = K.pagerank(A.T)  # the transpose view, as kg.tl.pagerank passes it
    assert ok and np.array_equal(influence, _pagerank_previous(A.T.tocsr()))
    forward, _, _ = K.pagerank(A)
    assert np.array_equal(forward, _pagerank_previous(A))
    # and networkx, on the reversed weighted graph
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n_users))
    c = g.codes
    G.add_weighted_edges_from(zip(c.edge_tgt.tolist(), c.edge_src.tolist(), A.data.tolist()))
    ref = nx.pagerank(G, alpha=0.85, tol=1e-15, max_iter=1000)
    assert np.abs(influence - np.array([ref[i] for i in range(g.n_users)])).max() < 1e-9


def test_adjacency_shares_the_edge_codes():
    g = kg.datasets.toy()
    A = g.adjacency()
    assert np.shares_memory(A.indices, g.codes.edge_tgt)
    assert not A.indices.flags.writeable


# ------------------------------------------------------------------------------------------- igraph view
def test_large_igraph_view_is_dropped_after_communities(monkeypatch):
    from kocgraph.tl import _centrality as TC

    g = kg.datasets.toy()
    kg.tl.coreness(g)
    assert TC._IGRAPH_KEY in g._cache
    kg.tl.communities(g, rng=0)  # small: kept
    assert TC._IGRAPH_KEY in g._cache
    first = g.nodes[["coreness", "community"]].copy()
    monkeypatch.setattr(TC, "IGRAPH_KEEP_MAX_EDGES", 5)
    kg.tl.communities(g, rng=0)  # "large": dropped once used
    assert TC._IGRAPH_KEY not in g._cache
    kg.tl.coreness(g)  # rebuilt, same result
    kg.tl.communities(g, rng=0)
    pd.testing.assert_frame_equal(g.nodes[["coreness", "community"]], first)


# ------------------------------------------------------------------------------------------------ KOC model
# the fit and the recency features at a lower peak: the same numbers as the whole-array formulas
@PROPERTY
@given(st.lists(st.integers(0, 40), min_size=1, max_size=4), st.integers(1, 5), st.integers(0, 6),
       st.integers(0, 2**31 - 1))
def test_blocked_contenders_are_the_stacked_ones(sizes, n_cols, m, seed):
    from kocgraph.algorithms import koc_model as M

    rng = np.random.default_rng(seed)
    # small integers as floats: many ties, many zeros (the edge cases of the threshold)
    blocks = [rng.integers(0, 4, (s, n_cols)).astype(np.float64) for s in sizes]
    whole = M.contenders(np.vstack(blocks), m)
    got = M._stacked_contenders(blocks, m)
    assert [k.size for k in got] == sizes
    assert np.array_equal(np.concatenate(got), whole)
    ys = [rng.exponential(1.0, s) * (rng.random(s) < 0.5) for s in sizes]
    X, y = np.vstack(blocks), np.concatenate(ys)
    keep = M.contenders(X, M.CONTENDER_FACTOR * max(M.FIT_KS))
    want = M.nnls_weights(X[keep], y[keep], np.where(y[keep] > 0, 1.0, M.ZERO_WEIGHT))
    assert np.array_equal(M._blend(blocks, ys), want)  # bit for bit: the same rows in the same order


@PROPERTY
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=60))
def test_event_ages_in_place_are_the_formula(times):
    from kocgraph.algorithms import koc_model as M

    t = np.array(times, dtype=np.int64)
    n = t.size
    want = (n - np.searchsorted(np.sort(t), t, side="right")) / n  # the definition, whole arrays
    assert np.array_equal(M.event_ages(t), want)


def test_recency_weights_are_the_formula():
    from kocgraph.algorithms import koc_model as M

    log = random_log(3, n_users=30, n_items=8, n_events=200)
    g = kg.read_log(log)
    c = g.codes
    f = C.build_forest(c.src, c.tgt, c.item, c.time, g.n_users)
    hl = (0.1, 0.5)
    parts = M.recency_parts(f, c.time, hl)
    # the definition with whole arrays: 2 ** (-age / h) per event and clock, subtree sums less the node
    clocks = [("event", M.event_ages(c.time)), ("wall", M.wall_ages(c.time))]
    for clock, age in clocks:
        if age is None:
            continue
        for h in hl:
            w = np.exp2(-age / h)
            assert np.array_equal(parts[f"forwards_recent_{clock}@{h:g}"][1], w)
            below = M.subtree_sums(f.parent, f.depth, w[f.hold_event]) - w[f.hold_event]
            assert np.array_equal(parts[f"reach_recent_{clock}@{h:g}"][1], below)
