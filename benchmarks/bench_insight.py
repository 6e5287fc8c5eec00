"""Insight benchmark (issue 4): ``kg.tl.routes`` (500 staff -> 10,000 targets, k = 3) and
``kg.tl.attribution``, with networkx's multi-source Dijkstra side by side.

Usage (from the repository root)::

    python benchmarks/bench_insight.py --smoke                       # ~1e4 events, one run, seconds
    python benchmarks/bench_insight.py --sizes 1e6 --repeats 3       # 1M events, median of 3
    python benchmarks/bench_insight.py --sizes 1e6,1e7 --out insight.json

Logs are ``kg.datasets.synthetic_frame`` at the sizes of ``_common.SIZES`` (the same parameters and seed
as the ingest and nomination benchmarks), but with every column: attribution needs the ``event_type``
and ``value`` of the purchases, which the shared CSVs of ``_common.make_log`` leave out. They are
generated once and cached as Parquet next to those CSVs. Per size and repeat, two kinds run, each in a
fresh Python process (``--no-isolate``: in this one), on the same file:

``kocgraph``
    ``kg.read_log``; the route endpoints (below); ``kg.tl.tie_strength`` (weighted cascade, the default
    on a log without views); ``kg.tl.routes(sources=500 staff, targets=10,000 users, k=3)`` and the same
    with ``k=1``; ``kg.tl.cascades``; ``kg.tl.attribution`` with ``model="linear"`` and with
    ``"time_decay"`` (three levels).
``networkx``
    The same ``read_log`` and tie strengths (not timed), then what a user would write with networkx:
    an ``nx.DiGraph`` of the edges with weight ``-log p`` (``nx_build``) and one
    ``nx.multi_source_dijkstra(G, staff)`` (``nx_dijkstra``): the single best route to every user, the
    distances and paths. It computes less than ``kg.tl.routes`` (no alternative introducers), so its
    time is a lower bound for networkx. By default it runs only up to 2M events.

Route endpoints: the synthetic log's staff accounts plus users drawn at random (seed 0) among those who
forwarded something, 500 sources in all; 10,000 targets drawn at random among the other users. Both
kinds draw the same ones from the same file. Cross-check: on a sample of 1,000 targets, kocgraph's
best route strength must equal ``exp(-distance)`` from networkx (relative difference <= 1e-9) and both
must agree on which are reachable. Attribution must conserve value (credited + unattributed = total).

Peak memory is the process's ``VmHWM`` (isolated: the child's, so it includes the interpreter, the
imports and ``read_log``). Ratios are on median times: ``routes networkx/kocgraph`` =
(``nx_build + nx_dijkstra``) / ``routes`` (k = 3), and the same against ``routes_k1``. Exits 1 when a
kind fails or a figure is unsound, never because something is slow.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

from kocgraph.bench._util import kind_problems, run_child, summarise_runs

KINDS = ("kocgraph", "networkx")
N_SOURCES = 500
N_TARGETS = 10_000
K = 3
SAMPLE = 1_000
NETWORKX_MAX_EVENTS = 2_000_000
SEED = 0


# ------------------------------------------------------------------------------------------------ data
def make_full_log(size: str, *, seed: int = SEED, cache_dir: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The Parquet log of a size label with every column (purchases included), generated once and cached."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    import kocgraph as kg

    if size not in _common.SIZES:
        raise ValueError(f"size {size!r} is not one of {list(_common.SIZES)}")
    p = _common.SIZES[size]
    d = Path(cache_dir) if cache_dir is not None else _common.bench_cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"insight-{size}-u{p['n_users']}-i{p['n_items']}-seed{seed}-v{kg.__version__}.parquet"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    t0 = time.perf_counter()
    df, truth = kg.datasets.synthetic_frame(p["n_users"], p["n_items"], rng=seed)
    gen_s = time.perf_counter() - t0
    table = pa.table({
        "source": pa.array(df["source"].to_numpy(), type=pa.string()),
        "target": pa.array(df["target"].to_numpy(), type=pa.string()),
        "item": pa.array(df["item"].to_numpy(), type=pa.string()),
        "time": pa.array(df["time"].to_numpy(), type=pa.int64()),
        "event_type": pa.array(df["event_type"].astype(str).to_numpy(), type=pa.string()),
        "value": pa.array(df["value"].to_numpy(), type=pa.float64()),
    })
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    info = {"size": size, **p, "seed": seed, "n_events": int(len(df)),
            "n_conversions": int((df["event_type"] == "purchase").sum()), "staff": truth["staff"],
            "bytes": path.stat().st_size, "generate_s": round(gen_s, 3), "kocgraph": kg.__version__}
    meta_path.write_text(json.dumps(info))
    return path, info


def endpoints(g: Any, staff: list[str], n_sources: int, n_targets: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Route endpoints as user codes: the staff plus random forwarders (n_sources), random other users."""
    rng = np.random.default_rng(seed)
    n = g.n_users
    staff_codes = g.user_codes([s for s in staff if s in g.nodes.index]) if staff else np.empty(0, np.int64)
    senders = np.setdiff1d(np.unique(g.codes.edge_src), staff_codes)
    extra = rng.choice(senders, size=min(max(n_sources - staff_codes.size, 0), senders.size), replace=False)
    sources = np.unique(np.concatenate([staff_codes, extra]).astype(np.int64))
    rest = np.setdiff1d(np.arange(n), sources)
    targets = np.sort(rng.choice(rest, size=min(n_targets, rest.size), replace=False)).astype(np.int64)
    return sources, targets


