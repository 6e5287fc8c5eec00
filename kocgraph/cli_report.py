"""``kocgraph report``: the command-line face of :mod:`kocgraph.report`.

Registered on the command line by :func:`kocgraph.cli.build_parser`; it imports the shared flags
from :mod:`kocgraph.cli_args`, never from :mod:`kocgraph.cli`, and loads the report package only when
the command runs (``kocgraph --help`` stays quick).

Examples
--------
>>> import argparse
>>> from kocgraph.cli_report import add_report_command
>>> p = argparse.ArgumentParser(prog="kocgraph")
>>> add_report_command(p.add_subparsers(dest="command"))
>>> args = p.parse_args(["report", "sample:toy", "--out", "r.html"])
>>> args.seeds, args.no_seeds, args.top
(10, False, 20)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .cli_args import add_log_options, kol_threshold, load_graph, positive_int, seed
from .jobs import KEY_ENV

__all__ = ["add_report_command", "cmd_report"]

#: partners chosen when the command line does not say (``--seeds K``; ``--no-seeds`` for none)
DEFAULT_SEEDS = 10


def cmd_report(args: argparse.Namespace) -> int:
    """``kocgraph report``: read the log, build the page, write it atomically."""
    from .exceptions import LogSchemaError
    from .jobs import NoUsableDataError, check_outputs, resolve_key, resolve_staff
    from .report import build_report, write_report
    from .report._data import resolve_pseudonymizer

    out = Path(args.out)
    # before any reading: the page must go to a regular file in a writable directory, never over an input
    check_outputs([out], [args.log, args.staff], example="report.html")
    if args.staff is not None and not Path(args.staff).is_file():
        raise LogSchemaError(
            f"staff file {str(args.staff)!r} does not exist. Pass --staff with a text file of staff ids, one per line, "
            "or --staff-ids id1,id2."
        )
    key = resolve_key(salt=args.pseudonymize, key_file=args.pseudonymize_key_file,
                      key_env=args.pseudonymize_key_env, warn=lambda m: print(m, file=sys.stderr))
    pseudo = resolve_pseudonymizer(key)
    g = load_graph(args)
    if g.n_events == 0:
        rep = g.meta.get("read_log") or {}
        raise NoUsableDataError(
            f"no usable event left in the log: {rep.get('rows_read', 0):,} row(s) read, all set aside "
            f"({', '.join(f'{k}: {v:,}' for k, v in (rep.get('rejected_by_reason') or {}).items()) or 'none'}). "
            "Check the column options (--source/--target/--item/--time) and the file; no report was written."
        )
    notes: list[str] = []
    ids = [s.strip() for s in str(args.staff_ids or "").split(",") if s.strip()]
    staff = resolve_staff(g, args.staff, ids, note=notes.append,
                          show=pseudo if pseudo is not None else (lambda x: x))
    for n in notes:
        print(n, file=sys.stderr)
    src = str(args.log)
    name = src if src.startswith("sample:") else Path(src).name
    page = build_report(g, staff=staff, top=args.top, seeds=None if args.no_seeds else args.seeds, title=args.title,
                        rng=args.rng, pseudonymize=pseudo, backtest=not args.no_backtest,
                        kol_threshold=args.kol_threshold, source=name,
                        notes=[n.removeprefix("note: ") for n in notes],
                        note=lambda m: print(m, file=sys.stderr), progress=False if args.no_progress else None)
    path = write_report(page, out)
    print(f"wrote report: {path} ({len(page.encode('utf-8')) / 1024:,.0f} KiB)", file=sys.stderr)
    return 0


def add_report_command(sub: Any) -> None:
    """Register ``kocgraph report`` on the CLI's subparsers."""
    r = sub.add_parser(
        "report", help="write one self-contained HTML report: whom to contact, whom to recruit, and the evidence",
        description="read_log -> coreness -> communities -> cascades -> pagerank -> kocs -> routes -> seeds "
                    "(-> backtest); writes ONE HTML file that opens with what to do next (the people to contact "
                    "and whom to ask, the partners to recruit, whether the list beat simpler rules), then the "
                    "evidence and an appendix. Every picture embedded, nothing fetched from the network, written "
                    "atomically. Open it in any browser or e-mail it.",
    )
    add_log_options(r)
    o = r.add_argument_group("report")
    o.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write, e.g. report.html")
    o.add_argument("--staff", default=None, metavar="FILE", help="text file of staff account ids, one per line")
    o.add_argument("--staff-ids", default=None, metavar="A,B", help="comma-separated staff account ids")
    o.add_argument("--top", type=positive_int, default=20, help="KOCs to list and highlight (default: 20)")
    o.add_argument("--seeds", type=positive_int, default=DEFAULT_SEEDS, metavar="K",
                   help=f"partners to recruit, chosen for the widest extra spread (default: {DEFAULT_SEEDS})")
    o.add_argument("--no-seeds", action="store_true", help="leave out the partners to recruit (no seeding)")
    o.add_argument("--pseudonymize-key-file", default=None, metavar="FILE",
                   help="replace every user id on the page by p_ + HMAC-SHA256(key, id)[:16], the key read from the "
                        "first line of FILE")
    o.add_argument("--pseudonymize-key-env", default=None, metavar="VAR",
                   help=f"the same, the key read from the environment variable VAR (e.g. {KEY_ENV})")
    o.add_argument("--pseudonymize", default=None, metavar="KEY",
                   help="the same, the key given here (shown in the process list and shell history: prefer the two "
                        "above)")
    o.add_argument("--title", default=None, help="the page title (default: 'KOC report — <log>')")
    o.add_argument("--kol-threshold", type=kol_threshold, default="auto", metavar="N|auto|none",
                   help="exclude accounts with more distinct receivers than N (default: auto)")
    o.add_argument("--no-backtest", action="store_true", help="leave out the backtest (faster on very large logs)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    o.add_argument("--rng", type=seed, default=0, metavar="SEED",
                   help="seed for communities, the map layout, backtest and seeds (default: 0)")
    r.set_defaults(func=cmd_report)
