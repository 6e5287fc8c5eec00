"""``kg.tl.kocs``: the KOC ranking, a model of future reach fitted on the log's own history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph, drop_previous, record
from .._core.validation import check_fraction, check_int, check_rng
from ..algorithms import koc_model as M
from ..algorithms.scoring import (
    additive_scores,
    bootstrap_rank_intervals,
    koc_scores,
    percentile_ranks,
    rank_with_ties,
)
from ..exceptions import InvalidParameterError, check_choice
from ._cascades import cascades as _cascades
from ._centrality import communities as _communities
from ._centrality import coreness as _coreness
from ._centrality import pagerank as _pagerank

__all__ = ["kocs", "PRIOR_WEIGHTS", "DEFAULT_WEIGHTS", "FEATURES", "CONVERSION_TYPES", "DEFAULT_HALF_LIFE",
           "feature_words", "check_weights"]

#: the prior weights, used when the log is too thin to fit (``weights="prior"``, or ``"fit"`` falling
#: back). Derived once from real logs: the blend of :func:`kocgraph.algorithms.koc_model.fit_weights`
#: (least squares over the contenders) pooled over the inner cuts of the Douban, Higgs-Twitter and
#: Stack Exchange logs, each log weighing the same, on the count features and the event-clock recency
#: features of half-life 0.1; rounded to 2 decimals (``benchmarks/bench_backtest.py --prior`` re-derives them).
PRIOR_WEIGHTS: dict[str, float] = {"resharers": 0.21, "senders": 0.39, "items_started": 0.09,
                                   "reach_recent_event@0.1": 0.77}
#: the first version's weights on feature percentiles (``weights="percentile"``; the Spark engine's score)
DEFAULT_WEIGHTS: dict[str, float] = {
    "reach": 0.25, "resharers": 0.35, "direct_reach": 0.10, "items_started": 0.05, "pagerank": 0.10,
    "coreness": 0.05, "conversions": 0.05, "conversion_value": 0.05,
}
#: half-life of a recency feature named without one in ``weights={...}`` (a fraction of the log's span)
DEFAULT_HALF_LIFE = 0.1
#: the feature names ``weights={...}`` accepts (recency features also as ``<name>@<half-life>``)
FEATURES: tuple[str, ...] = M.COUNT_FEATURES + M.RECENCY_FEATURES
#: plain words for each count feature
_WORDS: dict[str, str] = {
    "reach": "reach",
    "direct_reach": "direct reach",
    "resharers": "resharers",
    "forwards": "forwards sent",
    "receivers": "people forwarded to",
    "senders": "people received from",
    "items_started": "items started",
    "pagerank": "influence PageRank",
    "coreness": "coreness",
    "conversions": "conversions",
    "conversion_value": "conversion value",
}
#: what each feature means, in a sentence (``kg.get.explain``'s ``description``)
_MEANING: dict[str, str] = {
    "reach": "people who got an item through this user's forwards, directly or further down",
    "direct_reach": "people who got an item first from this user",
    "resharers": "people who got an item from this user and passed it on",
    "forwards": "forwards this user sent (repeats included)",
    "receivers": "distinct people this user forwarded to",
    "senders": "distinct people who forwarded to this user",
    "items_started": "items this user started (forwarded before receiving)",
    "pagerank": "influence PageRank, as the log of its ratio to the floor every user gets",
    "coreness": "k-core number in the network of who forwards to whom",
    "conversions": "purchases or sign-ups by people this user forwarded to",
    "conversion_value": "order value of those conversions",
}
_CLOCK = {"event": "event clock", "wall": "wall clock"}
#: event types that count as conversions
CONVERSION_TYPES = ("purchase", "signup")
#: rank intervals are computed for this many top-ranked users (every draw still ranks everyone)
BOOTSTRAP_TOP = 1000
#: above this many events the inner fit runs on a sample (whole items, or the latest events)
FIT_MAX_EVENTS = 500_000
#: the backtest's simple rules among the features (the candidates the fit may use alone)
RULES = ("reach", "resharers", "direct_reach", "forwards", "receivers", "senders", "items_started", "pagerank",
         "coreness", "conversions", "conversion_value", "forwards_recent_event@0.1", "reach_recent_event@0.1")


def _split_name(name: str) -> tuple[str, float | None]:
    base, _, h = name.partition("@")
    return base, (float(h) if h else None)


def _half_lives_used(weights: Mapping[str, float]) -> list[float]:
    """The sorted distinct half-lives of the recency features with a positive weight."""
    return sorted({h for h in (_split_name(k)[1] for k, v in weights.items() if v > 0) if h is not None})


def feature_words(name: str, *, long: bool = False) -> str:
    """Plain words for a feature: ``"resharers"``, ``"recent reach (half-life 10%)"`` (event clock),
    ``"recent reach (wall clock, half-life 10%)"``; ``long=True`` gives the sentence
    ``kg.get.explain`` shows. Half-lives are shares of the log (of its events, or of its time span).

    >>> feature_words("forwards_recent_wall@0.2")
    'recent forwards sent (wall clock, half-life 20%)'
    >>> feature_words("reach_recent_event@0.1", long=True)
    "people who got an item through this user's forwards, directly or further down, each weighing half as much for every 10% of the log's events that came after it"
    """
    base, h = _split_name(name)
    if base in _WORDS:
        return _MEANING[base] if long else _WORDS[base]
    what, _, clock = base.rpartition("_recent_")
    if what in ("reach", "forwards") and clock in _CLOCK and h is not None:
        head = _MEANING[what] if long else f"recent {_WORDS[what]}"
        pct = f"{100 * h:g}%"
        tail = (f", each weighing half as much for every {pct} of the log's {'events' if clock == 'event' else 'time'} "
                "that came after it" if long else f" ({'wall clock, ' if clock == 'wall' else ''}half-life {pct})")
        return head + tail
    return name.replace("_", " ")


class _Words(dict):  # type: ignore[type-arg]
    """FEATURE_WORDS: a dict of every feature name the fit can produce, that also words any other."""

    def __missing__(self, key: str) -> str:
        return feature_words(key)


#: plain words for each feature (reasons, plots, reports)
FEATURE_WORDS: dict[str, str] = _Words(
    {k: feature_words(k) for k in M.COUNT_FEATURES}
    | {f"{r}@{h:g}": feature_words(f"{r}@{h:g}") for r in M.RECENCY_FEATURES for h in M.HALF_LIVES}
)


def _conversions(g: ShareGraph) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Which events are conversions (credited to their source), and each event's value (None: no value
    column; NaN is read as 0 where it is used)."""
    ev = g.events
    if "event_type" not in ev.columns:
        return None
    is_conv = ev["event_type"].isin(CONVERSION_TYPES).to_numpy()
    if not is_conv.any():
        return None
    if "value" not in ev.columns:
        return is_conv, None
    val = ev["value"]  # the column itself where it is float64 (read only at the conversions, NaN as 0)
    return is_conv, val.to_numpy() if val.dtype == np.float64 else val.to_numpy(dtype=np.float64, na_value=np.nan)


