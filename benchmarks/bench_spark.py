"""Spark engine vs in-memory engine on the whole ``kocgraph nominate`` job (issue 8).

Each run is a fresh process (``--child``) that runs the nomination job on the cached synthetic CSV
log of a size (``_common.make_log``: 1e6 and 1e7 events), writes the table, rejected rows, excluded
accounts and manifest to a temporary directory, and prints the manifest's per-stage timings as one
JSON line. The Spark side runs ``local[N]`` (default ``local[2]``) and also times the session start.

    python benchmarks/bench_spark.py --sizes 1e6 --repeats 1 --out /tmp/bench-spark.json
    python benchmarks/bench_spark.py --sizes 1e6,1e7 --repeats 1 --master 'local[2]'

The in-memory engine wins on one machine: Spark pays for the JVM, serialization between the JVM and
Python (Arrow batches for the validation and the per-item cascade kernels), shuffles for every
join, and one job per PageRank / coreness / component iteration, where the in-memory path does one
SpMV. Spark is there to scale *out*, past one machine's memory. See ``docs/spark.md``.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import environment, make_log  # noqa: E402


def child(engine: str, path: str, staff: list[str], master: str, driver_memory: str) -> dict:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.INFO, format=f"[{engine}] %(message)s")  # per-stage progress on stderr
    from kocgraph.jobs import NominateConfig, nominate

    with tempfile.TemporaryDirectory() as d:
        cfg = NominateConfig(path, staff_ids=staff, top=100, out=os.path.join(d, "kocs.csv"), progress=False)
        t0 = time.perf_counter()
        extra = {}
        if engine == "memory":
            res = nominate(cfg)
        else:
            import kocgraph.spark as ks

            spark = ks.get_session(master=master, driver_memory=driver_memory)
            extra["session_s"] = time.perf_counter() - t0
            res = ks.nominate(cfg, spark=spark)
        wall = time.perf_counter() - t0
        return {"engine": engine, "wall_s": wall, **extra, "stages_s": res.manifest["timings_s"],
                "n_events": res.manifest["graph"]["n_events"], "top10": res.table["user"].head(10).tolist(),
                "peak_rss_mib": res.manifest["peak_rss_mib"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6", help="comma-separated size labels (1e6, 1e7)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--engines", default="memory,spark")
    ap.add_argument("--driver-memory", default="4g",
                    help="spark.driver.memory of the local session (local mode: the executors' memory too); "
                         "4g matches the in-memory engine's peak at 1e7")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--path", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--staff", default="", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(child(a.child, a.path, [s for s in a.staff.split(",") if s], a.master, a.driver_memory)))
        return 0
    results = {"environment": environment(), "master": a.master, "driver_memory": a.driver_memory, "sizes": {}}
    for size in a.sizes.split(","):
        path, info = make_log(size)
        runs: dict[str, list[dict]] = {}
        for _ in range(a.repeats):
            for engine in a.engines.split(","):
                cmd = [sys.executable, __file__, "--child", engine, "--path", str(path), "--staff",
                       ",".join(info.get("staff", [])), "--master", a.master, "--driver-memory", a.driver_memory]
                p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # stderr (progress) passes through
                if p.returncode != 0:
                    print(f"{size} {engine}: the child failed (exit {p.returncode}); its stderr is above",
                          file=sys.stderr)
                    return 1
                r = json.loads(p.stdout.strip().splitlines()[-1])
                runs.setdefault(engine, []).append(r)
                print(f"{size} {engine}: {r['wall_s']:.1f} s  stages {r['stages_s']}", file=sys.stderr, flush=True)
        summ = {e: {"wall_s": statistics.median(x["wall_s"] for x in rs),
                    "stages_s": {k: statistics.median(x["stages_s"].get(k, 0.0) for x in rs) for k in rs[0]["stages_s"]},
                    "session_s": statistics.median(x.get("session_s", 0.0) for x in rs),
                    "peak_rss_mib": max((x["peak_rss_mib"] or 0) for x in rs),
                    "top10": rs[0]["top10"]} for e, rs in runs.items()}
        if "memory" in summ and "spark" in summ:
            summ["same_top10"] = summ["memory"]["top10"] == summ["spark"]["top10"]
            summ["spark_over_memory"] = summ["spark"]["wall_s"] / summ["memory"]["wall_s"]
        results["sizes"][size] = {"n_events": info["n_events"], "bytes": info["bytes"], **summ}
    text = json.dumps(results, indent=1)
    if a.out:
        Path(a.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
