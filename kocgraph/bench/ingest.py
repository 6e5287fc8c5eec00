"""Stage functions and the runner of the ingest benchmark (issue 2): ``benchmarks/bench_ingest.py``.

Each *stage* is a plain function ``stage(path) -> dict`` that reads the CSV log at ``path``, does its
work, and returns a flat dict of timings (``*_s`` keys, seconds, ``time.perf_counter``) and a few
result figures used to check that the stages computed the same thing. Stages:

``floor``
    The least any CSV ingest can cost: ``pyarrow.csv.read_csv`` of the whole file plus
    ``pd.factorize`` of the source and target strings (one pass, together).
``kocgraph``
    ``kg.read_log(path)`` then ``kg.tl.cascades(g)``.
``networkx``
    What a user would write with networkx: pandas picks each item's first receipts (the same rule
    as kocgraph: first receipt wins unless the user already sent the item), then, per item, an
    ``nx.DiGraph`` of those links, ``nx.descendants`` per node for reach and
    ``nx.dag_longest_path_length`` for depth. It computes less than ``kg.tl.cascades`` (no breadth,
    virality, durations), so its time is a lower bound for networkx.

:func:`run_stage` runs one stage either in this process or in a fresh subprocess (``isolate=True``,
the default for full runs), and measures the stage's peak resident memory (VmHWM reset through
``/proc/self/clear_refs`` in-process; ``VmHWM`` of the fresh child when isolated). :func:`run` drives
sizes x repeats, interleaving the stages, and takes medians; :func:`check` lists what is wrong with a
result (missing or failed stage, non-positive time, non-finite ratio, stages that disagree), which is
what the smoke test asserts on. Wall-clock thresholds are never checked here.

An isolated stage runs as ``python -m kocgraph.bench._child ingest --stage NAME --path LOG``, which
prints one JSON line. The first-receipt rule of the networkx stage is :func:`first_receipts`, shared
with the peers of ``kocgraph bench`` (:mod:`kocgraph.bench.pipeline`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from .._core.resources import maxrss_mib, peak_rss_mib, reset_peak
from ._util import environment, run_child, summarise_runs
from .data import COLUMNS, SEED, SIZES, bench_cache_dir, make_log

__all__ = [
    "SIZES",
    "STAGES",
    "bench_cache_dir",
    "make_log",
    "first_receipts",
    "stage_floor",
    "stage_kocgraph",
    "stage_networkx",
    "run_stage",
    "run",
    "check",
    "format_table",
    "environment",
]

#: networkx runs up to this many events (issue 2: at 1M events only)
NETWORKX_MAX_EVENTS = 2_000_000


# ------------------------------------------------------------------------------------------- stages
def stage_floor(path: str | os.PathLike[str]) -> dict[str, Any]:
    """pyarrow CSV read (parallel, as ``read_log`` reads) + ``pd.factorize`` of source+target."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    t0 = time.perf_counter()
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
        convert_options=pacsv.ConvertOptions(column_types={"source": pa.string(), "target": pa.string(),
                                                           "item": pa.string()}),
    )
    t1 = time.perf_counter()
    both = pa.chunked_array(table.column("source").chunks + table.column("target").chunks)
    codes, uniques = pd.factorize(pd.Series(pd.arrays.ArrowExtensionArray(both), copy=False))
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "factorize_s": t2 - t1, "total_s": t2 - t0,
            "n_rows": int(table.num_rows), "n_users": int(len(uniques))}


