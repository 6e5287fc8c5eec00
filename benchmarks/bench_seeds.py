"""Seeding benchmark (issues 5 and 15): ``kg.tl.seeds`` (OPIM-C) at k = 50, epsilon = 0.1, against the
IMM kernel it replaced, against CELF Monte Carlo and against other simulators' throughput.

Usage (from the repository root)::

    python benchmarks/bench_seeds.py --smoke                       # ~6.5k edges, every stage, seconds
    python benchmarks/bench_seeds.py                               # 100k and 1M edges, ~10 min
    python benchmarks/bench_seeds.py --sizes 1M --stages seeds,seeds_staff,imm,imm_staff --out seeds.json

Graphs are ``kg.datasets.synthetic(n_users, n_items, rng=0)`` share graphs (heavy-tailed, staff-started
cascades) with the default tie strengths (weighted cascade). Every stage runs in a fresh Python process
(``--no-isolate`` to run in this one) that builds the graph, resets the resident-memory high-water mark
(``/proc/self/clear_refs``), runs, and reports ``VmHWM``: the peak *during the stage*, the graph
included. The process peak (graph generation included) is reported too.

Stages:

``seeds``
    ``kg.tl.seeds(g, k=50, epsilon=0.1, n_check=0)`` (OPIM-C): time, peak memory, RR sets, the
    estimated spread, the certified ratio.
``seeds_staff``
    The same with ``exclude_reached_by=staff`` (reach beyond the staff accounts' own): the hard case,
    since the extra reach is a small share of the users.
``imm``, ``imm_staff``
    The method ``kg.tl.seeds`` used before (issue 15): the IMM kernel
    (:func:`kocgraph.algorithms.imm.imm`) on the same tie strengths, timed from the same point
    (``edge_probabilities`` included), same k, epsilon, rng.
``compare``
    Runs after the stages above, when both methods of a pair ran: each method's seeds are simulated in
    the same ``--compare-sims`` (300) fresh random worlds (``simulate_ic_prefixes``, paired): the
    spread (beyond the staff for the staff pair) with its 95% interval, and the paired difference
    OPIM-C minus IMM with its standard error. Ratios IMM / OPIM-C of time, memory and RR sets, and
    staff / plain time, go in the table.
``celf``
    Greedy Monte Carlo with CELF lazy evaluation (Leskovec et al. 2007) on ``simulate_ic`` with paired
    worlds: ``--celf-k`` seeds (10), ``--celf-sims`` runs per estimate (100), stopped after
    ``--celf-max-s`` seconds (600). ``kg.tl.seeds`` with the same k runs alongside, and both seed sets
    are then simulated in the same 500 fresh worlds, so the spreads compare like for like. By default
    only at the sizes up to 100k edges.
``sim``
    Simulation throughput (runs/s) with the top-50 seeds of ``kg.tl.seeds``: kocgraph's vectorized
    ``simulate_ic`` (independent coins and paired worlds), ``simulate_lt``, the plain-Python reference
    ``simulate_ic_reference``, and CyNetDiff's C ``IndependentCascadeModel`` when installed
    (``pip install cynetdiff``). Means must agree (checked).

Exits 1 when a stage fails or a figure is unsound (a failed stage, a non-positive time, simulators that
disagree, seeds that spread well below the reference's), never because something is slow.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import os
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark the checked-out kocgraph
    sys.path.insert(0, str(ROOT))

#: size label -> synthetic(n_users, n_items) parameters; edges measured with rng=0 on kocgraph 0.1.0
SIZES: dict[str, dict[str, int]] = {
    "smoke": {"n_users": 10_000, "n_items": 195},      # 6,561 edges, 4,291 users
    "100k": {"n_users": 180_000, "n_items": 5_000},    # 104,982 edges, 70,764 users
    "1M": {"n_users": 550_000, "n_items": 33_000},     # 989,140 edges, 447,666 users
}
STAGES = ("seeds", "seeds_staff", "imm", "imm_staff", "compare", "celf", "sim")
#: (new, old) stage pairs that ``compare`` simulates side by side
PAIRS = {"plain": ("seeds", "imm"), "staff": ("seeds_staff", "imm_staff")}
#: CELF runs by default only up to this many edges (its first pass simulates every user)
CELF_MAX_EDGES = 200_000


# ------------------------------------------------------------------------------------------- helpers
from kocgraph.bench._util import reset_hwm as _reset_hwm  # noqa: E402
from kocgraph.bench._util import run_child  # noqa: E402
from kocgraph.bench._util import vm_hwm_mib as _vm_hwm_mib  # noqa: E402


def build(size: str) -> tuple[Any, dict[str, Any]]:
    """The synthetic graph of a size label, with tie strengths; returns ``(g, info)``."""
    import kocgraph as kg

    p = SIZES[size]
    t0 = time.perf_counter()
    g = kg.datasets.synthetic(p["n_users"], p["n_items"], rng=0)
    kg.tl.tie_strength(g)
    info = {"n_users": int(g.n_users), "n_edges": int(len(g.edges)), "n_events": int(g.n_events),
            "build_s": time.perf_counter() - t0}
    return g, info


def celf(indptr: np.ndarray, indices: np.ndarray, p: np.ndarray, k: int, *, n_sims: int, worlds: int,
         max_s: float) -> dict[str, Any]:
    """Greedy Monte Carlo with CELF lazy evaluation; every estimate runs in the same ``n_sims`` worlds."""
    from kocgraph.algorithms.spread import simulate_ic

    n = indptr.shape[0] - 1
    t0 = time.perf_counter()

    def sigma(S: list[int]) -> float:
        return float(simulate_ic(indptr, indices, p, np.asarray(S, np.int64), n_sims=n_sims, worlds=worlds)[0].mean())

    heap: list[tuple[float, int, int]] = []
    evals = 0
    for v in range(n):  # first pass: every user alone
        heap.append((-sigma([v]), v, 0))
        evals += 1
        if time.perf_counter() - t0 > max_s:
            return {"seeds": [], "evals": evals, "complete": False, "k_reached": 0, "celf_s": time.perf_counter() - t0}
    heapq.heapify(heap)
    seeds: list[int] = []
    cur = 0.0
    while len(seeds) < k and heap and time.perf_counter() - t0 <= max_s:
        g, v, stamp = heapq.heappop(heap)
        if stamp == len(seeds):
            seeds.append(v)
            cur += -g
        else:
            heapq.heappush(heap, (-(sigma(seeds + [v]) - cur), v, len(seeds)))
            evals += 1
    return {"seeds": seeds, "evals": evals, "complete": len(seeds) == k, "k_reached": len(seeds),
            "celf_s": time.perf_counter() - t0, "celf_estimate": cur}


# ------------------------------------------------------------------------------------------- stages
def stage_seeds(g: Any, *, k: int = 50, epsilon: float = 0.1, staff: bool = False, rng: int = 0,
                **_: Any) -> dict[str, Any]:
    import kocgraph as kg

    excl = g.meta["synthetic"]["staff"] if staff else None
    t0 = time.perf_counter()
    kg.tl.seeds(g, k=k, epsilon=epsilon, exclude_reached_by=excl, n_check=0, rng=rng)
    dt = time.perf_counter() - t0
    m = g.meta["seeds"]
    return {"total_s": dt, "n_rr_sets": int(m["n_rr_sets"]), "theta": int(m["theta"]),
            "capped": bool(m["theta_capped"]), "n_seeds": len(m["marginal_gains"]),
            "spread_est": float(np.sum(m["marginal_gains"])), "bound": m["bound"],
            "certified_ratio": m["certified_ratio"], "method": m["method"],
            "seeds": g.tables["seeds"]["user"].astype(int).tolist()}


def stage_seeds_staff(g: Any, **kw: Any) -> dict[str, Any]:
    return stage_seeds(g, staff=True, **kw)


def stage_imm(g: Any, *, k: int = 50, epsilon: float = 0.1, staff: bool = False, rng: int = 0,
              **_: Any) -> dict[str, Any]:
    """The seeding ``kg.tl.seeds`` ran before issue 15: the IMM kernel, timed from the same point."""
    from kocgraph.algorithms.imm import imm
    from kocgraph.tl._grow import _codes, edge_probabilities

    t0 = time.perf_counter()
    excl = _codes(g, g.meta["synthetic"]["staff"], "staff") if staff else np.empty(0, np.int64)
    indptr, indices, p, _ = edge_probabilities(g)
    r = imm(indptr, indices, p, k, epsilon=epsilon, rng=np.random.default_rng(rng), exclude=excl)
    dt = time.perf_counter() - t0
    return {"total_s": dt, "n_rr_sets": int(r["n_rr_sets"]), "theta": int(r["theta"]), "capped": bool(r["capped"]),
            "n_seeds": int(r["seeds"].size), "spread_est": float(np.sum(r["gains"])), "bound": r["bound"],
            "method": "IMM", "seeds": r["seeds"].astype(int).tolist()}


def stage_imm_staff(g: Any, **kw: Any) -> dict[str, Any]:
    return stage_imm(g, staff=True, **kw)


def stage_compare(g: Any, *, seed_sets: dict[str, dict[str, list[int]]] | None = None, compare_sims: int = 300,
                  **_: Any) -> dict[str, Any]:
    """Each pair's seed sets in the same fresh worlds: spread (beyond the staff for ``staff``), paired."""
    from kocgraph.algorithms.spread import simulate_ic_prefixes, spread_ci
    from kocgraph.tl._grow import _codes, edge_probabilities

    indptr, indices, p, _ = edge_probabilities(g)
    staff = _codes(g, g.meta["synthetic"]["staff"], "staff")
    out: dict[str, Any] = {"compare_sims": compare_sims}
    t0 = time.perf_counter()
    for pair, sets in (seed_sets or {}).items():
        base = staff if pair == "staff" else np.empty(0, np.int64)
        extra = {}
        for who in ("new", "old"):
            c, _ = simulate_ic_prefixes(indptr, indices, p, [base, np.asarray(sets[who], np.int64)],
                                        n_sims=compare_sims, worlds=2024)
            extra[who] = (c[:, 1] - c[:, 0]).astype(float)
            m, lo, hi = spread_ci(extra[who])
            out.update({f"{pair}_{who}_spread": m, f"{pair}_{who}_half": (hi - lo) / 2})
        d = extra["new"] - extra["old"]
        out.update({f"{pair}_diff": float(d.mean()), f"{pair}_diff_se": float(d.std(ddof=1) / math.sqrt(d.size)),
                    f"{pair}_same_seeds": len(set(sets["new"]) & set(sets["old"]))})
    out["total_s"] = time.perf_counter() - t0
    return out


