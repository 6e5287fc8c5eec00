"""Benchmarks that ship with the package: the stage functions behind ``kocgraph bench`` and ``benchmarks/``.

``kocgraph bench`` (:mod:`kocgraph.bench.pipeline`) and the developers' suite in ``benchmarks/`` import
the same stage functions from here, so the command and the suite cannot disagree.

- :mod:`kocgraph.bench.data`: the benchmark logs (calibrated synthetic sizes ``1e4``..``1e7`` and the
  registry samples), written once as CSV and cached.
- :mod:`kocgraph.bench.pipeline`: every pipeline stage (read, cascades, pagerank, coreness, communities,
  kocs, routes, seeds) for kocgraph, raw igraph and networkx; runner, soundness check, table, quality.
- :mod:`kocgraph.bench.ingest`: the ingest benchmark's stages (CSV floor, kocgraph, networkx).

Nothing here ever fails because something is slow: :func:`~kocgraph.bench.pipeline.check` lists what
is unsound (a failed stage, a non-positive time, peers that disagree, a figure out of range).
"""

from __future__ import annotations

from .data import SIZES, known_sizes, make_log, resolve_log, sample_log
from .pipeline import STAGE_NAMES, BenchParams, check, format_table, quality, run, run_side

__all__ = ["SIZES", "STAGE_NAMES", "BenchParams", "known_sizes", "make_log", "sample_log", "resolve_log", "run",
           "run_side", "check", "format_table", "quality"]
