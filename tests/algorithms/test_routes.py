"""Tests for kocgraph.algorithms.routes: known answers, networkx cross-checks, properties."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms.routes import (
    UNREACHABLE_REASONS,
    best_routes,
    exposure_probability,
    node_disjoint_routes,
    weighted_cascade_probability,
)
from kocgraph.exceptions import InvalidParameterError

SETTINGS = settings(max_examples=40, deadline=None)


def csr(src, dst, p, n):
    """CSR with parallel edges collapsed to their largest p (the kernels' convention)."""
    A = sp.coo_matrix((np.asarray(p, float), (np.asarray(src), np.asarray(dst))), shape=(n, n))
    return A.tocsr()  # only used on edge lists without duplicates


def paths_of(r):
    ptr, nodes = r["path_ptr"], r["path_nodes"]
    return [nodes[a:b].tolist() for a, b in zip(ptr[:-1], ptr[1:], strict=True)]


def nx_graph(src, dst, p, n):
    """DiGraph, parallel edges merged to the largest p, self-loops dropped, weight = -log p."""
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, q in zip(src.tolist(), dst.tolist(), p.tolist(), strict=True):
        if a == b:
            continue
        if not G.has_edge(a, b) or G[a][b]["p"] < q:
            G.add_edge(a, b, p=q, weight=-math.log(q))
    return G


@st.composite
def prob_graphs(draw, max_n=10, max_m=30):
    """Random directed graph with distinct edges and continuous probabilities (no ties)."""
    n = draw(st.integers(1, max_n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=max_m, unique=True))
    e = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    p = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=len(e), max_size=len(e))), dtype=float)
    srcs = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3)), dtype=np.int64)
    return n, e[:, 0], e[:, 1], p, srcs


def random_graph(n, m, seed, p_one=0.0):
    rng = np.random.default_rng(seed)
    key = np.unique(rng.integers(0, n * n, m))
    src, dst = key // n, key % n
    keep = src != dst
    src, dst = src[keep], dst[keep]
    p = rng.uniform(0.05, 1.0, src.shape[0])
    p[rng.random(src.shape[0]) < p_one] = 1.0
    return src, dst, p


# ------------------------------------------------------------------------------- edge probabilities


def test_weighted_cascade_known_answer():
    # into 2: weights 3 (from 0) and 1 (from 1) -> 3/4, 1/4; into 1: only 0 -> 1
    p = weighted_cascade_probability(np.array([0, 1, 0]), np.array([2, 2, 1]), np.array([3.0, 1.0, 2.0]), 3)
    np.testing.assert_allclose(p, [0.75, 0.25, 1.0])
    np.testing.assert_allclose(weighted_cascade_probability(np.array([0, 1]), np.array([2, 2]), None, 3), [0.5, 0.5])
    assert weighted_cascade_probability(np.array([], int), np.array([], int), None, 0).shape == (0,)
    with pytest.raises(InvalidParameterError, match="positive weights"):
        weighted_cascade_probability(np.array([0]), np.array([1]), np.array([0.0]), 2)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.floats(0.01, 100)), max_size=30))
def test_weighted_cascade_in_unit_interval_and_sums_to_one(rows):
    e = np.array(rows, dtype=float).reshape(-1, 3)
    src, dst, w = e[:, 0].astype(int), e[:, 1].astype(int), e[:, 2]
    p = weighted_cascade_probability(src, dst, w, 6)
    assert np.all((p > 0) & (p <= 1))
    sums = np.bincount(dst, weights=p, minlength=6)
    np.testing.assert_allclose(sums[np.bincount(dst, minlength=6) > 0], 1.0)


def test_exposure_probability_known_answer():
    # (r + 1) / (n + 2): 1 of 1 -> 2/3; 0 of 4 -> 1/6; 9 of 10 -> 10/12; never received -> 1/2
    p = exposure_probability(np.array([1, 0, 9, 0]), np.array([1, 4, 10, 0]))
    np.testing.assert_allclose(p, [2 / 3, 1 / 6, 10 / 12, 0.5])
    # a stronger prior pulls towards a / (a + b) = 1 / 10
    np.testing.assert_allclose(exposure_probability(np.array([1]), np.array([1]), prior_a=1, prior_b=9), [2 / 11])
    # reshares > receipts (bad data) is clipped to 1
    assert exposure_probability(np.array([5]), np.array([1]))[0] == 1.0
    with pytest.raises(InvalidParameterError, match="prior"):
        exposure_probability(np.array([1]), np.array([1]), prior_a=0)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=30), st.floats(0.01, 10), st.floats(0.01, 10)
)
def test_exposure_probability_in_unit_interval(rows, a, b):
    e = np.array(rows, dtype=float).reshape(-1, 2)
    p = exposure_probability(e[:, 0], e[:, 1], prior_a=a, prior_b=b)
    assert np.all((p > 0) & (p <= 1))


