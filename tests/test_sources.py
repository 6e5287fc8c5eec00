"""Every input a pandas user would pass, and many files as one log (issue 15, item 2)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import kocgraph as kg
from kocgraph.io import csvread

TOY = kg.datasets.toy_frame()


def _canon(g: kg.ShareGraph) -> pd.DataFrame:
    ev = g.events
    return pd.DataFrame({c: ev[c].astype(object) for c in ("source", "target", "item")} | {"time": ev["time"]}) \
        .reset_index(drop=True)


@pytest.fixture
def whole() -> kg.ShareGraph:
    return kg.read_log(TOY)


def test_file_like_objects(tmp_path, whole):
    text = TOY.to_csv(index=False)
    for obj in (io.StringIO(text), io.BytesIO(text.encode())):
        g = kg.read_log(obj)
        pd.testing.assert_frame_equal(_canon(g), _canon(whole))
        assert g.meta["read_log"]["sha256"]
    p = tmp_path / "toy.csv"
    p.write_text(text)
    with open(p, "rb") as fh:
        g = kg.read_log(fh)
    assert g.meta["read_log"]["path"] == str(p) and g.n_events == whole.n_events
    buf = io.BytesIO()
    TOY.to_parquet(buf)
    buf.seek(0)
    assert kg.read_log(buf).n_events == whole.n_events  # Parquet bytes, told apart by their magic


def test_folder_glob_and_list_are_one_log(tmp_path, whole):
    a, b = tmp_path / "logs" / "dt=2026-01-01", tmp_path / "logs" / "dt=2026-01-02"
    a.mkdir(parents=True)
    b.mkdir()
    TOY.iloc[:12].to_csv(a / "part-0.csv", index=False)
    TOY.iloc[12:].to_parquet(b / "part-0.parquet", index=False)
    (tmp_path / "logs" / "_SUCCESS").write_text("")  # markers and hidden files are not logs
    for given in (tmp_path / "logs", str(tmp_path / "logs" / "*" / "part-0.*"),
                  [a / "part-0.csv", b / "part-0.parquet"]):
        g = kg.read_log(given)
        pd.testing.assert_frame_equal(_canon(g), _canon(whole))
        rep = g.meta["read_log"]
        assert rep["n_files"] == 2 and [f["rows_read"] for f in rep["files"]] == [12, len(TOY) - 12]
        assert rep["rows_read"] == len(TOY)
        assert g.events["file"].astype(str).str.endswith(("part-0.csv", "part-0.parquet")).all()
    # the hive partition is an ordinary column: here, read as the time
    g = kg.read_log(tmp_path / "logs", time="dt")
    assert g.events["time"].dt.strftime("%Y-%m-%d").unique().tolist() == ["2026-01-01", "2026-01-02"]


def test_pyarrow_dataset_with_hive_partitions(tmp_path, whole):
    import pyarrow.dataset as ds

    root = tmp_path / "ds"
    for i, (lo, hi) in enumerate(((0, 10), (10, len(TOY)))):
        d = root / f"day={i}"
        d.mkdir(parents=True)
        TOY.iloc[lo:hi].to_parquet(d / "data.parquet", index=False)
    g = kg.read_log(ds.dataset(root, format="parquet", partitioning="hive"))
    pd.testing.assert_frame_equal(_canon(g), _canon(whole))
    assert g.meta["read_log"]["n_files"] == 2


def test_rejected_rows_name_their_file_and_row(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    (d / "a.csv").write_text("source,target,item,time\nx,y,i,1\nx,x,i,2\n")
    (d / "b.csv").write_text("source,target,item,time\ny,z,i,3\nx,y,i,1\ny,q\n")
    g = kg.read_log(d)
    rej = kg.get.rejected(g)
    got = sorted(zip(rej["file"].map(lambda p: p.rsplit("/", 1)[-1]), rej["row"], rej["reason"]))
    # a duplicate across files is found as within one; a cut line names its file and row
    assert got == [("a.csv", 1, "self_forward"), ("b.csv", 1, "duplicate"), ("b.csv", 2, "malformed_row")]
    rep = g.meta["read_log"]
    assert rep["rows_read"] == 5 and rep["rows_accepted"] + rep["rows_rejected"] == 5
    with pytest.raises(kg.LogSchemaError, match=r"row 1 of .*a.csv \(line 3\) is invalid: self_forward"):
        kg.read_log(d, on_invalid="raise")


def test_many_files_bad_input(tmp_path):
    d = tmp_path / "mixed"
    d.mkdir()
    (d / "a.csv").write_text("source,target,item,time\nx,y,i,1\n")
    (d / "b.csv").write_text("from,to,item,time\nx,y,i,2\n")
    with pytest.raises(kg.LogSchemaError, match=r"different columns: .*a.csv.*b.csv"):
        kg.read_log(d)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    with pytest.raises(kg.LogSchemaError, match=r"holds no log file.*\['notes.txt'\]"):
        kg.read_log(empty)
    with pytest.raises(kg.LogSchemaError, match=r"matches no log file"):
        kg.read_log(str(tmp_path / "nothing" / "*.csv"))
    with pytest.raises(kg.InvalidParameterError, match="empty list"):
        kg.read_log([])
    # a Parquet file with a broken footer among good files: the file is named
    good = tmp_path / "pq"
    good.mkdir()
    TOY.to_parquet(good / "a.parquet", index=False)
    data = (good / "a.parquet").read_bytes()
    (good / "b.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(kg.LogSchemaError, match=r"b.parquet' is not a readable Parquet file"):
        kg.read_log(good)


def test_streamed_and_whole_reads_agree(tmp_path, monkeypatch, whole):
    # many small blocks (batches) against one: the same graph, the same accounting
    big = pd.concat([TOY.assign(item=TOY["item"] + f"_{k}") for k in range(40)], ignore_index=True)
    p = tmp_path / "big.csv"
    big.to_csv(p, index=False)
    one = kg.read_log(p)
    monkeypatch.setattr(csvread, "BLOCK_SIZE", 256)
    many = kg.read_log(p)
    pd.testing.assert_frame_equal(_canon(one), _canon(many))
    assert one.nodes.index.tolist() == many.nodes.index.tolist()
    assert one.meta["read_log"]["rows_read"] == many.meta["read_log"]["rows_read"] == len(big)
    np.testing.assert_array_equal(one.events["row"].to_numpy(), many.events["row"].to_numpy())


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_reader_stopped_early_leaves_no_worker_behind(tmp_path, monkeypatch, suffix):
    # the first file streams in several batches (parsed or decoded one ahead by a worker); the
    # second file's columns differ, so the read stops with the first file's worker already started
    import threading

    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 5000
    first = pd.DataFrame({"source": [f"u{i % 97}" for i in range(n)], "target": [f"u{(i * 7 + 1) % 97}" for i in range(n)],
                          "item": [f"i{i % 13}" for i in range(n)], "time": np.arange(n) + 1_700_000_000})
    other = first.rename(columns={"item": "thing"})
    for name, frame in (("a", first), ("b", other)):
        if suffix == "csv":
            frame.to_csv(tmp_path / f"{name}.csv", index=False)
        else:
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / f"{name}.parquet",
                           row_group_size=500)
    monkeypatch.setattr(csvread, "BLOCK_SIZE", 4096)  # several CSV batches
    with pytest.raises(kg.LogSchemaError, match="different columns"):
        kg.read_log(tmp_path)
    assert not [t for t in threading.enumerate() if t.name == "kocgraph-read-ahead"]
