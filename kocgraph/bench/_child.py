"""Child-process entry point of the benchmarks: ``python -m kocgraph.bench._child ingest|pipeline ...``.

A fresh process per measured unit gives a clean peak-memory figure (its own ``VmHWM``); it prints one
JSON line on stdout, which the parent parses.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("ingest", "pipeline"):
        print("usage: python -m kocgraph.bench._child ingest|pipeline ...", file=sys.stderr)
        return 2
    if argv[0] == "ingest":
        from .ingest import child_main
    else:
        from .pipeline import child_main  # type: ignore[assignment]
    return child_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
