"""``kg.get.kocs`` and ``kg.get.explain``: the KOC ranking as a table, and one user's score term by term."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, require
from .._core.validation import check_int

__all__ = ["kocs", "explain", "reason_line"]

from ..tl import FEATURE_WORDS as _FEATURE_WORDS
from ..tl import feature_words


def _meta(g: ShareGraph, key: str, where: str) -> dict[str, Any]:
    """The record of the KOC ranking under ``key`` (NotComputedError naming the call when missing)."""
    return require(g, key, tool="tl.kocs", where=where, nodes=[f"{key}_score", f"{key}_rank", f"{key}_excluded"])


def _node_inputs(g: ShareGraph, key: str, meta: dict[str, Any]) -> dict[str, str]:
    """Column names of the per-user figures the table shows: the ranking's own (``<key>_conversions``)
    and those of the tools it read (``meta["inputs"]``: the cascades, pagerank and communities keys)."""
    inputs = {"cascades": "cascades", "pagerank": "pagerank", "communities": "community", **meta.get("inputs", {})}
    casc = inputs["cascades"]
    cols = {k: (k if casc == "cascades" else f"{casc}_{k}")
            for k in ("reach", "direct_reach", "resharers", "items_spread", "items_started")}
    cols.update(pagerank=inputs["pagerank"], community=inputs["communities"], conversions=f"{key}_conversions",
                conversion_value=f"{key}_conversion_value")
    return {k: c for k, c in cols.items() if c in g.nodes.columns}


def _top_share(values: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Share of eligible users whose value is >= each user's value ("top X%")."""
    ref = np.sort(values[eligible & ~np.isnan(values)])
    if ref.size == 0:
        return np.full(values.shape, np.nan)
    ge = ref.size - np.searchsorted(ref, values, side="left")
    return ge / ref.size


def _at_most_share(values: np.ndarray, eligible: np.ndarray, x: float) -> float:
    """Share of eligible users whose value is at most ``x`` (NaN when nobody is eligible)."""
    ref = values[eligible & ~np.isnan(values)]
    return float((ref <= x).mean()) if ref.size else float("nan")


def _fmt_pct(p: float) -> str:
    """Share -> "8%", "0.5%", "0.05%"; below 0.01% says "0.01%" (a true bound: the user is within the
    top 0.01%), never a misleading "0.00%"."""
    pct = 100.0 * p
    if pct < 0.01:
        return "0.01%"
    if pct < 0.1:
        return f"{pct:.2f}%"
    if pct < 1:
        return f"{pct:.1f}%"
    return f"{pct:.0f}%"


def reason_line(*, reach: int, items_spread: int, resharers: int, conversions: int, best_share: float,
                best_feature: str) -> str:
    """A candidate's one-line reason in plain words (shared by both engines' ``kocs`` outputs): the
    headline figures, then the feature where the user stands highest and their top share in it.

    >>> reason_line(reach=16, items_spread=3, resharers=4, conversions=1, best_share=1 / 12,
    ...             best_feature="resharers")
    'reached 16 users across 3 items, 4 passed it on, brought 1 conversion; top 8% by resharers'
    >>> reason_line(reach=0, items_spread=0, resharers=0, conversions=0, best_share=1.0, best_feature="resharers")
    'reached no new user yet'
    """
    if reach:
        head = f"reached {reach:,} user{'s' * (reach != 1)} across {items_spread:,} item{'s' * (items_spread != 1)}"
    else:  # ranked on other signs (recent forwards, PageRank): say so rather than "reached 0 users"
        head = "reached no new user yet"
    if resharers:
        head += f", {resharers:,} passed it on"
    if conversions:
        head += f", brought {conversions:,} conversion{'s' * (conversions != 1)}"
    if best_share > 0.5:  # not in the top half of anything: a "top 100%" says nothing
        return head
    return f"{head}; top {_fmt_pct(best_share)} by {_FEATURE_WORDS[best_feature]}"


def _value(g: ShareGraph, key: str, feature: str) -> np.ndarray:
    """A model feature's raw value per user (``<key>_value_<feature>``, else the plain column)."""
    col = f"{key}_value_{feature}"
    return g.nodes[col if col in g.nodes.columns else feature].to_numpy(np.float64)


