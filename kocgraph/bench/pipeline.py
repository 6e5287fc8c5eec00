"""``kocgraph bench``: the main pipeline stage by stage, with raw igraph and networkx side by side.

Stages, in order (:data:`STAGE_NAMES`), each exactly as a user calls it:

========== ============================================= ============================================
stage      kocgraph                                      peers (``--peers``)
========== ============================================= ============================================
read       ``kg.read_log(path)``                          pyarrow CSV -> pandas -> igraph
                                                          ``Graph.DataFrame`` (string names) /
                                                          ``nx.from_pandas_edgelist(DiGraph)``
cascades   ``kg.tl.cascades(g)``                          pandas first receipts (:func:`~kocgraph.bench.
                                                          ingest.first_receipts`), then igraph: one forest
                                                          graph, ``neighborhood_size`` (reach) and
                                                          ``eccentricity`` of roots (depth); networkx: one
                                                          ``DiGraph`` per item, ``descendants`` per node
pagerank   ``kg.tl.pagerank(g)`` (influence direction)    reversed weighted graph build +
                                                          ``personalized_pagerank`` / ``nx.pagerank``
coreness   ``kg.tl.coreness(g)``                          undirected simple graph build + ``coreness`` /
                                                          ``nx.core_number``
communities ``kg.tl.communities(g, rng=0)`` (Leiden)      ``community_leiden`` (modularity, 2 iterations,
                                                          on the coreness graph) / networkx Louvain
kocs       ``kg.tl.kocs(g, staff=staff)``                 none (kocgraph's own scoring)
routes     ``kg.tl.routes(g, sources=staff,               Dijkstra on ``-log p`` with kocgraph's tie
           targets="kocs", n_kocs=50, k=3)``              strengths: igraph ``distances`` +
                                                          ``get_shortest_paths`` per staff account /
                                                          ``nx.multi_source_dijkstra``; best route only
seeds      ``kg.tl.seeds(g, k=20, epsilon=0.2,            none (neither library has influence
           n_check=0, rng=0)``                            maximization)
========== ============================================= ============================================

The peers start from kocgraph's own arrays (edge codes, ``n_forwards`` weights, tie strengths, the
staff and KOC targets), handed over after the kocgraph side has run, so they compute the same thing on
the same graph; their results are cross-checked (PageRank, coreness, cascades, best-route strengths).

Each side (kocgraph, igraph, networkx) runs its stages in one process: a fresh child process per side
and repeat with ``isolate=True`` (the default for real runs), or this process (smoke tests). Per stage
it records the wall time (``time.perf_counter``) and the peak resident memory *during the stage*
(``VmHWM`` reset through ``/proc/self/clear_refs`` before the stage and read after it, so it includes
what earlier stages left resident, e.g. the graph). :func:`run` takes medians over the repeats,
computes the ratios ``peer time / kocgraph time`` (above 1: kocgraph is faster), and adds the quality
figures (:func:`quality`). :func:`check` lists what is unsound: a failed or missing stage, a time that
is not a positive number, a non-finite ratio, peers that disagree with kocgraph, a quality figure
outside [0, 1]. Slowness is never a problem.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._core.resources import maxrss_mib, peak_rss_mib, reset_peak
from ..algorithms.communities import igraph_seed
from ..pipeline import MemoryEngine, StageOptions, column, result, run_stages, stage
from ._util import environment, run_child, summarise_runs
from .data import resolve_log
from .ingest import first_receipts, nx_item_cascades

__all__ = [
    "STAGE_NAMES",
    "SIDES",
    "STAGES",
    "NETWORKX_MAX_EVENTS",
    "BenchParams",
    "run_side",
    "run",
    "quality",
    "check",
    "format_table",
]

STAGE_NAMES = ("read", "cascades", "pagerank", "coreness", "communities", "kocs", "routes", "seeds")
SIDES = ("kocgraph", "igraph", "networkx")
#: networkx runs on logs of at most this many events (the issue: networkx up to 1e6 only)
NETWORKX_MAX_EVENTS = 2_000_000
Ctx = dict[str, Any]


@dataclass(frozen=True)
class BenchParams:
    """The parameters of the routes and seeds stages (and the seed of every randomized stage)."""

    routes_k: int = 3
    routes_n_kocs: int = 50
    seeds_k: int = 20
    seeds_epsilon: float = 0.2
    seeds_n_check: int = 0
    rng: int = 0

    def describe(self) -> dict[str, str]:
        return {
            "routes": f"kg.tl.routes(g, sources=staff, targets='kocs', n_kocs={self.routes_n_kocs}, k={self.routes_k})",
            "seeds": f"kg.tl.seeds(g, k={self.seeds_k}, epsilon={self.seeds_epsilon}, n_check={self.seeds_n_check}, "
                     f"rng={self.rng})",
            "communities": f"kg.tl.communities(g, rng={self.rng})",
            "kocs": f"kg.tl.kocs(g, staff=staff, rng={self.rng}) (the pipeline's kocs stage, StageOptions defaults)",
        }


# ================================================================================== kocgraph stages
def _staff_in(g: Any, staff: Sequence[Any]) -> list[Any]:
    idx = g.nodes.index
    return [s for s in staff if s in idx]


def kg_read(ctx: Ctx) -> dict[str, Any]:
    import kocgraph as kg

    g = ctx["g"] = kg.read_log(ctx["path"])
    return {"n_rows": int(g.meta["read_log"]["rows_read"]), "n_events": int(g.n_events), "n_users": int(g.n_users),
            "n_edges": int(g.n_edges), "n_items": int(g.n_items)}


def _run_stage(ctx: Ctx, name: str) -> Any:
    """Run the nomination pipeline's stage ``name`` on the context's graph, exactly as the nightly
    job and the report run it (:class:`kocgraph.pipeline.MemoryEngine`, shared
    :class:`~kocgraph.pipeline.StageOptions`), so the bench times the product's own stages."""
    g = ctx["g"]
    MemoryEngine().run(stage(name), g, StageOptions(staff=_staff_in(g, ctx["staff"]), rng=ctx["params"].rng))
    return g