def _sample(targets: np.ndarray, m: int, seed: int = SEED) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    return np.sort(rng.choice(targets, size=min(m, targets.size), replace=False))


def _read(path: str) -> Any:
    import kocgraph as kg

    return kg.read_log(path, time_unit="s")


# ------------------------------------------------------------------------------------------------ kinds
def kind_kocgraph(path: str, staff: list[str], n_sources: int, n_targets: int, sample: int) -> dict[str, Any]:
    """kocgraph: tie strength, routes (k = 3 and k = 1), cascades, attribution (linear, time decay)."""
    import kocgraph as kg

    T: dict[str, Any] = {}
    t = time.perf_counter()
    g = _read(path)
    T["read_log_s"] = time.perf_counter() - t
    src, tgt = endpoints(g, staff, n_sources, n_targets)
    ids = g.nodes.index
    S, Tg = ids[src].tolist(), ids[tgt].tolist()
    t = time.perf_counter()
    kg.tl.tie_strength(g)
    T["tie_strength_s"] = time.perf_counter() - t
    t = time.perf_counter()
    kg.tl.routes(g, sources=S, targets=Tg, k=1, key_added="routes_k1")
    T["routes_k1_s"] = time.perf_counter() - t
    t = time.perf_counter()
    kg.tl.routes(g, sources=S, targets=Tg, k=K)
    T["routes_s"] = time.perf_counter() - t
    t = time.perf_counter()
    kg.tl.cascades(g)
    T["cascades_s"] = time.perf_counter() - t
    t = time.perf_counter()
    kg.tl.attribution(g, model="linear", max_levels=3)
    T["attribution_s"] = time.perf_counter() - t
    t = time.perf_counter()
    kg.tl.attribution(g, model="time_decay", max_levels=3, key_added="attributed_td")
    T["attribution_time_decay_s"] = time.perf_counter() - t
    T["total_s"] = sum(T[k] for k in ("tie_strength_s", "routes_s", "cascades_s", "attribution_s"))
    m, mt = g.meta["attributed"], g.meta["attributed_td"]
    credited = float(g.nodes["attributed_value"].sum())
    T.update(
        n_events=int(g.n_events), n_users=int(g.n_users), n_edges=int(g.n_edges),
        n_sources=int(src.size), n_targets=int(tgt.size), k=K,
        n_routes=int(g.meta["routes"]["n_routes"]), n_unreachable=int(g.meta["routes"]["n_unreachable"]),
        mean_hops=float(g.tables["routes"].query("rank == 1")["hops"].mean()),
        n_conversions=int(m["n_conversions"]), total_value=float(m["total_value"]),
        unattributed_value=float(m["unattributed_value"]), attributed_plus_unattributed=credited + float(m["unattributed_value"]),
        td_attributed_plus_unattributed=float(g.nodes["attributed_td_value"].sum()) + float(mt["unattributed_value"]),
    )
    strength = g.nodes["routes_strength"].to_numpy()
    k1 = g.tables["routes_k1"]
    T["k1_equals_rank1"] = int(np.allclose(np.sort(k1["strength"].to_numpy()),
                                           np.sort(g.tables["routes"].query("rank == 1")["strength"].to_numpy())))
    smp = _sample(tgt, sample)
    T["sample_strength"] = [None if not np.isfinite(x) else float(x) for x in strength[smp]]
    return T


