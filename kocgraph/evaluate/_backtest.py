"""``kg.evaluate.backtest``: does the KOC ranking predict who will spread?"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from .._core.validation import check_fraction, id_list
from ..algorithms import koc_model as M
from ..exceptions import InvalidParameterError, check_choice
from ..tl import cascades as _cascades
from ..tl import kocs as _kocs
from ..tl import pagerank as _pagerank

__all__ = ["backtest", "verdict", "BASELINES"]

#: the baselines ``backtest`` knows (simple rules, one feature each), computed on the past
BASELINES: dict[str, str] = {
    "out_degree": "most people forwarded to (distinct receivers)",
    "in_degree": "most people received from (distinct senders)",
    "pagerank_plain": "plain PageRank (direction='forward', weighted by n_forwards)",
    "coreness": "most central in the network (k-core number)",
    "past_reach": "largest reach so far",
    "forwards": "most forwards sent",
    "resharers": "most receivers who passed it on",
    "direct_reach": "most people reached directly",
    "items_started": "most items started",
    "pagerank": "influence PageRank",
    "forwards_recent": "most forwards sent recently (event clock, half-life 10% of the past)",
    "reach_recent": "largest recent reach (event clock, half-life 10% of the past)",
}
_DEFAULT_BASELINES = tuple(BASELINES)
#: the feature behind each baseline (``pagerank_plain`` is computed apart)
_BASELINE_FEATURE = {
    "out_degree": "receivers", "in_degree": "senders", "coreness": "coreness", "past_reach": "reach",
    "forwards": "forwards", "resharers": "resharers", "direct_reach": "direct_reach",
    "items_started": "items_started", "pagerank": "pagerank", "forwards_recent": "forwards_recent_event@0.1",
    "reach_recent": "reach_recent_event@0.1",
}
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
        frac = check_fraction("split", split, where="kg.evaluate.backtest", example=0.7,
                              meaning="the share of the time span ranked on, or a timestamp such as "
                                      "'2026-01-20T00:00:00Z'")
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
    from scipy.stats import spearmanr  # imported when used: scipy.stats costs ~0.4 s to import

    return float(spearmanr(x, y).statistic)




def _split(g: ShareGraph, split: Any, split_by: str, rng: Any) -> tuple[ShareGraph, ShareGraph, str, dict[str, Any]]:
    """The past and future graphs, the mode, and what describes the split."""
    c = g.codes
    if g.n_events == 0:
        raise InvalidParameterError("the log has no events; backtest needs events before and after the split.")
    if split_by == "auto":
        mode, why = M.split_mode(c.time, c.item, has_time=g.has_time)
        if mode is None:
            raise InvalidParameterError(
                f"kg.evaluate.backtest cannot split this log: {why}. A backtest needs real times "
                "(pass time='<column>' to kg.read_log) or at least 3 items."
            )
    else:
        mode, why = split_by, f"split_by={split_by!r}"
    if mode == "time":
        t_split = _split_time(g, split)
        past, future = g.window(end=t_split), g.window(start=t_split)
        when = t_split.isoformat()
        info = {"split_time": t_split, "where": f"before / after {when}"}
        span = (f" (the log spans {g.time_span[0].isoformat()} .. {g.time_span[1].isoformat()})"  # type: ignore[index]
                if g.has_time else "")
        if past.n_events == 0:
            raise InvalidParameterError(f"no events before the split ({when}); choose a later split{span}.")
        if future.n_events == 0:
            raise InvalidParameterError(f"no events at or after the split ({when}); choose an earlier split{span}.")
    else:
        check_fraction("split", split, where="kg.evaluate.backtest", example=0.7,
                       meaning="with an item split, the share of the items ranked on")
        if g.n_items < 2:
            raise InvalidParameterError(f"an item split needs at least 2 items; the log has {g.n_items}.")
        pm, fm = M.item_cut(c.item, float(split), np.random.default_rng(rng).integers(2**31))
        if not pm.any() or not fm.any():
            raise InvalidParameterError(
                f"split={split!r} leaves no items on one side ({g.n_items} items); choose a split nearer 0.5."
            )
        past = g._select_events(pm, {"op": "item split", "share": float(split), "side": "past"})
        future = g._select_events(fm, {"op": "item split", "share": float(split), "side": "future"})
        info = {"split_time": pd.NaT, "where": f"{past.n_items} items ranked on, {future.n_items} held out"}
    info["why"] = why
    return past, future, mode, info


def backtest(
    g: ShareGraph,
    split: Any = 0.7,
    k: int | Iterable[int] = (10, 50, 100),
    *,
    staff: Iterable[Any] | None = None,
    baselines: Iterable[str] | None = _DEFAULT_BASELINES,
    split_by: Literal["auto", "time", "item"] = "auto",
    rng: Any = 0,
    progress: bool | None = None,
    **kocs_kwargs: Any,
) -> pd.DataFrame:
    """Rank users on the past part of the log; measure them on what they did next.

    The log is split in two (``split_by``):

    * ``"time"``: the past is the events before ``split`` (a fraction of the time span, or a
      timestamp), the future the events from it on;
    * ``"item"``: the past is a random share ``split`` of the items (drawn with ``rng``), the future
      the other items: for logs with no time column, one timestamp, or relative per-item clocks;
    * ``"auto"`` (default): time when the log has real times on one clock, else items
      (:func:`kocgraph.algorithms.koc_model.split_mode`).

    The KOC ranking (:func:`kocgraph.tl.kocs` on the past alone, with ``staff`` and
    ``kocs_kwargs``; its own fit sees only the past) and every baseline rank **the same eligible
    users**: the users the KOC ranking ranks on the past, i.e. not staff, not above the KOL
    threshold, and forwarded at least once. Each method is judged against *future reach*: the users'
    total cascade reach over the future events (cascades rebuilt on them alone; 0 for users absent
    there).

    Measures, for each method and each ``k`` (``k`` above the eligible count uses all of them):

    * ``precision``: the share of the method's top-k that are in the true top-k by future reach.
      The true top-k are the eligible users whose future reach is positive and at least the k-th
      largest (users tied with the k-th all count).
    * ``reach_share``: the share of the eligible users' total future reach that the top-k hold.
    * ``spearman``: Spearman's rho between the method's scores and future reach over all eligible
      users (NaN when either is constant); it does not depend on ``k``.

    ``reach_share`` is NaN when no eligible user reaches anyone in the future. Ties in a method's
    score at the k-th place are broken uniformly at random *in expectation* (computed exactly), so
    no measure depends on row order. :func:`verdict` turns the result into one line.

    Parameters
    ----------
    split
        Time split: a fraction of the time span in ``(0, 1)`` (``0.7``: the first 70% of the time)
        or a timestamp (naive times are UTC). Item split: the share of items in the past.
    k
        One cut-off or several.
    staff
        Staff / brand account ids: left out of the eligible users. Ids not in the graph raise
        :class:`~kocgraph.NodeNotFoundError`; ids absent from the past are simply not there.
    baselines
        Names from :data:`BASELINES` (distinct receivers and senders, plain and influence PageRank,
        coreness, past reach, forwards, resharers, direct reach, items started, and the recency
        rules ``forwards_recent``/``reach_recent``: event clock, half-life 10% of the past);
        ``()`` or ``None`` for the KOC ranking alone.
    split_by
        ``"auto"``, ``"time"`` or ``"item"`` (see above). With an item split the KOC ranking's own
        fit splits the past by item too.
    rng
        Seed of the item split and of :func:`kocgraph.tl.kocs`; the measures are deterministic.
    progress
        A progress bar over the steps (rank the past, the baselines, the future): None (default)
        only when someone watches (a terminal or Jupyter), True always, False never.
    **kocs_kwargs
        Further options of :func:`kocgraph.tl.kocs` (``weights``, ``kol_threshold``, ...).
    g
        The graph whose log is split into past and future.

    Returns
    -------
    DataFrame
        One row per (method, k), the KOC ranking first as method ``"koc"``: ``method``, ``k``,
        ``precision``, ``reach_share``, ``spearman``, ``n_eligible``, ``split_time`` (NaT for an item
        split). ``df.attrs`` holds the split, the event and user counts on both sides, who was left
        out and why, the future-reach totals, the number of true top-k users per k, the KOC features,
        weights and fit, and ``verdict`` (:func:`verdict` at the k nearest 50 among those below the eligible
        count).

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.synthetic(500, 60, rng=1)
    >>> res = kg.evaluate.backtest(g, split=0.6, k=(10, 20), staff=g.meta["synthetic"]["staff"],
    ...                            baselines=("out_degree", "past_reach", "forwards_recent"))
    >>> res.columns.tolist()
    ['method', 'k', 'precision', 'reach_share', 'spearman', 'n_eligible', 'split_time']
    >>> res["method"].unique().tolist()
    ['koc', 'out_degree', 'past_reach', 'forwards_recent']
    >>> bool(res["precision"].between(0, 1).all())
    True
    """
    g = check_graph(g, "kg.evaluate.backtest")
    ks = _check_k(k)
    names = _check_baselines(baselines)
    check_choice("split_by", split_by, ("auto", "time", "item"), where="kg.evaluate.backtest")
    for bad in ("copy", "key_added"):
        if bad in kocs_kwargs:
            raise InvalidParameterError(
                f"{bad}={kocs_kwargs[bad]!r} cannot be passed through to kg.tl.kocs: backtest ranks a "
                "part of the log of its own and leaves g untouched. Leave it out."
            )
    staff_list = id_list(staff)
    staff_ids = g.nodes.index[g.user_codes(staff_list, what="staff")] if staff_list else g.nodes.index[:0]
    past, future, mode, info = _split(g, split, split_by, rng)

    from .._core.progress import progress_bar

    with progress_bar(progress, total=3, desc="backtest", unit="step", where="kg.evaluate.backtest") as bar:
        # ---- the past: rank (the KOC ranking's own fit sees the past only)
        users = past.nodes.index
        is_staff = np.asarray(users.isin(staff_ids), dtype=bool)
        _cascades(past)
        kocs_kwargs.setdefault("rng", rng)
        kocs_kwargs.setdefault("progress", False)
        _kocs(past, staff=users[is_staff].tolist() or None, split_by="item" if mode == "item" else "auto",
              **kocs_kwargs)
        bar.update(1)
        elig = past.nodes["koc_rank"].notna().to_numpy()
        scores = {KOC_METHOD: past.nodes["koc_score"].to_numpy(np.float64)}
        scores.update(_baseline_scores(past, names))
        scores = {name: _snap(v[elig]) for name, v in scores.items()}
        bar.update(1)
        # ---- the future: measure
        _cascades(future)
        bar.update(1)
    reach = future.nodes["reach"].reindex(users, fill_value=0).to_numpy(np.float64)[elig]
    df, n_relevant = _measure(scores, reach, ks, info["split_time"])
    meta = past.meta.get("koc", {})
    excl = past.nodes["koc_excluded"].astype(object).to_numpy()
    df.attrs = {
        "split": split if isinstance(split, (int, float, str)) else str(split),
        "split_by": mode, "split_reason": info["why"], "split_where": info["where"],
        "split_time": info["split_time"].isoformat() if mode == "time" else None,
        "n_events_past": past.n_events, "n_events_future": future.n_events,
        "n_users_past": past.n_users, "n_users_future": future.n_users,
        "n_eligible": int(elig.sum()),
        "n_staff_excluded": int(is_staff.sum()),
        "n_kol_excluded": int((excl == "kol").sum()),
        "n_no_forwards": int((excl == "no_forwards").sum()),
        "eligible": "the users the KOC ranking ranks on the past (not staff, not above the KOL threshold, "
                    "forwarded at least once); every method ranks the same users",
        "n_future_spreaders": int((reach > 0).sum()),
        "total_future_reach": float(reach.sum()),
        "n_relevant": n_relevant,
        "koc_features": list(meta.get("features", [])),
        "koc_weights": dict(meta.get("weights", {})),
        "koc_fit": meta.get("fit", {}),
        "koc_n_ranked": int(meta.get("n_eligible", 0)),
        "baselines": {b: BASELINES[b] for b in names},
        "ties": ("ties at the k-th place are broken uniformly at random in expectation (exact); scores are "
                 "compared to 30 bits of mantissa (about 9 significant digits), so float rounding never splits a tie"),
    }
    # the verdict at the k nearest 50 that is below the eligible count (a top k of everyone says nothing)
    k_v = min([x for x in ks if x < df.attrs["n_eligible"]] or ks[:1], key=lambda x: (abs(x - 50), x))
    df.attrs["verdict"] = verdict(df, k=k_v) if names else None
    return df


def _baseline_scores(past: ShareGraph, names: list[str]) -> dict[str, np.ndarray]:
    """Each baseline's score on the past users (features as :func:`kocgraph.tl.kocs` computes them)."""
    if not names:
        return {}
    c = past.codes
    F = M.user_features(c.src, c.tgt, c.item, c.time, past.n_users, forest=past._forest,
                        pagerank=past.nodes["pagerank"].to_numpy(np.float64),
                        coreness=past.nodes["coreness"].to_numpy(np.float64), half_lives=(0.1,),
                        edges=(c.edge_src, c.edge_tgt))
    out = {}
    for b in names:
        if b == "pagerank_plain":
            _pagerank(past, direction="forward", key_added="pagerank_plain")
            out[b] = past.nodes["pagerank_plain"].to_numpy(np.float64)
        else:
            out[b] = np.asarray(F[_BASELINE_FEATURE[b]], dtype=np.float64)
    return out


