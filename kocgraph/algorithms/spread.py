"""Spread simulation: Independent Cascade and Linear Threshold, many runs at once.

Pure kernels on a CSR graph (``indptr``, ``indices``) with per-edge probabilities ``p`` (IC) or
weights ``w`` (LT; the incoming weights of every node sum to at most 1). A batch of simulations
advances together as one frontier of (run, user) pairs: each step is a handful of numpy passes, with
no Python loop over edges, users or runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["simulate_ic", "simulate_ic_prefixes", "simulate_lt", "spread_ci", "simulate_ic_reference", "batch_size_for"]

#: memory budget of one batch's visited/threshold state, in bytes
BATCH_BYTES = 256 * 1024 * 1024


def batch_size_for(n: int, n_sims: int, bytes_per_cell: int = 1) -> int:
    """How many runs share one batch so that its n-by-batch state stays within :data:`BATCH_BYTES`."""
    return int(max(1, min(n_sims, BATCH_BYTES // max(1, n * bytes_per_cell))))


def _gather_out(indptr: np.ndarray, run: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge indices of the out-edges of each (run, node) pair, with the run repeated alongside."""
    start = indptr[node]
    deg = indptr[node + 1] - start
    tot = int(deg.sum())
    if tot == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rep_run = np.repeat(run, deg)
    offs = np.arange(tot, dtype=np.int64) - np.repeat(np.cumsum(deg) - deg, deg)
    return rep_run, np.repeat(start, deg) + offs


