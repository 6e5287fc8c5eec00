"""The KOC score (DESIGN §5, revised 2026-12): an additive model on log features, and its rank uncertainty.

Pure kernels: numpy (and scipy.sparse) in, numpy out.

* :func:`additive_scores` -- ``contribution[i, j] = weight[j] * x[i, j]`` on log features ``x``
  (``log1p`` of counts, so a zero feature contributes exactly zero), ``score[i] = Σ_j contribution[i, j]``;
  ineligible users get NaN.
* :func:`percentile_ranks` -- ``P(x) = #{values <= x} / #{non-NaN values}`` (ties share the top rank).
* :func:`koc_scores` -- the first version's score (``weights="percentile"``), kept for the Spark engine:
  a weighted sum of percentiles among eligible users, weights normalized to sum to 1.
* :func:`rank_with_ties` -- 1 = best.
* :func:`bootstrap_rank_intervals` -- resample items, recompute the features that add up over items,
  re-score, re-rank; the interval always holds the observed rank.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from kocgraph.exceptions import InvalidParameterError, check_choice

__all__ = ["additive_scores", "percentile_ranks", "koc_scores", "rank_with_ties", "bootstrap_rank_intervals"]


def percentile_ranks(x: np.ndarray) -> np.ndarray:
    """Fraction of the (non-NaN) values that are less than or equal to each value.

    ``P(x_i) = #{j : x_j <= x_i} / #{j : x_j is not NaN}``, so the largest value gets 1, tied values
    share the larger rank (``scipy.stats.rankdata(method="max") / n``), and NaN stays NaN.

    Examples
    --------
    >>> percentile_ranks(np.array([10.0, 20.0, 20.0, np.nan, 5.0])).tolist()
    [0.5, 1.0, 1.0, nan, 0.25]
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    vals = x[ok]
    if vals.size:
        out[ok] = np.searchsorted(np.sort(vals), vals, side="right") / vals.size
    return out


