"""Warm ``read_log`` (issue 17): the same file read again and again in one process, for one or more
kocgraph checkouts side by side; and, with ``--tally``, the CSV record tally alone.

Usage (from the repository root)::

    python benchmarks/bench_read_warm.py --smoke                       # a tiny log, seconds
    python benchmarks/bench_read_warm.py FILE --tree before=/tmp/kocgraph-before --tree after=. \\
        --rounds 3 --reads 7 [--opts '{"tz": "Asia/Shanghai"}'] [--tally] [--without-check] [--out warm.json]

Each round runs every checkout once, in a fresh process (``python -P``, the checkout first on
``PYTHONPATH``), in turn; the process reads the file once to warm up (imports, page cache, first
calls), then ``--reads`` times, and reports the minimum and the median of the wall and CPU times.
The table gives, per checkout, the range over rounds of each process's minimum and median: on a
noisy machine compare minima, and only checkouts run in the same rounds.

``--tally`` also times, in each process, the checkout's ``kocgraph.io.csvread.RecordTally`` alone
over the file in 58 MiB reads (what the streamed reader's I/O thread does besides the parse), and
the same reads with SHA-256 only, for the part of the tally that is hashing (a checkout without the
tally shows "-").

``--without-check`` also runs every checkout that has the tally as "NAME, no check": the same
process with the tally's scan and SHA-256 taken out (the bytes are only counted; the record count it
would have found, taken from the warm-up read, is handed to the parser's cross-check). What
separates the two rows is what the line check and the input hash cost inside ``read_log``; what
separates "no check" from an older checkout is the rest of the reader. Exits 1 when a run fails,
never because something is slow.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import hashlib, json, sys, time
import kocgraph as kg
path, opts, reads, tally = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
nocheck = sys.argv[5] == "1"
if nocheck:  # the warm-up read keeps the tally, and notes the count it found
    from kocgraph.io import csvread
    found = []
    _finish = csvread.RecordTally.finish
    def _noted(self):
        _finish(self)
        found.append(self.records)
    csvread.RecordTally.finish = _noted
rows_read = kg.read_log(path, **opts).meta["read_log"]["rows_read"]
if nocheck:  # from here on the tally neither scans nor hashes: it counts bytes, and gives the noted count
    def _feed(self, chunk):
        self.n_bytes += len(chunk)
    def _given(self):
        _finish(self)
        self.records = found[0]
    csvread.RecordTally._feed, csvread.RecordTally.finish = _feed, _given
wall, cpu = [], []
for _ in range(reads):
    t0, c0 = time.perf_counter(), time.process_time()
    got = kg.read_log(path, **opts).meta["read_log"]["rows_read"]
    assert got == rows_read, f"a read found {got} rows, the first {rows_read}"
    wall.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
out = {"wall": wall, "cpu": cpu, "rows_read": rows_read}
try:
    from kocgraph.io import csvread
except ImportError:  # a checkout from before the record tally
    tally = False
if tally:
    step = 58 << 20
    for key in ("tally_cpu", "sha_cpu"):
        with open(path, "rb") as raw:
            c0 = time.process_time()
            if key == "tally_cpu":
                t = csvread.RecordTally(raw)
                while t.read(step):
                    pass
                t.finish()
            else:
                h = hashlib.sha256()
                while True:
                    b = raw.read(step)
                    if not b:
                        break
                    h.update(b)
            out[key] = time.process_time() - c0
print("RESULT " + json.dumps(out))
"""