def check_weights(weights: Any, present: list[str], *, where: str = "kg.tl.kocs") -> tuple[str, dict[str, float]]:
    """``("fit"|"prior"|"percentile", {})`` or ``("explicit", {feature: weight})``, validated (the
    ``weights`` of :func:`kocs`; ``present``: the count features the log has; every engine checks
    with it)."""
    if isinstance(weights, str):
        check_choice("weights", weights, ("fit", "prior", "percentile"), where=where)
        return weights, {}
    if not isinstance(weights, Mapping):
        raise InvalidParameterError(
            f"weights={weights!r} must be 'fit', 'prior', 'percentile' or a mapping {{feature: weight}}, "
            "e.g. weights={'reach': 1.0}."
        )
    out: dict[str, float] = {}
    unknown = []
    for k, v in weights.items():
        base, at, h_text = str(k).partition("@")
        if at:  # a recency feature with its half-life: a number in (0, 10]
            try:
                h = float(h_text)
            except ValueError:
                h = float("nan")
            ok = base in M.RECENCY_FEATURES and 0 < h <= 10
        else:
            ok = base in M.COUNT_FEATURES
            if base in M.RECENCY_FEATURES:
                ok, k = True, f"{base}@{DEFAULT_HALF_LIFE:g}"
        if not ok:
            unknown.append(k)
            continue
        out[str(k)] = v
    if unknown:
        raise InvalidParameterError(
            f"weights has unknown features {unknown}; the features are {list(FEATURES)} (only a recency feature "
            f"may carry a half-life, a number in (0, 10] as a fraction of the log's span after '@', e.g. "
            f"'reach_recent_event@0.2'; without '@' it is {DEFAULT_HALF_LIFE:g})."
        )
    bad = {k: v for k, v in out.items() if not (isinstance(v, (int, float, np.number)) and np.isfinite(v) and v >= 0)}
    if bad:
        raise InvalidParameterError(f"weights must be finite and >= 0; got {bad}. Pass e.g. weights={{'reach': 1}}.")
    if not any(v > 0 and (k in present or "@" in k) for k, v in out.items()):
        raise InvalidParameterError(
            f"no feature has a positive weight among those present {present}; pass e.g. weights={{'reach': 1}}."
        )
    return "explicit", out


