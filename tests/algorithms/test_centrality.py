"""Tests for kocgraph.algorithms.centrality: known answers, networkx/igraph cross-checks, properties."""

from __future__ import annotations

import igraph as ig
import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms.centrality import (
    betweenness_exact,
    betweenness_sampled,
    coreness,
    pagerank,
    simple_igraph,
    strength,
    vertex_diameter_bound,
)
from kocgraph.exceptions import InvalidParameterError

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def edge_lists(draw, max_n=12, max_m=40, weighted=False):
    n = draw(st.integers(0, max_n))
    if n == 0:
        e = np.zeros((0, 2), dtype=np.int64)
    else:
        m = draw(st.integers(0, max_m))
        node = st.integers(0, n - 1)
        pairs = draw(st.lists(st.tuples(node, node), min_size=m, max_size=m))
        e = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    if weighted:
        w = np.array(draw(st.lists(st.integers(1, 5), min_size=len(e), max_size=len(e))), dtype=np.float64)
        return n, e[:, 0], e[:, 1], w
    return n, e[:, 0], e[:, 1]


def csr(src, dst, n, w=None):
    w = np.ones(len(src)) if w is None else w
    return sp.csr_matrix((w, (src, dst)), shape=(n, n))


def random_digraph(n, m, seed):
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    return src, dst, rng.integers(1, 6, m).astype(float)


def nx_digraph(src, dst, n, w=None):
    """networkx DiGraph with parallel edges merged (weights summed) -- the kernels' convention."""
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    w = np.ones(len(src)) if w is None else w
    for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
        if G.has_edge(a, b):
            G[a][b]["weight"] += x
        else:
            G.add_edge(a, b, weight=x)
    return G


# ------------------------------------------------------------------------------------------ PageRank


def test_pagerank_known_answer_star():
    # 0 -> 1, 0 -> 2; nodes 1, 2 dangling. With uniform teleport and dangling redistribution:
    # x0 = (1-d)/3 + d*(x1+x2)/3 ; x1 = x2 = (1-d)/3 + d*(x1+x2)/3 + d*x0/2.
    # Let a = x1 = x2, x0 = 1 - 2a. Then a = (1-d)/3 + 2 d a/3 + d (1-2a)/2
    # => a (1 - 2d/3 + d) = (1-d)/3 + d/2 => a = ((1-d)/3 + d/2) / (1 + d/3).
    d = 0.85
    a = ((1 - d) / 3 + d / 2) / (1 + d / 3)
    x, it, ok = pagerank(csr(np.array([0, 0]), np.array([1, 2]), 3), damping=d)
    assert ok and it > 1
    np.testing.assert_allclose(x, [1 - 2 * a, a, a], atol=1e-12)