def kg_cascades(ctx: Ctx) -> dict[str, Any]:
    g = _run_stage(ctx, "cascades")
    return {"reach_sum": int(column(g, "cascades", "reach").sum()),
            "depth_sum": int(column(g, "cascades", "depth", frame="items").sum()),
            "holders": int(column(g, "cascades", "size", frame="items").sum())}


def kg_pagerank(ctx: Ctx) -> dict[str, Any]:
    g = _run_stage(ctx, "pagerank")
    return {"pagerank_sum": float(column(g, "pagerank").sum())}


def kg_coreness(ctx: Ctx) -> dict[str, Any]:
    g = _run_stage(ctx, "coreness")
    return {"max_coreness": int(column(g, "coreness").max()) if g.n_users else 0}


def kg_communities(ctx: Ctx) -> dict[str, Any]:
    g = _run_stage(ctx, "communities")
    comm = result(g, "communities")
    return {"modularity": float(comm["modularity"]), "n_communities": int(comm["n_communities"])}


def kg_kocs(ctx: Ctx) -> dict[str, Any]:
    g = _run_stage(ctx, "kocs")
    return {"n_ranked": int(column(g, "kocs", "rank").notna().sum()), "n_staff": len(_staff_in(g, ctx["staff"]))}


def kg_routes(ctx: Ctx) -> dict[str, Any]:
    import kocgraph as kg

    g, p = ctx["g"], ctx["params"]
    staff = _staff_in(g, ctx["staff"])
    if not staff:
        raise ValueError(f"no staff account of {list(ctx['staff'])[:5]} is in the log: routes need sources")
    kg.tl.routes(g, sources=staff, targets="kocs", n_kocs=p.routes_n_kocs, k=p.routes_k)
    return {"n_targets": int(g.meta["routes"]["params"]["n_targets"]), "n_routes": int(g.meta["routes"]["n_routes"]),
            "n_unreachable": int(g.meta["routes"]["n_unreachable"])}


def kg_seeds(ctx: Ctx) -> dict[str, Any]:
    import kocgraph as kg

    g, p = ctx["g"], ctx["params"]
    kg.tl.seeds(g, k=p.seeds_k, epsilon=p.seeds_epsilon, n_check=p.seeds_n_check, rng=p.rng)
    tab = g.tables["seeds"]
    return {"n_seeds": int(len(tab)), "seeds_spread": float(tab["spread"].iloc[-1]) if len(tab) else 0.0,
            "n_rr_sets": int(g.meta["seeds"]["n_rr_sets"])}


def handoff(ctx: Ctx) -> dict[str, np.ndarray]:
    """What the peers need from the kocgraph side (arrays only): the graph, tie strengths, staff and
    KOC targets as codes, and kocgraph's results for the cross-checks."""
    g = ctx["g"]
    c = g.codes
    n = g.n_users
    out: dict[str, np.ndarray] = {
        "n": np.asarray(n, dtype=np.int64),
        "src": np.asarray(c.edge_src, dtype=np.int64), "dst": np.asarray(c.edge_tgt, dtype=np.int64),
        "w": g.edges["n_forwards"].to_numpy(np.float64),
        "staff": np.asarray(g.user_codes(_staff_in(g, ctx["staff"]), what="staff"), dtype=np.int64),
    }
    for name, dtype in (("pagerank", np.float64), ("coreness", np.int64)):
        if stage(name).key in g.meta:  # the stage ran (the bench may time a subset)
            out[name] = column(g, name).to_numpy(dtype)
    if "tie_strength" in g.edges and "routes" in g.tables:
        out["p"] = g.edges["tie_strength"].to_numpy(np.float64)
        tab = g.tables["routes"]
        best = tab[tab["rank"] == 1]
        unreach = g.tables["routes_unreachable"]["target"].to_numpy(np.int64)
        targets = np.concatenate([best["target"].to_numpy(np.int64), unreach])
        out["targets"] = targets
        out["best_strength"] = np.concatenate([best["strength"].to_numpy(np.float64), np.zeros(unreach.size)])
    return out


# ================================================================================== igraph stages
def _read_frame(path: str | os.PathLike[str]) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"source": pa.string(), "target": pa.string(), "item": pa.string()})).to_pandas()


def ig_read(ctx: Ctx) -> dict[str, Any]:
    import igraph as ig

    df = ctx["df"] = _read_frame(ctx["path"])
    G = ig.Graph.DataFrame(df[["source", "target"]], directed=True, use_vids=False)
    return {"n_users": int(G.vcount()), "n_rows": int(len(df))}


def ig_cascades(ctx: Ctx) -> dict[str, Any]:
    import igraph as ig
    import pandas as pd

    links, holders, _ = first_receipts(ctx["df"])
    hidx = pd.MultiIndex.from_frame(holders[["item", "user"]])
    s = hidx.get_indexer(pd.MultiIndex.from_arrays([links["item"], links["source"]]))
    t = hidx.get_indexer(pd.MultiIndex.from_arrays([links["item"], links["target"]]))
    m = len(hidx)
    G = ig.Graph(n=m, edges=np.column_stack((s, t)), directed=True)
    reach = np.asarray(G.neighborhood_size(order=max(m, 1), mode="out"), dtype=np.int64) - 1
    roots = np.flatnonzero(np.asarray(G.indegree()) == 0)
    ecc = np.asarray(G.eccentricity(vertices=roots.tolist(), mode="out"), dtype=np.int64)
    depth = pd.Series(ecc).groupby(holders["item"].to_numpy()[roots]).max()
    return {"reach_sum": int(reach.sum()), "depth_sum": int(depth.sum()), "holders": int(m)}


