"""Tests for kocgraph.algorithms.communities: known answers, igraph/networkx cross-checks, properties."""

from __future__ import annotations

import random

import igraph as ig
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms.centrality import simple_igraph
from kocgraph.algorithms.communities import (
    canonical_labels,
    communities,
    community_summary,
    symmetrize,
)
from kocgraph.exceptions import InvalidParameterError

SETTINGS = settings(max_examples=30, deadline=None)


@st.composite
def weighted_edges(draw, max_n=15, max_m=50):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(0, max_m))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=m, max_size=m))
    e = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    w = np.array(draw(st.lists(st.integers(1, 4), min_size=m, max_size=m)), dtype=np.float64)
    return n, e[:, 0], e[:, 1], w


def two_cliques():
    """Two directed 5-cliques {0..4} and {5..9} joined by the single edge 4 -> 5; 10 is isolated."""
    a = [(i, j) for i in range(5) for j in range(5) if i < j]
    b = [(i + 5, j + 5) for i, j in a]
    e = np.array(a + b + [(4, 5)])
    return e[:, 0], e[:, 1], 11


def igraph_modularity(labels, src, dst, w, n, resolution=1.0):
    u, v, ww = symmetrize(src, dst, w, n)
    g = ig.Graph(n=n, edges=np.column_stack((u, v)).tolist(), directed=False)
    return g.modularity(labels.tolist(), weights=ww.tolist(), resolution=resolution, directed=False)


@pytest.mark.parametrize("method", ["leiden", "louvain", "label_propagation"])
def test_two_cliques_known_answer(method):
    src, dst, n = two_cliques()
    labels, q = communities(src, dst, None, n, method=method, rng=0)
    # canonical: both cliques have 5 members; the one holding code 0 comes first; 10 is a singleton
    assert labels.tolist() == [0] * 5 + [1] * 5 + [2]
    # M = 21 edges; each clique: L_c = 10, K_c = 2*10 + 1 = 21 -> Q = 2 * (10/21 - (21/42)^2)
    assert q == pytest.approx(2 * (10 / 21 - 0.25), abs=1e-12)


def test_symmetrize_and_weights():
    # 0->1 (2) and 1->0 (3) merge into {0,1} with 5; self-loop dropped; parallel 1->2 add up
    w_in = np.array([2.0, 3.0, 9.0, 1.0, 1.0])
    u, v, w = symmetrize(np.array([0, 1, 2, 1, 1]), np.array([1, 0, 2, 2, 2]), w_in, 3)
    assert (u.tolist(), v.tolist(), w.tolist()) == ([0, 1], [1, 2], [5.0, 2.0])


def test_empty_edgeless_and_errors():
    labels, q = communities(np.array([], int), np.array([], int), None, 0)
    assert labels.shape == (0,) and np.isnan(q)
    labels, q = communities(np.array([], int), np.array([], int), None, 4, rng=1)
    assert labels.tolist() == [0, 1, 2, 3] and np.isnan(q)
    with pytest.raises(InvalidParameterError, match="method"):
        communities(np.array([0]), np.array([1]), None, 2, method="walktrap")
    with pytest.raises(InvalidParameterError, match="non-negative"):
        communities(np.array([0]), np.array([1]), np.array([-1.0]), 2)


def test_igraph_rng_is_restored():
    src, dst, n = two_cliques()
    random.seed(5)
    expected = random.random()
    random.seed(5)
    communities(src, dst, None, n, rng=3)
    assert random.random() == expected  # the global `random` state was not consumed


def planted():
    G = nx.planted_partition_graph(6, 25, 0.35, 0.02, seed=11, directed=True)
    e = np.array(G.edges())
    return e[:, 0], e[:, 1], np.random.default_rng(0).integers(1, 4, len(e)).astype(float), 150


def random_graph():
    G = nx.gnm_random_graph(200, 800, seed=4, directed=True)
    e = np.array(G.edges())
    return e[:, 0], e[:, 1], None, 200


@pytest.mark.parametrize("n_iterations", [2, -1])
@pytest.mark.parametrize("graph", [planted, random_graph])
def test_leiden_modularity_vs_networkx_louvain(graph, n_iterations):
    src, dst, w, n = graph()
    labels, q = communities(src, dst, w, n, method="leiden", rng=0, n_iterations=n_iterations)
    nx_labels, nx_q = communities(src, dst, w, n, flavor="networkx", rng=0)
    assert q >= nx_q - 1e-9
    # the reported modularity is igraph's on the symmetrized graph, for both flavors
    assert q == pytest.approx(igraph_modularity(labels, src, dst, w, n), abs=1e-12)
    assert nx_q == pytest.approx(igraph_modularity(nx_labels, src, dst, w, n), abs=1e-12)
    # and networkx's own modularity agrees
    u, v, ww = symmetrize(src, dst, w, n)
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), ww.tolist(), strict=True))
    parts = [set(np.flatnonzero(labels == k).tolist()) for k in range(labels.max() + 1)]
    assert q == pytest.approx(nx.community.modularity(G, parts, weight="weight"), abs=1e-12)