def test_pagerank_empty_and_edgeless():
    x, it, ok = pagerank(sp.csr_matrix((0, 0)))
    assert x.shape == (0,) and ok
    x, _, ok = pagerank(sp.csr_matrix((4, 4)))  # all dangling -> uniform
    np.testing.assert_allclose(x, 0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pagerank_matches_networkx_and_igraph(seed):
    n = 300
    src, dst, w = random_digraph(n, 1200, seed)
    src[:20] = dst[:20]  # a few self-loops
    x, _, ok = pagerank(csr(src, dst, n, w), tol=1e-13)
    assert ok
    G = nx_digraph(src, dst, n, w)
    ref = nx.pagerank(G, alpha=0.85, weight="weight", tol=1e-13 / n, max_iter=10_000)
    np.testing.assert_allclose(x, [ref[i] for i in range(n)], atol=1e-9)
    g = ig.Graph(n=n, edges=np.column_stack((src, dst)).tolist(), directed=True)
    prp = np.asarray(g.personalized_pagerank(damping=0.85, weights=w.tolist(), implementation="prpack"))
    np.testing.assert_allclose(x, prp, atol=1e-9)


def test_pagerank_personalization_matches_networkx_and_igraph():
    n = 200
    src, dst, w = random_digraph(n, 600, 7)
    p = np.zeros(n)
    p[[3, 5, 11]] = [1.0, 2.0, 3.0]
    x, _, ok = pagerank(csr(src, dst, n, w), personalization=p, damping=0.7, tol=1e-13)
    assert ok
    G = nx_digraph(src, dst, n, w)
    pers = {3: 1.0, 5: 2.0, 11: 3.0}
    ref = nx.pagerank(G, alpha=0.7, personalization=pers, tol=1e-13 / n, max_iter=10_000)
    np.testing.assert_allclose(x, [ref[i] for i in range(n)], atol=1e-9)
    g = ig.Graph(n=n, edges=np.column_stack((src, dst)).tolist(), directed=True)
    prp = np.asarray(g.personalized_pagerank(damping=0.7, weights=w.tolist(), reset=p.tolist()))
    np.testing.assert_allclose(x, prp, atol=1e-9)


def test_pagerank_not_converged_and_bad_personalization():
    src, dst, _ = random_digraph(50, 200, 3)
    x, it, ok = pagerank(csr(src, dst, 50), max_iter=2, tol=1e-15)
    assert not ok and it == 2 and abs(x.sum() - 1) < 1e-12
    with pytest.raises(InvalidParameterError, match="personalization"):
        pagerank(csr(src, dst, 50), personalization=np.zeros(50))


@SETTINGS
@given(edge_lists(weighted=True), st.floats(0.0, 0.99))
def test_pagerank_properties(case, d):
    n, src, dst, w = case
    x, _, ok = pagerank(csr(src, dst, n, w), damping=d)
    assert ok and x.shape == (n,)
    if n:
        assert abs(x.sum() - 1) < 1e-9 and (x >= 0).all()
        # relabelling nodes permutes the scores
        perm = np.random.default_rng(0).permutation(n)
        y, _, _ = pagerank(csr(perm[src], perm[dst], n, w), damping=d)
        np.testing.assert_allclose(y[perm], x, atol=1e-8)


def _pagerank_by_the_formula(A, damping, p):
    """The power iteration written as the formula, one new array per step: the reference that the
    kernel's in-place loop must equal to the last bit."""
    from kocgraph.algorithms.centrality import _transition_transposed

    n = A.shape[0]
    PT, dangling = _transition_transposed(A, n)
    x = np.full(n, 1.0 / n)
    for it in range(1, 1001):
        x_new = damping * (PT @ x) + (damping * x[dangling].sum() + (1.0 - damping)) * p
        x_new /= x_new.sum()
        err = np.abs(x_new - x).sum()
        x = x_new
        if err < 1e-10:
            return x, it
    return x, 1000


@SETTINGS
@given(edge_lists(weighted=True), st.floats(0.0, 0.99), st.booleans())
def test_pagerank_in_place_loop_equals_the_formula_bit_for_bit(case, d, personalized):
    n, src, dst, w = case
    if not n:
        return
    A = csr(src, dst, n, w)
    p = np.random.default_rng(n).random(n) + 0.01 if personalized else None
    x, it, _ = pagerank(A.T, damping=d, personalization=p)
    ref, ref_it = _pagerank_by_the_formula(A.T, d, np.full(n, 1.0 / n) if p is None else p / p.sum())
    assert it == ref_it
    np.testing.assert_array_equal(x, ref)


# ------------------------------------------------------------------------------------------ strength


def test_strength_known_answer_and_properties():
    out, inn = strength(np.array([0, 0, 2, 2]), np.array([1, 1, 0, 2]), np.array([1.0, 2.0, 4.0, 8.0]), 4)
    assert out.tolist() == [3.0, 0.0, 12.0, 0.0]
    assert inn.tolist() == [4.0, 3.0, 8.0, 0.0]
    out, inn = strength(np.array([], int), np.array([], int), None, 0)
    assert out.shape == inn.shape == (0,)


@SETTINGS
@given(edge_lists(weighted=True))
def test_strength_sums_and_networkx(case):
    n, src, dst, w = case
    out, inn = strength(src, dst, w, n)
    assert np.isclose(out.sum(), w.sum()) and np.isclose(inn.sum(), w.sum())
    G = nx_digraph(src, dst, n, w)
    assert out.tolist() == [G.out_degree(i, weight="weight") for i in range(n)]


# ------------------------------------------------------------------------------------------ coreness


def test_coreness_known_answer():
    # K4 on {0,1,2,3} (given both ways + a self-loop + a duplicate), a pendant 4 on 3, isolated 5.
    src = np.array([0, 0, 0, 1, 1, 2, 1, 3, 3, 0])
    dst = np.array([1, 2, 3, 2, 3, 3, 0, 4, 3, 1])
    assert coreness(src, dst, 6).tolist() == [3, 3, 3, 3, 1, 0]
    assert coreness(np.array([], int), np.array([], int), 0).shape == (0,)


@SETTINGS
@given(edge_lists(max_n=20, max_m=60))
def test_coreness_matches_networkx(case):
    n, src, dst = case
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    G.remove_edges_from(list(nx.selfloop_edges(G)))
    ref = nx.core_number(G)
    assert coreness(src, dst, n).tolist() == [ref[i] for i in range(n)]


# ------------------------------------------------------------------------------------------ betweenness


def test_betweenness_exact_known_answer():
    # diamond 0 -> {1, 2} -> 3 -> 4: pairs through 1 and 2: (0,3), (0,4) each split in half -> 1.0;
    # through 3: (0,4), (1,4), (2,4) -> 3.0.
    src = np.array([0, 0, 1, 2, 3, 3])
    dst = np.array([1, 2, 3, 3, 4, 4])  # duplicate 3 -> 4 merged
    assert betweenness_exact(src, dst, 5).tolist() == [0.0, 1.0, 1.0, 3.0, 0.0]
    assert betweenness_exact(np.array([], int), np.array([], int), 0).shape == (0,)


@SETTINGS
@given(edge_lists(max_n=15, max_m=50))
def test_betweenness_exact_matches_networkx(case):
    n, src, dst = case
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    ref = nx.betweenness_centrality(G, normalized=False)
    np.testing.assert_allclose(betweenness_exact(src, dst, n), [ref[i] for i in range(n)], atol=1e-9)


def test_betweenness_exact_weighted_matches_networkx():
    n = 60
    src, dst, w = random_digraph(n, 240, 5)
    keep = src != dst
    src, dst, w = src[keep], dst[keep], w[keep]
    # networkx keeps one edge per pair: give it the smallest length, as the kernel does
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
        if not G.has_edge(a, b) or G[a][b]["weight"] > x:
            G.add_edge(a, b, weight=x)
    ref = nx.betweenness_centrality(G, normalized=False, weight="weight")
    got = betweenness_exact(src, dst, n, weights=w)
    np.testing.assert_allclose(got, [ref[i] for i in range(n)], atol=1e-9)


def test_vertex_diameter_bound_known_answers():
    # directed path of 6 nodes: bound is exactly 6
    assert vertex_diameter_bound(np.arange(5), np.arange(1, 6), 6) == 6
    # a directed cycle of 5: one SCC of size 5 -> 5 (true vertex diameter 5)
    assert vertex_diameter_bound(np.arange(5), (np.arange(5) + 1) % 5, 5) == 5
    # star out of 0 plus isolated nodes: 2
    assert vertex_diameter_bound(np.zeros(4, int), np.arange(1, 5), 8) == 2
    assert vertex_diameter_bound(np.array([], int), np.array([], int), 0) == 0
    assert vertex_diameter_bound(np.array([], int), np.array([], int), 3) == 1
    # fallback: a path with more levels than max_levels -> size of the weak component
    assert vertex_diameter_bound(np.arange(9), np.arange(1, 10), 12, max_levels=3) == 10


@SETTINGS
@given(edge_lists(max_n=14, max_m=40))
def test_vertex_diameter_bound_is_an_upper_bound(case):
    n, src, dst = case
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist(), strict=True))
    hops = (d for _, lengths in nx.all_pairs_shortest_path_length(G) for d in lengths.values())
    vd = max(hops, default=-1) + 1
    assert vd <= vertex_diameter_bound(src, dst, n) <= max(n, 0)


