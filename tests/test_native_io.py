"""kg.write / kg.read: exact round trips through Parquet + JSON, no pickle."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import MIXED_IDS, PROPERTY_SMALL, dirty_logs, forward_logs

import kocgraph as kg
from kocgraph.io import native


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


# ------------------------------------------------------------------------------------------------ overwrite (D4)
def test_overwrite_replaces_only_a_kocgraph_save(tmp_path, toy):
    # a folder of someone's work: refused, and every byte of it is still there
    work = tmp_path / "thesis"
    (work / "chapters").mkdir(parents=True)
    (work / "thesis.txt").write_text("years of work")
    (work / "chapters" / "one.txt").write_text("chapter one")
    with pytest.raises(kg.InvalidParameterError, match=r"replaces only a kocgraph save.*thesis.*without a readable "
                                                        r"kocgraph manifest.json.*Remove it yourself"):
        kg.write(toy, work, overwrite=True)
    assert (work / "thesis.txt").read_text() == "years of work"
    assert (work / "chapters" / "one.txt").read_text() == "chapter one"
    # a plain file, and a link to a save: refused, left as they were
    f = tmp_path / "notes.txt"
    f.write_text("keep")
    with pytest.raises(kg.InvalidParameterError, match=r"notes.txt.*is a file"):
        kg.write(toy, f, overwrite=True)
    assert f.read_text() == "keep"
    kg.write(toy, tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(kg.InvalidParameterError, match=r"is a link"):
        kg.write(toy, tmp_path / "link", overwrite=True)
    # a directory claiming to be a save but with a manifest that is not kocgraph's
    other = tmp_path / "other"
    other.mkdir()
    (other / "manifest.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(kg.InvalidParameterError, match="without a readable kocgraph manifest.json"):
        kg.write(toy, other, overwrite=True)
    # a save that also holds a file kg.write did not write: refused, the file survives
    (tmp_path / "real" / "my_notes.md").write_text("mine")
    with pytest.raises(kg.InvalidParameterError, match=r"also holds files kg.write did not write: \['my_notes.md'\]"):
        kg.write(toy, tmp_path / "real", overwrite=True)
    assert (tmp_path / "real" / "my_notes.md").read_text() == "mine"
    # an empty directory holds nothing to lose: it is replaced
    (tmp_path / "empty").mkdir()
    kg.write(toy, tmp_path / "empty", overwrite=True)
    assert kg.read(tmp_path / "empty").n_events == 30
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".kg-")]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_overwrite_swaps_the_save_and_removes_the_old(tmp_path, toy, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(native, "_exchange", lambda a, b: False)
    d = tmp_path / "g"
    kg.write(toy, d)
    kg.tl.cascades(toy)
    kg.write(toy, d, overwrite=True)
    assert kg.read(d).trees is not None
    assert sorted(os.listdir(tmp_path)) == ["g"]  # neither the old save nor a temporary directory is left


def test_a_failed_overwrite_keeps_the_old_save(tmp_path, toy, monkeypatch):
    d = tmp_path / "g"
    kg.write(toy, d)
    before = {f: (d / f).read_bytes() for f in os.listdir(d)}
    kg.tl.cascades(toy)

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(native, "_write_save", crash)  # the new save fails half way
    with pytest.raises(OSError, match="disk full"):
        kg.write(toy, d, overwrite=True)
    assert {f: (d / f).read_bytes() for f in os.listdir(d)} == before
    monkeypatch.undo()
    # the second rename of the fallback swap fails: the old save is put back
    monkeypatch.setattr(native, "_exchange", lambda a, b: False)
    real_replace = os.replace

    def replace(a, b):
        if str(b) == str(d) and os.path.basename(a).startswith(".kg-write-"):
            raise OSError("rename failed")
        return real_replace(a, b)

    monkeypatch.setattr(native.os, "replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        kg.write(toy, d, overwrite=True)
    assert {f: (d / f).read_bytes() for f in os.listdir(d)} == before
    assert sorted(os.listdir(tmp_path)) == ["g"]


# ------------------------------------------------------------------------------------------------ damage (D12)
@pytest.fixture()
def saved(tmp_path, toy):
    kg.tl.cascades(toy)
    kg.tl.routes(toy, sources=["brand"], targets=["alice", "judy"], k=1)
    d = tmp_path / "g"
    kg.write(toy, d)
    return d


def test_manifest_records_every_files_checksum(saved):
    import hashlib

    man = json.loads((saved / "manifest.json").read_text())
    assert man["format_version"] == 2
    on_disk = sorted(f for f in os.listdir(saved) if f != "manifest.json")
    assert sorted(man["files"]) == on_disk and "meta.json" in on_disk and "table_0.parquet" in on_disk
    for f in on_disk:
        data = (saved / f).read_bytes()
        assert man["files"][f] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _damage(d, how):
    """Damage a save the ways a disk, a copy or a person does; return the file that must be named."""
    if how == "tampered_meta":
        meta = json.loads((d / "meta.json").read_text())
        meta["cascades"]["n_items"] = 999
        (d / "meta.json").write_text(json.dumps(meta))
        return "meta.json"
    if how == "meta_not_json":
        (d / "meta.json").write_text("{not json")
        return "meta.json"
    if how == "manifest_not_json":
        (d / "manifest.json").write_text((d / "manifest.json").read_text()[:-40])
        return "manifest.json"
    if how == "manifest_missing_key":
        man = json.loads((d / "manifest.json").read_text())
        del man["user_ids"]
        (d / "manifest.json").write_text(json.dumps(man))
        return "manifest.json"
    if how == "manifest_edited":
        man = json.loads((d / "manifest.json").read_text())
        man["n_events"] = 31
        (d / "manifest.json").write_text(json.dumps(man))
        return "manifest.json"
    if how == "truncated_parquet":
        b = (d / "events.parquet").read_bytes()
        (d / "events.parquet").write_bytes(b[: len(b) // 2])
        return "events.parquet"
    if how == "flipped_byte":
        b = bytearray((d / "nodes.parquet").read_bytes())
        b[len(b) // 2] ^= 0xFF
        (d / "nodes.parquet").write_bytes(bytes(b))
        return "nodes.parquet"
    if how == "reordered_users":
        u = pd.read_parquet(d / "users.parquet")
        u.iloc[::-1].reset_index(drop=True).to_parquet(d / "users.parquet", index=False)
        return "users.parquet"
    if how == "missing_file":
        (d / "table_0.parquet").unlink()
        return "table_0.parquet"
    raise AssertionError(how)


DAMAGE = ["tampered_meta", "meta_not_json", "manifest_not_json", "manifest_missing_key", "manifest_edited",
          "truncated_parquet", "flipped_byte", "reordered_users", "missing_file"]


@pytest.mark.parametrize("how", DAMAGE)
def test_any_damage_raises_one_error_naming_the_file(saved, how):
    name = _damage(saved, how)
    with pytest.raises(kg.CorruptSaveError, match=rf"{name} .*Restore the save from a backup") as info:
        kg.read(saved)
    assert isinstance(info.value, ValueError) and isinstance(info.value, kg.KocgraphError)
    assert str(saved) in str(info.value)


def _as_v1(d):
    """Turn a save into what kocgraph wrote before checksums (format v1)."""
    man = json.loads((d / "manifest.json").read_text())
    for k in ("files", "manifest_sha256"):
        del man[k]
    man["format_version"] = 1
    (d / "manifest.json").write_text(json.dumps(man, indent=2))


def test_version_1_saves_without_checksums_still_read(saved, toy):
    _as_v1(saved)
    assert_same_graph(toy, kg.read(saved))


def test_a_manifest_with_checksums_is_checked_whatever_version_it_claims(saved):
    man = json.loads((saved / "manifest.json").read_text())
    man["format_version"] = 1  # one edit must not switch the checks off
    (saved / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(kg.CorruptSaveError, match="manifest.json does not match its own checksum"):
        kg.read(saved)
    man["format_version"] = 7
    (saved / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(kg.LogSchemaError, match=r"v7.*Upgrade kocgraph \(or restore the save"):
        kg.read(saved)


@pytest.mark.parametrize("how", ["meta_not_json", "manifest_missing_key", "truncated_parquet", "missing_file"])
def test_damaged_version_1_saves_raise_the_same_error(saved, how):
    _as_v1(saved)
    name = _damage(saved, how)
    with pytest.raises(kg.CorruptSaveError, match=rf"{name} "):
        kg.read(saved)


@PROPERTY_SMALL
@given(st.data())
def test_any_byte_changed_anywhere_is_detected(tmp_path_factory, data):
    # the checksums make damage detection exact: one byte changed in any file of the save, always caught
    g = kg.datasets.toy()
    kg.tl.cascades(g)
    d = tmp_path_factory.mktemp("flip") / "g"
    kg.write(g, d)
    name = data.draw(st.sampled_from(sorted(os.listdir(d))), label="file")
    b = bytearray((d / name).read_bytes())
    at = data.draw(st.integers(0, len(b) - 1), label="offset")
    b[at] ^= data.draw(st.integers(1, 255), label="xor")
    (d / name).write_bytes(bytes(b))
    with pytest.raises(kg.KocgraphError) as info:
        kg.read(d)
    msg = str(info.value)
    if isinstance(info.value, kg.CorruptSaveError):
        assert f"{name} " in msg
    else:  # the one byte turned "format_version": 2 into a newer version: both causes are named
        assert name == "manifest.json" and isinstance(info.value, kg.LogSchemaError), msg
        assert "Upgrade kocgraph (or restore the save: its manifest.json does not match its checksum)" in msg
