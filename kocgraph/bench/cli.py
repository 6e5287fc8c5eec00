"""``kocgraph bench``: registered on the command line by :mod:`kocgraph.cli` (``build_parser``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..exceptions import InvalidParameterError
from .pipeline import NETWORKX_MAX_EVENTS, STAGE_NAMES, BenchParams

__all__ = ["add_bench_command", "cmd_bench", "parse_sizes"]

EXAMPLES = """examples:
  kocgraph bench                                   # 1e5 events, kocgraph alone, median of 3
  kocgraph bench --sizes 1e5,1e6 --peers --out results.json
  kocgraph bench --sizes toy --repeats 1 --no-isolate --quality none   # seconds: a smoke pass
"""


def parse_sizes(text: str) -> list[str]:
    """``"1e5,1e6"`` / ``"toy,planted-koc"`` -> labels; unknown ones raise :class:`~kocgraph.InvalidParameterError`
    (the CLI's usage error, exit 2)."""
    from .data import known_sizes

    sizes = [s.strip() for s in str(text).split(",") if s.strip()]
    known = known_sizes()
    bad = [s for s in sizes if s not in known]
    if bad or not sizes:
        raise InvalidParameterError(f"--sizes {text!r}: unknown size(s) {bad or '(none given)'}; use event counts "
                         f"{[k for k in known if k[0].isdigit()]} or sample names "
                         f"{[k for k in known if not k[0].isdigit()]}, comma-separated, e.g. --sizes 1e5,1e6")
    return sizes


def command_line(args: argparse.Namespace) -> str:
    """The ``kocgraph bench`` command that reproduces ``args`` (non-default options only)."""
    parts = ["kocgraph bench", f"--sizes {args.sizes}"]
    if args.peers:
        parts.append("--peers")
    if args.repeats != 3:
        parts.append(f"--repeats {args.repeats}")
    if not args.isolate:
        parts.append("--no-isolate")
    if args.quality != "planted-koc":
        parts.append(f"--quality {args.quality}")
    if args.stages:
        parts.append(f"--stages {args.stages}")
    if args.peer_stages:
        parts.append(f"--peer-stages {args.peer_stages}")
    for opt, default in (("routes_n_kocs", 50), ("routes_k", 3), ("seeds_k", 20), ("seeds_epsilon", 0.2),
                         ("seeds_n_check", 0), ("rng", 0), ("networkx_max_events", NETWORKX_MAX_EVENTS)):
        if getattr(args, opt) != default:
            parts.append(f"--{opt.replace('_', '-')} {getattr(args, opt)}")
    if args.out:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def cmd_bench(args: argparse.Namespace) -> int:
    from .pipeline import check, format_table, run

    sizes = parse_sizes(args.sizes)
    stages = None
    if args.stages:
        stages = [s.strip() for s in args.stages.split(",") if s.strip()]
        bad = [s for s in stages if s not in STAGE_NAMES]
        if bad:
            raise InvalidParameterError(f"--stages: unknown stage(s) {bad}; the stages are {list(STAGE_NAMES)}")
        if "read" not in stages:
            stages = ["read"] + stages  # every stage needs the graph
    peer_stages = None
    if args.peer_stages:
        peer_stages = [s.strip() for s in args.peer_stages.split(",") if s.strip()]
        bad = [s for s in peer_stages if s not in STAGE_NAMES]
        if bad:
            raise InvalidParameterError(f"--peer-stages: unknown stage(s) {bad}; the stages are {list(STAGE_NAMES)}")
    params = BenchParams(routes_k=args.routes_k, routes_n_kocs=args.routes_n_kocs, seeds_k=args.seeds_k,
                         seeds_epsilon=args.seeds_epsilon, seeds_n_check=args.seeds_n_check, rng=args.rng)
    quality = None if str(args.quality).lower() == "none" else args.quality
    if quality is not None:
        from ..datasets import SAMPLES

        if quality not in SAMPLES:
            raise InvalidParameterError(f"--quality {quality!r} is not a registry sample; known: {list(SAMPLES)} (or 'none')")
    if args.out:  # before the (long) run: a regular file in a writable directory (issue 17, D5)
        from ..jobs import check_outputs

        check_outputs([args.out], example="results.json")
    say = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    res = run(sizes, peers=args.peers, repeats=args.repeats, isolate=args.isolate, params=params,
              quality_sample=quality, networkx_max_events=args.networkx_max_events, stages=stages,
              peer_stages=peer_stages,
              cache_dir=args.cache_dir, timeout=args.timeout, progress=say)
    res["command"] = command_line(args)
    problems = check(res)
    res["problems"] = problems
    print(format_table(res))
    if args.out:
        from ..jobs import atomic_write

        out = Path(args.out)
        atomic_write(out, lambda tmp: tmp.write_text(json.dumps(res, indent=2, default=str), encoding="utf-8"))
        if not args.quiet:
            print(f"wrote {out}", file=sys.stderr)
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    return 0


def _positive_float_below(limit: float) -> Any:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not 0 < v < limit:
            raise argparse.ArgumentTypeError(f"must be in (0, {limit:.2f}), got {v}")
        return v
    return parse


def add_bench_command(sub: Any) -> None:
    """Register ``kocgraph bench`` on the CLI's subparsers (called from :mod:`kocgraph.cli`)."""
    from ..cli_args import nonneg_int as _nonneg_int
    from ..cli_args import positive_int as _positive_int

    b = sub.add_parser(
        "bench", help="time every pipeline stage (and raw igraph / networkx with --peers); quality figures",
        description="read -> cascades -> pagerank -> coreness -> communities -> kocs -> routes -> seeds, stage by "
                    "stage on cached synthetic logs: median wall time and peak memory per stage; with --peers the "
                    "same stages with raw igraph calls and networkx (networkx up to 2e6 events) and the ratios; "
                    "precision@k of the planted KOCs and backtest figures on --quality. Prints a table, writes "
                    "JSON with --out. Exit 1 when a stage fails or a figure is unsound, never because it is slow.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--sizes", default="1e5", metavar="LIST",
                   help="comma-separated event counts (1e4, 1e5, 1e6, 1e7) or registry samples (toy, planted-koc, "
                        "synthetic-1e6, ...); default: 1e5")
    b.add_argument("--peers", action="store_true", help="also run raw igraph and networkx and print the ratios")
    b.add_argument("--out", default=None, metavar="FILE", help="write the full result as JSON here")
    b.add_argument("--repeats", type=_positive_int, default=3, help="runs per side; medians are reported (default: 3)")
    iso = b.add_mutually_exclusive_group()
    iso.add_argument("--isolate", dest="isolate", action="store_true", default=True,
                     help="each side and repeat in a fresh process (default; clean peak memory)")
    iso.add_argument("--no-isolate", dest="isolate", action="store_false", help="run everything in this process")
    b.add_argument("--quality", default="planted-koc", metavar="SAMPLE|none",
                   help="registry sample for precision@k of planted KOCs and the backtest (default: planted-koc)")
    b.add_argument("--stages", default=None, metavar="LIST", help=f"a subset of {','.join(STAGE_NAMES)}")
    b.add_argument("--peer-stages", default=None, metavar="LIST",
                   help="run the peers on these stages only (kocgraph still runs every stage), e.g. to leave out "
                        "their slow read and cascades at 1e7")
    p = b.add_argument_group("stage parameters")
    p.add_argument("--routes-n-kocs", type=_positive_int, default=50, help="routes to the top N KOCs (default: 50)")
    p.add_argument("--routes-k", type=_positive_int, default=3, help="routes per KOC (default: 3)")
    p.add_argument("--seeds-k", type=_positive_int, default=20, help="seeds to choose (default: 20)")
    p.add_argument("--seeds-epsilon", type=_positive_float_below(0.632), default=0.2,
                   help="IMM epsilon (default: 0.2)")
    p.add_argument("--seeds-n-check", type=_nonneg_int, default=0, help="IC runs to check the spread (default: 0)")
    p.add_argument("--rng", type=int, default=0, metavar="SEED", help="seed of every randomized stage (default: 0)")
    o = b.add_argument_group("runner")
    o.add_argument("--networkx-max-events", type=_positive_int, default=NETWORKX_MAX_EVENTS,
                   help=f"networkx runs only on logs up to this many events (default: {NETWORKX_MAX_EVENTS:,})")
    o.add_argument("--cache-dir", default=None, help="where the generated CSV logs are kept "
                                                       "(default: $KOCGRAPH_BENCH_CACHE or <kocgraph cache>/bench)")
    o.add_argument("--timeout", type=float, default=None, metavar="S", help="kill an isolated side after S seconds")
    o.add_argument("--quiet", action="store_true", help="no progress lines")
    b.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    b.set_defaults(func=cmd_bench)
