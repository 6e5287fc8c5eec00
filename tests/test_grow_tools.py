"""Tests of the grow tools: kg.tl.simulate, kg.tl.seeds, kg.get.seeds, kg.evaluate.compare_seeds, kg.pl.spread.

Graphs with chosen probabilities are built with ``kg.read_log`` on explicit edges, then
``g.edges["tie_strength"]`` is set by hand; bigger ones come from ``kg.datasets.synthetic``.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kocgraph as kg
import kocgraph.evaluate
from kocgraph.exceptions import InvalidParameterError, NodeNotFoundError, NotComputedError

T0 = 1_767_225_600
SETTINGS = settings(max_examples=20, deadline=None)


def graph_from_edges(edges, p):
    """A ShareGraph with one forward per edge ``(u, v)`` (user ids are the given strings) and
    ``g.edges["tie_strength"]`` set to ``p`` (a number or one per edge)."""
    src = [u for u, _ in edges]
    dst = [v for _, v in edges]
    df = pd.DataFrame({"source": src, "target": dst, "item": [f"i{j}" for j in range(len(edges))],
                       "time": T0 + np.arange(len(edges))})
    g = kg.read_log(df)
    p = np.broadcast_to(np.asarray(p, float), (len(edges),))
    lookup = {(u, v): q for (u, v), q in zip(edges, p, strict=True)}
    names = g.nodes.index
    g.edges["tie_strength"] = [lookup[(names[a], names[b])] for a, b in zip(g.codes.edge_src, g.codes.edge_tgt,
                                                                              strict=True)]
    return g


def star(centre, leaves):
    return [(centre, leaf) for leaf in leaves]


@pytest.fixture(scope="module")
def synth():
    g = kg.datasets.synthetic(10_000, 195, rng=0)
    kg.tl.tie_strength(g)
    return g


# ------------------------------------------------------------------------------------------ known answers
def test_star_centre_is_the_seed():
    g = graph_from_edges(star("hub", [f"l{j}" for j in range(8)]), 0.4)
    kg.tl.seeds(g, k=1, rng=0)
    t = kg.get.seeds(g)
    assert t["user"].tolist() == ["hub"]
    # sigma({hub}) = 1 + 0.4 * 8 = 4.2
    assert t.loc[0, "spread"] == pytest.approx(4.2, abs=0.3)
    # the simulated mean (n_check = 200 runs) within 4 standard errors of 4.2; the standard error is the
    # 95% interval's half-width / 1.96 (the interval itself misses 4.2 in 5% of rng streams)
    se = (t.loc[0, "spread_hi"] - t.loc[0, "spread_lo"]) / (2 * 1.96)
    assert abs(t.loc[0, "spread_sim"] - 4.2) <= 4 * se


def test_two_disjoint_stars_both_centres():
    g = graph_from_edges(star("a", [f"a{j}" for j in range(6)]) + star("b", [f"b{j}" for j in range(4)]), 0.5)
    kg.tl.seeds(g, k=2, rng=3)
    assert kg.get.seeds(g)["user"].tolist() == ["a", "b"]


def test_beyond_staff_picks_what_staff_do_not_reach():
    # the staff account reaches star a's centre for sure; the best *extra* reach is then star b
    edges = [("staff", "a")] + star("a", [f"a{j}" for j in range(6)]) + star("b", [f"b{j}" for j in range(3)])
    g = graph_from_edges(edges, 1.0)
    kg.tl.seeds(g, k=1, rng=0)
    assert kg.get.seeds(g)["user"].tolist() == ["staff"]  # 8 users
    kg.tl.seeds(g, k=1, exclude_reached_by=["staff"], rng=0)
    t = kg.get.seeds(g)
    assert t["user"].tolist() == ["b"]
    assert t.loc[0, "spread"] == pytest.approx(4, abs=0.3)  # RR estimate of {b, b0, b1, b2}
    assert t.loc[0, "spread_sim"] == 4  # certain edges: every run reaches exactly 4
    assert "beyond the staff's own reach" in t.loc[0, "why"]
    assert g.meta["seeds"]["params"]["n_excluded"] == 1


# ------------------------------------------------------------------------------------------ seeds
def test_seeds_meta_table_and_getter(synth):
    g = synth.copy()
    staff = g.meta["synthetic"]["staff"]
    kg.tl.seeds(g, k=10, epsilon=0.2, exclude_reached_by=staff, rng=0)
    m = g.meta["seeds"]
    assert m["bound"] == pytest.approx(1 - 1 / math.e - 0.2)
    assert m["probability"] == pytest.approx(1 - 1 / g.n_users)
    # OPIM-C: R2 holds theta RR sets, R1 twice as many; it stopped on its certificate, not on the cap
    assert m["n_rr_sets"] == 3 * m["theta"] > 0 and not m["theta_capped"] and 2 * m["theta"] <= m["theta_max"]
    assert len(m["marginal_gains"]) == 10 and m["method"] == "OPIM-C"
    assert m["bound"] <= m["certified_ratio"] <= 1
    assert "0.432 x optimum" in m["guarantee"] and f"certifies >= {m['certified_ratio']:.3f}" in m["guarantee"]
    # RR roots are drawn from the users the staff do not reach for certain: fewer than all, staff excluded
    assert 0 < m["n_roots"] <= g.n_users - len(staff)
    # marginal gains are estimated on the collection that did not choose the seeds: >= 0, not
    # necessarily decreasing; the lower confidence bound sits below their sum, the optimum's upper above
    gains = np.array(m["marginal_gains"])
    assert (gains >= 0).all() and m["lower_bound"] <= gains.sum() <= m["opt_upper"]
    t = kg.get.seeds(g)
    assert list(t.columns) == ["order", "user", "marginal_gain", "spread", "spread_sim", "spread_lo", "spread_hi",
                               "cost", "why"]
    assert t["order"].tolist() == list(range(1, 11))
    assert not set(t["user"]) & set(staff)
    assert np.allclose(t["marginal_gain"], gains) and np.allclose(t["spread"], np.cumsum(gains))
    # the simulated cumulative spread of the prefixes is paired: it never decreases
    assert (np.diff(t["spread_sim"]) >= 0).all() and (t["spread_lo"] <= t["spread_sim"]).all()
    # the RR estimate and the simulation agree on the full set
    assert t["spread"].iloc[-1] == pytest.approx(t["spread_sim"].iloc[-1], rel=0.1)
    for r in t.itertuples():
        assert r.why.startswith(f"adds about {r.marginal_gain:,.0f} users not reached by the earlier seeds")
    # seeds_order on the nodes
    order = g.nodes["seeds_order"]
    assert order.notna().sum() == 10 and order.loc[t["user"].iloc[0]] == 1


def test_n_check_zero_skips_simulation(synth):
    g = synth.copy()
    kg.tl.seeds(g, k=3, n_check=0, rng=0)
    t = kg.get.seeds(g)
    assert "spread_sim" not in t.columns and len(t) == 3


def test_same_rng_same_seeds_and_simulation(synth):
    a, b = synth.copy(), synth.copy()
    kg.tl.seeds(a, k=5, rng=11)
    kg.tl.seeds(b, k=5, rng=11)
    pd.testing.assert_frame_equal(kg.get.seeds(a), kg.get.seeds(b))
    users = kg.get.seeds(a)["user"].tolist()
    kg.tl.simulate(a, users, n=200, rng=4)
    kg.tl.simulate(b, users, n=200, rng=np.random.default_rng(4))
    assert np.array_equal(a.nodes["simulate_p"], b.nodes["simulate_p"])
    assert a.meta["simulate"]["spread"] == b.meta["simulate"]["spread"]
    assert a.meta["simulate"]["ci"] == b.meta["simulate"]["ci"]


def test_candidates_respected(synth):
    g = synth.copy()
    pool = g.nodes.index[100:400].tolist()
    kg.tl.seeds(g, k=5, candidates=pool, rng=0)
    assert set(kg.get.seeds(g)["user"]) <= set(pool)
    assert g.meta["seeds"]["params"]["n_candidates"] == 300


def test_budget_with_costs_from_followers(synth):
    g = synth.copy()
    # cost grows with audience: 1 + number of distinct receivers / 10
    out = np.bincount(g.codes.edge_src, minlength=g.n_users)
    g.nodes["cost"] = 1.0 + out / 10
    kg.tl.seeds(g, budget=12.0, exclude_reached_by=g.meta["synthetic"]["staff"], rng=0)
    t = kg.get.seeds(g)
    assert t["cost"].sum() <= 12.0 + 1e-9 and len(t) >= 1
    assert np.allclose(t["cost"], g.nodes["cost"].loc[t["user"]].to_numpy())
    m = g.meta["seeds"]
    assert m["method"] == "OPIM-C (budgeted greedy)"
    assert m["bound"] == pytest.approx((1 - 1 / math.e) / 2 - 0.1)
    assert all("per unit of cost" in w for w in t["why"])


@given(st.sampled_from([0.0, -1.0, -0.5, float("nan"), float("inf")]), st.integers(0, 9))
@SETTINGS
def test_bad_cost_rejected_naming_the_user(bad, who):
    g = graph_from_edges(star("hub", [f"l{j}" for j in range(9)]), 0.5)
    g.nodes["cost"] = 1.0
    name = g.nodes.index[who]
    g.nodes.loc[name, "cost"] = bad
    with pytest.raises(InvalidParameterError) as exc:
        kg.tl.seeds(g, k=2, budget=3.0, rng=0)
    msg = str(exc.value)
    assert repr(name) in msg and "positive" in msg


def test_budget_needs_cost_column_and_positive_budget(toy):
    with pytest.raises(InvalidParameterError, match="cost per user in g.nodes"):
        kg.tl.seeds(toy, budget=5.0)
    toy.nodes["price"] = 2.0
    with pytest.raises(InvalidParameterError, match="must be > 0"):
        kg.tl.seeds(toy, budget=0, cost="price")
    kg.tl.seeds(toy, budget=5.0, cost="price", rng=0)
    assert kg.get.seeds(toy)["cost"].sum() <= 5.0


def test_budget_below_every_cost_gives_an_empty_table():
    g = graph_from_edges(star("hub", ["x", "y"]), 0.5)
    g.nodes["cost"] = 10.0
    kg.tl.seeds(g, budget=1.0, rng=0)
    t = kg.get.seeds(g)
    assert len(t) == 0 and "spread_sim" in t.columns and g.nodes["seeds_order"].isna().all()


@st.composite
def small_logs(draw):
    n = draw(st.integers(3, 9))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda t: t[0] != t[1]),
                          min_size=2, max_size=20, unique=True))
    p = draw(st.lists(st.floats(0.1, 1.0), min_size=len(pairs), max_size=len(pairs)))
    return [(f"u{a}", f"u{b}") for a, b in pairs], p


@given(small_logs(), st.data())
@SETTINGS
def test_constraints_respected_on_random_graphs(log, data):
    edges, p = log
    g = graph_from_edges(edges, p)
    users = g.nodes.index.tolist()
    costs = data.draw(st.lists(st.floats(0.2, 4.0), min_size=len(users), max_size=len(users)))
    g.nodes["cost"] = costs
    budget = data.draw(st.floats(0.5, 8.0))
    staff = data.draw(st.lists(st.sampled_from(users), max_size=2, unique=True))
    pool = data.draw(st.lists(st.sampled_from(users), min_size=1, unique=True))
    kg.tl.seeds(g, budget=budget, candidates=pool, exclude_reached_by=staff or None, n_check=20, rng=0)
    t = kg.get.seeds(g)
    assert t["cost"].sum() <= budget + 1e-9
    assert set(t["user"]) <= set(pool) and not set(t["user"]) & set(staff)
    kg.tl.seeds(g, k=2, candidates=pool, exclude_reached_by=staff or None, n_check=20, rng=0, key_added="s2")
    t2 = kg.get.seeds(g, key="s2")
    assert len(t2) <= 2 and set(t2["user"]) <= set(pool) and not set(t2["user"]) & set(staff)
    assert (np.diff(t2["spread_sim"]) >= 0).all()


def test_seeds_bad_input(toy):
    with pytest.raises(InvalidParameterError, match="epsilon"):
        kg.tl.seeds(toy, epsilon=0.9)
    with pytest.raises(InvalidParameterError):
        kg.tl.seeds(toy, k=0)
    with pytest.raises(NodeNotFoundError, match="nobody"):
        kg.tl.seeds(toy, exclude_reached_by=["nobody"])
    with pytest.raises(NotComputedError, match="kg.tl.seeds"):
        kg.get.seeds(toy)
    toy.edges["bad"] = 2.0
    with pytest.raises(InvalidParameterError, match=r"\[0, 1\]"):
        kg.tl.seeds(toy, weight="bad")


# ------------------------------------------------------------------------------------------ simulate
def test_simulate_known_star():
    g = graph_from_edges(star("hub", [f"l{j}" for j in range(20)]), 0.5)
    kg.tl.simulate(g, ["hub"], n=3000, rng=0)
    m = g.meta["simulate"]
    assert m["ci"][0] <= 11 <= m["ci"][1]  # 1 + 0.5 * 20
    assert m["std"] == pytest.approx(math.sqrt(5), rel=0.1) and m["params"]["n"] == 3000
    p = g.nodes["simulate_p"]
    assert p.loc["hub"] == 1.0 and np.allclose(p.drop("hub"), 0.5, atol=0.05)
    kg.tl.simulate(g, "hub", model="lt", n=500, rng=0, key_added="lt")
    # LT: each leaf has one in-edge of weight 0.5 -> active with probability 0.5 too
    assert g.meta["lt"]["ci"][0] <= 11 <= g.meta["lt"]["ci"][1]
    assert g.meta["lt"]["params"]["model"] == "lt"


def test_simulate_computes_tie_strength_and_validates(toy):
    assert "tie_strength" not in toy.edges.columns
    kg.tl.simulate(toy, ["brand"], n=50, rng=0)
    assert "tie_strength" in toy.edges.columns and toy.meta["simulate"]["computed"] == ["tie_strength"]
    with pytest.raises(InvalidParameterError):
        kg.tl.simulate(toy, ["brand"], model="sir")
    with pytest.raises(InvalidParameterError, match="level"):
        kg.tl.simulate(toy, ["brand"], level=1.5)
    with pytest.raises(NodeNotFoundError):
        kg.tl.simulate(toy, ["ghost"])
    h = kg.tl.simulate(toy, ["alice"], n=20, copy=True, key_added="c")
    assert "c_p" in h.nodes.columns and "c_p" not in toy.nodes.columns


# ------------------------------------------------------------------------------------------ compare + plot
@pytest.fixture(scope="module")
def compared(synth):
    g = synth.copy()
    t = kg.evaluate.compare_seeds(g, k=[5, 20], staff=g.meta["synthetic"]["staff"], n=300, rng=0)
    return g, t


def test_compare_seeds_table(compared):
    g, t = compared
    assert list(t.columns) == ["strategy", "k", "spread", "lo", "hi", "gain_vs_degree"]
    assert len(t) == 2 * len(kg.evaluate.STRATEGIES)
    assert t.groupby("k")["strategy"].apply(list).to_dict() == {5: list(kg.evaluate.STRATEGIES),
                                                                20: list(kg.evaluate.STRATEGIES)}
    assert t.attrs["paired"] and t.attrs["n"] == 300
    assert (t.loc[t["strategy"] == "degree", "gain_vs_degree"] == 0).all()
    assert ((t["lo"] <= t["spread"]) & (t["spread"] <= t["hi"])).all()
    pd.testing.assert_frame_equal(g.tables["compare_seeds"], t)
    # more seeds, more reach (paired prefixes of the same ranking)
    for s in kg.evaluate.STRATEGIES:
        sub = t[t["strategy"] == s].set_index("k")["spread"]
        assert sub[20] >= sub[5]


def test_imm_beats_degree_at_larger_k(compared):
    _, t = compared
    row = t[(t["strategy"] == "imm") & (t["k"] == 20)].iloc[0]
    deg = t[(t["strategy"] == "degree") & (t["k"] == 20)].iloc[0]
    assert row["spread"] >= deg["spread"] - (deg["hi"] - deg["spread"])
    assert row["gain_vs_degree"] == pytest.approx(row["spread"] - deg["spread"])
    # IMM is the best strategy at k = 20, within the interval
    best = t[t["k"] == 20]["spread"].max()
    assert row["spread"] >= best - (row["hi"] - row["spread"])


def test_compare_seeds_without_staff_and_bad_input(toy):
    t = kg.evaluate.compare_seeds(toy, k=2, strategies=("imm", "degree"), n=50)
    assert t["strategy"].tolist() == ["imm", "degree"] and (t["spread"] >= 2).all()  # seeds count themselves
    with pytest.raises(InvalidParameterError, match="unknown strategies"):
        kg.evaluate.compare_seeds(toy, k=2, strategies=("imm", "astrology"))
    with pytest.raises(InvalidParameterError):
        kg.evaluate.compare_seeds(toy, k=0)


def test_compare_seeds_same_rng_same_table(toy):
    a = kg.evaluate.compare_seeds(toy, k=[1, 3], staff=["brand"], n=60, rng=5)
    b = kg.evaluate.compare_seeds(kg.datasets.toy(), k=[1, 3], staff=["brand"], n=60, rng=5)
    pd.testing.assert_frame_equal(a, b)


def test_pl_spread_returns_axes(compared):
    g, t = compared
    ax = kg.pl.spread(g)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert sorted(ax.kocgraph["strategies"]) == sorted(kg.evaluate.STRATEGIES) and ax.kocgraph["ks"] == [5, 20]
    assert len(ax.get_lines()) == len(kg.evaluate.STRATEGIES)
    plt.close("all")
    with pytest.raises(NotComputedError, match="compare_seeds"):
        kg.pl.spread(kg.datasets.toy())


# ------------------------------------------------------------------------------ the seeding benchmark
def _bench_seeds():
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    if str(bench) not in sys.path:
        sys.path.insert(0, str(bench))
    import bench_seeds

    return bench_seeds


def test_bench_seeds_smoke_every_stage_sound() -> None:
    # structure and soundness only (IMM vs CELF spreads, simulators agreeing), never a time limit
    bs = _bench_seeds()
    res, problems = bs.smoke()
    assert problems == []
    (s,) = res["sizes"].values()
    assert set(s) == set(bs.STAGES) and all(st["ok"] for st in s.values())
    assert s["imm"]["median"]["n_rr_sets"] > 0 and s["seeds_staff"]["median"]["method"] == "OPIM-C"
    # OPIM-C against the IMM kernel it replaced, in the same worlds, for both cases, with the table
    c = s["compare"]["median"]
    for pair in ("plain", "staff"):
        assert c[f"{pair}_new_spread"] > 0 and c[f"{pair}_old_spread"] > 0 and c[f"{pair}_diff_se"] >= 0
    table = bs.format_table(res)
    assert "IMM/OPIM" in table and "beyond the staff / plain seeding" in table


def test_bench_seeds_smoke_fails_when_a_stage_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    bs = _bench_seeds()

    def broken(g, **kw):
        raise RuntimeError("seeding broke")

    monkeypatch.setitem(bs.STAGE_FUNCS, "seeds_staff", broken)
    res, problems = bs.smoke()
    assert any("seeds_staff" in p for p in problems), problems
    assert set(res["sizes"]["smoke"]["compare"]["median"]) >= {"plain_diff"}  # the other pair still compared
    assert "staff_diff" not in res["sizes"]["smoke"]["compare"]["median"]


def test_bench_seeds_compare_flags_worse_seeds() -> None:
    bs = _bench_seeds()
    m = {"plain_new_spread": 90.0, "plain_old_spread": 100.0, "plain_diff": -10.0, "plain_diff_se": 1.0,
         "total_s": 1.0}
    res = {"sizes": {"x": {"compare": {"ok": True, "median": m}}}}
    assert any("well below IMM" in p for p in bs.check(res))
    m.update(plain_diff=-2.0)  # within 2% + 4 standard errors: noise
    assert bs.check(res) == []


def test_seeds_when_the_staff_reach_nearly_everyone():
    # staff -> a with p = 0.999 (a is unreached with probability 0.001), a -> b certain: the best partner
    # adds at most 0.001 * 2 = 0.002 users. No multiplicative certificate is worth its RR sets here, so
    # sampling stops once no choice can add even one user, and the meta says so.
    g = graph_from_edges([("staff", "a"), ("a", "b")], [0.999, 1.0])
    kg.tl.seeds(g, k=1, exclude_reached_by=["staff"], n_check=0, rng=0)
    m = g.meta["seeds"]
    assert m["negligible"] and not m["theta_capped"] and m["opt_upper"] < 1
    assert m["guarantee"].startswith("no choice of partners adds as much as one user")
    assert m["n_roots"] == 2  # a and b: neither is reached for certain
    # the same graph with a certain first edge: the staff reach everyone, nobody can add reach
    g = graph_from_edges([("staff", "a"), ("a", "b")], [1.0, 1.0])
    kg.tl.seeds(g, k=1, exclude_reached_by=["staff"], rng=0)
    assert len(kg.get.seeds(g)) == 0 and g.meta["seeds"]["n_roots"] == 0