# ------------------------------------------------------------------------------- best routes


def hand_graph():
    """Staff 0 and 1.

    0->2 .9   0->3 .5   2->3 .9   1->4 .6   2->5 .5   3->5 .8   4->5 1.0   5->6 .5   6->3 .9
    9->2 .5   9->10 .5   (8 isolated; 7 receives from 10 only)   10->7 .5
    """
    e = [(0, 2, 0.9), (0, 3, 0.5), (2, 3, 0.9), (1, 4, 0.6), (2, 5, 0.5), (3, 5, 0.8), (4, 5, 1.0),
         (5, 6, 0.5), (6, 3, 0.9), (9, 2, 0.5), (9, 10, 0.5), (10, 7, 0.5)]  # fmt: skip
    src, dst, p = (np.array(c) for c in zip(*e, strict=True))
    return csr(src.astype(int), dst.astype(int), p, 11)


def test_best_routes_known_answer_probable():
    A = hand_graph()
    r = best_routes(A.indptr, A.indices, A.data, np.array([0, 1]), np.array([5, 3, 0, 6, 8, 9, 10, 7]), k=3)
    got = list(zip(r["target"].tolist(), r["rank"].tolist(), r["introducer"].tolist(), paths_of(r), strict=True))
    # target 0 is a source: one 0-hop route.
    # target 3: via 2 (best to 2 is 0->2 .9; .9*.9 = .81), via 0 (.5); via 6 excluded: 6's best route
    #   0->2->3->5->6 passes through 3 itself.
    # target 5: via 3 (best to 3 is .81; *.8 = .648), via 4 (1->4 .6 * 1.0 = .6), via 2 (.9*.5 = .45).
    # target 6: only via 5: .648 * .5 = .324 along 0->2->3->5->6.
    assert got == [
        (0, 1, -1, [0]),
        (3, 1, 2, [0, 2, 3]),
        (3, 2, 0, [0, 3]),
        (5, 1, 3, [0, 2, 3, 5]),
        (5, 2, 4, [1, 4, 5]),
        (5, 3, 2, [0, 2, 5]),
        (6, 1, 5, [0, 2, 3, 5, 6]),
    ]
    np.testing.assert_allclose(r["strength"], [1.0, 0.81, 0.5, 0.648, 0.6, 0.45, 0.324])
    np.testing.assert_allclose(r["cost"], -np.log(r["strength"]))
    assert r["source"].tolist() == [0, 0, 0, 0, 1, 0, 0]
    assert r["hops"].tolist() == [0, 2, 1, 3, 2, 2, 4]
    # 8: no edges; 9: only sends; 10 and 7: reachable only from 9, who is not a source
    assert dict(zip(r["unreachable"].tolist(), r["unreachable_reason"].tolist(), strict=True)) == {
        7: "no_path_from_sources",
        8: "is_isolated",
        9: "no_in_edges",
        10: "no_path_from_sources",
    }
    assert set(r["unreachable_reason"].tolist()) <= set(UNREACHABLE_REASONS)
    # k=1 keeps only the best
    r1 = best_routes(A.indptr, A.indices, A.data, np.array([0, 1]), np.array([5]), k=1)
    assert paths_of(r1) == [[0, 2, 3, 5]]


def test_best_routes_known_answer_short():
    A = hand_graph()
    r = best_routes(A.indptr, A.indices, A.data, np.array([0, 1]), np.array([5]), k=3, objective="short")
    # all three introducers give 2 hops: via 4 (.6), via 2 (.45), via 3 with 0->3 (.5 * .8 = .4);
    # the 3-hop 0->2->3->5 (.648) loses to every 2-hop route.
    assert paths_of(r) == [[1, 4, 5], [0, 2, 5], [0, 3, 5]]
    np.testing.assert_allclose(r["strength"], [0.6, 0.45, 0.4])
    assert r["hops"].tolist() == [2, 2, 2]