def run_one(tree: str, path: str, opts: dict[str, Any], reads: int, tally: bool, timeout: float, *,
            nocheck: bool = False) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([tree, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    proc = subprocess.run([sys.executable, "-P", "-c", _CHILD, path, json.dumps(opts), str(reads), "1" if tally else "0",
                           "1" if nocheck else "0"],
                          capture_output=True, text=True, env=env, timeout=timeout, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        return {"ok": False, "error": (proc.stderr or proc.stdout)[-2000:]}
    got = json.loads(lines[-1][len("RESULT "):])
    for key in ("wall", "cpu"):
        vals = sorted(got[key])
        got[f"{key}_min"], got[f"{key}_median"] = vals[0], vals[len(vals) // 2]
    return {"ok": True, **got}


def run(path: str, trees: dict[str, str], *, rounds: int, reads: int, opts: dict[str, Any], tally: bool,
        without_check: bool = False, timeout: float = 1800, say: Any = print) -> dict[str, Any]:
    variants = [(name, tree, False) for name, tree in trees.items()]
    if without_check:
        variants += [(f"{name}, no check", tree, True) for name, tree in trees.items()
                     if (Path(tree) / "kocgraph" / "io" / "csvread.py").exists()]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in variants}
    for r in range(rounds):
        for name, tree, nocheck in variants:
            got = run_one(tree, path, opts, reads, tally and not nocheck, timeout, nocheck=nocheck)
            runs[name].append(got)
            say(f"round {r + 1}/{rounds} {name}: " + (f"min {got['wall_min']:.3f} s, median {got['wall_median']:.3f} s"
                                                      if got["ok"] else "FAILED"))
    return {"file": path, "opts": opts, "rounds": rounds, "reads": reads, "runs": runs}


def format_table(res: dict[str, Any]) -> str:
    def span(vals: list[float]) -> str:
        return f"{min(vals):.3f}-{max(vals):.3f}" if len(vals) > 1 else f"{vals[0]:.3f}"

    tally = any("tally_cpu" in g for runs in res["runs"].values() for g in runs if g["ok"])
    head = ["checkout", "min wall s", "median wall s", "median CPU s"] + (["tally CPU s", "read+SHA CPU s"] if tally else [])
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, runs in res["runs"].items():
        ok = [g for g in runs if g["ok"]]
        if not ok:
            rows.append(f"| {name} | failed |")
            continue
        cells = [name, span([g["wall_min"] for g in ok]), span([g["wall_median"] for g in ok]),
                 span([g["cpu_median"] for g in ok])]
        if tally:
            timed = [g for g in ok if "tally_cpu" in g]
            cells += [span([g["tally_cpu"] for g in timed]), span([g["sha_cpu"] for g in timed])] if timed else ["-", "-"]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _smoke_file(tmp: str) -> str:
    path = Path(tmp) / "warm.csv"
    lines = ["source,target,item,time"] + [f'"u{i % 53}","u{(i * 7 + 1) % 53}","i{i % 11}",{1_700_000_000 + i}'
                                           for i in range(3000)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", help="the log to read (a CSV for --tally)")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=DIR",
                    help="a kocgraph checkout to run (repeatable; default: this checkout)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reads", type=int, default=7)
    ap.add_argument("--opts", default="{}", help="kg.read_log keyword arguments, as JSON")
    ap.add_argument("--tally", action="store_true", help="also time the CSV record tally alone")
    ap.add_argument("--without-check", action="store_true",
                    help="also run each checkout with the tally's scan and SHA-256 taken out (a CSV file)")
    ap.add_argument("--smoke", action="store_true", help="a tiny generated log, 1 round of 2 reads")
    ap.add_argument("--out", help="write the result as JSON")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    trees = dict(t.split("=", 1) for t in a.tree) if a.tree else {"this": str(ROOT)}
    say = (lambda _m: None) if a.quiet else print
    with tempfile.TemporaryDirectory() as tmp:
        if a.smoke:
            path, rounds, reads = _smoke_file(tmp), 1, 2
        elif a.file:
            path, rounds, reads = a.file, a.rounds, a.reads
        else:
            ap.error("give a FILE to read, or --smoke")
        res = run(path, trees, rounds=rounds, reads=reads, opts=json.loads(a.opts), tally=a.tally or a.smoke,
                  without_check=a.without_check or a.smoke, say=say)
    say(format_table(res))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))
    return 0 if all(g["ok"] for runs in res["runs"].values() for g in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