def _ig_check_inputs(ctx: Ctx) -> dict[str, np.ndarray]:
    h = ctx.get("handoff")
    if not h:
        raise RuntimeError("no handoff from the kocgraph side (did it fail?)")
    return h


def ig_pagerank(ctx: Ctx) -> dict[str, Any]:
    import igraph as ig

    h = _ig_check_inputs(ctx)
    gd = ig.Graph(n=int(h["n"]), edges=np.column_stack((h["dst"], h["src"])), directed=True,  # reversed: influence
                  edge_attrs={"weight": h["w"]})
    ctx["pr"] = np.asarray(gd.personalized_pagerank(damping=0.85, weights="weight", directed=True))
    return {}


def ig_coreness(ctx: Ctx) -> dict[str, Any]:
    import igraph as ig

    h = _ig_check_inputs(ctx)
    # undirected simple weighted graph (self-loops dropped, parallel and reciprocal edges summed)
    gu = ig.Graph(n=int(h["n"]), edges=np.column_stack((h["src"], h["dst"])), directed=False, edge_attrs={"weight": h["w"]})
    gu.simplify(multiple=True, loops=True, combine_edges="sum")
    ctx["gu"] = gu
    ctx["core"] = np.asarray(gu.coreness(), dtype=np.int64)
    return {}


def ig_communities(ctx: Ctx) -> dict[str, Any]:
    if "gu" not in ctx:
        ig_coreness(ctx)
    gu = ctx["gu"]
    with igraph_seed(ctx["params"].rng):
        cl = gu.community_leiden(objective_function="modularity", weights="weight", n_iterations=2)
    return {"modularity": float(gu.modularity(cl.membership, weights="weight"))}


def ig_routes(ctx: Ctx) -> dict[str, Any]:
    import igraph as ig

    h = _ig_check_inputs(ctx)
    if "targets" not in h:
        raise RuntimeError("the kocgraph side has no routes to compare with")
    staff, targets = h["staff"].tolist(), h["targets"].tolist()
    G = ig.Graph(n=int(h["n"]), edges=np.column_stack((h["src"], h["dst"])), directed=True,
                 edge_attrs={"cost": -np.log(h["p"])})
    d = np.asarray(G.distances(source=staff, target=targets, weights="cost", mode="out"), dtype=np.float64)
    best = np.argmin(d, axis=0) if len(staff) else np.zeros(len(targets), dtype=np.int64)
    paths: dict[int, list[int]] = {}
    for i, s in enumerate(staff):  # one call per staff account: its targets' best paths
        mine = [targets[j] for j in np.flatnonzero((best == i) & np.isfinite(d.min(axis=0)))]
        if mine:
            for tgt, path in zip(mine, G.get_shortest_paths(s, to=mine, weights="cost", mode="out", output="vpath")):
                paths[tgt] = path
    ctx["route_strength"] = np.exp(-d.min(axis=0)) if len(staff) else np.zeros(len(targets))
    return {"n_paths": len(paths)}


# ================================================================================== networkx stages
def nx_read(ctx: Ctx) -> dict[str, Any]:
    import networkx as nx

    df = ctx["df"] = _read_frame(ctx["path"])
    G = nx.from_pandas_edgelist(df, "source", "target", create_using=nx.DiGraph)
    return {"n_users": int(G.number_of_nodes()), "n_rows": int(len(df))}


def nx_cascades(ctx: Ctx) -> dict[str, Any]:
    links, holders, _ = first_receipts(ctx["df"])
    reach_sum, depth_sum = nx_item_cascades(links, holders)  # what a networkx user writes: a graph per item
    return {"reach_sum": reach_sum, "depth_sum": depth_sum, "holders": int(len(holders))}


def nx_pagerank(ctx: Ctx) -> dict[str, Any]:
    import networkx as nx

    h = _ig_check_inputs(ctx)
    n = int(h["n"])
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(zip(h["dst"].tolist(), h["src"].tolist(), h["w"].tolist()))
    # networkx scales tol by the node count: a tiny tol so that it converges like the others
    pr = nx.pagerank(G, alpha=0.85, weight="weight", tol=1e-12, max_iter=1000) if n else {}
    ctx["pr"] = np.array([pr[i] for i in range(n)], dtype=np.float64)
    return {}


def nx_coreness(ctx: Ctx) -> dict[str, Any]:
    import networkx as nx

    from ..algorithms.communities import symmetrize

    h = _ig_check_inputs(ctx)
    n = int(h["n"])
    u, v, ww = symmetrize(h["src"], h["dst"], h["w"], n)
    H = nx.Graph()
    H.add_nodes_from(range(n))
    H.add_weighted_edges_from(zip(u.tolist(), v.tolist(), ww.tolist()))
    ctx["H"] = H
    core = nx.core_number(H)
    ctx["core"] = np.array([core[i] for i in range(n)], dtype=np.int64)
    return {}


def nx_communities(ctx: Ctx) -> dict[str, Any]:
    import networkx as nx

    if "H" not in ctx:
        nx_coreness(ctx)
    H = ctx["H"]
    parts = nx.community.louvain_communities(H, weight="weight", seed=ctx["params"].rng)
    return {"modularity": float(nx.community.modularity(H, parts, weight="weight")) if H.number_of_edges() else 0.0}


