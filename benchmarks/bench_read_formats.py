"""Ingest by time format (issues 15 and 17): ``read_log`` + ``tl.cascades`` against the floor.

For each size and time format the benchmark log (``kocgraph.bench.data.make_log``) is written again
with its times as epoch seconds (``s``), epoch milliseconds (``ms``), ISO 8601 with a zone
(``iso_z``: ``2026-03-01T14:23:15Z``), ISO with an offset (``iso_offset``: ``+08:00``) or naive
local times read in ``tz="Asia/Shanghai"`` (``naive``). Every stage runs in a fresh process,
``--repeats`` times, interleaved; the table gives medians, the peak memory, and the ratio to the
floor (pyarrow's parallel CSV read, timestamps parsed, plus ``pd.factorize`` of the user ids).

``--compare PATH`` also runs kocgraph from another checkout (``PYTHONPATH=PATH``) in the same run,
for before/after tables.

Usage (from the repository root)::

    python benchmarks/bench_read_formats.py --sizes 1e6 --formats s,ms,iso_z,iso_offset,naive --repeats 3
    python benchmarks/bench_read_formats.py --sizes 1e6,1e7 --formats s --compare /path/to/old/checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("s", "ms", "iso_z", "iso_offset", "naive")

_FLOOR = """
import sys, time, json
def peak():  # VmHWM: this process only (ru_maxrss would include the parent, across exec)
    for ln in open("/proc/self/status"):
        if ln.startswith("VmHWM:"):
            return int(ln.split()[1]) / 1024
import pandas as pd, pyarrow as pa, pyarrow.csv as pacsv
t0 = time.perf_counter()
table = pacsv.read_csv(sys.argv[1], read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
                       convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in ("source", "target", "item")}))
both = pa.chunked_array(table.column("source").chunks + table.column("target").chunks)
codes, uniques = pd.factorize(pd.Series(pd.arrays.ArrowExtensionArray(both), copy=False))
print(json.dumps({"s": time.perf_counter() - t0, "rows": table.num_rows,
                  "peak_mib": peak()}))
"""

_KOCGRAPH = """
import sys, time, json
def peak():  # VmHWM: this process only (ru_maxrss would include the parent, across exec)
    for ln in open("/proc/self/status"):
        if ln.startswith("VmHWM:"):
            return int(ln.split()[1]) / 1024
import kocgraph as kg
t0 = time.perf_counter()
g = kg.read_log(sys.argv[1], **json.loads(sys.argv[2]))
t1 = time.perf_counter()
kg.tl.cascades(g)
t2 = time.perf_counter()
print(json.dumps({"s": t2 - t0, "read_s": t1 - t0, "cascades_s": t2 - t1, "rows": g.meta["read_log"]["rows_read"],
                  "accepted": g.meta["read_log"]["rows_accepted"], "reach_sum": int(g.nodes["reach"].sum()),
                  "peak_mib": peak()}))
"""


def write_format(size: str, fmt: str, cache: Path) -> Path:
    """The benchmark log of ``size`` with its times written in ``fmt`` (cached)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from kocgraph.bench.data import make_log

    base, _ = make_log(size)
    if fmt == "s":
        return base
    out = cache / f"{base.stem}-time_{fmt}.csv"
    if out.exists():
        return out
    t = pacsv.read_csv(base, convert_options=pacsv.ConvertOptions(
        column_types={c: pa.string() for c in ("source", "target", "item")}))
    secs = t.column("time").to_numpy()
    if fmt == "ms":
        col = pa.array(secs * 1000 + (secs % 997), pa.int64())
    else:
        utc = pd.to_datetime(secs, unit="s", utc=True)
        if fmt == "iso_z":
            text = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif fmt == "iso_offset":
            text = utc.tz_convert("Asia/Shanghai").strftime("%Y-%m-%dT%H:%M:%S+08:00")
        else:  # naive local times of a zone without daylight saving
            text = utc.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M:%S")
        col = pa.array(text.to_numpy(dtype=object), pa.string())
    tmp = out.with_suffix(".tmp")
    pacsv.write_csv(t.set_column(t.schema.get_field_index("time"), "time", col), tmp)
    os.replace(tmp, out)
    return out


def run_child(code: str, args: list[str], pythonpath: str | None) -> dict:
    """Run ``code`` in a fresh interpreter importing kocgraph from ``pythonpath``. ``-P`` keeps the
    working directory off ``sys.path``: run from a checkout, ``-c`` would otherwise import that
    checkout's kocgraph ahead of ``PYTHONPATH`` and compare a tree with itself."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    r = subprocess.run([sys.executable, "-P", "-c", code, *args], capture_output=True, text=True, env=env, timeout=3600)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6")
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compare", default=None, metavar="PATH", help="another kocgraph checkout to run side by side")
    ap.add_argument("--out", default=None, help="write the result as JSON")
    a = ap.parse_args(argv)
    from kocgraph.bench.data import bench_cache_dir

    cache = bench_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    sides = {"floor": (_FLOOR, None), "kocgraph": (_KOCGRAPH, str(ROOT))}
    if a.compare:
        sides["compare"] = (_KOCGRAPH, a.compare)
    rows = []
    for size in a.sizes.split(","):
        for fmt in a.formats.split(","):
            path = write_format(size, fmt, cache)
            opts = json.dumps({"tz": "Asia/Shanghai"} if fmt == "naive" else {})
            runs: dict[str, list[dict]] = {k: [] for k in sides}
            for _ in range(a.repeats):
                for name, (code, pp) in sides.items():
                    args = [str(path)] if name == "floor" else [str(path), opts]
                    runs[name].append(run_child(code, args, pp))
            med = {k: statistics.median(r["s"] for r in v) for k, v in runs.items()}
            peak = {k: max(r["peak_mib"] for r in v) for k, v in runs.items()}
            parts = {f"{k}_{part}_s": statistics.median(r[f"{part}_s"] for r in v)
                     for k, v in runs.items() if k != "floor" for part in ("read", "cascades")}
            row = {"size": size, "format": fmt, "rows": runs["kocgraph"][0]["rows"], **{f"{k}_s": v for k, v in med.items()},
                   **parts,
                   **{f"{k}_peak_mib": v for k, v in peak.items()},
                   "ratio_to_floor": med["kocgraph"] / med["floor"]}
            if "compare" in runs:
                row["ratio_to_compare"] = med["kocgraph"] / med["compare"]
                row["same_result"] = all(r["reach_sum"] == runs["kocgraph"][0]["reach_sum"] for r in runs["compare"])
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    cols = ["size", "format", "rows", "floor_s", "kocgraph_s"] + (["compare_s"] if a.compare else []) + \
        ["ratio_to_floor"] + (["ratio_to_compare"] if a.compare else []) + ["kocgraph_read_s", "kocgraph_cascades_s"] + \
        (["compare_read_s", "compare_cascades_s"] if a.compare else []) + ["kocgraph_peak_mib"]
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(f"{r[c]:.2f}" if isinstance(r[c], float) else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                         for c in cols))
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