def kind_networkx(path: str, staff: list[str], n_sources: int, n_targets: int, sample: int) -> dict[str, Any]:
    """networkx: DiGraph with -log p weights, one multi-source Dijkstra from the staff (best routes only)."""
    import networkx as nx

    import kocgraph as kg

    g = _read(path)
    src, tgt = endpoints(g, staff, n_sources, n_targets)
    kg.tl.tie_strength(g)
    e_s = g.codes.edge_src.astype(np.int64)
    e_t = g.codes.edge_tgt.astype(np.int64)
    w = -np.log(g.edges["tie_strength"].to_numpy(np.float64))
    T: dict[str, Any] = {}
    t0 = time.perf_counter()
    G = nx.DiGraph()
    G.add_nodes_from(range(g.n_users))
    G.add_weighted_edges_from(zip(e_s.tolist(), e_t.tolist(), w.tolist(), strict=True))
    t1 = time.perf_counter()
    dist, paths = nx.multi_source_dijkstra(G, set(src.tolist()))
    t2 = time.perf_counter()
    reached = [t for t in tgt.tolist() if t in dist]
    T.update(nx_build_s=t1 - t0, nx_dijkstra_s=t2 - t1, total_s=t2 - t0,
             n_events=int(g.n_events), n_users=int(g.n_users), n_edges=int(g.n_edges),
             n_sources=int(src.size), n_targets=int(tgt.size), n_reached=len(reached),
             mean_hops=float(np.mean([len(paths[t]) - 1 for t in reached])) if reached else 0.0)
    smp = _sample(tgt, sample)
    T["sample_strength"] = [math.exp(-dist[t]) if t in dist else None for t in smp.tolist()]
    return T


# ------------------------------------------------------------------------------------------------ runner
def _call(kind: str, path: str, staff: list[str], n_sources: int, n_targets: int, sample: int) -> dict[str, Any]:
    fn = kind_kocgraph if kind == "kocgraph" else kind_networkx
    return fn(path, staff, n_sources, n_targets, sample)


def run_kind(kind: str, path: str, staff: list[str], *, n_sources: int, n_targets: int, sample: int,
             isolate: bool, timeout: float | None = None) -> dict[str, Any]:
    """One kind, in this process (peak since a reset of VmHWM) or a fresh one (the child's VmHWM)."""
    if not isolate:
        reset = _common._reset_hwm()
        try:
            out = _call(kind, path, staff, n_sources, n_targets, sample)
        except Exception as err:  # noqa: BLE001 - a broken kind is reported, not raised
            return {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        out["peak_rss_mib"] = (_common._vm_hwm_mib() if reset else None) or _common._maxrss_mib()
        out["ok"] = True
        return out
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--path", str(path),
           "--staff", ",".join(staff), "--sources", str(n_sources), "--targets", str(n_targets), "--sample", str(sample)]
    out = run_child(cmd, timeout=timeout, label=kind)
    out.setdefault("ok", True)
    return out


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return summarise_runs(runs)