def stage_celf(g: Any, *, celf_k: int = 10, celf_sims: int = 100, celf_max_s: float = 600.0,
               **_: Any) -> dict[str, Any]:
    import kocgraph as kg
    from kocgraph.algorithms.spread import simulate_ic, spread_ci
    from kocgraph.tl._grow import edge_probabilities

    indptr, indices, p, _ = edge_probabilities(g)
    t0 = time.perf_counter()
    kg.tl.seeds(g, k=celf_k, epsilon=0.1, n_check=0, rng=0)  # OPIM-C since issue 15; keys keep "imm"
    imm_s = time.perf_counter() - t0
    imm_seeds = g.tables["seeds"]["user"].to_numpy()
    c = celf(indptr, indices, p, celf_k, n_sims=celf_sims, worlds=17, max_s=celf_max_s)
    out = {"total_s": c["celf_s"], "imm_s": imm_s, "celf_k": celf_k, "celf_sims": celf_sims,
           "celf_complete": c["complete"], "celf_k_reached": c["k_reached"], "celf_evals": c["evals"]}
    if c["seeds"]:
        a, _ = simulate_ic(indptr, indices, p, imm_seeds, n_sims=500, worlds=2024)
        b, _ = simulate_ic(indptr, indices, p, np.asarray(c["seeds"]), n_sims=500, worlds=2024)
        d = a.astype(float) - b
        out.update({"imm_spread": spread_ci(a)[0], "celf_spread": spread_ci(b)[0],
                    "imm_minus_celf": float(d.mean()), "imm_minus_celf_se": float(d.std(ddof=1) / math.sqrt(d.size)),
                    "same_seeds": int(len(set(imm_seeds.tolist()) & set(c["seeds"])))})
    return out


