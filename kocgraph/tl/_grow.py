"""Grow tools: spread simulation and seeding with a guarantee and a budget."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.progress import advance, check_progress, progress_bar
from .._core.tools import check_graph, record
from .._core.validation import check_fraction, check_int, check_rng
from ..algorithms import opim as OPIM
from ..algorithms import spread as SP
from ..exceptions import InvalidParameterError, check_choice
from ._insight import tie_strength

__all__ = ["simulate", "seeds", "edge_probabilities"]


def edge_probabilities(g: ShareGraph, weight: str = "tie_strength") -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """CSR arrays of the share graph with the forward probability of every edge (computing
    :func:`tie_strength` with its defaults when missing)."""
    computed = []
    if weight not in g.edges.columns:
        if weight != "tie_strength":
            raise InvalidParameterError(f"weight={weight!r} is not a column of g.edges; run the tool that writes it.")
        tie_strength(g)
        computed.append("tie_strength")
    p = g.edges[weight].to_numpy(np.float64)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise InvalidParameterError(f"g.edges[{weight!r}] must hold probabilities in [0, 1].")
    A = g.adjacency(None)
    return A.indptr, A.indices, p, computed


def _codes(g: ShareGraph, users: Any, what: str) -> np.ndarray:
    if users is None:
        return np.empty(0, dtype=np.int64)
    if isinstance(users, (str, int, np.integer)):
        users = [users]
    return np.unique(g.user_codes(list(users), what=what))


def simulate(
    g: ShareGraph,
    seeds: Iterable[Any],
    *,
    model: Literal["ic", "lt"] = "ic",
    n: int = 1000,
    weight: str = "tie_strength",
    level: float = 0.95,
    rng: Any = 0,
    key_added: str = "simulate",
    copy: bool = False,
    progress: bool | None = None,
) -> ShareGraph | None:
    """Expected spread of a seed set, with a confidence interval, and each user's activation chance.

    ``model="ic"``: Independent Cascade with the learned tie strengths (each new sharer gets one chance
    per follower, succeeding with the edge's probability). ``"lt"``: Linear Threshold with the tie
    strengths rescaled so every user's incoming weights sum to at most 1. ``n`` runs, many at once;
    the same ``rng`` gives identical results. ``progress``: a bar over the runs (None: only in a
    terminal or Jupyter; True: always; False: never).

    Writes
    ------
    ``g.nodes[key_added + "_p"]`` (share of runs in which the user ends up active) and
    ``g.meta[key_added]``: ``spread`` (mean active users, seeds included), ``ci`` (``level`` normal
    interval of the mean), ``std``; the number of runs is ``params["n"]``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.simulate(g, ["brand"], n=200, rng=0)
    >>> m = g.meta["simulate"]
    >>> m["ci"][0] <= m["spread"] <= m["ci"][1]
    True
    """
    g = check_graph(g, "kg.tl.simulate")
    if copy:
        g = g.copy()
    check_choice("model", model, ("ic", "lt"), where="kg.tl.simulate")
    n = check_int("n", n, minimum=1, where="kg.tl.simulate")
    level = check_fraction("level", level, where="kg.tl.simulate", example=0.95)
    check_progress(progress, where="kg.tl.simulate")
    s = _codes(g, seeds, "seed")
    indptr, indices, p, computed = edge_probabilities(g, weight)
    gen = check_rng(rng)
    with progress_bar(progress, total=n, desc=f"simulate ({model.upper()})", unit="run",
                      where="kg.tl.simulate") as bar:
        if model == "ic":
            spread, act = SP.simulate_ic(indptr, indices, p, s, n_sims=n, rng=gen, callback=advance(bar))
        else:
            tgt = g.codes.edge_tgt
            insum = np.bincount(tgt, weights=p, minlength=g.n_users)
            w = p / np.maximum(insum[tgt], 1.0)
            spread, act = SP.simulate_lt(indptr, indices, w, s, n_sims=n, rng=gen, callback=advance(bar))
    mean, lo, hi = SP.spread_ci(spread, level)
    g.nodes[key_added + "_p"] = act / n
    record(g, key_added, {"model": model, "n": n, "weight": weight, "level": level, "n_seeds": int(s.size),
                          "rng": rng if isinstance(rng, (int, type(None))) else "Generator"},
           spread=mean, ci=[lo, hi], std=float(np.std(spread, ddof=1)) if n > 1 else 0.0, computed=computed)
    return g if copy else None


def seeds(
    g: ShareGraph,
    k: int = 20,
    *,
    epsilon: float = 0.1,
    ell: float = 1.0,
    budget: float | None = None,
    cost: str = "cost",
    candidates: Iterable[Any] | None = None,
    exclude_reached_by: Iterable[Any] | None = None,
    weight: str = "tie_strength",
    n_check: int = 200,
    rng: Any = 0,
    key_added: str = "seeds",
    copy: bool = False,
    progress: bool | None = None,
) -> ShareGraph | None:
    """Choose whom to develop as partners: the ``k`` users whose recruitment buys the most reach.

    Reverse-reachable-set sampling under Independent Cascade with the tie strengths, stopped by OPIM-C's
    online bounds (Tang, Tang, Xiao and Yuan 2018; see :mod:`kocgraph.algorithms.opim` and
    ``docs/definitions.md``): the seeds' expected spread is at least ``(1 - 1/e - epsilon)`` times the
    best possible for ``k`` users, with probability at least ``1 - 1/n^ell``. Sampling stops once that
    is certified from the data *and* the seeds' spread is pinned to within a relative ``epsilon``, so a
    smaller ``epsilon`` buys better seeds and a tighter estimate for more RR sets. With ``budget``,
    users cost ``g.nodes[cost]`` (every cost must be > 0) and the cost-aware greedy (best of
    gain-per-cost greedy and the best single affordable user) gives ``(1 - 1/e)/2 - epsilon``. The
    promised bound, the ratio this run certified, the number of RR sets and each seed's marginal gain go
    to ``g.meta[key_added]``.

    Parameters
    ----------
    candidates
        Eligible users (e.g. KOC candidates); default everyone except ``exclude_reached_by``.
    exclude_reached_by
        Staff accounts: count only reach they do not already get (an RR set that reaches one counts for
        nobody; users they reach for certain are not sampled at all), and never pick them.
    n_check
        IC runs to measure the cumulative spread of each prefix of the seed list (0 to skip).
    progress
        A bar over the RR sets sampled, then the check runs (None: only in a terminal or Jupyter;
        True: always; False: never).

    Writes
    ------
    ``g.tables[key_added]``: ``order``, ``user`` (code), ``marginal_gain``, ``spread`` (RR estimate),
    ``spread_sim``/``spread_lo``/``spread_hi`` (simulated, 95% interval), ``cost``;
    ``g.nodes[key_added + "_order"]``; ``g.meta[key_added]``: ``guarantee`` (the promise in words),
    ``bound`` and ``probability`` (the promise), ``certified_ratio`` (what this run's data certify, with
    the same probability), ``lower_bound``/``spread_upper`` (a confidence interval for the seeds'
    spread), ``opt_upper`` (for the best possible seeds'), ``n_rr_sets``, ``theta``/``theta_max`` (RR
    sets per collection, and the worst-case size), ``theta_capped``/``negligible`` (why the promise is
    only the certified ratio, when it is), ``n_roots`` (users RR sets start from), ``marginal_gains``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.seeds(g, k=2, exclude_reached_by=["brand", "staff_li"], rng=0)
    >>> kg.get.seeds(g)["user"].tolist()
    ['alice', 'judy']
    """
    g = check_graph(g, "kg.tl.seeds")
    if copy:
        g = g.copy()
    k = check_int("k", k, minimum=1, where="kg.tl.seeds")
    check_progress(progress, where="kg.tl.seeds")
    if not (0 < float(epsilon) < 1 - 1 / np.e):
        raise InvalidParameterError(f"epsilon={epsilon!r} must be in (0, 0.63); 0.1 is usual.")
    n_users = g.n_users
    excl = _codes(g, exclude_reached_by, "staff")
    allowed = None
    if candidates is not None:
        allowed = np.zeros(n_users, dtype=bool)
        allowed[_codes(g, candidates, "candidate")] = True
    costs = None
    if budget is not None:
        if cost not in g.nodes.columns:
            raise InvalidParameterError(
                f"budget= needs a cost per user in g.nodes[{cost!r}]; columns are {list(g.nodes.columns)}. "
                f"Set g.nodes[{cost!r}] = ... (every cost > 0)."
            )
        costs = g.nodes[cost].to_numpy(np.float64)
        bad = ~(np.isfinite(costs) & (costs > 0))
        if bad.any():
            i = np.flatnonzero(bad)[:3]
            raise InvalidParameterError(
                f"every cost must be a positive number; g.nodes[{cost!r}] has {int(bad.sum())} that are not, e.g. "
                f"{dict(zip(g.nodes.index[i].tolist(), costs[i].tolist()))}. A free partner is not a thing: "
                "give each user a positive cost (e.g. 1 for a standard partner fee)."
            )
        if not float(budget) > 0:
            raise InvalidParameterError(f"budget={budget!r} must be > 0.")
    indptr, indices, p, computed = edge_probabilities(g, weight)
    gen = check_rng(rng)
    with progress_bar(progress, total=None, desc="seeds: sampling RR sets", unit="set",
                      where="kg.tl.seeds") as bar:
        res = OPIM.opim_c(indptr, indices, p, k, epsilon=epsilon, ell=ell, rng=gen, candidates=allowed,
                          exclude=excl, costs=costs, budget=budget, callback=advance(bar))
    S = res["seeds"]
    tab = pd.DataFrame({
        "order": np.arange(1, S.size + 1), "user": S, "marginal_gain": res["gains"], "spread": res["spread"],
        "cost": costs[S] if costs is not None else np.ones(S.size),
    })
    if n_check and not S.size:  # nobody chosen (e.g. a budget below every cost): same columns, no rows
        tab["spread_sim"] = tab["spread_lo"] = tab["spread_hi"] = np.empty(0)
    elif n_check:
        # every prefix of the seed list in the same random worlds (paired), in one pass: the staff
        # first (their own reach is the baseline), then the seeds one by one
        world = int(gen.integers(2**62))
        with progress_bar(progress, total=n_check, desc="seeds: checking the spread", unit="run",
                          where="kg.tl.seeds") as bar:
            cum, _ = SP.simulate_ic_prefixes(indptr, indices, p, [excl] + [S[j : j + 1] for j in range(S.size)],
                                             n_sims=n_check, worlds=world, callback=advance(bar))
        sims = [SP.spread_ci(cum[:, j + 1] - cum[:, 0]) for j in range(S.size)]
        tab["spread_sim"] = [m for m, _, _ in sims]
        tab["spread_lo"] = [lo for _, lo, _ in sims]
        tab["spread_hi"] = [hi for _, _, hi in sims]
    g.tables[key_added] = tab
    order = pd.array(np.zeros(n_users, dtype=np.int64), dtype="Int64")
    order[:] = pd.NA
    order[S] = np.arange(1, S.size + 1)
    g.nodes[key_added + "_order"] = order
    record(g, key_added, {"k": k, "epsilon": epsilon, "ell": ell, "budget": budget, "cost": cost if budget else None,
                          "n_candidates": None if allowed is None else int(allowed.sum()),
                          "n_excluded": int(excl.size), "weight": weight, "n_check": n_check,
                          "rng": rng if isinstance(rng, (int, type(None))) else "Generator"},
           method="OPIM-C" + (" (budgeted greedy)" if budget else ""),
           bound=res["bound"], probability=res["probability"], certified_ratio=res["certified_ratio"],
           n_rr_sets=res["n_rr_sets"], theta=res["theta"], theta_max=res["theta_max"], theta_capped=res["capped"],
           negligible=res["negligible"], lower_bound=res["lower_bound"], spread_upper=res["spread_upper"],
           opt_upper=res["opt_upper"], n_roots=res["n_roots"],
           marginal_gains=np.asarray(res["gains"]).tolist(), guarantee=_guarantee(res),
           computed=computed)
    return g if copy else None


def _guarantee(res: dict[str, Any]) -> str:
    """The promise of a seeding run in words, for ``g.meta`` and the report."""
    if res["negligible"]:
        return (f"no choice of partners adds as much as one user: the best adds at most {res['opt_upper']:.2f} "
                f"users, with probability >= {res['probability']:.6f}")
    if res["capped"]:
        return (f"expected spread >= {res['bound']:.3f} x optimum with probability >= {res['probability']:.6f}, "
                "as far as this run could certify: the RR-set cap stopped it before the promised bound")
    return (f"expected spread >= {res['bound']:.3f} x optimum with probability >= {res['probability']:.6f} "
            f"(OPIM-C; this run certifies >= {res['certified_ratio']:.3f} x optimum)")
