"""Kernels of the fitted KOC score (DESIGN §5, revised 2026-12): features, inner cuts, the fit.

Pure kernels: numpy / scipy in, numpy out; no ShareGraph, no pandas.

* :func:`user_features` -- the candidate features of every user on one window of events: counts
  from the cascade forest (reach, resharers, direct reach, items started), forwards sent, distinct
  receivers and senders, influence PageRank, coreness, conversions, and recency-decayed reach and
  forwards on the *event clock* and the *wall clock*.
* :func:`log_features` -- ``log1p`` of each count (PageRank: the log of its ratio to the floor every
  user gets), so a zero feature is exactly zero.
* :func:`topk_hits` -- expected top-k sums with ties broken uniformly at random (exactly).
* :func:`fit_weights` -- choose, across several inner cuts, between each single feature and
  non-negative least-squares blends; return non-negative weights on the log features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .cascades import Forest, build_forest, user_metrics
from .centrality import coreness as _coreness
from .centrality import pagerank as _pagerank

__all__ = [
    "COUNT_FEATURES", "RECENCY_FEATURES", "HALF_LIVES", "distinct", "user_features", "log_features", "event_ages",
    "wall_ages", "subtree_sums", "recency_parts", "item_user_matrices", "topk_hits", "precision_at", "Cut",
    "FitResult", "fit_weights", "calibrate", "kol_cut", "split_mode", "time_cut", "item_cut", "nnls_weights",
    "contenders", "eligible_users", "sample_events", "MIN_SPREADERS",
]

#: count-like features, in their canonical order (conversions only when the log has them)
COUNT_FEATURES = ("reach", "resharers", "direct_reach", "forwards", "receivers", "senders", "items_started",
                  "pagerank", "coreness", "conversions", "conversion_value")
#: recency-decayed features: ``<name>@<half-life>``, the half-life a fraction of the window
RECENCY_FEATURES = ("reach_recent_event", "forwards_recent_event", "reach_recent_wall", "forwards_recent_wall")
#: the half-lives (fractions of the window) the fit chooses among
HALF_LIVES = (0.05, 0.1, 0.2, 0.4)


def distinct(a: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (a sort and a diff: several times faster than
    ``np.unique``'s hashing on millions of values).

    >>> distinct(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(np.asarray(a).ravel())
    if s.size == 0:
        return s
    keep = np.empty(s.size, dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def event_ages(time: np.ndarray) -> np.ndarray:
    """Age of each event on the *event clock*: the share of the window's events strictly after it.

    The latest events have age 0; events at the same time share their age, so the row order of ties
    does not matter.

    >>> event_ages(np.array([5, 1, 3, 3])).tolist()
    [0.0, 0.75, 0.25, 0.25]
    """
    t = np.asarray(time)
    n = t.shape[0]
    if n == 0:
        return np.zeros(0)
    s = np.sort(t)
    later = np.searchsorted(s, t, side="right")
    del s  # at most two event-sized arrays at once
    np.subtract(n, later, out=later)
    return np.divide(later, n, out=np.empty(n, dtype=np.float64))


def wall_ages(time: np.ndarray) -> np.ndarray | None:
    """Age of each event on the *wall clock*: ``(t_max - t) / (t_max - t_min)``; ``None`` when every
    event has the same time (the window has no length).

    >>> wall_ages(np.array([0, 5, 10])).tolist()
    [1.0, 0.5, 0.0]
    """
    t = np.asarray(time, dtype=np.int64)
    window = _window(t)
    if window is None:
        return None
    lo, hi = window
    return (hi - t).astype(np.float64) / float(hi - lo)


def _window(t: np.ndarray) -> tuple[int, int] | None:
    """The first and last time of ``t`` (int64), or None when the window has no length."""
    if t.shape[0] == 0:
        return None
    lo, hi = int(t.min()), int(t.max())
    return (lo, hi) if hi > lo else None


def subtree_sums(parent: np.ndarray, depth: np.ndarray, weights: np.ndarray, *, copy: bool = True) -> np.ndarray:
    """Sum of ``weights`` over each node's subtree (the node included), deepest level first.

    ``weights`` may be 2-D (one column per weighting); the sums are taken column by column.
    ``copy=False`` sums in place when ``weights`` is a float64 array (it is then the result).

    >>> subtree_sums(np.array([-1, 0, 1, 0]), np.array([0, 1, 2, 1]), np.array([1.0, 2.0, 4.0, 8.0])).tolist()
    [15.0, 6.0, 4.0, 8.0]
    """
    s = np.array(weights, dtype=np.float64, copy=True if copy else None)
    if s.shape[0] == 0:
        return s
    order = np.argsort(depth, kind="stable")
    bounds = np.searchsorted(depth[order], np.arange(int(depth.max()) + 2))
    for d in range(bounds.shape[0] - 2, 0, -1):
        nodes = order[bounds[d] : bounds[d + 1]]
        np.add.at(s, parent[nodes], s[nodes])
    return s


def recency_parts(f: Forest, time: np.ndarray, half_lives: Sequence[float]) -> dict[str, tuple[str, np.ndarray]]:
    """The per-item pieces of the recency-decayed features, before they are summed per user.

    Each event (a forward; a holder's join) weighs ``2 ** (-age / half_life)``, its age on the event
    clock (:func:`event_ages`) and, when the window has a length, on the wall clock
    (:func:`wall_ages`). ``forwards_recent_<clock>@<h>`` is ``("event", w)``: one weight per event,
    credited to its source. ``reach_recent_<clock>@<h>`` is ``("holder", w)``: per holder of the
    forest, the summed weights of its descendants' joins, credited to the holder's user.
    """
    out: dict[str, tuple[str, np.ndarray]] = {}
    hl = np.asarray(half_lives, dtype=np.float64)
    if hl.size == 0:
        return out
    # one (events x clocks*half-lives) weight matrix, filled in place clock by clock (one age array at
    # a time, no stacked copy: at 1e7 events two clocks at four half-lives are 640 MB), one subtree
    # pass for every column
    t = np.asarray(time, dtype=np.int64)
    clocks: list[tuple[str, Any]] = [("event", event_ages)]
    if _window(t) is not None:  # wall_ages' own test: the wall clock needs a window with a length
        clocks.append(("wall", wall_ages))
    names = [name for name, _ in clocks]
    w_ev = np.empty((t.shape[0], len(clocks) * hl.size))
    for i, (_, ages) in enumerate(clocks):
        age = ages(time)
        w = w_ev[:, i * hl.size:(i + 1) * hl.size]
        np.divide(age[:, None], hl[None, :], out=w)  # -(age / h) is (-age) / h exactly
        del age
        np.exp2(np.negative(w, out=w), out=w)
    below = subtree_sums(f.parent, f.depth, w_ev[f.hold_event], copy=False)
    for col in range(w_ev.shape[1]):  # less the node's own weight, gathered again column by column
        below[:, col] -= w_ev[f.hold_event, col]
    for i, clock in enumerate(names):
        for j, h in enumerate(hl):
            col = i * hl.size + j
            out[f"forwards_recent_{clock}@{h:g}"] = ("event", w_ev[:, col])
            out[f"reach_recent_{clock}@{h:g}"] = ("holder", below[:, col])
    return out


def _values_at(value: np.ndarray | None, at: np.ndarray) -> np.ndarray:
    """The events' values where ``at`` (a bool mask), NaN read as 0 (zeros when there are no values).
    Only the selected events are copied: the value column of a large log is not.

    >>> _values_at(np.array([1.0, np.nan, 3.0]), np.array([False, True, True])).tolist()
    [0.0, 3.0]
    """
    if value is None:
        return np.zeros(int(np.count_nonzero(at)))
    return np.nan_to_num(np.asarray(value)[at].astype(np.float64, copy=False), nan=0.0)


def user_features(
    src: np.ndarray,
    tgt: np.ndarray,
    item: np.ndarray,
    time: np.ndarray,
    n_users: int,
    *,
    forest: Forest | None = None,
    pagerank: np.ndarray | None = None,
    coreness: np.ndarray | None = None,
    conversions: np.ndarray | None = None,
    conversion_value: np.ndarray | None = None,
    half_lives: Sequence[float] = HALF_LIVES,
    edges: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The raw candidate features of every user code on one window of events.

    Parameters
    ----------
    src, tgt, item : int arrays of the window's events (user codes, item codes)
    time : int64 array
        Event times (ns); ties broken by position.
    n_users : int
        Number of user codes (users absent from the window get zeros).
    forest, pagerank, coreness : optional
        Already computed on these very events (saves recomputing them).
    conversions : bool array, optional
        Which events are conversions (credited to their source); ``None``: the log has none.
    conversion_value : float array, optional
        Value of each event (read where ``conversions``).
    half_lives : sequence of float
        Half-lives of the recency features, as fractions of the window.
    edges : (source codes, target codes) of the distinct pairs, optional
        Already known (``g.codes.edge_src``, ``edge_tgt``).

    Returns
    -------
    dict
        ``name -> float64 array (n_users,)``, in :data:`COUNT_FEATURES` order, then the recency
        features ``<name>@<half-life>``. ``pagerank`` is the influence PageRank (target -> source,
        weighted by forwards); ``receivers``/``senders`` count distinct users.

    Examples
    --------
    >>> # a -> b -> c on one item, a -> c later (an exposure)
    >>> F = user_features(np.array([0, 1, 0]), np.array([1, 2, 2]), np.zeros(3, int), np.array([1, 2, 3]), 3,
    ...                   half_lives=(0.5,))
    >>> F["reach"].tolist(), F["forwards"].tolist(), F["resharers"].tolist()
    ([2.0, 1.0, 0.0], [2.0, 1.0, 0.0], [1.0, 0.0, 0.0])
    """
    src, tgt = _int_codes(src), _int_codes(tgt)  # int32 codes stay int32 (no event-sized copies)
    time = np.asarray(time, dtype=np.int64)
    n = int(n_users)
    if forest is None:
        forest = build_forest(src, tgt, np.asarray(item), time, n)
    um = user_metrics(forest, n)
    if edges is None:
        key = distinct(src.astype(np.int64) * max(n, 1) + tgt)
        e_src, e_tgt = key // max(n, 1), key % max(n, 1)
    else:
        e_src, e_tgt = np.asarray(edges[0], dtype=np.int64), np.asarray(edges[1], dtype=np.int64)
    if pagerank is None or coreness is None:
        A = sp.csr_matrix((np.ones(src.shape[0]), (src, tgt)), shape=(n, n))
        if pagerank is None:
            pagerank = _pagerank(A.T.tocsr())[0]
        if coreness is None:
            coreness = _coreness(e_src, e_tgt, n)
    out: dict[str, np.ndarray] = {
        "reach": um["reach"].astype(np.float64),
        "resharers": um["resharers"].astype(np.float64),
        "direct_reach": um["direct_reach"].astype(np.float64),
        "forwards": np.bincount(src, minlength=n).astype(np.float64),
        "receivers": np.bincount(e_src, minlength=n).astype(np.float64),
        "senders": np.bincount(e_tgt, minlength=n).astype(np.float64),
        "items_started": um["items_started"].astype(np.float64),
        "pagerank": np.asarray(pagerank, dtype=np.float64),
        "coreness": np.asarray(coreness, dtype=np.float64),
    }
    if conversions is not None:
        cm = np.asarray(conversions, dtype=bool)
        out["conversions"] = np.bincount(src[cm], minlength=n).astype(np.float64)
        out["conversion_value"] = np.bincount(src[cm], weights=_values_at(conversion_value, cm), minlength=n)
    for name, (kind, w) in recency_parts(forest, time, half_lives).items():
        out[name] = np.bincount(src if kind == "event" else forest.user, weights=w, minlength=n)
    return out


def _int_codes(a: Any) -> np.ndarray:
    """Integer codes as they are when int32/int64, else as int64."""
    a = np.asarray(a)
    return a if a.dtype in (np.int32, np.int64) else a.astype(np.int64)


def log_features(features: Mapping[str, np.ndarray], names: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
    """The model's inputs: ``log1p`` of each count, so a zero count is exactly 0; for ``pagerank``
    ``log(pagerank / min(pagerank))``, 0 for the users at the floor every user gets (no influence).
    ``rows`` (a bool mask or indices) keeps only those users' rows, the floor still taken over all.

    >>> F = {"reach": np.array([0.0, np.e - 1]), "pagerank": np.array([0.1, 0.2])}
    >>> log_features(F, ["reach", "pagerank"]).round(4).tolist()
    [[0.0, 0.0], [1.0, 0.6931]]
    >>> log_features(F, ["reach", "pagerank"], rows=np.array([False, True])).round(4).tolist()
    [[1.0, 0.6931]]
    """
    m = len(next(iter(features.values()))) if features else 0
    if rows is not None:
        rows = np.asarray(rows)
        m = int(np.count_nonzero(rows)) if rows.dtype == bool else rows.shape[0]
    out = np.empty((m, len(names)))  # filled column by column: no stack of full-length copies
    for j, k in enumerate(names):
        v = np.asarray(features[k], dtype=np.float64)
        if k == "pagerank":
            lo = v[v > 0].min() if (v > 0).any() else 1.0  # over every user, before rows are taken
            out[:, j] = np.maximum(np.log(np.maximum(v if rows is None else v[rows], lo) / lo), 0.0)
        else:
            out[:, j] = np.log1p(np.maximum(v if rows is None else v[rows], 0.0))
    return out


#: features that are sums over items (recomputed when items are resampled); the others are held fixed
ADDITIVE = ("reach", "resharers", "direct_reach", "forwards", "items_started", "conversions", "conversion_value")


def item_user_matrices(
    f: Forest, src: np.ndarray, item: np.ndarray, time: np.ndarray, n_users: int, n_items: int,
    names: Sequence[str], *, conversions: np.ndarray | None = None, conversion_value: np.ndarray | None = None,
) -> dict[str, sp.csr_matrix]:
    """``(n_items, n_users)`` matrices whose column sums are the features in ``names`` that add up
    over items (:data:`ADDITIVE` and the recency features): one row per item's contribution. The
    others (distinct receivers and senders, PageRank, coreness) are not sums over items and get no
    matrix.

    >>> f = build_forest(np.array([0, 1]), np.array([1, 2]), np.array([0, 1]), np.array([1, 2]), 3)
    >>> M = item_user_matrices(f, np.array([0, 1]), np.array([0, 1]), np.array([1, 2]), 3, 2, ["reach", "pagerank"])
    >>> sorted(M), M["reach"].toarray().tolist()
    (['reach'], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    """
    src = np.asarray(src, dtype=np.int64)
    item = np.asarray(item, dtype=np.int64)
    u = f.user.astype(np.int64)
    it = f.item.astype(np.int64)
    child = f.parent >= 0
    parts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
        "reach": (it, u, (f.size - 1).astype(np.float64)),
        "direct_reach": (it[child], u[f.parent[child]], np.ones(int(child.sum()))),
        "items_started": (it[~child], u[~child], np.ones(int((~child).sum()))),
        "forwards": (item, src, np.ones(src.shape[0])),
    }
    moved = child & (f.size > 1)
    parts["resharers"] = (it[moved], u[f.parent[moved]], np.ones(int(moved.sum())))
    if conversions is not None:
        cm = np.asarray(conversions, dtype=bool)
        parts["conversions"] = (item[cm], src[cm], np.ones(int(cm.sum())))
        parts["conversion_value"] = (item[cm], src[cm], _values_at(conversion_value, cm))
    hls = sorted({float(n.split("@")[1]) for n in names if "@" in n})
    for name, (kind, w) in recency_parts(f, time, hls).items():
        parts[name] = (item, src, w) if kind == "event" else (it, u, w)
    return {k: sp.csr_matrix((parts[k][2], (parts[k][0], parts[k][1])), shape=(n_items, n_users))
            for k in names if k in parts}


# ------------------------------------------------------------------------------------------ measuring
def topk_hits(score: np.ndarray, values: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """For each k: the expected sum of ``values`` (one column each) over the top-k users by
    ``score``, ties at the k-th place broken uniformly at random (computed exactly, not drawn).

    Users strictly above the k-th score count fully; the ``k - n_above`` remaining places are filled
    from the group tied at the k-th score, each member with equal probability, so that group
    contributes ``(k - n_above) * mean(values over the group)``. Shape ``(len(ks), n_cols)``.

    >>> topk_hits(np.array([3.0, 1.0, 1.0]), np.array([[1.0], [4.0], [0.0]]), [1, 2]).ravel().tolist()
    [1.0, 3.0]
    """
    score = np.asarray(score, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(score.shape[0], -1)
    n = score.shape[0]
    out = np.zeros((len(ks), values.shape[1]))
    if n == 0:
        return out
    s_desc = np.sort(score)[::-1]
    for i, k in enumerate(ks):  # a few k values
        kk = min(int(k), n)
        thr = s_desc[kk - 1]
        above = score > thr
        tied = score == thr
        out[i] = values[above].sum(axis=0) + (kk - int(above.sum())) * values[tied].mean(axis=0)
    return out


def precision_at(score: np.ndarray, future: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """Expected precision@k (ties in ``score`` broken in expectation): the share of the top-k that
    are among the true top-k by ``future`` (users with ``future > 0`` and at least the k-th largest
    value; ties with the k-th all count). ``k`` above the number of users uses all of them.

    >>> precision_at(np.array([3.0, 2.0, 1.0, 0.0]), np.array([5.0, 0.0, 7.0, 1.0]), [1, 2]).tolist()
    [0.0, 0.5]
    """
    future = np.asarray(future, dtype=np.float64)
    n = future.shape[0]
    if n == 0:
        return np.full(len(ks), np.nan)
    f_desc = np.sort(future)[::-1]
    rel = []
    for k in ks:
        thr = f_desc[min(int(k), n) - 1]
        rel.append(((future >= thr) & (future > 0)).astype(np.float64))
    hits = topk_hits(score, np.column_stack(rel), ks)
    return np.array([hits[i, i] / min(int(k), n) for i, k in enumerate(ks)])


# ------------------------------------------------------------------------------------------ inner cuts
#: a cut is usable for the blend when at least this many eligible users reach someone after it
MIN_SPREADERS = 30
#: below that, cuts with at least this many still choose the best single rule (no blend)
MIN_RULE_SPREADERS = 10
#: the cut-offs of the inner measure (precision@k, averaged over k)
FIT_KS = (50, 100)
#: contenders of the blend: the users in the top ``CONTENDER_FACTOR * max(FIT_KS)`` by any feature
CONTENDER_FACTOR = 2
#: the ``m`` of :func:`contenders` that the blend uses
CONTENDER_M = CONTENDER_FACTOR * max(FIT_KS)
#: the blend must beat the best rule by this many standard errors of their per-cut differences; 0: by
#: any margin (on 20 outer splits of the four real logs, 1.0 changed no choice but one, which cost 0.08
#: precision@50)
BLEND_MARGIN = 0.0
#: weight of a contender who reached nobody after the cut, relative to one who did
ZERO_WEIGHT = 0.2
#: the inner cuts of a time split: fractions of the window's time span. Five cuts, not three: on the
#: 15 outer splits of the three real logs with clocks, the choice made on five was never behind the
#: best rule (three: behind on 2) and ahead more often (docs/benchmarks.md, "Beyond the one split")
TIME_CUTS = (0.6, 0.65, 0.7, 0.75, 0.8)
#: 1971-01-01 in ns since the epoch: earlier times are read as offsets from a per-item zero
_YEAR_1971_NS = 31_536_000 * 10**9
#: the inner cuts of an item split: ``N_ITEM_DRAWS`` random draws of ``ITEM_CUT`` of the items
ITEM_CUT = 0.7
N_ITEM_DRAWS = 5


def kol_cut(kol_threshold: Any, n_users: int) -> int | None:
    """The largest number of distinct receivers a KOC candidate may have: ``"auto"`` is
    ``max(1000, ceil(1% of the users))``, ``None`` no limit, an integer itself.

    >>> kol_cut("auto", 250_000), kol_cut(None, 10), kol_cut(50, 10)
    (2500, None, 50)
    """
    if kol_threshold is None:
        return None
    if isinstance(kol_threshold, str):
        return max(1000, int(np.ceil(0.01 * n_users)))
    return int(kol_threshold)


def split_mode(time: np.ndarray, item: np.ndarray, *, has_time: bool) -> tuple[str | None, str]:
    """How a log's own history can be split: ``("time", why)``, ``("item", why)`` or ``(None, why)``.

    By time when the log has real times on one shared clock. By item when it has no time column,
    one timestamp for every event, or *relative* times: each item's clock starting at zero (as in
    adoption data that give delays from each cascade's seed), seen as times that are offsets rather
    than dates (before 1971-01-01, i.e. within a year of the zero of the clock) with half the items
    or more starting in the first 5% of the log's time span. Not at all with fewer than 3 items then.

    >>> split_mode(np.array([1, 2, 3, 9]), np.array([0, 0, 1, 2]), has_time=True)[0]
    'time'
    >>> split_mode(np.array([0, 95, 1, 7, 0, 2]) * 10**9, np.array([0, 0, 1, 1, 2, 2]), has_time=True)
    ('item', 'the times are offsets from zero and half the items start in the first 5% of the span (relative times): split by item')
    """
    t = np.asarray(time, dtype=np.int64)
    it = np.asarray(item)  # the codes as given (an int64 copy of a large log's is not needed)
    if it.dtype.kind not in "iu":
        it = it.astype(np.int64)
    n_items = int(distinct(it).size)
    if not has_time:
        why = "the log has no time column: split by item"
    elif t.size == 0 or int(t.max()) == int(t.min()):
        why = "every event has the same time: split by item"
    else:
        start = np.full(int(it.max()) + 1, np.iinfo(np.int64).max)
        np.minimum.at(start, it, t)
        start = start[start < np.iinfo(np.int64).max]
        t0, span = int(t.min()), float(int(t.max()) - int(t.min()))
        offsets = t0 < _YEAR_1971_NS
        if start.size < 3 or not offsets or float(np.median(start - t0)) > 0.05 * span:
            return "time", "the log has times: split by time"
        why = ("the times are offsets from zero and half the items start in the first 5% of the span "
               "(relative times): split by item")
    if n_items < 3:
        return None, why.split(":")[0] + f", and only {n_items} item(s): no split possible"
    return "item", why


def time_cut(time: np.ndarray, frac: float, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the events before / at-or-after ``frac`` of the time span of the events ``within``
    (``backtest``'s rule: the split time is ``t_min + round(frac * (t_max - t_min))``).

    >>> [m.tolist() for m in time_cut(np.array([0, 4, 6, 10]), 0.5)]
    [[True, True, False, False], [False, False, True, True]]
    """
    t = np.asarray(time, dtype=np.int64)
    w = np.ones(t.shape[0], dtype=bool) if within is None else np.asarray(within, dtype=bool)
    tw = t[w]
    t0, t1 = int(tw.min()), int(tw.max())
    ts = t0 + int(round(frac * (t1 - t0)))
    return w & (t < ts), w & (t >= ts)


def item_cut(item: np.ndarray, frac: float, rng: Any, within: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the events of a random ``frac`` share of the items (drawn with ``rng``) and of the
    other items, among the events ``within``.

    >>> a, b = item_cut(np.array([0, 0, 1, 2, 3]), 0.5, 0)
    >>> bool((a ^ b).all()), int(np.unique(np.array([0, 0, 1, 2, 3])[a]).size)
    (True, 2)
    """
    it = np.asarray(item, dtype=np.int64)
    w = np.ones(it.shape[0], dtype=bool) if within is None else np.asarray(within, dtype=bool)
    items = distinct(it[w])
    gen = np.random.default_rng(rng)
    k = int(round(frac * items.size))
    take = np.zeros(int(it.max(initial=0)) + 1, dtype=bool)
    take[gen.permutation(items)[:k]] = True
    return w & take[it], w & ~take[it]


# ------------------------------------------------------------------------------------------ the fit
def nnls_weights(X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Non-negative least squares without intercept: ``argmin_{w >= 0} Σ_i s_i (y_i - X_i w)^2``.

    >>> nnls_weights(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([2.0, -1.0, 1.0])).round(6).tolist()
    [1.5, 0.0]
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        return np.zeros(X.shape[1])
    if sample_weight is not None:
        s = np.sqrt(np.asarray(sample_weight, dtype=np.float64))
        X, y = X * s[:, None], y * s
    from scipy.optimize import nnls  # imported when used (scipy.optimize costs ~0.2 s to import)

    return nnls(X, y, maxiter=50 * max(X.shape[1], 1))[0]


def contenders(X: np.ndarray, m: int) -> np.ndarray:
    """The rows strictly above the ``(m+1)``-th largest value of at least one column (so at most
    ``m`` rows per column, a tie at the edge left out rather than cut arbitrarily), among rows with a
    positive value: the users a single feature would put near the top.

    >>> contenders(np.array([[3.0, 0.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]]), 1).tolist()
    [True, False, True, False]
    >>> contenders(np.array([[1.0], [1.0], [0.5]]), 1).tolist()  # a tie at the edge: neither
    [False, False, False]
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    keep = np.zeros(n, dtype=bool)
    for j in range(X.shape[1]):  # one pass per feature
        col = X[:, j]
        thr = -np.partition(-col, m)[m] if n > m else -np.inf  # the (m+1)-th largest value
        keep |= (col > thr) & (col > 0)
    return keep


def _blend(blocks: Sequence[np.ndarray], ys: Sequence[np.ndarray],
           tops: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """The blend: NNLS of ``y`` on ``X`` over the contenders, a zero ``y`` weighing ``ZERO_WEIGHT``;
    ``X`` and ``y`` are the cuts' rows one after another (``np.vstack(blocks)``,
    ``np.concatenate(ys)``), never stacked whole: only the contenders' rows are. ``tops``: each
    block's :func:`_column_tops`, when the caller keeps them across blends of the same blocks."""
    keeps = _stacked_contenders(blocks, CONTENDER_M, tops)
    X = np.concatenate([np.asarray(b)[k] for b, k in zip(blocks, keeps)]).astype(np.float64, copy=False)
    y = np.concatenate([np.asarray(t)[k] for t, k in zip(ys, keeps)])
    return nnls_weights(X, y, np.where(y > 0, 1.0, ZERO_WEIGHT))


def _column_tops(X: np.ndarray, m: int) -> np.ndarray:
    """The ``m + 1`` largest values of each column of ``X`` (every row when there are no more), as
    float64 rows: all that :func:`_stacked_contenders` needs of a block to find the thresholds.

    >>> _column_tops(np.array([[3.0, 0.0], [1.0, 5.0], [2.0, 4.0]]), 1).tolist()
    [[3.0, 5.0], [2.0, 4.0]]
    """
    X = np.asarray(X)
    if X.shape[0] <= m + 1:
        return X.astype(np.float64)
    out = np.empty((m + 1, X.shape[1]))
    for j in range(X.shape[1]):  # one column at a time: a contiguous copy partitions fastest
        out[:, j] = -np.partition(-np.asarray(X[:, j], dtype=np.float64), m)[: m + 1]
    return out


def _stacked_contenders(blocks: Sequence[np.ndarray], m: int,
                        tops: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
    """``contenders(np.vstack(blocks), m)`` cut back into one mask per block, without stacking the
    blocks. The ``(m+1)``-th largest value of a column over all blocks is among each block's own
    ``m + 1`` largest (``tops``, :func:`_column_tops`), so the thresholds come from those few rows,
    and each block is then compared with them. :func:`fit_weights` keeps the tops of its cuts
    across its leave-one-out blends, so each cut is partitioned once, not once per blend.

    >>> X = np.array([[3.0, 0.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    >>> [k.tolist() for k in _stacked_contenders([X[:1], X[1:]], 1)] == [[True], [False, True, False]]
    True
    """
    blocks = [np.asarray(b) for b in blocks]
    n = sum(b.shape[0] for b in blocks)
    n_feat = blocks[0].shape[1] if blocks else 0
    if n > m:
        stacked = np.concatenate(list(tops) if tops is not None else [_column_tops(b, m) for b in blocks])
        thr = -np.partition(-stacked, m, axis=0)[m]  # the (m+1)-th largest value of each column
    else:  # every positive value is a contender
        thr = np.full(n_feat, -np.inf)
    return [((b > thr) & (b > 0)).any(axis=1) for b in blocks]


@dataclass
class Cut:
    """One inner cut: the log features of the eligible users before it (``X``, one column per
    feature name; float32 as :func:`calibrate` builds it, to keep every cut resident in little
    memory), their reach after it (``reach``), and the past share ``frac`` (of the time span or
    of the items), so ``target = log1p(reach * frac / (1 - frac))``: reach over a period as long as
    the one observed."""

    X: np.ndarray
    reach: np.ndarray
    frac: float
    label: str

    @property
    def target(self) -> np.ndarray:
        return np.log1p(self.reach * self.frac / (1.0 - self.frac))

    @property
    def n_spreaders(self) -> int:
        return int((self.reach > 0).sum())


@dataclass
class FitResult:
    """What :func:`fit_weights` chose and why (see its docstring)."""

    weights: dict[str, float]
    chosen: str
    inner_precision: dict[str, list[float]] = field(default_factory=dict)
    cuts: list[dict[str, Any]] = field(default_factory=list)


def fit_weights(cuts: Sequence[Cut], names: Sequence[str], singles: Sequence[str], *,
                ks: Sequence[int] = FIT_KS, blend: bool = True) -> FitResult:
    """Choose the KOC model on inner cuts: the blend, or one single feature, whichever ranks best.

    Candidates:

    * ``"blend"``: non-negative weights on every feature in ``names``, by least squares of the
      target (log future reach) on the log features over the *contenders* (users in the top
      ``2 * max(ks)`` of at least one feature: where a ranking is decided), a user who reached no
      one after the cut weighing 0.2. Each cut is predicted by weights fitted on the *other* cuts.
    * each name in ``singles``: ranking by that feature alone (nothing fitted).

    The measure on a cut is the mean of precision@k over ``ks`` (:func:`precision_at`). The best
    single feature is the one with the best mean over the cuts; the blend replaces it when its mean is
    higher (by more than :data:`BLEND_MARGIN` standard errors of their per-cut differences; the
    default 0 means any margin, and a tie keeps the rule). Its final weights are fitted on
    all cuts pooled: the blend's by the same least squares; a single feature's as the one
    non-negative factor that best predicts the target from it, so the score stays on the scale of
    log future reach. Needs at least two cuts. ``blend=False`` (thin cuts) chooses among the single
    features only.

    >>> rng = np.random.default_rng(0)
    >>> cuts = []
    >>> for i in range(3):
    ...     x = rng.exponential(1.0, (400, 2))
    ...     cuts.append(Cut(x, np.expm1(x[:, 0] + 0.1 * rng.normal(size=400)).clip(0), 0.7, f"c{i}"))
    >>> res = fit_weights(cuts, ["good", "noise"], ["good", "noise"])
    >>> res.chosen, round(res.weights["good"], 1), "noise" in res.weights  # the blend is not clearly better
    ('good', 1.3, False)
    """
    names = list(names)
    targets = [c.target for c in cuts]
    scores: dict[str, list[float]] = {}
    tops = [_column_tops(c.X, CONTENDER_M) for c in cuts] if blend else []  # each cut's, once
    if blend:
        loco = []
        for i, c in enumerate(cuts):  # a few cuts
            rest = [j for j in range(len(cuts)) if j != i]
            w = _blend([cuts[j].X for j in rest], [targets[j] for j in rest], [tops[j] for j in rest])
            loco.append(float(precision_at(c.X @ w, c.reach, ks).mean()))
        scores["blend"] = loco
    for s in singles:
        j = names.index(s)
        scores[s] = [float(precision_at(c.X[:, j], c.reach, ks).mean()) for c in cuts]
    best_rule = max(singles, key=lambda k: float(np.mean(scores[k])))  # the first listed among equals
    chosen = best_rule
    if blend:
        d = np.array(scores["blend"]) - np.array(scores[best_rule])
        se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0
        if float(d.mean()) > BLEND_MARGIN * se:  # the richer model must be better than the best rule
            chosen = "blend"
    w = np.zeros(len(names))
    if chosen == "blend":
        w = _blend([c.X for c in cuts], targets, tops)
    if not (w > 0).any():  # a single feature, or a degenerate blend: the best single feature
        chosen = best_rule
        j = names.index(chosen)
        X_j = np.concatenate([c.X[:, [j]] for c in cuts])  # this column of the cuts, not all of them stacked
        w[j] = float(nnls_weights(X_j, np.concatenate(targets))[0]) or 1.0
    weights = {n: float(v) for n, v in zip(names, w) if v > 0}
    return FitResult(weights=weights, chosen=chosen, inner_precision=scores,
                     cuts=[{"label": c.label, "n_eligible": int(c.X.shape[0]), "n_spreaders": c.n_spreaders}
                           for c in cuts])


def eligible_users(F: Mapping[str, np.ndarray], present: np.ndarray, staff: np.ndarray,
                   cut: int | None) -> np.ndarray:
    """KOC candidates of a window: present, not staff, forwarded to someone, and no more distinct
    receivers than the KOL ``cut`` (``None``: no limit)."""
    ok = present & ~staff & (F["receivers"] > 0)
    if cut is not None:
        ok &= F["receivers"] <= cut
    return ok


def _present(src: np.ndarray, tgt: np.ndarray, n: int) -> np.ndarray:
    p = np.zeros(n, dtype=bool)
    p[src] = True
    p[tgt] = True
    return p


def sample_events(item: np.ndarray, time: np.ndarray, max_events: int, mode: str, rng: Any) -> tuple[np.ndarray, str]:
    """Events the fit uses on a log above ``max_events``: whole items (so cascades stay whole), each
    kept with probability ``max_events / n_events`` (about ``max_events`` events in all), when the log
    has 20 items or more or is split by item; else its latest ``max_events`` events.

    >>> m, how = sample_events(np.repeat(np.arange(40), 5), np.arange(200), 100, "time", 0)
    >>> how
    '16 of 40 items drawn at random (80 events)'
    """
    n = item.shape[0]
    if n <= max_events:
        return np.ones(n, dtype=bool), "all events"
    items = distinct(item)
    if mode == "item" or items.size >= 20:
        gen = np.random.default_rng(rng)
        take = np.zeros(int(item.max()) + 1, dtype=bool)
        take[items[gen.random(items.size) < max_events / n]] = True
        if not take.any():
            take[items[gen.integers(items.size)]] = True
        keep = take[item]
        return keep, f"{int(take.sum())} of {items.size} items drawn at random ({int(keep.sum()):,} events)"
    thr = np.sort(time)[n - max_events]
    keep = time >= thr
    return keep, f"the latest {int(keep.sum()):,} events"


class _Log(NamedTuple):
    """The events :func:`calibrate` cuts (int64 codes; ``use``: the events it may use)."""

    src: np.ndarray
    tgt: np.ndarray
    item: np.ndarray
    time: np.ndarray
    n_users: int
    use: np.ndarray
    staff: np.ndarray
    conversions: np.ndarray | None
    conversion_value: np.ndarray | None


def _inner_cut(log: _Log, frac: float, seed: int | None, label: str, names: Sequence[str], kol_threshold: Any,
               half_lives: Sequence[float]) -> Cut | None:
    """One inner cut of :func:`calibrate`: the log features of the eligible users on the events before it
    and their reach on the events after it (split by time at ``frac``, or, with a ``seed``, by a draw of
    ``frac`` of the items); None when one side has no events."""
    src, tgt, item, time, n = log.src, log.tgt, log.item, log.time, log.n_users
    past, fut = time_cut(time, frac, log.use) if seed is None else item_cut(item, frac, seed, log.use)
    if not past.any() or not fut.any():
        return None
    conv, value = log.conversions, log.conversion_value
    F = user_features(src[past], tgt[past], item[past], time[past], n, half_lives=half_lives,
                      conversions=None if conv is None else conv[past],
                      conversion_value=None if value is None else value[past])
    present = _present(src[past], tgt[past], n)
    ok = eligible_users(F, present, log.staff, kol_cut(kol_threshold, int(present.sum())))
    fwd = build_forest(src[fut], tgt[fut], item[fut], time[fut], n)
    reach = user_metrics(fwd, n)["reach"].astype(np.float64)
    del fwd
    zero = np.zeros(n)
    X = log_features({k: F.get(k, zero) for k in names}, names, rows=ok)
    del F
    # kept as float32 until the fit: every cut's matrix is alive at once (five cuts in float64 put the
    # 1e7 nomination job over its memory target); the fit computes in float64
    return Cut(X.astype(np.float32), reach[ok], frac, label)


def calibrate(
    src: np.ndarray, tgt: np.ndarray, item: np.ndarray, time: np.ndarray, n_users: int, *,
    has_time: bool, staff: np.ndarray, kol_threshold: Any, names: Sequence[str], singles: Sequence[str],
    conversions: np.ndarray | None = None, conversion_value: np.ndarray | None = None,
    split_by: str = "auto", rng: Any = 0, max_events: int = 1_000_000,
    half_lives: Sequence[float] = HALF_LIVES,
) -> tuple[FitResult | None, dict[str, Any]]:
    """Fit the KOC model on the log's own history; ``(None, info)`` when it is too thin to fit.

    The log is split by time (:data:`TIME_CUTS` of its span) or, where :func:`split_mode` says so
    (or ``split_by="item"``), into :data:`N_ITEM_DRAWS` random draws of :data:`ITEM_CUT` of its
    items. On each cut the features of the events before it are measured against each eligible
    user's reach after it (cascades rebuilt on the later events alone, as ``kg.evaluate.backtest``
    does). A cut is *usable* with at least :data:`MIN_SPREADERS` eligible users who reach someone
    after it; the fit needs two usable cuts, and runs :func:`fit_weights` on them. With fewer, but
    two cuts with at least :data:`MIN_RULE_SPREADERS`, it only chooses the best single rule on them
    (``info["fallback"] = "rule"``). Logs above
    ``max_events`` are fitted on a sample (:func:`sample_events`). ``info`` says how the log was
    split, what each cut held, and why it fell back when it did.
    """
    # the codes as given (int32 for a ShareGraph) until the sample is drawn: int64 copies of a whole
    # large log would be the stage's memory peak; the sample's arrays are made int64 below
    src, tgt, item = np.asarray(src), np.asarray(tgt), np.asarray(item)
    time = np.asarray(time, dtype=np.int64)
    info: dict[str, Any] = {"n_events": int(src.shape[0])}
    if split_by == "auto":
        mode, why = split_mode(time, item, has_time=has_time)
    elif split_by == "time" and (not has_time or src.size == 0 or int(time.max()) == int(time.min())):
        mode, why = None, "split_by='time', but the log has no time span"
    else:
        mode, why = split_by, f"split_by={split_by!r}"
    info.update(split_by=mode, split_reason=why)
    if src.shape[0] < 3 * MIN_SPREADERS:
        info["reason"] = f"the log has {src.shape[0]} events; the fit needs far more (at least {MIN_SPREADERS} users who spread after a cut)"
        return None, info
    if mode is None:
        info["reason"] = why
        return None, info
    gen = np.random.default_rng(rng)
    use, how = sample_events(item, time, max_events, mode, gen)
    info["sample"] = how
    if not use.all():  # work on the sample alone, its users renumbered 0..n-1 (every array shrinks)
        users = distinct(np.concatenate([src[use], tgt[use]]))
        code = np.full(n_users, -1, dtype=np.int64)
        code[users] = np.arange(users.size)
        src, tgt, item, time = code[src[use]], code[tgt[use]], item[use], time[use]
        staff = np.asarray(staff, dtype=bool)[users]
        conversions = None if conversions is None else conversions[use]
        conversion_value = None if conversion_value is None else conversion_value[use]
        n_users, use = int(users.size), np.ones(src.shape[0], dtype=bool)
    src, tgt, item = (np.asarray(a, dtype=np.int64) for a in (src, tgt, item))
    specs: list[tuple[str, float, Any]] = (
        [(f"time {f:.0%}", f, None) for f in TIME_CUTS] if mode == "time"
        else [(f"item draw {i + 1} ({ITEM_CUT:.0%} of items)", ITEM_CUT, int(gen.integers(2**31))) for i in range(N_ITEM_DRAWS)]
    )
    log = _Log(src, tgt, item, time, n_users, use, staff, conversions, conversion_value)
    # one cut at a time: two side by side took a fifth less time but kept two cuts' forests and recency
    # matrices resident at once, which put the 1e7 nomination job 120 MiB over its memory target
    made = [_inner_cut(log, frac, seed, label, names, kol_threshold, half_lives) for label, frac, seed in specs]
    cuts, skipped = [], []
    for (label, _, _), c in zip(specs, made):
        if c is None:
            skipped.append({"label": label, "why": "no events on one side"})
        elif c.n_spreaders < MIN_RULE_SPREADERS:
            skipped.append({"label": label, "why": f"{c.n_spreaders} eligible users reach anyone after the cut "
                                                   f"(fewer than {MIN_RULE_SPREADERS})"})
        else:
            cuts.append(c)
    del made
    info["skipped_cuts"] = skipped
    full = [c for c in cuts if c.n_spreaders >= MIN_SPREADERS]
    if len(full) >= 2:
        return fit_weights(full, names, singles), info
    thin = (f"{len(full)} of {len(specs)} inner cuts had at least {MIN_SPREADERS} eligible users who spread "
            "after the cut; the blend needs two")
    if len(cuts) >= 2:
        info["reason"] = thin + f"; the best single rule was chosen on {len(cuts)} cuts with at least {MIN_RULE_SPREADERS}"
        info["fallback"] = "rule"
        return fit_weights(cuts, names, singles, blend=False), info
    info["reason"] = thin + f", and fewer than two had {MIN_RULE_SPREADERS} to choose a single rule"
    return None, info
