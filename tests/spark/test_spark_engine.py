"""The Spark engine against the in-memory engine, on the same logs (local[2]).

The in-memory path is the reference: the same rejected rows (and reasons), identical cascade figures
and reach, PageRank within 1e-6, identical coreness and components, identical KOC top-k lists, and
the same files from ``kocgraph nominate``. Each log is run through the Spark pipeline once
(module-scoped fixtures), and the tests compare the pieces.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

import kocgraph as kg

pytest.importorskip("pyspark")

pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark"),
    pytest.mark.filterwarnings("ignore::FutureWarning:pyspark"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

STAFF_TOY = ["brand", "staff_li"]


def _dirty_toy() -> pd.DataFrame:
    """The toy log plus one row of each common problem (null ids, bad time, self-forward, duplicate)."""
    df = kg.datasets.toy_frame().astype({"source": object, "target": object, "item": object, "time": object,
                                         "event_type": object, "channel": object})
    bad = pd.DataFrame({
        "source": [None, "alice", "bob", "  ", "carol", "alice"],
        "target": ["bob", None, "bob", "dave", "erin", "carol"],
        "item": ["poster", "poster", "poster", "poster", None, "poster"],
        "time": ["2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z", "2026-01-01T09:00:00Z",
                 "2026-01-01T09:00:00Z", "not a time"],
        "event_type": "share", "channel": "chat", "value": np.nan,
    })
    out = pd.concat([df.iloc[:10], bad, df.iloc[10:], df.iloc[[2, 3]]], ignore_index=True)  # two exact duplicates at the end
    return out


def _pipeline(spark, frame, staff):
    import kocgraph.spark as ks

    log = ks.read_log(spark, frame)
    ks.cascades(log)
    ks.pagerank(log)
    ks.coreness(log)
    ks.components(log)
    nodes = ks.kocs(log, staff=staff).orderBy("code").toPandas()
    return log, nodes


def _memory(frame, staff):
    g = kg.read_log(frame)
    kg.tl.cascades(g)
    kg.tl.pagerank(g)
    kg.tl.coreness(g)
    kg.tl.kocs(g, staff=staff, weights="percentile")  # the Spark engine computes the first version's score
    return g


@pytest.fixture(scope="module")
def toy_pair(spark):
    frame = _dirty_toy()
    log, nodes = _pipeline(spark, frame, STAFF_TOY)
    return _memory(frame, STAFF_TOY), log, nodes


@pytest.fixture(scope="module")
def synth_pair(spark):
    frame, info = kg.datasets.synthetic_frame(n_users=2000, n_items=60, rng=0)
    staff = list(info["staff"])
    log, nodes = _pipeline(spark, frame, staff)
    return _memory(frame, staff), log, nodes


PAIRS = ["toy_pair", "synth_pair"]


@pytest.mark.parametrize("pair", PAIRS)
def test_read_log_counts_and_rejected_rows(pair, request):
    g, log, _ = request.getfixturevalue(pair)
    rm, rs = g.meta["read_log"], log.report
    for k in ("rows_read", "rows_accepted", "rows_rejected", "rejected_by_reason"):
        assert rs[k] == rm[k], k
    assert rs["rows_accepted"] + rs["rows_rejected"] == rs["rows_read"]
    rej_s = log.rejected.orderBy("row").select("row", "reason").toPandas()
    rej_m = kg.get.rejected(g)[["row", "reason"]].sort_values("row").reset_index(drop=True)
    assert rej_s["row"].tolist() == rej_m["row"].tolist()
    assert rej_s["reason"].tolist() == rej_m["reason"].tolist()
    # the same users, coded in the same order; the same events
    assert log.users.orderBy("code").toPandas()["user"].tolist() == g.nodes.index.tolist()
    assert log.items.orderBy("code").toPandas()["item"].tolist() == g.items.index.tolist()
    ev = log.events.orderBy("row").toPandas()
    c = g.codes
    assert ev["row"].tolist() == g.events["row"].tolist()
    np.testing.assert_array_equal(ev["src"].to_numpy(), c.src)
    np.testing.assert_array_equal(ev["tgt"].to_numpy(), c.tgt)
    np.testing.assert_array_equal(ev["time"].to_numpy(), c.time)


@pytest.mark.parametrize("pair", PAIRS)
def test_cascade_figures_and_reach_identical(pair, request):
    g, log, nodes = request.getfixturevalue(pair)
    items = log.results["items"].orderBy("itm").toPandas()
    it = g.items
    for k in ("size", "depth", "max_breadth", "n_roots"):
        np.testing.assert_array_equal(items[k].to_numpy(np.int64), it[k].to_numpy(np.int64), err_msg=k)
    np.testing.assert_allclose(items["virality"].to_numpy(np.float64), it["virality"].to_numpy(np.float64),
                               rtol=0, atol=1e-12, equal_nan=True)
    users = g.nodes.index
    assert [users[r] for r in items["root"]] == it["root"].astype(object).tolist()
    np.testing.assert_array_equal(items["duration"].to_numpy(np.int64), it["duration"].to_numpy().astype("timedelta64[ns]").astype(np.int64))
    for k in ("reach", "direct_reach", "resharers", "items_started", "items_received", "items_spread"):
        np.testing.assert_array_equal(nodes[k].to_numpy(np.int64), g.nodes[k].to_numpy(np.int64), err_msg=k)
    trees = log.results["trees"].toPandas()
    assert len(trees) == len(g.trees)
    assert log.meta["cascades"]["n_forwarded_before_receipt"] == g.meta["cascades"]["n_forwarded_before_receipt"]


@pytest.mark.parametrize("pair", PAIRS)
def test_edges_identical(pair, request):
    g, log, _ = request.getfixturevalue(pair)
    import kocgraph.spark as ks

    e = ks.edges(log).orderBy("src", "tgt").toPandas()
    c = g.codes
    np.testing.assert_array_equal(e["src"].to_numpy(), c.edge_src)
    np.testing.assert_array_equal(e["tgt"].to_numpy(), c.edge_tgt)
    np.testing.assert_array_equal(e["n_forwards"].to_numpy(), g.edges["n_forwards"].to_numpy())
    np.testing.assert_array_equal(e["n_items"].to_numpy(), g.edges["n_items"].to_numpy())


@pytest.mark.parametrize("pair", PAIRS)
def test_pagerank_within_1e6(pair, request):
    g, log, nodes = request.getfixturevalue(pair)
    np.testing.assert_allclose(nodes["pagerank"].to_numpy(), g.nodes["pagerank"].to_numpy(), rtol=0, atol=1e-6)
    assert abs(nodes["pagerank"].sum() - 1.0) < 1e-9
    assert log.meta["pagerank"]["converged"]


@pytest.mark.parametrize("pair", PAIRS)
def test_coreness_and_components_identical(pair, request):
    g, _, nodes = request.getfixturevalue(pair)
    np.testing.assert_array_equal(nodes["coreness"].to_numpy(np.int64), g.nodes["coreness"].to_numpy(np.int64))
    c = g.codes
    A = sp.csr_matrix((np.ones(c.edge_src.shape[0]), (c.edge_src, c.edge_tgt)), shape=(g.n_users, g.n_users))
    _, lab = connected_components(A, directed=True, connection="weak")
    np.testing.assert_array_equal(nodes["component"].to_numpy(np.int64), lab)


@pytest.mark.parametrize("pair", PAIRS)
def test_koc_scores_and_top_k_identical(pair, request):
    g, log, nodes = request.getfixturevalue(pair)
    assert log.meta["koc"]["features"] == g.meta["koc"]["features"]
    assert log.meta["koc"]["n_eligible"] == g.meta["koc"]["n_eligible"]
    assert log.meta["koc"]["n_excluded"] == g.meta["koc"]["n_excluded"]
    np.testing.assert_allclose(nodes["koc_score"].to_numpy(np.float64), g.nodes["koc_score"].to_numpy(np.float64),
                               rtol=0, atol=1e-12, equal_nan=True)
    k = 20
    top_s = nodes.dropna(subset=["koc_rank"]).sort_values("koc_rank")["user"].head(k).tolist()
    top_m = g.nodes.dropna(subset=["koc_rank"]).sort_values("koc_rank").index[:k].tolist()
    assert top_s == top_m
    assert nodes["koc_excluded"].fillna("").tolist() == g.nodes["koc_excluded"].astype(object).fillna("").tolist()


def test_to_sharegraph_round_trip(toy_pair):
    import kocgraph.spark as ks

    g, log, _ = toy_pair
    h = ks.to_sharegraph(log)
    assert h.n_events == g.n_events and h.n_users == g.n_users and h.n_items == g.n_items
    assert h.nodes.index.tolist() == g.nodes.index.tolist()
    np.testing.assert_array_equal(h.nodes["reach"].to_numpy(np.int64), g.nodes["reach"].to_numpy(np.int64))
    assert h.meta["read_log"]["rows_rejected"] == g.meta["read_log"]["rows_rejected"]
    kg.tl.cascades(h)  # the collected graph is an ordinary ShareGraph
    np.testing.assert_array_equal(h.nodes["reach"].to_numpy(), g.nodes["reach"].to_numpy())


def test_read_log_csv_file_with_malformed_lines(spark, tmp_path):
    import kocgraph.spark as ks

    p = tmp_path / "log.csv"
    p.write_text("source,target,item,time\na,b,p,1767225600\nb,c,p\nc,d,p,1767225700\na,c,p,3,extra\n"
                 "d,d,p,1767225800\nc,e,p,1767225900000\n,e,p,1767225901\n", encoding="utf-8")
    g = kg.read_log(p)
    log = ks.read_log(spark, p)
    for k in ("rows_read", "rows_accepted", "rows_rejected", "rejected_by_reason"):
        assert log.report[k] == g.meta["read_log"][k], k
    rs = log.rejected.orderBy("row").select("row", "reason").toPandas()
    rm = kg.get.rejected(g).sort_values("row")[["row", "reason"]]
    assert rs.to_dict("records") == rm.to_dict("records")


def test_read_log_raise_names_the_row(spark):
    import kocgraph.spark as ks

    df = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "b", "d"], "item": "p", "time": [1, 2, 3]})
    with pytest.raises(kg.LogSchemaError, match="row 1 is invalid: self_forward"):
        ks.read_log(spark, df, on_invalid="raise")
    with pytest.raises(kg.LogSchemaError, match="column 'receiver'"):
        ks.read_log(spark, df, target="receiver")


@pytest.mark.xfail(strict=True, reason=(
    "issue 13: the memory engine's default KOC score is now fitted on the log (kg.tl.kocs(weights='fit')); "
    "the Spark engine still computes the first version's percentile score, so the two nominate tables differ "
    "until the Spark engine ports the fitted score"))
def test_cli_nominate_engine_spark_writes_the_same_files(spark, tmp_path):
    from kocgraph import cli
    from kocgraph.jobs import NominateConfig, nominate

    frame = _dirty_toy()
    log_path = tmp_path / "log.csv"
    frame.to_csv(log_path, index=False)
    out_m, out_s = tmp_path / "mem" / "kocs.csv", tmp_path / "spk" / "kocs.csv"
    out_m.parent.mkdir()
    out_s.parent.mkdir()
    rc = cli.main(["nominate", str(log_path), "--staff-ids", "brand,staff_li", "--top", "5", "--out", str(out_s),
                   "--engine", "spark", "--spark-master", "local[2]", "--quiet"])
    assert rc == 0
    res_m = nominate(NominateConfig(str(log_path), staff_ids=STAFF_TOY, top=5, out=out_m, progress=False))
    ts, tm = pd.read_csv(out_s), pd.read_csv(out_m)
    assert ts["user"].tolist() == tm["user"].tolist()
    np.testing.assert_allclose(ts["score"], tm["score"], atol=1e-12)
    assert ts["reason"].tolist() == tm["reason"].tolist()
    for kind in ("rejected", "excluded"):
        a = pd.read_csv(out_s.with_name(f"kocs.{kind}.csv"))
        b = pd.read_csv(out_m.with_name(f"kocs.{kind}.csv"))
        assert len(a) == len(b), kind
        assert a.iloc[:, :2].astype(str).values.tolist() == b.iloc[:, :2].astype(str).values.tolist(), kind
    ms = json.loads(out_s.with_name("kocs.csv.manifest.json").read_text())
    mm = res_m.manifest
    assert ms["rows"] == mm["rows"]
    assert ms["graph"] == mm["graph"]
    assert ms["ranking"]["features"] == mm["ranking"]["features"]
    assert ms["engine"]["name"] == "spark"
    assert (out_s.parent / "kocs.spark" / "nodes.parquet").is_dir()


def test_import_kocgraph_does_not_import_pyspark():
    code = "import sys, kocgraph; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
