"""The KOC score (DESIGN §5): a weighted sum of per-feature percentiles, and its rank uncertainty.

Pure kernels: numpy (and scipy.sparse) in, numpy out.

* :func:`percentile_ranks` -- ``P(x) = #{values <= x} / #{non-NaN values}`` (ties share the top rank).
* :func:`koc_scores` -- percentiles among *eligible* users, weights normalized to sum to 1,
  ``contribution[i, j] = weight[j] * percentile[i, j]``, ``score[i] = contribution[i].sum()``. So the
  explain terms add up to the score, and the score lies in ``[0, 1]``.
* :func:`rank_with_ties` -- 1 = best.
* :func:`bootstrap_rank_intervals` -- resample items, recompute additive features, re-rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata

from kocgraph.exceptions import InvalidParameterError, check_choice

__all__ = ["percentile_ranks", "koc_scores", "rank_with_ties", "bootstrap_rank_intervals"]


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
        r = rankdata(-vals, method="min").astype(np.int64)
    ranks[ok] = r
    return ranks


def _ranks_min_rows(score: np.ndarray) -> np.ndarray:
    """Competition ranks (1 = best) along each row of a 2-D array without NaN."""
    return rankdata(-score, method="min", axis=1).astype(np.int64)


def bootstrap_rank_intervals(
    features: np.ndarray,
    item_user: Sequence[sp.spmatrix | sp.sparray | None],
    weights: np.ndarray,
    eligible: np.ndarray,
    *,
    B: int = 200,
    rng: int | np.random.Generator | None = None,
    alpha: float = 0.1,
    users: np.ndarray | None = None,
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap intervals of each user's KOC rank, resampling items.

    Each draw resamples the ``n_items`` items with replacement (multinomial counts ``c``, shape
    ``(n_items,)``, summing to ``n_items``). A feature ``j`` with ``item_user[j]`` given is
    **additive over items** (reach, direct reach, items started, conversions): its resampled value
    is ``c @ item_user[j]``, the sum of the per-item values weighted by how often each item was
    drawn; with every count 1 it is the observed feature. A feature with ``item_user[j] is None``
    (influence PageRank, any non-additive feature) is **held fixed** at ``features[:, j]``. Scores
    are recomputed with :func:`koc_scores` among eligible users and ranked with competition ranking
    (ties share the best rank); the interval is the ``(alpha/2, 1 - alpha/2)`` quantile pair of the
    ranks (numpy's default linear interpolation, rounded outward to integers).

    Parameters
    ----------
    features : float array of shape (n_users, n_features)
        Observed features (only the held-fixed columns are read).
    item_user : sequence of length n_features
        For each feature, a sparse matrix of shape ``(n_items, n_users)`` whose column sums equal
        the feature, or ``None`` to hold the feature fixed. All given matrices share ``n_items``.
    weights : float array of shape (n_features,)
    eligible : bool array of shape (n_users,)
    B : int
        Number of bootstrap draws.
    rng : int or numpy Generator, optional
    alpha : float
        Two-sided level; 0.1 gives a 90 % interval.
    users : int array, optional
        Codes of the (eligible) users whose intervals are wanted; all eligible users by default.
        Every draw still ranks all eligible users; only the stored ranks shrink.
    batch_size : int, optional
        Draws per vectorized batch; by default sized to keep each dense batch near 64 MiB.

    Returns
    -------
    lower, upper : int64 arrays of shape (len(users),)
        Rank interval of each requested user; ``-1`` for ineligible users.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> # 3 items; user 0 reaches 5 on every item, user 1 reaches 1, user 2 reaches 0
    >>> M = sp.csr_matrix(np.array([[5.0, 1.0, 0.0]] * 3))
    >>> X = np.asarray(M.sum(axis=0)).reshape(-1, 1)
    >>> lo, hi = bootstrap_rank_intervals(X, [M], np.ones(1), np.ones(3, bool), B=50, rng=0)
    >>> lo.tolist(), hi.tolist()
    ([1, 2, 3], [1, 2, 3])
    """
    X = np.asarray(features, dtype=np.float64)
    n_users, n_feat = X.shape
    if len(item_user) != n_feat:
        raise InvalidParameterError(
            f"item_user must hold one entry per feature ({n_feat}); got {len(item_user)}. "
            "Pass None for a feature that is held fixed."
        )
    if not (0 < alpha < 1) or int(B) < 1:
        raise InvalidParameterError(
            f"need B >= 1 and 0 < alpha < 1; got B={B!r}, alpha={alpha!r}. Pass e.g. B=200, alpha=0.1."
        )
    wt = _normalized_weights(weights, n_feat)
    elig = np.flatnonzero(np.asarray(eligible, dtype=bool).ravel())
    want = elig if users is None else np.asarray(users, dtype=np.int64).ravel()
    pos = np.full(n_users, -1, dtype=np.int64)
    pos[elig] = np.arange(elig.size)
    want_pos = pos[want]
    mats = [None if m is None else sp.csc_matrix(m, dtype=np.float64)[:, elig] for m in item_user]
    sizes = {m.shape[0] for m in mats if m is not None}
    if len(sizes) > 1:
        raise InvalidParameterError(
            f"every item_user matrix must have the same number of items (rows); got {sorted(sizes)}."
        )
    n_items = sizes.pop() if sizes else 0
    gen = np.random.default_rng(rng)
    B = int(B)
    if batch_size is None:
        batch_size = max(1, min(B, (8 << 20) // max(elig.size * max(n_feat, 1), 1)))
    ranks = np.empty((B, want.size), dtype=np.int64)
    fixed = X[elig]
    for b0 in range(0, B, batch_size):
        nb = min(batch_size, B - b0)
        counts = np.zeros((nb, 0))
        if n_items:
            counts = gen.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=nb).astype(np.float64)
        score = np.zeros((nb, elig.size))
        for j, m in enumerate(mats):
            vals = np.broadcast_to(fixed[:, j], (nb, elig.size)) if m is None else np.asarray(counts @ m)
            score += wt[j] * _column_percentiles(vals.T).T
        if elig.size:
            ranks[b0 : b0 + nb] = _ranks_min_rows(score)[:, np.maximum(want_pos, 0)]
    lower = np.full(want.size, -1, dtype=np.int64)
    upper = np.full(want.size, -1, dtype=np.int64)
    ok = want_pos >= 0
    if ok.any() and B:
        q = np.quantile(ranks[:, ok], [alpha / 2, 1 - alpha / 2], axis=0)
        lower[ok] = np.floor(q[0]).astype(np.int64)
        upper[ok] = np.ceil(q[1]).astype(np.int64)
    return lower, upper
