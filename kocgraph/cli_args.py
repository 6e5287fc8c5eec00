"""What every ``kocgraph`` subcommand shares: the log options, the argument types, and reading the log.

:mod:`kocgraph.cli` and the subcommands registered on it (``report`` in :mod:`kocgraph.cli_report`,
``bench`` in :mod:`kocgraph.bench.cli`) import from here, never from :mod:`kocgraph.cli` itself, so
the command line has no import cycle: ``cli`` -> ``cli_report`` -> ``cli_args``.

Examples
--------
>>> import argparse
>>> from kocgraph.cli_args import add_log_options, positive_int, read_options
>>> p = argparse.ArgumentParser()
>>> add_log_options(p)
>>> read_options(p.parse_args(["forwards.csv", "--item", "none"]))["item"] is None
True
>>> positive_int("3")
3
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from .jobs import check_log_name, check_read_options, read_input

__all__ = ["add_log_options", "read_options", "load_graph", "positive_int", "nonneg_int", "seed",
           "kol_threshold"]


def add_log_options(p: argparse.ArgumentParser, *, format_flags: Sequence[str] = ("--format", "--log-format")) -> None:
    """The ``kg.read_log`` options, same names and defaults. ``format_flags``: the flag(s) naming the log's
    file format; ``nominate`` keeps ``--format`` for its output and reads the log's as ``--log-format``."""
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
    g.add_argument(*format_flags, dest="log_format", default=None, choices=["csv", "tsv", "parquet", "jsonl"],
                   help="the log's file format (default: from the extension)")
    g.add_argument("--sep", default=None, help="CSV delimiter (default: ',' or tab for .tsv)")
    g.add_argument("--encoding", default="utf-8", help="text encoding, e.g. gb18030 (default: utf-8)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``kg.read_log`` keyword arguments named by the shared log options."""
    kw: dict[str, Any] = {
        "source": args.source, "target": args.target,
        "item": None if str(args.item).lower() == "none" else args.item,
        "time": None if str(args.time).lower() == "none" else args.time,
        "time_unit": args.time_unit, "tz": args.tz, "on_invalid": args.on_invalid,
        "format": args.log_format, "sep": args.sep, "encoding": args.encoding,
    }
    for opt in ("event_type", "channel", "value"):
        v = getattr(args, opt)
        if v is not None:
            kw[opt] = None if v.lower() == "none" else v
    return kw


def load_graph(args: argparse.Namespace) -> Any:
    """Read the log named on the command line (or a bundled sample) into a ShareGraph; the read
    options are checked first (a bad --encoding, --tz or --sep is a usage error before any reading)."""
    opts = read_options(args)
    check_log_name(str(args.log))
    check_read_options(opts)
    return read_input(str(args.log), opts)


def _whole(text: str, expected: str = "a whole number") -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def positive_int(text: str) -> int:
    """An argument type: a whole number >= 1."""
    v = _whole(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def nonneg_int(text: str) -> int:
    """An argument type: a whole number >= 0."""
    v = _whole(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def seed(text: str) -> int:
    """A random seed for --rng: a whole number >= 0 (numpy refuses negative seeds)."""
    v = _whole(text, "a whole number >= 0")
    if v < 0:
        raise argparse.ArgumentTypeError(f"a seed must be >= 0, got {v}; pass e.g. --rng 0")
    return v


def kol_threshold(text: str) -> int | str | None:
    """An argument type for --kol-threshold: a number of receivers >= 1, ``auto`` or ``none``."""
    t = text.strip().lower()
    if t == "auto":
        return "auto"
    if t == "none":
        return None
    try:
        v = int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of receivers, 'auto' or 'none', got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 (or 'auto' / 'none'), got {v}")
    return v
