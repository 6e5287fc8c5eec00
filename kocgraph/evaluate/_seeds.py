"""``kg.evaluate.compare_seeds``: seeding strategies compared on the same random worlds."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.progress import check_progress, progress_bar
from .._core.tools import check_graph, record
from .._core.validation import check_rng, id_list
from ..algorithms import spread as SP
from ..exceptions import InvalidParameterError
from ..tl import edge_probabilities

__all__ = ["compare_seeds", "STRATEGIES"]

STRATEGIES = ("imm", "degree", "pagerank", "reach", "kocs")


def compare_seeds(
    g: ShareGraph,
    k: int | Iterable[int] = 20,
    *,
    strategies: Iterable[str] = STRATEGIES,
    staff: Iterable[Any] | None = None,
    n: int = 300,
    epsilon: float = 0.2,
    rng: Any = 0,
    progress: bool | None = None,
    key_added: str = "compare_seeds",
) -> pd.DataFrame:
    """Expected spread of each strategy's top-``k`` seeds, simulated in the *same* random worlds.

    Strategies: ``imm`` (:func:`kocgraph.tl.seeds`), ``degree`` (most distinct receivers), ``pagerank``
    (influence PageRank), ``reach`` (past total reach), ``kocs`` (the KOC ranking). Staff are never
    seeds. Every strategy's seed set runs through the same ``n`` Independent Cascade worlds (common
    random numbers), so the comparison is paired. With ``staff``, the spread is the reach the seeds add
    beyond the staff accounts' own (staff and seeds together, minus staff alone, world by world). ``k``
    may be a list: one row per strategy and k. ``progress``: a bar over the strategies, each ranked
    then simulated (None: only in a terminal or Jupyter; True: always; False: never).
    Stored in ``g.tables[key_added]`` (and recorded in ``g.meta[key_added]``) for :func:`kocgraph.pl.spread`.

    Parameters
    ----------
    g
        The graph to simulate on.
    k
        How many seeds (one int, or a list: one row per strategy and k).
    strategies
        Which strategies to compare (a subset of :data:`STRATEGIES`).
    staff
        Staff account ids: never seeds; the spread counted is beyond theirs.
    n
        Simulated worlds, shared by every strategy.
    epsilon
        The ``epsilon`` of :func:`kocgraph.tl.seeds` for the ``imm`` strategy.
    rng
        Seed (an int, None, or a ``numpy.random.Generator``) of the rankings that draw and the worlds; the same seed gives the same result.
    progress
        A progress bar: None (default) only when someone watches (a terminal or Jupyter), True always, False never.
    key_added
        Where the table goes: ``g.tables[key_added]``, recorded in ``g.meta[key_added]``.

    Returns
    -------
    DataFrame with ``strategy``, ``k``, ``spread``, ``lo``, ``hi`` (95% interval), ``gain_vs_degree``
    (paired mean difference with the degree baseline, when present).

    Examples
    --------
    >>> import kocgraph as kg, kocgraph.evaluate
    >>> g = kg.datasets.toy()
    >>> t = kg.evaluate.compare_seeds(g, k=2, staff=["brand", "staff_li"], n=100)
    >>> sorted(t["strategy"]) == sorted(kg.evaluate.STRATEGIES)
    True
    """
    from .. import tl

    g = check_graph(g, "kg.evaluate.compare_seeds")
    ks = sorted({int(x) for x in ([k] if isinstance(k, (int, np.integer)) else k)})
    if not ks or ks[0] < 1:
        raise InvalidParameterError(f"k={k!r} must be a positive integer or a list of them.")
    strategies = list(strategies)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise InvalidParameterError(f"unknown strategies {unknown}; choose from {list(STRATEGIES)}.")
    show = check_progress(progress, where="kg.evaluate.compare_seeds")
    gen = check_rng(rng)
    staff_codes = np.unique(g.user_codes(id_list(staff), what="staff"))
    h = g.copy()
    indptr, indices, p, _ = edge_probabilities(h)
    kmax = ks[-1]
    eligible = np.ones(h.n_users, dtype=bool)
    eligible[staff_codes] = False
    with progress_bar(show, total=2 * len(strategies), desc="compare seeds", unit="step",
                      where="kg.evaluate.compare_seeds") as bar:
        rankings: dict[str, np.ndarray] = {}
        for s in strategies:
            bar.set_description(f"compare seeds: ranking by {s}")
            if s == "imm":
                tl.seeds(h, k=kmax, epsilon=epsilon, exclude_reached_by=None if staff is None else list(staff),
                            n_check=0, rng=gen, key_added="_cmp_seeds", progress=False)
                rankings[s] = h.tables["_cmp_seeds"]["user"].to_numpy()
                bar.update(1)
                continue
            if s == "degree":
                score = np.bincount(h.codes.edge_src, minlength=h.n_users).astype(float)
            elif s == "pagerank":
                if "pagerank" not in h.nodes.columns:
                    tl.pagerank(h)
                score = h.nodes["pagerank"].to_numpy(float)
            elif s == "reach":
                if "reach" not in h.nodes.columns:
                    tl.cascades(h)
                score = h.nodes["reach"].to_numpy(float)
            else:
                tl.kocs(h, staff=None if staff is None else list(staff), key_added="_cmp_koc", progress=False)
                score = h.nodes["_cmp_koc_score"].fillna(-1).to_numpy(float)
            order = np.lexsort((np.arange(h.n_users), -score))
            rankings[s] = order[eligible[order]][:kmax]
            bar.update(1)
        world = int(gen.integers(2**62))
        rows = []
        base: dict[int, np.ndarray] = {}
        for s in strategies:
            bar.set_description(f"compare seeds: simulating {s}")
            # staff first (the baseline: reach beyond what they already get), then the ranking cut at each
            # k; one pass gives every prefix, in the same worlds for every strategy
            cuts = [0] + ks
            groups = [staff_codes] + [rankings[s][a:b] for a, b in zip(cuts[:-1], cuts[1:])]
            cum, _ = SP.simulate_ic_prefixes(indptr, indices, p, groups, n_sims=n, worlds=world)
            for j, kk in enumerate(ks):
                sp_ = cum[:, j + 1] - cum[:, 0]
                m, lo, hi = SP.spread_ci(sp_)
                if s == "degree":
                    base[kk] = sp_
                rows.append({"strategy": s, "k": kk, "spread": m, "lo": lo, "hi": hi, "_runs": sp_})
            bar.update(1)
    rows.sort(key=lambda r: r["k"])  # k by k, strategies in the order asked
    for r in rows:
        r["gain_vs_degree"] = float(np.mean(r["_runs"] - base[r["k"]])) if r["k"] in base else np.nan
        del r["_runs"]
    out = pd.DataFrame(rows)
    out.attrs["paired"] = True
    out.attrs["n"] = n
    g.tables[key_added] = out.copy()
    record(g, key_added, {"k": ks, "strategies": strategies, "n_staff": int(staff_codes.size), "n": n,
                          "epsilon": epsilon, "rng": rng if isinstance(rng, (int, type(None))) else "Generator"},
           tool="evaluate.compare_seeds", tables=[key_added])
    return out