def nx_routes(ctx: Ctx) -> dict[str, Any]:
    import networkx as nx

    h = _ig_check_inputs(ctx)
    if "targets" not in h:
        raise RuntimeError("the kocgraph side has no routes to compare with")
    G = nx.DiGraph()
    G.add_nodes_from(range(int(h["n"])))
    G.add_weighted_edges_from(zip(h["src"].tolist(), h["dst"].tolist(), (-np.log(h["p"])).tolist()), weight="cost")
    staff = set(h["staff"].tolist())
    dist, paths = nx.multi_source_dijkstra(G, staff, weight="cost") if staff else ({}, {})
    ctx["route_strength"] = np.array([math.exp(-dist[t]) if t in dist else 0.0 for t in h["targets"].tolist()])
    return {"n_paths": int(sum(1 for t in h["targets"].tolist() if t in paths))}


#: side -> stage -> function(ctx) -> check figures. Missing stage: that side has no peer for it.
STAGES: dict[str, dict[str, Callable[[Ctx], dict[str, Any]]]] = {
    "kocgraph": {"read": kg_read, "cascades": kg_cascades, "pagerank": kg_pagerank, "coreness": kg_coreness,
                 "communities": kg_communities, "kocs": kg_kocs, "routes": kg_routes, "seeds": kg_seeds},
    "igraph": {"read": ig_read, "cascades": ig_cascades, "pagerank": ig_pagerank, "coreness": ig_coreness,
               "communities": ig_communities, "routes": ig_routes},
    "networkx": {"read": nx_read, "cascades": nx_cascades, "pagerank": nx_pagerank, "coreness": nx_coreness,
                 "communities": nx_communities, "routes": nx_routes},
}


def _side_checks(side: str, ctx: Ctx) -> dict[str, Any]:
    """Agreement figures of a peer with kocgraph (computed after the timed stages)."""
    h = ctx.get("handoff") or {}
    out: dict[str, Any] = {}
    if "pr" in ctx and "pagerank" in h:
        out["pagerank_max_abs_diff"] = float(np.abs(ctx["pr"] - h["pagerank"]).max()) if ctx["pr"].size else 0.0
    if "core" in ctx and "coreness" in h:
        out["coreness_equal"] = bool(np.array_equal(ctx["core"], h["coreness"]))
    if "route_strength" in ctx and "best_strength" in h:
        a, b = ctx["route_strength"], h["best_strength"]
        out["route_strength_max_abs_diff"] = float(np.abs(a - b).max()) if a.size else 0.0
    return out


# ================================================================================== one side
def run_side(side: str, path: str | os.PathLike[str], *, staff: Sequence[Any] = (), params: BenchParams | None = None,
             handoff_in: dict[str, np.ndarray] | None = None, stages: Sequence[str] | None = None,
             table: dict[str, dict[str, Callable[[Ctx], dict[str, Any]]]] | None = None) -> dict[str, Any]:
    """Run one side's stages in order in this process; per stage wall time and peak memory.

    Returns ``{"ok", "stages": {name: {"ok", "s", "peak_rss_mib", ...figures} | {"ok": False, "error"}},
    "checks": {...}, "handoff": arrays (kocgraph side only)}``. A failing ``read`` skips the rest; any
    other failure is recorded and the next stage still runs.
    """
    fns = (table if table is not None else STAGES)[side]
    ctx: Ctx = {"path": str(path), "staff": list(staff), "params": params or BenchParams(), "handoff": handoff_in}
    out: dict[str, Any] = {"ok": True, "stages": {}}
    read_failed = False
    for name in STAGE_NAMES:
        if name not in fns or (stages is not None and name not in stages):
            continue
        if read_failed:
            out["stages"][name] = {"ok": False, "error": "skipped: the read stage failed"}
            out["ok"] = False
            continue
        reset = reset_peak()
        t0 = time.perf_counter()
        try:
            figs = fns[name](ctx) or {}
        except Exception as err:  # noqa: BLE001 - a failed stage is reported in the bench table; the others still run
            out["stages"][name] = {"ok": False, "error": f"{type(err).__name__}: {err}",
                                   "traceback": traceback.format_exc(limit=4)}
            out["ok"] = False
            read_failed = name == "read"
            continue
        dt = time.perf_counter() - t0
        hwm = peak_rss_mib() if reset else None
        out["stages"][name] = {"ok": True, "s": dt, "peak_rss_mib": hwm if hwm is not None else maxrss_mib(),
                               "peak_rss_scope": "stage" if hwm is not None else "process", **figs}
    out["checks"] = _side_checks(side, ctx)
    peaks = [st["peak_rss_mib"] for st in out["stages"].values() if st.get("ok")]
    out["peak_rss_mib"] = max(peaks) if peaks else None  # the highest stage peak of this side
    if side == "kocgraph" and "g" in ctx:
        out["handoff"] = handoff(ctx)
    return out


def _jsonable(side_out: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in side_out.items() if k != "handoff"}


