"""Kernels of the fitted KOC score (kocgraph.algorithms.koc_model): known answers by hand,
cross-checks against networkx / scipy / the ShareGraph tools, and hypothesis properties."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

import kocgraph as kg
from kocgraph.algorithms import koc_model as M
from kocgraph.algorithms.cascades import build_forest

PROP = settings(max_examples=40, deadline=None)


# ------------------------------------------------------------------------------------------ clocks
def test_ages_by_hand() -> None:
    # 5 events at times 10, 20, 20, 30, 50: events after each: 4, 2, 2, 1, 0 -> event ages /5
    t = np.array([20, 10, 50, 20, 30])
    assert M.event_ages(t).tolist() == [0.4, 0.8, 0.0, 0.4, 0.2]
    # wall clock: (50 - t) / 40
    assert M.wall_ages(t).tolist() == [0.75, 1.0, 0.0, 0.75, 0.5]
    assert M.wall_ages(np.array([7, 7])) is None and M.wall_ages(np.array([], dtype=np.int64)) is None


@PROP
@given(st.lists(st.integers(0, 20), min_size=1, max_size=30), st.integers(0, 1000))
def test_event_ages_do_not_depend_on_row_order(times: list[int], seed: int) -> None:
    t = np.array(times)
    perm = np.random.default_rng(seed).permutation(t.size)
    np.testing.assert_array_equal(M.event_ages(t)[perm], M.event_ages(t[perm]))
    assert (M.event_ages(t) >= 0).all() and (M.event_ages(t) < 1).all()


# ------------------------------------------------------------------------------------------ subtree sums
@PROP
@given(st.integers(1, 40), st.integers(0, 10_000))
def test_subtree_sums_equal_networkx_descendant_sums(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a random forest: each node's parent is an earlier node or none
    parent = np.array([-1 if i == 0 or rng.random() < 0.2 else int(rng.integers(0, i)) for i in range(n)])
    depth = np.zeros(n, dtype=np.int64)
    for i in range(n):
        depth[i] = 0 if parent[i] < 0 else depth[parent[i]] + 1
    w = rng.random((n, 2))
    got = M.subtree_sums(parent, depth, w)
    G = nx.DiGraph([(int(parent[i]), i) for i in range(n) if parent[i] >= 0])
    G.add_nodes_from(range(n))
    for i in range(n):
        want = w[i] + sum((w[j] for j in nx.descendants(G, i)), np.zeros(2))
        np.testing.assert_allclose(got[i], want, rtol=1e-12)


# ------------------------------------------------------------------------------------------ features
def test_user_features_by_hand() -> None:
    # item 0: a(0) -> b(1) at t=1, b -> c(2) at t=2, a -> c at t=3 (an exposure);
    # item 1: c -> a at t=4 (c starts item 1)
    src, tgt = np.array([0, 1, 0, 2]), np.array([1, 2, 2, 0])
    item, time = np.array([0, 0, 0, 1]), np.array([1, 2, 3, 4])
    F = M.user_features(src, tgt, item, time, 3, half_lives=(0.5,))
    assert F["reach"].tolist() == [2, 1, 1]            # a: b, c; b: c; c: a (item 1)
    assert F["direct_reach"].tolist() == [1, 1, 1]
    assert F["resharers"].tolist() == [1, 0, 0]        # b passed item 0 on
    assert F["forwards"].tolist() == [2, 1, 1]
    assert F["receivers"].tolist() == [2, 1, 1]        # a -> {b, c}
    assert F["senders"].tolist() == [1, 1, 2]          # c <- {a, b}
    assert F["items_started"].tolist() == [1, 0, 1]
    # event ages 3/4, 2/4, 1/4, 0 -> weights 2^(-age / 0.5) = 2^-1.5, 2^-1, 2^-0.5, 1
    assert F["forwards_recent_event@0.5"].tolist() == pytest.approx([2**-1.5 + 2**-0.5, 0.5, 1])
    # recent reach: a's descendants b (joined at event 0: 2^-1.5) and c (event 1: 2^-1); b's: c;
    # c's: a (event 3: 1)
    assert F["reach_recent_event@0.5"].tolist() == pytest.approx([2**-1.5 + 0.5, 0.5, 1])
    # wall ages (4 - t) / 3 = 1, 2/3, 1/3, 0 -> 2^(-2 age)
    assert F["forwards_recent_wall@0.5"].tolist() == pytest.approx([0.25 + 2 ** (-2 / 3), 2 ** (-4 / 3), 1])


def test_user_features_equal_the_graph_tools() -> None:
    g = kg.datasets.synthetic(400, 40, rng=2)
    kg.tl.cascades(g)
    kg.tl.pagerank(g)
    kg.tl.coreness(g)
    c = g.codes
    F = M.user_features(c.src, c.tgt, c.item, c.time, g.n_users, half_lives=(1e9,))
    for k in ("reach", "direct_reach", "resharers", "items_started", "coreness"):
        np.testing.assert_array_equal(F[k], g.nodes[k].to_numpy(np.float64), err_msg=k)
    np.testing.assert_allclose(F["pagerank"], g.nodes["pagerank"].to_numpy(), atol=1e-9)
    np.testing.assert_array_equal(F["receivers"], np.bincount(c.edge_src, minlength=g.n_users))
    # a huge half-life weighs every event 1: recent reach and forwards equal reach and forwards
    np.testing.assert_allclose(F["reach_recent_event@1e+09"], F["reach"], rtol=1e-6)
    np.testing.assert_allclose(F["forwards_recent_wall@1e+09"], F["forwards"], rtol=1e-6)


def test_log_features_zero_is_zero() -> None:
    F = {"reach": np.array([0.0, 3.0]), "pagerank": np.array([0.01, 0.04]), "coreness": np.array([0.0, 1.0])}
    X = M.log_features(F, ["reach", "pagerank", "coreness"])
    assert X[0].tolist() == [0.0, 0.0, 0.0]
    assert X[1].tolist() == pytest.approx([np.log(4), np.log(4), np.log(2)])


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=40), st.integers(0, 2**31 - 1))
def test_log_features_of_some_rows_equal_those_rows_of_all(values: list[float], seed: int) -> None:
    # the rows= subset is exactly the full matrix's rows; pagerank's floor is still the whole column's
    v = np.asarray(values)
    F = {"reach": v, "pagerank": v[::-1].copy() + 1e-9}
    rows = np.random.default_rng(seed).random(v.size) < 0.5
    full = M.log_features(F, ["reach", "pagerank"])
    assert np.array_equal(M.log_features(F, ["reach", "pagerank"], rows=rows), full[rows])
    assert np.array_equal(M.log_features(F, ["pagerank"], rows=np.flatnonzero(rows)), full[rows][:, [1]])


def test_conversion_values_are_read_only_where_converted() -> None:
    # a NaN value on a conversion counts 0; values of other events are never read (NaN or not)
    src, tgt = np.array([0, 0, 1, 1]), np.array([1, 2, 2, 3])
    conv = np.array([True, True, False, True])
    val = np.array([5.0, np.nan, np.nan, 2.5])
    F = M.user_features(src, tgt, np.zeros(4, int), np.arange(4), 4, conversions=conv, conversion_value=val)
    assert F["conversions"].tolist() == [2.0, 1.0, 0.0, 0.0]
    assert F["conversion_value"].tolist() == [5.0, 2.5, 0.0, 0.0]
    none = M.user_features(src, tgt, np.zeros(4, int), np.arange(4), 4, conversions=conv, conversion_value=None)
    assert none["conversion_value"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_item_user_matrices_sum_to_the_features() -> None:
    g = kg.datasets.synthetic(300, 30, rng=5)
    c = g.codes
    F = M.user_features(c.src, c.tgt, c.item, c.time, g.n_users, half_lives=(0.1,))
    f = build_forest(c.src, c.tgt, c.item, c.time, g.n_users)
    names = ["reach", "resharers", "direct_reach", "forwards", "items_started", "reach_recent_event@0.1",
             "forwards_recent_wall@0.1", "pagerank"]
    mats = M.item_user_matrices(f, c.src, c.item, c.time, g.n_users, g.n_items, names)
    assert "pagerank" not in mats
    for k, m in mats.items():
        np.testing.assert_allclose(np.asarray(m.sum(axis=0)).ravel(), F[k], atol=1e-9, err_msg=k)


# ------------------------------------------------------------------------------------------ measures
def test_precision_at_matches_every_tie_break() -> None:
    score = np.array([3.0, 1.0, 1.0, 1.0, 0.0])
    future = np.array([0.0, 5.0, 0.0, 2.0, 9.0])
    got = M.precision_at(score, future, [1, 2, 3])
    for i, k in enumerate([1, 2, 3]):
        thr = np.sort(future)[::-1][k - 1]
        rel = (future >= thr) & (future > 0)
        vals = []
        for perm in itertools.permutations(range(5)):
            noise = np.empty(5)
            noise[list(perm)] = np.arange(5) * 1e-6
            top = np.argsort(-(score + noise), kind="stable")[:k]
            vals.append(rel[top].mean())
        assert got[i] == pytest.approx(np.mean(vals))


def test_nnls_equals_scipy_bounded_least_squares() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    y = X @ np.array([1.0, 0.0, 2.0, -1.0]) + 0.01 * rng.normal(size=60)
    s = rng.random(60) + 0.1
    ref = lsq_linear(X * np.sqrt(s)[:, None], y * np.sqrt(s), bounds=(0, np.inf), tol=1e-12).x
    np.testing.assert_allclose(M.nnls_weights(X, y, s), ref, atol=1e-6)
    assert (M.nnls_weights(X, y) >= 0).all()


def test_kol_cut_and_contenders() -> None:
    assert M.kol_cut("auto", 50_000) == 1000 and M.kol_cut("auto", 300_000) == 3000
    X = np.array([[5.0, 0.0], [4.0, 0.0], [4.0, 1.0], [0.0, 0.0]])
    # column 0: the 3rd largest is 4, strictly above it only row 0; column 1: row 2
    assert M.contenders(X, 2).tolist() == [True, False, True, False]


# ------------------------------------------------------------------------------------------ the fit
def _cuts(signal: int, n: int = 500, seed: int = 0) -> list[M.Cut]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(3):
        X = rng.exponential(1.0, (n, 3))
        reach = np.expm1(X[:, signal] + 0.2 * rng.normal(size=n)).clip(0).round()
        out.append(M.Cut(X, reach, 0.7, f"c{i}"))
    return out


@pytest.mark.parametrize("signal", [0, 1, 2])
def test_fit_finds_the_feature_that_predicts(signal: int) -> None:
    names = ["a", "b", "c"]
    res = M.fit_weights(_cuts(signal), names, names)
    assert max(res.weights, key=res.weights.get) == names[signal]
    assert set(res.inner_precision) == {"blend", "a", "b", "c"}
    assert all(len(v) == 3 for v in res.inner_precision.values())
    # deterministic
    assert M.fit_weights(_cuts(signal), names, names).weights == res.weights


def test_fit_takes_the_blend_when_it_ranks_better() -> None:
    # future reach driven by two features together: the blend beats either alone on every cut
    rng = np.random.default_rng(1)
    cuts = []
    for i in range(3):
        X = rng.exponential(1.0, (800, 2))
        reach = np.expm1(X[:, 0] + X[:, 1] + 0.1 * rng.normal(size=800)).clip(0).round()
        cuts.append(M.Cut(X, reach, 0.7, f"c{i}"))
    res = M.fit_weights(cuts, ["a", "b"], ["a", "b"])
    assert res.chosen == "blend" and set(res.weights) == {"a", "b"}
    thin = M.fit_weights(cuts, ["a", "b"], ["a", "b"], blend=False)
    assert thin.chosen in ("a", "b") and "blend" not in thin.inner_precision


# ------------------------------------------------------------------------------------------ calibrate
def _arrays(g: kg.ShareGraph) -> dict:
    c = g.codes
    return dict(src=c.src, tgt=c.tgt, item=c.item, time=c.time, n_users=g.n_users, has_time=g.has_time,
                staff=np.zeros(g.n_users, bool), kol_threshold="auto", names=["reach", "forwards"],
                singles=["reach", "forwards"])


def test_calibrate_falls_back_with_a_reason() -> None:
    three = kg.read_log(pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "d"], "item": "x",
                                      "time": ["2026-01-01", "2026-01-02", "2026-01-03"]}))
    res, info = M.calibrate(**_arrays(three))
    assert res is None and "3 events" in info["reason"]
    big = kg.datasets.synthetic(2000, 120, rng=1)
    kw = _arrays(big)
    one_item = kw | {"item": np.zeros_like(kw["item"]), "has_time": False}
    res, info = M.calibrate(**one_item)
    assert res is None and "only 1 item" in info["reason"] and info["split_by"] is None
    res, info = M.calibrate(**kw | {"has_time": False}, split_by="time")
    assert res is None and "no time span" in info["reason"]


def test_calibrate_without_a_clock_splits_by_item_and_is_seeded() -> None:
    g = kg.datasets.synthetic(3000, 200, rng=4)
    kw = _arrays(g) | {"has_time": False}
    a, info = M.calibrate(**kw, rng=7)
    b, _ = M.calibrate(**kw, rng=7)
    assert info["split_by"] == "item" and "no time column" in info["split_reason"]
    assert a is not None and a.weights == b.weights and a.cuts[0]["label"].startswith("item draw")
    same_time = kw | {"has_time": True, "time": np.zeros_like(kw["time"])}
    _, info = M.calibrate(**same_time, rng=7)
    assert info["split_by"] == "item" and "same time" in info["split_reason"]


def test_calibrate_is_the_same_on_int32_and_int64_codes() -> None:
    # the codes stay as given (int32 for a ShareGraph) until the sample: the fit must not change
    g = kg.datasets.synthetic(3000, 200, rng=4)
    a32 = _arrays(g)
    a64 = {**a32, **{k: np.asarray(a32[k], dtype=np.int64) for k in ("src", "tgt", "item")}}
    assert a32["src"].dtype == np.int32
    for kw in ({}, {"max_events": 2000}):
        r32, i32 = M.calibrate(**a32, rng=3, **kw)
        r64, i64 = M.calibrate(**a64, rng=3, **kw)
        assert r32 is not None and r64 is not None
        assert (r32.weights, r32.chosen, r32.inner_precision) == (r64.weights, r64.chosen, r64.inner_precision)
        assert i32 == i64


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_cuts_kept_in_float32_choose_as_float64_would(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # calibrate keeps the cuts' feature matrices in float32 (memory); the fit on the same cuts in
    # float64 chooses the same candidate, with the same inner precision and the same weights to 1e-5
    g = kg.datasets.synthetic(3000, 200, rng=seed)
    caught: list[list[M.Cut]] = []
    real = M.fit_weights

    def grab(cuts: list[M.Cut], *a: object, **k: object) -> M.FitResult:
        caught.append(list(cuts))
        return real(cuts, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(M, "fit_weights", grab)
    names = list(M.COUNT_FEATURES[:-2]) + [f"{r}@{h:g}" for r in M.RECENCY_FEATURES for h in M.HALF_LIVES]
    a = {**_arrays(g), "names": names, "singles": names}  # every feature, as kg.tl.kocs fits them
    res, _ = M.calibrate(**a, rng=0)
    (cuts,) = caught
    assert res is not None and len(cuts) == len(M.TIME_CUTS) and all(c.X.dtype == np.float32 for c in cuts)
    wide = [M.Cut(c.X.astype(np.float64), c.reach, c.frac, c.label) for c in cuts]
    ref = real(wide, a["names"], a["singles"])
    assert ref.chosen == res.chosen and ref.inner_precision == res.inner_precision
    assert ref.weights.keys() == res.weights.keys()
    np.testing.assert_allclose([res.weights[k] for k in ref.weights], list(ref.weights.values()), rtol=1e-5)


def test_calibrate_samples_big_logs() -> None:
    g = kg.datasets.synthetic(3000, 200, rng=4)
    _, info = M.calibrate(**_arrays(g), max_events=2000, rng=0)
    assert info["sample"].endswith("events)") and "items drawn at random" in info["sample"]
    mask, how = M.sample_events(g.codes.item, g.codes.time, 2000, "time", 0)
    # each item kept with probability 2000 / n_events: about 2000 events, whole items
    n_items = np.unique(g.codes.item).size
    assert 1000 <= mask.sum() <= 3000 and how.startswith(f"{np.unique(g.codes.item[mask]).size} of {n_items} items")
    kept = np.unique(g.codes.item[mask])
    assert mask.sum() == np.isin(g.codes.item, kept).sum()
    few, how = M.sample_events(np.zeros(5000, int), np.arange(5000), 2000, "time", 0)
    assert how == "the latest 2,000 events" and few[-2000:].all() and not few[:3000].any()


def test_recency_parts_clocks_by_hand() -> None:
    # a chain a -> b -> c of one item at times 0, 10: event clock ages 0.5, 0; wall clock ages 1, 0
    f = build_forest(np.array([0, 1]), np.array([1, 2]), np.array([0, 0]), np.array([0, 10]), 3)
    parts = M.recency_parts(f, np.array([0, 10]), [1.0])
    assert parts["forwards_recent_event@1"][1].tolist() == [2 ** -0.5, 1.0]
    assert parts["forwards_recent_wall@1"][1].tolist() == [0.5, 1.0]
    # one timestamp for every event: no wall clock (the window has no length), the event clock stays
    same = M.recency_parts(f, np.array([5, 5]), [1.0, 2.0])
    assert sorted(same) == ["forwards_recent_event@1", "forwards_recent_event@2", "reach_recent_event@1",
                            "reach_recent_event@2"]
    assert same["forwards_recent_event@2"][1].tolist() == [1.0, 1.0]
    assert M.recency_parts(f, np.array([0, 10]), []) == {}
