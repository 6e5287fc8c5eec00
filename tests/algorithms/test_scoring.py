"""Tests for kocgraph.algorithms.scoring: the KOC score (additive model; the first version's percentile
sum), ranks and bootstrap rank intervals."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import percentileofscore, rankdata

from kocgraph.algorithms.scoring import (
    additive_scores,
    bootstrap_rank_intervals,
    koc_scores,
    percentile_ranks,
    rank_with_ties,
)
from kocgraph.exceptions import InvalidParameterError

SETTINGS = settings(max_examples=50, deadline=None)
values = st.one_of(st.integers(-5, 5).map(float), st.just(np.nan), st.floats(-1e6, 1e6))


# ------------------------------------------------------------------------------------ percentile_ranks


def test_percentile_ranks_known_answer():
    # 4 non-NaN values [1, 2, 2, 3]: #<=1 is 1, #<=2 is 3, #<=3 is 4 -> 1/4, 3/4, 3/4, 1
    out = percentile_ranks(np.array([2.0, np.nan, 1.0, 3.0, 2.0]))
    np.testing.assert_array_equal(out, [0.75, np.nan, 0.25, 1.0, 0.75])
    assert percentile_ranks(np.array([])).shape == (0,)
    assert np.isnan(percentile_ranks(np.array([np.nan, np.nan]))).all()


@SETTINGS
@given(st.lists(values, max_size=40))
def test_percentile_ranks_matches_scipy(xs):
    x = np.array(xs, dtype=float)
    out = percentile_ranks(x)
    ok = ~np.isnan(x)
    assert np.array_equal(np.isnan(out), ~ok)
    if ok.any():
        np.testing.assert_allclose(out[ok], rankdata(x[ok], method="max") / ok.sum())
        ref = [percentileofscore(x[ok], v, kind="weak") / 100 for v in x[ok]]
        np.testing.assert_allclose(out[ok], ref)
        assert out[ok].max() == 1.0 and (out[ok] > 0).all()


# ------------------------------------------------------------------------------------ koc_scores


def test_koc_scores_known_answer():
    # eligible users 0, 1, 3 (user 2 is staff). Feature A = [10, 30, -, 20] -> pct [1/3, 1, -, 2/3];
    # feature B = [5, 5, -, 1] -> pct [1, 1, -, 1/3]. Weights (2, 2) -> (0.5, 0.5).
    X = np.array([[10.0, 5.0], [30.0, 5.0], [99.0, 99.0], [20.0, 1.0]])
    score, contrib = koc_scores(X, np.array([2.0, 2.0]), np.array([True, True, False, True]))
    np.testing.assert_allclose(contrib[[0, 1, 3]], [[1 / 6, 0.5], [0.5, 0.5], [1 / 3, 1 / 6]])
    np.testing.assert_allclose(score[[0, 1, 3]], [2 / 3, 1.0, 0.5])
    assert np.isnan(score[2]) and np.isnan(contrib[2]).all()


def test_koc_scores_nan_feature_contributes_zero_and_errors():
    X = np.array([[1.0, np.nan], [2.0, 4.0], [3.0, 2.0]])
    score, contrib = koc_scores(X, np.array([1.0, 1.0]), np.ones(3, bool))
    # feature 2 percentiles among its 2 known values: [-, 1, 1/2]
    np.testing.assert_allclose(contrib[:, 1], [0.0, 0.5, 0.25])
    with pytest.raises(InvalidParameterError, match="weights"):
        koc_scores(X, np.array([1.0, -1.0]), np.ones(3, bool))
    with pytest.raises(InvalidParameterError, match="weights"):
        koc_scores(X, np.array([1.0]), np.ones(3, bool))
    with pytest.raises(InvalidParameterError, match="2-D"):
        koc_scores(X[:, 0], np.array([1.0]), np.ones(3, bool))
    s, c = koc_scores(np.zeros((0, 2)), np.ones(2), np.zeros(0, bool))
    assert s.shape == (0,) and c.shape == (0, 2)


@st.composite
def scoring_cases(draw):
    n = draw(st.integers(0, 25))
    f = draw(st.integers(1, 4))
    X = draw(arrays(np.float64, (n, f), elements=values))
    w = np.array(draw(st.lists(st.floats(0.01, 10), min_size=f, max_size=f)))
    elig = draw(arrays(np.bool_, n))
    return X, w, elig


@SETTINGS
@given(scoring_cases())
def test_koc_scores_properties(case):
    X, w, elig = case
    score, contrib = koc_scores(X, w, elig)
    assert np.isnan(score[~elig]).all() and np.isnan(contrib[~elig]).all()
    # explain terms add up to the score exactly (up to float rounding)
    np.testing.assert_allclose(contrib[elig].sum(axis=1), score[elig], rtol=0, atol=1e-12)
    assert ((score[elig] >= 0) & (score[elig] <= 1 + 1e-12)).all()
    # each contribution is weight * percentile among eligible users
    wn = w / w.sum()
    for j in range(X.shape[1]):
        pct = np.nan_to_num(percentile_ranks(X[elig, j]), nan=0.0)
        np.testing.assert_allclose(contrib[elig, j], wn[j] * pct, atol=1e-12)
    # scaling the weights changes nothing
    s2, _ = koc_scores(X, 3 * w, elig)
    np.testing.assert_allclose(s2, score, atol=1e-12)
    # an ineligible user's features do not move anyone's score
    X2 = X.copy()
    X2[~elig] = 1e9
    np.testing.assert_array_equal(koc_scores(X2, w, elig)[0], score)


# ------------------------------------------------------------------------------------ rank_with_ties


def test_rank_with_ties_known_answer():
    s = np.array([0.2, np.nan, 0.7, 0.2, 0.9])
    assert rank_with_ties(s).tolist() == [3, -1, 2, 4, 1]
    assert rank_with_ties(s, method="min").tolist() == [3, -1, 2, 3, 1]
    assert rank_with_ties(np.array([])).tolist() == []
    with pytest.raises(InvalidParameterError, match="method"):
        rank_with_ties(s, method="dense")


@SETTINGS
@given(st.lists(values, max_size=30))
def test_rank_with_ties_properties(xs):
    s = np.array(xs, dtype=float)
    r = rank_with_ties(s)
    ok = ~np.isnan(s)
    assert (r[~ok] == -1).all()
    assert sorted(r[ok].tolist()) == list(range(1, ok.sum() + 1))
    # higher score -> better rank; equal scores ordered by code
    idx = np.flatnonzero(ok)
    for a in idx:
        for b in idx:
            if s[a] > s[b] or (s[a] == s[b] and a < b):
                assert r[a] < r[b]
    rm = rank_with_ties(s, method="min")
    assert (rm[ok] <= r[ok]).all()
    np.testing.assert_array_equal(rm[ok], rankdata(-s[ok], method="min"))


# ------------------------------------------------------------------------------------ additive_scores


def test_additive_scores_known_answer_and_zero_terms():
    # log features log1p([3, 0]) = [1.386294, 0] and log1p([0, 0]) = [0, 0]; weights [1, 0.5]
    X = np.log1p(np.array([[3.0, 0.0], [0.0, 0.0], [1.0, 7.0]]))
    score, contrib = additive_scores(X, np.array([1.0, 0.5]), np.array([True, True, False]))
    assert score[0] == pytest.approx(np.log(4.0))           # 1 * log 4 + 0.5 * 0
    assert contrib[0, 1] == 0.0 and contrib[1].tolist() == [0.0, 0.0] and score[1] == 0.0
    assert np.isnan(score[2]) and np.isnan(contrib[2]).all()  # ineligible
    with pytest.raises(InvalidParameterError, match="non-negative weight"):
        additive_scores(X, np.array([1.0, -1.0]), np.ones(3, bool))


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 5)), elements=st.floats(0, 1e6)),
       st.integers(0, 10_000))
def test_additive_scores_properties(counts, seed):
    rng = np.random.default_rng(seed)
    w = rng.random(counts.shape[1]) * (rng.random(counts.shape[1]) < 0.8)
    X = np.log1p(counts)
    score, contrib = additive_scores(X, w, np.ones(len(X), bool))
    # the terms add up to the score exactly (same summation order), and a zero count adds exactly 0
    assert (contrib.sum(axis=1) == score).all()
    assert (contrib[counts == 0] == 0).all()
    # monotone: raising one user's count never lowers their score
    j = int(rng.integers(counts.shape[1]))
    more = counts.copy()
    more[0, j] += 1.0 + 10 * rng.random()
    assert additive_scores(np.log1p(more), w, np.ones(len(X), bool))[0][0] >= score[0]


# ------------------------------------------------------------------------------------ bootstrap


def dominated_case(n_items=30, n_users=8, seed=0):
    """User 0 has the strictly largest value on every item for both additive features."""
    rng = np.random.default_rng(seed)
    reach = rng.integers(0, 5, (n_items, n_users)).astype(float)
    reach[:, 0] = reach.max(axis=1) + 1
    direct = rng.integers(0, 3, (n_items, n_users)).astype(float)
    direct[:, 0] = direct.max(axis=1) + 1
    base = rng.random(n_users)
    base[0] = 1.0  # the held-fixed part of the score: also the best
    return base, [sp.csr_matrix(reach), sp.csr_matrix(direct)]


def test_bootstrap_dominant_user_interval_is_one():
    base, mats = dominated_case()
    elig = np.ones(base.shape[0], bool)
    lo, hi = bootstrap_rank_intervals(base, mats, np.array([1.0, 1.0]), elig, B=100, rng=0)
    assert (lo[0], hi[0]) == (1, 1)
    assert (lo[1:] >= 2).all() and (lo <= hi).all() and (hi <= base.shape[0]).all()


def test_bootstrap_reproducible_and_users_subset():
    base, mats = dominated_case(seed=3)
    elig = np.ones(base.shape[0], bool)
    elig[5] = False
    w = np.array([2.0, 1.0])
    a = bootstrap_rank_intervals(base, mats, w, elig, B=60, rng=11)
    b = bootstrap_rank_intervals(base, mats, w, elig, B=60, rng=np.random.default_rng(11), batch_size=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[0].shape == (7,)  # eligible users only by default
    lo, hi = bootstrap_rank_intervals(base, mats, w, elig, B=60, rng=11, users=np.array([5, 2]))
    assert (lo[0], hi[0]) == (-1, -1)
    assert (lo[1], hi[1]) == (a[0][2], a[1][2])  # eligible position of user 2 is 2


def test_bootstrap_all_fixed_gives_observed_ranks():
    # with nothing resampled each draw reproduces the observed score, so intervals collapse onto the
    # ordinal rank (ties by code): base [0.5, 2, 1, 2] -> ranks 4, 1, 3, 2
    base = np.array([0.5, 2.0, 1.0, 2.0])
    lo, hi = bootstrap_rank_intervals(base, [], np.zeros(0), np.ones(4, bool), B=10, rng=0)
    assert lo.tolist() == hi.tolist() == [4, 1, 3, 2]


def test_bootstrap_interval_by_hand():
    # 2 items. User 0 reaches 4 on item 0 only and has a held-fixed base of 1; users 1 and 2 reach 3
    # on each item. Observed: user 0 scores 1 + log 5 = 2.61, users 1 and 2 log 7 = 1.95 -> user 0 is
    # rank 1. A resample draws item 0 twice (prob 1/4: user 0 has 1 + log 9, the others log 7 -> rank
    # 1), item 1 twice (1/4: user 0 has 1 + 0 = 1 < log 7 -> rank 3), or each once (1/2: as observed,
    # rank 1). User 0's ranks: 1 w.p. 3/4, 3 w.p. 1/4, so the 5% and 95% quantiles are 1 and 3.
    M = sp.csr_matrix(np.array([[4.0, 3.0, 3.0], [0.0, 3.0, 3.0]]))
    base = np.array([1.0, 0.0, 0.0])
    lo, hi = bootstrap_rank_intervals(base, [M], np.ones(1), np.ones(3, bool), B=400, rng=1)
    assert (lo[0], hi[0]) == (1, 3)


def test_bootstrap_interval_widened_to_the_observed_rank():
    # The winner's curse of a resampled ranking. 50 items; user 0 reaches 1 on each of items 0..29
    # (observed 30: log1p 30 = 3.43, rank 1); users 1..5 each reach 29 on one item of their own
    # (log1p 29 = 3.40). In a resample a rival whose item is drawn twice or more (prob 0.26 each)
    # reaches 58 and passes user 0, so user 0 stays first only when none of the five does
    # (0.74 ** 5 = 0.22) and its own sum does not fall below a once-drawn rival: well under a quarter
    # of the draws. The 25%-75% range of user 0's ranks lies below rank 1; the interval is widened to
    # hold it.
    rows = np.zeros((50, 6))
    rows[:30, 0] = 1.0
    for j in range(1, 6):
        rows[29 + j, j] = 29.0
    M = sp.csr_matrix(rows)
    lo, hi = bootstrap_rank_intervals(np.zeros(6), [M], np.ones(1), np.ones(6, bool), B=400, rng=0, alpha=0.5)
    counts = np.random.default_rng(0).multinomial(50, np.full(50, 0.02), size=400) @ rows
    ranks0 = 1 + (np.log1p(counts[:, 1:]) > np.log1p(counts[:, :1])).sum(axis=1)
    assert np.quantile(ranks0, 0.25) >= 2          # without widening the interval would miss rank 1
    assert lo[0] == 1 and hi[0] >= 2


def test_bootstrap_errors():
    base, mats = dominated_case()
    elig = np.ones(base.shape[0], bool)
    with pytest.raises(InvalidParameterError, match="one finite non-negative weight per item_user"):
        bootstrap_rank_intervals(base, mats[:1], np.ones(2), elig, B=5, rng=0)
    with pytest.raises(InvalidParameterError, match="alpha"):
        bootstrap_rank_intervals(base, mats, np.ones(2), elig, B=5, rng=0, alpha=1.5)
    bad = [mats[0], sp.csr_matrix(np.ones((3, base.shape[0])))]
    with pytest.raises(InvalidParameterError, match="same number of items"):
        bootstrap_rank_intervals(base, bad, np.ones(2), elig, B=5, rng=0)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 12), st.integers(2, 9), st.integers(0, 10_000), st.sampled_from([0.05, 0.1, 0.5]))
def test_bootstrap_properties(n_items, n_users, seed, alpha):
    rng = np.random.default_rng(seed)
    M = sp.csr_matrix(rng.integers(0, 4, (n_items, n_users)).astype(float))
    base = rng.random(n_users)
    elig = rng.random(n_users) < 0.8
    w = np.array([1.0])
    lo, hi = bootstrap_rank_intervals(base, [M], w, elig, B=20, rng=seed, alpha=alpha)
    k = int(elig.sum())
    assert lo.shape == (k,)
    if k:
        assert (lo >= 1).all() and (lo <= hi).all() and (hi <= k).all()
        # the interval always holds the observed (ordinal) rank
        observed = base + np.log1p(np.asarray(M.sum(axis=0)).ravel())
        point = rank_with_ties(np.where(elig, observed, np.nan))[elig]
        assert ((lo <= point) & (point <= hi)).all()