def child_main(argv: list[str]) -> int:
    """``python -m kocgraph.bench._child pipeline --side S --path LOG ...``: one side, one JSON line."""
    ap = argparse.ArgumentParser(description="run one side of kocgraph bench in this process and print JSON")
    ap.add_argument("--side", required=True, choices=SIDES)
    ap.add_argument("--path", required=True)
    ap.add_argument("--staff", default="[]", help="JSON list of staff ids")
    ap.add_argument("--params", default="{}", help="JSON BenchParams")
    ap.add_argument("--handoff-in", default=None)
    ap.add_argument("--handoff-out", default=None)
    ap.add_argument("--stages", default=None)
    a = ap.parse_args(argv)
    h = None
    if a.handoff_in:
        with np.load(a.handoff_in) as z:
            h = {k: z[k] for k in z.files}
    out = run_side(a.side, a.path, staff=json.loads(a.staff), params=BenchParams(**json.loads(a.params)),
                   handoff_in=h, stages=a.stages.split(",") if a.stages else None)
    if a.handoff_out and "handoff" in out:
        tmp = a.handoff_out + ".tmp.npz"
        np.savez(tmp, **out["handoff"])
        os.replace(tmp, a.handoff_out)
    res = _jsonable(out)
    # VmHWM was reset before each stage: the process peak is the highest stage peak (or what came after)
    res["process_peak_rss_mib"] = max(res.get("peak_rss_mib") or 0.0, peak_rss_mib() or maxrss_mib())
    print(json.dumps(res, default=float))
    return 0


def _run_side_isolated(side: str, path: Path, staff: Sequence[Any], params: BenchParams, handoff_path: Path,
                       stages: Sequence[str] | None, timeout: float | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "kocgraph.bench._child", "pipeline", "--side", side, "--path", str(path),
           "--staff", json.dumps(list(staff)), "--params", json.dumps(asdict(params))]
    if side == "kocgraph":
        cmd += ["--handoff-out", str(handoff_path)]
    elif handoff_path.exists():
        cmd += ["--handoff-in", str(handoff_path)]
    if stages is not None:
        cmd += ["--stages", ",".join(stages)]
    out = run_child(cmd, timeout=timeout, label=f"side {side}")
    if out.get("ok") is False and "stages" not in out:
        out["stages"] = {}
    return out


# ================================================================================== quality
def quality(sample: str = "planted-koc", *, k: Sequence[int] | None = None, backtest_k: int = 50,
            rng: int = 0) -> dict[str, Any]:
    """Precision@k of the planted KOCs, and backtest figures, for the default KOC ranking and baselines.

    On the registry sample ``sample`` (its planted ids are ``g.meta['synthetic']['planted']``, its staff
    ``g.meta['synthetic']['staff']``). Every method ranks the non-staff users; ties at the k-th place are
    broken uniformly at random in expectation, as in :func:`kocgraph.evaluate.backtest`. Methods:
    ``koc`` (``kg.tl.kocs`` defaults; users it leaves unranked come last), ``out_degree``, ``in_degree``,
    ``pagerank_plain`` (forward direction), ``pagerank`` (influence), ``reach``. ``k`` defaults to
    ``(10, number of planted)``. The backtest part is ``kg.evaluate.backtest(g, staff=staff)`` at
    ``backtest_k``.
    """
    import kocgraph as kg

    from ..algorithms.koc_model import topk_hits

    t0 = time.perf_counter()
    g = kg.datasets.load_sample(sample)
    truth = g.meta.get("synthetic") or {}
    staff = list(truth.get("staff") or g.meta.get("dataset", {}).get("staff", []))
    staff = _staff_in(g, staff)
    planted = list(truth.get("planted") or [])
    out: dict[str, Any] = {"sample": sample, "n_users": int(g.n_users), "n_events": int(g.n_events),
                           "n_staff": len(staff), "n_planted": len(planted), "precision": {}, "backtest": {}}
    missing = [u for u in planted if u not in g.nodes.index]
    out["planted_missing"] = len(missing)
    run_stages(g, StageOptions(staff=staff, rng=rng), stages=[stage(s) for s in ("cascades", "pagerank", "kocs")],
               progress=False)  # the pipeline's own stages; communities are not needed by the score
    kg.tl.pagerank(g, direction="forward", key_added="pagerank_plain")
    c = g.codes
    n = g.n_users
    koc = column(g, "kocs", "score").to_numpy(np.float64)
    scores = {
        "koc": np.where(np.isnan(koc), -1.0, koc),
        "out_degree": np.bincount(c.edge_src, minlength=n).astype(np.float64),
        "in_degree": np.bincount(c.edge_tgt, minlength=n).astype(np.float64),
        "pagerank_plain": g.nodes["pagerank_plain"].to_numpy(np.float64),
        "pagerank": column(g, "pagerank").to_numpy(np.float64),
        "reach": column(g, "cascades", "reach").to_numpy(np.float64),
    }
    elig = ~np.asarray(g.nodes.index.isin(staff), dtype=bool)
    if planted and not missing:
        is_planted = np.asarray(g.nodes.index.isin(planted), dtype=np.float64)[elig][:, None]
        ks = sorted({int(x) for x in (k if k is not None else (10, len(planted)))})
        out["k"] = ks
        for name, s in scores.items():
            sums = topk_hits(s[elig], is_planted, ks)[:, 0]
            out["precision"][name] = {str(kk): float(sums[i] / min(kk, int(elig.sum()))) for i, kk in enumerate(ks)}
    else:
        out["note"] = ("no planted ids in this sample: precision@k not computed" if not planted
                       else f"{len(missing)} planted ids are not in the log")
    try:
        bt = kg.evaluate.backtest(g, staff=staff or None, k=(backtest_k,), rng=rng)
    except kg.InvalidParameterError as err:  # e.g. a log without time: no backtest, said so
        out["backtest_error"] = str(err)
    else:
        out["backtest_k"] = backtest_k
        for row in bt.itertuples(index=False):
            out["backtest"][str(row.method)] = {"precision": float(row.precision), "reach_share": float(row.reach_share),
                                                "spearman": float(row.spearman)}
        out["backtest_attrs"] = {k_: v for k_, v in bt.attrs.items() if isinstance(v, (int, float, str))}
    out["time_s"] = time.perf_counter() - t0
    return out