def cross_check(st: dict[str, Any]) -> dict[str, Any]:
    """kocgraph vs networkx best route strength on the sampled targets (first successful run of each)."""
    def first(kind: str) -> list[Any] | None:
        runs = [r for r in st.get(kind, {}).get("runs", []) if r.get("ok")]
        return runs[0].get("sample_strength") if runs else None

    a, b = first("kocgraph"), first("networkx")
    if a is None or b is None:
        return {}
    if len(a) != len(b):
        return {"sample": len(a), "reachable_agree": False, "max_rel_diff": math.inf, "n_reachable": 0}
    agree = all((x is None) == (y is None) for x, y in zip(a, b, strict=True))
    diffs = [abs(x - y) / max(abs(y), 1e-300) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return {"sample": len(a), "n_reachable": len(diffs), "reachable_agree": agree,
            "max_rel_diff": max(diffs) if diffs else 0.0}


def ratios(st: dict[str, Any]) -> dict[str, float]:
    k = st.get("kocgraph", {}).get("median", {})
    x = st.get("networkx", {}).get("median", {})
    out: dict[str, float] = {}
    if k.get("routes_s") and "nx_dijkstra_s" in x:
        nx_total = x["nx_build_s"] + x["nx_dijkstra_s"]
        out["routes networkx/kocgraph"] = nx_total / k["routes_s"]
        out["routes networkx/kocgraph(k=1)"] = nx_total / k["routes_k1_s"]
        out["dijkstra only networkx/kocgraph(k=1)"] = x["nx_dijkstra_s"] / k["routes_k1_s"]
    return out


def run(sizes: list[str], *, repeats: int = 3, isolate: bool = True, kinds: tuple[str, ...] = KINDS,
        n_sources: int = N_SOURCES, n_targets: int = N_TARGETS, sample: int = SAMPLE,
        networkx_max_events: int = NETWORKX_MAX_EVENTS, cache_dir: str | None = None, say: Any = None) -> dict[str, Any]:
    """Every kind ``repeats`` times per size (kinds interleaved), medians, the cross-check and ratios."""
    say = say or (lambda _m: None)
    res: dict[str, Any] = {"environment": _common.environment(),
                           "params": {"repeats": repeats, "isolate": isolate, "kinds": list(kinds), "k": K,
                                      "n_sources": n_sources, "n_targets": n_targets, "sample": sample,
                                      "networkx_max_events": networkx_max_events, "seed": SEED}, "sizes": {}}
    for size in sizes:
        path, info = make_full_log(size, cache_dir=cache_dir)
        names = [k for k in kinds if k != "networkx" or info["n_events"] <= networkx_max_events]
        skipped = [k for k in kinds if k not in names]
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in names}
        for r in range(repeats):
            for k in names:
                say(f"[{size}] run {r + 1}/{repeats}: {k} ...")
                out = run_kind(k, str(path), info["staff"], n_sources=n_sources, n_targets=n_targets, sample=sample,
                               isolate=isolate)
                runs[k].append(out)
                say(f"[{size}]   {k}: " + (f"{out['total_s']:.2f} s, peak {out.get('peak_rss_mib') or 0:.0f} MiB"
                                           if out.get("ok") else f"FAILED {out.get('error')}"))
        st = {k: {"ok": bool(v) and all(x.get("ok") for x in v), "median": _median(v), "runs": v,
                  **({"errors": [x.get("error") for x in v if not x.get("ok")]} if not all(x.get("ok") for x in v) else {})}
              for k, v in runs.items()}
        res["sizes"][size] = {"log": {**{a: b for a, b in info.items() if a != "staff"}, "path": str(path)},
                              "kinds": st, "ratios": ratios(st), "checks": cross_check(st),
                              **({"skipped": {k: f"more than {networkx_max_events:,} events" for k in skipped}}
                                 if skipped else {})}
    return res