def test_best_routes_empty_inputs():
    A = hand_graph()
    r = best_routes(A.indptr, A.indices, A.data, np.array([0]), np.array([], dtype=int))
    assert r["target"].shape == (0,) and r["path_ptr"].tolist() == [0]
    r = best_routes(A.indptr, A.indices, A.data, np.array([], dtype=int), np.array([5, 8]))
    assert r["target"].shape == (0,)
    assert r["unreachable_reason"].tolist() == ["no_path_from_sources", "is_isolated"]
    E = sp.csr_matrix((0, 0))
    r = best_routes(E.indptr, E.indices, E.data, np.array([], dtype=int), np.array([], dtype=int))
    assert r["target"].shape == (0,)
    # a graph without edges: sources reach only themselves
    Z = sp.csr_matrix((3, 3))
    r = best_routes(Z.indptr, Z.indices, Z.data, np.array([0]), np.array([0, 1]))
    assert paths_of(r) == [[0]] and r["unreachable"].tolist() == [1]


def test_best_routes_bad_input():
    A = hand_graph()
    with pytest.raises(InvalidParameterError, match="objective"):
        best_routes(A.indptr, A.indices, A.data, np.array([0]), np.array([5]), objective="fast")
    with pytest.raises(InvalidParameterError, match="k=0"):
        best_routes(A.indptr, A.indices, A.data, np.array([0]), np.array([5]), k=0)
    with pytest.raises(InvalidParameterError, match=r"\(0, 1\]"):
        best_routes(A.indptr, A.indices, A.data * 2, np.array([0]), np.array([5]))
    with pytest.raises(InvalidParameterError, match="targets contains code 11"):
        best_routes(A.indptr, A.indices, A.data, np.array([0]), np.array([11]))


def test_best_routes_certain_edges_and_parallel_edges():
    # p = 1 everywhere (-log p = 0): routes still found, cost 0, fewest certain hops preferred.
    # 0->1->2->3 and 0->3 all p=1 -> best to 3 is the direct edge; parallel 0->3 at .2 is ignored.
    indices = np.array([1, 3, 3, 2, 3])  # row 0: 0->1, 0->3 (p 1), 0->3 (p .2); row 1: 1->2; row 2: 2->3
    p = np.array([1.0, 1.0, 0.2, 1.0, 1.0])
    A = sp.csr_matrix((p, indices, np.array([0, 3, 4, 5, 5])), shape=(4, 4))  # keeps the duplicate
    assert A.nnz == 5
    r = best_routes(A.indptr, A.indices, A.data, np.array([0]), np.array([3]), k=2)
    assert paths_of(r) == [[0, 3], [0, 1, 2, 3]]
    np.testing.assert_array_equal(r["strength"], [1.0, 1.0])
    np.testing.assert_array_equal(r["cost"], [0.0, 0.0])


def check_routes(r, A, sources, k, objective="probable"):
    """Structural checks every result must pass."""
    srcset = set(sources.tolist())
    for t, rank, s, x, h, strength, cost, path in zip(
        r["target"].tolist(), r["rank"].tolist(), r["source"].tolist(), r["introducer"].tolist(),
        r["hops"].tolist(), r["strength"].tolist(), r["cost"].tolist(), paths_of(r), strict=True,
    ):  # fmt: skip
        assert path[0] == s and path[-1] == t and s in srcset
        assert len(path) == h + 1 and len(set(path)) == len(path)
        assert not srcset.intersection(path[1:])  # never through a source
        assert (x == -1) == (h == 0) and (h == 0 or path[-2] == x)
        assert 1 <= rank <= k
        prod = 1.0
        for a, b in itertools.pairwise(path):
            assert A[a, b] > 0
            prod *= A[a, b]
        assert math.isclose(strength, prod, rel_tol=1e-9) and 0 < strength <= 1
        assert math.isclose(cost, -math.log(prod), rel_tol=1e-9, abs_tol=1e-12)
    # per target: ranks 1..j, distinct introducers, ordered by cost ("short": by hops, then cost)
    for t in np.unique(r["target"]):
        sel = r["target"] == t
        assert r["rank"][sel].tolist() == list(range(1, sel.sum() + 1))
        assert len(set(r["introducer"][sel].tolist())) == sel.sum()
        hops, cost = r["hops"][sel], r["cost"][sel]
        if objective == "probable":
            assert np.all(np.diff(cost) >= -1e-12)
        else:
            assert all(
                (h1, c1 - 1e-12) <= (h2, c2) for h1, c1, h2, c2 in zip(hops, cost, hops[1:], cost[1:], strict=False)
            )


