"""Tests for kocgraph.algorithms.spread: known answers, plain-Python cross-checks, properties.

Independent Cascade (IC) and Linear Threshold (LT) are checked three ways:

- *known answers* on graphs small enough to work out by hand (certain paths, a star with p = 0.5, an
  LT node with two half-weight parents), and the exact expected spread by enumerating every live-edge
  world (2^m worlds for m <= 14 edges);
- *cross-checks* against plain-Python one-run-at-a-time simulators (the library's
  ``simulate_ic_reference`` and an LT reference written here) on a 1k-node random graph, means
  agreeing within the combined confidence intervals;
- *properties* with hypothesis: paired worlds give identical runs for identical seeds, and per-run
  spreads that can only grow when seeds are added; the batch size never changes a paired result;
  same rng -> same output; empty inputs do not crash.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms import spread as SP
from kocgraph.algorithms.spread import simulate_ic, simulate_ic_reference, simulate_lt, spread_ci

SETTINGS = settings(max_examples=30, deadline=None)


# ------------------------------------------------------------------------------------------ helpers
def csr(src, dst, w, n):
    """``(indptr, indices, data)`` of the graph, rows sorted, parallel edges not allowed."""
    A = sp.csr_matrix((np.asarray(w, float), (np.asarray(src, np.int64), np.asarray(dst, np.int64))), shape=(n, n))
    A.sort_indices()
    assert A.nnz == len(src), "test graphs have no parallel edges"
    return A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data


def exact_ic_spread(n, src, dst, p, seeds):
    """Expected IC spread by enumerating all 2^m live-edge worlds (each edge live with its p)."""
    m = len(src)
    assert m <= 14
    bits = ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)  # (W, m)
    prob = np.prod(np.where(bits, np.asarray(p)[None, :], 1 - np.asarray(p)[None, :]), axis=1)
    adj = np.zeros((2**m, n, n), dtype=np.int64)
    for e in range(m):
        adj[:, src[e], dst[e]] |= bits[:, e]
    reach = adj | np.eye(n, dtype=np.int64)[None]
    for _ in range(max(1, math.ceil(math.log2(max(n, 2)))) + 1):  # transitive closure by squaring
        reach = ((reach @ reach) > 0).astype(np.int64)
    hit = reach[:, list(seeds), :].max(axis=1)  # (W, n): reached from any seed
    return float(prob @ hit.sum(axis=1))


def lt_reference(indptr, indices, w, seeds, *, n_sims, rng):
    """Plain-Python Linear Threshold, one run at a time: thresholds U[0, 1), activation when the summed
    weight of active in-neighbours reaches the threshold; rounds until nothing changes."""
    r = random.Random(rng)
    n = len(indptr) - 1
    inn = [[] for _ in range(n)]
    for u in range(n):
        for e in range(indptr[u], indptr[u + 1]):
            inn[int(indices[e])].append((u, float(w[e])))
    out = []
    for _ in range(n_sims):
        theta = [r.random() for _ in range(n)]
        active = set(int(s) for s in seeds)
        changed = True
        while changed:
            changed = False
            for v in range(n):
                if v not in active and sum(wt for u, wt in inn[v] if u in active) >= theta[v]:
                    active.add(v)
                    changed = True
        out.append(len(active))
    return np.array(out)


def random_graph(n, m, rng, pmax=0.3):
    g = np.random.default_rng(rng)
    pairs = set()
    while len(pairs) < m:
        a, b = g.integers(0, n, 2)
        if a != b:
            pairs.add((int(a), int(b)))
    e = np.array(sorted(pairs))
    return e[:, 0], e[:, 1], g.uniform(0.01, pmax, len(e))


@st.composite
def small_graphs(draw, max_n=9, max_m=14):
    n = draw(st.integers(2, max_n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda t: t[0] != t[1]),
                          max_size=max_m, unique=True))
    e = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    p = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=len(e), max_size=len(e))), dtype=float)
    return n, e[:, 0], e[:, 1], p


# ------------------------------------------------------------------------------------------ known answers
def test_certain_path_reaches_everyone_downstream():
    # path 0 -> 1 -> 2 -> 3 -> 4 with p = 1: seed 0 reaches 5 users, seed 2 reaches {2, 3, 4} = 3
    indptr, indices, p = csr([0, 1, 2, 3], [1, 2, 3, 4], np.ones(4), 5)
    s, a = simulate_ic(indptr, indices, p, np.array([0]), n_sims=50, rng=0)
    assert (s == 5).all() and (a == 50).all()
    s, a = simulate_ic(indptr, indices, p, np.array([2]), n_sims=50, rng=0)
    assert (s == 3).all() and a.tolist() == [0, 0, 50, 50, 50]
    # an edge with p = 0 is never live: 0 -> 1 (p = 0) -> ... seed 0 reaches only itself
    indptr, indices, p = csr([0, 1, 2, 3], [1, 2, 3, 4], [0.0, 1, 1, 1], 5)
    s, _ = simulate_ic(indptr, indices, p, np.array([0]), n_sims=50, rng=0, worlds=3)
    assert (s == 1).all()


def test_star_half_probability_mean_in_ci():
    # star 0 -> 1..L with p = 0.5: spread = 1 + Binomial(L, 0.5), expected 1 + 0.5 L = 11 for L = 20
    L = 20
    indptr, indices, p = csr(np.zeros(L, int), np.arange(1, L + 1), np.full(L, 0.5), L + 1)
    for worlds in (None, 7):
        s, a = simulate_ic(indptr, indices, p, np.array([0]), n_sims=4000, rng=1, worlds=worlds)
        m, lo, hi = spread_ci(s)
        assert lo <= 1 + 0.5 * L <= hi
        assert a[0] == 4000
        assert np.allclose(a[1:] / 4000, 0.5, atol=0.04)  # every leaf is active in about half the runs
        assert s.var(ddof=1) == pytest.approx(L * 0.25, rel=0.15)  # binomial variance L p (1 - p) = 5


def test_seeds_are_deduplicated_and_counted_once():
    indptr, indices, p = csr([0], [1], [1.0], 3)
    s, a = simulate_ic(indptr, indices, p, np.array([0, 0, 2]), n_sims=3, rng=0)
    assert s.tolist() == [3, 3, 3] and a.tolist() == [3, 3, 3]


@given(small_graphs())
@settings(max_examples=15, deadline=None)
def test_ic_mean_matches_exact_enumeration(graph):
    n, src, dst, p = graph
    indptr, indices, pp = csr(src, dst, p, n)
    exact = exact_ic_spread(n, src, dst, p, [0])
    s, _ = simulate_ic(indptr, indices, pp, np.array([0]), n_sims=3000, rng=0, worlds=11)
    m, lo, hi = spread_ci(s, level=0.999)
    # near-certain edges (p = 0.99999) may fail in none of the runs: the sample variance is then 0 and
    # the interval a point; one differing run would move the mean by at most n / n_sims, so allow that
    slack = n / 3000
    assert lo - slack <= exact <= hi + slack


def test_lt_two_half_parents():
    # LT: 0 -> 2 and 1 -> 2, each weight 0.5. Seed {0}: 2 activates iff theta_2 <= 0.5 -> 1.5 expected.
    # Seeds {0, 1}: incoming weight 1 >= any theta in [0, 1) -> 3 always.
    indptr, indices, w = csr([0, 1], [2, 2], [0.5, 0.5], 3)
    s, a = simulate_lt(indptr, indices, w, np.array([0, 1]), n_sims=100, rng=0)
    assert (s == 3).all()
    s, a = simulate_lt(indptr, indices, w, np.array([0]), n_sims=4000, rng=0)
    m, lo, hi = spread_ci(s)
    assert lo <= 1.5 <= hi
    assert a[1] == 0


def test_lt_chain_multiplies():
    # LT chain 0 -> 1 (w 0.5) -> 2 (w 0.5): P(1) = 0.5, P(2) = 0.25 -> expected 1.75
    indptr, indices, w = csr([0, 1], [1, 2], [0.5, 0.5], 3)
    s, a = simulate_lt(indptr, indices, w, np.array([0]), n_sims=8000, rng=3)
    m, lo, hi = spread_ci(s)
    assert lo <= 1.75 <= hi
    assert a[2] / 8000 == pytest.approx(0.25, abs=0.02)


def test_spread_ci():
    m, lo, hi = spread_ci(np.array([1.0, 3.0]))
    # mean 2, sd sqrt(2), half width 1.959964 * sqrt(2) / sqrt(2)
    assert m == 2 and hi - m == pytest.approx(1.959964, rel=1e-5) and m - lo == pytest.approx(hi - m)
    assert spread_ci(np.array([5.0])) == (5.0, 5.0, 5.0)
    m, lo, hi = spread_ci(np.array([]))
    assert math.isnan(m)
    # a wider level gives a wider interval
    x = np.arange(10.0)
    assert spread_ci(x, 0.99)[2] > spread_ci(x, 0.9)[2]


# ------------------------------------------------------------------------------------------ cross-checks
@pytest.fixture(scope="module")
def graph_1k():
    n = 1000
    src, dst, p = random_graph(n, 5000, rng=5, pmax=0.35)  # mean out-degree 5, supercritical
    return (n, *csr(src, dst, p, n))


def test_ic_agrees_with_plain_python_reference(graph_1k):
    n, indptr, indices, p = graph_1k
    seeds = np.array([0, 10, 20, 30, 40])
    ref = simulate_ic_reference(indptr, indices, p, seeds, n_sims=400, rng=1)
    mr, lr, hr = spread_ci(ref)
    assert mr > 20  # the cascade is not trivial
    for worlds in (None, 99):
        s, a = simulate_ic(indptr, indices, p, seeds, n_sims=2000, rng=2, worlds=worlds)
        m, lo, hi = spread_ci(s)
        # means agree within the combined half-widths (sum of both intervals)
        assert abs(m - mr) <= (hi - m) + (hr - mr), (m, mr)
        assert a.sum() == s.sum()  # per-user activations add up to the spreads
        assert (a[seeds] == 2000).all()


def test_lt_agrees_with_plain_python_reference(graph_1k):
    n, indptr, indices, p = graph_1k
    # LT weights: rescale so each user's incoming weights sum to at most 1 (as kg.tl.simulate does)
    tgt = indices
    insum = np.bincount(tgt, weights=p, minlength=n)
    w = p / np.maximum(insum[tgt], 1.0)
    seeds = np.array([0, 10, 20, 30, 40])
    ref = lt_reference(indptr, indices, w, seeds, n_sims=300, rng=3)
    mr, lr, hr = spread_ci(ref)
    s, a = simulate_lt(indptr, indices, w, seeds, n_sims=1500, rng=4)
    m, lo, hi = spread_ci(s)
    assert mr > 15
    assert abs(m - mr) <= (hi - m) + (hr - mr), (m, mr)
    assert a.sum() == s.sum() and (a[seeds] == 1500).all()


# ------------------------------------------------------------------------------------------ paired worlds
def test_paired_worlds_identical_for_identical_seeds(graph_1k):
    n, indptr, indices, p = graph_1k
    seeds = np.array([3, 1, 4, 1, 5])
    a1, b1 = simulate_ic(indptr, indices, p, seeds, n_sims=300, rng=0, worlds=42)
    a2, b2 = simulate_ic(indptr, indices, p, seeds[::-1], n_sims=300, rng=12345, worlds=42)  # rng is ignored
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    a3, _ = simulate_ic(indptr, indices, p, seeds, n_sims=300, worlds=43)
    assert not np.array_equal(a1, a3)  # another world seed, other worlds
    # run r is the same world whatever n_sims: the first 100 runs of 300 are the 100-run result
    a4, _ = simulate_ic(indptr, indices, p, seeds, n_sims=100, worlds=42)
    assert np.array_equal(a4, a1[:100])


def test_paired_worlds_do_not_depend_on_batch_size(graph_1k, monkeypatch):
    n, indptr, indices, p = graph_1k
    seeds = np.array([7, 8, 9])
    whole, act = simulate_ic(indptr, indices, p, seeds, n_sims=64, worlds=5)
    monkeypatch.setattr(SP, "BATCH_BYTES", n * 10)  # batches of 10 runs
    assert SP.batch_size_for(n, 64) == 10
    parts, act2 = simulate_ic(indptr, indices, p, seeds, n_sims=64, worlds=5)
    assert np.array_equal(whole, parts) and np.array_equal(act, act2)


def test_same_rng_same_output(graph_1k):
    n, indptr, indices, p = graph_1k
    seeds = np.array([1, 2])
    for f, w in ((simulate_ic, p), (simulate_lt, p / np.maximum(np.bincount(indices, p, n)[indices], 1))):
        a = f(indptr, indices, w, seeds, n_sims=50, rng=9)
        b = f(indptr, indices, w, seeds, n_sims=50, rng=np.random.default_rng(9))
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@given(small_graphs(max_n=12, max_m=30), st.data())
@SETTINGS
def test_spread_monotone_in_seeds_per_world(graph, data):
    # in one live-edge world, adding seeds can only add active users: run by run, not just on average
    n, src, dst, p = graph
    indptr, indices, pp = csr(src, dst, p, n)
    order = data.draw(st.permutations(range(n)))
    k = data.draw(st.integers(1, n - 1))
    small, _ = simulate_ic(indptr, indices, pp, np.array(order[:k]), n_sims=40, worlds=1)
    big, _ = simulate_ic(indptr, indices, pp, np.array(order[: k + 1]), n_sims=40, worlds=1)
    assert (big >= small).all() and (small >= k).all() and (big <= n).all()


@given(small_graphs())
@SETTINGS
def test_activations_consistent(graph):
    n, src, dst, p = graph
    indptr, indices, pp = csr(src, dst, p, n)
    s, a = simulate_ic(indptr, indices, pp, np.array([0]), n_sims=25, rng=0)
    assert a.sum() == s.sum() and a[0] == 25 and (a <= 25).all()
    # a user with no path from the seed is never activated
    R = sp.csr_matrix((np.ones(len(src)), (src, dst)), shape=(n, n))
    from scipy.sparse.csgraph import breadth_first_order

    reach = set(breadth_first_order(R, 0, return_predecessors=False).tolist())
    assert all(a[v] == 0 for v in range(n) if v not in reach)
    w = pp / np.maximum(np.bincount(indices, pp, n)[indices], 1.0)
    s2, a2 = simulate_lt(indptr, indices, w, np.array([0]), n_sims=25, rng=0)
    assert a2.sum() == s2.sum() and all(a2[v] == 0 for v in range(n) if v not in reach)


def test_empty_inputs_do_not_crash():
    e = np.empty(0, np.int64)
    for f in (simulate_ic, simulate_lt):
        s, a = f(np.zeros(1, np.int64), e, np.empty(0), e, n_sims=3, rng=0)  # no users
        assert s.tolist() == [0, 0, 0] and a.size == 0
        s, a = f(np.zeros(4, np.int64), e, np.empty(0), np.array([1]), n_sims=2, rng=0)  # no edges
        assert s.tolist() == [1, 1] and a.tolist() == [0, 2, 0]
    s, _ = simulate_ic(np.zeros(4, np.int64), e, np.empty(0), np.array([1]), n_sims=2, worlds=0)
    assert s.tolist() == [1, 1]
    assert simulate_ic_reference(np.zeros(1, np.int64), e, np.empty(0), [], n_sims=2, rng=0).tolist() == [0, 0]


def test_world_uniform_is_uniform_and_deterministic():
    keys = np.arange(200_000, dtype=np.int64)
    u = SP._world_uniform(3, keys)
    assert np.array_equal(u, SP._world_uniform(3, keys))
    assert (u >= 0).all() and (u < 1).all()
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    hist = np.bincount((u * 10).astype(int), minlength=10)
    assert hist.min() > 19_000 and hist.max() < 21_000
    assert np.corrcoef(u, SP._world_uniform(4, keys))[0, 1] < 0.01  # another seed, unrelated numbers


# ------------------------------------------------------------------------------------------ prefixes
def test_prefixes_equal_separate_paired_runs(graph_1k, monkeypatch):
    n, indptr, indices, p = graph_1k
    groups = [np.array([5, 6]), np.array([100]), np.array([5]), np.array([200, 300])]  # a repeat adds nothing
    cum, act = SP.simulate_ic_prefixes(indptr, indices, p, groups, n_sims=80, worlds=4)
    assert cum.shape == (80, 4)
    for j in range(4):
        s, _ = simulate_ic(indptr, indices, p, np.concatenate(groups[: j + 1]), n_sims=80, worlds=4)
        assert np.array_equal(cum[:, j], s)
    assert np.array_equal(cum[:, 2], cum[:, 1])
    full_act = simulate_ic(indptr, indices, p, np.concatenate(groups), n_sims=80, worlds=4)[1]
    assert np.array_equal(act, full_act)
    monkeypatch.setattr(SP, "BATCH_BYTES", n * 5 * 7)  # batches of 7 runs: same answer
    cum2, _ = SP.simulate_ic_prefixes(indptr, indices, p, groups, n_sims=80, worlds=4)
    assert np.array_equal(cum, cum2)


def test_prefixes_known_answer_and_empty_group():
    # path 0 -> 1 -> 2 -> 3 with p = 1; groups: {} (nobody), {2}, {0}: counts 0, 2, 4
    indptr, indices, p = csr([0, 1, 2], [1, 2, 3], np.ones(3), 4)
    cum, act = SP.simulate_ic_prefixes(indptr, indices, p, [np.array([], np.int64), np.array([2]), np.array([0])],
                                       n_sims=3, rng=0)
    assert cum.tolist() == [[0, 2, 4]] * 3 and act.tolist() == [3, 3, 3, 3]
