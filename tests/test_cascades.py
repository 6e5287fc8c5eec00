"""kg.tl.cascades and kocgraph.algorithms.cascades: known answers, networkx cross-checks, properties."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import (
    PROPERTY,
    PROPERTY_SMALL,
    T0,
    forest_digraph,
    forward_logs,
    nx_item_figures,
    nx_user_figures,
    random_log,
    reference_clean,
    reference_forests,
)

import kocgraph as kg
from kocgraph.algorithms.cascades import build_forest, depths_and_roots, item_metrics, subtree_sizes, user_metrics

MIN = pd.Timedelta(minutes=1)

# ================================================================================================
# Known answers on the toy log (kocgraph/datasets/data/toy.csv), worked out by hand.
#
# Rule: events in (time, row) order; a user's first receipt (before any send of its own) makes it
# the child of that event's sender; any later receipt is an exposure. Rows are numbered from 0.
#
# poster (rows 0-10, 27)
#   r0  09:00 brand->alice   brand never receives the poster: root. alice: child of brand
#   r1  09:05 brand->bob     bob: child of brand
#   r2  09:10 alice->carol   carol: child of alice
#   r3  09:12 alice->dave    dave: child of alice
#   r4  09:15 alice->erin    erin: child of alice
#   r5  09:20 carol->frank   frank: child of carol
#   r6  09:25 carol->grace   grace: child of carol
#   r7  09:30 bob->carol     EXPOSURE (carol holds since 09:10)
#   r8  09:40 frank->heidi   heidi: child of frank
#   r9  09:45 heidi->alice   EXPOSURE (closes the loop alice->carol->frank->heidi->alice: no cycle)
#   r10 09:50 grace->ivan    ivan: child of grace
#   r27 12:00 alice->erin    EXPOSURE (the purchase event)
#
#   brand (d0, subtree 10)
#   |-- alice (d1, 8)
#   |   |-- carol (d2, 5)
#   |   |   |-- frank (d3, 2)
#   |   |   |   `-- heidi (d4, 1)
#   |   |   `-- grace (d3, 2)
#   |   |       `-- ivan (d4, 1)
#   |   |-- dave (d2, 1)
#   |   `-- erin (d2, 1)
#   `-- bob (d1, 1)
#   size 10; depth 4; holders per depth 1,2,3,2,2 -> max_breadth 3; 1 root;
#   start 09:00 (brand's first send), last join 09:50 (ivan) -> duration 50 min.
#   Virality = mean distance over the 45 pairs. Distance sums per node (sum of hops to the 9 others):
#     brand  A1 bob1 C2 D2 E2 F3 G3 H4 I4                = 22
#     alice  brand1 bob2 C1 D1 E1 F2 G2 H3 I3            = 16
#     bob    brand1 A2 C3 D3 E3 F4 G4 H5 I5              = 30
#     carol  A1 brand2 bob3 D2 E2 F1 G1 H2 I2            = 16
#     dave   A1 brand2 bob3 C2 E2 F3 G3 H4 I4            = 24
#     erin   (as dave)                                   = 24
#     frank  C1 H1 G2 I3 A2 D3 E3 brand3 bob4            = 22
#     grace  (as frank)                                  = 22
#     heidi  F1 C2 G3 I4 A3 D4 E4 brand4 bob5            = 30
#     ivan   (as heidi)                                  = 30
#   total 236 = 2 x 118 over 45 pairs -> 118/45 = 2.6222...
#   (check with subtree sizes s, n=10: sum s(n-s) = 16+9+25+9+9+16+16+9+9 = 118.)
#
# coupon (rows 11-18, 28)
#   r11 10:00 staff_li->alice  staff_li root; alice child of staff_li (her coupon sends come later)
#   r12 10:05 alice->judy      judy: child of alice
#   r13 10:06 alice->carol     carol: child of alice
#   r14 10:20 judy->ken        ken: child of judy
#   r15 10:25 judy->liam       liam: child of judy
#   r16 10:35 ken->mia         mia: child of ken
#   r17 10:40 carol->mia       EXPOSURE
#   r18 10:45 liam->judy       EXPOSURE (the 2-cycle judy->liam->judy)
#   r28 12:10 judy->ken        EXPOSURE (purchase)
#
#   staff_li (d0, 7)
#   `-- alice (d1, 6)
#       |-- judy (d2, 4)
#       |   |-- ken (d3, 2)
#       |   |   `-- mia (d4, 1)
#       |   `-- liam (d3, 1)
#       `-- carol (d2, 1)
#   size 7; depth 4; per depth 1,1,2,2,1 -> max_breadth 2; 1 root; 10:00 -> 10:35 = 35 min.
#   Distance sums: staff_li 1+2+2+3+3+4=15, alice 1+1+1+2+2+3=10, judy 1+1+1+2+2+2=9,
#     ken 1+1+2+2+3+3=12, mia 1+2+3+3+4+4=17, liam 1+2+2+3+3+3=14, carol 1+2+2+3+3+4=15
#   total 92 = 2 x 46 over 21 pairs -> 46/21 = 2.190476...
#
# article (rows 19-26, 29)
#   r19 11:00 bob->nina     bob never receives the article: root. nina: child of bob
#   r20 11:05 bob->oscar    oscar: child of bob
#   r21 11:10 nina->alice   alice: child of nina
#   r22 11:15 alice->carol  carol: child of alice
#   r23 11:20 alice->dave   dave: child of alice
#   r24 11:30 carol->erin   erin: child of carol
#   r25 11:40 oscar->carol  EXPOSURE
#   r26 11:50 dave->grace   grace: child of dave
#   r29 12:20 carol->erin   EXPOSURE (purchase)
#
#   bob (d0, 8)
#   |-- nina (d1, 6)
#   |   `-- alice (d2, 5)
#   |       |-- carol (d3, 2)
#   |       |   `-- erin (d4, 1)
#   |       `-- dave (d3, 2)
#   |           `-- grace (d4, 1)
#   `-- oscar (d1, 1)
#   size 8; depth 4; per depth 1,2,1,2,2 -> max_breadth 2; 1 root; 11:00 -> 11:50 = 50 min.
#   Distance sums: bob 1+1+2+3+3+4+4=18, nina 1+1+2+2+2+3+3=14, oscar 1+2+3+4+4+5+5=24,
#     alice 1+1+1+2+2+2+3=12, carol 1+1+2+2+3+3+4=16, erin 1+2+3+3+4+4+5=22, dave 16, grace 22
#   total 144 = 2 x 72 over 28 pairs -> 72/28 = 2.571428...
#
# 30 events, 22 tree links (9 + 6 + 7), 8 exposures (3 + 3 + 2), 25 holders, 3 roots.
# ================================================================================================

TOY_ITEMS = {
    #          size depth breadth  virality     roots root        start    duration
    "poster": (10, 4, 3, 118 / 45, 1, "brand", "09:00", 50),
    "coupon": (7, 4, 2, 46 / 21, 1, "staff_li", "10:00", 35),
    "article": (8, 4, 2, 72 / 28, 1, "bob", "11:00", 50),
}

# reach = descendants summed over items; direct_reach = children summed over items
TOY_USERS = {
    #            reach direct started received
    "brand": (9, 2, 1, 0),       # poster: 9 below brand; children alice, bob
    "alice": (16, 7, 0, 3),      # poster 7 (carol dave erin frank grace heidi ivan) + coupon 5
                                 # (judy ken liam mia carol) + article 4 (carol erin dave grace);
                                 # children 3 + 2 + 2
    "bob": (7, 2, 1, 1),         # poster leaf; article root with 7 below (children nina, oscar)
    "carol": (5, 3, 0, 3),       # poster 4 (frank heidi grace ivan), coupon leaf, article 1 (erin)
    "dave": (1, 1, 0, 2),        # poster leaf; article 1 (grace)
    "erin": (0, 0, 0, 2),        # poster leaf, article leaf
    "frank": (1, 1, 0, 1),       # poster: heidi
    "grace": (1, 1, 0, 2),       # poster: ivan; article leaf
    "heidi": (0, 0, 0, 1),       # her forward to alice is an exposure
    "ivan": (0, 0, 0, 1),
    "staff_li": (6, 1, 1, 0),    # coupon: 6 below; child alice
    "judy": (3, 2, 0, 1),        # coupon: ken, liam, mia; children ken, liam
    "ken": (1, 1, 0, 1),         # coupon: mia
    "liam": (0, 0, 0, 1),        # forward back to judy is an exposure
    "mia": (0, 0, 0, 1),
    "nina": (5, 1, 0, 1),        # article: alice carol dave erin grace; child alice
    "oscar": (0, 0, 0, 1),       # forward to carol is an exposure
}


def test_toy_item_figures_known_answer(toy_cascades):
    g = toy_cascades
    assert sorted(g.items.index) == sorted(TOY_ITEMS)
    for item, (size, depth, breadth, vir, roots, root, start, dur) in TOY_ITEMS.items():
        row = g.items.loc[item]
        assert row["size"] == size, item
        assert row["depth"] == depth, item
        assert row["max_breadth"] == breadth, item
        assert row["virality"] == pytest.approx(vir, rel=1e-12), item
        assert row["n_roots"] == roots, item
        assert row["root"] == root, item
        assert row["start"] == pd.Timestamp(f"2026-01-01T{start}:00Z"), item
        assert row["duration"] == dur * MIN, item
    for col in ("size", "depth", "max_breadth", "n_roots"):
        assert g.items[col].dtype == np.int64


def test_toy_user_figures_known_answer(toy_cascades):
    g = toy_cascades
    assert sorted(g.nodes.index) == sorted(TOY_USERS)
    got = g.nodes[["reach", "direct_reach", "items_started", "items_received"]]
    for user, want in TOY_USERS.items():
        assert tuple(int(x) for x in got.loc[user]) == want, user
    # identities: total reach = sum of depths (22 + 15 + 18 = 55); children = holders - roots = 22
    assert got["reach"].sum() == 55
    assert got["direct_reach"].sum() == 22
    assert got["items_started"].sum() == 3
    assert got["items_received"].sum() == 22


def test_toy_meta_edges_and_trees(toy_cascades):
    g = toy_cascades
    m = g.meta["cascades"]
    assert (m["n_holders"], m["n_tree_links"], m["n_exposures"], m["n_forwarded_before_receipt"]) == (25, 22, 8, 0)
    e = g.edges.set_index([g.edges["source"].astype(str), g.edges["target"].astype(str)])
    # exposure-only edges carry no tree link
    for pair in [("bob", "carol"), ("heidi", "alice"), ("carol", "mia"), ("liam", "judy"), ("oscar", "carol")]:
        assert e.loc[pair, "n_tree"] == 0, pair
    # alice->carol: the first receipt of poster, coupon and article -> 3 links
    assert tuple(e.loc[("alice", "carol"), ["n_forwards", "n_items", "n_tree"]]) == (3, 3, 3)
    # alice->erin: poster share + poster purchase (an exposure) -> 2 forwards, 1 item, 1 link
    assert tuple(e.loc[("alice", "erin"), ["n_forwards", "n_items", "n_tree"]]) == (2, 1, 1)
    assert tuple(e.loc[("judy", "ken"), ["n_forwards", "n_items", "n_tree"]]) == (2, 1, 1)
    assert e["n_tree"].sum() == 22
    t = g.trees
    assert len(t) == 25
    poster = t[t["item"] == "poster"].set_index("user")
    assert poster.loc["heidi", "parent"] == "frank"
    assert pd.isna(poster.loc["brand", "parent"])
    assert poster.loc["alice", "subtree_size"] == 8
    assert poster.loc["ivan", "depth"] == 4
    assert poster.loc["carol", "time"] == pd.Timestamp("2026-01-01T09:10:00Z")


def test_get_cascade_known_answer(toy_cascades):
    c = kg.get.cascade(toy_cascades, "coupon")
    assert list(c.columns) == ["user", "parent", "depth", "reach", "time"]
    # ordered by the time each user started to hold the coupon (see the coupon tree above)
    assert c["user"].tolist() == ["staff_li", "alice", "judy", "carol", "ken", "liam", "mia"]
    assert c["parent"].tolist()[1:] == ["staff_li", "alice", "alice", "judy", "judy", "ken"]
    assert pd.isna(c["parent"].iloc[0])
    assert c["depth"].tolist() == [0, 1, 2, 2, 3, 3, 4]
    assert c["reach"].tolist() == [6, 5, 3, 0, 1, 0, 0]
    with pytest.raises(kg.NodeNotFoundError, match="nope"):
        kg.get.cascade(toy_cascades, "nope")


def test_get_cascade_before_tl_says_run_cascades(toy):
    with pytest.raises(kg.NotComputedError, match=r"kg\.tl\.cascades"):
        kg.get.cascade(toy, "poster")


def test_toy_tree_times_and_ties_in_docstring_example(toy_cascades):
    # kg.tl.cascades docstring: poster [10, 4, 1], alice (16, 7)
    assert toy_cascades.items.loc["poster", ["size", "depth", "n_roots"]].tolist() == [10, 4, 1]


# ================================================================================================
# Small hand cases: ties, forward-before-receipt, cycles, no time column
# ================================================================================================
def _g(rows, **kw):
    df = pd.DataFrame(rows, columns=["source", "target", "item", "time"])
    g = kg.read_log(df, **kw)
    kg.tl.cascades(g)
    return g


def test_tie_in_time_goes_to_the_earlier_row():
    # a->c and b->c at the same second: row order decides c's parent
    g = _g([("a", "c", "x", T0), ("b", "c", "x", T0)], time_unit="s")
    assert kg.get.cascade(g, "x").set_index("user").loc["c", "parent"] == "a"
    g = _g([("b", "c", "x", T0), ("a", "c", "x", T0)], time_unit="s")
    assert kg.get.cascade(g, "x").set_index("user").loc["c", "parent"] == "b"


def test_two_cycle_is_an_exposure_not_a_cycle():
    # A->B at t1, B->A at t2: B is A's child; B->A is an exposure; A sent before receiving (fbr = 1)
    g = _g([("A", "B", "x", T0 + 1), ("B", "A", "x", T0 + 2)], time_unit="s")
    assert g.items.loc["x", ["size", "depth", "n_roots"]].tolist() == [2, 1, 1]
    assert g.items.loc["x", "virality"] == 1.0
    assert g.meta["cascades"]["n_exposures"] == 1
    assert g.meta["cascades"]["n_forwarded_before_receipt"] == 1
    assert g.nodes.loc["A", "reach"] == 1 and g.nodes.loc["B", "reach"] == 0
    assert g.edges["n_tree"].tolist() == [1, 0]  # edges sorted by code: A->B, B->A


def test_receiver_before_sender_held_it():
    # b forwards x to c at t=0 before b itself receives x from a at t=1:
    # b is a root (it sent first), a is a root, b's receipt at t=1 is an exposure.
    g = _g([("a", "b", "x", T0 + 1), ("b", "c", "x", T0), ("c", "d", "x", T0 + 2)], time_unit="s")
    c = kg.get.cascade(g, "x").set_index("user")
    assert pd.isna(c.loc["b", "parent"]) and pd.isna(c.loc["a", "parent"])
    assert c.loc["c", "parent"] == "b" and c.loc["d", "parent"] == "c"
    assert g.items.loc["x", "n_roots"] == 2
    assert g.meta["cascades"]["n_forwarded_before_receipt"] == 1
    assert g.meta["cascades"]["n_exposures"] == 1
    T = nx.DiGraph([(p, u) for u, p in c["parent"].items() if isinstance(p, str)])
    assert nx.is_directed_acyclic_graph(T)
    # forest virality: trees {b, c, d} (path: distances 1,1,2) and {a}: 2*(2+2)/(3*2) = 4/3
    assert g.items.loc["x", "virality"] == pytest.approx(4 / 3)
    assert g.items.loc["x", "root"] == "b"  # root of the largest tree


def test_long_cycle_of_forwards_never_makes_a_cycle():
    # a->b->c->d->a, then everyone forwards again in reverse: a tree of 4, 4 exposures
    rows = [("a", "b", "x", 1), ("b", "c", "x", 2), ("c", "d", "x", 3), ("d", "a", "x", 4),
            ("a", "d", "x", 5), ("d", "c", "x", 6), ("c", "b", "x", 7), ("b", "a", "x", 8)]
    g = _g([(s, t, i, T0 + k) for s, t, i, k in rows], time_unit="s")
    assert g.items.loc["x", ["size", "depth", "n_roots"]].tolist() == [4, 3, 1]
    assert g.meta["cascades"]["n_exposures"] == 5
    # path a-b-c-d: distances 1,2,3,1,2,1 -> 10/6
    assert g.items.loc["x", "virality"] == pytest.approx(10 / 6)


def test_without_time_column_row_order_is_time():
    df = pd.DataFrame({"source": ["b", "a"], "target": ["c", "c"], "item": ["x", "x"]})
    g = kg.read_log(df, time=None)
    kg.tl.cascades(g)
    assert kg.get.cascade(g, "x").set_index("user").loc["c", "parent"] == "b"
    assert "duration" not in g.items.columns and g.time_span is None


def test_single_holder_pair_figures():
    g = _g([("a", "b", "x", T0)], time_unit="s")
    assert g.items.loc["x", ["size", "depth", "max_breadth", "n_roots"]].tolist() == [2, 1, 1, 1]
    assert g.items.loc["x", "virality"] == 1.0
    assert g.items.loc["x", "duration"] == pd.Timedelta(0)


def test_virality_known_shapes_star_and_path():
    # star with k leaves (n = k+1): leaf-leaf pairs at 2, centre-leaf at 1 -> 2k/(k+1)
    k = 6
    g = _g([("hub", f"l{j}", "x", T0 + j) for j in range(k)], time_unit="s")
    assert g.items.loc["x", "virality"] == pytest.approx(2 * k / (k + 1))
    assert g.items.loc["x", "max_breadth"] == k
    # path of n nodes: mean distance (n+1)/3
    n = 7
    g = _g([(f"v{j}", f"v{j + 1}", "x", T0 + j) for j in range(n - 1)], time_unit="s")
    assert g.items.loc["x", "virality"] == pytest.approx((n + 1) / 3)
    assert g.items.loc["x", "depth"] == n - 1


def test_cascades_copy_leaves_original_alone(toy):
    out = kg.tl.cascades(toy, copy=True)
    assert isinstance(out, kg.ShareGraph)
    assert "reach" in out.nodes.columns and "reach" not in toy.nodes.columns
    assert "cascades" not in toy.meta and toy.trees is None
    assert kg.tl.cascades(toy) is None


def test_cascades_is_idempotent(toy_cascades):
    items, nodes = toy_cascades.items.copy(), toy_cascades.nodes.copy()
    kg.tl.cascades(toy_cascades)
    pd.testing.assert_frame_equal(items, toy_cascades.items)
    pd.testing.assert_frame_equal(nodes, toy_cascades.nodes)


def test_cascades_on_empty_graph(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("source,target,item,time\n")
    g = kg.read_log(p)
    kg.tl.cascades(g)
    assert len(g.items) == 0 and len(g.nodes) == 0 and len(g.trees) == 0
    assert g.meta["cascades"]["n_holders"] == 0


def test_kernels_on_empty_arrays():
    z = np.empty(0, dtype=np.int64)
    f = build_forest(z, z, z, z, 0)
    assert f.n == 0
    im = item_metrics(f, z, 0)
    assert all(v.shape == (0,) for v in im.values())
    um = user_metrics(f, 0)
    assert all(v.shape == (0,) for v in um.values())
    d, r = depths_and_roots(z)
    assert d.shape == r.shape == (0,)
    assert subtree_sizes(z, z.astype(np.int32)).shape == (0,)


def test_kernel_item_with_no_events_gets_zeros():
    # item code 1 has no event: size 0, virality NaN
    f = build_forest(np.array([0]), np.array([1]), np.array([0]), np.array([5]), 2)
    im = item_metrics(f, np.array([5]), 2)
    assert im["size"].tolist() == [2, 0]
    assert im["virality"][0] == 1.0 and math.isnan(im["virality"][1])


# ================================================================================================
# Cross-checks against the independent reference + networkx
# ================================================================================================
def _check_against_reference(df: pd.DataFrame, g: kg.ShareGraph) -> None:
    events = reference_clean(df)
    forests = reference_forests(events)
    assert g.n_events == len(events)
    assert sorted(map(str, g.items.index)) == sorted(map(str, forests))
    n_links = 0
    for item, f in forests.items():
        want = nx_item_figures(f)
        got = g.items.loc[item]
        assert got["size"] == want["size"], item
        assert got["depth"] == want["depth"], item
        assert got["max_breadth"] == want["max_breadth"], item
        assert got["n_roots"] == want["n_roots"], item
        if math.isnan(want["virality"]):
            assert math.isnan(got["virality"]), item
        else:
            assert got["virality"] == pytest.approx(want["virality"], rel=1e-9), item
        assert got["duration"] == pd.Timedelta(seconds=want["duration_s"]), item
        assert got["start"] == pd.Timestamp(want["start_s"], unit="s", tz="UTC"), item
        # the tree itself, and per-(item, user) reach = len(nx.descendants)
        casc = kg.get.cascade(g, item).set_index("user")
        T = forest_digraph(f)
        assert set(casc.index) == set(f["parent"])
        for u, p in f["parent"].items():
            assert (pd.isna(casc.loc[u, "parent"]) if p is None else casc.loc[u, "parent"] == p), (item, u)
            assert casc.loc[u, "reach"] == len(nx.descendants(T, u)), (item, u)
            assert casc.loc[u, "time"] == pd.Timestamp(f["hold"][u], unit="s", tz="UTC")
        n_links += sum(p is not None for p in f["parent"].values())
    users = nx_user_figures(forests)
    cols = ["reach", "direct_reach", "items_started", "items_received"]
    for u in g.nodes.index:
        assert tuple(int(x) for x in g.nodes.loc[u, cols]) == tuple(users[u][c] for c in cols), u
    m = g.meta["cascades"]
    assert m["n_tree_links"] == n_links
    assert m["n_exposures"] == sum(f["exposures"] for f in forests.values())
    assert m["n_forwarded_before_receipt"] == sum(f["fbr"] for f in forests.values())
    assert int(g.edges["n_tree"].sum()) == n_links


@PROPERTY
@given(forward_logs(min_events=1))
def test_cross_check_networkx_hypothesis(df):
    g = kg.read_log(df, time_unit="s")
    if g.n_events == 0:
        return
    kg.tl.cascades(g)
    _check_against_reference(df, g)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("ids", ["str", "int"])
def test_cross_check_networkx_seeded(seed, ids):
    df = random_log(seed, ids=ids, n_events=150 + 50 * seed)
    g = kg.read_log(df, time_unit="s")
    kg.tl.cascades(g)
    _check_against_reference(df, g)


def test_cross_check_on_synthetic_log():
    df = kg.datasets.synthetic_frame(400, 15, rng=3)[0]
    g = kg.read_log(df, time_unit="s")
    kg.tl.cascades(g)
    acc = g.events
    clean = pd.DataFrame({"source": acc["source"].astype(object), "target": acc["target"].astype(object),
                          "item": acc["item"].astype(object),
                          "time": acc["time"].astype("int64") // 10**9})
    _check_against_reference(clean, g)


@pytest.mark.parametrize("seed", range(6))
def test_virality_equals_networkx_on_trees_known_by_construction(seed):
    # a random recursive tree (node k's parent uniform among 0..k-1), forwarded parent -> child in
    # node order, then random exposures: the cascade must be exactly that tree
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    parent = [None] + [int(rng.integers(0, k)) for k in range(1, n)]
    rows = [(f"n{parent[k]}", f"n{k}", "x", T0 + k) for k in range(1, n)]
    for _ in range(int(rng.integers(0, 2 * n))):
        a, b = rng.integers(0, n, 2)
        if a != b:
            rows.append((f"n{a}", f"n{b}", "x", T0 + n + int(rng.integers(0, 100))))
    g = _g(rows, time_unit="s")
    T = nx.Graph([(f"n{parent[k]}", f"n{k}") for k in range(1, n)])
    assert g.items.loc["x", "virality"] == pytest.approx(nx.average_shortest_path_length(T), rel=1e-12)
    D = nx.DiGraph([(f"n{parent[k]}", f"n{k}") for k in range(1, n)])
    assert g.items.loc["x", "depth"] == max(nx.single_source_shortest_path_length(D, "n0").values())
    for u in D:
        assert g.nodes.loc[u, "reach"] == len(nx.descendants(D, u))
        assert g.nodes.loc[u, "direct_reach"] == D.out_degree(u)


# ================================================================================================
# Properties
# ================================================================================================
FIGURES = ["size", "depth", "max_breadth", "virality", "n_roots", "start", "duration"]
USER_FIGURES = ["reach", "direct_reach", "items_started", "items_received"]


@PROPERTY
@given(forward_logs(min_events=1), st.randoms(use_true_random=False), st.sampled_from(["str", "int", "emoji"]))
def test_relabelling_users_changes_no_figure(df, rnd, kind):
    users = sorted(set(df["source"]) | set(df["target"]))
    perm = list(range(len(users)))
    rnd.shuffle(perm)
    if kind == "str":
        new = {u: f"user_{perm[k]}" for k, u in enumerate(users)}
    elif kind == "int":
        new = {u: 2**62 + 7 * perm[k] for k, u in enumerate(users)}
    else:
        new = {u: "😀张" * (perm[k] + 1) for k, u in enumerate(users)}
    df2 = df.assign(source=df["source"].map(new), target=df["target"].map(new))
    g1, g2 = kg.read_log(df, time_unit="s"), kg.read_log(df2, time_unit="s")
    kg.tl.cascades(g1)
    kg.tl.cascades(g2)
    pd.testing.assert_frame_equal(g1.items[FIGURES], g2.items[FIGURES])
    assert g1.items["root"].astype(object).map(new).tolist() == g2.items["root"].astype(object).tolist()
    n1 = g1.nodes[USER_FIGURES].rename(index=new)
    pd.testing.assert_frame_equal(n1.sort_index(), g2.nodes[USER_FIGURES].sort_index(), check_names=False,
                                  check_index_type=False)
    assert g1.meta["cascades"] == g2.meta["cascades"]


@PROPERTY
@given(forward_logs(min_events=1, n_items=2), forward_logs(min_events=1, n_items=1), st.booleans())
def test_adding_an_unrelated_item_changes_no_other_item(df, other, new_users):
    other = other.assign(item="unrelated")
    if new_users:
        other = other.assign(source="z_" + other["source"], target="z_" + other["target"])
    both = pd.concat([df, other], ignore_index=True)
    g1, g2 = kg.read_log(df, time_unit="s"), kg.read_log(both, time_unit="s")
    kg.tl.cascades(g1)
    kg.tl.cascades(g2)
    pd.testing.assert_frame_equal(g1.items[FIGURES + ["root"]].astype({"root": object}),
                                  g2.items.loc[g1.items.index, FIGURES + ["root"]].astype({"root": object}))


@PROPERTY
@given(forward_logs(min_events=1))
def test_structural_identities(df):
    g = kg.read_log(df, time_unit="s")
    if g.n_events == 0:
        return
    kg.tl.cascades(g)
    t, it, nd = g.trees, g.items, g.nodes
    assert it["size"].sum() == len(t)
    assert nd["reach"].sum() == t["depth"].sum()                  # each holder counted once per ancestor
    assert nd["direct_reach"].sum() == len(t) - it["n_roots"].sum()
    assert nd["items_received"].sum() == nd["direct_reach"].sum()
    assert nd["items_started"].sum() == it["n_roots"].sum()
    assert (it["max_breadth"] <= it["size"]).all() and (it["depth"] < it["size"]).all()
    assert (it["n_roots"] >= 1).all()
    vir = it["virality"].to_numpy()
    ok = ~np.isnan(vir)
    assert (vir[ok] >= 1.0 - 1e-12).all() and (vir[ok] <= it["depth"].to_numpy()[ok] * 2 + 1e-12).all()
    m = g.meta["cascades"]
    assert m["n_tree_links"] + m["n_exposures"] == g.n_events
    # every tree is acyclic and every holder has one parent
    for item in it.index:
        c = kg.get.cascade(g, item)
        T = nx.DiGraph([(p, u) for u, p in zip(c["user"], c["parent"]) if not pd.isna(p)])
        assert nx.is_directed_acyclic_graph(T)
        assert c["user"].is_unique


@PROPERTY_SMALL
@given(forward_logs(min_events=2, max_time=10_000))
def test_row_order_does_not_matter_when_times_are_distinct(df):
    df = df.drop_duplicates(subset=["time"]).reset_index(drop=True)
    shuffled = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    g1, g2 = kg.read_log(df, time_unit="s"), kg.read_log(shuffled, time_unit="s")
    kg.tl.cascades(g1)
    kg.tl.cascades(g2)
    pd.testing.assert_frame_equal(g1.items[FIGURES].sort_index(), g2.items[FIGURES].sort_index())
    pd.testing.assert_frame_equal(g1.nodes[USER_FIGURES].sort_index(), g2.nodes[USER_FIGURES].sort_index())


@PROPERTY_SMALL
@given(forward_logs(min_events=1), st.data())
def test_a_late_exposure_changes_no_tree(df, data):
    g1 = kg.read_log(df, time_unit="s")
    if g1.n_events == 0:
        return
    kg.tl.cascades(g1)
    # someone forwards an item, after everything else, to a user who already holds it
    t = g1.trees
    holders = t.groupby("item", observed=True)["user"].apply(list)
    item = data.draw(st.sampled_from(sorted(holders.index)))
    recv = data.draw(st.sampled_from(holders[item]))
    sender = data.draw(st.sampled_from([u for u in ["a", "b", "c", "d", "e", "f", "g", "new"] if u != recv]))
    late = pd.DataFrame({"source": [sender], "target": [recv], "item": [item], "time": [df["time"].max() + 1]})
    g2 = kg.read_log(pd.concat([df, late], ignore_index=True), time_unit="s")
    kg.tl.cascades(g2)
    a = g1.trees[["item", "user", "parent", "depth", "subtree_size"]].astype(str)
    b = g2.trees[["item", "user", "parent", "depth", "subtree_size"]].astype(str)
    if sender == "new" or sender not in set(holders[item]):
        # the sender becomes a new one-holder root of that item; every old holder is unchanged
        b = b[~((b["item"] == str(item)) & (b["user"] == sender))]
    pd.testing.assert_frame_equal(a.sort_values(["item", "user"]).reset_index(drop=True),
                                  b.sort_values(["item", "user"]).reset_index(drop=True))
    assert g2.meta["cascades"]["n_exposures"] == g1.meta["cascades"]["n_exposures"] + 1