def expected_probable(G, sources, targets, k):
    """Reference: networkx multi-source Dijkstra, then rank in-neighbours by dist[x] + w(x, t)."""
    dist, path = nx.multi_source_dijkstra(G, set(sources.tolist())) if len(sources) else ({}, {})
    out = {}
    for t in targets.tolist():
        if t in sources.tolist():
            out[t] = [(-1, 0.0)]
            continue
        cands = [(dist[x] + G[x][t]["weight"], x) for x in G.predecessors(t) if x in dist and t not in path[x]]
        out[t] = [(x, c) for c, x in sorted(cands)[:k]]
    return out, dist


@pytest.mark.parametrize("seed", range(8))
def test_best_routes_match_networkx(seed):
    n = 60
    src, dst, p = random_graph(n, 240, seed)
    A = csr(src, dst, p, n)
    G = nx_graph(src, dst, p, n)
    rng = np.random.default_rng(seed)
    sources = np.unique(rng.choice(n, 3, replace=False))
    targets = np.arange(n)
    r = best_routes(A.indptr, A.indices, A.data, sources, targets, k=3)
    check_routes(r, A, sources, 3)
    exp, dist = expected_probable(G, sources, targets, 3)
    for t in range(n):
        sel = r["target"] == t
        want = exp[t]
        assert r["introducer"][sel].tolist() == [x for x, _ in want]
        np.testing.assert_allclose(r["cost"][sel], [c for _, c in want], atol=1e-9)
        if want:
            assert math.isclose(r["cost"][sel][0], dist[t], abs_tol=1e-9)
            if t not in sources:  # rank 1 is the networkx shortest path (no ties with continuous p)
                want_path = nx.multi_source_dijkstra(G, set(sources.tolist()), target=t)[1]
                assert paths_of(r)[np.flatnonzero(sel)[0]] == want_path
    assert set(r["unreachable"].tolist()) == set(range(n)) - set(dist)


@pytest.mark.parametrize("seed", range(6))
def test_best_routes_short_match_networkx(seed):
    n = 40
    src, dst, p = random_graph(n, 120, seed + 100)
    A = csr(src, dst, p, n)
    G = nx_graph(src, dst, p, n)
    sources = np.array([0, 1])
    H = G.copy()
    H.add_edges_from([("S", 0), ("S", 1)])
    r = best_routes(A.indptr, A.indices, A.data, sources, np.arange(2, n), k=2, objective="short")
    check_routes(r, A, sources, 2, "short")
    for t in range(2, n):
        sel = np.flatnonzero(r["target"] == t)
        if not nx.has_path(H, "S", t):
            assert sel.shape[0] == 0
            continue
        # rank 1: fewest hops, then the most probable of all shortest-hop paths
        best = min(
            (len(pth) - 2, sum(G[a][b]["weight"] for a, b in itertools.pairwise(pth[1:])))
            for pth in nx.all_shortest_paths(H, "S", t)
        )
        assert r["hops"][sel[0]] == best[0]
        assert math.isclose(r["cost"][sel[0]], best[1], abs_tol=1e-9)
        assert np.all(np.diff(r["hops"][sel]) >= 0)


@SETTINGS
@given(prob_graphs())
def test_best_routes_properties(g):
    n, src, dst, p, sources = g
    A = csr(src, dst, p, n)
    for objective in ("probable", "short"):
        r = best_routes(A.indptr, A.indices, A.data, sources, np.arange(n), k=2, objective=objective)
        check_routes(r, A, np.unique(sources), 2, objective)
        # every target is either routed or reported unreachable, never both
        routed = set(r["target"].tolist())
        assert routed.isdisjoint(r["unreachable"].tolist())
        assert routed | set(r["unreachable"].tolist()) == set(range(n))


@SETTINGS
@given(prob_graphs(), st.data())
def test_adding_a_stronger_edge_never_weakens_a_best_route(g, data):
    n, src, dst, p, sources = g
    u = data.draw(st.integers(0, n - 1))
    v = data.draw(st.integers(0, n - 1))
    q = data.draw(st.floats(0.05, 1.0))
    A = csr(src, dst, p, n)
    before = best_routes(A.indptr, A.indices, A.data, sources, np.arange(n), k=1)
    B = A.tolil()
    B[u, v] = max(q, A[u, v])
    B = B.tocsr()
    after = best_routes(B.indptr, B.indices, B.data, sources, np.arange(n), k=1)
    s_before = dict(zip(before["target"].tolist(), before["strength"].tolist(), strict=True))
    s_after = dict(zip(after["target"].tolist(), after["strength"].tolist(), strict=True))
    assert set(s_before) <= set(s_after)
    for t, s in s_before.items():
        assert s_after[t] >= s * (1 - 1e-9)


