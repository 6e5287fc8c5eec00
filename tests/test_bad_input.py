"""Bad input gets a clear answer: an error that says what, shows the value and gives the fix, or a
quarantine reason per row; and rows are always conserved (accepted + rejected = read)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import MIXED_IDS, PROPERTY, PROPERTY_SMALL, T0, dirty_logs

import kocgraph as kg
from kocgraph._core.validation import REASONS


def _frame(**cols) -> pd.DataFrame:
    return pd.DataFrame(cols)


def _reasons(g: kg.ShareGraph) -> dict[str, int]:
    return g.meta["read_log"]["rejected_by_reason"]


def _check_conserved(g: kg.ShareGraph, n_rows: int) -> None:
    rep = g.meta["read_log"]
    assert rep["rows_read"] == n_rows
    assert rep["rows_accepted"] + rep["rows_rejected"] == rep["rows_read"]
    assert sum(rep["rejected_by_reason"].values()) == rep["rows_rejected"]
    assert set(rep["rejected_by_reason"]) <= set(REASONS)
    assert g.n_events == rep["rows_accepted"]
    rej = kg.get.rejected(g)
    assert len(rej) == rep["rows_rejected"]
    assert rej["reason"].value_counts().to_dict() == rep["rejected_by_reason"]
    # every input row is either an event or a rejected row, exactly once
    rows = sorted(g.events["row"].tolist() + rej["row"].tolist())
    assert rows == list(range(n_rows))
    g.validate()
    # read_log builds its categoricals without pandas' checks (it vouches for its dictionaries): hold it to them
    for col, ids in (("source", g.nodes.index), ("target", g.nodes.index), ("item", g.items.index)):
        codes = g.events[col].cat.codes
        assert g.events[col].cat.categories.equals(ids) and ids.is_unique and not ids.hasnans
        assert not len(codes) or (codes.min() >= 0 and codes.max() < len(ids))
        pd.CategoricalDtype(ids)  # the public constructor's checks pass


# ------------------------------------------------------------------------------------------------ files
def test_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(p)
    msg = str(e.value)
    assert "empty.csv" in msg and "empty (0 bytes)" in msg and "header" in msg


@pytest.mark.parametrize("text", ["source,target,item,time\n", "source,target,item,time", "source,target,item,time\r\n"])
def test_header_only_gives_an_empty_graph(tmp_path, text):
    p = tmp_path / "h.csv"
    p.write_text(text)
    g = kg.read_log(p)
    rep = g.meta["read_log"]
    assert (rep["rows_read"], rep["rows_accepted"], rep["rows_rejected"]) == (0, 0, 0)
    assert (g.n_users, g.n_items, g.n_events, g.n_edges) == (0, 0, 0, 0)
    assert g.time_span is None
    assert "0 users" in repr(g) and "0 rows read" in repr(g)
    assert len(kg.get.rejected(g)) == 0
    g.validate()


def test_blank_lines_only_means_no_header(tmp_path):
    p = tmp_path / "blank.csv"
    p.write_text("\n\n")
    with pytest.raises(kg.LogSchemaError, match="no header line"):
        kg.read_log(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(kg.LogSchemaError, match=r"does not exist.*Check the path"):
        kg.read_log(tmp_path / "nope.csv")
    with pytest.raises(kg.LogSchemaError, match="the folder .* holds no log file"):
        kg.read_log(tmp_path)


# ------------------------------------------------------------------------------------------------ columns
def test_missing_column_names_the_close_match():
    df = kg.datasets.toy_frame().rename(columns={"source": "sender"})
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(df)
    msg = str(e.value)
    assert "column 'source'" in msg                       # what
    assert "'sender'" in msg and "columns are [" in msg    # the values
    assert "Did you mean source='sender'" in msg          # the fix
    assert "Pass source=" in msg


def test_misnamed_column_close_spelling():
    df = kg.datasets.toy_frame().rename(columns={"target": "targets"})
    with pytest.raises(kg.LogSchemaError, match=r"Did you mean target='targets'"):
        kg.read_log(df)
    # the design's own example: every column renamed
    df = pd.DataFrame(columns=["from", "to", "post_id", "ts"])
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(df, source="from", target="receiver", item="post_id", time="ts")
    assert "column 'receiver'" in str(e.value) and "target='to'" in str(e.value)
    with pytest.raises(kg.LogSchemaError, match=r"Did you mean time='ts'"):
        kg.read_log(df, source="from", target="to", item="post_id")
    # a column already used for another role is not suggested
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(pd.DataFrame(columns=["from", "to"]), source="from", target="receiver", item=None, time=None)
    assert "target='to'" in str(e.value) and "target='from'" not in str(e.value)


def test_no_close_match_still_lists_columns():
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(pd.DataFrame(columns=["aa", "bb"]))
    assert "columns are ['aa', 'bb']" in str(e.value) and "Did you mean" not in str(e.value)


def test_bad_parameters_say_what_and_how():
    df = kg.datasets.toy_frame()
    with pytest.raises(kg.InvalidParameterError, match=r"on_invalid='drop'.*\['quarantine', 'raise'\]"):
        kg.read_log(df, on_invalid="drop")
    with pytest.raises(kg.InvalidParameterError, match=r"time_unit='minutes'"):
        kg.read_log(df, time_unit="minutes")
    with pytest.raises(kg.InvalidParameterError, match=r"source=1 must be a column name"):
        kg.read_log(df, source=1)
    with pytest.raises(kg.InvalidParameterError, match=r"both name column 'source'"):
        kg.read_log(df, target="source")
    with pytest.raises(kg.InvalidParameterError, match=r"got a list holding 1 \(int\); a list must hold file paths"):
        kg.read_log([1, 2])
    with pytest.raises(kg.InvalidParameterError, match=r"format='xlsx'"):
        kg.read_log(kg.datasets.toy_path(), format="xlsx")
    with pytest.raises(kg.InvalidParameterError, match=r"source=None must be a column name"):
        kg.read_log(df, source=None)


# ------------------------------------------------------------------------------------------------ types
@pytest.mark.parametrize(
    "bad, shown",
    [([1], r"\[1\] of type list"), (2.5, "2.5 of type float"), (True, "True of type bool"),
     ({"id": 1}, r"\{'id': 1\} of type dict"), (b"raw", "b'raw' of type bytes")],
)
def test_wrong_id_types(bad, shown):
    # one id of a wrong type is one bad row: set aside as invalid_id, the value kept in the rejected row
    df = _frame(source=pd.Series(["a", bad], dtype=object), target=["b", "c"], item="x", time=[1, 2])
    g = kg.read_log(df)
    assert _reasons(g) == {"invalid_id": 1}
    rej = kg.get.rejected(g)
    assert rej["row"].tolist() == [1] and repr(rej["source"].iloc[0]) == repr(bad)
    with pytest.raises(kg.LogSchemaError, match=r"row 1 is invalid: invalid_id"):
        kg.read_log(df, on_invalid="raise")
    # a column with no valid id at all is a wrong column: say which and what it holds
    df = _frame(source=pd.Series([bad, bad], dtype=object), target=["b", "c"], item="x", time=[1, 2])
    with pytest.raises(kg.LogSchemaError, match=rf"the source column holds {shown}.*strings or integers.*astype\(str\)"):
        kg.read_log(df)


def test_wrong_typed_columns():
    # a float column with fractions cannot hold ids: each fraction is a bad row, integral floats are ids
    g = kg.read_log(_frame(source=[1.0, 2.0], target=[1.5, 3.0], item="x", time=[1, 2]))
    assert _reasons(g) == {"invalid_id": 1} and g.nodes.index.tolist() == [2, 3]
    with pytest.raises(kg.LogSchemaError, match=r"target column holds 1.5 of type float"):
        kg.read_log(_frame(source=[1.0, 2.0], target=[1.5, 3.5], item="x", time=[1, 2]))
    # dates and bools are not ids
    with pytest.raises(kg.LogSchemaError, match=r"item column holds .*Timestamp"):
        kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item=pd.to_datetime([1, 2]), time=[1, 2]))
    with pytest.raises(kg.LogSchemaError, match=r"item column holds .*bool"):
        kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item=[True, False], time=[1, 2]))
    # integral floats in an object column are integer ids (here beside text ids: all read as text)
    with pytest.warns(kg.DataQualityWarning):
        g = kg.read_log(_frame(source=pd.Series(["a", 2.0], dtype=object), target=["b", 2], item="x", time=[1, 2]))
    assert _reasons(g) == {"self_forward": 1}
    assert g.nodes.index.tolist() == ["a", "b"]


def test_wrong_typed_time_and_value_are_quarantined():
    df = _frame(source=["a", "b", "c", "d"], target=["b", "c", "d", "e"], item="x",
                time=pd.Series([T0, "yesterday", True, T0 + 5], dtype=object),
                value=["1.5", "n/a", 3, None])
    g = kg.read_log(df)
    # text and a bool among epoch numbers: those rows are unparseable times, the numbers are kept
    # (row 1 also has a bad value; a row gets the first of its reasons, and times come first)
    assert kg.get.rejected(g).set_index("row")["reason"].to_dict() == {1: "unparseable_time", 2: "unparseable_time"}
    assert g.events["time"].tolist() == [pd.Timestamp(T0, unit="s", tz="UTC"), pd.Timestamp(T0 + 5, unit="s", tz="UTC")]
    _check_conserved(g, 4)
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[1, 2], value=["12", "n/a"]))
    assert _reasons(g) == {"unparseable_value": 1}
    assert kg.get.rejected(g)["value"].tolist() == ["n/a"]


def test_mixed_epoch_units_are_quarantined():
    # seconds and milliseconds in one column: the minority unit is set aside, not silently rescaled
    df = _frame(source=["a", "b", "c", "d"], target=["b", "c", "d", "e"], item="x",
                time=[T0, T0 + 10, (T0 + 20) * 1000, T0 + 30])
    g = kg.read_log(df)
    assert _reasons(g) == {"mixed_epoch_units": 1}
    rej = kg.get.rejected(g)
    assert rej["row"].tolist() == [2] and rej["time"].tolist() == [(T0 + 20) * 1000]
    assert g.meta["read_log"]["time"]["unit"] == "s"
    assert g.meta["read_log"]["time"]["mixed_units"] == {"s": 3, "ms": 1}
    assert "unit" in REASONS["mixed_epoch_units"]
    _check_conserved(g, 4)
    # as text from a CSV, too
    g = kg.read_log(df.assign(time=df["time"].astype(str)))
    assert _reasons(g) == {"mixed_epoch_units": 1}
    # with on_invalid="raise" the row and the reason are named
    with pytest.raises(kg.LogSchemaError, match=r"row 2 is invalid: mixed_epoch_units"):
        kg.read_log(df, on_invalid="raise")
    # an explicit unit turns detection off: the big value is then far in the future -> out of range
    g = kg.read_log(df, time_unit="s")
    assert _reasons(g) == {"time_out_of_range": 1}


def test_nan_none_and_blank_ids():
    df = _frame(source=pd.Series(["a", None, np.nan, "", "  ", "f", "g", pd.NA], dtype=object),
                target=pd.Series(["b", "c", "d", "e", "f", None, "h", "i"], dtype=object),
                item=pd.Series(["x", "x", "x", "x", "x", "x", np.nan, "x"], dtype=object),
                time=range(8))
    g = kg.read_log(df)
    assert _reasons(g) == {"null_source": 5, "null_target": 1, "null_item": 1}
    rej = kg.get.rejected(g).set_index("row")["reason"].to_dict()
    assert rej == {1: "null_source", 2: "null_source", 3: "null_source", 4: "null_source", 7: "null_source",
                   5: "null_target", 6: "null_item"}
    assert g.nodes.index.tolist() == ["a", "b"]
    _check_conserved(g, 8)
    # a null in an integer column (pandas makes it float) is a null id, the rest stay integers
    g = kg.read_log(_frame(source=[1, None, 3], target=[2, 3, 4], item="x", time=[1, 2, 3]))
    assert _reasons(g) == {"null_source": 1} and g.nodes.index.tolist() == [1, 3, 2, 4]


def test_null_times():
    g = kg.read_log(_frame(source=["a", "b", "c"], target=["b", "c", "d"], item="x", time=[T0, np.nan, T0 + 1]))
    assert _reasons(g) == {"null_time": 1}
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=["2026-01-01", ""]))
    assert _reasons(g) == {"null_time": 1}


@MIXED_IDS
def test_self_forward():
    g = kg.read_log(_frame(source=["a", "b", 7], target=["b", "b", 7], item="x", time=[1, 2, 3]))
    assert _reasons(g) == {"self_forward": 2}
    assert kg.get.rejected(g)["row"].tolist() == [1, 2]
    assert "same user" in REASONS["self_forward"]


def test_exact_duplicates_only():
    df = _frame(source=["a", "a", "a", "a", "a"], target=["b", "b", "b", "b", "b"], item=["x", "x", "x", "y", "x"],
                time=[1, 1, 2, 1, 1], event_type=["share", "share", "share", "share", "purchase"])
    g = kg.read_log(df)
    # row 1 repeats row 0; a different time (row 2), item (row 3) or event type (row 4) is another event
    assert _reasons(g) == {"duplicate": 1}
    assert kg.get.rejected(g)["row"].tolist() == [1]
    assert g.edges["n_forwards"].tolist() == [4]
    # the same event written two ways (seconds vs ISO) is the same event
    g = kg.read_log(_frame(source=["a", "a"], target=["b", "b"], item="x",
                           time=["2026-01-01T00:00:00Z", "2026-01-01T08:00:00+08:00"]))
    assert _reasons(g) == {"duplicate": 1}


def test_a_row_with_several_problems_gets_the_first_reason():
    g = kg.read_log(_frame(source=[None, "a"], target=["b", "a"], item=[None, "x"], time=["bad", "bad"]))
    assert kg.get.rejected(g)["reason"].tolist() == ["null_source", "unparseable_time"]


def test_receiver_before_sender_held_the_item_stays_acyclic():
    # c forwards x to a (t=1) before c receives x from b (t=2); a then forwards to b (t=3) and
    # b back to c (t=4): without the first-receipt rule this would be the cycle c->a->b->c.
    df = _frame(source=["b", "c", "a", "b"], target=["c", "a", "b", "c"], item="x",
                time=[T0 + 2, T0 + 1, T0 + 3, T0 + 4])
    g = kg.read_log(df, time_unit="s")
    kg.tl.cascades(g)
    # in time order: t1 c->a: c sent without holding x -> root; a is c's child.
    # t2 b->c: b sent without holding x -> root; c already holds x -> exposure (c forwarded first).
    # t3 a->b: b already holds x -> exposure (b forwarded first).  t4 b->c: exposure.
    assert g.meta["cascades"]["n_forwarded_before_receipt"] == 2  # c and b
    c = kg.get.cascade(g, "x").set_index("user")
    assert pd.isna(c.loc["c", "parent"]) and pd.isna(c.loc["b", "parent"])
    assert c.loc["a", "parent"] == "c"
    T = nx.DiGraph([(p, u) for u, p in c["parent"].items() if isinstance(p, str)])
    assert nx.is_directed_acyclic_graph(T)
    assert g.meta["cascades"]["n_exposures"] == 3


def test_two_cycle_on_one_item_is_accepted_and_acyclic():
    g = kg.read_log(_frame(source=["A", "B"], target=["B", "A"], item="x", time=[T0, T0 + 1]))
    assert g.meta["read_log"]["rows_rejected"] == 0
    kg.tl.cascades(g)
    assert g.items.loc["x", "size"] == 2 and g.items.loc["x", "depth"] == 1
    assert kg.get.cascade(g, "x")["parent"].tolist()[1] == "A"


# ------------------------------------------------------------------------------------------------ damaged files
def test_truncated_last_line_is_quarantined(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("source,target,item,time\na,b,x,1\nb,c,x,2\nc,d,x")  # export cut off mid-line
    g = kg.read_log(p)
    assert _reasons(g) == {"malformed_row": 1}
    rej = kg.get.rejected(g)
    assert rej["row"].tolist() == [2] and rej["raw_text"].tolist() == ["c,d,x"]
    _check_conserved(g, 3)
    assert g.events["row"].tolist() == [0, 1]


def test_damaged_lines_in_the_middle_keep_row_numbers(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("source,target,item,time\na,b,x,1\nb,c\nc,d,x,3,EXTRA\nd,e,x,4\ne,e,x,5\n")
    g = kg.read_log(p)
    assert _reasons(g) == {"malformed_row": 2, "self_forward": 1}
    assert g.events["row"].tolist() == [0, 3]
    assert kg.get.rejected(g).set_index("row")["reason"].to_dict() == {1: "malformed_row", 2: "malformed_row",
                                                                       4: "self_forward"}
    _check_conserved(g, 5)
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(p, on_invalid="raise")
    msg = str(e.value)
    assert "row 1 (line 3 of the file)" in msg and "malformed_row" in msg and "'b,c'" in msg
    assert "on_invalid='quarantine'" in msg


def test_truncated_jsonl_line_is_quarantined(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text('{"source": "a", "target": "b", "item": "x", "time": 1}\n'
                 '{"source": "b", "target": "c", "item": "x", "time": 2}\n'
                 '{"source": "c", "targ')
    g = kg.read_log(p)
    assert _reasons(g) == {"malformed_row": 1}
    assert kg.get.rejected(g)["row"].tolist() == [2]
    _check_conserved(g, 3)
    with pytest.raises(kg.LogSchemaError, match=r"row 2 \(line 3 of the file\) is invalid: malformed_row"):
        kg.read_log(p, on_invalid="raise")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json at all\n")
    with pytest.raises(kg.LogSchemaError, match="is not valid JSON lines"):
        kg.read_log(bad)


def test_compressed_files_with_a_truncated_last_line(tmp_path):
    import bz2
    import gzip

    with gzip.open(tmp_path / "t.csv.gz", "wt") as f:
        f.write("source,target,item,time\na,b,x,1\nb,c,x,2\nc,d")
    g = kg.read_log(tmp_path / "t.csv.gz")
    assert _reasons(g) == {"malformed_row": 1}
    _check_conserved(g, 3)
    with bz2.open(tmp_path / "t.jsonl.bz2", "wt") as f:
        f.write('{"source": "a", "target": "b", "item": "x", "time": 1}\n{"source": "b", "tar')
    g = kg.read_log(tmp_path / "t.jsonl.bz2")
    assert _reasons(g) == {"malformed_row": 1}
    _check_conserved(g, 2)


def test_excel_style_csv_with_bom_and_crlf(tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes("\ufeffsource,target,item,time\r\n张三,李四,x,1\r\n李四,王五,x,2\r\n".encode("utf-8"))
    g = kg.read_log(p)
    assert g.n_events == 2 and g.nodes.index.tolist() == ["张三", "李四", "王五"]


def test_non_utf8_file_suggests_the_encoding(tmp_path):
    p = tmp_path / "gb.csv"
    p.write_bytes("source,target,item,time\n张三,李四,海报,1767225600\n李四,王五,海报,1767225660\n".encode("gb18030"))
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(p)
    msg = str(e.value)
    assert "gb.csv" in msg and "not valid utf-8" in msg and "encoding='gb18030'" in msg
    g = kg.read_log(p, encoding="gb18030")
    assert g.nodes.index.tolist() == ["张三", "李四", "王五"]
    assert g.items.index.tolist() == ["海报"]
    p2 = tmp_path / "gb.jsonl"
    p2.write_bytes('{"source": "张三", "target": "李四", "item": "海报", "time": 1}\n'.encode("gb18030"))
    with pytest.raises(kg.LogSchemaError, match="gb18030"):
        kg.read_log(p2)
    assert kg.read_log(p2, encoding="gb18030").nodes.index.tolist() == ["张三", "李四"]


def test_times_out_of_range_are_quarantined():
    df = _frame(source=["a", "b", "c"], target=["b", "c", "d"], item="x",
                time=["2026-01-01", "3000-01-01", "1500-06-01T00:00:00Z"])
    g = kg.read_log(df)
    assert _reasons(g) == {"time_out_of_range": 2}
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x",
                           time=pd.to_datetime(["2026-01-01", "3000-01-01"]).as_unit("s")))
    assert _reasons(g) == {"time_out_of_range": 1}
    g = kg.read_log(_frame(source=["a", "b"], target=["b", "c"], item="x", time=[T0, 2**62]), time_unit="s")
    assert _reasons(g) == {"time_out_of_range": 1}


# ------------------------------------------------------------------------------------------------ raise mode
@pytest.mark.parametrize(
    "row, reason",
    [({"source": None}, "null_source"), ({"target": ""}, "null_target"), ({"item": np.nan}, "null_item"),
     ({"time": None}, "null_time"), ({"time": "soon"}, "unparseable_time"), ({"target": "a"}, "self_forward"),
     ({"time": T0}, "duplicate"), ({"value": "free"}, "unparseable_value")],
)
def test_on_invalid_raise_names_row_and_reason(row, reason):
    base = {"source": "a", "target": "b", "item": "x", "time": T0, "value": 1.0}
    rows = [dict(base), dict(base, target="c", time=T0 + 1), {**base, **row}]
    df = pd.DataFrame(rows).astype({"time": object, "value": object, "item": object, "target": object,
                                    "source": object})
    with pytest.raises(kg.LogSchemaError) as e:
        kg.read_log(df, on_invalid="raise")
    msg = str(e.value)
    assert msg.startswith(f"row 2 is invalid: {reason}: {REASONS[reason]}")
    assert "the row is {" in msg and "Fix the row" in msg and "on_invalid='quarantine'" in msg


def test_on_invalid_raise_on_a_file_gives_the_line(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("source,target,item,time\na,b,x,1\nb,b,x,2\n")
    with pytest.raises(kg.LogSchemaError, match=r"row 1 \(line 3 of the file\) is invalid: self_forward"):
        kg.read_log(p, on_invalid="raise")


def test_on_invalid_raise_passes_clean_logs():
    g = kg.read_log(kg.datasets.toy_frame(), on_invalid="raise")
    assert g.n_events == 30 and g.meta["read_log"]["on_invalid"] == "raise"


# ------------------------------------------------------------------------------------------------ properties
@PROPERTY
@MIXED_IDS
@given(dirty_logs())
def test_rows_are_conserved_on_dirty_frames(df):
    try:
        g = kg.read_log(df)
    except kg.LogSchemaError as err:  # only a whole-column problem may stop the read, with a message
        assert "column" in str(err)
        return
    _check_conserved(g, len(df))
    # raise mode stops at the first rejected row, with its reason
    rej = kg.get.rejected(g)
    if len(rej):
        first = rej.sort_values("row").iloc[0]
        with pytest.raises(kg.LogSchemaError, match=rf"^row {first['row']} is invalid: {first['reason']}:"):
            kg.read_log(df, on_invalid="raise")
    else:
        assert kg.read_log(df, on_invalid="raise").n_events == g.n_events


@PROPERTY_SMALL
@MIXED_IDS
@given(dirty_logs(), st.booleans())
def test_rows_are_conserved_on_dirty_csv_files(tmp_path_factory, df, truncate):
    p = tmp_path_factory.mktemp("dirty") / "log.csv"
    df.to_csv(p, index=False)
    n = len(df)
    if truncate and n:
        text = p.read_text(encoding="utf-8").rstrip("\n")
        cut = text.rsplit(",", 1)[0]  # drop the last field of the last line
        p.write_text(cut, encoding="utf-8")
    try:
        g = kg.read_log(p)
    except kg.LogSchemaError as err:
        assert "column" in str(err) or "header" in str(err)
        return
    _check_conserved(g, n)
    if truncate and n:
        assert kg.get.rejected(g).set_index("row").loc[n - 1, "reason"] == "malformed_row"


# ------------------------------------------------------------------------------------------------ issue 17: whole files
def test_files_that_are_not_csv_text_are_named(tmp_path):
    import zipfile

    xlsx = tmp_path / "book.csv"  # an Excel workbook renamed .csv
    with zipfile.ZipFile(xlsx, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(kg.LogSchemaError, match=r"book.csv' is a ZIP archive \(an Excel .xlsx workbook\?\).*CSV UTF-8"):
        kg.read_log(xlsx)
    pq = tmp_path / "log.csv"
    kg.datasets.toy_frame().to_parquet(pq)
    with pytest.raises(kg.LogSchemaError, match=r"is a Parquet file.*format='parquet'"):
        kg.read_log(pq)
    import gzip

    gz = tmp_path / "z.csv"
    gz.write_bytes(gzip.compress(b"source,target,item,time\na,b,x,1\n"))
    with pytest.raises(kg.LogSchemaError, match=r"gzip-compressed.*\.gz"):
        kg.read_log(gz)


def test_utf16_text(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes("source,target,item,time\n张三,李四,x,1\n".encode("utf-16"))
    with pytest.raises(kg.LogSchemaError, match=r"UTF-16 text.*encoding='utf-16'"):
        kg.read_log(p)
    g = kg.read_log(p, encoding="utf-16")
    assert g.nodes.index.tolist() == ["张三", "李四"] and g.meta["read_log"]["rows_accepted"] == 1


def test_duplicate_column_names(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("source,target,item,time,time\na,b,x,1,2\n")
    with pytest.raises(kg.LogSchemaError, match=r"1 column name\(s\) used twice: \['time'\]"):
        kg.read_log(p)
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table([pa.array(["a"]), pa.array(["b"]), pa.array(["b"]), pa.array([1])], names=["source", "target", "target", "time"])
    pq.write_table(t, tmp_path / "dup.parquet")
    with pytest.raises(kg.LogSchemaError, match=r"used twice: \['target'\]"):
        kg.read_log(tmp_path / "dup.parquet", item=None)


def test_bytes_that_are_not_utf8_in_a_non_id_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"source,target,item,time,channel\na,b,x,1,group\nb,c,x,2,gr\xffoup\n")
    with pytest.raises(kg.LogSchemaError, match=r"not valid utf-8 text.*encoding='gb18030'"):
        kg.read_log(p)


def test_corrupt_parquet(tmp_path):
    p = tmp_path / "c.parquet"
    kg.datasets.toy_frame().to_parquet(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2] + data[-8:])  # a cut copy: footer kept, middle gone
    with pytest.raises(kg.LogSchemaError, match=r"c.parquet' is not a readable Parquet file.*re-export"):
        kg.read_log(p)
    p.write_bytes(b"PAR1 not really")
    with pytest.raises(kg.LogSchemaError, match="not a readable Parquet file"):
        kg.read_log(p)


def test_parquet_list_typed_item_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table({"source": ["a", "b"], "target": ["b", "c"], "item": pa.array([["x"], ["y"]]), "time": [1, 2]})
    pq.write_table(t, tmp_path / "l.parquet")
    with pytest.raises(kg.LogSchemaError, match=r"item column holds .* strings or integers"):
        kg.read_log(tmp_path / "l.parquet")


def test_parquet_dates_outside_the_nanosecond_range_are_rows(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    times = pa.array([dt.datetime(2026, 1, 1), dt.datetime(3000, 1, 1), dt.datetime(1500, 6, 1)], pa.timestamp("ms"))
    t = pa.table({"source": ["a", "b", "c"], "target": ["b", "c", "d"], "item": ["x"] * 3, "time": times})
    pq.write_table(t, tmp_path / "d.parquet")
    g = kg.read_log(tmp_path / "d.parquet")
    assert _reasons(g) == {"time_out_of_range": 2}
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01", tz="UTC")]
    dates = pa.table({"source": ["a", "b"], "target": ["b", "c"], "item": ["x", "x"],
                      "time": pa.array([dt.date(2026, 1, 2), dt.date(2999, 1, 1)], pa.date32())})
    pq.write_table(dates, tmp_path / "d32.parquet")
    g = kg.read_log(tmp_path / "d32.parquet", tz="Asia/Shanghai")
    assert _reasons(g) == {"time_out_of_range": 1}
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T16:00:00Z")]


def test_jsonl_row_problems_are_quarantined(tmp_path):
    p = tmp_path / "o.jsonl"
    rows = [{"source": "a", "target": "b", "item": "x", "time": 1},
            {"source": {"id": 1}, "target": "c", "item": "x", "time": 2},
            {"source": "b", "target": ["c"], "item": "x", "time": 3},
            {"source": "c", "target": "d", "item": "x", "time": 4, "value": "inf"}]
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(r) for r in rows).encode() + b"\n")  # with a BOM
    g = kg.read_log(p)
    assert _reasons(g) == {"invalid_id": 2, "non_finite_value": 1}
    assert g.meta["read_log"]["rows_read"] == 4 and g.n_events == 1
    assert kg.get.rejected(g)[["row", "line", "reason"]].values.tolist() == [
        [1, 2, "invalid_id"], [2, 3, "invalid_id"], [3, 4, "non_finite_value"]]


def test_non_finite_values(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text("source,target,item,time,value\na,b,x,1,12.5\nb,c,x,2,inf\nc,d,x,3,-inf\nd,e,x,4,\n")
    g = kg.read_log(p)
    assert _reasons(g) == {"non_finite_value": 2}
    assert g.events["value"].tolist()[0] == 12.5 and np.isnan(g.events["value"].tolist()[1])


def test_bad_read_options_are_parameter_errors(tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text("source,target,item,time\na,b,x,1\n")
    with pytest.raises(kg.InvalidParameterError, match=r"encoding='bogus' is not a text encoding"):
        kg.read_log(p, encoding="bogus")
    with pytest.raises(kg.InvalidParameterError, match=r"tz='Mars/Base' is not a time zone"):
        kg.read_log(p, tz="Mars/Base")
    with pytest.raises(kg.InvalidParameterError, match=r"sep=';;' must be one character"):
        kg.read_log(p, sep=";;")
    with pytest.raises(kg.InvalidParameterError, match=r"missing_ids=.*not a string"):
        kg.read_log(p, missing_ids=(None,))


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        kg.read_log(tmp_path / "nope.csv")
