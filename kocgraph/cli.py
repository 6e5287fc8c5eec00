"""The batch job: ``kocgraph describe|nominate|report|seeds|bench ...``.

Every subcommand that reads a log takes the same column options as :func:`kocgraph.read_log`, with
the same names and defaults (``nominate`` names the log's file format ``--log-format``, because its
``--format`` is the output's). The job logic lives in :mod:`kocgraph.jobs`; this module only parses
flags and prints. Exit codes (the full table is in ``docs/errors.md``): 0 ok; 2 usage error (a bad
flag value, an output path that cannot or must not be written; all checked before the log is read);
3 data error (the log, the staff file, a damaged save, an unknown user, nothing usable left, out of
memory); 1 only for a bug in kocgraph, with a line asking to report it. No traceback unless ``--debug``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ._version import __version__
from .cli_args import add_log_options as _add_log_options
from .cli_args import kol_threshold as _kol_threshold
from .cli_args import load_graph, read_options
from .cli_args import nonneg_int as _nonneg_int
from .cli_args import positive_int as _positive_int
from .cli_args import seed as _seed
from .cli_report import add_report_command
from .exceptions import (
    ConvergenceWarning,
    DataQualityWarning,
    InvalidParameterError,
    KocgraphError,
    LogSchemaError,
    NodeNotFoundError,
    NotComputedError,
)
from .jobs import (
    KEY_ENV,
    NominateConfig,
    check_config,
    format_top_table,
    nominate,
    resolve_key,
    verify_outputs,
)

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_DATA = 0, 1, 2, 3


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


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


def cmd_nominate(args: argparse.Namespace) -> int:
    quiet = bool(args.quiet)
    ids = [s.strip() for s in str(args.staff_ids or "").split(",") if s.strip()]
    say = (lambda m: None) if quiet else (lambda m: print(m, file=sys.stderr))
    key = resolve_key(salt=args.pseudonymize, key_file=args.pseudonymize_key_file, key_env=args.pseudonymize_key_env,
                      warn=say)
    cfg = NominateConfig(
        log=str(args.log), read_options=read_options(args), staff_file=args.staff, staff_ids=ids,
        top=args.top, out=args.out, format=args.format, pseudonymize=key,
        bootstrap=args.bootstrap, per_community=args.per_community, kol_threshold=args.kol_threshold,
        rng=args.rng, progress=False if (args.no_progress or quiet) else None,
    )
    if args.format is not None and args.out is None:
        raise UsageError(f"--format {args.format} needs --out FILE (without --out nothing is written).")
    if getattr(args, "engine", "memory") == "spark":
        try:
            from .spark import nominate as nominate_spark  # needs `pip install kocgraph[spark]`
        except ImportError as err:
            raise UsageError(str(err)) from None

        check_config(cfg)  # the same checks as the memory engine, before Spark starts
        res = nominate_spark(cfg, master=args.spark_master, workdir=args.spark_dir, note=say)
    else:
        res = nominate(cfg, note=say)
    if not quiet:
        m = res.manifest
        rows, graph, rk = m["rows"], m["graph"], m["ranking"] or {}
        ex = ", ".join(f"{v:,} {k}" for k, v in sorted((rk.get("n_excluded") or {}).items()) if k != "no_forwards")
        print(f"kocgraph {__version__} nominate: {graph['n_events']:,} events, {graph['n_users']:,} users, "
              f"{graph['n_items']:,} items; {rows['rows_rejected']:,} row(s) rejected; "
              f"{rk.get('n_eligible', 0):,} eligible" + (f"; excluded {ex}" if ex else ""))
        fit = rk.get("fit") or {}
        kind = fit.get("kind")
        if fit.get("fell_back"):
            print(f"score: prior weights ({fit.get('reason') or 'the log is too thin to fit'})")
        elif kind == "fit":
            print(f"score: weights fitted on this log's own history ({fit.get('chosen', 'blend')})")
        elif kind in ("prior", "percentile", "explicit"):
            print(f"score: {kind} weights, as asked" + (f" ({fit['reason']})" if fit.get("reason") else ""))
        big = res.excluded[res.excluded["excluded"] == "kol"] if "excluded" in res.excluded.columns else res.excluded[:0]
        if len(big):
            shown = ", ".join(f"{u} (reach {int(r):,})" for u, r in zip(big["user"][:5], big["reach"][:5]))
            print(f"big accounts, left out (buy, don't develop): {shown}" + (" ..." if len(big) > 5 else ""))
        print(format_top_table(res.table))
        for kind, path in res.outputs.items():
            print(f"wrote {kind}: {path}", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    path = str(args.manifest)
    if not path.endswith(".manifest.json"):
        path += ".manifest.json"
    problems = verify_outputs(path)
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return EXIT_DATA
    from pathlib import Path

    man = json.loads(Path(path).read_text(encoding="utf-8"))
    print(f"ok: run {man.get('run_id')} ({man.get('status')}): {len(man.get('files') or {})} file(s) as written")
    return EXIT_OK


def _add_nominate(sub: Any) -> None:
    n = sub.add_parser(
        "nominate", help="rank KOC candidates and write the table, rejected rows and a run manifest",
        description="read_log -> coreness -> communities -> cascades -> pagerank -> kocs; prints the top users "
                    "and, with --out, writes them (atomically) next to a run manifest (<out>.manifest.json), "
                    "the rejected rows (<stem>.rejected.csv) and the excluded accounts (<stem>.excluded.csv).",
    )
    _add_log_options(n, format_flags=("--log-format",))
    o = n.add_argument_group("nomination")
    o.add_argument("--staff", default=None, metavar="FILE", help="text file of staff account ids, one per line")
    o.add_argument("--staff-ids", default=None, metavar="A,B", help="comma-separated staff account ids")
    o.add_argument("--top", type=_positive_int, default=100, help="candidates to list (default: 100)")
    o.add_argument("--out", default=None, metavar="FILE", help="write the table here (default: print only)")
    o.add_argument("--format", default=None, choices=["csv", "parquet", "json"],
                   help="output format (default: from --out's extension, else csv)")
    o.add_argument("--pseudonymize-key-file", default=None, metavar="FILE",
                   help="replace every user id in every output by p_ + HMAC-SHA256(key, id)[:16], the key read "
                        "from the first line of FILE")
    o.add_argument("--pseudonymize-key-env", default=None, metavar="VAR",
                   help=f"the same, the key read from the environment variable VAR (e.g. {KEY_ENV})")
    o.add_argument("--pseudonymize", default=None, metavar="KEY",
                   help="the same, the key given here (shown in the process list and shell history: prefer the two above)")
    o.add_argument("--bootstrap", type=_nonneg_int, default=0, metavar="B",
                   help="resample items B times for rank intervals (default: 0, off; at most 10,000)")
    o.add_argument("--per-community", type=_positive_int, default=None, metavar="N",
                   help="a diverse slate: at most N users per community")
    o.add_argument("--kol-threshold", type=_kol_threshold, default="auto", metavar="N|auto|none",
                   help="exclude accounts with more distinct receivers than N (default: auto)")
    o.add_argument("--rng", type=_seed, default=0, metavar="SEED", help="seed for communities and bootstrap (default: 0)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    o.add_argument("--quiet", action="store_true", help="print nothing but errors (no table, no progress)")
    e = n.add_argument_group("engine")
    e.add_argument("--engine", default="memory", choices=["memory", "spark"],
                   help="memory (default: one machine, fastest up to its RAM) or spark (pip install kocgraph[spark])")
    e.add_argument("--spark-master", default="local[*]", metavar="URL",
                   help="Spark master for --engine spark (default: local[*])")
    e.add_argument("--spark-dir", default=None, metavar="DIR",
                   help="where --engine spark writes each stage as Parquet (default: <out stem>.spark beside --out)")
    n.set_defaults(func=cmd_nominate)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kocgraph", description="Find Key Opinion Consumers in forwarding logs.",
                                epilog="Exit codes: 0 ok, 2 usage error, 3 data error, 1 a bug in kocgraph (please report it). "
                                       "No traceback unless --debug.")
    p.add_argument("--version", action="version", version=f"kocgraph {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    d = sub.add_parser("describe", help="print the ingest report and a graph summary")
    _add_log_options(d)
    d.add_argument("--json", action="store_true", help="print JSON instead of text")
    d.set_defaults(func=cmd_describe)
    _add_nominate(sub)
    v = sub.add_parser("verify", help="check that an output set is whole: every file its manifest lists, unchanged",
                       description="Exit 0 when every file the manifest lists is there with the manifest's SHA-256 "
                                   "(one run's complete output set), 3 otherwise, with what is wrong.")
    v.add_argument("manifest", help="the manifest of a run, e.g. kocs.csv.manifest.json (or the table: kocs.csv)")
    v.set_defaults(func=cmd_verify)
    add_report_command(sub)
    from .bench.cli import add_bench_command  # imported when the parser is built: bench loads its stage table

    add_bench_command(sub)
    return p


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """kocgraph's own warnings (a data-quality note, a kernel at its iteration limit) become one
    ``warning: ...`` line on stderr each, whatever the interpreter's warning filters say (under
    ``-W error`` they would otherwise end the run as an "internal error"). Other warnings are left
    to those filters."""

    def show(message: Any, category: type[Warning], *_a: Any, **_k: Any) -> None:
        print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        for cat in (DataQualityWarning, ConvergenceWarning):
            warnings.simplefilter("always", cat)
        previous, warnings.showwarning = warnings.showwarning, show
        try:
            yield
        finally:
            warnings.showwarning = previous


_HINT = re.compile(r"\b([a-z][a-z_]*)=('[^']*'|\"[^\"]*\"|[\w.<>-]+)(?: to kg(?:\.\w+)+)?"
                   r"(?: \((--[\w-]+)( [^)]*)?\))?")
_API_TARGET = re.compile(r" (?:to|of|in) kg(?:\.\w+)+(?:\(\))?")
#: library parameters whose flag has another name: ``format=`` of ``kg.read_log`` is the log's format,
#: ``--log-format`` on every command (``nominate``'s ``--format`` is its output's)
_FLAG_OF = {"format": "--log-format"}


def cli_words(message: str, parser: argparse.ArgumentParser) -> str:
    """An error message in the command line's language: a library hint such as
    ``Pass time='<column>' to kg.read_log`` or ``pass on_invalid='quarantine'`` becomes
    ``Pass --time <column>`` / ``pass --on-invalid quarantine`` wherever the command line has that
    flag; a hint that already names its flag (``tz='x' (--tz)``) keeps only the flag. Hints without
    a flag are left as they are (they name a library call on purpose)."""
    flags = _flags(parser)
    changed = False

    def flag(m: re.Match[str]) -> str:
        nonlocal changed
        value = m.group(2).strip("'\"")
        value = "none" if value == "None" else value
        if m.group(3):  # the library named the flag itself
            changed = True
            return m.group(3) + (m.group(4) or f" {value}")
        name = _FLAG_OF.get(m.group(1), "--" + m.group(1).replace("_", "-"))
        if name not in flags:
            return m.group(0)
        changed = True
        return f"{name} {value}"

    out = _HINT.sub(flag, message)
    return _API_TARGET.sub("", out) if changed else out


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option of the parser and its subcommands."""
    found: set[str] = set()
    todo = [parser]
    while todo:
        p = todo.pop()
        for action in p._actions:  # argparse keeps no public list of a parser's options
            found.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                todo.extend(action.choices.values())
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        return int(exc.code or 0)
    try:
        with _warnings_as_lines():
            return int(args.func(args))
    except (UsageError, InvalidParameterError) as err:
        if debug:
            raise
        print(f"usage error: {cli_words(str(err), parser)}", file=sys.stderr)
        return EXIT_USAGE
    except (LogSchemaError, NodeNotFoundError, NotComputedError, KocgraphError, OSError) as err:
        if debug:
            raise
        print(f"data error: {cli_words(str(err), parser)}", file=sys.stderr)
        return EXIT_DATA
    except MemoryError:  # the input is too large for this machine's memory: not a bug, nothing half-written
        if debug:
            raise
        print("data error: out of memory; the log is too large for this machine's memory. Use a machine with more "
              "memory, a time window of the log, or --engine spark (nominate).", file=sys.stderr)
        return EXIT_DATA
    except KeyboardInterrupt:  # pragma: no cover - interactive
        if debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: say so briefly, the traceback is one flag away
        if debug:
            raise
        print(f"internal error: {type(err).__name__}: {err}\n"
              f"This is a bug in kocgraph {__version__}, not in your input: please report it, with the command and "
              "the traceback that --debug prints.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
