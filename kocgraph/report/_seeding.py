"""How much memory the report's seeding needs, estimated before any sampling.

The report chooses partners with :func:`kocgraph.tl.seeds` only when :func:`seeding_memory` says the
sampling fits :data:`kocgraph.report.SEED_MEMORY_BUDGET` (read at call time, so it can be lowered);
a log too dense for it gets a "too dense" note instead of seeds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["seeding_memory", "too_dense", "SEED_MEMORY_BUDGET"]

#: the most memory the report's seeding may take (reverse-reachable-set sampling; at most half the
#: memory available, too). A log so dense that seeding would need more gets a "too dense" note on the
#: page, and on stderr from the command line, instead of seeds. 1 GiB lets a batch of 50,000 RR sets
#: expand users who receive from about 500 others on average.
SEED_MEMORY_BUDGET = 1 << 30
#: bytes alive per (RR set, in-edge) pair while the sampler expands one breadth-first level
#: (measured: 37.5-37.9 with tracemalloc on a 1,500-user all-to-all graph, batches of 2,000 and 8,000)
_RR_BYTES_PER_PAIR = 40


def seeding_memory(g: Any, *, levels: int = 64, stop_above: float | None = None) -> int:
    """Expected peak bytes of the RR-set sampling behind :func:`kocgraph.tl.seeds` on ``g``, before any
    sampling (tie strengths are computed when missing, as ``kg.tl.seeds`` would).

    The sampler expands a batch of ``B`` RR sets (50,000, the kernel's batch) one breadth-first level
    at a time, holding one row per (set, in-edge of a frontier user) pair, about 40 bytes each. With
    ``x_L[u]`` the chance that user ``u`` is on a set's frontier at level ``L`` (``x_0 = 1/n``: a
    uniform root; ``x_{L+1} = min(1 - seen, A_p x_L)``, the union bound over ``u``'s receivers with
    the forward probabilities ``A_p``), level ``L`` holds ``B * sum_u x_L[u] * indeg(u)`` pairs on
    average; the estimate is the largest level within ``levels`` (it stops early once above
    ``stop_above`` bytes). On a 1,500-user all-to-all log it says 2.8 GiB; the sampler measured
    2.65 GiB above the graph's own memory. The RR sets kept afterwards are bounded by the kernel's
    own cap (20 million sets), not here.

    Examples
    --------
    >>> import kocgraph as kg
    >>> from kocgraph.report import seeding_memory
    >>> 0 < seeding_memory(kg.datasets.toy()) < 2**25  # a few MiB on the toy log
    True
    """
    import scipy.sparse as sp

    from ..algorithms.imm import RR_BATCH
    from ..tl import edge_probabilities

    n = int(g.n_users)
    if n == 0 or g.n_edges == 0:
        return 0
    indptr, indices, p, _ = edge_probabilities(g, "tie_strength")
    Ap = sp.csr_matrix((p, indices, indptr), shape=(n, n))
    indeg = np.bincount(indices, minlength=n).astype(np.float64)  # the sampler's work per frontier user
    x = np.full(n, 1.0 / n)
    seen = x.copy()
    peak = 0.0
    for _ in range(levels):
        peak = max(peak, RR_BATCH * float(x @ indeg) * _RR_BYTES_PER_PAIR)
        if stop_above is not None and peak > stop_above:
            break
        x = np.minimum(Ap @ x, 1.0 - seen)
        seen += x
        if x.sum() * RR_BATCH < 1.0:  # less than one frontier user left in a whole batch
            break
    return int(peak)


def too_dense(work: Any, k: int) -> str | None:
    """Why seeding must be skipped for memory (a sentence), or None when it fits the budget."""
    from .. import report
    from .._core.resources import available_memory

    avail = available_memory()
    cap = int(report.SEED_MEMORY_BUDGET)
    budget = cap if avail is None else min(cap, avail // 2)
    need = seeding_memory(work, stop_above=budget)
    if need <= budget:
        return None
    mean_in = work.n_edges / max(work.n_users, 1)
    return (f"this log is too dense for seeding within this report's memory budget: choosing {k} seed(s) would "
            f"need about {need / 2**30:,.1f} GiB (each of the {work.n_users:,} people receives from "
            f"{mean_in:,.0f} others on average), and the budget is {budget / 2**30:,.1f} GiB. Choose seeds on "
            "a time window or a sample of the log, or call kg.tl.seeds in Python on a machine with more memory")
