"""kg.write / kg.read: exact round trips through Parquet + JSON, no pickle."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from kg_testlib import MIXED_IDS, PROPERTY_SMALL, dirty_logs, forward_logs
from hypothesis import given

import kocgraph as kg


def roundtrip(g: kg.ShareGraph, tmp_path, name: str = "g") -> kg.ShareGraph:
    d = tmp_path / name
    kg.write(g, d)
    return kg.read(d)


def assert_same_graph(a: kg.ShareGraph, b: kg.ShareGraph) -> None:
    for name in ("events", "nodes", "items", "edges"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    if a.trees is None:
        assert b.trees is None
    else:
        pd.testing.assert_frame_equal(a.trees, b.trees, obj="trees")
    assert a.meta == b.meta
    assert json.dumps(a.meta, sort_keys=True) == json.dumps(b.meta, sort_keys=True)
    pd.testing.assert_frame_equal(kg.get.rejected(a), kg.get.rejected(b), obj="rejected")
    for f in ("src", "tgt", "item", "time", "edge", "edge_src", "edge_tgt"):
        np.testing.assert_array_equal(getattr(a.codes, f), getattr(b.codes, f), err_msg=f)
    assert [type(u) for u in a.nodes.index.tolist()] == [type(u) for u in b.nodes.index.tolist()]
    assert [type(u) for u in a.items.index.tolist()] == [type(u) for u in b.items.index.tolist()]
    assert (a.adjacency() != b.adjacency()).nnz == 0
    assert repr(a) == repr(b)
    b.validate()


def test_toy_with_every_result_round_trips(tmp_path, toy):
    kg.tl.cascades(toy)
    kg.tl.pagerank(toy)
    kg.tl.communities(toy, rng=0)
    b = roundtrip(toy, tmp_path)
    assert_same_graph(toy, b)
    # only Parquet and JSON on disk: no pickle
    files = sorted(os.listdir(tmp_path / "g"))
    assert all(f.endswith((".parquet", ".json")) for f in files), files
    assert {"manifest.json", "meta.json", "events.parquet", "users.parquet"} <= set(files)
    man = json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert man["format"] == "kocgraph-sharegraph" and man["n_events"] == 30 and man["has_trees"] is True
    # results computed again on the read graph agree
    c = b.copy()
    kg.tl.cascades(c)
    pd.testing.assert_frame_equal(c.items, toy.items)


def test_plain_toy_and_empty_graph_round_trip(tmp_path, toy):
    assert_same_graph(toy, roundtrip(toy, tmp_path, "toy"))
    p = tmp_path / "h.csv"
    p.write_text("source,target,item,time\n")
    e = kg.read_log(p)
    kg.tl.cascades(e)
    assert_same_graph(e, roundtrip(e, tmp_path, "empty"))


def test_ids_of_every_kind_round_trip(tmp_path):
    df = pd.DataFrame({
        "source": pd.Series(["张三", 1, "😀🎉", 2**63 - 1, "00123", "a"], dtype=object),
        "target": pd.Series(["李四", "1", 2**63 - 2, "x", "12345678901234567890", "a"], dtype=object),
        "item": pd.Series(["海报", 7, 7, "📦", "x", "x"], dtype=object),
        "time": [1, 2, 3, 4, 5, 6],
    })
    with pytest.warns(kg.DataQualityWarning, match="mix integer and text ids"):
        g = kg.read_log(df)  # integer and text ids mixed: every id is its text (1 and "1" are one user)
    kg.tl.cascades(g)
    b = roundtrip(g, tmp_path)
    assert_same_graph(g, b)
    # row 1 (1 -> "1") is now a self-forward, so "1" has no event left
    assert b.nodes.index.tolist() == ["张三", "😀🎉", str(2**63 - 1), "00123", "李四", str(2**63 - 2), "x",
                                      "12345678901234567890"]
    assert b.items.index.tolist() == ["海报", "7", "📦", "x"]
    # one type throughout: ids keep their type, huge integers exact
    g = kg.read_log(pd.DataFrame({"source": [1, 2**63 - 1], "target": [2, 3], "item": "x", "time": [1, 2]}))
    assert roundtrip(g, tmp_path, "ints").nodes.index.tolist() == [1, 2**63 - 1, 2, 3]
    # the rejected row (a self-forward) keeps its values and types
    assert kg.get.rejected(b)[["row", "reason", "source", "time"]].to_dict("records") == \
        [{"row": 1, "reason": "self_forward", "source": 1, "time": 2},
         {"row": 5, "reason": "self_forward", "source": "a", "time": 6}]


def test_integer_and_unsigned_ids_round_trip(tmp_path):
    for k, dtype in enumerate((np.int64, np.uint64)):
        big = np.array([2**63 - 1, 3, 4], dtype=dtype) if dtype == np.int64 else np.array([2**64 - 1, 3, 4], dtype=dtype)
        g = kg.read_log(pd.DataFrame({"source": big, "target": big[[1, 2, 0]], "item": big, "time": [1, 2, 3]}))
        b = roundtrip(g, tmp_path, f"g{k}")
        assert_same_graph(g, b)
        assert b.nodes.index.dtype == g.nodes.index.dtype


def test_rejected_rows_from_a_damaged_csv_round_trip(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("source,target,item,time,value\na,b,x,1,2.5\nb,b,x,2,\n,c,x,3,1\nc,d,x,later,1\nd,e,x\n")
    g = kg.read_log(p)
    assert g.meta["read_log"]["rows_rejected"] == 4
    assert_same_graph(g, roundtrip(g, tmp_path))


def test_graph_without_time_and_with_optional_columns(tmp_path):
    g = kg.read_log(pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"], "event_type": ["View", "share"],
                                  "channel": [None, "chat"], "value": [1.0, None]}), item=None, time=None)
    b = roundtrip(g, tmp_path)
    assert_same_graph(g, b)
    assert b.has_time is False and b.time_span is None


def test_derived_graphs_round_trip(tmp_path, toy):
    w = toy.window(end="2026-01-01T10:30Z")
    kg.tl.cascades(w)
    assert_same_graph(w, roundtrip(w, tmp_path, "w"))
    s = toy.subgraph(["alice", "carol", "dave"])
    assert_same_graph(s, roundtrip(s, tmp_path, "s"))


@PROPERTY_SMALL
@given(forward_logs(min_events=0))
def test_round_trip_property_clean_logs(tmp_path_factory, df):
    g = kg.read_log(df, time_unit="s")
    if g.n_events:
        kg.tl.cascades(g)
    assert_same_graph(g, roundtrip(g, tmp_path_factory.mktemp("rt")))


@PROPERTY_SMALL
@MIXED_IDS
@given(dirty_logs())
def test_round_trip_property_dirty_logs(tmp_path_factory, df):
    g = kg.read_log(df)
    if g.n_events:
        kg.tl.cascades(g)
    assert_same_graph(g, roundtrip(g, tmp_path_factory.mktemp("rtd")))


# ------------------------------------------------------------------------------------------------ errors
def test_write_refuses_to_overwrite_unless_asked(tmp_path, toy):
    d = tmp_path / "g"
    kg.write(toy, d)
    with pytest.raises(kg.InvalidParameterError, match=r"already exists; pass overwrite=True"):
        kg.write(toy, d)
    kg.tl.cascades(toy)
    kg.write(toy, d, overwrite=True)
    assert kg.read(d).trees is not None
    # no temporary directories are left behind
    assert sorted(os.listdir(tmp_path)) == ["g"]


def test_write_rejects_meta_json_cannot_hold(tmp_path, toy):
    toy.meta["bad"] = {1, 2}
    with pytest.raises(kg.InvalidParameterError, match=r"g.meta holds a value JSON cannot store"):
        kg.write(toy, tmp_path / "g")
    assert not (tmp_path / "g").exists() and os.listdir(tmp_path) == []
    toy.meta["bad"] = float("nan")
    with pytest.raises(kg.InvalidParameterError, match="JSON"):
        kg.write(toy, tmp_path / "g")


def test_read_errors(tmp_path, toy):
    with pytest.raises(kg.LogSchemaError, match=r"not a saved kocgraph graph \(no manifest.json\).*kg.read_log"):
        kg.read(tmp_path)
    d = tmp_path / "g"
    kg.write(toy, d)
    man = json.loads((d / "manifest.json").read_text())
    man["format_version"] = 99
    (d / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(kg.LogSchemaError, match=r"v99.*Upgrade kocgraph"):
        kg.read(d)
    with pytest.raises(kg.InvalidParameterError, match="needs a kg.ShareGraph"):
        kg.write("not a graph", tmp_path / "x")


def test_users_and_items_with_the_same_ids(tmp_path):
    g = kg.read_log(pd.DataFrame({"source": [1, 2], "target": [2, 1], "item": [1, 2], "time": [1, 2]}))
    kg.tl.cascades(g)
    assert g.nodes.index.tolist() == g.items.index.tolist() == [1, 2]
    assert_same_graph(g, roundtrip(g, tmp_path))