def test_best_routes_many_targets_is_consistent_with_one_at_a_time():
    src, dst, p = random_graph(80, 400, 7, p_one=0.1)
    A = csr(src, dst, p, 80)
    sources = np.array([3, 5, 7])
    full = best_routes(A.indptr, A.indices, A.data, sources, np.arange(80), k=3)
    for t in (0, 11, 42, 79):
        one = best_routes(A.indptr, A.indices, A.data, sources, np.array([t]), k=3)
        sel = full["target"] == t
        np.testing.assert_allclose(one["cost"], full["cost"][sel])
        assert one["introducer"].tolist() == full["introducer"][sel].tolist()


# ------------------------------------------------------------------------------- node-disjoint routes


def test_node_disjoint_known_answer():
    # 0->1 .9  0->2 .5  1->2 .9  1->3 .5  2->3 .8. The single best route 0->1->2->3 (.648) uses both
    # 1 and 2; the best disjoint pair is 0->1->3 (.45) + 0->2->3 (.4): total cost -log(.18).
    A = csr(np.array([0, 0, 1, 1, 2]), np.array([1, 2, 2, 3, 3]), np.array([0.9, 0.5, 0.9, 0.5, 0.8]), 4)
    r = node_disjoint_routes(A.indptr, A.indices, A.data, np.array([0]), 3, k=3)
    assert paths_of(r) == [[0, 1, 3], [0, 2, 3]]
    np.testing.assert_allclose(r["strength"], [0.45, 0.4])
    assert r["introducer"].tolist() == [1, 2] and r["rank"].tolist() == [1, 2]
    # k=1: the single best route
    r1 = node_disjoint_routes(A.indptr, A.indices, A.data, np.array([0]), 3, k=1)
    assert paths_of(r1) == [[0, 1, 2, 3]]
    # target is a source; no source; unreachable
    assert paths_of(node_disjoint_routes(A.indptr, A.indices, A.data, np.array([3]), 3)) == [[3]]
    assert paths_of(node_disjoint_routes(A.indptr, A.indices, A.data, np.array([], dtype=int), 3)) == []
    assert paths_of(node_disjoint_routes(A.indptr, A.indices, A.data, np.array([3]), 0)) == []
    with pytest.raises(InvalidParameterError, match="outside"):
        node_disjoint_routes(A.indptr, A.indices, A.data, np.array([0]), 9)


def brute_disjoint(G, sources, t, k):
    """Largest j <= k with j inner-disjoint routes (never through a source), least total cost."""
    srcset = set(sources.tolist())
    H = G.copy()
    H.remove_edges_from([(a, b) for a, b in G.edges if b in srcset])
    paths = []
    for s in srcset:
        for pth in nx.all_simple_paths(H, s, t):
            paths.append((sum(H[a][b]["weight"] for a, b in itertools.pairwise(pth)), pth))
    for j in range(min(k, len(paths)), 0, -1):
        best = None
        for combo in itertools.combinations(paths, j):
            inner = [v for _, pth in combo for v in pth[1:-1]]
            if len(inner) == len(set(inner)):
                c = sum(c for c, _ in combo)
                best = c if best is None else min(best, c)
        if best is not None:
            return j, best
    return 0, 0.0


@pytest.mark.parametrize("seed", range(25))
def test_node_disjoint_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 8
    src, dst, p = random_graph(n, 22, seed + 500)
    A = csr(src, dst, p, n)
    G = nx_graph(src, dst, p, n)
    sources = np.unique(rng.choice(n - 1, 2))
    t = n - 1
    r = node_disjoint_routes(A.indptr, A.indices, A.data, sources, t, k=3)
    j, best = brute_disjoint(G, sources, t, 3)
    assert r["rank"].shape[0] == j
    assert math.isclose(r["cost"].sum(), best, abs_tol=1e-9)


@SETTINGS
@given(prob_graphs(max_n=9, max_m=30), st.integers(1, 4))
def test_node_disjoint_routes_share_no_inner_node(g, k):
    n, src, dst, p, sources = g
    A = csr(src, dst, p, n)
    t = n - 1
    r = node_disjoint_routes(A.indptr, A.indices, A.data, sources, t, k=k)
    paths = paths_of(r)
    assert len(paths) <= k
    inner = [v for pth in paths for v in pth[1:-1]]
    assert len(inner) == len(set(inner))
    check_routes(r, A, np.unique(sources), k)
    assert np.all(np.diff(r["cost"]) >= 0)
    # at least one route exactly when best_routes finds one
    b = best_routes(A.indptr, A.indices, A.data, sources, np.array([t]), k=1)
    assert (len(paths) > 0) == (b["target"].shape[0] > 0)