def additive_scores(
    log_features: np.ndarray, weights: np.ndarray, eligible: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The additive KOC model: ``contribution = weight * log_feature``, ``score = Σ contributions``.

    ``log_features`` are the model's inputs (``log1p`` of counts, see
    :func:`kocgraph.algorithms.koc_model.log_features`), so a user with a zero feature gets exactly 0
    from it, and the score is on the scale of ``log1p(future reach)``. The score is the row sum of
    the contributions, so the explain terms add up to it. Ineligible users get NaN.

    Parameters
    ----------
    log_features : float array of shape (n_users, n_features), non-negative
    weights : float array of shape (n_features,), non-negative (not normalized)
    eligible : bool array of shape (n_users,)

    Returns
    -------
    score : float64 array of shape (n_users,)
    contributions : float64 array of shape (n_users, n_features)

    Examples
    --------
    >>> X = np.log1p(np.array([[3.0, 0.0], [0.0, 0.0], [1.0, 7.0]]))
    >>> score, contrib = additive_scores(X, np.array([1.0, 0.5]), np.array([True, True, False]))
    >>> np.round(score, 4).tolist(), contrib[1].tolist()
    ([1.3863, 0.0, nan], [0.0, 0.0])
    """
    X = np.asarray(log_features, dtype=np.float64)
    wt = np.asarray(weights, dtype=np.float64).ravel()
    if X.ndim != 2 or wt.shape[0] != X.shape[1] or not np.isfinite(wt).all() or (wt < 0).any():
        raise InvalidParameterError(
            f"need a 2-D feature array and one finite non-negative weight per column; got shape {X.shape} "
            f"and weights {wt.tolist()!r}."
        )
    elig = np.asarray(eligible, dtype=bool).ravel()
    contrib = np.full(X.shape, np.nan)
    contrib[elig] = X[elig] * wt
    score = np.full(X.shape[0], np.nan)
    score[elig] = contrib[elig].sum(axis=1)
    return score, contrib


def _normalized_weights(weights: np.ndarray, n_features: int) -> np.ndarray:
    wt = np.asarray(weights, dtype=np.float64).ravel()
    if wt.shape[0] != n_features or not np.isfinite(wt).all() or (wt < 0).any() or wt.sum() <= 0:
        raise InvalidParameterError(
            f"weights must be {n_features} non-negative finite numbers with a positive sum (one per "
            f"feature); got {wt.tolist()!r}. Pass for example weights=np.ones({n_features})."
        )
    return wt / wt.sum()


def _column_percentiles(values: np.ndarray) -> np.ndarray:
    """Percentile ranks down each column (axis 0) of a 2-D array; NaN in, 0 out (see koc_scores)."""
    if values.shape[0] == 0:
        return np.zeros(values.shape)
    from scipy.stats import rankdata  # imported when used: scipy.stats costs ~0.4 s to import

    pct = rankdata(values, method="max", axis=0, nan_policy="omit") / np.maximum(
        (~np.isnan(values)).sum(axis=0, keepdims=True), 1
    )
    return np.where(np.isnan(values), 0.0, pct)


def koc_scores(
    features: np.ndarray, weights: np.ndarray, eligible: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """KOC score of every user: a weighted sum of feature percentiles among eligible users.

    For feature ``j`` and eligible user ``i``, ``percentile[i, j]`` is the fraction of eligible users
    (with a non-NaN value of feature ``j``) whose value is ``<= features[i, j]``. Weights are
    normalized to sum to 1, ``contribution[i, j] = weight[j] * percentile[i, j]`` and
    ``score[i] = sum_j contribution[i, j]``; so the score lies in ``[0, 1]`` and the explain terms
    add up to it. A NaN feature value (the feature is unknown for that user) contributes 0.
    Ineligible users (staff, accounts above the KOL threshold) get NaN scores and contributions.

    Parameters
    ----------
    features : float array of shape (n_users, n_features)
    weights : float array of shape (n_features,)
        Non-negative, positive sum; normalized here.
    eligible : bool array of shape (n_users,)

    Returns
    -------
    score : float64 array of shape (n_users,)
    contributions : float64 array of shape (n_users, n_features)

    Examples
    --------
    >>> X = np.array([[3.0, 0.1], [1.0, 0.3], [2.0, 0.2], [9.0, 9.0]])
    >>> score, contrib = koc_scores(X, np.array([3.0, 1.0]), np.array([True, True, True, False]))
    >>> np.round(score, 4).tolist()
    [0.8333, 0.5, 0.6667, nan]
    >>> np.round(contrib[0], 4).tolist()
    [0.75, 0.0833]
    """
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2:
        raise InvalidParameterError(
            f"features must be a 2-D array (n_users x n_features); got shape {X.shape}. "
            "Stack the per-user feature columns with np.column_stack."
        )
    wt = _normalized_weights(weights, X.shape[1])
    elig = np.asarray(eligible, dtype=bool).ravel()
    contrib = np.full(X.shape, np.nan)
    contrib[elig] = _column_percentiles(X[elig]) * wt
    score = np.full(X.shape[0], np.nan)
    score[elig] = contrib[elig].sum(axis=1)
    return score, contrib


def rank_with_ties(score: np.ndarray, *, method: str = "ordinal") -> np.ndarray:
    """Rank scores, 1 = highest; NaN scores get -1.

    Parameters
    ----------
    score : float array
    method : {"ordinal", "min"}
        ``"ordinal"``: distinct ranks ``1..k``, equal scores ordered by smaller code first (stable).
        ``"min"``: equal scores share the best rank of their group (competition ranking, 1-2-2-4).

    Returns
    -------
    int64 array of the same length

    Examples
    --------
    >>> s = np.array([0.5, 0.9, np.nan, 0.5, 0.1])
    >>> rank_with_ties(s).tolist(), rank_with_ties(s, method="min").tolist()
    ([2, 1, -1, 3, 4], [2, 1, -1, 2, 4])
    """
    check_choice("method", method, ("ordinal", "min"), where="rank_with_ties")
    s = np.asarray(score, dtype=np.float64).ravel()
    ranks = np.full(s.shape[0], -1, dtype=np.int64)
    ok = np.flatnonzero(~np.isnan(s))
    if ok.size == 0:
        return ranks
    vals = s[ok]
    if method == "ordinal":
        order = np.argsort(-vals, kind="stable")
        r = np.empty(ok.size, dtype=np.int64)
        r[order] = np.arange(1, ok.size + 1)
    else:
        from scipy.stats import rankdata

        r = rankdata(-vals, method="min").astype(np.int64)
    ranks[ok] = r
    return ranks


def bootstrap_rank_intervals(
    base: np.ndarray,
    item_user: Sequence[sp.spmatrix | sp.sparray],
    weights: np.ndarray,
    eligible: np.ndarray,
    *,
    B: int = 200,
    rng: int | np.random.Generator | None = None,
    alpha: float = 0.1,
    users: np.ndarray | None = None,
    batch_size: int | None = None,
    callback: Callable[[int, int | None], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap intervals of each user's KOC rank, resampling items.

    ``callback(draws, B)``, when given, is called after each batch of draws (for a progress bar).

    The score is ``base + Σ_j weights[j] * log1p(feature_j)``: ``base`` holds the terms of the
    features that are not sums over items (influence PageRank, coreness, distinct receivers and
    senders), held fixed; each feature ``j`` with a matrix ``item_user[j]`` (shape
    ``(n_items, n_users)``, column sums = the feature) adds up over items and is recomputed. Each
    draw resamples the ``n_items`` items with replacement (multinomial counts ``c``), so the feature
    becomes ``c @ item_user[j]``; scores are ranked among the eligible users (ordinal ranks, ties by
    user code, as :func:`rank_with_ties`).

    The interval of a user runs from the ``alpha/2`` to the ``1 - alpha/2`` quantile of their ranks
    over the draws (numpy's linear interpolation, rounded outward), **widened to hold the observed
    rank** (the rank with every count 1). The widening matters at the very top: a resample drops
    some of a top user's items and keeps some of a rival's twice, and a user can only fall from rank
    1, so resampled ranks there lie mostly below the observed one. So ``[lo, hi]`` reads: "ranked
    ``rank`` on this log; on logs like it (other draws of its items) anywhere from ``lo`` to ``hi``
    in 1 - alpha of the draws, or at ``rank`` itself".

    Parameters
    ----------
    base : float array of shape (n_users,)
        The held-fixed part of the score (0 when every feature adds up over items).
    item_user : sequence of sparse matrices
        One ``(n_items, n_users)`` matrix per resampled feature.
    weights : float array of shape (len(item_user),)
    eligible : bool array of shape (n_users,)
    B : int
        Number of draws.
    rng : int or numpy Generator, optional
    alpha : float
        Two-sided level; 0.1 gives a 90% interval.
    users : int array, optional
        Codes of the (eligible) users whose intervals are wanted; all eligible users by default.
        Every draw still ranks all eligible users.
    batch_size : int, optional
        Draws per vectorized batch; by default sized to keep each dense batch near 64 MiB.

    Returns
    -------
    lower, upper : int64 arrays of shape (len(users),)
        ``-1`` for ineligible users.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> # 3 items; user 0 reaches 5 on every item, user 1 reaches 1, user 2 reaches 0
    >>> M = sp.csr_matrix(np.array([[5.0, 1.0, 0.0]] * 3))
    >>> lo, hi = bootstrap_rank_intervals(np.zeros(3), [M], np.ones(1), np.ones(3, bool), B=50, rng=0)
    >>> lo.tolist(), hi.tolist()
    ([1, 2, 3], [1, 2, 3])
    """
    b0_ = np.asarray(base, dtype=np.float64).ravel()
    n_users = b0_.shape[0]
    wt = np.asarray(weights, dtype=np.float64).ravel()
    if len(item_user) != wt.shape[0] or not np.isfinite(wt).all() or (wt < 0).any():
        raise InvalidParameterError(
            f"need one finite non-negative weight per item_user matrix ({len(item_user)}); got {wt.tolist()!r}."
        )
    if not (0 < alpha < 1) or int(B) < 1:
        raise InvalidParameterError(
            f"need B >= 1 and 0 < alpha < 1; got B={B!r}, alpha={alpha!r}. Pass e.g. B=200, alpha=0.1."
        )
    elig = np.flatnonzero(np.asarray(eligible, dtype=bool).ravel())
    want = elig if users is None else np.asarray(users, dtype=np.int64).ravel()
    pos = np.full(n_users, -1, dtype=np.int64)
    pos[elig] = np.arange(elig.size)
    want_pos = pos[want]
    mats = [sp.csc_matrix(m, dtype=np.float64)[:, elig] for m in item_user]
    sizes = {m.shape[0] for m in mats}
    if len(sizes) > 1:
        raise InvalidParameterError(
            f"every item_user matrix must have the same number of items (rows); got {sorted(sizes)}."
        )
    n_items = sizes.pop() if sizes else 0
    gen = np.random.default_rng(rng)
    B = int(B)
    if batch_size is None:
        batch_size = max(1, min(B, (8 << 20) // max(elig.size, 1)))
    base_e = b0_[elig]
    observed = base_e + sum((w * np.log1p(np.asarray(m.sum(axis=0)).ravel()) for w, m in zip(wt, mats)),
                            np.zeros(elig.size))
    point = rank_with_ties(observed)
    ranks = np.empty((B, want.size), dtype=np.int64)
    for b0 in range(0, B, batch_size):
        nb = min(batch_size, B - b0)
        score = np.broadcast_to(base_e, (nb, elig.size)).copy()
        if n_items:
            counts = gen.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=nb).astype(np.float64)
            for w, m in zip(wt, mats):
                score += w * np.log1p(np.asarray(counts @ m))
        if elig.size:
            order = np.argsort(-score, axis=1, kind="stable")
            r = np.empty_like(order)
            np.put_along_axis(r, order, np.arange(1, elig.size + 1)[None, :], axis=1)
            ranks[b0 : b0 + nb] = r[:, np.maximum(want_pos, 0)]
        if callback is not None:
            callback(nb, B)
    lower = np.full(want.size, -1, dtype=np.int64)
    upper = np.full(want.size, -1, dtype=np.int64)
    ok = want_pos >= 0
    if ok.any():
        q = np.quantile(ranks[:, ok], [alpha / 2, 1 - alpha / 2], axis=0)
        obs = point[want_pos[ok]]
        lower[ok] = np.minimum(np.floor(q[0]).astype(np.int64), obs)
        upper[ok] = np.maximum(np.ceil(q[1]).astype(np.int64), obs)
    return lower, upper