def simulate_ic(
    indptr: np.ndarray,
    indices: np.ndarray,
    p: np.ndarray,
    seeds: np.ndarray,
    *,
    n_sims: int = 1000,
    rng: Any = None,
    worlds: int | None = None,
    callback: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent Cascade: each newly active user gets one chance to activate each out-neighbour,
    succeeding with the edge's probability.

    With ``worlds=SEED`` the coin of edge ``e`` in run ``r`` is a fixed hash of ``(SEED, r, e)``:
    run ``r`` then happens in the same random world whatever the seed set, so spreads of different
    seed sets are *paired* (common random numbers) and their differences have far less noise.

    Returns ``(spread, activations)``: the number of active users at the end of each run (seeds
    included), and for every user the number of runs in which it became active. ``callback(step,
    total)``, when given, is called after each batch of runs (``total`` = ``n_sims``): for a progress bar.

    Examples
    --------
    A path 0 -> 1 -> 2 with certain edges: every run activates all three users.

    >>> s, a = simulate_ic(np.array([0, 1, 2, 2]), np.array([1, 2]), np.array([1.0, 1.0]), np.array([0]), n_sims=5, rng=0)
    >>> s.tolist(), a.tolist()
    ([3, 3, 3, 3, 3], [5, 5, 5])
    """
    seeds = np.unique(np.asarray(seeds, dtype=np.int64))
    cum, act = _ic(indptr, indices, p, [seeds], n_sims, np.random.default_rng(rng), worlds, callback)
    return cum[:, 0], act


def simulate_ic_prefixes(
    indptr: np.ndarray,
    indices: np.ndarray,
    p: np.ndarray,
    groups: list[np.ndarray],
    *,
    n_sims: int = 1000,
    rng: Any = None,
    worlds: int | None = None,
    callback: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Independent Cascade spread of every prefix of a list of seed groups, in one pass.

    Run by run, the seeds of ``groups[0]`` start the cascade; once it stops, those of ``groups[1]``
    join, and so on. In a live-edge world the active users are those reachable from the seeds, so the
    count after group ``j`` is the spread of ``groups[0] ∪ ... ∪ groups[j]``: the whole seed list's
    prefixes cost about as much as one simulation of the full set. With ``worlds=SEED`` the counts
    equal those of :func:`simulate_ic` on each prefix with the same ``worlds``.

    Returns ``(cumulative, activations)``: an ``(n_sims, len(groups))`` array of active users after
    each group, and per user the number of runs in which the full set activates it. ``callback`` as in
    :func:`simulate_ic`.

    Examples
    --------
    Path 0 -> 1 -> 2 and an isolated user 3, certain edges: seeding 1, then 0, then 3.

    >>> c, a = simulate_ic_prefixes(np.array([0, 1, 2, 2, 2]), np.array([1, 2]), np.ones(2),
    ...                             [np.array([1]), np.array([0]), np.array([3])], n_sims=2, rng=0)
    >>> c.tolist()
    [[2, 3, 4], [2, 3, 4]]
    """
    groups = [np.unique(np.asarray(g_, dtype=np.int64)) for g_ in groups]
    return _ic(indptr, indices, p, groups, n_sims, np.random.default_rng(rng), worlds, callback)


def _ic(indptr: np.ndarray, indices: np.ndarray, p: np.ndarray, groups: list[np.ndarray], n_sims: int,
        gen: np.random.Generator, worlds: int | None, callback: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Batched IC: the state of ``B`` runs is one flat array over (run, user) keys ``run * n + user``;
    each step gathers the frontier's out-edges, flips their coins and keeps the new keys. Duplicate
    keys are removed with a scratch "slot" array (the last writer of a key keeps it), not a sort."""
    n = indptr.shape[0] - 1
    cum = np.zeros((n_sims, len(groups)), dtype=np.int64)
    act = np.zeros(n, dtype=np.int64)
    m = np.int64(max(indices.shape[0], 1))
    bsz = batch_size_for(n, n_sims, bytes_per_cell=5)
    for b0 in range(0, n_sims, bsz):
        B = min(bsz, n_sims - b0)
        visited = np.zeros(B * n, dtype=bool)
        slot = np.empty(B * n, dtype=np.int32)  # read only where written in the same step
        count = np.zeros(B, dtype=np.int64)
        for j, grp in enumerate(groups):
            key = (np.arange(B, dtype=np.int64)[:, None] * n + grp[None, :]).ravel()
            key = key[~visited[key]]
            while key.size:
                visited[key] = True
                run, node = np.divmod(key, n)
                count += np.bincount(run, minlength=B)
                r, e = _gather_out(indptr, run, node)
                if r.size == 0:
                    break
                u = gen.random(r.size) if worlds is None else _world_uniform(worlds, (r + b0) * m + e)
                hit = u < p[e]
                key = r[hit] * n + indices[e[hit]]
                key = key[~visited[key]]
                ar = np.arange(key.size, dtype=np.int32)
                slot[key] = ar
                key = key[slot[key] == ar]
            cum[b0 : b0 + B, j] = count
        act += visited.reshape(B, n).sum(axis=0)
        if callback is not None:
            callback(B, n_sims)
    return cum, act


def _world_uniform(seed: int, key: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers that are a fixed function of (seed, key): splitmix64, vectorized."""
    with np.errstate(over="ignore"):
        offset = np.uint64((int(seed) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
        x = key.astype(np.uint64) + offset
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def simulate_lt(
    indptr: np.ndarray,
    indices: np.ndarray,
    w: np.ndarray,
    seeds: np.ndarray,
    *,
    n_sims: int = 1000,
    rng: Any = None,
    callback: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear Threshold: each user draws a threshold uniform in [0, 1] per run and becomes active once
    the summed weights of its active in-neighbours reach it. Same returns (and ``callback``) as
    :func:`simulate_ic`.

    Examples
    --------
    >>> s, a = simulate_lt(np.array([0, 1, 1]), np.array([1]), np.array([1.0]), np.array([0]), n_sims=4, rng=0)
    >>> s.tolist()
    [2, 2, 2, 2]
    """
    gen = np.random.default_rng(rng)
    n = indptr.shape[0] - 1
    seeds = np.unique(np.asarray(seeds, dtype=np.int64))
    spread = np.zeros(n_sims, dtype=np.int64)
    act = np.zeros(n, dtype=np.int64)
    bsz = batch_size_for(n, n_sims, bytes_per_cell=13)
    for b0 in range(0, n_sims, bsz):
        B = min(bsz, n_sims - b0)
        theta = gen.random(B * n, dtype=np.float32)
        acc = np.zeros(B * n, dtype=np.float32)
        active = np.zeros(B * n, dtype=bool)
        slot = np.empty(B * n, dtype=np.int32)  # duplicate keys -> one representative, without a sort
        run = np.repeat(np.arange(B, dtype=np.int64), seeds.size)
        node = np.tile(seeds, B)
        active[run * n + node] = True
        while run.size:
            r, e = _gather_out(indptr, run, node)
            if r.size == 0:
                break
            key = r * n + indices[e]
            fresh = ~active[key]
            key, wt = key[fresh], w[e[fresh]]
            ar = np.arange(key.size, dtype=np.int32)
            slot[key] = ar
            rep = slot[key]
            sums = np.bincount(rep, weights=wt, minlength=key.size)
            first = rep == ar
            key = key[first]
            acc[key] += sums[first].astype(np.float32)
            new = key[acc[key] >= theta[key]]
            active[new] = True
            run, node = np.divmod(new, n)
        per = active.reshape(B, n)
        spread[b0 : b0 + B] = per.sum(axis=1)
        act += per.sum(axis=0)
        if callback is not None:
            callback(B, n_sims)
    return spread, act


def spread_ci(spreads: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean spread and its normal-approximation confidence interval ``(mean, lo, hi)``.

    >>> spread_ci(np.array([2.0, 4.0, 6.0]))[0]
    4.0
    """
    x = np.asarray(spreads, dtype=np.float64)
    m = float(x.mean()) if x.size else float("nan")
    if x.size < 2:
        return m, m, m
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * float(x.std(ddof=1)) / math.sqrt(x.size)
    return m, m - half, m + half


def simulate_ic_reference(indptr: np.ndarray, indices: np.ndarray, p: np.ndarray, seeds: Any, *,
                          n_sims: int, rng: Any = None) -> np.ndarray:
    """Plain-Python Independent Cascade, one run at a time: the reference for tests (slow).

    >>> simulate_ic_reference(np.array([0, 1, 1]), np.array([1]), np.array([1.0]), [0], n_sims=2, rng=0).tolist()
    [2, 2]
    """
    import random

    r = random.Random(rng)
    out = []
    for _ in range(n_sims):
        active = set(int(s) for s in seeds)
        frontier = list(active)
        while frontier:
            nxt = []
            for u in frontier:
                for e in range(int(indptr[u]), int(indptr[u + 1])):
                    v = int(indices[e])
                    if v not in active and r.random() < p[e]:
                        active.add(v)
                        nxt.append(v)
            frontier = nxt
        out.append(len(active))
    return np.array(out, dtype=np.int64)
