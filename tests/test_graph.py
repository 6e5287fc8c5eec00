"""ShareGraph: tables, validate, repr, adjacency, igraph/networkx views, window, subgraph, lookups."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import PROPERTY_SMALL, forward_logs

import kocgraph as kg

TS = pd.Timestamp


# ------------------------------------------------------------------------------------------------ tables
def test_toy_tables(toy):
    assert list(toy.events.columns) == ["source", "target", "item", "time", "event_type", "channel", "value", "row"]
    assert toy.events["row"].tolist() == list(range(30))
    assert str(toy.events["time"].dt.tz) == "UTC"
    assert toy.nodes.index.name == "user" and toy.items.index.name == "item"
    assert toy.items.index.tolist() == ["poster", "coupon", "article"]
    assert list(toy.edges.columns) == ["source", "target", "n_forwards", "n_items", "first_time", "last_time"]
    assert toy.edges["n_forwards"].sum() == 30
    e = toy.edges.set_index([toy.edges["source"].astype(str), toy.edges["target"].astype(str)])
    # alice->carol: poster 09:10, coupon 10:06, article 11:15 (rows 2, 13, 22)
    assert tuple(e.loc[("alice", "carol"), ["n_forwards", "n_items"]]) == (3, 3)
    assert e.loc[("alice", "carol"), "first_time"] == TS("2026-01-01T09:10Z")
    assert e.loc[("alice", "carol"), "last_time"] == TS("2026-01-01T11:15Z")
    # carol->erin: article share 11:30 and purchase 12:20 -> 2 forwards of 1 item
    assert tuple(e.loc[("carol", "erin"), ["n_forwards", "n_items"]]) == (2, 1)
    # edges are sorted by (source code, target code)
    c = toy.codes
    key = c.edge_src.astype(np.int64) * toy.n_users + c.edge_tgt
    assert (np.diff(key) > 0).all()
    assert (c.edge_src[c.edge] == c.src).all() and (c.edge_tgt[c.edge] == c.tgt).all()


def test_codes_are_read_only(toy):
    for name in ("src", "tgt", "item", "time", "edge", "edge_src", "edge_tgt"):
        arr = getattr(toy.codes, name)
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1
    assert "n_events=30" in repr(toy.codes)


def test_validate_passes_and_catches_tampering(toy):
    toy.validate()
    bad = toy.copy()
    bad._events = toy.events.iloc[:-1]
    with pytest.raises(kg.LogSchemaError, match=r"events has 29 rows but codes have 30.*Rebuild the graph"):
        bad.validate()
    bad = toy.copy()
    bad.meta["read_log"]["rows_rejected"] = 5
    with pytest.raises(kg.LogSchemaError, match="accepted \\+ rejected != read"):
        bad.validate()
    bad = toy.copy()
    bad.edges = toy.edges.iloc[1:]
    with pytest.raises(kg.LogSchemaError, match="edges table and edge codes differ"):
        bad.validate()
    bad = toy.copy()
    bad.nodes = toy.nodes.set_axis(["x"] * toy.n_users)
    with pytest.raises(kg.LogSchemaError, match="user ids are not unique"):
        bad.validate()


# ------------------------------------------------------------------------------------------------ repr
def test_repr_lists_sizes_time_span_and_keys(toy):
    r = repr(toy)
    assert r.startswith("ShareGraph with 17 users, 3 items, 30 events, 24 edges")
    assert "2026-01-01T09:00:00+00:00 .. 2026-01-01T12:20:00+00:00" in r
    assert "30 rows read, 30 accepted, 0 rejected" in r
    assert "events: source, target, item, time, event_type, channel, value, row" in r
    assert "nodes: -" in r and "items: -" in r
    assert "meta: read_log, dataset" in r
    kg.tl.cascades(toy)
    r = repr(toy)
    assert "nodes: reach, direct_reach, resharers, items_started, items_received" in r
    assert "items: size, depth, max_breadth, virality, n_roots, root, start, duration" in r
    assert "edges: source, target, n_forwards, n_items, first_time, last_time, n_tree" in r
    assert "trees: 25 holders" in r and "meta: read_log, dataset, cascades" in r


def test_repr_html(toy):
    kg.tl.cascades(toy)
    toy.meta["<script>"] = 1
    h = toy._repr_html_()
    assert h.startswith("<div>") and "<table>" in h
    assert "ShareGraph with 17 users, 3 items, 30 events, 24 edges" in h
    assert "2026-01-01T09:00:00+00:00 .. 2026-01-01T12:20:00+00:00" in h
    assert "reach, direct_reach" in h and "cascades" in h
    assert "<script>" not in h and "&lt;script&gt;" in h  # keys are escaped


def test_repr_without_time_and_of_a_window(toy):
    g = kg.read_log(pd.DataFrame({"source": ["a"], "target": ["b"]}), item=None, time=None)
    assert "time: none (row order)" in repr(g)
    w = toy.window(end="2026-01-01T09:30Z")
    # poster rows 0-6 (09:00 .. 09:25): brand alice bob carol dave erin frank grace
    assert "ShareGraph with 8 users, 1 items, 7 events" in repr(w)
    assert "derived_from" in repr(w)


# ------------------------------------------------------------------------------------------------ adjacency
def test_adjacency_weights_and_cache(toy):
    A = toy.adjacency()
    assert isinstance(A, sp.csr_matrix) and A.shape == (17, 17)
    assert A is toy.adjacency() and A is toy.adjacency("n_forwards")
    assert A.sum() == 30 and toy.adjacency(None).sum() == 24 and toy.adjacency("n_items").sum() == 27
    assert toy.adjacency(None) is toy.adjacency(None)
    A32 = toy.adjacency(dtype=np.float32)
    assert A32.dtype == np.float32 and A32 is not A and A32 is toy.adjacency(dtype=np.float32)
    u = toy.user_codes(["alice", "carol", "heidi"])
    assert A[u[0], u[1]] == 3 and A[u[1], u[0]] == 0 and A[u[2], u[0]] == 1
    # the data array is in g.edges row order
    np.testing.assert_array_equal(A.data, toy.edges["n_forwards"].to_numpy(dtype=float))
    np.testing.assert_array_equal(A.indices, toy.codes.edge_tgt)
    # result columns are not cached (they can change); an unknown column says what exists
    kg.tl.cascades(toy)
    B = toy.adjacency("n_tree")
    assert B.sum() == 22 and B is not toy.adjacency("n_tree")
    toy.edges["n_tree"] = 0
    assert toy.adjacency("n_tree").sum() == 0
    with pytest.raises(kg.InvalidParameterError, match=r"weight='nope' is not a column of g.edges; columns are \["):
        toy.adjacency("nope")


def test_adjacency_matches_a_dense_count(toy):
    D = np.zeros((17, 17))
    np.add.at(D, (toy.codes.src, toy.codes.tgt), 1)
    np.testing.assert_array_equal(toy.adjacency().toarray(), D)


# ------------------------------------------------------------------------------------------------ views
def test_to_igraph_and_to_networkx_agree(toy):
    ig_g = toy.to_igraph()
    assert ig_g is toy.to_igraph()  # built once
    assert ig_g.is_directed() and ig_g.vcount() == 17 and ig_g.ecount() == 24
    assert ig_g.vs["name"] == [str(u) for u in toy.nodes.index]
    assert ig_g.es["n_forwards"] == toy.edges["n_forwards"].tolist()
    assert [e.tuple for e in ig_g.es] == list(zip(toy.codes.edge_src.tolist(), toy.codes.edge_tgt.tolist()))
    G = toy.to_networkx()
    assert isinstance(G, nx.DiGraph) and G.number_of_nodes() == 17 and G.number_of_edges() == 24
    assert G["alice"]["carol"]["weight"] == 3 and G["heidi"]["alice"]["weight"] == 1
    ids = toy.nodes.index
    from_ig = {(ids[e.source], ids[e.target]): e["n_forwards"] for e in ig_g.es}
    from_nx = {(u, v): d["weight"] for u, v, d in G.edges(data=True)}
    assert from_ig == from_nx
    # the same matrix as the adjacency
    M = nx.to_scipy_sparse_array(G, nodelist=list(ids), weight="weight")
    np.testing.assert_array_equal(M.toarray(), toy.adjacency().toarray())
    assert sum(d["weight"] for _, _, d in G.edges(data=True)) == 30
    kg.tl.cascades(toy)
    Gt = toy.to_networkx(weight="n_tree")
    assert Gt["bob"]["carol"]["weight"] == 0 and Gt["alice"]["carol"]["weight"] == 3
    with pytest.raises(kg.InvalidParameterError, match=r"weight='zz' is not a column of g.edges"):
        toy.to_networkx(weight="zz")


@PROPERTY_SMALL
@given(forward_logs(min_events=1))
def test_views_agree_on_random_logs(df):
    g = kg.read_log(df, time_unit="s")
    G = g.to_networkx()
    I = g.to_igraph()
    assert G.number_of_edges() == I.ecount() == g.n_edges == len(g.edges)
    assert G.number_of_nodes() == I.vcount() == g.n_users
    assert sum(d["weight"] for *_, d in G.edges(data=True)) == g.n_events == sum(I.es["n_forwards"])
    assert g.adjacency().sum() == g.n_events
    # every accepted event is on its edge
    pairs = set(zip(g.events["source"].astype(object), g.events["target"].astype(object)))
    assert pairs == set(G.edges())
    g.validate()


@given(st.lists(st.one_of(st.integers(-(2**62), 2**62), st.just(np.iinfo(np.int64).min)), max_size=20))
def test_utc_times_match_pandas_to_datetime(ns):
    from kocgraph._core.graph import utc_times

    a = np.array(ns, dtype=np.int64)
    got, want = utc_times(a), pd.to_datetime(a, unit="ns", utc=True)
    assert got.equals(want) and got.dtype == want.dtype  # NaT (the int64 minimum) included


def test_utc_times_known_answer():
    from kocgraph._core.graph import utc_times

    got = utc_times(np.array([0, 86_400 * 10**9 + 1, np.iinfo(np.int64).min]))
    assert [str(t) for t in got] == ["1970-01-01 00:00:00+00:00", "1970-01-02 00:00:00.000000001+00:00", "NaT"]


def test_graph_frames_without_pandas_fast_path(monkeypatch, toy):
    # a pandas without CategoricalDtype._from_fastpath: the public, checking constructor, same graph
    from kocgraph._core import graph

    monkeypatch.setattr(graph, "_FAST_DTYPE", None)
    g = kg.read_log(kg.datasets.toy_frame())
    pd.testing.assert_frame_equal(g.events, toy.events)
    pd.testing.assert_frame_equal(g.edges, toy.edges)


def test_views_of_an_empty_graph(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("source,target,item,time\n")
    g = kg.read_log(p)
    assert g.adjacency().shape == (0, 0)
    assert g.to_igraph().vcount() == 0 and g.to_networkx().number_of_nodes() == 0
    assert g.window(start="2026-01-01").n_events == 0
    g.validate()


# ------------------------------------------------------------------------------------------------ window / subgraph
def test_window_bounds_and_kinds(toy):
    w = toy.window("2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")
    # coupon rows 11-18 (10:00 .. 10:45): start inclusive, end exclusive
    assert w.events["row"].tolist() == list(range(11, 19))
    assert w.items.index.tolist() == ["coupon"]
    assert w.n_users == 7
    assert toy.window(end="2026-01-01T10:30:00Z").n_events == 16
    assert toy.window(start="2026-01-01T12:00:00Z").events["row"].tolist() == [27, 28, 29]
    # naive bounds are UTC; aware bounds are converted; Timestamps work
    assert toy.window("2026-01-01 10:00", "2026-01-01 11:00").n_events == 8
    assert toy.window(TS("2026-01-01 18:00", tz="Asia/Shanghai")).n_events == 19  # 10:00Z onwards
    assert toy.window().n_events == 30
    assert toy.window(start="2030-01-01").n_events == 0
    assert w.meta["derived_from"] == {"op": "window", "start": "2026-01-01T10:00:00+00:00",
                                      "end": "2026-01-01T11:00:00+00:00"}
    assert w.meta["read_log"] == toy.meta["read_log"]
    w.validate()
    # results are not carried over
    kg.tl.cascades(toy)
    w2 = toy.window(end="2026-01-01T10:00:00Z")
    assert "reach" not in w2.nodes.columns and w2.trees is None
    kg.tl.cascades(w2)
    assert w2.items.loc["poster", "size"] == 10
    # optional columns follow the events
    assert w.events["event_type"].astype(str).tolist() == ["share"] * 8


def test_window_errors(toy):
    with pytest.raises(kg.InvalidParameterError, match=r"start='notatime' is not a time; pass an ISO string"):
        toy.window("notatime")
    g = kg.read_log(pd.DataFrame({"source": ["a"], "target": ["b"]}), item=None, time=None)
    with pytest.raises(kg.InvalidParameterError, match=r"needs event times.*Pass time='<column>'"):
        g.window(start="2026-01-01")


def test_subgraph(toy):
    s = toy.subgraph(["alice", "carol", "dave"])
    # alice->carol (poster, coupon, article), alice->dave (poster, article)
    assert s.events["row"].tolist() == [2, 3, 13, 22, 23]
    assert s.n_users == 3 and s.n_edges == 2
    assert sorted(s.nodes.index) == ["alice", "carol", "dave"]
    assert s.meta["derived_from"] == {"op": "subgraph", "n_users_requested": 3}
    s.validate()
    assert toy.subgraph(["brand"]).n_events == 0
    with pytest.raises(kg.NodeNotFoundError, match=r"1 user id\(s\) not in the graph, e.g. \['nobody'\]"):
        toy.subgraph(["alice", "nobody"])


def test_copy_is_independent(toy):
    kg.tl.cascades(toy)
    c = toy.copy()
    c.nodes["x"] = 1
    c.meta["new"] = 1
    c.items.loc["poster", "size"] = 0
    assert "x" not in toy.nodes.columns and "new" not in toy.meta
    assert toy.items.loc["poster", "size"] == 10
    assert c.codes is toy.codes and c.adjacency() is toy.adjacency()


# ------------------------------------------------------------------------------------------------ lookups
def test_user_codes(toy):
    assert toy.user_codes(["brand", "alice"]).tolist() == [0, 1]
    assert toy.user_codes("alice").tolist() == [1]
    assert toy.user_codes([]).tolist() == []
    assert toy.nodes.index[toy.user_codes(["mia"])[0]] == "mia"
    with pytest.raises(kg.NodeNotFoundError) as e:
        toy.user_codes(["alice", "zed", "yan"])
    msg = str(e.value)
    assert "2 user id(s) not in the graph" in msg and "'zed'" in msg and "g.nodes.index" in msg
    assert isinstance(e.value, KeyError)
    with pytest.raises(kg.NodeNotFoundError, match=r"graph ids look like str \(e.g. 'brand'\) but you passed int"):
        toy.user_codes([5])
    assert toy.item_codes(["article"]).tolist() == [2]
    with pytest.raises(kg.NodeNotFoundError, match=r"item id\(s\) not in the graph.*g.items.index"):
        toy.item_codes(["nope"])


def test_user_codes_with_integer_ids():
    g = kg.read_log(pd.DataFrame({"source": [2**63 - 1, 5], "target": [5, 7], "item": 1, "time": [1, 2]}))
    assert g.user_codes([5, 2**63 - 1]).tolist() == [1, 0]
    with pytest.raises(kg.NodeNotFoundError, match=r"look like int .* but you passed str"):
        g.user_codes(["5"])
    with pytest.raises(kg.NodeNotFoundError, match=r"e.g. \['abc', 18446744073709551616\]"):
        g.user_codes(["abc", 2**64, 5])
    assert g.user_codes(np.array([7, 5])).tolist() == [2, 1]


def test_require_says_which_tool(toy):
    from kocgraph._core.tools import require

    with pytest.raises(kg.NotComputedError, match=r"g.nodes\['reach'\].*has not been computed.*kg.tl.cascades\(g\)"):
        require(toy, "cascades", tool="tl.cascades", where="here", meta=False, nodes=["reach"])


# ------------------------------------------------------------------------------------------------ getters
def test_get_rejected(toy):
    r = kg.get.rejected(toy)
    assert len(r) == 0 and list(r.columns[:2]) == ["row", "reason"]
    assert list(kg.get.rejected(toy.window()).columns) == ["row", "reason"]
    g = kg.read_log(pd.DataFrame({"source": ["a", "a", "b"], "target": ["b", "a", "c"], "item": 1, "time": [1, 2, 3]}))
    r = kg.get.rejected(g)
    assert r[["row", "reason"]].to_dict("records") == [{"row": 1, "reason": "self_forward"}]
    r.loc[0, "reason"] = "changed"  # a copy: the graph keeps its own
    assert kg.get.rejected(g)["reason"].tolist() == ["self_forward"]
    with pytest.raises(kg.InvalidParameterError, match=r"needs a kg.ShareGraph.*got DataFrame"):
        kg.get.rejected(r)


def test_get_cascade_with_integer_items():
    g = kg.read_log(pd.DataFrame({"source": [1, 2], "target": [2, 3], "item": [10, 10], "time": [1, 2]}))
    kg.tl.cascades(g)
    c = kg.get.cascade(g, 10)
    assert c["user"].tolist() == [1, 2, 3] and c["reach"].tolist() == [2, 1, 0]
