"""``kg.evaluate.backtest``: known answers by hand, properties, the planted log, and real data.

Real data hold real account ids: the tests assert structure and aggregates only, never a user row.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import kocgraph as kg
import kocgraph.evaluate
from kocgraph.algorithms.koc_model import topk_hits as _expected_topk_sums

PROP = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COLUMNS = ["method", "k", "precision", "reach_share", "spearman", "n_eligible", "split_time"]
METHODS = ["koc", "out_degree", "in_degree", "pagerank_plain", "coreness", "past_reach", "forwards", "resharers",
           "direct_reach", "items_started", "pagerank", "forwards_recent", "reach_recent"]


def _t(sec: int) -> str:
    return f"2026-01-01T00:00:{sec:02d}Z"


# The hand-built log. Past = t < 10 s, future = t >= 10 s; the log spans 0 .. 20 s, so split=0.5 is
# the same split as the timestamp 00:00:10.
#
#   past                                     future
#   s -> a   item r  (s is staff)            e -> g, e -> h, g -> i   item x   (e reach 3, g reach 1)
#   a -> b, a -> c, a -> d   item p          b -> j                   item y   (b reach 1)
#   b -> e   item p                          a -> k                   item z   (a reach 1)
#   e -> f   item q                          s -> m                   item w   (staff)
#                                            n -> o                   item v   (n, o: not in the past)
HAND = pd.DataFrame(
    [
        ("s", "a", "r", _t(0)),
        ("a", "b", "p", _t(1)),
        ("a", "c", "p", _t(2)),
        ("a", "d", "p", _t(3)),
        ("b", "e", "p", _t(4)),
        ("e", "f", "q", _t(5)),
        ("e", "g", "x", _t(10)),
        ("e", "h", "x", _t(11)),
        ("g", "i", "x", _t(12)),
        ("b", "j", "y", _t(13)),
        ("a", "k", "z", _t(14)),
        ("s", "m", "w", _t(15)),
        ("n", "o", "v", _t(20)),
    ],
    columns=["source", "target", "item", "time"],
)


def _hand() -> kg.ShareGraph:
    return kg.read_log(HAND)


def _row(df: pd.DataFrame, method: str, k: int) -> pd.Series:
    sel = df[(df["method"] == method) & (df["k"] == k)]
    assert len(sel) == 1
    return sel.iloc[0]


# ---------------------------------------------------------------------------------------------- known answers
def test_known_answer_hand_log() -> None:
    g = _hand()
    df = kocgraph.evaluate.backtest(g, split="2026-01-01T00:00:10Z", k=(1, 2), staff=["s"])
    assert df.columns.tolist() == COLUMNS
    assert df["method"].unique().tolist() == METHODS
    # eligible: the users the KOC ranking ranks on the past: a, b, e forwarded (s is staff; c, d, f
    # never forwarded; g..o first appear in the future). Every method ranks these three.
    assert (df["n_eligible"] == 3).all() and df.attrs["n_no_forwards"] == 3
    assert (df["split_time"] == pd.Timestamp("2026-01-01T00:00:10Z")).all()
    # future reach: a 1, b 1, e 3 -> total 5
    assert df.attrs["total_future_reach"] == 5.0
    assert df.attrs["n_future_spreaders"] == 3
    # true top-1 = {e}; true top-2: the 2nd largest reach is 1, ties count -> {e, a, b}
    assert df.attrs["n_relevant"] == {1: 1, 2: 3}
    assert df.attrs["n_events_past"] == 6 and df.attrs["n_events_future"] == 7
    assert df.attrs["n_staff_excluded"] == 1 and df.attrs["split_by"] == "time"

    # out_degree (distinct receivers in the past): a 3, b 1, e 1
    #   top-1 = a: not in {e} -> precision 0; a's future reach 1 of 5 -> share 0.2
    #   top-2 = a + one of the tie {b, e} (each with prob 1/2); both are in {e, a, b} -> precision 1;
    #   expected reach 1 + (1 + 3) / 2 = 3 -> share 0.6
    r = _row(df, "out_degree", 1)
    assert r["precision"] == pytest.approx(0.0) and r["reach_share"] == pytest.approx(0.2)
    r = _row(df, "out_degree", 2)
    assert r["precision"] == pytest.approx(1.0) and r["reach_share"] == pytest.approx(0.6)
    # Spearman by hand: average ranks of out_degree [a3, b1, e1] -> [3, 1.5, 1.5], of future reach
    # [1, 1, 3] -> [1.5, 1.5, 3]; deviations from 2: dx = [1, -.5, -.5], dy = [-.5, -.5, 1];
    # sum dx dy = -0.75, sum dx^2 = sum dy^2 = 1.5 -> rho = -0.5
    assert r["spearman"] == pytest.approx(-0.5)

    # in_degree: each eligible user has exactly one sender in the past (a from s, b from a, e from b):
    # one big tie, so top-1 is e with probability 1/3
    r = _row(df, "in_degree", 1)
    assert r["precision"] == pytest.approx(1 / 3) and r["reach_share"] == pytest.approx((5 / 3) / 5)
    assert math.isnan(r["spearman"])  # a constant score has no rank correlation

    # past_reach: item p gives a 4 (b c d e), b 1 (e); item q gives e 1 -> same order as out_degree
    assert _row(df, "past_reach", 1)["precision"] == pytest.approx(0.0)
    assert _row(df, "past_reach", 2)["precision"] == pytest.approx(1.0)
    assert _row(df, "past_reach", 2)["reach_share"] == pytest.approx(0.6)
    # forwards_recent (event clock, half-life 0.1 of the past): the 6 past events have ages 5/6 .. 0,
    # so e's forward (the latest, age 0, weight 1) outweighs a's three (ages 4/6, 3/6, 2/6: weights
    # 2^-6.67 + 2^-5 + 2^-3.33 = 0.142) and b's one (age 1/6: 2^-1.67 = 0.315) -> top-1 = e, precision 1
    assert _row(df, "forwards_recent", 1)["precision"] == pytest.approx(1.0)
    # the log is far too thin to fit: the KOC ranking used the prior weights, and says so
    assert df.attrs["koc_fit"]["fell_back"] is True
    assert df.attrs["verdict"].startswith("the KOC list")


def test_kol_accounts_are_left_out_of_every_method() -> None:
    # hub h forwards to 5 people in the past (the KOL), a to 2, b to 1; in the future h reaches 9,
    # a 2, b 1. With kol_threshold=3, h is left out of the KOC ranking AND of every baseline, so the
    # true top-1 is a, and out_degree (a 2 > b 1) and the KOC score on past reach get it right.
    past = [("h", f"x{i}", "p", _t(i)) for i in range(5)] + [("a", "y1", "q", _t(6)), ("a", "y2", "q", _t(7)),
                                                            ("b", "y3", "r", _t(8))]
    fut = ([("h", f"z{i}", "s", _t(20 + i)) for i in range(9)] + [("a", "w1", "t", _t(40)), ("a", "w2", "t", _t(41)),
                                                               ("b", "w3", "u", _t(42))])
    g = kg.read_log(pd.DataFrame(past + fut, columns=["source", "target", "item", "time"]))
    df = kocgraph.evaluate.backtest(g, split="2026-01-01T00:00:15Z", k=1, kol_threshold=3, weights={"reach": 1},
                                    baselines=("out_degree", "past_reach"))
    assert df.attrs["n_kol_excluded"] == 1 and (df["n_eligible"] == 2).all()
    assert df.set_index("method")["precision"].to_dict() == {"koc": 1.0, "out_degree": 1.0, "past_reach": 1.0}
    # with no KOL threshold h is eligible for everyone: h is the true top-1 and every method finds it
    df = kocgraph.evaluate.backtest(g, split="2026-01-01T00:00:15Z", k=1, kol_threshold=None,
                                    baselines=("out_degree",))
    assert df.attrs["n_kol_excluded"] == 0 and (df["n_eligible"] == 3).all()


def test_item_split_on_logs_without_a_usable_clock() -> None:
    no_time = kg.read_log(_random_log(3).drop(columns="time"), time=None)
    a = kocgraph.evaluate.backtest(no_time, k=(1, 5), rng=4)
    b = kocgraph.evaluate.backtest(no_time, k=(1, 5), rng=4)
    pd.testing.assert_frame_equal(a, b)                   # the item draw is seeded
    assert a.attrs["split_by"] == "item" and "no time column" in a.attrs["split_reason"]
    assert a["split_time"].isna().all()
    # 70% of the 8 items (round(5.6) = 6) are ranked on, 2 held out
    assert a.attrs["split_where"] == "6 items ranked on, 2 held out"
    one_time = kg.read_log(_random_log(3).assign(time="2026-01-01T00:00:00Z").drop_duplicates(
        ["source", "target", "item"]))
    c = kocgraph.evaluate.backtest(one_time, k=5)
    assert c.attrs["split_by"] == "item" and "same time" in c.attrs["split_reason"]
    with pytest.raises(kg.InvalidParameterError, match="time column"):
        kocgraph.evaluate.backtest(no_time, split_by="time")
    with pytest.raises(kg.InvalidParameterError, match="share of the items"):
        kocgraph.evaluate.backtest(no_time, split="2026-01-01")


def test_verdict_lines() -> None:
    t = pd.DataFrame({"method": ["koc", "out_degree", "forwards_recent"], "k": [50, 50, 50],
                      "precision": [0.50, 0.52, 0.54]})
    line = kocgraph.evaluate.verdict(t)
    assert line == ("the KOC list did not beat the simple rules: most forwards sent recently (event clock, "
                    "half-life 10% of the past) did better (0.54 against 0.50 precision@50); use that rule on this log")
    assert kocgraph.evaluate.verdict(t.assign(precision=[0.58, 0.52, 0.54])).startswith(
        "the KOC list beat the best simple rule (most forwards sent recently")
    assert "+0.04 precision@50" in kocgraph.evaluate.verdict(t.assign(precision=[0.58, 0.52, 0.54]))
    assert kocgraph.evaluate.verdict(t.assign(precision=[0.54, 0.52, 0.54])).startswith("the KOC list tied with")
    with pytest.raises(kg.InvalidParameterError, match="k=10 is not in the backtest"):
        kocgraph.evaluate.verdict(t, k=10)
    with pytest.raises(kg.InvalidParameterError, match="returned by kg.evaluate.backtest"):
        kocgraph.evaluate.verdict(pd.DataFrame({"x": [1]}))


def test_fraction_split_equals_timestamp_split() -> None:
    g = _hand()
    a = kocgraph.evaluate.backtest(g, split=0.5, k=(1, 2), staff=["s"])
    b = kocgraph.evaluate.backtest(g, split="2026-01-01T00:00:10Z", k=(1, 2), staff=["s"])
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["split"] == 0.5 and a.attrs["split_time"] == "2026-01-01T00:00:10+00:00"


def test_kocs_kwargs_pass_through() -> None:
    # with weights={"reach": 1} the KOC score is log1p(past reach): the same order as past_reach
    g = _hand()
    df = kocgraph.evaluate.backtest(g, split=0.5, k=(1, 2), staff=["s"], weights={"reach": 1})
    assert df.attrs["koc_features"] == ["reach"] and df.attrs["koc_n_ranked"] == 3
    assert df.attrs["koc_weights"] == {"reach": 1.0}
    for k in (1, 2):
        assert _row(df, "koc", k)[["precision", "reach_share"]].tolist() == pytest.approx(
            _row(df, "past_reach", k)[["precision", "reach_share"]].tolist())


def test_k_above_eligible_uses_everyone() -> None:
    df = kocgraph.evaluate.backtest(_hand(), split=0.5, k=100, staff=["s"], baselines=("out_degree",))
    assert df["method"].tolist() == ["koc", "out_degree"]
    # all 3 eligible users are the top-"100", and all 3 are relevant (reach > 0); all reach is held
    assert df["precision"].tolist() == pytest.approx([1.0, 1.0])
    assert df["reach_share"].tolist() == pytest.approx([1.0, 1.0])


def test_expected_topk_sums_matches_every_tie_break() -> None:
    # the exact expectation equals the mean over all orderings of the tied users
    score = np.array([3.0, 1.0, 1.0, 1.0, 0.0, 2.0])
    vals = np.array([[1.0], [5.0], [0.0], [2.0], [9.0], [4.0]])
    got = _expected_topk_sums(score, vals, [1, 2, 3, 4, 6])
    for i, k in enumerate([1, 2, 3, 4, 6]):
        sums = []
        for perm in itertools.permutations(range(6)):
            noise = np.empty(6)
            noise[list(perm)] = np.arange(6) * 1e-6   # a random tie-break order
            order = np.argsort(-(score + noise), kind="stable")
            sums.append(vals[order[:k], 0].sum())
        assert got[i, 0] == pytest.approx(np.mean(sums))


# ---------------------------------------------------------------------------------------------- errors
def test_errors() -> None:
    g = _hand()
    with pytest.raises(kg.InvalidParameterError, match="no events before the split.*choose a later split"):
        kocgraph.evaluate.backtest(g, split="2025-12-31T00:00:00Z")
    with pytest.raises(kg.InvalidParameterError, match="no events before the split"):
        kocgraph.evaluate.backtest(g, split=1e-12)
    with pytest.raises(kg.InvalidParameterError, match="no events at or after the split.*earlier split"):
        kocgraph.evaluate.backtest(g, split="2026-01-02T00:00:00Z")
    with pytest.raises(kg.NodeNotFoundError, match="nobody"):
        kocgraph.evaluate.backtest(g, staff=["s", "nobody"])
    for bad in (0, 1, 1.5, -0.2, True, [0.5], "not a time"):
        with pytest.raises(kg.InvalidParameterError, match="split="):
            kocgraph.evaluate.backtest(g, split=bad)
    for bad in (0, (10, -1), (), "10", 2.5):
        with pytest.raises(kg.InvalidParameterError, match="k="):
            kocgraph.evaluate.backtest(g, k=bad)
    with pytest.raises(kg.InvalidParameterError, match="unknown names.*'degree'"):
        kocgraph.evaluate.backtest(g, baselines=("degree",))
    with pytest.raises(kg.InvalidParameterError, match="copy=True cannot"):
        kocgraph.evaluate.backtest(g, **{"copy": True})
    no_time = kg.read_log(HAND.drop(columns="time"), time=None)
    with pytest.raises(kg.InvalidParameterError, match="time column"):
        kocgraph.evaluate.backtest(no_time, split_by="time")
    with pytest.raises(kg.InvalidParameterError, match="split_by='month' is not supported"):
        kocgraph.evaluate.backtest(g, split_by="month")  # type: ignore[arg-type]
    one_item = kg.read_log(HAND.assign(item="only").drop_duplicates(["source", "target", "item", "time"]), time=None)
    with pytest.raises(kg.InvalidParameterError, match="cannot split this log.*only 1 item"):
        kocgraph.evaluate.backtest(one_item)


def test_input_graph_untouched() -> None:
    g = _hand()
    cols = g.nodes.columns.tolist()
    kocgraph.evaluate.backtest(g, split=0.5, staff=["s"])
    assert g.nodes.columns.tolist() == cols and "koc" not in g.meta


# ---------------------------------------------------------------------------------------------- properties
def _random_log(seed: int, n_users: int = 25, n_events: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_users, n_events)
    tgt = (src + rng.integers(1, n_users, n_events)) % n_users      # never a self-forward
    item = rng.integers(0, 8, n_events)
    t = 1_767_225_600 + rng.permutation(10 * n_events)[:n_events]   # distinct times: row order is moot
    uid = np.array([f"u{i:02d}" for i in range(n_users)], dtype=object)
    df = pd.DataFrame({"source": uid[src], "target": uid[tgt], "item": [f"i{k}" for k in item], "time": t})
    return df.drop_duplicates().reset_index(drop=True)


@PROP
@given(seed=st.integers(0, 10_000), split=st.floats(0.2, 0.8))
@example(seed=9138, split=0.3125)  # plain PageRank ties apart by 1e-17 after a shuffle: scores are snapped
def test_properties(seed: int, split: float) -> None:
    df_log = _random_log(seed)
    g = kg.read_log(df_log)
    ks = (1, 3, 5, 10, 40)
    res = kocgraph.evaluate.backtest(g, split=split, k=ks, staff=["u00"])
    assert res.columns.tolist() == COLUMNS
    assert res["precision"].between(0, 1).all()
    share = res["reach_share"]
    assert share.isna().all() or share.between(0, 1 + 1e-12).all()
    rho = res["spearman"].dropna()
    assert rho.between(-1 - 1e-12, 1 + 1e-12).all()
    for _, grp in res.groupby("method", sort=False):
        assert grp["k"].tolist() == list(ks)
        s = grp["reach_share"].to_numpy()
        if not np.isnan(s).any():
            assert (np.diff(s) >= -1e-12).all()      # more places never hold less reach
        assert grp["spearman"].nunique(dropna=False) == 1
    # shuffling the rows of the log changes nothing (ties are broken in expectation, not by order)
    g2 = kg.read_log(df_log.sample(frac=1.0, random_state=seed).reset_index(drop=True))
    res2 = kocgraph.evaluate.backtest(g2, split=split, k=ks, staff=["u00"])
    pd.testing.assert_frame_equal(res.drop(columns="spearman"), res2.drop(columns="spearman"))
    np.testing.assert_allclose(res["spearman"], res2["spearman"], atol=1e-12)


# ---------------------------------------------------------------------------------------------- planted
def test_planted_koc_at_least_every_baseline() -> None:
    g = kg.datasets.load_sample("planted-koc")
    res = kocgraph.evaluate.backtest(g, split=0.7, k=(10, 50, 100), staff=g.meta["synthetic"]["staff"])
    p50 = res[res["k"] == 50].set_index("method")["precision"]
    # measured (generator v2, 25 loud broadcasters; KOC score fitted on the past's own cuts): koc 0.30,
    # resharers 0.30, out_degree 0.26, forwards 0.26, pagerank_plain 0.12. Future reach is noisy (a 30%
    # time slice), so the figures are low for every method.
    assert p50["koc"] >= p50.drop("koc").max()
    assert p50["koc"] > p50["pagerank_plain"] + 0.1
    assert res.attrs["n_staff_excluded"] == 5 and res.attrs["koc_fit"]["fell_back"] is False


# ---------------------------------------------------------------------------------------------- real data
def _data_folder(name: str, *files: str) -> Path:
    env = os.environ.get("KOCGRAPH_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    d = root / name
    missing = [f for f in files if not (d / f).exists()]
    if not d.is_dir() or missing:
        pytest.skip(f"public data set {name!r} not found at {d} (missing {missing or 'folder'}); "
                    "set KOCGRAPH_DATA to the folder holding it")
    return d


def _check_structure(res: pd.DataFrame) -> None:
    assert res.columns.tolist() == COLUMNS
    assert res["method"].unique().tolist() == METHODS
    assert sorted(res["k"].unique().tolist()) == [10, 50, 100]
    assert res["precision"].between(0, 1).all() and res["reach_share"].between(0, 1).all()
    assert res["spearman"].dropna().between(-1, 1).all()
    assert res.attrs["n_events_past"] > 0 and res.attrs["n_events_future"] > 0
    assert (res["n_eligible"] == res.attrs["n_eligible"]).all() and res.attrs["n_eligible"] > 100
    assert res.attrs["total_future_reach"] > 0
    # the target of issue 13: the default ranking is at least as good as every simple rule at
    # precision@50, over the same eligible users (aggregate figures only; see docs/benchmarks.md)
    p50 = res[res["k"] == 50].set_index("method")["precision"]
    assert p50["koc"] >= p50.drop("koc").max()


@pytest.mark.realdata
def test_backtest_douban() -> None:
    d = _data_folder("douban", "cascades.txt", "social_rawid.txt")
    res = kocgraph.evaluate.backtest(kg.datasets.read_douban(d))
    _check_structure(res)
    assert res.attrs["split_by"] == "time" and res.attrs["koc_fit"]["fell_back"] is False


@pytest.mark.realdata
def test_backtest_weibo() -> None:
    d = _data_folder("weibo-deephawkes-sample", "dataset.txt")
    res = kocgraph.evaluate.backtest(kg.datasets.read_weibo_deephawkes(d))
    _check_structure(res)
    # 30 messages: too thin for the blend (fewer than two cuts with 30 spreaders); a rule was chosen
    assert res.attrs["koc_fit"]["fallback"] == "rule"


@pytest.mark.realdata
def test_backtest_stackexchange_splits_by_item() -> None:
    d = _data_folder("stackexchange-christianity", "train.txt", "val.txt", "test.txt", "graph.txt")
    res = kocgraph.evaluate.backtest(kg.datasets.read_stackexchange(d))
    _check_structure(res)
    assert res.attrs["split_by"] == "item" and "relative times" in res.attrs["split_reason"]


@pytest.mark.realdata
def test_backtest_higgs() -> None:
    d = _data_folder("higgs-twitter", "higgs-activity_time.txt.gz")
    res = kocgraph.evaluate.backtest(kg.datasets.read_higgs(d))
    _check_structure(res)
    assert res.attrs["n_kol_excluded"] > 0  # KOL-size accounts are left out of every method


@pytest.mark.realdata
@pytest.mark.parametrize("name, reader, files", [
    ("douban", kg.datasets.read_douban, ("cascades.txt", "social_rawid.txt")),
    ("weibo-deephawkes-sample", kg.datasets.read_weibo_deephawkes, ("dataset.txt",)),
    ("higgs-twitter", kg.datasets.read_higgs, ("higgs-activity_time.txt.gz",)),
])
def test_at_least_the_best_rule_at_every_outer_time_split(name: str, reader: Any, files: tuple[str, ...]) -> None:
    # beyond the table's one split: at 60, 65, 70, 75 and 80% of each real log with a clock, the
    # default ranking is at least the best simple rule at precision@50 (measured with five inner cuts;
    # with three it was behind on two of these 15 splits; docs/benchmarks.md, "Beyond the one split")
    g = reader(_data_folder(name, *files))
    for frac in (0.6, 0.65, 0.7, 0.75, 0.8):
        res = kocgraph.evaluate.backtest(g, split=frac, k=(50,), rng=0)
        p50 = res.set_index("method")["precision"]
        assert p50["koc"] >= p50.drop("koc").max(), (name, frac)