def check(res: dict[str, Any]) -> list[str]:
    """What is unsound in a result (never a time limit)."""
    problems: list[str] = []
    if not res.get("sizes"):
        return ["no size was run"]
    for size, s in res["sizes"].items():
        problems += kind_problems(size, s["kinds"])
        k = s["kinds"].get("kocgraph", {})
        if k.get("ok"):
            m = k["median"]
            if not (m.get("n_routes", 0) >= m.get("n_targets", 0) - m.get("n_unreachable", 0) > 0):
                problems.append(f"[{size}] kocgraph routed no target ({m.get('n_routes')} routes)")
            for key in ("attributed_plus_unattributed", "td_attributed_plus_unattributed"):
                if not math.isclose(m.get(key, math.nan), m.get("total_value", math.nan), rel_tol=1e-9, abs_tol=1e-6):
                    problems.append(f"[{size}] attribution does not conserve value: {key}={m.get(key)} vs "
                                    f"total {m.get('total_value')}")
            if m.get("k1_equals_rank1") != 1:
                problems.append(f"[{size}] routes with k=1 differ from rank 1 of k={K}")
        x = s["kinds"].get("networkx", {})
        if k.get("ok") and x.get("ok"):
            c = s.get("checks", {})
            if not c.get("sample"):
                problems.append(f"[{size}] no cross-check sample")
            elif not c.get("reachable_agree"):
                problems.append(f"[{size}] kocgraph and networkx disagree on which sampled targets are reachable")
            elif not c.get("max_rel_diff", math.inf) <= 1e-9:
                problems.append(f"[{size}] best route strength differs from networkx by {c.get('max_rel_diff')!r} (relative)")
            if k["median"].get("n_sources") != x["median"].get("n_sources"):
                problems.append(f"[{size}] the kinds drew different sources")
        for r, v in s.get("ratios", {}).items():
            if not (math.isfinite(v) and v > 0):
                problems.append(f"[{size}] ratio {r} = {v!r}")
    return problems


def format_table(res: dict[str, Any]) -> str:
    lines = []
    p = res["params"]
    for size, s in res["sizes"].items():
        k = s["kinds"].get("kocgraph", {}).get("median", {})
        x = s["kinds"].get("networkx", {}).get("median", {})
        lines.append(f"== {size}: {s['log']['n_events']:,} events, {k.get('n_users', x.get('n_users', 0)):,} users, "
                     f"{k.get('n_edges', x.get('n_edges', 0)):,} edges; {k.get('n_sources', p['n_sources'])} sources -> "
                     f"{k.get('n_targets', p['n_targets']):,} targets, k = {p['k']}; median of {p['repeats']} ==")
        head = f"{'step':<28} {'kocgraph s':>10}   {'networkx s':>10}"
        lines += [head, "-" * len(head)]

        def row(name: str, kv: float | None, xv: float | None = None) -> str:
            a = f"{kv:10.3f}" if kv is not None else " " * 10
            b = f"{xv:10.3f}" if xv is not None else ""
            return f"{name:<28} {a}   {b}".rstrip()

        lines.append(row("read_log (not in total)", k.get("read_log_s")))
        lines.append(row("tie_strength", k.get("tie_strength_s")))
        lines.append(row("routes k=3", k.get("routes_s"), (x["nx_build_s"] + x["nx_dijkstra_s"]) if x else None))
        lines.append(row("routes k=1", k.get("routes_k1_s")))
        if x:
            lines.append(row("  nx: build DiGraph", None, x["nx_build_s"]))
            lines.append(row("  nx: multi_source_dijkstra", None, x["nx_dijkstra_s"]))
        lines.append(row("cascades", k.get("cascades_s")))
        lines.append(row("attribution (linear)", k.get("attribution_s")))
        lines.append(row("attribution (time_decay)", k.get("attribution_time_decay_s")))
        if k:
            lines.append(f"kocgraph: {k['n_routes']:,} routes, {k['n_unreachable']:,} unreachable targets, mean best "
                         f"route {k['mean_hops']:.2f} hops; {k['n_conversions']:,} conversions worth {k['total_value']:,.0f}, "
                         f"{k['unattributed_value']:,.0f} unattributed; peak {k.get('peak_rss_mib') or 0:.0f} MiB")
        if x:
            lines.append(f"networkx: peak {x.get('peak_rss_mib') or 0:.0f} MiB")
        for kind, why in s.get("skipped", {}).items():
            lines.append(f"{kind}: skipped ({why})")
        c = s.get("checks")
        if c:
            lines.append(f"checks: best route strength on {c['sample']:,} sampled targets ({c['n_reachable']:,} reachable): "
                         f"max relative difference kocgraph vs networkx {c['max_rel_diff']:.1e}; reachable sets agree: "
                         f"{c['reachable_agree']}")
        if s["ratios"]:
            lines.append("ratios: " + ", ".join(f"{r} = {v:.1f}x" for r, v in s["ratios"].items()))
        lines.append("")
    return "\n".join(lines)


