"""kg.read_log: formats, column mapping, times, ids and the ingest report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import MIXED_IDS, PROPERTY, T0, dirty_logs, forward_logs

import kocgraph as kg

TOY_TIME0 = pd.Timestamp("2026-01-01T09:00:00Z")


def _canon(g: kg.ShareGraph) -> pd.DataFrame:
    ev = g.events
    return pd.DataFrame({"source": ev["source"].astype(object), "target": ev["target"].astype(object),
                         "item": ev["item"].astype(object), "time": ev["time"], "row": ev["row"]})


def _frame(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


# ------------------------------------------------------------------------------------------------ formats
@pytest.fixture
def toy_df():
    return kg.datasets.toy_frame()


def test_toy_reads_the_same_from_every_format(tmp_path, toy_df):
    ref = kg.read_log(toy_df)
    paths = {}
    toy_df.to_csv(paths.setdefault("csv", tmp_path / "toy.csv"), index=False)
    toy_df.to_csv(paths.setdefault("tsv", tmp_path / "toy.tsv"), index=False, sep="\t")
    toy_df.to_parquet(paths.setdefault("parquet", tmp_path / "toy.parquet"), index=False)
    toy_df.to_json(paths.setdefault("jsonl", tmp_path / "toy.jsonl"), orient="records", lines=True, force_ascii=False)
    for fmt, p in paths.items():
        g = kg.read_log(p)
        pd.testing.assert_frame_equal(_canon(g), _canon(ref), obj=fmt)
        assert g.meta["read_log"]["format"] == fmt
        assert g.meta["read_log"]["rows_read"] == 30 and g.meta["read_log"]["rows_accepted"] == 30
        assert g.events["event_type"].astype(str).tolist() == ref.events["event_type"].astype(str).tolist()
        np.testing.assert_array_equal(g.events["value"].to_numpy(), ref.events["value"].to_numpy())
    # an unknown extension is CSV; format= overrides the extension
    (tmp_path / "toy.log").write_bytes(paths["tsv"].read_bytes())
    g = kg.read_log(tmp_path / "toy.log", format="tsv")
    assert g.n_events == 30
    g = kg.read_log(tmp_path / "toy.log", sep="\t")
    assert g.n_events == 30


def test_bundled_toy_path_and_frame(toy_df):
    g = kg.datasets.toy()
    assert (g.n_users, g.n_items, g.n_events, g.n_edges) == (17, 3, 30, 24)
    assert g.time_span == (TOY_TIME0, pd.Timestamp("2026-01-01T12:20:00Z"))
    assert toy_df.shape == (30, 7)
    g.validate()


def test_column_mapping_and_optional_columns(toy_df):
    df = toy_df.rename(columns={"source": "from_user", "target": "to_user", "item": "post", "time": "ts",
                                "event_type": "kind"})
    g = kg.read_log(df, source="from_user", target="to_user", item="post", time="ts", event_type="kind")
    assert g.n_events == 30
    assert g.meta["read_log"]["columns"] == {"source": "from_user", "target": "to_user", "item": "post",
                                            "time": "ts", "event_type": "kind", "channel": "channel",
                                            "value": "value"}
    assert set(g.events["event_type"].astype(str)) == {"share", "purchase"}
    # optional columns can be switched off
    g = kg.read_log(toy_df, event_type=None, channel=None, value=None)
    assert list(g.events.columns) == ["source", "target", "item", "time", "row"]


def test_event_type_is_stripped_and_lowercased_value_parsed():
    df = _frame(source=["a", "b", "c"], target=["b", "c", "d"], item="x", time=[1, 2, 3],
                event_type=[" Share", "PURCHASE ", None], value=["12.5", None, " 3 "])
    g = kg.read_log(df)
    assert g.events["event_type"].astype(object).tolist()[:2] == ["share", "purchase"]
    assert pd.isna(g.events["event_type"].iloc[2])
    np.testing.assert_array_equal(g.events["value"].to_numpy(), [12.5, np.nan, 3.0])


def test_item_none_puts_everything_in_one_item():
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], time=[1, 2]), item=None)
    assert g.items.index.tolist() == ["*"]


def test_report_counts_and_rejected_table():
    df = _frame(source=["a", "b", "a", None, "c"], target=["b", "b", "b", "x", "d"], item="x",
                time=[1, 2, 1, 3, "later"])
    g = kg.read_log(df)
    rep = g.meta["read_log"]
    assert rep["rows_read"] == 5 and rep["rows_accepted"] == 1 and rep["rows_rejected"] == 4
    assert rep["rejected_by_reason"] == {"self_forward": 1, "duplicate": 1, "null_source": 1,
                                         "unparseable_time": 1}
    assert rep["on_invalid"] == "quarantine" and rep["tz"] == "UTC" and rep["has_time"] is True
    rej = kg.get.rejected(g)
    assert list(rej.columns[:2]) == ["row", "reason"]
    assert dict(zip(rej["row"], rej["reason"])) == {1: "self_forward", 2: "duplicate", 3: "null_source",
                                                     4: "unparseable_time"}
    # the rejected rows are given back as they were
    assert rej.set_index("row").loc[4, "time"] == "later"
    assert g.events["row"].tolist() == [0]


# ------------------------------------------------------------------------------------------------ times
def test_epoch_seconds_and_milliseconds_detected():
    s = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[T0, T0 + 60]))
    ms = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[T0 * 1000, (T0 + 60) * 1000]))
    us = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[T0 * 10**6, (T0 + 60) * 10**6]))
    ns = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[T0 * 10**9, (T0 + 60) * 10**9]))
    want = [pd.Timestamp("2026-01-01T00:00:00Z"), pd.Timestamp("2026-01-01T00:01:00Z")]
    for g, unit in ((s, "s"), (ms, "ms"), (us, "us"), (ns, "ns")):
        assert g.events["time"].tolist() == want, unit
        assert g.meta["read_log"]["time"]["unit"] == unit
        assert g.meta["read_log"]["time"]["unit_detected"] is True


def test_epoch_unit_given_explicitly_and_as_text():
    # 1_000 read as seconds by default; as ms when told
    g = kg.read_log(_frame(source=["a"], target=["b"], item="x", time=[1_000]), time_unit="ms")
    assert g.events["time"].iloc[0] == pd.Timestamp(1, unit="s", tz="UTC")
    assert g.meta["read_log"]["time"]["unit_detected"] is False
    # epoch numbers written as text (CSV) are epochs, not strings
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[str(T0 * 1000), f" {T0 * 1000} "]))
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z")] * 2
    # float epochs with fractions keep sub-second precision
    g = kg.read_log(_frame(source=["a"], target=["b"], item="x", time=[T0 + 0.25]))
    assert g.events["time"].iloc[0] == pd.Timestamp("2026-01-01T00:00:00.25Z")


def test_iso_strings_with_offsets_become_utc():
    df = _frame(source=["a", "b", "c", "d"], target=["b", "c", "d", "e"], item="x",
                time=["2026-01-01T08:00:00+08:00", "2026-01-01T01:00:00Z", "2026-01-01T03:00:00-05:00",
                      "2026-01-01T10:30:00+0800"])
    g = kg.read_log(df)
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z"), pd.Timestamp("2026-01-01T01:00:00Z"),
                                         pd.Timestamp("2026-01-01T08:00:00Z"), pd.Timestamp("2026-01-01T02:30:00Z")]
    assert str(g.events["time"].dt.tz) == "UTC"


def test_one_fixed_offset_column():
    df = _frame(source=["a", "b"], target=["b", "c"], item="x",
                time=["2026-01-01T08:00:00+08:00", "2026-01-01T09:00:00+08:00"])
    assert kg.read_log(df).events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z"),
                                                      pd.Timestamp("2026-01-01T01:00:00Z")]


def test_naive_times_in_a_given_zone():
    df = _frame(source=["a", "b", "c"], target=["b", "c", "d"], item="x",
                time=["2026-01-01 08:00:00", "2026-01-01 09:30", "2026-01-02"])
    g = kg.read_log(df, tz="Asia/Shanghai")  # UTC+8, no DST
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z"), pd.Timestamp("2026-01-01T01:30:00Z"),
                                         pd.Timestamp("2026-01-01T16:00:00Z")]
    assert kg.read_log(df).events["time"].iloc[0] == pd.Timestamp("2026-01-01T08:00:00Z")  # default UTC
    # naive and offset strings mixed: the offset wins for its rows, tz for the rest
    df = _frame(source=["a", "b"], target=["b", "c"], item="x", time=["2026-01-01 08:00", "2026-01-01T08:00Z"])
    g = kg.read_log(df, tz="Asia/Shanghai")
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z"), pd.Timestamp("2026-01-01T08:00:00Z")]


def test_non_iso_strings_parse_value_by_value():
    df = _frame(source=["a", "b"], target=["b", "c"], item="x", time=["Jan 1 2026 08:00", "2026/01/01 09:00"])
    g = kg.read_log(df, tz="Asia/Shanghai")
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z"), pd.Timestamp("2026-01-01T01:00:00Z")]


def test_tz_aware_and_naive_datetime_columns():
    aware = pd.to_datetime(["2026-01-01 08:00", "2026-01-01 09:00"]).tz_localize("Asia/Shanghai")
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=aware))
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T00:00:00Z"), pd.Timestamp("2026-01-01T01:00:00Z")]
    naive = pd.to_datetime(["2026-01-01 08:00", "2026-01-01 09:00"])
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=naive), tz="Asia/Shanghai")
    assert g.events["time"].iloc[0] == pd.Timestamp("2026-01-01T00:00:00Z")
    assert g.meta["read_log"]["time"]["naive_localized_as"] == "Asia/Shanghai"
    # a nonexistent local time (DST gap) and an ambiguous one (DST overlap) are quarantined with
    # their own reasons, not shifted and not called missing
    gap = pd.to_datetime(["2026-03-08 02:30", "2026-03-08 04:00", "2026-11-01 01:30"])
    g = kg.read_log(_frame(source=["a", "b", "c"], target=["b", "c", "d"], item="x", time=gap), tz="America/New_York")
    assert g.meta["read_log"]["rejected_by_reason"] == {"nonexistent_local_time": 1, "ambiguous_local_time": 1}
    assert g.n_events == 1
    # the same rule for naive strings, whichever parser reads them
    for texts in (["2026-03-08T02:30:00", "2026-03-08T04:00:00", "2026-11-01T01:30:00"],
                  ["8 March 2026 02:30", "8 March 2026 04:00", "1 November 2026 01:30"]):
        g = kg.read_log(_frame(source=["a", "b", "c"], target=["b", "c", "d"], item="x", time=texts),
                        tz="America/New_York")
        assert g.meta["read_log"]["rejected_by_reason"] == {"nonexistent_local_time": 1, "ambiguous_local_time": 1}


def test_parquet_timestamps_and_ints(tmp_path):
    t = pa.table({"source": pa.array(["a", "b"]), "target": pa.array(["b", "c"]), "item": pa.array([7, 8]),
                  "time": pa.array([T0 * 1000, (T0 + 1) * 1000], type=pa.timestamp("ms", tz="Asia/Shanghai"))})
    pq.write_table(t, tmp_path / "t.parquet")
    g = kg.read_log(tmp_path / "t.parquet")
    assert g.events["time"].tolist() == [pd.Timestamp(T0, unit="s", tz="UTC"), pd.Timestamp(T0 + 1, unit="s", tz="UTC")]
    assert g.items.index.tolist() == [7, 8]
    t = pa.table({"source": ["a"], "target": ["b"], "item": ["x"],
                  "time": pa.array([pd.Timestamp("2026-01-01 08:00")], type=pa.timestamp("us"))})
    pq.write_table(t, tmp_path / "n.parquet")
    g = kg.read_log(tmp_path / "n.parquet", tz="Asia/Shanghai")
    assert g.events["time"].iloc[0] == pd.Timestamp("2026-01-01T00:00:00Z")


# ------------------------------------------------------------------------------------------------ ids
def test_chinese_and_emoji_ids_round_trip_exactly(tmp_path):
    users = ["张三", "李四", "王五🎉", "😀", "ｆｕｌｌｗｉｄｔｈ", "a b", "e\u0301"]  # combining accent kept as is
    df = _frame(source=users[:-1], target=users[1:], item=["海报", "优惠券", "海报", "📦", "x", "y"],
                time=np.arange(6) + T0)
    for fmt in ("frame", "csv", "parquet", "jsonl"):
        if fmt == "frame":
            g = kg.read_log(df)
        else:
            p = tmp_path / f"u.{fmt}"
            {"csv": lambda: df.to_csv(p, index=False), "parquet": lambda: df.to_parquet(p, index=False),
             "jsonl": lambda: df.to_json(p, orient="records", lines=True, force_ascii=False)}[fmt]()
            g = kg.read_log(p)
        assert g.nodes.index.tolist() == ["张三", "李四", "王五🎉", "😀", "ｆｕｌｌｗｉｄｔｈ", "a b", "e\u0301"], fmt
        assert g.items.index.tolist() == ["海报", "优惠券", "📦", "x", "y"], fmt
        assert g.user_codes(["😀"]).tolist() == [3]


def test_huge_integer_ids_are_exact(tmp_path):
    big = 2**63 - 1
    df = _frame(source=np.array([big, big - 1, 1], dtype=np.int64), target=np.array([big - 1, 1, big], dtype=np.int64),
                item=np.array([big, 5, 5], dtype=np.int64), time=[1, 2, 3])
    for fmt in ("frame", "parquet", "jsonl"):
        if fmt == "frame":
            g = kg.read_log(df)
        else:
            p = tmp_path / f"b.{fmt}"
            df.to_parquet(p, index=False) if fmt == "parquet" else df.to_json(p, orient="records", lines=True)
            g = kg.read_log(p)
        assert g.nodes.index.tolist() == [big, big - 1, 1], fmt
        assert all(type(u) is int for u in g.nodes.index.tolist()), fmt
        assert g.items.index.tolist() == [big, 5], fmt
    # unsigned 64-bit ids too
    u = np.array([2**64 - 1, 2**63], dtype=np.uint64)
    g = kg.read_log(_frame(source=u, target=u[::-1], item="x", time=[1, 2]))
    assert g.nodes.index.tolist() == [2**64 - 1, 2**63]


def test_openid_like_strings_from_csv_stay_exact_strings(tmp_path):
    # 20-digit ids overflow int64 and leading zeros matter: CSV ids are read as text, never numbers
    p = tmp_path / "o.csv"
    p.write_text("source,target,item,time\n"
                 "12345678901234567890,98765432109876543210,00042,1\n"
                 "00123,98765432109876543210,42,2\n"
                 "oABCD_1234-xyz,00123,42,3\n")
    g = kg.read_log(p)
    assert g.nodes.index.tolist() == ["12345678901234567890", "00123", "oABCD_1234-xyz", "98765432109876543210"]
    assert all(type(u) is str for u in g.nodes.index)
    assert g.items.index.tolist() == ["00042", "42"]


def test_integer_ids_with_missing_values_stay_integers():
    df = _frame(source=[1.0, np.nan, 3.0], target=[2.0, 3.0, 4.0], item="x", time=[1, 2, 3])
    g = kg.read_log(df)
    # users in first-seen order, source column first: sources 1, 3 then targets 2, 4
    assert g.nodes.index.tolist() == [1, 3, 2, 4]
    assert all(type(u) is int for u in g.nodes.index.tolist())
    assert g.meta["read_log"]["rejected_by_reason"] == {"null_source": 1}


def test_mixed_int_and_str_ids_are_one_id_with_a_warning(tmp_path):
    # 1 and "1" print the same: they are one user, read as the text "1", and a warning says so
    with pytest.warns(kg.DataQualityWarning, match=r"mix integer and text ids.*7 and '7' are one user"):
        g = kg.read_log(_frame(source=pd.Series([1, "1", "a"], dtype=object),
                               target=pd.Series(["a", "b", 1], dtype=object), item="x", time=[1, 2, 3]))
    assert g.nodes.index.tolist() == ["1", "a", "b"]
    assert g.meta["read_log"]["ids_as_text"] == {"users": 1}
    # a Parquet log with integer sources and text targets keeps its chains whole
    df = pd.DataFrame({"source": [7, 8], "target": ["8", "9"], "item": "x", "time": [1, 2]})
    df.to_parquet(tmp_path / "m.parquet")
    with pytest.warns(kg.DataQualityWarning):
        g = kg.read_log(tmp_path / "m.parquet")
    assert g.nodes.index.tolist() == ["7", "8", "9"]
    kg.tl.cascades(g)
    assert int(g.items.loc["x", "depth"]) == 2
    # one type throughout: no warning, ids as given
    g = kg.read_log(_frame(source=[1, 2], target=[2, 3], item="x", time=[1, 2]))
    assert g.nodes.index.tolist() == [1, 2, 3] and "ids_as_text" not in g.meta["read_log"]


def test_ids_are_stripped_of_nothing_but_blank_ids_are_null():
    g = kg.read_log(_frame(source=[" a", "a", "  "], target=["b", "b", "c"], item="x", time=[1, 2, 3]))
    assert g.nodes.index.tolist() == [" a", "a", "b"]  # ids are kept exactly, spaces included
    assert g.meta["read_log"]["rejected_by_reason"] == {"null_source": 1}


@PROPERTY
@given(forward_logs(min_events=1), st.sampled_from(["csv", "parquet", "jsonl"]))
def test_file_formats_agree_with_the_frame(tmp_path_factory, df, fmt):
    p = tmp_path_factory.mktemp("fmt") / f"log.{fmt}"
    {"csv": lambda: df.to_csv(p, index=False), "parquet": lambda: df.to_parquet(p, index=False),
     "jsonl": lambda: df.to_json(p, orient="records", lines=True)}[fmt]()
    a, b = kg.read_log(df, time_unit="s"), kg.read_log(p, time_unit="s")
    pd.testing.assert_frame_equal(_canon(a), _canon(b))
    ra, rb = a.meta["read_log"], b.meta["read_log"]
    assert (ra["rows_read"], ra["rows_accepted"], ra["rejected_by_reason"]) == \
        (rb["rows_read"], rb["rows_accepted"], rb["rejected_by_reason"])


def test_jsonl_nested_values_are_reported(tmp_path):
    p = tmp_path / "n.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [{"source": "a", "target": ["b"], "item": "x", "time": 1}]) + "\n")
    with pytest.raises(kg.LogSchemaError, match=r"target column holds \['b'\]"):
        kg.read_log(p)


@PROPERTY
@MIXED_IDS
@given(dirty_logs(), st.sampled_from(["duplicate", "strings", "reversed"]))
def test_the_frames_index_plays_no_part(df, kind):
    idx = {"duplicate": [7] * len(df), "strings": [f"r{i}" for i in range(len(df))],
           "reversed": list(range(len(df)))[::-1]}[kind]
    a = kg.read_log(df, tz="Asia/Shanghai")
    b = kg.read_log(df.set_axis(idx), tz="Asia/Shanghai")
    pd.testing.assert_frame_equal(_canon(a), _canon(b))
    assert a.meta["read_log"] == b.meta["read_log"]
    ra, rb = kg.get.rejected(a), kg.get.rejected(b)
    assert ra[["row", "reason"]].values.tolist() == rb[["row", "reason"]].values.tolist()


@pytest.mark.parametrize("times", [
    pd.to_datetime([1_700_000_000, 1_700_000_060, 1_700_000_120], unit="s", utc=True).as_unit("ns"),
    pd.to_datetime([1_700_000_000, 1_700_000_060, 1_700_000_120], unit="s").as_unit("ns"),
    pd.to_datetime([1_700_000_000, 1_700_000_060, 1_700_000_120], unit="s", utc=True).tz_convert("Asia/Shanghai"),
    np.array([1_700_000_000, 1_700_000_060, 1_700_000_120], dtype=np.int64),
], ids=["utc-ns", "naive-ns", "shanghai", "epoch-s"])
def test_read_log_leaves_the_callers_frame_alone(times):
    # the time parser's fast paths hand arrays on without a copy: never the caller's own buffer
    df = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "d"], "item": "p", "time": times})
    before = df.copy(deep=True)
    g = kg.read_log(df)
    pd.testing.assert_frame_equal(df, before)
    col = df["time"]
    buf = col.array.asi8 if hasattr(col.array, "asi8") else col.to_numpy()
    assert not np.shares_memory(g.codes.time, buf)
    assert g.codes.time.tolist() == [1_700_000_000 * 10**9 + k * 60 * 10**9 for k in range(3)]
