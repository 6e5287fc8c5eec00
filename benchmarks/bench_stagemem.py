"""Memory by stage (issue 15): time and peak resident memory of each stage of ``kocgraph nominate``,
for one or more kocgraph checkouts side by side.

Usage (from the repository root)::

    python benchmarks/bench_stagemem.py --smoke                                  # ~1e4 events, seconds
    python benchmarks/bench_stagemem.py --log ~/.cache/kocgraph/synthetic-1e7-seed0-v0.1.0-8c3012f5.parquet \\
        --tree before=/tmp/kocgraph-before --tree after=. --repeats 3 --out stagemem.json

Each run is a fresh process (``--child``) that imports kocgraph from one checkout (``--tree
NAME=DIR``, put first on ``PYTHONPATH``; default: this checkout) and calls that checkout's own
nomination job, ``kocgraph.jobs.nominate`` (``kocgraph._jobs.nominate`` in older checkouts; what ``kocgraph nominate LOG --staff-ids ... --top 100
--out ...`` runs), on the log. The job's stage functions are wrapped from outside, the same way for
every checkout: ``read_log`` (the job's ``read_input``), ``cascades``, ``pagerank``, ``coreness``,
``communities`` and ``kocs`` (``kg.tl.kocs`` and both ``kg.get.kocs`` calls). Before each, ``VmHWM``
is reset (``/proc/self/clear_refs``); after it, the stage's time and ``VmHWM`` (its peak) are read.
``job peak`` is the whole process's peak: the peaks of the segments between resets, the interpreter
start and imports included. Runs alternate the checkouts' order; medians over repeats are reported,
with the load average of the machine before each run.

Needs Linux with a writable ``/proc/self/clear_refs`` (it exits with a message otherwise). Exits 1
when a run fails or the checkouts disagree on the result (the top-100 table and the graph sizes),
never because something is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STAGES = ("read_log", "cascades", "pagerank", "coreness", "communities", "kocs")
STAFF = ["staff_000", "staff_001", "staff_002", "staff_003", "staff_004"]


# ------------------------------------------------------------------------------------------------ child
def _status(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {key} in /proc/self/status")


def _reset() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _job_modules() -> tuple[Any, Any, list[Any]]:
    """The checkout's nomination job: (module with ``read_input`` and ``nominate``, its
    ``NominateConfig``, the modules that reset VmHWM themselves). Both layouts: ``kocgraph.jobs``
    (with ``kocgraph.pipeline``) and the older single module ``kocgraph._jobs``."""
    try:
        from kocgraph import pipeline
        from kocgraph.jobs import NominateConfig
        from kocgraph.jobs import nomination as J

        return J, NominateConfig, [J, pipeline]
    except ImportError:  # an older checkout
        from kocgraph import _jobs as J

        return J, J.NominateConfig, [J]


def child(log: str) -> dict[str, Any]:
    """One nomination job in this process, each stage timed and its peak memory read."""
    t_start = time.perf_counter()
    import kocgraph as kg

    J, NominateConfig, resetters = _job_modules()
    out: dict[str, Any] = {"import_s": time.perf_counter() - t_start, "stages": {}}
    earlier = [0.0]  # the process peak before the last reset

    def wrap(name: str, fn: Any) -> Any:
        def run(*a: Any, **k: Any) -> Any:
            earlier[0] = max(earlier[0], _status("VmHWM"))
            _reset()
            rss0 = _status("VmRSS")
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                dt = time.perf_counter() - t0
                peak = _status("VmHWM")
                st = out["stages"].setdefault(name, {"s": 0.0, "peak_mib": 0.0, "start_mib": rss0})
                st["s"] += dt
                st["peak_mib"] = max(st["peak_mib"], peak)
                st["end_mib"] = _status("VmRSS")
                earlier[0] = max(earlier[0], peak)
        return run

    for mod in resetters:  # a job that resets VmHWM itself: keep the peak it resets
        for attr in ("reset_peak", "_reset_peak"):
            if hasattr(mod, attr):
                job_reset = getattr(mod, attr)

                def reset_peak(job_reset: Any = job_reset) -> bool:
                    earlier[0] = max(earlier[0], _status("VmHWM"))
                    return job_reset()

                setattr(mod, attr, reset_peak)

    J.read_input = wrap("read_log", J.read_input)
    for name in ("cascades", "pagerank", "coreness", "communities", "kocs"):
        setattr(kg.tl, name, wrap(name, getattr(kg.tl, name)))
    kg.get.kocs = wrap("kocs", kg.get.kocs)
    with tempfile.TemporaryDirectory(prefix="kg-stagemem-") as wd:
        res = J.nominate(NominateConfig(log, staff_ids=STAFF, top=100, out=str(Path(wd) / "kocs.csv"),
                                        progress=False))
    g = res.graph
    out["job_peak_mib"] = max(earlier[0], _status("VmHWM"))
    out["wall_s"] = time.perf_counter() - t_start
    out["job_wall_s"] = float(res.manifest["wall_s"])
    man = res.manifest
    out["manifest_stage_peak_rss_mib"] = man.get("peak_rss_mib_by_stage", man.get("stage_peak_rss_mib"))
    out["n_events"], out["n_users"], out["n_edges"] = int(g.n_events), int(g.n_users), int(g.n_edges)
    top = res.table
    out["top"] = [str(u) for u in top["user"]]
    out["kocgraph"] = kg.__file__
    out["ok"] = True
    return out


# ------------------------------------------------------------------------------------------------ parent
def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover
        return None


def run_one(tree: str, log: str, timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(tree).resolve()) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    load = _loadavg()
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--log", log],
                              capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout} s", "load": load}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"ok": False, "error": f"exit {proc.returncode}: " + " | ".join(tail), "load": load}
    out = json.loads(lines[-1])
    out["load"] = load
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if r.get("ok")]
    if not good:
        return {}
    med = statistics.median
    s: dict[str, Any] = {"stages": {}}
    for st in STAGES:
        have = [r["stages"][st] for r in good if st in r["stages"]]
        if have:
            s["stages"][st] = {"s": med([x["s"] for x in have]), "peak_mib": med([x["peak_mib"] for x in have]),
                               "peak_mib_max": max(x["peak_mib"] for x in have)}
    for k in ("job_peak_mib", "wall_s", "job_wall_s"):
        s[k] = med([r[k] for r in good])
    s["job_peak_mib_max"] = max(r["job_peak_mib"] for r in good)
    s["load"] = [r.get("load") for r in runs]
    for k in ("n_events", "n_users", "n_edges", "top"):
        s[k] = good[0][k]
    return s


def run(log: str, trees: dict[str, str], repeats: int, timeout: float, say: Any) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
    names = list(trees)
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            out = run_one(trees[name], log, timeout)
            runs[name].append(out)
            say(f"run {r + 1}/{repeats} {name}: " + (f"{out['job_wall_s']:.1f} s, job peak {out['job_peak_mib']:.0f} MiB, "
                                                     f"load {out['load']}" if out.get("ok") else f"FAILED {out['error']}"))
    return {"log": log, "trees": trees, "repeats": repeats, "runs": runs,
            "summary": {k: summarise(v) for k, v in runs.items()}}


def check(res: dict[str, Any]) -> list[str]:
    problems = []
    for name, runs in res["runs"].items():
        problems += [f"{name}: {r['error']}" for r in runs if not r.get("ok")]
    sums = [(k, v) for k, v in res["summary"].items() if v]
    for (a, x), (b, y) in zip(sums, sums[1:]):
        for key in ("n_events", "n_users", "n_edges", "top"):
            if x[key] != y[key]:
                problems.append(f"{a} and {b} differ in {key}")
    return problems


def format_table(res: dict[str, Any]) -> str:
    names = [k for k, v in res["summary"].items() if v]
    if not names:
        return "no successful run"
    s0 = res["summary"][names[0]]
    lines = [f"{res['log']}: {s0['n_events']:,} events, {s0['n_users']:,} users, {s0['n_edges']:,} edges; "
             f"median of {res['repeats']} runs per checkout"]
    head = "| stage | " + " | ".join(f"{n} s" for n in names) + " | " + " | ".join(f"{n} peak MiB" for n in names)
    ratio = len(names) == 2
    if ratio:
        head += f" | time {names[1]}/{names[0]} | peak {names[1]}/{names[0]}"
    lines += [head + " |", "|" + "---|" * (head.count("|") - 1 + 1)]
    for st in STAGES:
        row = [res["summary"][n]["stages"].get(st, {}) for n in names]
        cells = [f"{x['s']:.2f}" if x else "" for x in row] + [f"{x['peak_mib']:.0f}" if x else "" for x in row]
        if ratio and all(row):
            cells += [f"{row[1]['s'] / row[0]['s']:.2f}", f"{row[1]['peak_mib'] / row[0]['peak_mib']:.2f}"]
        lines.append(f"| {st} | " + " | ".join(cells) + " |")
    row = [res["summary"][n] for n in names]
    cells = [f"{x['job_wall_s']:.2f}" for x in row] + [f"{x['job_peak_mib']:.0f}" for x in row]
    if ratio:
        cells += [f"{row[1]['job_wall_s'] / row[0]['job_wall_s']:.2f}", f"{row[1]['job_peak_mib'] / row[0]['job_peak_mib']:.2f}"]
    lines.append("| **whole job** | " + " | ".join(cells) + " |")
    lines.append("load average (1 min) before each run: " + "; ".join(
        f"{n}: " + ", ".join("?" if x is None else f"{x:.1f}" for x in res["summary"][n]["load"]) for n in names))
    return "\n".join(lines)


def _smoke_log(tmp: str) -> str:
    """A ~1e4-event synthetic log with the five staff accounts, as Parquet."""
    import kocgraph as kg

    df, _info = kg.datasets.synthetic_frame(2_000, 300, rng=0)
    path = str(Path(tmp) / "smoke.parquet")
    df.to_parquet(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", help="a log file (Parquet or CSV) that kocgraph nominate reads")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR",
                    help="a kocgraph checkout to run (repeatable); default: this checkout")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--smoke", action="store_true", help="one run on a ~1e4-event log")
    ap.add_argument("--out", help="write the result as JSON here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.log)))
        return 0
    try:
        _reset()
    except OSError:
        print("bench_stagemem needs Linux with a writable /proc/self/clear_refs (to reset VmHWM per stage)",
              file=sys.stderr)
        return 2
    say = (lambda _m: None) if a.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    here = str(Path(__file__).resolve().parents[1])
    trees = dict(t.split("=", 1) for t in a.tree) if a.tree else {"this": here}
    with tempfile.TemporaryDirectory(prefix="kg-stagemem-log-") as tmp:
        if a.smoke:
            log, repeats = _smoke_log(tmp), 1
        elif a.log:
            log, repeats = str(Path(a.log).expanduser()), a.repeats
        else:
            ap.error("pass --log PATH (or --smoke)")
        res = run(log, trees, repeats, a.timeout, say)
    res["command"] = "python benchmarks/bench_stagemem.py " + " ".join(argv if argv is not None else sys.argv[1:])
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
