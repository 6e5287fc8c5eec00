"""Tests for kocgraph.algorithms.attribution: known answers, a plain-Python reference, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kocgraph.algorithms.attribution import DEFAULT_HALF_LIFE_NS, attribute
from kocgraph.exceptions import InvalidParameterError

SETTINGS = settings(max_examples=60, deadline=None)
MODELS = ["last_touch", "first_touch", "linear", "time_decay"]
DAY = 24 * 3600 * 10**9

# chain a -> b -> c -> d -> e (holders 0..4 are users 0..4 = a..e); e buys for 100 on day 10.
CHAIN_PARENT = np.array([-1, 0, 1, 2, 3])
CHAIN_JOIN = np.array([0, 1, 2, 3, 4]) * DAY


def chain(model, **kw):
    return attribute(
        CHAIN_PARENT, np.arange(5), np.array([4]), np.array([100.0]), model=model, n_users=5,
        hold_time=CHAIN_JOIN, conv_time=np.array([10 * DAY]), **kw,
    )  # fmt: skip


def test_known_answer_chain():
    # ancestors of e, nearest first: d (level 1), c (2), b (3); a is level 4, beyond max_levels=3
    v, c, lv = chain("last_touch")
    assert v.tolist() == [0, 0, 0, 100, 0] and c.tolist() == [0, 0, 0, 1, 0]
    v, c, lv = chain("first_touch")
    assert v.tolist() == [0, 100, 0, 0, 0]
    v, c, lv = chain("linear")
    np.testing.assert_allclose(v, [0, 100 / 3, 100 / 3, 100 / 3, 0])
    np.testing.assert_allclose(c, [0, 1 / 3, 1 / 3, 1 / 3, 0])
    # time decay, half-life 1 day: ages 7, 8, 9 days -> weights 2^-7, 2^-8, 2^-9 = 4:2:1 -> 4/7, 2/7, 1/7
    v, c, lv = chain("time_decay", half_life=DAY)
    np.testing.assert_allclose(v, [0, 100 / 7, 200 / 7, 400 / 7, 0])
    # the default half-life is 7 days: ages 7, 8, 9 days -> weights 2^-1, 2^(-8/7), 2^(-9/7)
    v, _, _ = chain("time_decay")
    w = np.array([2 ** (-9 / 7), 2 ** (-8 / 7), 2**-1])
    np.testing.assert_allclose(v[1:4], 100 * w / w.sum())
    assert DEFAULT_HALF_LIFE_NS == 7 * DAY
    # max_levels=4 reaches a; first touch then credits a
    v, _, lv = chain("first_touch", max_levels=4)
    assert v.tolist() == [100, 0, 0, 0, 0]
    assert lv["reached"].tolist() == [1, 1, 1, 1]
    # per-level table of linear
    _, _, lv = chain("linear")
    assert lv["level"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(lv["value"], [100 / 3] * 3)
    np.testing.assert_allclose(lv["conversions"], [1 / 3] * 3)
    assert lv["unattributed_value"] == 0.0 and lv["unattributed_conversions"] == 0


def test_known_answer_roots_and_short_chains():
    # two items: item A tree 0 -> 1 (users 5 -> 6); item B: holder 2 is root user 6, holder 3 user 7 child
    parent = np.array([-1, 0, -1, 2])
    user = np.array([5, 6, 6, 7])
    # conversions: holder 1 (user 6 buys A, 10), holder 0 (root 5 buys, 4: unattributed),
    # holder 3 (user 7 buys B, 6), -1 (buyer not in the tree, 1: unattributed)
    v, c, lv = attribute(parent, user, np.array([1, 0, 3, -1]), np.array([10.0, 4.0, 6.0, 1.0]),
                         model="first_touch", n_users=8)  # fmt: skip
    # one ancestor each: first touch == last touch == linear
    assert v.tolist() == [0, 0, 0, 0, 0, 10, 6, 0] and c.sum() == 2
    assert lv["unattributed_value"] == 5.0 and lv["unattributed_conversions"] == 2
    assert lv["reached"].tolist() == [2, 0, 0]
    for model in MODELS:
        v2, _, _ = attribute(parent, user, np.array([1, 0, 3, -1]), np.array([10.0, 4.0, 6.0, 1.0]),
                             model=model, n_users=8, hold_time=np.zeros(4, np.int64),
                             conv_time=np.zeros(4, np.int64))  # fmt: skip
        assert v2.tolist() == v.tolist()


def test_empty_inputs():
    for model in MODELS:
        v, c, lv = attribute(np.array([], int), np.array([], int), np.array([], int), np.array([]),
                             model=model, n_users=3, hold_time=np.array([], np.int64),
                             conv_time=np.array([], np.int64))  # fmt: skip
        assert v.tolist() == [0, 0, 0] and c.tolist() == [0, 0, 0]
        assert lv["unattributed_conversions"] == 0 and lv["value"].tolist() == [0, 0, 0]
    v, c, lv = attribute(np.array([], int), np.array([], int), np.array([-1]), np.array([2.0]), n_users=0)
    assert v.shape == (0,) and lv["unattributed_value"] == 2.0


def test_bad_input():
    with pytest.raises(InvalidParameterError, match="model"):
        chain("shapley")
    with pytest.raises(InvalidParameterError, match="max_levels"):
        chain("linear", max_levels=0)
    with pytest.raises(InvalidParameterError, match="half_life"):
        chain("time_decay", half_life=-1.0)
    with pytest.raises(InvalidParameterError, match="hold_time"):
        attribute(CHAIN_PARENT, np.arange(5), np.array([4]), np.array([1.0]), model="time_decay", n_users=5)


# ------------------------------------------------------------------------------- reference


def reference(parent, user, holder, value, model, max_levels, half_life, hold_time, conv_time, n_users):
    """Plain-Python attribution, one conversion at a time."""
    cv, cc = [0.0] * n_users, [0.0] * n_users
    unattributed = 0.0
    for h, val, t in zip(holder, value, conv_time, strict=True):
        ancestors = []
        cur = h
        while cur >= 0 and parent[cur] >= 0 and len(ancestors) < max_levels:
            cur = parent[cur]
            ancestors.append(cur)
        if not ancestors:
            unattributed += val
            continue
        if model == "last_touch":
            w = [1.0] + [0.0] * (len(ancestors) - 1)
        elif model == "first_touch":
            w = [0.0] * (len(ancestors) - 1) + [1.0]
        elif model == "linear":
            w = [1.0] * len(ancestors)
        else:
            w = [2.0 ** (-(t - hold_time[a]) / half_life) for a in ancestors]
        s = sum(w)
        for a, wi in zip(ancestors, w, strict=True):
            cv[user[a]] += val * wi / s
            cc[user[a]] += wi / s
    return np.array(cv), np.array(cc), unattributed


@st.composite
def forests(draw):
    h = draw(st.integers(0, 25))
    parent = np.array([draw(st.integers(-1, i - 1)) for i in range(h)], dtype=np.int64)
    n_users = draw(st.integers(1, 8))
    user = np.array(draw(st.lists(st.integers(0, n_users - 1), min_size=h, max_size=h)), dtype=np.int64)
    hold_time = np.cumsum(draw(st.lists(st.integers(0, 5), min_size=h, max_size=h))).astype(np.int64)
    c = draw(st.integers(0, 12))
    holder = np.array(draw(st.lists(st.integers(-1, h - 1), min_size=c, max_size=c)), dtype=np.int64)
    value = np.array(draw(st.lists(st.floats(0.0, 1e4), min_size=c, max_size=c)), dtype=float)
    conv_time = np.array([hold_time[x] + draw(st.integers(0, 30)) if x >= 0 else 0 for x in holder], dtype=np.int64)
    return parent, user, holder, value, hold_time, conv_time, n_users


@SETTINGS
@given(forests(), st.sampled_from(MODELS), st.integers(1, 5), st.sampled_from([1.0, 3.0, 1e9]))
def test_matches_reference_and_conserves_value(f, model, max_levels, half_life):
    parent, user, holder, value, hold_time, conv_time, n_users = f
    v, c, lv = attribute(parent, user, holder, value, model=model, max_levels=max_levels, half_life=half_life,
                         hold_time=hold_time, conv_time=conv_time, n_users=n_users)  # fmt: skip
    rv, rc, ru = reference(parent.tolist(), user.tolist(), holder.tolist(), value.tolist(), model,
                           max_levels, half_life, hold_time.tolist(), conv_time.tolist(), n_users)  # fmt: skip
    np.testing.assert_allclose(v, rv, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(c, rc, rtol=1e-9, atol=1e-12)
    assert math.isclose(lv["unattributed_value"], ru, rel_tol=1e-12, abs_tol=1e-12)
    # conservation: credited + unattributed == total value; conversions hand out exactly 1 each
    total = value.sum()
    assert math.isclose(v.sum() + lv["unattributed_value"], total, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(c.sum() + lv["unattributed_conversions"], holder.shape[0], rel_tol=1e-9, abs_tol=1e-9)
    np.testing.assert_allclose(lv["value"].sum(), v.sum(), rtol=1e-9, atol=1e-9)
    assert np.all(v >= 0) and np.all(c >= 0)
    # reached is non-increasing with the level
    assert np.all(np.diff(lv["reached"]) <= 0)


@SETTINGS
@given(st.integers(1, 60), st.floats(1.0, 1e6))
def test_time_decay_never_underflows(age_days, value):
    # ancestors that joined long ago still split the value: weights are normalised in log space
    parent = np.array([-1, 0, 1])
    ht = np.array([0, 1, 2], dtype=np.int64)
    v, _, lv = attribute(parent, np.arange(3), np.array([2]), np.array([value]), model="time_decay", n_users=3,
                         half_life=1.0, hold_time=ht, conv_time=np.array([2 + age_days * 10**6]))  # fmt: skip
    assert math.isclose(v.sum(), value, rel_tol=1e-12) and lv["unattributed_conversions"] == 0
    assert v[1] >= v[0]  # the nearer (later) sharer never gets less