def test_planted_partition_recovered():
    src, dst, w, n = planted()
    labels, _ = communities(src, dst, w, n, rng=0)
    truth = np.repeat(np.arange(6), 25)
    # every planted block maps to a single found community
    for k in range(6):
        assert np.unique(labels[truth == k]).size == 1
    assert np.unique(labels).size == 6


def test_resolution_changes_granularity():
    src, dst, w, n = planted()
    coarse, _ = communities(src, dst, w, n, resolution=0.05, rng=0)
    fine, _ = communities(src, dst, w, n, resolution=5.0, rng=0)
    assert np.unique(coarse).size < np.unique(fine).size


@pytest.mark.parametrize("method", ["leiden", "louvain", "label_propagation"])
def test_same_rng_same_labels(method):
    src, dst, w, n = random_graph()
    a, qa = communities(src, dst, w, n, method=method, rng=7)
    b, qb = communities(src, dst, w, n, method=method, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert qa == qb


@SETTINGS
@given(weighted_edges(), st.sampled_from(["leiden", "louvain", "label_propagation"]), st.integers(0, 1000))
def test_labels_canonical_and_summary_adds_up(case, method, seed):
    n, src, dst, w = case
    labels, q = communities(src, dst, w, n, method=method, rng=seed)
    assert labels.shape == (n,) and labels.min() == 0
    sizes = np.bincount(labels)
    assert (sizes > 0).all() and (np.diff(sizes) <= 0).all()  # 0 is largest, labels contiguous
    assert np.array_equal(canonical_labels(labels), labels)  # already canonical
    # isolated nodes (after dropping self-loops) are singletons
    keep = src != dst
    deg = np.bincount(src[keep], minlength=n) + np.bincount(dst[keep], minlength=n)
    assert (sizes[labels[deg == 0]] == 1).all()
    s = community_summary(labels, src, dst, w)
    assert s.size.tolist() == sizes.tolist()
    assert s.internal.sum() + s.external.sum() / 2 == pytest.approx(w[keep].sum())
    if np.isnan(q):
        assert keep.sum() == 0
    else:
        assert s.modularity.sum() == pytest.approx(q, abs=1e-12)
        assert s.modularity.sum() == pytest.approx(igraph_modularity(labels, src, dst, w, n), abs=1e-12)


def test_community_summary_known_answer():
    src, dst, n = two_cliques()
    labels = np.array([0] * 5 + [1] * 5 + [2])
    s = community_summary(labels, src, dst)
    assert s.size.tolist() == [5, 5, 1]
    assert s.internal.tolist() == [10.0, 10.0, 0.0]
    assert s.external.tolist() == [1.0, 1.0, 0.0]
    np.testing.assert_allclose(s.modularity, [10 / 21 - 0.25, 10 / 21 - 0.25, 0.0], atol=1e-15)


@SETTINGS
@given(st.lists(st.integers(0, 6), min_size=0, max_size=30))
def test_canonical_labels_properties(raw):
    raw = np.array(raw, dtype=np.int64)
    lab = canonical_labels(raw)
    assert lab.shape == raw.shape
    if raw.size:
        # same partition
        assert np.array_equal(raw[:, None] == raw[None, :], lab[:, None] == lab[None, :])
        sizes = np.bincount(lab)
        assert (np.diff(sizes) <= 0).all()
        first = np.array([np.flatnonzero(lab == k)[0] for k in range(sizes.size)])
        ties = sizes[1:] == sizes[:-1]
        assert (first[1:][ties] > first[:-1][ties]).all()


def test_prebuilt_graph_gives_same_labels():
    src, dst, w, n = planted()
    g = simple_igraph(src, dst, n, directed=False)
    a, qa = communities(src, dst, w, n, rng=2, graph=g)
    b, qb = communities(src, dst, w, n, rng=2)
    np.testing.assert_array_equal(a, b)
    assert qa == qb
    with pytest.raises(InvalidParameterError, match="simple_igraph"):
        communities(src, dst, w, n, graph=simple_igraph(src, dst, n, directed=True))
