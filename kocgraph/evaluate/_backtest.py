"""``kg.evaluate.backtest``: does the KOC ranking predict who will spread?"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from ..exceptions import InvalidParameterError
from ..tl._cascades import cascades as _cascades
from ..tl._centrality import pagerank as _pagerank
from ..tl._kocs import kocs as _kocs

__all__ = ["backtest", "BASELINES"]

#: the baselines ``backtest`` knows, each computed on the events before the split
BASELINES: dict[str, str] = {
    "out_degree": "distinct receivers in the past",
    "in_degree": "distinct senders in the past",
    "pagerank_plain": "plain PageRank (direction='forward', weighted by n_forwards) on the past graph",
    "coreness": "k-core number on the undirected past graph",
    "past_reach": "total cascade reach in the past",
}
_DEFAULT_BASELINES = ("out_degree", "in_degree", "pagerank_plain", "coreness", "past_reach")
#: the method name of the KOC ranking in the output
KOC_METHOD = "koc"


def _split_time(g: ShareGraph, split: Any) -> pd.Timestamp:
    """A fraction of the time span (0 < split < 1) or a timestamp -> a UTC Timestamp."""
    if not g.has_time:
        raise InvalidParameterError(
            "kg.evaluate.backtest splits the log in time, but this log was read without a time column. "
            "Pass time='<column>' to kg.read_log."
        )
    if g.n_events == 0:
        raise InvalidParameterError("the log has no events; backtest needs events before and after the split.")
    if isinstance(split, (bool, np.bool_)):
        raise InvalidParameterError(f"split={split!r} is not a fraction or a time; pass e.g. split=0.7.")
    if isinstance(split, (int, float, np.integer, np.floating)):
        frac = float(split)
        if not (0.0 < frac < 1.0):
            raise InvalidParameterError(
                f"split={split!r} must be a fraction of the time span strictly between 0 and 1 (e.g. 0.7), "
                "or a timestamp such as '2026-01-20T00:00:00Z'."
            )
        t = g.codes.time
        t0, t1 = int(t.min()), int(t.max())
        return pd.Timestamp(t0 + int(round(frac * (t1 - t0))), unit="ns", tz="UTC")
    if isinstance(split, (str, pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        try:
            ts = pd.Timestamp(split)
        except (ValueError, TypeError) as err:
            raise InvalidParameterError(
                f"split={split!r} is not a time; pass a fraction like 0.7 or an ISO time like "
                "'2026-01-20T00:00:00Z'."
            ) from err
        if ts is pd.NaT:
            raise InvalidParameterError(f"split={split!r} is not a time; pass a fraction like 0.7.")
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.as_unit("ns")
    raise InvalidParameterError(
        f"split={split!r} (type {type(split).__name__}) is neither a fraction nor a time; pass e.g. "
        "split=0.7 or split='2026-01-20T00:00:00Z'."
    )


def _check_k(k: Any) -> list[int]:
    ks = [k] if isinstance(k, (int, np.integer)) and not isinstance(k, bool) else k
    try:
        ks = list(ks)
    except TypeError:
        ks = [ks]
    ok = bool(ks) and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 1 for x in ks)
    if not ok:
        raise InvalidParameterError(
            f"k={k!r} must be a positive integer or a non-empty list of them, e.g. k=(10, 50, 100)."
        )
    return sorted({int(x) for x in ks})


def _check_baselines(baselines: Any) -> list[str]:
    if baselines is None:
        return []
    if isinstance(baselines, str):
        baselines = [baselines]
    out = list(dict.fromkeys(baselines))
    bad = [b for b in out if b not in BASELINES]
    if bad:
        raise InvalidParameterError(
            f"baselines has unknown names {bad}; the baselines are {list(BASELINES)} (or pass baselines=())."
        )
    return out


def _expected_topk_sums(score: np.ndarray, values: np.ndarray, ks: list[int]) -> np.ndarray:
    """For each k: the expected sum of ``values`` over the top-k users by ``score``, ties at the
    k-th place broken uniformly at random (computed exactly, not drawn). Shape ``(len(ks), n_cols)``.

    Users strictly above the k-th score count fully; the ``k - n_above`` remaining places are filled
    from the group tied at the k-th score, each member with equal probability, so that group
    contributes ``(k - n_above) * mean(values over the group)``. So a method gains nothing from the
    order in which tied users happen to sit.
    """
    n = score.shape[0]
    order = np.argsort(-score, kind="stable")
    s_desc = score[order]
    out = np.empty((len(ks), values.shape[1]))
    for i, k in enumerate(ks):  # a few k values
        kk = min(k, n)
        thr = s_desc[kk - 1]
        above = score > thr
        tied = score == thr
        n_above = int(above.sum())
        out[i] = values[above].sum(axis=0) + (kk - n_above) * values[tied].mean(axis=0)
    return out


def _snap(score: np.ndarray, bits: int = 30) -> np.ndarray:
    """Scores rounded to ``bits`` bits of mantissa (about 9 significant digits), so that values equal
    in exact arithmetic but apart by float rounding (PageRank summed in another user order) tie.

    >>> a = 0.1 + 0.2
    >>> bool(a == 0.3), bool(_snap(np.array([a]))[0] == _snap(np.array([0.3]))[0])
    (False, True)
    """
    m, e = np.frexp(score)
    return np.ldexp(np.round(m * 2.0**bits) / 2.0**bits, e)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    # a constant column has no rank correlation; scipy would warn (warnings are errors in tests)
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    return float(spearmanr(x, y).statistic)


def backtest(
    g: ShareGraph,
    split: Any = 0.7,
    k: int | Iterable[int] = (10, 50, 100),
    *,
    staff: Iterable[Any] | None = None,
    baselines: Iterable[str] | None = _DEFAULT_BASELINES,
    rng: Any = 0,
    **kocs_kwargs: Any,
) -> pd.DataFrame:
    """Rank users on the events before a time split; measure them on the events after it.

    The KOC ranking (:func:`kocgraph.tl.kocs` with ``staff`` excluded and ``kocs_kwargs``) and each
    baseline score the users of the *past* window ``time < split``. Each is then judged against
    *future reach*: the users' total cascade reach (:func:`kocgraph.tl.cascades`) over the events
    with ``time >= split`` (0 for users who do not appear there). Users are judged over the
    *eligible* set: the non-staff users present in the past window. Users the KOC ranking leaves
    out (no forwards in the past, above the KOL threshold) score below every ranked user.

    Measures, for each method and each ``k`` (``k`` above the eligible count uses all of them):

    * ``precision``: the share of the method's top-k that are in the true top-k by future reach.
      The true top-k are the users whose future reach is positive and at least the k-th largest
      (users tied with the k-th all count).
    * ``reach_share``: the share of the eligible users' total future reach that the top-k hold.
    * ``spearman``: Spearman's rho between the method's scores and future reach over all eligible
      users (NaN when either is constant); it does not depend on ``k``.

    ``reach_share`` is NaN when no eligible user reaches anyone after the split.

    Ties in a method's score at the k-th place are broken uniformly at random *in expectation*
    (computed exactly), so neither measure depends on row order.

    Parameters
    ----------
    split
        A fraction of the log's time span in ``(0, 1)`` (``0.7``: the first 70% of the time), or a
        timestamp (ISO string, ``pandas.Timestamp``; naive times are UTC).
    k
        One cut-off or several.
    staff
        Staff / brand account ids: left out of the eligible users and of the KOC ranking. Ids that
        are not in the graph raise :class:`~kocgraph.NodeNotFoundError`; ids absent from the past
        window are simply not there.
    baselines
        Any of ``"out_degree"`` (distinct receivers), ``"in_degree"`` (distinct senders),
        ``"pagerank_plain"`` (PageRank with ``direction="forward"``), ``"coreness"``, ``"past_reach"``;
        ``()`` or ``None`` for the KOC ranking alone.
    rng
        Passed to :func:`kocgraph.tl.kocs` (its bootstrap / communities); the measures themselves are
        deterministic.
    **kocs_kwargs
        Further options of :func:`kocgraph.tl.kocs` (``weights``, ``kol_threshold``, ...).

    Returns
    -------
    DataFrame
        One row per (method, k), the KOC ranking first as method ``"koc"``: ``method``, ``k``,
        ``precision``, ``reach_share``, ``spearman``, ``n_eligible``, ``split_time``. ``df.attrs``
        holds the split, event and user counts on both sides, the future-reach totals, the number
        of true top-k users per k, and the KOC features and weights.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.synthetic(500, 60, rng=1)
    >>> res = kg.evaluate.backtest(g, split=0.6, k=(10, 20), staff=g.meta["synthetic"]["staff"])
    >>> res.columns.tolist()
    ['method', 'k', 'precision', 'reach_share', 'spearman', 'n_eligible', 'split_time']
    >>> res["method"].unique().tolist()
    ['koc', 'out_degree', 'in_degree', 'pagerank_plain', 'coreness', 'past_reach']
    >>> bool(res["precision"].between(0, 1).all())
    True
    """
    g = check_graph(g, "kg.evaluate.backtest")
    ks = _check_k(k)
    names = _check_baselines(baselines)
    for bad in ("copy", "key_added"):
        if bad in kocs_kwargs:
            raise InvalidParameterError(
                f"{bad}={kocs_kwargs[bad]!r} cannot be passed through to kg.tl.kocs: backtest ranks a "
                "window of its own and leaves g untouched. Leave it out."
            )
    if isinstance(staff, (str, int, np.integer)):
        staff = [staff]
    staff_list = [] if staff is None else list(staff)
    # NodeNotFoundError naming unknown ids; the ids as the graph spells them (dtype included)
    staff_ids = g.nodes.index[g.user_codes(staff_list, what="staff")] if staff_list else g.nodes.index[:0]
    t_split = _split_time(g, split)
    past = g.window(end=t_split)
    future = g.window(start=t_split)
    when = t_split.isoformat()
    if past.n_events == 0:
        raise InvalidParameterError(
            f"no events before the split ({when}); choose a later split (the log spans "
            f"{g.time_span[0].isoformat()} .. {g.time_span[1].isoformat()})."  # type: ignore[index]
        )
    if future.n_events == 0:
        raise InvalidParameterError(
            f"no events at or after the split ({when}); choose an earlier split (the log spans "
            f"{g.time_span[0].isoformat()} .. {g.time_span[1].isoformat()})."  # type: ignore[index]
        )

    # ---- the past: rank
    users = past.nodes.index
    is_staff = np.asarray(users.isin(staff_ids), dtype=bool)
    staff_past = users[is_staff].tolist()
    _cascades(past)
    kocs_kwargs.setdefault("rng", rng)
    _kocs(past, staff=staff_past or None, **kocs_kwargs)
    c = past.codes
    n = past.n_users
    koc = past.nodes["koc_score"].to_numpy(np.float64)
    scores: dict[str, np.ndarray] = {KOC_METHOD: np.where(np.isnan(koc), -1.0, koc)}  # unranked below all
    for b in names:
        if b == "out_degree":
            s = np.bincount(c.edge_src, minlength=n)
        elif b == "in_degree":
            s = np.bincount(c.edge_tgt, minlength=n)
        elif b == "pagerank_plain":
            _pagerank(past, direction="forward", key_added="pagerank_plain")
            s = past.nodes["pagerank_plain"].to_numpy()
        elif b == "coreness":
            s = past.nodes["coreness"].to_numpy()
        else:  # past_reach
            s = past.nodes["reach"].to_numpy()
        scores[b] = np.asarray(s, dtype=np.float64)
    scores = {name: _snap(v) for name, v in scores.items()}

    # ---- the future: measure
    _cascades(future)
    reach_all = future.nodes["reach"].reindex(users, fill_value=0).to_numpy(np.float64)
    elig = ~is_staff
    reach = reach_all[elig]
    n_elig = int(elig.sum())
    total = float(reach.sum())
    r_desc = np.sort(reach)[::-1]
    rows = []
    n_relevant = {}
    rel_cols = []
    for kk in ks:
        ke = min(kk, n_elig)
        thr = r_desc[ke - 1] if ke else np.inf
        rel = (reach >= thr) & (reach > 0)
        n_relevant[kk] = int(rel.sum())
        rel_cols.append(rel.astype(np.float64))
    V = np.column_stack([reach] + rel_cols) if n_elig else np.zeros((0, 1 + len(ks)))
    for name, s_all in scores.items():
        s = s_all[elig]
        rho = _spearman(s, reach)
        sums = _expected_topk_sums(s, V, ks) if n_elig else np.full((len(ks), V.shape[1]), np.nan)
        for i, kk in enumerate(ks):
            ke = min(kk, n_elig)
            prec = sums[i, 1 + i] / ke if ke else np.nan
            share = sums[i, 0] / total if total > 0 else np.nan
            rows.append((name, kk, float(min(max(prec, 0.0), 1.0)), float(min(max(share, 0.0), 1.0)), rho,
                         n_elig, t_split))
    df = pd.DataFrame(rows, columns=["method", "k", "precision", "reach_share", "spearman", "n_eligible",
                                     "split_time"])
    df["k"] = df["k"].astype(np.int64)
    df["n_eligible"] = df["n_eligible"].astype(np.int64)
    meta = past.meta.get("koc", {})
    df.attrs = {
        "split": split if isinstance(split, (int, float, str)) else str(split),
        "split_time": when,
        "n_events_past": past.n_events,
        "n_events_future": future.n_events,
        "n_users_past": past.n_users,
        "n_users_future": future.n_users,
        "n_eligible": n_elig,
        "n_staff_excluded": int(is_staff.sum()),
        "n_future_spreaders": int((reach > 0).sum()),
        "total_future_reach": total,
        "n_relevant": n_relevant,
        "koc_features": list(meta.get("features", [])),
        "koc_weights": dict(meta.get("weights", {})),
        "koc_n_ranked": int(meta.get("n_eligible", 0)),
        "baselines": {b: BASELINES[b] for b in names},
        "ties": ("ties at the k-th place are broken uniformly at random in expectation (exact); scores are "
                 "compared to 30 bits of mantissa (about 9 significant digits), so float rounding never splits a tie"),
    }
    return df