def _measure(scores: dict[str, np.ndarray], reach: np.ndarray, ks: list[int], split_time: Any
             ) -> tuple[pd.DataFrame, dict[int, int]]:
    """The result table: precision, reach share and Spearman per method and k over the eligible users."""
    n_elig = reach.shape[0]
    total = float(reach.sum())
    r_desc = np.sort(reach)[::-1]
    n_relevant, rel_cols = {}, []
    for kk in ks:
        ke = min(kk, n_elig)
        thr = r_desc[ke - 1] if ke else np.inf
        rel = (reach >= thr) & (reach > 0)
        n_relevant[kk] = int(rel.sum())
        rel_cols.append(rel.astype(np.float64))
    V = np.column_stack([reach] + rel_cols) if n_elig else np.zeros((0, 1 + len(ks)))
    rows = []
    for name, s in scores.items():
        rho = _spearman(s, reach)
        sums = M.topk_hits(s, V, ks)  # ties at the k-th place: expected hits if n_elig else np.full((len(ks), V.shape[1]), np.nan)
        for i, kk in enumerate(ks):
            ke = min(kk, n_elig)
            prec = sums[i, 1 + i] / ke if ke else np.nan
            share = sums[i, 0] / total if total > 0 else np.nan
            rows.append((name, kk, float(min(max(prec, 0.0), 1.0)), float(min(max(share, 0.0), 1.0)), rho,
                         n_elig, split_time))
    df = pd.DataFrame(rows, columns=["method", "k", "precision", "reach_share", "spearman", "n_eligible",
                                     "split_time"])
    df["k"] = df["k"].astype(np.int64)
    df["n_eligible"] = df["n_eligible"].astype(np.int64)
    df["split_time"] = pd.to_datetime(df["split_time"], utc=True)
    return df, n_relevant