def _ensure_inputs(g: ShareGraph, need_communities: bool, rng: Any) -> list[str]:
    """Compute the inputs the ranking reads, under their tools' default keys, when missing."""
    computed = []
    if "reach" not in g.nodes.columns or "items_spread" not in g.nodes.columns or g._forest is None:
        _cascades(g)
        computed.append("cascades")
    if "pagerank" not in g.nodes.columns:
        _pagerank(g)
        computed.append("pagerank")
    if "coreness" not in g.nodes.columns:
        _coreness(g)
        computed.append("coreness")
    if need_communities and "community" not in g.nodes.columns:
        _communities(g, rng=rng)
        computed.append("communities")
    return computed


#: where the ranking reads its inputs: the default keys of the tools that compute them
INPUTS: dict[str, str] = {"cascades": "cascades", "pagerank": "pagerank", "coreness": "coreness",
                          "communities": "community"}


def _eligibility(g: ShareGraph, receivers: np.ndarray, staff_codes: np.ndarray, kol_threshold: Any
                 ) -> tuple[np.ndarray, int | None]:
    if kol_threshold not in ("auto", None):
        check_int("kol_threshold", kol_threshold, minimum=1, where="kg.tl.kocs")
    if isinstance(kol_threshold, str) and kol_threshold != "auto":
        raise InvalidParameterError(f"kol_threshold={kol_threshold!r} must be 'auto', None or an integer >= 1.")
    cut = M.kol_cut(kol_threshold, g.n_users)
    excluded = np.full(g.n_users, None, dtype=object)
    excluded[receivers == 0] = "no_forwards"
    if cut is not None:
        excluded[receivers > cut] = "kol"
    excluded[staff_codes] = "staff"
    return excluded, cut