# ================================================================================== the runner
def _summarise_side(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = [n for n in STAGE_NAMES if any(n in r.get("stages", {}) for r in runs)]
    stages: dict[str, Any] = {}
    for n in names:
        per = [r["stages"].get(n, {"ok": False, "error": r.get("error", "missing")}) for r in runs]
        per2 = [{**{("stage_s" if k == "s" else k): v for k, v in x.items()}} for x in per]
        med = summarise_runs(per2, min_keys=())
        st: dict[str, Any] = {"ok": all(x.get("ok") for x in per), "runs_s": [x.get("s") for x in per]}
        if med:
            st["s"] = med.pop("stage_s", float("nan"))
            st.update(med)
        errs = [x["error"] for x in per if not x.get("ok")]
        if errs:
            st["errors"] = errs
        stages[n] = st
    checks: dict[str, Any] = {}
    for r in runs:
        for k, v in r.get("checks", {}).items():
            if k.endswith("_diff"):
                checks[k] = max(checks.get(k, 0.0), v)
            elif isinstance(v, bool):
                checks[k] = checks.get(k, True) and v
            else:
                checks.setdefault(k, v)
    errors = [r["error"] for r in runs if r.get("error")]
    out = {"ok": all(r.get("ok") for r in runs) and bool(runs), "n_runs": len(runs), "stages": stages, "checks": checks,
           "peak_rss_mib": max((r.get("process_peak_rss_mib") or r.get("peak_rss_mib") or 0.0) for r in runs) if runs else None}
    if errors:
        out["errors"] = errors
    return out


def _ratios(sides: dict[str, Any]) -> dict[str, dict[str, float]]:
    kg_ = sides.get("kocgraph", {}).get("stages", {})
    out: dict[str, dict[str, float]] = {}
    for peer in SIDES[1:]:
        for n, st in sides.get(peer, {}).get("stages", {}).items():
            k = kg_.get(n, {})
            if st.get("ok") and k.get("ok") and k.get("s"):
                out.setdefault(n, {})[peer] = st["s"] / k["s"]
    return out


def run(sizes: Sequence[str], *, peers: bool = False, repeats: int = 3, isolate: bool = True,
        params: BenchParams | None = None, quality_sample: str | None = "planted-koc",
        networkx_max_events: int = NETWORKX_MAX_EVENTS, stages: Sequence[str] | None = None,
        peer_stages: Sequence[str] | None = None, cache_dir: str | os.PathLike[str] | None = None, timeout: float | None = None,
        progress: Callable[[str], None] | None = None,
        table: dict[str, dict[str, Callable[[Ctx], dict[str, Any]]]] | None = None) -> dict[str, Any]:
    """Every stage per size, ``repeats`` times (sides interleaved), medians, ratios and the quality figures.

    Returns ``{"environment", "params", "sizes": {label: {"log", "sides": {side: summary}, "ratios":
    {stage: {peer: peer_s / kocgraph_s}}}}, "quality"}``. ``stages`` limits every side to those stages
    (``read`` always runs); ``peer_stages`` limits the peers only (e.g. leave out their slow read and
    cascades on 1e7 events). ``table`` overrides the stage functions (in-process only; tests use it to
    break a stage on purpose).
    """
    params = params or BenchParams()
    say = progress or (lambda _m: None)
    res: dict[str, Any] = {
        "environment": environment(),
        "params": {"repeats": repeats, "isolate": isolate, "peers": peers, "networkx_max_events": networkx_max_events,
                   "stages": list(stages) if stages else list(STAGE_NAMES),
                   "peer_stages": list(peer_stages) if peer_stages else None, **asdict(params),
                   "calls": params.describe()},
        "sizes": {},
    }
    for size in sizes:
        path, info = resolve_log(size, cache_dir=cache_dir)
        staff = list(info.get("staff", []))
        sides = ["kocgraph"]
        if peers:
            sides.append("igraph")
            if info["n_events"] <= networkx_max_events:
                sides.append("networkx")
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
        with tempfile.TemporaryDirectory(prefix="kg-bench-") as td:
            hpath = Path(td) / "handoff.npz"
            h_mem: dict[str, np.ndarray] | None = None
            for r in range(repeats):
                order = sides if r == 0 else sides[r % len(sides):] + sides[:r % len(sides)]
                for side in order:
                    say(f"[{size}] run {r + 1}/{repeats}: {side} ...")
                    t0 = time.perf_counter()
                    these = stages
                    if side != "kocgraph" and peer_stages:
                        these = [n for n in (stages or STAGE_NAMES) if n in peer_stages]
                    if isolate:
                        out = _run_side_isolated(side, path, staff, params, hpath, these, timeout)
                    else:
                        out = run_side(side, path, staff=staff, params=params, handoff_in=h_mem, stages=these,
                                       table=table)
                        if side == "kocgraph" and "handoff" in out:
                            h_mem = out.pop("handoff")
                    wall = time.perf_counter() - t0
                    runs[side].append(out)
                    failed = [n for n, st in out.get("stages", {}).items() if not st.get("ok")]
                    say(f"[{size}]   {side}: {wall:.2f} s" + (f"; FAILED {failed or out.get('error')}"
                                                              if not out.get("ok") else ""))
        summary = {s: _summarise_side(v) for s, v in runs.items()}
        log = {k: v for k, v in info.items() if k not in ("planted",)}
        kg_read = summary["kocgraph"]["stages"].get("read", {})
        for k in ("n_users", "n_edges", "n_items"):
            if k in kg_read:
                log[k if k != "n_users" else "n_users_active"] = kg_read[k]
        res["sizes"][size] = {"log": {**log, "path": str(path)}, "sides": summary, "ratios": _ratios(summary)}
    if quality_sample:
        say(f"[quality] {quality_sample} ...")
        try:
            res["quality"] = quality(quality_sample, rng=params.rng)
        except Exception as err:  # noqa: BLE001 - the quality figure is optional; its failure is reported
            res["quality"] = {"sample": quality_sample, "error": f"{type(err).__name__}: {err}"}
    return res


# ================================================================================== soundness
def _is_time(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def check(res: dict[str, Any]) -> list[str]:
    """What is unsound in a result of :func:`run` (empty list: sound). Never a wall-clock limit.

    A stage missing or failed; a time or peak memory that is not a positive finite number; a ratio that
    is not finite and positive; a peer that disagrees with kocgraph (cascade totals, user count,
    PageRank beyond 1e-6 for igraph and 1e-4 for networkx, coreness, best-route strengths beyond 1e-9);
    a KOC ranking, route table or seed list that came out empty; a quality figure outside [0, 1].
    """
    problems: list[str] = []
    if not res.get("sizes"):
        problems.append("no size was run")
    want = res.get("params", {}).get("stages") or list(STAGE_NAMES)
    for size, s in res.get("sizes", {}).items():
        sides = s.get("sides", {})
        if "kocgraph" not in sides:
            problems.append(f"[{size}] the kocgraph side is missing")
        peer_want = res.get("params", {}).get("peer_stages")
        for side, sm in sides.items():
            expected = [n for n in want if n in STAGES.get(side, {})
                        and (side == "kocgraph" or not peer_want or n in peer_want)]
            for n in expected:
                st = sm.get("stages", {}).get(n)
                if st is None:
                    problems.append(f"[{size}] {side} stage {n!r} missing" + (f": {sm['errors']}" if sm.get("errors") else ""))
                    continue
                if not st.get("ok"):
                    problems.append(f"[{size}] {side} stage {n!r} failed: {st.get('errors')}")
                    continue
                if not _is_time(st.get("s")):
                    problems.append(f"[{size}] {side} stage {n!r}: time {st.get('s')!r} is not a positive time")
                if not _is_time(st.get("peak_rss_mib")):
                    problems.append(f"[{size}] {side} stage {n!r}: peak memory {st.get('peak_rss_mib')!r} is not positive")
        k = {n: st for n, st in sides.get("kocgraph", {}).get("stages", {}).items() if st.get("ok")}
        if "kocs" in k and k["kocs"].get("n_ranked", 0) <= 0:
            problems.append(f"[{size}] kocs ranked nobody")
        if "routes" in k and k["routes"].get("n_targets", 0) > 0 and k["routes"].get("n_routes", 0) <= 0:
            problems.append(f"[{size}] routes found no route to any of {k['routes']['n_targets']} targets")
        if "seeds" in k and k["seeds"].get("n_seeds", 0) <= 0:
            problems.append(f"[{size}] seeds chose nobody")
        if "pagerank" in k and not abs(k["pagerank"].get("pagerank_sum", 0.0) - 1.0) < 1e-6:
            problems.append(f"[{size}] PageRank sums to {k['pagerank'].get('pagerank_sum')!r}, not 1")
        for peer in SIDES[1:]:
            ps = sides.get(peer)
            if not ps:
                continue
            p = {n: st for n, st in ps.get("stages", {}).items() if st.get("ok")}
            if "cascades" in k and "cascades" in p:
                for key in ("reach_sum", "depth_sum", "holders"):
                    if k["cascades"].get(key) != p["cascades"].get(key):
                        problems.append(f"[{size}] kocgraph and {peer} cascades disagree on {key}: "
                                        f"{k['cascades'].get(key)} vs {p['cascades'].get(key)}")
            if "read" in k and "read" in p and k["read"].get("n_users") != p["read"].get("n_users"):
                problems.append(f"[{size}] kocgraph and {peer} read different user counts: "
                                f"{k['read'].get('n_users')} vs {p['read'].get('n_users')}")
            c = ps.get("checks", {})
            tol = 1e-6 if peer == "igraph" else 1e-4
            if "pagerank" in p and not c.get("pagerank_max_abs_diff", 1.0) <= tol:
                problems.append(f"[{size}] kocgraph and {peer} PageRank differ by {c.get('pagerank_max_abs_diff')!r}")
            if "coreness" in p and c.get("coreness_equal") is not True:
                problems.append(f"[{size}] kocgraph and {peer} coreness differ")
            if "routes" in p and not c.get("route_strength_max_abs_diff", 1.0) <= 1e-9:
                problems.append(f"[{size}] kocgraph and {peer} best-route strengths differ by "
                                f"{c.get('route_strength_max_abs_diff')!r}")
        for name, rr in s.get("ratios", {}).items():
            for peer, v in rr.items():
                if not (isinstance(v, float) and math.isfinite(v) and v > 0):
                    problems.append(f"[{size}] ratio {peer}/kocgraph for {name} = {v!r}")
        for peer in SIDES[1:]:
            ps = sides.get(peer, {}).get("stages", {})
            for n, st in ps.items():
                if st.get("ok") and k.get(n) and peer not in s.get("ratios", {}).get(n, {}):
                    problems.append(f"[{size}] ratio {peer}/kocgraph for {n} is missing")
    q = res.get("quality")
    if q is not None:
        if q.get("error"):
            problems.append(f"quality on {q.get('sample')} failed: {q['error']}")
        if q.get("planted_missing"):
            problems.append(f"quality: {q['planted_missing']} planted ids of {q.get('sample')} are not in its log")
        for part in ("precision", "backtest"):
            for m, figs in q.get(part, {}).items():
                for key, v in figs.items():
                    if key == "spearman":
                        ok = isinstance(v, float) and (math.isnan(v) or -1.0 <= v <= 1.0)
                    else:
                        ok = isinstance(v, float) and 0.0 <= v <= 1.0
                    if not ok:
                        problems.append(f"quality: {part} {m} {key} = {v!r} is not a share")
    return problems


# ================================================================================== the table
def _f(v: float | None, w: int, fmt: str = ".2f", suffix: str = "") -> str:
    return (f"{v:{fmt}}{suffix}" if v is not None and math.isfinite(v) else "—").rjust(w)


def _secs(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "—"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def format_table(res: dict[str, Any]) -> str:
    """The printed table: per size, one row per stage (median s, peak MiB, peers and ratios); quality."""
    lines: list[str] = []
    reps = res.get("params", {}).get("repeats")
    iso = res.get("params", {}).get("isolate")
    for size, s in res.get("sizes", {}).items():
        log = s["log"]
        sides = s["sides"]
        lines.append(f"== {size}: {log.get('n_events', 0):,} events, {log.get('n_users_active', 0):,} users, "
                     f"{log.get('n_edges', 0):,} edges; median of {reps} run(s)"
                     f"{', each side in a fresh process' if iso else ', in-process'} ==")
        peers = [p for p in SIDES[1:] if p in sides]
        head = f"{'stage':<12} {'kocgraph s':>10} {'peak MiB':>8}"
        for p in peers:
            head += f" {p + ' s':>11} {('ig' if p == 'igraph' else 'nx') + '/kg':>7}"
        lines += [head, "-" * len(head)]
        kst = sides.get("kocgraph", {}).get("stages", {})
        for n in STAGE_NAMES:
            if n not in kst and not any(n in sides[p].get("stages", {}) for p in peers):
                continue
            k = kst.get(n, {})
            row = f"{n:<12} " + (f"{_secs(k.get('s')):>10} {_f(k.get('peak_rss_mib'), 8, '.0f')}" if k.get("ok")
                                 else f"{'FAILED':>10} {'':>8}")
            for p in peers:
                st = sides[p].get("stages", {}).get(n)
                if st is None:
                    row += f" {'—':>11} {'':>7}"
                elif not st.get("ok"):
                    row += f" {'FAILED':>11} {'':>7}"
                else:
                    row += f" {_secs(st.get('s')):>11} {_f(s['ratios'].get(n, {}).get(p), 7, '.1f', 'x')}"
            lines.append(row.rstrip())
        tot = sum(st["s"] for st in kst.values() if st.get("ok") and isinstance(st.get("s"), float))
        lines.append(f"{'total':<12} {_secs(tot):>10}")
        notes = []
        for p in peers:
            c = sides[p].get("checks", {})
            bits = []
            if "pagerank_max_abs_diff" in c:
                bits.append(f"PageRank max |diff| {c['pagerank_max_abs_diff']:.1e}")
            if "coreness_equal" in c:
                bits.append("coreness " + ("equal" if c["coreness_equal"] else "DIFFERS"))
            if "route_strength_max_abs_diff" in c:
                bits.append(f"best-route strength max |diff| {c['route_strength_max_abs_diff']:.1e}")
            mods = sides[p].get("stages", {}).get("communities", {}).get("modularity")
            if mods is not None:
                bits.append(f"modularity {mods:.4f} (kocgraph {kst.get('communities', {}).get('modularity', float('nan')):.4f})")
            if bits:
                notes.append(f"{p} vs kocgraph: " + ", ".join(bits))
        lines += notes
        if peers:
            lines.append("ratios are peer time / kocgraph time (above 1: kocgraph is faster); — : not run "
                         "(no peer call for kocs and seeds, or left out with --peer-stages)")
        lines.append("")
    q = res.get("quality")
    if q:
        lines.append(f"== quality on {q.get('sample')}: {q.get('n_planted', 0)} planted among "
                     f"{q.get('n_users', 0):,} users, {q.get('n_events', 0):,} events ==")
        if q.get("error"):
            lines.append(f"FAILED: {q['error']}")
        else:
            ks = q.get("k", [])
            bk = q.get("backtest_k")
            head = f"{'method':<16}" + "".join(f" {'P@' + str(kk) + ' planted':>13}" for kk in ks)
            if q.get("backtest"):
                head += f" {'backtest P@' + str(bk):>15} {'reach share':>11} {'spearman':>9}"
            lines += [head, "-" * len(head)]
            methods = list(dict.fromkeys(list(q.get("precision", {})) + list(q.get("backtest", {}))))
            for m in methods:
                row = f"{m:<16}"
                for kk in ks:
                    row += f" {_f(q['precision'].get(m, {}).get(str(kk)), 13, '.3f')}"
                b = q.get("backtest", {}).get(m)
                if q.get("backtest"):
                    row += (f" {_f(b['precision'], 15, '.3f')} {_f(b['reach_share'], 11, '.3f')} {_f(b['spearman'], 9, '.3f')}"
                            if b else f" {'—':>15} {'—':>11} {'—':>9}")
                lines.append(row.rstrip())
            if q.get("note"):
                lines.append(q["note"])
            if q.get("backtest_error"):
                lines.append(f"backtest: {q['backtest_error']}")
    return "\n".join(lines)