#: a KOC list within this of the best rule (as a share, 0.01 = 1 point of precision) ties with it
TIE_MARGIN = 0.005


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge` decided: ``outcome`` is ``"better"``, ``"worse"``, ``"tied"`` (within
    :data:`TIE_MARGIN`) or ``"undefined"`` (no eligible user spread afterwards); the KOC list's and the
    best rule's ``metric`` at ``k``, and which rule that is."""

    outcome: Literal["better", "worse", "tied", "undefined"]
    k: int
    metric: str
    koc: float
    best: float
    best_method: str


def judge(result: pd.DataFrame, k: int = 50, *, metric: str = "precision") -> Judgement:
    """Compare the KOC list with the best simple rule of a :func:`backtest` table at ``k``.

    The best rule is the baseline with the highest ``metric`` at ``k`` (the first listed among
    equals); :func:`verdict` says the result in one line and the HTML report in an operator's words.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"method": ["koc", "out_degree", "past_reach"], "k": 50, "precision": [0.56, 0.50, 0.52]})
    >>> j = judge(t)
    >>> j.outcome, j.best_method, round(j.koc - j.best, 2)
    ('better', 'past_reach', 0.04)
    """
    if not {"method", "k", metric} <= set(result.columns):
        raise InvalidParameterError("result must be the DataFrame returned by kg.evaluate.backtest.")
    at = result[result["k"] == int(k)]
    if at.empty:
        raise InvalidParameterError(
            f"k={k!r} is not in the backtest; its k are {sorted(result['k'].unique().tolist())}."
        )
    vals = dict(zip(at["method"], at[metric].astype(float)))
    if KOC_METHOD not in vals or len(vals) < 2:
        raise InvalidParameterError("the backtest needs the KOC ranking and at least one baseline for a verdict.")
    koc = vals.pop(KOC_METHOD)
    best = max(vals, key=lambda m: (np.nan_to_num(vals[m], nan=-np.inf)))
    diff = koc - vals[best]
    outcome: Literal["better", "worse", "tied", "undefined"] = (
        "undefined" if not np.isfinite(diff) else "tied" if abs(diff) < TIE_MARGIN else
        "better" if diff > 0 else "worse")
    return Judgement(outcome, int(k), metric, float(koc), float(vals[best]), str(best))


def verdict(result: pd.DataFrame, k: int = 50, *, metric: str = "precision") -> str:
    """One line: did the KOC list beat the best simple rule of a backtest, and by how much?

    ``result`` is a :func:`backtest` table; see :func:`judge` for the comparison. The line names the
    rule in words and gives the difference to two decimals: "beat" when the KOC list is ahead,
    "tied with" within :data:`TIE_MARGIN`, else it says which rule did better and recommends it.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"method": ["koc", "out_degree", "past_reach"], "k": 50,
    ...                   "precision": [0.56, 0.50, 0.52]})
    >>> verdict(t)
    'the KOC list beat the best simple rule (largest reach so far) by +0.04 precision@50 (0.56 against 0.52)'
    >>> verdict(t.assign(precision=[0.40, 0.50, 0.52]))
    'the KOC list did not beat the simple rules: largest reach so far did better (0.52 against 0.40 precision@50); use that rule on this log'
    """
    j = judge(result, k, metric=metric)
    words = BASELINES.get(j.best_method, j.best_method)
    name = f"{metric}@{j.k}"
    if j.outcome == "undefined":
        return f"no verdict: {name} is undefined on this log (no eligible user spread afterwards)"
    if j.outcome == "tied":
        return f"the KOC list tied with the best simple rule ({words}) at {name} {j.koc:.2f}"
    if j.outcome == "better":
        return (f"the KOC list beat the best simple rule ({words}) by {j.koc - j.best:+.2f} {name} "
                f"({j.koc:.2f} against {j.best:.2f})")
    return (f"the KOC list did not beat the simple rules: {words} did better ({j.best:.2f} against {j.koc:.2f} "
            f"{name}); use that rule on this log")
