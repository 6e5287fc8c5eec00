"""Results that travel: networkx/igraph views keep every column, and kg.write writes GraphML and GEXF that
networkx reads back with the results on the nodes (koc_score first of all)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from kg_testlib import PROPERTY_SMALL, forward_logs

import kocgraph as kg
from kocgraph._core.interop import plain_column

STAFF = ["brand", "staff_li"]
PLAIN = (bool, int, float, str)


@pytest.fixture(scope="module")
def full() -> kg.ShareGraph:
    g = kg.datasets.toy()
    kg.tl.cascades(g)
    kg.tl.communities(g, rng=0)
    kg.tl.kocs(g, staff=STAFF)
    kg.tl.routes(g, sources=STAFF, targets="kocs", k=2)
    return g


def _same(a: Any, b: Any) -> bool:
    return a == pytest.approx(b) if isinstance(b, float) else a == b


# ---------------------------------------------------------------- plain values
def test_plain_column_kinds() -> None:
    t = pd.Series(pd.to_datetime(["2026-01-01T09:00:00Z", None], utc=True))
    assert plain_column(t) == (["2026-01-01T09:00:00+00:00", None], "str")
    assert plain_column(pd.Series(pd.array([3, None], dtype="Int64"))) == ([3, None], "int")
    assert plain_column(pd.Series([1.5, np.nan])) == ([1.5, None], "float")
    assert plain_column(pd.Series(pd.Categorical(["a", None]))) == (["a", None], "str")
    assert plain_column(pd.Series(pd.to_timedelta(["90s", None]))) == ([90.0, None], "float")
    assert plain_column(pd.Series([[1, 2], None], dtype=object)) == (["[1, 2]", None], "str")
    vals, _ = plain_column(pd.Series(np.array([1, 2], dtype=np.int32)))
    assert [type(v) for v in vals] == [int, int]  # numpy scalars become Python ones


# ---------------------------------------------------------------- views
def test_networkx_view_keeps_node_edge_and_item_columns(full: kg.ShareGraph) -> None:
    G = full.to_networkx()
    assert G.number_of_nodes() == full.n_users and G.number_of_edges() == full.n_edges
    for u in full.nodes.index:
        for col in full.nodes.columns:
            v = full.nodes.loc[u, col]
            if pd.isna(v):
                assert col not in G.nodes[u]  # missing: left out, as GraphML has no "missing"
            else:
                got = G.nodes[u][col]
                assert type(got) in PLAIN, (col, type(got))
                assert _same(got, float(v) if isinstance(v, float) else (str(v) if isinstance(v, str) else v))
    assert G.nodes["alice"]["koc_score"] == pytest.approx(float(full.nodes.loc["alice", "koc_score"]))
    assert "koc_score" not in G.nodes["brand"] and G.nodes["brand"]["koc_excluded"] == "staff"
    assert G.nodes["carol"]["route_introducer"] == str(full.nodes.loc["carol", "route_introducer"])
    e = full.edges.iloc[0]
    d = G.edges[str(e["source"]), str(e["target"])]
    assert d["weight"] == d["n_forwards"] == int(e["n_forwards"])
    assert d["tie_strength"] == pytest.approx(float(e["tie_strength"]))
    assert d["first_time"] == e["first_time"].isoformat()
    assert set(G.graph["items"]) == set(full.items.index)
    assert G.graph["items"]["poster"]["size"] == int(full.items.loc["poster", "size"])
    assert all(type(v) in PLAIN for d in G.graph["items"].values() for v in d.values())


def test_igraph_view_keeps_columns_and_follows_new_results() -> None:
    g = kg.datasets.toy()
    G = g.to_igraph()
    assert "reach" not in G.vs.attributes()
    kg.tl.cascades(g)
    kg.tl.kocs(g, staff=STAFF)
    G2 = g.to_igraph()
    assert G2 is G  # the topology is built once; the attributes follow the tables
    assert G2.vs["name"] == [str(u) for u in g.nodes.index]
    assert G2.vs["reach"] == g.nodes["reach"].tolist()
    ks = g.nodes["koc_score"].to_numpy()
    np.testing.assert_array_equal(np.array(G2.vs["koc_score"], dtype=float), ks)  # NaN where missing
    assert G2.vs.find(name="brand")["koc_excluded"] == "staff" and G2.vs.find(name="alice")["koc_excluded"] is None
    assert G2.es["n_tree"] == g.edges["n_tree"].tolist()
    assert G2["items"]["coupon"]["size"] == int(g.items.loc["coupon", "size"])


# ---------------------------------------------------------------- files for Gephi
def test_graphml_reads_back_in_networkx_with_koc_score(full: kg.ShareGraph, tmp_path: Path) -> None:
    p = tmp_path / "kocs.graphml"
    kg.write(full, p)
    G = nx.read_graphml(p)
    assert G.is_directed() and G.number_of_nodes() == full.n_users and G.number_of_edges() == full.n_edges
    ranked = full.nodes[full.nodes["koc_score"].notna()]
    assert len(ranked) > 0
    for u, score in ranked["koc_score"].items():
        assert G.nodes[str(u)]["koc_score"] == pytest.approx(float(score), rel=1e-12)
    assert "koc_score" not in G.nodes["brand"]
    assert G.nodes["alice"]["label"] == "alice" and G.nodes["alice"]["reach"] == 16
    e = full.edges.iloc[3]
    assert G.edges[str(e["source"]), str(e["target"])]["n_forwards"] == int(e["n_forwards"])
    assert not list(tmp_path.glob(".*.tmp"))  # written to a temporary sibling, renamed into place


def test_gexf_reads_back_in_networkx(full: kg.ShareGraph, tmp_path: Path) -> None:
    p = tmp_path / "kocs.gexf"
    kg.write(full, p)
    G = nx.read_gexf(p)
    assert G.number_of_nodes() == full.n_users and G.number_of_edges() == full.n_edges
    assert G.nodes["alice"]["koc_score"] == pytest.approx(float(full.nodes.loc["alice", "koc_score"]))
    assert G.nodes["alice"]["label"] == "alice"


def test_format_overrides_the_suffix_and_errors(full: kg.ShareGraph, tmp_path: Path) -> None:
    kg.write(full, tmp_path / "map.xml", format="graphml")
    assert nx.read_graphml(tmp_path / "map.xml").number_of_nodes() == full.n_users
    kg.write(full, tmp_path / "copy.graphml", format="kocgraph")  # the directory, whatever the suffix
    assert (tmp_path / "copy.graphml").is_dir() and kg.read(tmp_path / "copy.graphml").n_users == full.n_users
    with pytest.raises(kg.InvalidParameterError, match="already exists; pass overwrite=True"):
        kg.write(full, tmp_path / "map.xml", format="graphml")
    kg.write(full, tmp_path / "map.xml", format="graphml", overwrite=True)
    with pytest.raises(kg.InvalidParameterError, match="format='dot'.*'graphml' or 'gexf'"):
        kg.write(full, tmp_path / "map.dot", format="dot")


@PROPERTY_SMALL
@given(forward_logs(min_events=1))
def test_graphml_round_trip_on_random_logs(df: pd.DataFrame) -> None:
    import tempfile

    g = kg.read_log(df, time_unit="s")
    kg.tl.cascades(g)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "g.graphml"
        kg.write(g, p)
        G = nx.read_graphml(p)
    assert set(G.nodes) == {str(u) for u in g.nodes.index}
    ids = g.nodes.index
    want = {(str(ids[a]), str(ids[b])): int(w) for a, b, w in zip(g.codes.edge_src, g.codes.edge_tgt,
                                                                  g.edges["n_forwards"], strict=True)}
    assert {(u, v): d["n_forwards"] for u, v, d in G.edges(data=True)} == want
    for u, r in g.nodes["reach"].items():
        assert G.nodes[str(u)]["reach"] == int(r)
    assert sum(d["weight"] for *_, d in G.edges(data=True)) == g.n_events
    assert all(not (isinstance(v, float) and math.isnan(v)) for _, d in G.nodes(data=True) for v in d.values())
