"""The ingest benchmark's stage functions and runner, re-exported from the package.

The code lives in :mod:`kocgraph.bench.ingest` (stages ``floor``, ``kocgraph``, ``networkx``; runner,
soundness check, table) and :mod:`kocgraph.bench.data` (the cached benchmark logs), so that
``kocgraph bench`` and this suite use the same stage functions and cannot disagree. This module keeps the
names the scripts and ``tests/test_bench_smoke.py`` import (``_common.STAGES`` is the package's dict:
patching it here patches the stages ``run`` uses).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmark the checked-out kocgraph
    sys.path.insert(0, str(ROOT))

from kocgraph.bench._util import environment, maxrss_mib, reset_hwm, summarise_runs, vm_hwm_mib  # noqa: E402
from kocgraph.bench.data import COLUMNS, SEED, SIZES, bench_cache_dir, make_log  # noqa: E402
from kocgraph.bench.ingest import (  # noqa: E402
    NETWORKX_MAX_EVENTS,
    STAGES,
    check,
    first_receipts,
    format_table,
    run,
    run_stage,
    stage_floor,
    stage_kocgraph,
    stage_networkx,
)

# the old private names, used by bench_nominate.py
_vm_hwm_mib, _reset_hwm, _maxrss_mib = vm_hwm_mib, reset_hwm, maxrss_mib

__all__ = ["SIZES", "SEED", "COLUMNS", "STAGES", "NETWORKX_MAX_EVENTS", "bench_cache_dir", "make_log", "first_receipts",
           "stage_floor", "stage_kocgraph", "stage_networkx", "run_stage", "run", "check", "format_table",
           "environment", "summarise_runs"]
