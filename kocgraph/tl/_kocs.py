"""``kg.tl.kocs``: the explainable KOC ranking."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._core.graph import ShareGraph
from .._core.tools import check_graph, record
from .._core.validation import check_int, check_rng
from ..algorithms.scoring import bootstrap_rank_intervals, koc_scores, rank_with_ties
from ..exceptions import InvalidParameterError
from ._cascades import cascades as _cascades
from ._centrality import communities as _communities
from ._centrality import coreness as _coreness
from ._centrality import pagerank as _pagerank

__all__ = ["kocs", "DEFAULT_WEIGHTS", "CONVERSION_TYPES"]

#: default feature weights (normalized over the features present in the log)
DEFAULT_WEIGHTS: dict[str, float] = {
    "reach": 0.25,
    "resharers": 0.35,
    "direct_reach": 0.10,
    "items_started": 0.05,
    "pagerank": 0.10,
    "coreness": 0.05,
    "conversions": 0.05,
    "conversion_value": 0.05,
}
#: plain words for each feature, used in reasons, plots and reports
FEATURE_WORDS: dict[str, str] = {
    "reach": "reach",
    "direct_reach": "direct reach",
    "resharers": "resharers",
    "items_started": "items started",
    "pagerank": "influence PageRank",
    "coreness": "coreness",
    "conversions": "conversions",
    "conversion_value": "conversion value",
}
#: rank intervals are computed for this many top-ranked users (every draw still ranks everyone)
BOOTSTRAP_TOP = 1000
#: event types that count as conversions
CONVERSION_TYPES = ("purchase", "signup")
#: features recomputed when items are resampled (sums over items); the others are held fixed
_ADDITIVE = ("reach", "direct_reach", "items_started", "conversions", "conversion_value")


def _conversions(g: ShareGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Conversion events credited to their direct referrer (the event's source): mask, value."""
    ev = g.events
    if "event_type" not in ev.columns:
        return None
    is_conv = ev["event_type"].isin(CONVERSION_TYPES).to_numpy()
    if not is_conv.any():
        return None
    val = ev["value"].to_numpy(dtype=np.float64, na_value=np.nan) if "value" in ev.columns else np.zeros(len(ev))
    return is_conv, np.nan_to_num(val, nan=0.0), np.flatnonzero(is_conv)


def _out_degree(g: ShareGraph) -> np.ndarray:
    return np.bincount(g.codes.edge_src, minlength=g.n_users)


