"""Tests for kocgraph.algorithms.affinity: known answers, pandas crosstab cross-checks, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms.affinity import category_lift, channel_counts, hour_histogram
from kocgraph.exceptions import InvalidParameterError

SETTINGS = settings(max_examples=60, deadline=None)


def test_category_lift_known_answer():
    # items 0, 1: category 0; item 2: category 1; item 3: uncategorised (-1, ignored)
    # user 0 forwards 0, 1, 2 (and item 1 again to another friend); user 1 forwards 2 and 3; user 2 nothing.
    users = np.array([0, 0, 0, 0, 1, 1])
    items = np.array([0, 1, 1, 2, 2, 3])
    cats = np.array([0, 0, 1, -1])
    L = category_lift(users, items, cats, 3, 2)
    assert isinstance(L, sp.csr_matrix) and L.shape == (3, 2)
    # unique (user, item) pairs: user 0 -> {0, 1, 2}, user 1 -> {2}; overall 2 of 4 in each category.
    # user 0: (2/3) / (2/4) = 4/3 and (1/3) / (2/4) = 2/3; user 1: category 1 only, 1 / (2/4) = 2.
    np.testing.assert_allclose(L.toarray(), [[4 / 3, 2 / 3], [0, 2], [0, 0]])
    assert L.nnz == 3  # zeros are not stored
    # counting every event: user 0 -> 3 in cat 0, 1 in cat 1; user 1 -> 1 in cat 1; overall 3/5, 2/5
    # user 0: (3/4) / (3/5) = 1.25, (1/4) / (2/5) = 0.625; user 1: 1 / (2/5) = 2.5
    L = category_lift(users, items, cats, 3, 2, unique=False)
    np.testing.assert_allclose(L.toarray(), [[1.25, 0.625], [0, 2.5], [0, 0]])


def test_category_lift_empty():
    L = category_lift(np.array([], int), np.array([], int), np.array([], int), 4, 3)
    assert L.shape == (4, 3) and L.nnz == 0
    L = category_lift(np.array([0]), np.array([0]), np.array([-1]), 1, 2)
    assert L.nnz == 0
    assert category_lift(np.array([], int), np.array([], int), np.array([], int), 0, 0).shape == (0, 0)
    with pytest.raises(InvalidParameterError, match="per forwarding event"):
        category_lift(np.array([0, 1]), np.array([0]), np.array([0]), 2, 1)


@st.composite
def logs(draw):
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 8))
    n_cat = draw(st.integers(1, 4))
    cats = np.array(draw(st.lists(st.integers(-1, n_cat - 1), min_size=n_items, max_size=n_items)))
    e = draw(st.integers(0, 40))
    users = np.array(draw(st.lists(st.integers(0, n_users - 1), min_size=e, max_size=e)), dtype=np.int64)
    items = np.array(draw(st.lists(st.integers(0, n_items - 1), min_size=e, max_size=e)), dtype=np.int64)
    return users, items, cats, n_users, n_cat


def crosstab_lift(users, items, cats, n_users, n_cat, unique):
    df = pd.DataFrame({"user": users, "item": items})
    if unique:
        df = df.drop_duplicates()
    df["cat"] = cats[df["item"].to_numpy()] if len(df) else np.empty(0, int)
    df = df[df["cat"] >= 0]
    ct = pd.crosstab(df["user"], df["cat"]).reindex(index=range(n_users), columns=range(n_cat), fill_value=0)
    counts = ct.to_numpy(dtype=float)
    if counts.sum() == 0:
        return counts
    share_u = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    share = counts.sum(axis=0) / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, share_u / share, 0.0)


@SETTINGS
@given(logs(), st.booleans())
def test_category_lift_matches_pandas_crosstab(log, unique):
    users, items, cats, n_users, n_cat = log
    L = category_lift(users, items, cats, n_users, n_cat, unique=unique)
    np.testing.assert_allclose(L.toarray(), crosstab_lift(users, items, cats, n_users, n_cat, unique), rtol=1e-12)


@SETTINGS
@given(logs())
def test_category_lift_shares_sum_to_one(log):
    users, items, cats, n_users, n_cat = log
    L = category_lift(users, items, cats, n_users, n_cat)
    pairs = pd.DataFrame({"u": users, "i": items}).drop_duplicates()
    c = cats[pairs["i"].to_numpy()] if len(pairs) else np.empty(0, int)
    ok = c >= 0
    share = np.bincount(c[ok], minlength=n_cat) / max(ok.sum(), 1)
    active = np.bincount(pairs["u"].to_numpy()[ok], minlength=n_users) > 0
    # sum_c share(c) * lift[u, c] == sum_c share_u(c) == 1 for every user with a categorised forward
    weighted = np.asarray(L.multiply(share[None, :]).sum(axis=1)).ravel()
    np.testing.assert_allclose(weighted[active], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(weighted[~active], 0.0)
    assert np.all(L.data > 0)
    # the crowd's own lift is 1: share-weighted average over users of their lift equals 1 per category
    n_u = np.bincount(pairs["u"].to_numpy()[ok], minlength=n_users).astype(float)
    if n_u.sum():
        crowd = (n_u / n_u.sum()) @ L.toarray()  # sum_u w_u share_u(c) / share(c)
        np.testing.assert_allclose(crowd[share > 0], 1.0, rtol=1e-12)


def test_hour_histogram_known_answer_and_crosstab():
    # user 0 at 9h twice and 23h; user 2 at 0h; user 1 never
    h = hour_histogram(np.array([0, 0, 2, 0]), np.array([9, 9, 0, 23]), 3)
    assert h.shape == (3, 24) and h.dtype == np.int64
    assert h[0, 9] == 2 and h[0, 23] == 1 and h[2, 0] == 1 and h.sum() == 4 and h[1].sum() == 0
    assert hour_histogram(np.array([], int), np.array([], int), 2).shape == (2, 24)
    with pytest.raises(InvalidParameterError, match="0..23"):
        hour_histogram(np.array([0]), np.array([24]), 1)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 23)), max_size=50))
def test_hour_histogram_matches_crosstab(rows):
    e = np.array(rows, dtype=np.int64).reshape(-1, 2)
    h = hour_histogram(e[:, 0], e[:, 1], 5)
    ct = pd.crosstab(e[:, 0], e[:, 1]).reindex(index=range(5), columns=range(24), fill_value=0) if len(e) else 0
    np.testing.assert_array_equal(h, np.asarray(ct) if len(e) else np.zeros((5, 24)))
    assert h.sum() == len(rows)


def test_channel_counts_known_answer():
    # user 0: moments (0), group (1); user 1: group, unknown (-1, skipped)
    c = channel_counts(np.array([0, 0, 1, 1]), np.array([0, 1, 1, -1]), 3, 3)
    assert c.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert channel_counts(np.array([], int), np.array([], int), 2, 3).shape == (2, 3)
    with pytest.raises(InvalidParameterError, match="outside"):
        channel_counts(np.array([0]), np.array([3]), 1, 3)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(-1, 3)), max_size=50))
def test_channel_counts_matches_crosstab(rows):
    e = np.array(rows, dtype=np.int64).reshape(-1, 2)
    c = channel_counts(e[:, 0], e[:, 1], 5, 4)
    df = pd.DataFrame({"u": e[:, 0], "ch": e[:, 1]})
    df = df[df["ch"] >= 0]
    ct = pd.crosstab(df["u"], df["ch"]).reindex(index=range(5), columns=range(4), fill_value=0)
    np.testing.assert_array_equal(c, ct.to_numpy())
    assert c.sum() == int((e[:, 1] >= 0).sum())
