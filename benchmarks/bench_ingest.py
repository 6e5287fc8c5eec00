"""Ingest benchmark (issue 2): ``read_log`` + ``tl.cascades`` against the CSV floor and networkx.

Usage (from the repository root)::

    python benchmarks/bench_ingest.py --smoke                       # ~1e4 events, seconds, in-process
    python benchmarks/bench_ingest.py --sizes 1e6 --repeats 3       # 1M events, isolated, median of 3
    python benchmarks/bench_ingest.py --sizes 1e6,1e7 --out results.json

Prints a table (median times, peak memory, ratios kocgraph/floor and networkx/kocgraph) and, with
``--out``, writes the full result as JSON. Exits 1 when a stage fails or a figure is not sound (see
``_common.check``), never because something is slow.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

SMOKE_SIZES = ["1e4"]


def smoke(*, isolate: bool = False, cache_dir: str | None = None, stages: dict | None = None) -> tuple[dict, list[str]]:
    """The smoke pass: every stage once at ~1e4 events. Returns ``(result, problems)``."""
    res = _common.run(SMOKE_SIZES, repeats=1, isolate=isolate, stages=stages, cache_dir=cache_dir)
    return res, _common.check(res, expect=list(stages or _common.STAGES))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="one run of every stage at ~1e4 events (in-process)")
    ap.add_argument("--sizes", default="1e6", help=f"comma-separated size labels among {list(_common.SIZES)}")
    ap.add_argument("--repeats", type=int, default=3, help="runs per stage; medians are reported (>= 3)")
    ap.add_argument("--stages", default=",".join(_common.STAGES), help="comma-separated stages to run")
    iso = ap.add_mutually_exclusive_group()
    iso.add_argument("--isolate", dest="isolate", action="store_true", default=None,
                     help="run every stage in a fresh process (default for full runs)")
    iso.add_argument("--no-isolate", dest="isolate", action="store_false", help="run stages in this process")
    ap.add_argument("--cache-dir", default=None, help="where generated CSV logs are kept")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    a = ap.parse_args(argv)
    names = [s.strip() for s in a.stages.split(",") if s.strip()]
    unknown = [n for n in names if n not in _common.STAGES]
    if unknown:
        ap.error(f"unknown stage(s) {unknown}; known: {list(_common.STAGES)}")
    stages = {n: _common.STAGES[n] for n in names}
    say = None if a.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    if a.smoke:
        isolate = bool(a.isolate) if a.isolate is not None else False
        res = _common.run(SMOKE_SIZES, repeats=1, isolate=isolate, stages=stages, cache_dir=a.cache_dir, progress=say)
    else:
        sizes = [s.strip() for s in a.sizes.split(",") if s.strip()]
        bad = [s for s in sizes if s not in _common.SIZES]
        if bad:
            ap.error(f"unknown size(s) {bad}; known: {list(_common.SIZES)}")
        isolate = True if a.isolate is None else a.isolate
        res = _common.run(sizes, repeats=a.repeats, isolate=isolate, stages=stages, cache_dir=a.cache_dir,
                          progress=say)
    res["command"] = "python benchmarks/bench_ingest.py " + " ".join(argv if argv is not None else sys.argv[1:])
    problems = _common.check(res, expect=names)
    res["problems"] = problems
    print(_common.format_table(res))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=2, default=str))
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