def kocs(
    g: ShareGraph,
    *,
    staff: Iterable[Any] | None = None,
    kol_threshold: int | str | None = "auto",
    weights: Mapping[str, float] | None = None,
    per_community: int | None = None,
    bootstrap: int = 0,
    alpha: float = 0.1,
    rng: Any = 0,
    key_added: str = "koc",
    copy: bool = False,
) -> ShareGraph | None:
    """Rank Key Opinion Consumers: a weighted sum of feature percentiles, explained term by term.

    Features (DESIGN §5): ``reach``, ``direct_reach``, ``items_started``, influence ``pagerank``,
    ``coreness``, and, when the log has purchase/signup events, ``conversions`` and
    ``conversion_value`` (conversion events and their value credited to the user who referred the
    buyer directly). For eligible user *i* and feature *j* the percentile is the share of eligible users
    whose value is at most user *i*'s; ``score = Σ_j w_j · percentile_ij`` with weights normalized to
    sum to 1, so the score lies in [0, 1] and :func:`kocgraph.get.explain` terms add up to it.

    Eligible users are consumers who forwarded at least once. Excluded, and listed with a reason in
    ``g.nodes[key_added + "_excluded"]``: ``"staff"`` (the operator's own accounts), ``"kol"`` (more
    distinct receivers than ``kol_threshold``: celebrity-scale accounts are bought, not developed;
    ``"auto"`` = max(1,000, 1% of users), ``None`` disables it) and ``"no_forwards"``.

    Missing inputs (cascades, pagerank, coreness, communities for ``per_community``) are computed first
    with their defaults; ``g.meta[key_added]["computed"]`` lists them.

    Parameters
    ----------
    staff
        Staff / brand account ids.
    weights
        ``{feature: weight}``; features absent from the log are dropped, the rest renormalized.
    per_community
        Build a diverse slate: at most this many users per community (``koc_slate`` rank).
    bootstrap
        ``B > 0`` resamples items B times and recomputes the item-additive features (reach, direct
        reach, items started, conversions, value; PageRank and coreness held fixed) to give each
        candidate a ``1 - alpha`` rank interval (``koc_rank_lo``, ``koc_rank_hi``) for the top 1,000.
    rng
        Seed for the bootstrap (and communities when computed here).

    Writes
    ------
    ``g.nodes``: ``koc_score``, ``koc_rank`` (1 = best, <NA> when not ranked), ``koc_excluded``,
    ``koc_term_<feature>`` (each feature's contribution), ``items_spread`` (items in which the user
    reached anyone), ``conversions``/``conversion_value`` when present, and with the options
    ``koc_slate``, ``koc_rank_lo``, ``koc_rank_hi``. ``g.meta[key_added]``: parameters, features,
    normalized weights, counts.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.kocs(g, staff=["brand", "staff_li"])
    >>> g.nodes.sort_values("koc_rank").index[:3].tolist()
    ['alice', 'carol', 'bob']
    >>> g.nodes.loc["brand", "koc_excluded"]
    'staff'
    """
    g = check_graph(g, "kg.tl.kocs")
    if copy:
        g = g.copy()
    if isinstance(staff, (str, int)):
        staff = [staff]
    staff_codes = g.user_codes(list(staff)) if staff is not None else np.empty(0, dtype=np.int64)
    bootstrap = check_int("bootstrap", bootstrap, minimum=0, where="kg.tl.kocs")
    if per_community is not None:
        per_community = check_int("per_community", per_community, minimum=1, where="kg.tl.kocs")
    if not (0.0 < float(alpha) < 1.0):
        raise InvalidParameterError(f"alpha={alpha!r} must be in (0, 1); 0.1 gives 90% rank intervals.")
    computed = []
    if "reach" not in g.nodes.columns or g._forest is None:
        _cascades(g)
        computed.append("cascades")
    if "pagerank" not in g.nodes.columns:
        _pagerank(g)
        computed.append("pagerank")
    if "coreness" not in g.nodes.columns:
        _coreness(g)
        computed.append("coreness")
    if per_community is not None and "community" not in g.nodes.columns:
        _communities(g, rng=rng)
        computed.append("communities")
    n = g.n_users
    f = g._forest
    c = g.codes
    conv = _conversions(g)
    cols: dict[str, np.ndarray] = {
        "reach": g.nodes["reach"].to_numpy(np.float64),
        "direct_reach": g.nodes["direct_reach"].to_numpy(np.float64),
        "resharers": g.nodes["resharers"].to_numpy(np.float64),
        "items_started": g.nodes["items_started"].to_numpy(np.float64),
        "pagerank": g.nodes["pagerank"].to_numpy(np.float64),
        "coreness": g.nodes["coreness"].to_numpy(np.float64),
    }
    if conv is not None:
        is_conv, val, conv_idx = conv
        cols["conversions"] = np.bincount(c.src[conv_idx], minlength=n).astype(np.float64)
        cols["conversion_value"] = np.bincount(c.src[conv_idx], weights=val[conv_idx], minlength=n)
        g.nodes["conversions"] = cols["conversions"].astype(np.int64)
        g.nodes["conversion_value"] = cols["conversion_value"]
    w_in = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = [k for k in w_in if k not in DEFAULT_WEIGHTS]
    if unknown:
        raise InvalidParameterError(
            f"weights has unknown features {unknown}; the features are {list(DEFAULT_WEIGHTS)}."
        )
    bad = {k: v for k, v in w_in.items() if not (np.isfinite(v) and v >= 0)}
    if bad:
        raise InvalidParameterError(f"weights must be finite and >= 0; got {bad}.")
    feats = [k for k in DEFAULT_WEIGHTS if k in cols and w_in.get(k, 0.0) > 0]
    if not feats:
        raise InvalidParameterError(
            f"no feature has a positive weight among those present {list(cols)}; pass e.g. weights={{'reach': 1}}."
        )
    wvec = np.array([w_in[k] for k in feats], dtype=np.float64)
    wvec = wvec / wvec.sum()
    X = np.column_stack([cols[k] for k in feats])

    # eligibility
    outdeg = _out_degree(g)
    if kol_threshold == "auto":
        kol_cut = max(1000, int(np.ceil(0.01 * n)))
    elif kol_threshold is None:
        kol_cut = None
    else:
        kol_cut = check_int("kol_threshold", kol_threshold, minimum=1, where="kg.tl.kocs")
    excluded = np.full(n, None, dtype=object)
    excluded[outdeg == 0] = "no_forwards"
    if kol_cut is not None:
        excluded[outdeg > kol_cut] = "kol"
    excluded[staff_codes] = "staff"
    eligible = pd.isna(excluded)
    score, contrib = koc_scores(X, wvec, eligible)
    rank = rank_with_ties(score)
    # a rerun replaces the previous ranking whole: no stale slate, intervals or terms left behind
    stale = [col for col in g.nodes.columns if col.startswith(f"{key_added}_term_")
             or col in (f"{key_added}_slate", f"{key_added}_rank_lo", f"{key_added}_rank_hi")]
    for col in stale:
        del g.nodes[col]
    g.nodes[f"{key_added}_score"] = score
    g.nodes[f"{key_added}_rank"] = pd.array(np.where(rank > 0, rank, 0), dtype="Int64")
    g.nodes.loc[~eligible, f"{key_added}_rank"] = pd.NA
    g.nodes[f"{key_added}_excluded"] = pd.Categorical(excluded, categories=["staff", "kol", "no_forwards"])
    for j, k in enumerate(feats):
        g.nodes[f"{key_added}_term_{k}"] = contrib[:, j]
    # items in which the user reached anyone (for plain-words reasons)
    spread = f.size > 1
    g.nodes["items_spread"] = np.bincount(f.user[spread], minlength=n).astype(np.int64)
    if per_community is not None:
        comm = g.nodes["community"].to_numpy()
        order = np.argsort(np.where(eligible, -score, np.inf), kind="stable")
        order = order[eligible[order]]
        seen = pd.Series(comm[order]).groupby(comm[order]).cumcount().to_numpy()
        keep = order[seen < per_community]
        slate = np.zeros(n, dtype=np.int64)
        slate[keep] = np.arange(1, keep.size + 1)
        g.nodes[f"{key_added}_slate"] = pd.array(np.where(slate > 0, slate, 0), dtype="Int64")
        g.nodes.loc[slate == 0, f"{key_added}_slate"] = pd.NA
    boot_info = None
    if bootstrap:
        mats: list[Any] = []
        n_items = g.n_items
        for k in feats:
            mats.append(_item_user_matrix(g, k, conv) if k in _ADDITIVE else None)
        gen = check_rng(rng)
        top = np.argsort(np.where(eligible, rank, np.iinfo(np.int64).max), kind="stable")[: min(BOOTSTRAP_TOP, int(eligible.sum()))]
        lo, hi = bootstrap_rank_intervals(X, mats, wvec, eligible, B=bootstrap, rng=gen, alpha=alpha, users=top)
        for name, vals in (("lo", lo), ("hi", hi)):
            col = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
            col[top] = vals
            has = np.zeros(n, dtype=bool)
            has[top] = True
            col[~has] = pd.NA
            g.nodes[f"{key_added}_rank_{name}"] = col
        boot_info = {"B": bootstrap, "alpha": alpha, "n_users_with_interval": int(top.size), "resampled": [k for k in feats if k in _ADDITIVE],
                     "held_fixed": [k for k in feats if k not in _ADDITIVE], "n_items": n_items}
    counts = pd.Series(excluded[~eligible]).value_counts().to_dict()
    record(
        g, key_added,
        {"staff": int(staff_codes.size), "kol_threshold": kol_threshold, "weights": w_in,
         "per_community": per_community, "bootstrap": bootstrap, "alpha": alpha,
         "rng": rng if isinstance(rng, (int, type(None))) else "Generator"},
        features=feats, weights=dict(zip(feats, wvec.tolist())), kol_cut=kol_cut,
        n_eligible=int(eligible.sum()), n_excluded={str(k): int(v) for k, v in counts.items()},
        computed=computed, **({"bootstrap_info": boot_info} if boot_info else {}),
    )
    return g if copy else None


def _item_user_matrix(g: ShareGraph, feature: str, conv: Any) -> sp.csr_matrix:
    """(n_items x n_users) matrix whose column sums are the feature: one row per item's contribution."""
    f = g._forest
    n, m = g.n_users, g.n_items
    if feature == "reach":
        row, col, data = f.item, f.user, (f.size - 1).astype(np.float64)
    elif feature == "direct_reach":
        child = f.parent >= 0
        row, col, data = f.item[child], f.user[f.parent[child]], np.ones(int(child.sum()))
    elif feature == "items_started":
        root = f.parent < 0
        row, col, data = f.item[root], f.user[root], np.ones(int(root.sum()))
    else:
        is_conv, val, idx = conv
        c = g.codes
        row, col = c.item[idx], c.src[idx]
        data = np.ones(idx.size) if feature == "conversions" else val[idx]
    return sp.csr_matrix((data, (row, col)), shape=(m, n))