def _fit(g: ShareGraph, names: list[str], staff_codes: np.ndarray, kol_threshold: Any,
         conv: Any, split_by: str, rng: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Weights from the inner backtest, or the prior with the reason."""
    c = g.codes
    staff = np.zeros(g.n_users, dtype=bool)
    staff[staff_codes] = True
    res, info = M.calibrate(
        c.src, c.tgt, c.item, c.time, g.n_users, has_time=g.has_time, staff=staff, kol_threshold=kol_threshold,
        names=names, singles=[r for r in RULES if r in names], conversions=None if conv is None else conv[0],
        conversion_value=None if conv is None else conv[1], split_by=split_by, rng=rng, max_events=FIT_MAX_EVENTS,
    )
    if res is None:
        info.update(fell_back=True, fallback="prior")
        return dict(PRIOR_WEIGHTS), info
    info.setdefault("reason", None)
    info.update(fell_back="fallback" in info, chosen=res.chosen, cuts=res.cuts,
                inner_precision={k: float(np.mean(v)) for k, v in res.inner_precision.items()},
                inner_precision_by_cut=res.inner_precision, inner_ks=list(M.FIT_KS))
    return res.weights, info


def kocs(
    g: ShareGraph,
    *,
    staff: Iterable[Any] | None = None,
    kol_threshold: int | str | None = "auto",
    weights: Literal["fit", "prior", "percentile"] | Mapping[str, float] = "fit",
    split_by: Literal["auto", "time", "item"] = "auto",
    per_community: int | None = None,
    bootstrap: int = 0,
    alpha: float = 0.1,
    rng: Any = 0,
    progress: bool | None = None,
    key_added: str = "koc",
    copy: bool = False,
) -> ShareGraph | None:
    """Rank Key Opinion Consumers by how many people their forwards will reach next.

    The score (DESIGN §5, revised 2026-12) is an additive model on log-scaled features,
    ``score = Σ_j w_j · x_j`` with ``x_j = log1p(feature_j)`` (for influence PageRank, the log of its
    ratio to the floor every user gets), so a zero feature contributes exactly 0 and
    :func:`kocgraph.get.explain` terms add up to the score. With the fitted weights the score
    estimates ``log1p`` of the user's *future reach* over a period as long as the one observed, and
    ``koc_expected_reach = expm1(score)`` gives it in people.

    Features: ``reach``, ``resharers``, ``direct_reach``, ``forwards`` (sent), ``receivers`` and
    ``senders`` (distinct people forwarded to / received from), ``items_started``, influence
    ``pagerank``, ``coreness``, ``conversions``/``conversion_value`` when the log has purchase or
    signup events (credited to the user who referred the buyer directly), and recency-decayed
    ``reach_recent_<clock>@h`` / ``forwards_recent_<clock>@h``: each forward or join weighs
    ``2 ** (-age / h)``, its age on the *event clock* (the share of the log's events after it) or the
    *wall clock* (the share of its time span after it), ``h`` a fraction of the log.

    ``weights="fit"`` (the default) fits non-negative weights on the log's own history
    (:func:`kocgraph.algorithms.koc_model.calibrate`): split by time at 60, 65, 70, 75 and 80% of the span,
    or, with no time column, one timestamp or relative per-item clocks, by five random draws of 70%
    of the items; on each cut, rank by the features before it and measure precision@50/100 of reach
    after it. The candidates are a least-squares blend of every feature (fitted over the users any
    single feature would put near the top; each cut predicted from the others) and each simple rule
    alone; the best mean over the cuts wins. It then applies the weights to the features of the whole
    log. When the log is too thin for the blend (fewer than two cuts with 30 eligible users who spread
    after them) it only chooses the best single rule, on cuts with at least 10; thinner still (or
    fewer than 90 events, or no way to split) it uses :data:`PRIOR_WEIGHTS`. Either way
    ``g.meta[key_added]["fit"]`` says ``fell_back``, ``fallback`` (``"rule"`` or ``"prior"``) and why
    (``reason``). Logs above 500,000 events are fitted on a sample of whole
    items (or the latest events). ``"prior"`` uses the prior directly; a mapping
    ``{feature: weight}`` uses those weights (not normalized; a recency feature without a half-life
    gets 0.1); ``"percentile"`` is the first version's score, a weighted sum of percentiles
    (:data:`DEFAULT_WEIGHTS`; the Spark engine's score).

    Eligible users are consumers who forwarded at least once. Excluded, never silently: their reason
    is in ``g.nodes[key_added + "_excluded"]`` and :func:`kocgraph.get.kocs` with ``excluded=True``
    lists them with their reach: ``"staff"`` (the operator's accounts), ``"kol"`` (more distinct
    receivers than ``kol_threshold``: celebrity-scale accounts are bought, not developed; ``"auto"`` =
    max(1,000, 1% of users), ``None`` disables it) and ``"no_forwards"``.

    Missing inputs (cascades, pagerank, coreness, communities for ``per_community``) are computed first
    with their defaults; ``g.meta[key_added]["computed"]`` lists them.

    Parameters
    ----------
    staff
        Staff / brand account ids.
    weights
        ``"fit"``, ``"prior"``, ``"percentile"`` or ``{feature: weight}``; unknown features raise
        :class:`~kocgraph.InvalidParameterError` listing the valid names.
    split_by
        How the fit splits the log's history: ``"auto"`` (time when the log has real times, else
        items), ``"time"`` or ``"item"``.
    per_community
        Build a diverse slate: at most this many users per community (``koc_slate`` rank).
    bootstrap
        ``B > 0`` resamples items B times, recomputes the features that add up over items (reach,
        resharers, direct reach, forwards, items started, conversions, the recency features; the
        others held fixed) with the same weights, and gives each of the top 1,000 a ``1 - alpha``
        rank interval (``koc_rank_lo``, ``koc_rank_hi``): the ranks they take in the middle
        ``1 - alpha`` of the draws, widened to hold their observed rank (see
        :func:`kocgraph.algorithms.scoring.bootstrap_rank_intervals`; ``docs/definitions.md``).
    rng
        Seed of the fit's item draws, the bootstrap and the communities (when computed here). The
        same log and seed give the same weights and ranking.
    progress
        A progress bar over the bootstrap draws: None (default) only when someone watches (a
        terminal or Jupyter), True always, False never.
    g
        The graph to rank.
    kol_threshold
        ``"auto"``, an integer (more distinct receivers than this: left out as a KOL) or None (nobody left out).
    alpha
        With ``bootstrap``: ``1 - alpha`` rank intervals (strictly between 0 and 1).
    key_added
        Where the results go: the ``g.nodes`` columns above and ``g.meta[key_added]`` (the record of the run: columns written, parameters).
    copy
        Annotate and return a copy instead of ``g`` (which is then left as it was).

    Writes
    ------
    ``g.nodes`` (every name prefixed with ``key_added``, ``koc`` by default): ``koc_score``,
    ``koc_expected_reach``, ``koc_percentile`` (share of eligible users scoring at most as much),
    ``koc_rank`` (1 = best, <NA> when not ranked), ``koc_excluded``, ``koc_term_<feature>`` (each
    feature's contribution) and ``koc_value_<feature>`` (its raw value),
    ``koc_conversions``/``koc_conversion_value`` when the log has conversions, and with the options
    ``koc_slate``, ``koc_rank_lo``, ``koc_rank_hi``.
    ``g.meta[key_added]``: the columns written, ``inputs`` (the keys of the cascades, pagerank,
    coreness and communities it read), parameters, ``features`` and ``weights``, ``fit`` (how the weights were
    chosen: split, cuts, the inner precision of the blend and of each rule, ``fell_back`` and
    ``reason``), counts.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> kg.tl.kocs(g, staff=["brand", "staff_li"])
    >>> g.nodes.sort_values("koc_rank").index[:3].tolist()
    ['alice', 'bob', 'nina']
    >>> g.meta["koc"]["fit"]["fell_back"]  # 30 events: too few to fit, the prior weights are used
    True
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
    alpha = check_fraction("alpha", alpha, where="kg.tl.kocs", example=0.1, meaning="0.1 gives 90% rank intervals")
    check_choice("split_by", split_by, ("auto", "time", "item"), where="kg.tl.kocs")
    conv = _conversions(g)
    present = list(M.COUNT_FEATURES if conv is not None else M.COUNT_FEATURES[:-2])
    mode, w_in = check_weights(weights, present)
    if mode == "percentile" and bootstrap:
        raise InvalidParameterError("bootstrap is not available with weights='percentile'; use weights='fit'.")
    computed = _ensure_inputs(g, per_community is not None, rng)
    n, c = g.n_users, g.codes
    fit_info: dict[str, Any] = {"kind": mode}
    if mode == "fit":
        names = present + [f"{r}@{h:g}" for r in M.RECENCY_FEATURES for h in M.HALF_LIVES]
        w_use, info = _fit(g, names, staff_codes, kol_threshold, conv, split_by, rng)
        fit_info.update(info)
    elif mode == "prior":
        w_use = dict(PRIOR_WEIGHTS)
    elif mode == "percentile":
        w_use = {k: v for k, v in DEFAULT_WEIGHTS.items() if k in present}
    else:
        w_use = dict(w_in)
    # the whole log's features; recency only at the half-lives the weights use
    F = M.user_features(c.src, c.tgt, c.item, c.time, n, forest=g._forest,
                        pagerank=g.nodes["pagerank"].to_numpy(np.float64),
                        coreness=g.nodes["coreness"].to_numpy(np.float64),
                        conversions=None if conv is None else conv[0],
                        conversion_value=None if conv is None else conv[1], edges=(c.edge_src, c.edge_tgt),
                        half_lives=_half_lives_used(w_use))
    dropped = [k for k, v in w_use.items() if v > 0 and k not in F]
    if dropped:  # e.g. conversions on a log without purchase events, a wall clock on one timestamp
        fit_info["dropped"] = dropped
    excluded, kol_cut = _eligibility(g, F["receivers"], staff_codes, kol_threshold)
    eligible = pd.isna(excluded)
    feats = [k for k in F if w_use.get(k, 0.0) > 0]
    wvec = np.array([w_use[k] for k in feats], dtype=np.float64)
    if mode == "percentile":
        wvec = wvec / wvec.sum()
        score, contrib = koc_scores(np.column_stack([F[k] for k in feats]), wvec, eligible)
    else:
        score, contrib = additive_scores(M.log_features(F, feats), wvec, eligible)
    cols = _write(g, key_added, F, feats, score, contrib, excluded, eligible, conv, per_community, mode)
    boot_info = _bootstrap(g, key_added, F, feats, wvec, eligible, conv, bootstrap, alpha, rng,
                           progress) if bootstrap else None
    if boot_info:
        cols += [f"{key_added}_rank_lo", f"{key_added}_rank_hi"]
    counts = pd.Series(excluded[~eligible]).value_counts().to_dict()
    record(
        g, key_added,
        {"staff": int(staff_codes.size), "kol_threshold": kol_threshold,
         "weights": weights if isinstance(weights, str) else w_in, "split_by": split_by,
         "per_community": per_community, "bootstrap": bootstrap, "alpha": alpha,
         "rng": rng if isinstance(rng, (int, type(None))) else "Generator"},
        tool="tl.kocs", columns={"nodes": cols},
        inputs={k: v for k, v in INPUTS.items() if k != "communities" or per_community is not None},
        features=feats, weights=dict(zip(feats, wvec.tolist())), fit=fit_info, kol_cut=kol_cut,
        n_eligible=int(eligible.sum()), n_excluded={str(k): int(v) for k, v in counts.items()},
        computed=computed, **({"bootstrap_info": boot_info} if boot_info else {}),
    )
    return g if copy else None


def _write(g: ShareGraph, key: str, F: dict[str, np.ndarray], feats: list[str], score: np.ndarray,
           contrib: np.ndarray, excluded: np.ndarray, eligible: np.ndarray, conv: Any,
           per_community: int | None, mode: str) -> list[str]:
    """The per-user columns of a ranking (a rerun replaces the previous one whole); their names."""
    n = g.n_users
    drop_previous(g, key)
    stale = [col for col in g.nodes.columns if col.startswith((f"{key}_term_", f"{key}_value_"))
             or col in (f"{key}_slate", f"{key}_rank_lo", f"{key}_rank_hi")]
    for col in stale:
        del g.nodes[col]
    rank = rank_with_ties(score)
    g.nodes[f"{key}_score"] = score
    g.nodes[f"{key}_expected_reach"] = np.expm1(score) if mode != "percentile" else np.full(n, np.nan)
    pct = np.full(n, np.nan)
    pct[eligible] = percentile_ranks(score[eligible])
    g.nodes[f"{key}_percentile"] = pct
    # NA where not eligible: one masked array, written once (no second .loc write into the frame)
    g.nodes[f"{key}_rank"] = pd.arrays.IntegerArray(np.where(rank > 0, rank, 0).astype(np.int64), ~eligible)
    g.nodes[f"{key}_excluded"] = pd.Categorical(excluded, categories=["staff", "kol", "no_forwards"])
    for j, k in enumerate(feats):
        g.nodes[f"{key}_term_{k}"] = contrib[:, j]
        g.nodes[f"{key}_value_{k}"] = F[k]
    if conv is not None:
        g.nodes[f"{key}_conversions"] = F["conversions"].astype(np.int64)
        g.nodes[f"{key}_conversion_value"] = F["conversion_value"]
    if per_community is not None:
        comm = g.nodes[INPUTS["communities"]].to_numpy()
        order = np.argsort(np.where(eligible, -score, np.inf), kind="stable")
        order = order[eligible[order]]
        seen = pd.Series(comm[order]).groupby(comm[order]).cumcount().to_numpy()
        keep = order[seen < per_community]
        slate = np.zeros(n, dtype=np.int64)
        slate[keep] = np.arange(1, keep.size + 1)
        g.nodes[f"{key}_slate"] = pd.arrays.IntegerArray(slate, slate == 0)
    return ([f"{key}_{x}" for x in ("score", "expected_reach", "percentile", "rank", "excluded")]
            + [f"{key}_{x}_{k}" for k in feats for x in ("term", "value")]
            + [f"{key}_{x}" for x in ("conversions", "conversion_value") if conv is not None]
            + [f"{key}_slate"] * (per_community is not None))


def _bootstrap(g: ShareGraph, key: str, F: dict[str, np.ndarray], feats: list[str], wvec: np.ndarray,
               eligible: np.ndarray, conv: Any, B: int, alpha: float, rng: Any, progress: bool | None) -> dict[str, Any]:
    """Rank intervals of the top ``BOOTSTRAP_TOP`` (see ``kocs``' ``bootstrap``)."""
    c, n = g.codes, g.n_users
    mats = M.item_user_matrices(g._forest, c.src, c.item, c.time, n, g.n_items, feats,
                                conversions=None if conv is None else conv[0],
                                conversion_value=None if conv is None else conv[1])
    resampled = [k for k in feats if k in mats]
    fixed = [k for k in feats if k not in mats]
    base = np.zeros(n)
    if fixed:
        base = M.log_features(F, fixed) @ np.array([wvec[feats.index(k)] for k in fixed])
    rank = g.nodes[f"{key}_rank"].to_numpy(dtype=np.float64, na_value=np.inf)
    top = np.argsort(rank, kind="stable")[: min(BOOTSTRAP_TOP, int(eligible.sum()))]
    from .._core.progress import advance, progress_bar

    with progress_bar(progress, total=B, desc="bootstrap", unit="draw", where="kg.tl.kocs") as bar:
        lo, hi = bootstrap_rank_intervals(base, [mats[k] for k in resampled],
                                          np.array([wvec[feats.index(k)] for k in resampled]), eligible, B=B,
                                          rng=check_rng(rng), alpha=alpha, users=top, callback=advance(bar))
    for name, vals in (("lo", lo), ("hi", hi)):
        col = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
        col[top] = vals
        has = np.zeros(n, dtype=bool)
        has[top] = True
        col[~has] = pd.NA
        g.nodes[f"{key}_rank_{name}"] = col
    return {"B": B, "alpha": alpha, "n_users_with_interval": int(top.size), "resampled": resampled,
            "held_fixed": fixed, "n_items": g.n_items,
            "meaning": ("the ranks a user takes in the middle 1 - alpha of B item resamples, widened to hold "
                        "the observed rank")}