def test_betweenness_sampled_within_epsilon():
    # a heavy-tailed directed graph of a few hundred nodes
    G = nx.scale_free_graph(300, seed=3)
    src = np.array([u for u, v in G.edges()])
    dst = np.array([v for u, v in G.edges()])
    n = 300
    exact = betweenness_exact(src, dst, n) / (n * (n - 1))
    eps = 0.01
    est, info = betweenness_sampled(src, dst, n, epsilon=eps, delta=0.1, rng=0)
    assert np.abs(est - exact).max() <= eps
    assert info["c"] == 0.5 and info["epsilon"] == eps and info["delta"] == 0.1
    assert info["n_sources"] <= min(info["n_samples"], n)
    vd = info["vertex_diameter_bound"]
    r = int(np.ceil(0.5 / eps**2 * (np.floor(np.log2(max(vd - 2, 1))) + 1 + np.log(1 / 0.1))))
    assert info["n_samples"] == r


def test_betweenness_sampled_reproducible_and_edge_cases():
    src, dst, _ = random_digraph(80, 300, 1)
    a, _ = betweenness_sampled(src, dst, 80, epsilon=0.05, rng=42)
    b, _ = betweenness_sampled(src, dst, 80, epsilon=0.05, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    z, info = betweenness_sampled(np.array([], int), np.array([], int), 0)
    assert z.shape == (0,) and info["n_samples"] == 0
    z, _ = betweenness_sampled(np.array([], int), np.array([], int), 5, epsilon=0.2)
    assert (z == 0).all()
    with pytest.raises(InvalidParameterError, match="epsilon"):
        betweenness_sampled(src, dst, 80, epsilon=0.0)


@settings(max_examples=20, deadline=None)
@given(edge_lists(max_n=10, max_m=30), st.integers(0, 2**32 - 1))
def test_betweenness_sampled_properties(case, seed):
    n, src, dst = case
    est, info = betweenness_sampled(src, dst, n, epsilon=0.2, rng=seed)
    assert est.shape == (n,) and (est >= 0).all() and (est <= 1).all()
    # nodes with no in-edge or no out-edge (after dropping self-loops) are never internal
    keep = src != dst
    internal_possible = np.zeros(n, bool)
    if n:
        has_out = np.bincount(src[keep], minlength=n) > 0
        internal_possible = has_out & (np.bincount(dst[keep], minlength=n) > 0)
    assert (est[~internal_possible] == 0).all()


def test_prebuilt_graph_gives_same_results():
    src, dst, _ = random_digraph(120, 500, 9)
    und = simple_igraph(src, dst, 120, directed=False)
    assert coreness(src, dst, 120, graph=und).tolist() == coreness(src, dst, 120).tolist()
    di = simple_igraph(src, dst, 120, directed=True)
    a, _ = betweenness_sampled(src, dst, 120, epsilon=0.1, rng=1, graph=di)
    b, _ = betweenness_sampled(src, dst, 120, epsilon=0.1, rng=1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidParameterError, match="simple_igraph"):
        coreness(src, dst, 120, graph=di)
    with pytest.raises(InvalidParameterError, match="simple_igraph"):
        betweenness_sampled(src, dst, 120, graph=und)