def smoke(cache_dir: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """One in-process run of both kinds at ~1e4 events (50 sources, 1,000 targets); (result, problems)."""
    res = run(["1e4"], repeats=1, isolate=False, n_sources=50, n_targets=1_000, sample=200, cache_dir=cache_dir)
    return res, check(res)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="one in-process run at ~1e4 events, 50 -> 1,000 users")
    ap.add_argument("--sizes", default="1e6", help=f"comma-separated size labels among {list(_common.SIZES)}")
    ap.add_argument("--repeats", type=int, default=3, help="runs per kind; medians are reported")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of kocgraph,networkx")
    ap.add_argument("--sources", type=int, default=N_SOURCES, help="route sources (staff + random forwarders)")
    ap.add_argument("--targets", type=int, default=N_TARGETS, help="route targets (random users)")
    ap.add_argument("--sample", type=int, default=SAMPLE, help="targets cross-checked against networkx")
    ap.add_argument("--networkx-max-events", type=int, default=NETWORKX_MAX_EVENTS)
    iso = ap.add_mutually_exclusive_group()
    iso.add_argument("--isolate", dest="isolate", action="store_true", default=None,
                     help="fresh process per kind and repeat (default for full runs)")
    iso.add_argument("--no-isolate", dest="isolate", action="store_false")
    ap.add_argument("--cache-dir", default=None, help="where generated logs are kept")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    ap.add_argument("--quiet", action="store_true")
    # child mode (internal)
    ap.add_argument("--child", choices=list(KINDS), help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--staff", default="", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        staff = [s for s in a.staff.split(",") if s]
        out = _call(a.child, a.path, staff, a.sources, a.targets, a.sample)
        out["peak_rss_mib"] = _common._vm_hwm_mib() or _common._maxrss_mib()
        print(json.dumps(out))
        return 0
    kinds = tuple(k.strip() for k in a.kinds.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"unknown kind(s) {bad}; known: {list(KINDS)}")
    say = None if a.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if a.smoke:
        res = run(["1e4"], repeats=1, isolate=bool(a.isolate), kinds=kinds, n_sources=50, n_targets=1_000,
                  sample=200, cache_dir=a.cache_dir, say=say)
    else:
        sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
        unknown = [s for s in sizes if s not in _common.SIZES]
        if unknown:
            ap.error(f"unknown size(s) {unknown}; known: {list(_common.SIZES)}")
        res = run(sizes, repeats=a.repeats, isolate=True if a.isolate is None else a.isolate, kinds=kinds,
                  n_sources=a.sources, n_targets=a.targets, sample=a.sample,
                  networkx_max_events=a.networkx_max_events, cache_dir=a.cache_dir, say=say)
    res["command"] = "python benchmarks/bench_insight.py " + " ".join(argv if argv is not None else sys.argv[1:])
    problems = check(res)
    res["problems"] = problems
    print(format_table(res))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=2, default=str))
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
