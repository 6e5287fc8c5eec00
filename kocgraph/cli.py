"""The batch job: ``kocgraph describe|nominate|report|seeds|bench ...``.

Every subcommand that reads a log takes the same column options as :func:`kocgraph.read_log`, with
the same names and defaults. Exit codes: 0 ok, 2 usage error, 3 data error (the log, the staff file,
an unknown user). No traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__
from .exceptions import InvalidParameterError, KocgraphError, LogSchemaError, NodeNotFoundError, NotComputedError

EXIT_OK, EXIT_USAGE, EXIT_DATA = 0, 2, 3


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


def _add_log_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("log", help="forwarding log: CSV/TSV/Parquet/JSON lines, or sample:toy / sample:synthetic-1e5")
    g = p.add_argument_group("log columns (same names and defaults as kg.read_log)")
    g.add_argument("--source", default="source", help="sender column (default: source)")
    g.add_argument("--target", default="target", help="receiver column (default: target)")
    g.add_argument("--item", default="item", help="item column (default: item); 'none' for one item")
    g.add_argument("--time", default="time", help="time column (default: time); 'none' to use row order")
    g.add_argument("--event-type", default=None, help="event type column (default: event_type if present)")
    g.add_argument("--channel", default=None, help="channel column (default: channel if present)")
    g.add_argument("--value", default=None, help="order value column (default: value if present)")
    g.add_argument("--time-unit", default="auto", choices=["auto", "s", "ms", "us", "ns"])
    g.add_argument("--tz", default="UTC", help="time zone of naive times, e.g. Asia/Shanghai (default: UTC)")
    g.add_argument("--on-invalid", default="quarantine", choices=["quarantine", "raise"])
    g.add_argument("--format", default=None, choices=["csv", "tsv", "parquet", "jsonl"])
    g.add_argument("--sep", default=None, help="CSV delimiter (default: ',' or tab for .tsv)")
    g.add_argument("--encoding", default="utf-8", help="text encoding, e.g. gb18030 (default: utf-8)")


def load_graph(args: argparse.Namespace) -> Any:
    """Read the log named on the command line (or a bundled sample) into a ShareGraph."""
    import kocgraph as kg

    log = str(args.log)
    if log.startswith("sample:"):
        from .datasets import load_sample

        return load_sample(log.split(":", 1)[1])
    kw: dict[str, Any] = {
        "source": args.source, "target": args.target,
        "item": None if str(args.item).lower() == "none" else args.item,
        "time": None if str(args.time).lower() == "none" else args.time,
        "time_unit": args.time_unit, "tz": args.tz, "on_invalid": args.on_invalid,
        "format": args.format, "sep": args.sep, "encoding": args.encoding,
    }
    for opt in ("event_type", "channel", "value"):
        v = getattr(args, opt)
        if v is not None:
            kw[opt] = None if v.lower() == "none" else v
    return kg.read_log(log, **kw)


def read_staff(args: argparse.Namespace, g: Any) -> list[Any]:
    """Staff ids from --staff FILE (one id per line) and/or --staff-ids a,b,c; checked against the graph."""
    ids: list[Any] = []
    if getattr(args, "staff", None):
        p = Path(args.staff)
        if not p.is_file():
            raise LogSchemaError(
                f"staff file {str(p)!r} does not exist. Pass --staff with a text file of staff ids, one per line, "
                "or --staff-ids id1,id2."
            )
        ids += [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    if getattr(args, "staff_ids", None):
        ids += [s.strip() for s in str(args.staff_ids).split(",") if s.strip()]
    if not ids:
        return []
    # ids on the command line are text: match them to integer ids when the graph uses integers
    index = g.nodes.index
    if index.dtype.kind in "iu":
        try:
            ids = [int(x) for x in ids]
        except ValueError as err:
            raise LogSchemaError(f"staff ids must be integers for this log (user ids are integers): {err}") from err
    present = [x for x in ids if x in index]
    missing = [x for x in ids if x not in index]
    if missing and not present:
        raise NodeNotFoundError(
            f"none of the {len(ids)} staff ids is a user in the log (e.g. {missing[:3]!r}). "
            "Check the staff file against the log's source/target columns."
        )
    if missing:
        print(f"note: {len(missing)} staff id(s) not in the log, ignored: {missing[:5]!r}", file=sys.stderr)
    return present


def cmd_describe(args: argparse.Namespace) -> int:
    import kocgraph as kg

    g = load_graph(args)
    kg.tl.cascades(g)
    rep = g.meta.get("read_log", {})
    if args.json:
        out = {
            "ingest": rep,
            "graph": {"n_users": g.n_users, "n_items": g.n_items, "n_events": g.n_events, "n_edges": g.n_edges},
            "cascades": g.meta["cascades"],
        }
        print(json.dumps(out, indent=2, default=str))
    else:
        print(f"kocgraph {__version__} — {args.log}")
        print(f"rows read {rep.get('rows_read', 0):,}   accepted {rep.get('rows_accepted', 0):,}   "
              f"rejected {rep.get('rows_rejected', 0):,}")
        for reason, n in sorted(rep.get("rejected_by_reason", {}).items(), key=lambda kv: -kv[1]):
            print(f"    {reason:<20} {n:,}")
        print(g)
        if g.n_items:
            it = g.items
            print(f"cascades: mean size {it['size'].mean():.1f}, largest {int(it['size'].max()):,}, "
                  f"deepest {int(it['depth'].max())}; exposures {g.meta['cascades']['n_exposures']:,}")
    if g.n_events == 0:
        print("error: no usable event left in the log (see the rejected rows above)", file=sys.stderr)
        return EXIT_DATA
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kocgraph", description="Find Key Opinion Consumers in forwarding logs.")
    p.add_argument("--version", action="version", version=f"kocgraph {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    d = sub.add_parser("describe", help="print the ingest report and a graph summary")
    _add_log_options(d)
    d.add_argument("--json", action="store_true", help="print JSON instead of text")
    d.set_defaults(func=cmd_describe)
    for register in _EXTRA_COMMANDS:
        register(sub, _add_log_options)
    return p


_EXTRA_COMMANDS: list[Any] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except UsageError as err:
        if debug:
            raise
        print(f"usage error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidParameterError as err:
        if debug:
            raise
        print(f"usage error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (LogSchemaError, NodeNotFoundError, NotComputedError, KocgraphError, OSError) as err:
        if debug:
            raise
        print(f"data error: {err}", file=sys.stderr)
        return EXIT_DATA


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