def kocs(g: ShareGraph, n: int = 50, *, excluded: bool = False, key: str = "koc") -> pd.DataFrame:
    """The top ``n`` KOC candidates, best first, with a one-line reason in plain words.

    Columns: ``rank``, ``user``, ``score`` (the additive model, ``log1p`` of the expected reach),
    ``expected_reach`` (people the user's forwards are expected to reach over a period as long as the
    log), ``percentile`` (share of ranked users scoring at most as much), ``rank_lo``/``rank_hi``
    (bootstrap interval, when computed), ``community`` (when computed), ``reach``, ``direct_reach``,
    ``resharers``, ``items_spread``, ``items_started``, ``pagerank``, ``conversions``/``conversion_value``
    (when the log has them), ``reason``. With a ``per_community`` slate, ``rank`` is the slate order.

    ``excluded=True`` instead lists the accounts left out of the ranking on purpose, never in
    silence: the staff accounts and the KOL-size accounts ("big accounts, left out: buy, don't
    develop"), with ``user``, ``excluded`` (``"staff"`` or ``"kol"``), ``reach``, ``receivers``
    (distinct people forwarded to, what the KOL threshold is measured on) and ``reason``; the KOL rows
    come after the staff rows, largest reach first.

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.kocs`.
    n
        How many candidates, best first.
    excluded
        List the accounts left out of the ranking instead.
    key
        The ``key_added`` the ranking was written under.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.kocs(g, staff=["brand", "staff_li"])
    >>> top = kg.get.kocs(g, n=3)
    >>> top["user"].tolist()
    ['alice', 'bob', 'nina']
    >>> top["reason"].iloc[0]
    'reached 16 users across 3 items, 4 passed it on, brought 1 conversion; top 8% by people received from'
    >>> kg.get.kocs(g, excluded=True)[["user", "excluded"]].values.tolist()
    [['brand', 'staff'], ['staff_li', 'staff']]
    """
    g = check_graph(g, "kg.get.kocs")
    n = check_int("n", n, minimum=1, where="kg.get.kocs")
    meta = _meta(g, key, "kg.get.kocs")
    nodes = g.nodes
    have = _node_inputs(g, key, meta)
    if excluded:
        return _excluded(g, key, have)
    order_col = f"{key}_slate" if f"{key}_slate" in nodes.columns else f"{key}_rank"
    # the top n positions from the rank column alone, then those rows: no copy of every ranked
    # user's row (at 1e7 events that copy, sorted, was the nomination job's memory peak)
    r = nodes[order_col].to_numpy(dtype=np.float64, na_value=np.inf)
    top = np.argsort(r, kind="stable")[: min(n, int(np.isfinite(r).sum()))]
    sub = nodes.iloc[top].assign(_r=r[top].astype(np.int64))
    feats = meta["features"]
    eligible = nodes[f"{key}_score"].notna().to_numpy()
    cols: dict[str, Any] = {"rank": sub["_r"].to_numpy(), "user": sub.index.to_numpy(),
                            "score": sub[f"{key}_score"].to_numpy()}
    for extra in ("expected_reach", "percentile"):
        if f"{key}_{extra}" in nodes.columns:
            cols[extra] = sub[f"{key}_{extra}"].to_numpy()
    if f"{key}_rank_lo" in nodes.columns:
        cols["rank_lo"] = sub[f"{key}_rank_lo"].to_numpy()
        cols["rank_hi"] = sub[f"{key}_rank_hi"].to_numpy()
    for k in ("community", "reach", "direct_reach", "resharers", "items_spread", "items_started", "pagerank",
              "conversions", "conversion_value"):
        if k in have:
            cols[k] = sub[have[k]].to_numpy()
    out = pd.DataFrame(cols)
    # plain-words reason: the headline figure plus the feature where the user stands highest
    idx = g.user_codes(sub.index)
    shares = {k: _top_share(_value(g, key, k), eligible)[idx] for k in feats}
    terms = {k: nodes[f"{key}_term_{k}"].to_numpy(np.float64)[idx] for k in feats}
    reasons = []
    for r, row in enumerate(out.itertuples(index=False)):  # n rows only: the output size, not the data
        best = min(feats, key=lambda k: (shares[k][r], -terms[k][r]))  # ties: the larger term
        reasons.append(reason_line(
            reach=int(row.reach), items_spread=int(row.items_spread), resharers=int(getattr(row, "resharers", 0)),
            conversions=int(getattr(row, "conversions", 0)), best_share=float(shares[best][r]), best_feature=best,
        ))
    out["reason"] = reasons
    return out


