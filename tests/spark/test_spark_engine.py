"""The Spark engine against the in-memory engine, on the same logs (local[2]).

The in-memory path is the reference: the same rejected rows (and reasons), identical cascade figures
and reach, PageRank within 1e-6, identical coreness and components, the same KOC ranking (Spark's
default score against ``kg.tl.kocs(weights="prior")``; the percentile score and explicit weights
against the same in memory), and the same files and manifest from the one nomination job. Each log is run through the Spark pipeline once
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


#: explicit weights over count features and every kind of recency feature (both clocks, two half-lives)
EXPLICIT = {"reach_recent_event@0.2": 1.0, "forwards_recent_event": 0.5, "reach_recent_wall@0.1": 0.3,
            "forwards_recent_wall@0.2": 0.2, "pagerank": 0.4, "coreness": 0.1, "receivers": 0.2, "forwards": 0.1,
            "direct_reach": 0.1, "conversions": 0.3}


def _pipeline(spark, frame, staff, *, explicit=False):
    """The Spark stages; the KOC ranking under weights="percentile" (and EXPLICIT), then the default
    (weights="fit", which is the prior on Spark), each collected as pandas ordered by code."""
    import kocgraph.spark as ks

    log = ks.read_log(spark, frame)
    ks.cascades(log)
    ks.pagerank(log)
    ks.coreness(log)
    ks.components(log)
    out = {"percentile": ks.kocs(log, staff=staff, weights="percentile").orderBy("code").toPandas()}
    if explicit:
        out["explicit"] = ks.kocs(log, staff=staff, weights=EXPLICIT).orderBy("code").toPandas()
        out["explicit_meta"] = dict(log.meta["koc"])
    nodes = ks.kocs(log, staff=staff).orderBy("code").toPandas()
    return log, nodes, out


def _memory(frame, staff, *, explicit=False):
    """The in-memory reference: weights="prior" (Spark's score) under "koc", the first version's
    percentile score under "pct", EXPLICIT under "expl"."""
    g = kg.read_log(frame)
    kg.tl.cascades(g)
    kg.tl.pagerank(g)
    kg.tl.coreness(g)
    kg.tl.kocs(g, staff=staff, weights="percentile", key_added="pct")
    if explicit:
        kg.tl.kocs(g, staff=staff, weights=EXPLICIT, key_added="expl")
    kg.tl.kocs(g, staff=staff, weights="prior")
    return g


@pytest.fixture(scope="module")
def toy_pair(spark):
    frame = _dirty_toy()
    log, nodes, other = _pipeline(spark, frame, STAFF_TOY)
    return _memory(frame, STAFF_TOY), log, nodes, other


@pytest.fixture(scope="module")
def synth_pair(spark):
    frame, info = kg.datasets.synthetic_frame(n_users=2000, n_items=60, rng=0)
    staff = list(info["staff"])
    log, nodes, other = _pipeline(spark, frame, staff, explicit=True)
    return _memory(frame, staff, explicit=True), log, nodes, other


PAIRS = ["toy_pair", "synth_pair"]


@pytest.mark.parametrize("pair", PAIRS)
def test_read_log_counts_and_rejected_rows(pair, request):
    g, log, *_ = request.getfixturevalue(pair)
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
    g, log, nodes, _ = request.getfixturevalue(pair)
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
    g, log, *_ = request.getfixturevalue(pair)
    import kocgraph.spark as ks

    e = ks.edges(log).orderBy("src", "tgt").toPandas()
    c = g.codes
    np.testing.assert_array_equal(e["src"].to_numpy(), c.edge_src)
    np.testing.assert_array_equal(e["tgt"].to_numpy(), c.edge_tgt)
    np.testing.assert_array_equal(e["n_forwards"].to_numpy(), g.edges["n_forwards"].to_numpy())
    np.testing.assert_array_equal(e["n_items"].to_numpy(), g.edges["n_items"].to_numpy())


@pytest.mark.parametrize("pair", PAIRS)
def test_pagerank_within_1e6(pair, request):
    g, log, nodes, _ = request.getfixturevalue(pair)
    np.testing.assert_allclose(nodes["pagerank"].to_numpy(), g.nodes["pagerank"].to_numpy(), rtol=0, atol=1e-6)
    assert abs(nodes["pagerank"].sum() - 1.0) < 1e-9
    assert log.meta["pagerank"]["converged"]


@pytest.mark.parametrize("pair", PAIRS)
def test_coreness_and_components_identical(pair, request):
    g, _, nodes, _ = request.getfixturevalue(pair)
    np.testing.assert_array_equal(nodes["coreness"].to_numpy(np.int64), g.nodes["coreness"].to_numpy(np.int64))
    c = g.codes
    A = sp.csr_matrix((np.ones(c.edge_src.shape[0]), (c.edge_src, c.edge_tgt)), shape=(g.n_users, g.n_users))
    _, lab = connected_components(A, directed=True, connection="weak")
    np.testing.assert_array_equal(nodes["component"].to_numpy(np.int64), lab)


def _same_ranking(nodes, g, key, meta, *, atol=1e-12):
    """Spark's nodes (ordered by code) against the in-memory ranking under ``key``."""
    gm = g.meta[key]
    assert meta["features"] == gm["features"]
    np.testing.assert_allclose(list(meta["weights"].values()), list(gm["weights"].values()), rtol=0, atol=1e-15)
    assert meta["n_eligible"] == gm["n_eligible"]
    assert meta["n_excluded"] == gm["n_excluded"]
    np.testing.assert_allclose(nodes["koc_score"].to_numpy(np.float64), g.nodes[f"{key}_score"].to_numpy(np.float64),
                               rtol=0, atol=atol, equal_nan=True)
    for k in gm["features"]:
        np.testing.assert_allclose(nodes[f"koc_term_{k}"].to_numpy(np.float64),
                                   g.nodes[f"{key}_term_{k}"].to_numpy(np.float64), rtol=0, atol=atol, equal_nan=True)
    np.testing.assert_allclose(nodes["koc_percentile"].to_numpy(np.float64),
                               g.nodes[f"{key}_percentile"].to_numpy(np.float64), rtol=0, atol=1e-15, equal_nan=True)
    # the whole ranking, not only its top: ties broken by user code on both engines
    rank_s = nodes["koc_rank"].to_numpy(np.float64, na_value=np.nan)
    rank_m = g.nodes[f"{key}_rank"].to_numpy(np.float64, na_value=np.nan)
    np.testing.assert_array_equal(rank_s, rank_m)
    excl_m = g.nodes[f"{key}_excluded"].astype(object).fillna("").tolist()
    assert nodes["koc_excluded"].fillna("").tolist() == excl_m


@pytest.mark.parametrize("pair", PAIRS)
def test_koc_prior_score_identical(pair, request):
    """Spark's default score is the in-memory model under the prior weights: the same features (the
    event-clock recent reach included), the same terms and scores, the same ranking."""
    g, log, nodes, _ = request.getfixturevalue(pair)
    meta = log.meta["koc"]
    _same_ranking(nodes, g, "koc", meta)
    assert "reach_recent_event@0.1" in meta["features"]
    for k in meta["features"]:  # the raw features too (recent reach: the same sums in the same order)
        np.testing.assert_allclose(nodes[f"koc_value_{k}"].to_numpy(np.float64),
                                   g.nodes[f"koc_value_{k}"].to_numpy(np.float64), rtol=0, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(nodes["koc_expected_reach"].to_numpy(np.float64),
                               g.nodes["koc_expected_reach"].to_numpy(np.float64), rtol=0, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("pair", PAIRS)
def test_fit_on_spark_is_the_prior_and_says_why(pair, request):
    import kocgraph.spark as ks

    _, log, _, _ = request.getfixturevalue(pair)
    fit = log.meta["koc"]["fit"]
    assert fit == {"kind": "fit", "fell_back": True, "fallback": "prior", "reason": ks.SPARK_FIT_REASON}
    assert log.meta["koc"]["weights"] == kg.tl.PRIOR_WEIGHTS  # PRIOR_WEIGHTS' order is the features' order


@pytest.mark.parametrize("pair", PAIRS)
def test_koc_percentile_score_identical(pair, request):
    g, _, _, other = request.getfixturevalue(pair)
    nodes = other["percentile"]
    feats = g.meta["pct"]["features"]
    for k in feats:
        np.testing.assert_allclose(nodes[f"koc_term_{k}"].to_numpy(np.float64),
                                   g.nodes[f"pct_term_{k}"].to_numpy(np.float64), rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(nodes["koc_score"].to_numpy(np.float64), g.nodes["pct_score"].to_numpy(np.float64),
                               rtol=0, atol=1e-12, equal_nan=True)
    top_s = nodes.dropna(subset=["koc_rank"]).sort_values("koc_rank")["user"].head(20).tolist()
    top_m = g.nodes.dropna(subset=["pct_rank"]).sort_values("pct_rank").index[:20].tolist()
    assert top_s == top_m
    assert nodes["koc_expected_reach"].isna().all()


def test_koc_explicit_weights_with_recency_on_both_clocks(synth_pair):
    """Explicit weights over count features, PageRank and recency on the event and the wall clock
    (forwards and reach, two half-lives, one named without a half-life)."""
    g, _, _, other = synth_pair
    meta = other["explicit_meta"]
    assert meta["fit"] == {"kind": "explicit"}
    assert {"forwards_recent_event@0.1", "reach_recent_wall@0.1", "forwards_recent_wall@0.2"} <= set(meta["features"])
    _same_ranking(other["explicit"], g, "expl", meta)
    for k in meta["features"]:
        tol = 1e-9 if k == "pagerank" else 1e-12  # PageRank: two iterations to 1e-10, in practice 1e-16 apart
        np.testing.assert_allclose(other["explicit"][f"koc_value_{k}"].to_numpy(np.float64),
                                   g.nodes[f"expl_value_{k}"].to_numpy(np.float64), rtol=0, atol=tol, err_msg=k)


def test_kocs_refuses_unknown_weights(toy_pair):
    import kocgraph.spark as ks

    _, log, *_ = toy_pair
    with pytest.raises(kg.InvalidParameterError, match="unknown features \\['fame'\\]"):
        ks.kocs(log, weights={"fame": 1.0})
    with pytest.raises(kg.InvalidParameterError, match="weights"):
        ks.kocs(log, weights="best")


def test_to_sharegraph_round_trip(toy_pair):
    import kocgraph.spark as ks

    g, log, *_ = toy_pair
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
    # the columns of kg.get.rejected: row, reason, the file's line, the row as given (nothing of an
    # unparsed line), its raw text last; here each record is one line, so line = row + 2 (the header)
    rs = log.rejected.orderBy("row").toPandas()
    rm = kg.get.rejected(g)
    assert rs.columns.tolist() == rm.columns.tolist() == ["row", "reason", "line", "source", "target", "item", "time",
                                                          "raw_text"]
    for c in rm.columns:
        assert _cells(rs[c]) == _cells(rm[c]), c
    assert rs["line"].tolist() == [3, 5, 6, 7, 8]
    # a blank line: records and lines no longer match one to one, so line is null, as in memory
    q = tmp_path / "blank.csv"
    q.write_text("source,target,item,time\na,b,p,1\n\nb,b,p,2\n", encoding="utf-8")
    rs, rm = ks.read_log(spark, q).rejected.toPandas(), kg.get.rejected(kg.read_log(q))
    assert rs.columns.tolist() == rm.columns.tolist()
    assert _cells(rs["line"]) == _cells(rm["line"]) == [None]


def _cells(s: pd.Series) -> list:
    """A column's cells as plain values, every kind of missing as None, empty text as None (Spark
    reads an empty CSV field as null)."""
    return [None if (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v == "") else v
            for v in s.astype(object).tolist()]


def test_read_log_raise_names_the_row(spark):
    import kocgraph.spark as ks

    df = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "b", "d"], "item": "p", "time": [1, 2, 3]})
    with pytest.raises(kg.LogSchemaError, match="row 1 is invalid: self_forward"):
        ks.read_log(spark, df, on_invalid="raise")
    with pytest.raises(kg.LogSchemaError, match="column 'receiver'"):
        ks.read_log(spark, df, target="receiver")


def _log_csv(tmp_path):
    log_path = tmp_path / "log.csv"
    _dirty_toy().to_csv(log_path, index=False)
    return log_path


def test_cli_nominate_engine_spark_writes_the_same_files(spark, tmp_path, capsys):
    """`kocgraph nominate --engine spark` (weights "fit": the prior on Spark) against the in-memory job
    with weights="prior": the same table, reasons, rejected and excluded files, and manifest figures."""
    import kocgraph.spark as ks
    from kocgraph import cli
    from kocgraph.jobs import NominateConfig, nominate

    log_path = _log_csv(tmp_path)
    out_m, out_s = tmp_path / "mem" / "kocs.csv", tmp_path / "spk" / "kocs.csv"
    out_m.parent.mkdir()
    out_s.parent.mkdir()
    rc = cli.main(["nominate", str(log_path), "--staff-ids", "brand,staff_li", "--top", "5", "--out", str(out_s),
                   "--engine", "spark", "--spark-master", "local[2]", "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    # what is not available, the value, and what to use instead
    assert f"score: prior weights ({ks.SPARK_FIT_REASON})" in printed
    assert "weights='fit' is not available on Spark" in printed and "--engine memory" in printed
    res_m = nominate(NominateConfig(str(log_path), staff_ids=STAFF_TOY, top=5, out=out_m, progress=False,
                                    weights="prior"))
    ts, tm = pd.read_csv(out_s), pd.read_csv(out_m)
    assert ts["user"].tolist() == tm["user"].tolist()
    np.testing.assert_allclose(ts["score"], tm["score"], atol=1e-12)
    assert ts["reason"].tolist() == tm["reason"].tolist()
    # every column of kg.get.kocs, the weakly connected component in place of the community
    assert ts.columns.tolist() == [("component" if c == "community" else c) for c in tm.columns]
    same = [c for c in tm.columns if c not in ("community", "pagerank")]
    pd.testing.assert_frame_equal(ts[same], tm[same], check_exact=False, rtol=0, atol=1e-12)
    for kind in ("rejected", "excluded"):
        a = pd.read_csv(out_s.with_name(f"kocs.{kind}.csv"))
        b = pd.read_csv(out_m.with_name(f"kocs.{kind}.csv"))
        pd.testing.assert_frame_equal(a, b, obj=kind)
    ms = json.loads(out_s.with_name("kocs.csv.manifest.json").read_text())
    mm = res_m.manifest
    assert ms["rows"] == mm["rows"]
    assert ms["graph"] == mm["graph"]
    for k in ("features", "weights", "kol_cut", "n_eligible", "n_excluded"):
        assert ms["ranking"][k] == mm["ranking"][k], k
    assert ms["ranking"]["fit"]["reason"] == ks.SPARK_FIT_REASON
    assert ms["engine"]["name"] == "spark"
    assert (out_s.parent / "kocs.spark" / "nodes.parquet").is_dir()


def test_spark_nominate_manifest_matches_the_memory_job_and_verifies(spark, tmp_path):
    """kocgraph.spark.nominate runs the one job of kocgraph.jobs.nominate: the same manifest fields
    (run id, every file with its hash and size, a record per stage), and `kocgraph verify` accepts it."""
    import re

    import kocgraph.spark as ks
    from kocgraph import cli
    from kocgraph.jobs import STAGES, NominateConfig, nominate

    log_path = _log_csv(tmp_path)
    (tmp_path / "mem").mkdir()
    (tmp_path / "spk").mkdir()
    cfg = {"staff_ids": STAFF_TOY, "top": 5, "progress": False, "weights": "prior"}
    res_m = nominate(NominateConfig(str(log_path), out=tmp_path / "mem" / "kocs.csv", **cfg))
    res_s = ks.nominate(NominateConfig(str(log_path), out=tmp_path / "spk" / "kocs.csv", **cfg), spark=spark)
    mm, ms = res_m.manifest, res_s.manifest
    assert set(ms) == set(mm)
    assert re.fullmatch("[0-9a-f]{32}", ms["run_id"]) and ms["run_id"] != mm["run_id"]
    assert set(ms["files"]) == set(mm["files"]) == {"table", "rejected", "excluded"}
    for name, f in ms["files"].items():
        assert set(f) == {"path", "sha256", "bytes"}
        assert f["sha256"] == kg.jobs.file_sha256(f["path"]) and f["bytes"] > 0, name
    assert list(ms["timings_s"]) == list(mm["timings_s"]) == list(STAGES)
    assert list(ms["peak_rss_mib_by_stage"]) == list(mm["peak_rss_mib_by_stage"])
    assert set(ms["parameters"]) == set(mm["parameters"]) and ms["parameters"]["weights"] == "prior"
    assert ms["input"]["sha256"] == mm["input"]["sha256"] == kg.jobs.file_sha256(log_path)
    assert ms["status"] == mm["status"] == "ok"
    assert ms["engine"]["name"] == "spark" and mm["engine"]["name"] == "memory"
    assert ms["ranking"]["fit"] == {"kind": "prior"}
    # the outputs that are the same bytes on both engines: the excluded accounts and the rejected rows
    for name in ("excluded", "rejected"):
        assert ms["files"][name]["sha256"] == mm["files"][name]["sha256"], name
    manifest = tmp_path / "spk" / "kocs.csv.manifest.json"
    assert cli.main(["verify", str(manifest)]) == 0
    (tmp_path / "spk" / "kocs.excluded.csv").write_text("user\n", encoding="utf-8")
    assert cli.main(["verify", str(manifest)]) == 3


def test_spark_nominate_pseudonymized_like_memory(spark, tmp_path):
    """Under pseudonymization the rejected rows keep the log's known columns only, as in memory."""
    import kocgraph.spark as ks
    from kocgraph.jobs import NominateConfig, nominate

    log_path = tmp_path / "log.csv"
    _dirty_toy().assign(note="free text naming people").to_csv(log_path, index=False)
    outs = {}
    for engine in ("mem", "spk"):
        (tmp_path / engine).mkdir()
        cfg = NominateConfig(str(log_path), staff_ids=STAFF_TOY, top=5, out=tmp_path / engine / "kocs.csv",
                             pseudonymize="s3cret", progress=False, weights="prior")
        res = nominate(cfg) if engine == "mem" else ks.nominate(cfg, spark=spark)
        outs[engine] = res
        assert res.manifest["rejected_columns_dropped"] == ["note"]
    for name in ("table", "excluded"):
        a = pd.read_csv(outs["spk"].outputs[name])
        b = pd.read_csv(outs["mem"].outputs[name])
        assert a["user"].tolist() == b["user"].tolist(), name
    # the rejected rows: the same pseudonyms, except an empty id cell, which Spark reads as missing (it
    # stays empty) and the in-memory reader as the empty text (whose pseudonym it writes)
    a = pd.read_csv(outs["spk"].outputs["rejected"])
    b = pd.read_csv(outs["mem"].outputs["rejected"])
    assert a.columns.tolist() == b.columns.tolist()
    empty = kg.jobs.Pseudonymizer("s3cret")("")
    for c in ("source", "target"):
        assert _cells(a[c]) == _cells(b[c].where(b[c] != empty)), c
    assert (b["source"] == empty).sum() == 1  # row 10: the one empty source of _dirty_toy
    rej = pd.read_csv(outs["spk"].outputs["rejected"])
    assert "note" not in rej.columns and not rej["source"].dropna().isin(_dirty_toy()["source"]).any()


def test_spark_nominate_refuses_bootstrap_before_reading(tmp_path):
    import kocgraph.spark as ks
    from kocgraph.jobs import NominateConfig

    with pytest.raises(kg.InvalidParameterError, match="not available with --engine spark"):
        ks.nominate(NominateConfig(str(tmp_path / "no-such.csv"), bootstrap=10))


def test_import_kocgraph_does_not_import_pyspark():
    code = "import sys, kocgraph; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