def stage_kocgraph(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``kg.read_log(path)`` + ``kg.tl.cascades(g)``; returns their times and check figures."""
    import kocgraph as kg

    t0 = time.perf_counter()
    g = kg.read_log(path)
    t1 = time.perf_counter()
    kg.tl.cascades(g)
    t2 = time.perf_counter()
    return {"read_log_s": t1 - t0, "cascades_s": t2 - t1, "total_s": t2 - t0,
            "n_rows": int(g.meta["read_log"]["rows_read"]), "n_events": int(g.n_events),
            "n_users": int(g.n_users), "n_items": int(g.n_items),
            "reach_sum": int(g.nodes["reach"].sum()), "depth_sum": int(g.items["depth"].sum()),
            "holders": int(g.items["size"].sum())}


def first_receipts(df: Any) -> tuple[Any, Any, int]:
    """Each item's cascade links and holders from a raw log frame, with pandas (the peers' input).

    The same rule as :func:`kocgraph.tl.cascades`: events in ``(time, row)`` order, self-forwards and
    exact duplicates dropped (``read_log`` rejects them too); a target's parent is the source of its
    first receipt of the item, unless the target had already sent the item (then it is a root).
    Returns ``(links, holders, n_rows)``: ``links`` has columns ``item, source, target``; ``holders``
    one row per (``item``, ``user``) who sent or received the item; ``n_rows`` the events kept.
    """
    import pandas as pd

    df = df[df["source"] != df["target"]].drop_duplicates(COLUMNS)
    df = df.assign(row=np.arange(len(df)))
    df = df.sort_values(["time", "row"], kind="stable").reset_index(drop=True)
    pos = pd.Series(np.arange(len(df)), index=df.index)
    # first receipt and first send of each (item, user), in event order
    first_recv = pos.groupby([df["item"], df["target"]], sort=False).transform("min")
    sends = pd.DataFrame({"item": df["item"], "user": df["source"], "pos": pos}).groupby(["item", "user"], sort=False)["pos"].min()
    fs = sends.reindex(pd.MultiIndex.from_arrays([df["item"], df["target"]])).to_numpy()
    link = (pos.to_numpy() == first_recv.to_numpy()) & ~(fs < pos.to_numpy())  # NaN (never sent) compares False
    links = df.loc[link, ["item", "source", "target"]]
    holders = pd.concat([df[["item", "source"]].rename(columns={"source": "user"}),
                         df[["item", "target"]].rename(columns={"target": "user"})]).drop_duplicates()
    return links, holders, int(len(df))


def nx_item_cascades(links: Any, holders: Any) -> tuple[int, int]:
    """The networkx peer's cascade figures: one ``DiGraph`` per item from the first-receipt links,
    ``descendants`` per holder for reach and ``dag_longest_path_length`` for depth (what a networkx
    user writes; deliberately per item and per node). Returns ``(sum of reach, sum of depths)``."""
    import networkx as nx

    reach_sum = 0
    depth_sum = 0
    link_groups = dict(tuple(links.groupby("item", sort=False)))
    for item, h in holders.groupby("item", sort=False):
        G = nx.DiGraph()
        G.add_nodes_from(h["user"])
        e = link_groups.get(item)
        if e is not None:
            G.add_edges_from(zip(e["source"], e["target"]))
        reach_sum += sum(len(nx.descendants(G, n)) for n in G)
        depth_sum += nx.dag_longest_path_length(G)
    return int(reach_sum), int(depth_sum)


def stage_networkx(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The networkx pipeline: first receipts with pandas, per-item DiGraph, descendants per node."""
    import pyarrow.csv as pacsv

    t0 = time.perf_counter()
    df = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24)).to_pandas()
    t1 = time.perf_counter()
    links, holders, n_rows = first_receipts(df)
    t2 = time.perf_counter()
    reach_sum, depth_sum = nx_item_cascades(links, holders)
    t3 = time.perf_counter()
    return {"read_s": t1 - t0, "first_receipts_s": t2 - t1, "graphs_reach_s": t3 - t2, "total_s": t3 - t0,
            "n_rows": int(n_rows), "reach_sum": reach_sum, "depth_sum": depth_sum,
            "holders": int(len(holders))}


STAGES: dict[str, Callable[[str | os.PathLike[str]], dict[str, Any]]] = {
    "floor": stage_floor,
    "kocgraph": stage_kocgraph,
    "networkx": stage_networkx,
}


# ------------------------------------------------------------------------------------------- memory


def _run_here(fn: Callable[[Any], dict[str, Any]], path: str | os.PathLike[str]) -> dict[str, Any]:
    """Run a stage in this process; peak RSS during the stage (process-wide peak if not resettable)."""
    reset = reset_peak()
    out = dict(fn(path))
    hwm = peak_rss_mib() if reset else None
    out["peak_rss_mib"] = hwm if hwm is not None else maxrss_mib()
    out["peak_rss_scope"] = "stage" if hwm is not None else "process"
    return out


