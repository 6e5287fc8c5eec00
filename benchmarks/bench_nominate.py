"""Nomination benchmark (issue 3): ``kocgraph nominate`` stage by stage, with raw igraph and networkx.

Usage (from the repository root)::

    python benchmarks/bench_nominate.py --smoke                        # ~1e4 events, one run, seconds
    python benchmarks/bench_nominate.py --sizes 1e6 --repeats 3        # 1M events, median of 3
    python benchmarks/bench_nominate.py --sizes 1e6,1e7 --out nominate.json

The logs are ``_common.make_log``'s cached CSVs (the same files as ``bench_ingest.py``). Per size and
repeat, three kinds of fresh process run on the same file:

``job``
    The whole job as a user runs it: the ``kocgraph nominate LOG --staff-ids ... --top 100 --out ...``
    console script (``python -m kocgraph.cli`` when the script is not installed). Wall time is taken
    around the process (interpreter start and imports included); the per-stage times and the peak
    resident memory (``VmHWM``) come from the run manifest the job writes.
``stages``
    ``kg.read_log`` once, then each kocgraph stage next to the raw igraph calls for the same metric,
    on the same edge arrays (``g.codes``, weights ``n_forwards``), alternating which goes first by
    repeat: influence PageRank (``Graph(n, reversed edges)`` + ``personalized_pagerank(weights)``),
    coreness (undirected simple ``Graph`` + ``coreness()``) and Leiden (``community_leiden(
    objective_function="modularity", weights, n_iterations=2)`` on the undirected weighted graph,
    reusing the coreness graph as kocgraph does). The results are cross-checked (PageRank max abs
    difference, coreness equal, modularities).
``networkx``
    At most ``--networkx-max-events`` events (1e6 by default): ``nx.pagerank`` on the reversed
    weighted DiGraph, ``nx.core_number`` and ``nx.community.louvain_communities`` on the undirected
    weighted graph; PageRank and core_number include their graph build.

Both sides call the stage functions of ``kocgraph bench`` (``kocgraph.bench.pipeline``: ``kg_*``,
``ig_*``, ``nx_*``), so the command and this script time the same code.

Ratios are ``kocgraph stage / raw igraph`` on median times, where the raw side includes the graph
build the kocgraph stage also does (directed for PageRank, undirected for coreness; Leiden reuses
it on both sides), and ``networkx / kocgraph``. Exits 1 when a stage fails or a figure is unsound,
never because something is slow.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

from kocgraph.bench._util import kind_problems, run_child, summarise_runs

STAFF = "staff_000,staff_001,staff_002,staff_003,staff_004"
NETWORKX_MAX_EVENTS = 2_000_000
KINDS = ("job", "stages", "networkx")
#: kocgraph stage -> the raw igraph timings it is compared with (the raw side includes its graph build)
PAIRS = {
    "pagerank": ("ig_pagerank",),
    "coreness": ("ig_coreness",),
    "communities": ("ig_leiden",),
}
#: kocgraph stage -> the networkx timings it is compared with (each includes its graph build)
NX_PAIRS = {"pagerank": ("nx_pagerank",), "coreness": ("nx_core_number",), "communities": ("nx_louvain",)}


def _hwm() -> float | None:
    return _common._vm_hwm_mib()


# ------------------------------------------------------------------------------------------------ kinds
def kind_job(path: str, workdir: str) -> dict[str, Any]:
    """The console script, end to end, in its own process; stage times and VmHWM from its manifest."""
    exe = shutil.which("kocgraph")
    cmd = ([exe] if exe else [sys.executable, "-m", "kocgraph.cli"]) + [
        "nominate", str(path), "--staff-ids", STAFF, "--top", "100", "--out", str(Path(workdir) / "kocs.csv"),
        "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"kocgraph nominate exited {proc.returncode}: {proc.stderr.strip()[-400:]}")
    man = json.loads((Path(workdir) / "kocs.csv.manifest.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {f"{k}_s": v for k, v in man["timings_s"].items()}
    out.update(total_s=wall, job_wall_s=man["wall_s"], peak_rss_mib=man["peak_rss_mib"],
               n_rows=man["rows"]["rows_read"], n_events=man["graph"]["n_events"], n_users=man["graph"]["n_users"],
               n_edges=man["graph"]["n_edges"], command=" ".join(cmd[:1] + cmd[1:]).replace(str(workdir), "$TMP"))
    return out


def _timed(fn: Any, ctx: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    figs = fn(ctx) or {}
    return time.perf_counter() - t0, figs


def kind_stages(path: str, first: str = "kocgraph") -> dict[str, Any]:
    """kocgraph stages and the raw igraph calls for the same metrics, on the same arrays, same process.

    Both sides are the stage functions of ``kocgraph bench`` (:mod:`kocgraph.bench.pipeline`); the raw
    igraph PageRank and coreness include their graph build, Leiden reuses the coreness graph.
    """
    from kocgraph.algorithms.communities import symmetrize
    from kocgraph.bench import pipeline as P

    staff = STAFF.split(",")
    params = P.BenchParams()
    kg_ctx: dict[str, Any] = {"path": str(path), "staff": staff, "params": params}
    T: dict[str, Any] = {}
    T["read_log_s"], _ = _timed(P.kg_read, kg_ctx)
    T["cascades_s"], _ = _timed(P.kg_cascades, kg_ctx)
    g = kg_ctx["g"]
    ig_ctx: dict[str, Any] = {"path": str(path), "staff": staff, "params": params, "handoff": P.handoff(kg_ctx)}

    def run_raw() -> None:
        T["ig_pagerank_s"], _ = _timed(P.ig_pagerank, ig_ctx)
        T["ig_coreness_s"], _ = _timed(P.ig_coreness, ig_ctx)
        T["ig_leiden_s"], figs = _timed(P.ig_communities, ig_ctx)
        T["ig_modularity"] = figs["modularity"]

    def run_kg() -> None:
        for name, fn in (("pagerank", P.kg_pagerank), ("coreness", P.kg_coreness), ("communities", P.kg_communities)):
            T[f"{name}_s"], _ = _timed(fn, kg_ctx)

    for side in ((run_kg, run_raw) if first == "kocgraph" else (run_raw, run_kg)):
        side()
    t = time.perf_counter()
    P.kg_kocs(kg_ctx)
    top = __import__("kocgraph").get.kocs(g, n=100)
    T["kocs_s"] = time.perf_counter() - t
    # cross-checks: same metrics on the same graph
    n = g.n_users
    h = ig_ctx["handoff"]
    u, _v, _w = symmetrize(h["src"], h["dst"], h["w"], n)
    T["pagerank_max_abs_diff"] = float(np.abs(g.nodes["pagerank"].to_numpy() - ig_ctx["pr"]).max()) if n else 0.0
    T["coreness_equal"] = int(np.array_equal(g.nodes["coreness"].to_numpy(np.int64), ig_ctx["core"]))
    T["kg_modularity"] = float(g.meta["community"]["modularity"])
    T["n_undirected_edges"] = int(u.shape[0])
    T["n_events"], T["n_users"], T["n_edges"], T["n_listed"] = int(g.n_events), int(n), int(g.n_edges), int(len(top))
    T["total_s"] = sum(T[f"{k}_s"] for k in ("read_log", "cascades", "pagerank", "coreness", "communities", "kocs"))
    return T


def kind_networkx(path: str) -> dict[str, Any]:
    """networkx on the same edge arrays: pagerank (reversed, weighted), core_number, louvain; each stage
    includes its graph build (Louvain reuses the core_number graph). The stage functions of
    ``kocgraph bench --peers``."""
    import kocgraph as kg
    from kocgraph.bench import pipeline as P

    g = kg.read_log(path)
    c = g.codes
    h = {"n": np.asarray(g.n_users), "src": np.asarray(c.edge_src, dtype=np.int64),
         "dst": np.asarray(c.edge_tgt, dtype=np.int64), "w": g.edges["n_forwards"].to_numpy(np.float64)}
    ctx: dict[str, Any] = {"path": str(path), "staff": [], "params": P.BenchParams(), "handoff": h}
    T: dict[str, Any] = {}
    T["nx_pagerank_s"], _ = _timed(P.nx_pagerank, ctx)
    T["nx_core_number_s"], _ = _timed(P.nx_coreness, ctx)
    T["nx_louvain_s"], figs = _timed(P.nx_communities, ctx)
    T["nx_modularity"] = figs["modularity"]
    T["total_s"] = T["nx_pagerank_s"] + T["nx_core_number_s"] + T["nx_louvain_s"]
    return T


# ------------------------------------------------------------------------------------------------ runner
def _call(kind: str, path: str, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kg-bench-nominate-") as wd:
        if kind == "job":
            return kind_job(path, wd)
        if kind == "stages":
            return kind_stages(path, first="kocgraph" if repeat % 2 == 0 else "igraph")
        return kind_networkx(path)


def run_kind(kind: str, path: str, repeat: int, *, isolate: bool, timeout: float | None = None) -> dict[str, Any]:
    """One kind, in this process (peak = since reset) or a fresh one (peak = the child's VmHWM)."""
    if kind == "job":  # always its own process
        try:
            out = _call(kind, path, repeat)
        except Exception as err:  # noqa: BLE001
            return {"ok": False, "error": f"{type(err).__name__}: {err}"}
        out["ok"] = True
        return out
    if not isolate:
        reset = _common._reset_hwm()
        try:
            out = _call(kind, path, repeat)
        except Exception as err:  # noqa: BLE001
            return {"ok": False, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        out["peak_rss_mib"] = _hwm() if reset else _common._maxrss_mib()
        out["ok"] = True
        return out
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--path", str(path), "--repeat", str(repeat)]
    out = run_child(cmd, timeout=timeout, label=kind)
    out.setdefault("ok", True)
    return out


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return summarise_runs(runs, max_keys=("peak_rss_mib", "pagerank_max_abs_diff"), min_keys=("coreness_equal",))


def ratios(st: dict[str, Any]) -> dict[str, float]:
    """kocgraph/raw igraph per stage (raw includes its graph build) and networkx/kocgraph."""
    out: dict[str, float] = {}
    s = st.get("stages", {}).get("median", {})
    for stage, parts in PAIRS.items():
        if f"{stage}_s" in s and all(f"{p}_s" in s for p in parts):
            out[f"{stage} kocgraph/igraph"] = s[f"{stage}_s"] / sum(s[f"{p}_s"] for p in parts)
    x = st.get("networkx", {}).get("median", {})
    for stage, nxk in NX_PAIRS.items():
        if f"{stage}_s" in s and all(f"{p}_s" in x for p in nxk):
            out[f"{stage} networkx/kocgraph"] = sum(x[f"{p}_s"] for p in nxk) / s[f"{stage}_s"]
    return out


def run(sizes: list[str], *, repeats: int = 3, isolate: bool = True, kinds: tuple[str, ...] = KINDS,
        networkx_max_events: int = NETWORKX_MAX_EVENTS, cache_dir: str | None = None, say: Any = None) -> dict[str, Any]:
    say = say or (lambda _m: None)
    res: dict[str, Any] = {"environment": _common.environment(),
                           "params": {"repeats": repeats, "isolate": isolate, "kinds": list(kinds), "staff": STAFF,
                                      "networkx_max_events": networkx_max_events}, "sizes": {}}
    for size in sizes:
        path, info = _common.make_log(size, cache_dir=cache_dir)
        names = [k for k in kinds if k != "networkx" or info["n_events"] <= networkx_max_events]
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in names}
        for r in range(repeats):
            for k in names:
                say(f"[{size}] run {r + 1}/{repeats}: {k} ...")
                out = run_kind(k, str(path), r, isolate=isolate)
                runs[k].append(out)
                say(f"[{size}]   {k}: " + (f"{out['total_s']:.2f} s, peak {out.get('peak_rss_mib', float('nan')):.0f} MiB"
                                           if out.get("ok") else f"FAILED {out.get('error')}"))
        st = {k: {"ok": all(x.get("ok") for x in v), "median": _median(v), "runs": v,
                  **({"errors": [x["error"] for x in v if not x.get("ok")]} if not all(x.get("ok") for x in v) else {})}
              for k, v in runs.items()}
        res["sizes"][size] = {"log": {**info, "path": str(path)}, "kinds": st, "ratios": ratios(st)}
    return res


def check(res: dict[str, Any]) -> list[str]:
    """What is unsound in a result (never a time limit)."""
    problems: list[str] = []
    if not res.get("sizes"):
        return ["no size was run"]
    for size, s in res["sizes"].items():
        problems += kind_problems(size, s["kinds"], zero_ok=True)
        m = s["kinds"].get("stages", {}).get("median", {})
        if m:
            if m.get("coreness_equal") != 1:
                problems.append(f"[{size}] kocgraph and igraph coreness differ")
            if not m.get("pagerank_max_abs_diff", 1.0) < 1e-6:
                problems.append(f"[{size}] kocgraph and igraph PageRank differ by {m.get('pagerank_max_abs_diff')}")
        j = s["kinds"].get("job", {}).get("median", {})
        if j and m and j.get("n_events") != m.get("n_events"):
            problems.append(f"[{size}] the job and the stages read different logs")
        for r, v in s["ratios"].items():
            if not (np.isfinite(v) and v > 0):
                problems.append(f"[{size}] ratio {r} = {v!r}")
    return problems


def format_table(res: dict[str, Any]) -> str:
    lines = []
    for size, s in res["sizes"].items():
        k = s["kinds"]
        j, m, x = (k.get(n, {}).get("median", {}) for n in ("job", "stages", "networkx"))
        n_ev = s["log"]["n_events"]
        lines.append(f"== {size}: {n_ev:,} events, {m.get('n_users', j.get('n_users', 0)):,} users, "
                     f"{m.get('n_edges', j.get('n_edges', 0)):,} edges; median of {res['params']['repeats']} ==")
        head = f"{'stage':<12} {'job s':>8} {'kocgraph s':>10} {'raw igraph s':>13} {'ratio':>6} {'networkx s':>11} {'nx/kg':>7}"
        lines += [head, "-" * len(head)]
        raw_keys = dict(PAIRS)
        nx_keys = NX_PAIRS
        for stage in ("read_log", "cascades", "pagerank", "coreness", "communities", "kocs", "write", "hash_input"):
            js = j.get(f"{stage}_s")
            ks = m.get(f"{stage}_s")
            rs = sum(m[f"{p}_s"] for p in raw_keys[stage]) if stage in raw_keys and all(f"{p}_s" in m for p in raw_keys[stage]) else None
            xs = sum(x[f"{p}_s"] for p in nx_keys[stage]) if stage in nx_keys and x and all(f"{p}_s" in x for p in nx_keys[stage]) else None

            def f(v: float | None, w: int, fmt: str = ".2f", suffix: str = "") -> str:
                return f"{v:{fmt}}{suffix}".rjust(w) if v is not None else " " * w

            ratio = ks / rs if ks and rs else None
            nxr = xs / ks if xs and ks else None
            lines.append(f"{stage:<12} {f(js, 8)} {f(ks, 10)} {f(rs, 13)} {f(ratio, 6, '.2f', 'x')} "
                         f"{f(xs, 11)} {f(nxr, 7, '.1f', 'x')}".rstrip())
        if j:
            lines.append(f"whole job (console script, process wall incl. start-up): {j['total_s']:.2f} s "
                         f"(in-job {j['job_wall_s']:.2f} s), peak memory VmHWM {j['peak_rss_mib']:.0f} MiB")
        if m:
            lines.append(f"raw igraph detail: build + pagerank {m['ig_pagerank_s']:.2f}, build + coreness "
                         f"{m['ig_coreness_s']:.2f}, leiden {m['ig_leiden_s']:.2f} s; stages-process peak "
                         f"{m.get('peak_rss_mib', 0):.0f} MiB")
            lines.append(f"checks: PageRank max |kg - igraph| = {m['pagerank_max_abs_diff']:.1e}; coreness equal: "
                         f"{bool(m['coreness_equal'])}; modularity kocgraph {m['kg_modularity']:.4f}, raw igraph "
                         f"{m['ig_modularity']:.4f}" + (f", networkx louvain {x['nx_modularity']:.4f}" if x else ""))
        if x:
            lines.append(f"networkx detail: build + pagerank {x['nx_pagerank_s']:.2f}, build + core_number "
                         f"{x['nx_core_number_s']:.2f}, louvain {x['nx_louvain_s']:.2f} s; peak "
                         f"{x.get('peak_rss_mib', 0):.0f} MiB")
        if s["ratios"]:
            lines.append("ratios: " + ", ".join(f"{r} = {v:.2f}x" for r, v in s["ratios"].items()))
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="one run of everything at ~1e4 events")
    ap.add_argument("--sizes", default="1e6", help=f"comma-separated size labels among {list(_common.SIZES)}")
    ap.add_argument("--repeats", type=int, default=3, help="runs per kind; medians are reported")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of job,stages,networkx")
    ap.add_argument("--networkx-max-events", type=int, default=NETWORKX_MAX_EVENTS)
    iso = ap.add_mutually_exclusive_group()
    iso.add_argument("--isolate", dest="isolate", action="store_true", default=None,
                     help="fresh process per kind (default for full runs)")
    iso.add_argument("--no-isolate", dest="isolate", action="store_false")
    ap.add_argument("--cache-dir", default=None, help="where generated CSV logs are kept")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    ap.add_argument("--quiet", action="store_true")
    # child mode (internal)
    ap.add_argument("--child", choices=["stages", "networkx"], help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        out = _call(a.child, a.path, a.repeat)
        out["peak_rss_mib"] = _hwm() or _common._maxrss_mib()
        print(json.dumps(out))
        return 0
    kinds = tuple(k.strip() for k in a.kinds.split(",") if k.strip())
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error(f"unknown kind(s) {bad}; known: {list(KINDS)}")
    say = None if a.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if a.smoke:
        sizes, repeats = ["1e4"], 1
        isolate = bool(a.isolate) if a.isolate is not None else False
    else:
        sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
        unknown = [s for s in sizes if s not in _common.SIZES]
        if unknown:
            ap.error(f"unknown size(s) {unknown}; known: {list(_common.SIZES)}")
        repeats, isolate = a.repeats, True if a.isolate is None else a.isolate
    res = run(sizes, repeats=repeats, isolate=isolate, kinds=kinds, networkx_max_events=a.networkx_max_events,
              cache_dir=a.cache_dir, say=say)
    res["command"] = "python benchmarks/bench_nominate.py " + " ".join(argv if argv is not None else sys.argv[1:])
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