def stage_sim(g: Any, *, sim_runs: int = 200, ref_max_s: float = 30.0, **_: Any) -> dict[str, Any]:
    import kocgraph as kg
    from kocgraph.algorithms.spread import simulate_ic, simulate_ic_reference, simulate_lt, spread_ci
    from kocgraph.tl._grow import edge_probabilities

    indptr, indices, p, _ = edge_probabilities(g)
    kg.tl.seeds(g, k=50, epsilon=0.1, n_check=0, rng=0)
    S = g.tables["seeds"]["user"].to_numpy()
    out: dict[str, Any] = {"n_seeds": int(S.size), "sim_runs": sim_runs}
    t0 = time.perf_counter()
    s, _ = simulate_ic(indptr, indices, p, S, n_sims=sim_runs, rng=0)
    out["kocgraph_ic_s"] = time.perf_counter() - t0
    out["kocgraph_ic_runs_per_s"] = sim_runs / out["kocgraph_ic_s"]
    m, lo, hi = spread_ci(s)
    out.update({"kocgraph_mean": m, "kocgraph_half": (hi - lo) / 2})
    t0 = time.perf_counter()
    s2, _ = simulate_ic(indptr, indices, p, S, n_sims=sim_runs, worlds=1)
    out["kocgraph_worlds_s"] = time.perf_counter() - t0
    out["kocgraph_worlds_runs_per_s"] = sim_runs / out["kocgraph_worlds_s"]
    out["kocgraph_worlds_mean"] = float(s2.mean())
    tgt = g.codes.edge_tgt
    w = p / np.maximum(np.bincount(tgt, weights=p, minlength=g.n_users)[tgt], 1.0)
    t0 = time.perf_counter()
    simulate_lt(indptr, indices, w, S, n_sims=sim_runs, rng=0)
    out["kocgraph_lt_s"] = time.perf_counter() - t0
    out["kocgraph_lt_runs_per_s"] = sim_runs / out["kocgraph_lt_s"]
    # plain Python: as many single runs as fit in ref_max_s (at least 2)
    runs, t0 = [], time.perf_counter()
    while len(runs) < sim_runs and (len(runs) < 2 or time.perf_counter() - t0 < ref_max_s):
        runs.append(int(simulate_ic_reference(indptr, indices, p, S, n_sims=1, rng=len(runs))[0]))
    out["python_ref_s"] = time.perf_counter() - t0
    out["python_ref_runs"] = len(runs)
    out["python_ref_runs_per_s"] = len(runs) / out["python_ref_s"]
    out["python_ref_mean"] = float(np.mean(runs))
    try:
        import array

        from cynetdiff.models import IndependentCascadeModel
    except ImportError as exc:
        out["cynetdiff"] = f"not installed ({exc}); pip install cynetdiff"
    else:
        import importlib.metadata as md

        out["cynetdiff"] = md.version("cynetdiff")
        t0 = time.perf_counter()
        model = IndependentCascadeModel(array.array("I", indptr[:-1].astype(np.uint32).tobytes()),
                                        array.array("I", indices.astype(np.uint32).tobytes()),
                                        activation_probs=array.array("f", p.astype(np.float32).tobytes()), rng=0)
        out["cynetdiff_build_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        (mean,) = model.compute_marginal_gains(S.tolist(), [], sim_runs)
        out["cynetdiff_s"] = time.perf_counter() - t0
        out["cynetdiff_runs_per_s"] = sim_runs / out["cynetdiff_s"]
        out["cynetdiff_mean"] = float(mean)
    out["total_s"] = out["kocgraph_ic_s"]
    return out


STAGE_FUNCS = {"seeds": stage_seeds, "seeds_staff": stage_seeds_staff, "imm": stage_imm, "imm_staff": stage_imm_staff,
               "compare": stage_compare, "celf": stage_celf, "sim": stage_sim}


def run_stage(name: str, size: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Build the graph, reset the memory high-water mark, run the stage; a flat dict of figures."""
    try:
        g, info = build(size)
        build_hwm = _vm_hwm_mib()
        reset = _reset_hwm()
        out = STAGE_FUNCS[name](g, **opts)
        out.update(info)
        out["ok"] = True
        out["peak_rss_mib"] = _vm_hwm_mib() if reset else None
        out["process_peak_mib"] = max(build_hwm or 0.0, out["peak_rss_mib"] or 0.0)
    except Exception as exc:  # noqa: BLE001 - a failed stage is reported, not raised
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    return out


def run_isolated(name: str, size: str, opts: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--size", size, "--opts", json.dumps(opts)]
    return run_child(cmd, timeout=timeout if timeout is not None else 24 * 3600.0, label=f"stage {name}", env=env)


# ------------------------------------------------------------------------------------------- runner
def run(sizes: list[str], stages: list[str], *, repeats: int = 1, isolate: bool = True,
        opts: dict[str, Any] | None = None, quiet: bool = False) -> dict[str, Any]:
    opts = dict(opts or {})
    res: dict[str, Any] = {"params": {"sizes": sizes, "stages": stages, "repeats": repeats, "isolate": isolate,
                                      **opts}, "environment": environment(), "sizes": {}}
    for size in sizes:
        res["sizes"][size] = {}
        for name in stages:
            runs = []
            sopts = dict(opts)
            if name == "compare":
                sopts["seed_sets"] = _seed_sets(res["sizes"][size])
                if not sopts["seed_sets"]:
                    continue  # no pair of methods ran at this size
            for _ in range(1 if name == "compare" else repeats):
                r = run_isolated(name, size, sopts) if isolate else run_stage(name, size, sopts)
                runs.append(r)
                if not quiet:
                    print(f"  [{size}] {name}: " + (f"{r.get('total_s', float('nan')):.2f} s" if r.get("ok")
                                                      else f"FAILED {r.get('error')}"), file=sys.stderr, flush=True)
            res["sizes"][size][name] = _summarize(runs)
    return res


def _seed_sets(done: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    """``{pair: {"new": seeds, "old": seeds}}`` for every pair of :data:`PAIRS` whose stages both ran."""
    out = {}
    for pair, (new, old) in PAIRS.items():
        if done.get(new, {}).get("ok") and done.get(old, {}).get("ok"):
            out[pair] = {"new": done[new]["median"]["seeds"], "old": done[old]["median"]["seeds"]}
    return out


def _summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if r.get("ok")]
    med: dict[str, Any] = {}
    if good:
        for k, v in good[0].items():
            if isinstance(v, bool) or k in ("ok", "traceback"):
                med[k] = v
            elif isinstance(v, (int, float)):
                vals = [r[k] for r in good if isinstance(r.get(k), (int, float))]
                med[k] = (statistics.median(vals) if k.endswith("_s") or k.endswith("_per_s")
                          else max(vals) if "peak" in k else vals[0])
            else:
                med[k] = v
    out = {"ok": len(good) == len(runs), "n_runs": len(runs), "median": med}
    errs = [r.get("error") for r in runs if not r.get("ok")]
    if errs:
        out["errors"] = errs
    return out


def check(res: dict[str, Any]) -> list[str]:
    """What is unsound in a result (empty = sound). Never a wall-clock limit."""
    problems: list[str] = []
    if not res.get("sizes"):
        return ["no size was run"]
    for size, st in res["sizes"].items():
        for name, s in st.items():
            if not s["ok"]:
                problems.append(f"[{size}] stage {name!r} failed: {s.get('errors')}")
                continue
            m = s["median"]
            for k, v in m.items():
                if k.endswith("_s") and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                    problems.append(f"[{size}] {name}: {k}={v!r} is not a positive time")
            if name in ("seeds", "seeds_staff", "imm", "imm_staff") and not (m.get("n_rr_sets", 0) > 0
                                                                          and m.get("n_seeds", 0) > 0):
                problems.append(f"[{size}] {name}: no RR sets or no seeds")
            if name == "compare":
                for pair in PAIRS:
                    if f"{pair}_diff" in m and m[f"{pair}_diff"] < -(0.02 * m[f"{pair}_old_spread"]
                                                                    + 4 * m[f"{pair}_diff_se"] + 1):
                        problems.append(f"[{size}] compare: {pair} seeds spread {m[f'{pair}_new_spread']:.1f}, well "
                                        f"below IMM's {m[f'{pair}_old_spread']:.1f}")
            if name == "sim":
                ref = m["kocgraph_mean"]
                tol = 4 * m["kocgraph_half"] + 0.02 * ref + 1
                for other in ("kocgraph_worlds_mean", "cynetdiff_mean"):
                    if other in m and abs(m[other] - ref) > tol:
                        problems.append(f"[{size}] sim: {other}={m[other]:.1f} disagrees with kocgraph {ref:.1f}")
                # a few plain-Python runs: only a loose check (their own spread is wide)
                if abs(m["python_ref_mean"] - ref) > max(0.25 * ref, 10 * m["kocgraph_half"] + 2):
                    problems.append(f"[{size}] sim: python reference {m['python_ref_mean']:.1f} vs kocgraph {ref:.1f}")
            if name == "celf" and "imm_minus_celf" in m and (
                    m["imm_minus_celf"] < -(0.05 * m["celf_spread"] + 4 * m["imm_minus_celf_se"])):
                problems.append(f"[{size}] celf: seeds (OPIM-C) spread {m['imm_spread']:.1f} well below CELF {m['celf_spread']:.1f}")
    return problems


def environment() -> dict[str, Any]:
    """The shared benchmark environment record, plus CyNetDiff's version (the simulation peer)."""
    import importlib.metadata as md

    from kocgraph.bench._util import environment as base

    try:
        cnd = md.version("cynetdiff")
    except md.PackageNotFoundError:
        cnd = None
    return {**base(), "cynetdiff": cnd}


def format_table(res: dict[str, Any]) -> str:
    head = (f"{'size':>5} {'edges':>9} {'users':>8} {'stage':<11} {'time s':>8} {'peak MiB':>9} {'RR sets':>10}  "
            "notes")
    lines = [head, "-" * (len(head) + 40)]
    for size, st in res["sizes"].items():
        for name, s in st.items():
            m = s["median"]
            if not s["ok"]:
                lines.append(f"{size:>5} {'':>9} {'':>8} {name:<11} {'FAILED':>8}  {str(s.get('errors'))[:80]}")
                continue
            rr = f"{m['n_rr_sets']:,}" if "n_rr_sets" in m else ""
            if name in ("seeds", "seeds_staff", "imm", "imm_staff"):
                note = f"{m['method']}, k={m['n_seeds']}, est. spread {m['spread_est']:,.0f}, theta {m['theta']:,}"
                if "certified_ratio" in m:
                    note += f", certified {m['certified_ratio']:.3f} (promised {m['bound']:.3f})"
            elif name == "compare":
                note = "; ".join(f"{pair}: OPIM-C {m[f'{pair}_new_spread']:,.1f} vs IMM {m[f'{pair}_old_spread']:,.1f} "
                                 f"(paired diff {m[f'{pair}_diff']:+.1f} ± {2 * m[f'{pair}_diff_se']:.1f})"
                                 for pair in PAIRS if f"{pair}_diff" in m)
                rr = ""
            elif name == "celf":
                note = (f"CELF k={m['celf_k_reached']}/{m['celf_k']} x {m['celf_sims']} sims, {m['celf_evals']:,} "
                        f"estimates; seeds(k={m['celf_k']}) {m['imm_s']:.2f} s")
                if "imm_spread" in m:
                    note += (f"; spread seeds {m['imm_spread']:,.1f} vs CELF {m['celf_spread']:,.1f} "
                             f"(paired diff {m['imm_minus_celf']:+.1f} ± {2 * m['imm_minus_celf_se']:.1f})")
            else:
                note = (f"runs/s with {m['n_seeds']} seeds: kocgraph IC {m['kocgraph_ic_runs_per_s']:.1f}, "
                        f"paired worlds {m['kocgraph_worlds_runs_per_s']:.1f}, LT {m['kocgraph_lt_runs_per_s']:.1f}, "
                        f"plain Python {m['python_ref_runs_per_s']:.2f} ({m['python_ref_runs']} runs)")
                if "cynetdiff_runs_per_s" in m:
                    note += f", CyNetDiff {m['cynetdiff']} {m['cynetdiff_runs_per_s']:.1f}"
                else:
                    note += f", CyNetDiff: {m.get('cynetdiff')}"
                note += f"; mean spread {m['kocgraph_mean']:,.0f}"
            lines.append(f"{size:>5} {m['n_edges']:>9,} {m['n_users']:>8,} {name:<11} {m['total_s']:>8.2f} "
                         f"{m['peak_rss_mib']:>9.0f} {rr:>10}  {note}")
    side = side_by_side(res)
    return "\n".join(lines) + ("\n\n" + side if side else "")


def side_by_side(res: dict[str, Any]) -> str:
    """OPIM-C (``kg.tl.seeds``) against the IMM kernel it replaced, per size and case, with ratios."""
    head = (f"{'size':>5} {'case':<6} {'OPIM-C s':>9} {'IMM s':>8} {'IMM/OPIM':>8} {'OPIM MiB':>9} {'IMM MiB':>8} "
            f"{'OPIM RR':>10} {'IMM RR':>11} {'RR ratio':>8}  spread beyond base, paired (OPIM-C - IMM)")
    lines = [head, "-" * len(head)]
    for size, st in res["sizes"].items():
        cmp_ = st.get("compare", {}).get("median", {})
        for pair, (new, old) in PAIRS.items():
            a, b = st.get(new, {}), st.get(old, {})
            if not (a.get("ok") and b.get("ok")):
                continue
            x, y = a["median"], b["median"]
            sp = (f"{cmp_[f'{pair}_new_spread']:,.1f} vs {cmp_[f'{pair}_old_spread']:,.1f} "
                  f"({cmp_[f'{pair}_diff']:+.1f} ± {2 * cmp_[f'{pair}_diff_se']:.1f})" if f"{pair}_diff" in cmp_ else "")
            lines.append(f"{size:>5} {pair:<6} {x['total_s']:>9.2f} {y['total_s']:>8.2f} "
                         f"{y['total_s'] / x['total_s']:>7.1f}x {x['peak_rss_mib']:>9.0f} {y['peak_rss_mib']:>8.0f} "
                         f"{x['n_rr_sets']:>10,} {y['n_rr_sets']:>11,} {y['n_rr_sets'] / x['n_rr_sets']:>7.1f}x  {sp}")
        if st.get("seeds", {}).get("ok") and st.get("seeds_staff", {}).get("ok"):
            r = st["seeds_staff"]["median"]["total_s"] / st["seeds"]["median"]["total_s"]
            lines.append(f"{size:>5} beyond the staff / plain seeding, OPIM-C time: {r:.2f}x")
    return "\n".join(lines) if len(lines) > 2 else ""


def smoke(quiet: bool = True) -> tuple[dict[str, Any], list[str]]:
    """Every stage once on the smallest graph, in this process; ``(result, problems)``."""
    res = run(["smoke"], list(STAGES), isolate=False, quiet=quiet,
              opts={"celf_k": 5, "celf_sims": 50, "celf_max_s": 60.0, "sim_runs": 100, "ref_max_s": 2.0,
                    "compare_sims": 100})
    return res, check(res)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="every stage once on ~6.5k edges, in-process")
    ap.add_argument("--sizes", default="100k,1M", help=f"comma-separated, from {list(SIZES)}")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated, from {list(STAGES)}")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--celf-k", type=int, default=10)
    ap.add_argument("--celf-sims", type=int, default=100)
    ap.add_argument("--celf-max-s", type=float, default=600.0)
    ap.add_argument("--celf-max-edges", type=int, default=CELF_MAX_EDGES, help="skip CELF above this many edges")
    ap.add_argument("--sim-runs", type=int, default=200)
    ap.add_argument("--compare-sims", type=int, default=300, help="paired IC runs per seed set in 'compare'")
    ap.add_argument("--rng", type=int, default=0, help="rng of the seeds/imm stages (compare's worlds stay fixed)")
    ap.add_argument("--out", help="write the JSON result here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--opts", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(run_stage(a.child, a.size, json.loads(a.opts))))
        return 0
    if a.smoke:
        res, problems = smoke(quiet=a.quiet)
    else:
        sizes = [s for s in a.sizes.split(",") if s]
        stages = [s for s in a.stages.split(",") if s]
        bad = [s for s in sizes if s not in SIZES] + [s for s in stages if s not in STAGES]
        if bad:
            ap.error(f"unknown sizes/stages {bad}; sizes {list(SIZES)}, stages {list(STAGES)}")
        opts = {"celf_k": a.celf_k, "celf_sims": a.celf_sims, "celf_max_s": a.celf_max_s, "sim_runs": a.sim_runs,
                "compare_sims": a.compare_sims, "rng": a.rng}
        res = {"params": {}, "environment": environment(), "sizes": {}}
        for size in sizes:
            todo = [s for s in stages if not (s == "celf" and _edges_hint(size) > a.celf_max_edges)]
            part = run([size], todo, repeats=a.repeats, isolate=a.isolate, opts=opts, quiet=a.quiet)
            res["sizes"].update(part["sizes"])
            res["params"] = part["params"] | {"sizes": sizes, "stages": stages}
        problems = check(res)
    print(format_table(res))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=str))
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


def _edges_hint(size: str) -> int:
    return {"smoke": 6_561, "100k": 104_982, "1M": 989_140}.get(size, 0)


if __name__ == "__main__":
    sys.exit(main())