def run_stage(name: str, path: str | os.PathLike[str], *, isolate: bool = False,
              stages: dict[str, Callable[..., dict[str, Any]]] | None = None, timeout: float | None = None
              ) -> dict[str, Any]:
    """Run one stage on ``path``; returns its dict plus ``ok``, ``peak_rss_mib`` and, on failure, ``error``.

    ``isolate=True`` runs it in a fresh Python process (clean memory peak, no warm caches but the OS
    page cache); ``stages`` overrides the stage table (in-process only).
    """
    table = STAGES if stages is None else stages
    if name not in table:
        return {"ok": False, "error": f"unknown stage {name!r}; known: {sorted(table)}"}
    if not isolate:
        try:
            out = _run_here(table[name], path)
        except Exception as err:  # noqa: BLE001 - a broken stage is reported, not raised
            return {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        out["ok"] = True
        return out
    cmd = [sys.executable, "-m", "kocgraph.bench._child", "ingest", "--stage", name, "--path", str(path)]
    out = run_child(cmd, timeout=timeout, label=f"stage {name}")
    out.setdefault("ok", True)
    return out


def child_main(argv: list[str]) -> int:
    """``python -m kocgraph.bench._child ingest --stage NAME --path LOG``: one stage, one JSON line."""
    ap = argparse.ArgumentParser(description="run one ingest benchmark stage in this process and print JSON")
    ap.add_argument("--stage", required=True, choices=sorted(STAGES))
    ap.add_argument("--path", required=True)
    a = ap.parse_args(argv)
    out = dict(STAGES[a.stage](a.path))
    # a fresh process: its lifetime peak is the stage's peak. Read VmHWM (the high-water mark of this
    # exec'd address space): ru_maxrss survives fork+exec on Linux and would report the parent's peak.
    hwm = peak_rss_mib()
    out["peak_rss_mib"] = hwm if hwm is not None else maxrss_mib()
    out["peak_rss_scope"] = "process"
    print(json.dumps(out))
    return 0


# ------------------------------------------------------------------------------------------- runner
def run(
    sizes: list[str],
    *,
    repeats: int = 3,
    isolate: bool = True,
    stages: dict[str, Callable[..., dict[str, Any]]] | None = None,
    networkx_max_events: int = NETWORKX_MAX_EVENTS,
    seed: int = SEED,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every stage ``repeats`` times per size (stages interleaved), and summarise by medians.

    Returns ``{"environment": ..., "params": ..., "sizes": {label: {"log": info, "stages": {name:
    {"median": {...}, "runs": [...], "ok": bool}}, "ratios": {...}}}}``. ``networkx`` runs only on logs
    of at most ``networkx_max_events`` events.
    """
    table = dict(STAGES if stages is None else stages)
    say = progress or (lambda _m: None)
    res: dict[str, Any] = {"environment": environment(),
                           "params": {"repeats": repeats, "isolate": isolate, "seed": seed,
                                      "stages": list(table), "networkx_max_events": networkx_max_events},
                           "sizes": {}}
    for size in sizes:
        path, info = make_log(size, seed=seed, cache_dir=cache_dir)
        names = [n for n in table if n != "networkx" or info["n_events"] <= networkx_max_events]
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for r in range(repeats):
            for n in names:
                say(f"[{size}] run {r + 1}/{repeats}: {n} ...")
                out = run_stage(n, path, isolate=isolate, stages=table if not isolate else None)
                runs[n].append(out)
                say(f"[{size}]   {n}: " + (f"{out['total_s']:.2f} s, peak {out['peak_rss_mib']:.0f} MiB"
                                           if out.get("ok") and "total_s" in out else f"FAILED {out.get('error')}"))
        summary = {n: _summarise(v) for n, v in runs.items()}
        res["sizes"][size] = {"log": {**info, "path": str(path)}, "stages": summary, "ratios": _ratios(summary)}
    return res


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = all(r.get("ok") for r in runs) and bool(runs)
    med = summarise_runs(runs)
    out = {"ok": ok, "n_runs": len(runs), "median": med, "runs": runs}
    errs = [r["error"] for r in runs if not r.get("ok")]
    if errs:
        out["errors"] = errs
    return out


def _ratios(summary: dict[str, Any]) -> dict[str, float]:
    def tot(n: str) -> float | None:
        s = summary.get(n)
        return s["median"].get("total_s") if s and s["ok"] else None

    out: dict[str, float] = {}
    k, f, x = tot("kocgraph"), tot("floor"), tot("networkx")
    if k is not None and f:
        out["kocgraph/floor"] = k / f
    if x is not None and k:
        out["networkx/kocgraph"] = x / k
    return out


def check(res: dict[str, Any], *, expect: list[str] | None = None) -> list[str]:
    """What is wrong with a result of :func:`run` (empty list = sound). Never looks at wall-clock limits.

    Checks: every expected stage is present at every size and succeeded; every ``*_s`` time is a
    positive finite number; every ratio is finite and positive; the ratios expected from the stages
    present exist; kocgraph and networkx agree on reach, depth and holders; kocgraph and the floor
    read the same number of rows.
    """
    problems: list[str] = []
    want = expect if expect is not None else res.get("params", {}).get("stages", list(STAGES))
    if not res.get("sizes"):
        return ["no size was run"]
    for size, s in res["sizes"].items():
        st = s.get("stages", {})
        for n in want:
            if n == "networkx" and s.get("log", {}).get("n_events", 0) > res["params"].get("networkx_max_events", NETWORKX_MAX_EVENTS):
                continue
            if n not in st:
                problems.append(f"[{size}] stage {n!r} missing")
                continue
            if not st[n]["ok"]:
                problems.append(f"[{size}] stage {n!r} failed: {st[n].get('errors')}")
                continue
            times = {k: v for k, v in st[n]["median"].items() if k.endswith("_s")}
            if "total_s" not in times:
                problems.append(f"[{size}] stage {n!r} reports no total_s")
            for k, v in times.items():
                if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                    problems.append(f"[{size}] stage {n!r}: {k}={v!r} is not a positive time")
        ratios = s.get("ratios", {})
        expected_ratios = []
        if "kocgraph" in st and "floor" in st:
            expected_ratios.append("kocgraph/floor")
        if "kocgraph" in st and "networkx" in st:
            expected_ratios.append("networkx/kocgraph")
        for r in expected_ratios:
            v = ratios.get(r)
            if v is None or not math.isfinite(v) or v <= 0:
                problems.append(f"[{size}] ratio {r} = {v!r} is not a finite positive number")
        ok = {n: st[n]["median"] for n in st if st[n]["ok"]}
        if "kocgraph" in ok and "networkx" in ok:
            for k in ("reach_sum", "depth_sum", "holders"):
                if ok["kocgraph"].get(k) != ok["networkx"].get(k):
                    problems.append(f"[{size}] kocgraph and networkx disagree on {k}: "
                                    f"{ok['kocgraph'].get(k)} vs {ok['networkx'].get(k)}")
        if "kocgraph" in ok and "floor" in ok:
            for k in ("n_rows",):
                if ok["kocgraph"].get(k) != ok["floor"].get(k):
                    problems.append(f"[{size}] kocgraph and floor disagree on {k}: "
                                    f"{ok['kocgraph'].get(k)} vs {ok['floor'].get(k)}")
    return problems


# ------------------------------------------------------------------------------------------- output
def format_table(res: dict[str, Any]) -> str:
    """A plain-text table: one row per (size, stage): median times, peak memory; then the ratios."""
    head = f"{'size':>5} {'events':>11} {'stage':<9} {'total s':>8}  {'breakdown (median s)':<52} {'peak MiB':>8}"
    lines = [head, "-" * len(head)]
    for size, s in res["sizes"].items():
        n_ev = s["log"]["n_events"]
        for n, st in s["stages"].items():
            if not st["ok"]:
                lines.append(f"{size:>5} {n_ev:>11,} {n:<9} {'FAILED':>8}  {str(st.get('errors'))[:60]}")
                continue
            m = st["median"]
            parts = ", ".join(f"{k[:-2]} {v:.2f}" for k, v in m.items() if k.endswith("_s") and k != "total_s")
            lines.append(f"{size:>5} {n_ev:>11,} {n:<9} {m['total_s']:>8.2f}  {parts:<52} {m['peak_rss_mib']:>8.0f}")
        rs = ", ".join(f"{k} = {v:.2f}x" for k, v in s["ratios"].items())
        if rs:
            lines.append(f"{'':>5} {'':>11} ratios: {rs}")
    return "\n".join(lines)