def _excluded(g: ShareGraph, key: str, have: dict[str, str]) -> pd.DataFrame:
    """Staff and KOL-size accounts, with reach and distinct receivers (see ``kocs``)."""
    nodes = g.nodes
    ex = nodes[f"{key}_excluded"]
    sel = ex.isin(["staff", "kol"]).to_numpy()
    receivers = np.bincount(g.codes.edge_src, minlength=g.n_users)
    out = pd.DataFrame({"user": nodes.index[sel], "excluded": ex[sel].astype(str).to_numpy(),
                        "reach": nodes[have["reach"]].to_numpy()[sel], "receivers": receivers[sel]})
    out = out.sort_values(["excluded", "reach"], ascending=[False, False], kind="stable")
    out["reason"] = np.where(out["excluded"] == "staff", "operator's own account",
                             "celebrity-scale audience (above the KOL threshold): buy, don't develop")
    return out.reset_index(drop=True)


def explain(g: ShareGraph, user: Any, *, key: str = "koc") -> pd.DataFrame:
    """Break one user's KOC score into its terms; the ``contribution`` column adds up to the score.

    Indexed by feature. Columns: ``value`` (the raw feature), ``log_value`` (the model's input:
    ``log1p`` of the value; for PageRank the log of its ratio to the floor every user gets),
    ``weight``, ``contribution`` (= weight × log_value, so a zero feature contributes exactly 0),
    ``percentile`` (share of ranked users whose value is at most this one), ``description`` (what
    the feature is, in words). ``.attrs`` holds ``score``, ``expected_reach`` and, for a user left out
    of the ranking, ``excluded``. With ``weights="percentile"`` the contribution is weight ×
    percentile instead.

    Parameters
    ----------
    g
        The graph after :func:`kocgraph.tl.kocs`.
    user
        The user id.
    key
        The ``key_added`` the ranking was written under.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.kocs(g, staff=["brand", "staff_li"])
    >>> ex = kg.get.explain(g, "alice")
    >>> bool(ex["contribution"].sum() == ex.attrs["score"])
    True
    >>> ex.loc["resharers", "description"]
    'people who got an item from this user and passed it on'
    """
    g = check_graph(g, "kg.get.explain")
    meta = _meta(g, key, "kg.get.explain")
    code = int(g.user_codes([user])[0])
    feats = meta["features"]
    w = meta["weights"]
    row = g.nodes.iloc[code]
    eligible = g.nodes[f"{key}_score"].notna().to_numpy()
    contrib = np.array([row[f"{key}_term_{k}"] for k in feats], dtype=np.float64)
    weights = np.array([w[k] for k in feats], dtype=np.float64)
    values = np.array([_value(g, key, k)[code] for k in feats], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        logv = np.where(weights > 0, contrib / weights, np.nan)
    out = pd.DataFrame(
        {"value": values, "log_value": logv, "weight": weights, "contribution": contrib,
         "percentile": [_at_most_share(_value(g, key, k), eligible, values[j]) for j, k in enumerate(feats)],
         "description": [feature_words(k, long=True) for k in feats]},
        index=pd.Index(feats, name="feature"),
    )
    out.attrs["score"] = float(row[f"{key}_score"])
    if f"{key}_expected_reach" in g.nodes.columns:
        out.attrs["expected_reach"] = float(row[f"{key}_expected_reach"])
    out.attrs["user"] = user
    if pd.notna(row[f"{key}_excluded"]):
        out.attrs["excluded"] = str(row[f"{key}_excluded"])
    return out
