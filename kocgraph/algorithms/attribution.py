"""Conversion attribution: credit each conversion to the sharers upstream of the buyer in its cascade.

Pure kernel: cascade-forest arrays and conversion arrays in, per-user credit arrays out. The upstream
sharers of a conversion are the ancestors of the converting holder in that item's cascade tree,
nearest first: level 1 is the parent (the sharer who brought the buyer the item), level 2 the
parent's parent, and so on. The walk is vectorized over all conversions at once, one numpy gather
per level.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from kocgraph.exceptions import InvalidParameterError, check_choice

__all__ = ["attribute", "DEFAULT_HALF_LIFE_NS"]

#: Default half-life of ``model="time_decay"``: 7 days, in nanoseconds (the unit of int64 timestamps).
DEFAULT_HALF_LIFE_NS = 7 * 24 * 3600 * 10**9

_MODELS = ["last_touch", "first_touch", "linear", "time_decay"]


def attribute(
    parent: np.ndarray,
    user: np.ndarray,
    conv_holder: np.ndarray,
    conv_value: np.ndarray,
    *,
    model: Literal["last_touch", "first_touch", "linear", "time_decay"] = "last_touch",
    max_levels: int = 3,
    half_life: float | None = None,
    hold_time: np.ndarray | None = None,
    conv_time: np.ndarray | None = None,
    n_users: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray | float | int]]:
    """Credit conversions to the upstream sharers of each buyer, up to ``max_levels`` levels.

    ``max_levels`` defaults to 3 because Chinese regulation forbids multi-level commission chains
    deeper than three levels (the pyramid-selling rules: the 2005 Regulations on Prohibition of
    Pyramid Selling, and the 2013 joint opinion of the Supreme People's Court, the Supreme People's
    Procuratorate and the Ministry of Public Security, which treats schemes of three or more levels
    as pyramid selling). Referral and distribution programmes therefore pay at most three levels,
    and credit is read the same way here.

    Parameters
    ----------
    parent : int array of length h
        Cascade forest over holders (one row per item and user holding it): index of each holder's
        parent holder, or -1 for a root.
    user : int array of length h
        User code (``0..n_users-1``) of each holder.
    conv_holder : int array of length c
        For each conversion, the holder index of the converting user in that item's tree; -1 when the
        buyer is not in the tree (counted as unattributed).
    conv_value : float array of length c
        Value of each conversion (order amount; use 1.0 to count conversions).
    model : {"last_touch", "first_touch", "linear", "time_decay"}, default "last_touch"
        How a conversion's value is split among its ``<= max_levels`` upstream sharers:
        ``last_touch`` all to level 1 (the parent); ``first_touch`` all to the farthest ancestor within
        ``max_levels``; ``linear`` equal shares; ``time_decay`` weights
        ``2 ** (-(conv_time - hold_time[ancestor]) / half_life)``, normalised, so sharers who joined
        the cascade recently before the purchase get more.
    max_levels : int, default 3
        How many levels up the tree get credit (see above for why 3).
    half_life : float, optional
        Half-life of ``time_decay`` in the units of the times; ``None`` means 7 days in nanoseconds
        (:data:`DEFAULT_HALF_LIFE_NS`), right for int64 ``datetime64[ns]`` timestamps.
    hold_time : int64 array of length h, optional
        When each holder joined the cascade; required by ``time_decay``.
    conv_time : int64 array of length c, optional
        When each conversion happened; required by ``time_decay``.
    n_users : int
        Number of users (length of the per-user outputs).

    Returns
    -------
    credit_value : float64 array of length n_users
        Value credited to each user, summed over conversions.
    credit_conversions : float64 array of length n_users
        Fractional conversions credited to each user: every attributed conversion hands out exactly 1,
        so the total equals the number of attributed conversions.
    levels : dict
        ``level`` (1..max_levels), ``value`` and ``conversions`` credited at each level, ``reached``
        (conversions that have an ancestor at that level), plus the scalars ``unattributed_value``
        and ``unattributed_conversions``: conversions whose buyer is a root (or not in the tree) have
        no upstream sharer and are credited to nobody.
        ``credit_value.sum() + unattributed_value == conv_value.sum()`` up to rounding, because each
        conversion's weights are normalised to sum to 1.

    Examples
    --------
    Chain 0 -> 1 -> 2 -> 3 -> 4 (holder i is user i); user 4 buys for 100. Levels: 3, 2, 1 (0 is
    beyond three levels):

    >>> parent = np.array([-1, 0, 1, 2, 3])
    >>> v, c, lv = attribute(parent, np.arange(5), np.array([4]), np.array([100.0]), model="linear", n_users=5)
    >>> v.round(2).tolist()
    [0.0, 33.33, 33.33, 33.33, 0.0]
    >>> attribute(parent, np.arange(5), np.array([4]), np.array([100.0]), model="first_touch", n_users=5)[0].tolist()
    [0.0, 100.0, 0.0, 0.0, 0.0]
    """
    check_choice("model", model, _MODELS, where="attribute")
    if isinstance(max_levels, bool) or not isinstance(max_levels, (int, np.integer)) or max_levels < 1:
        raise InvalidParameterError(
            f"max_levels={max_levels!r} must be a positive integer (levels of upstream sharers credited); "
            "pass max_levels=3."
        )
    parent = np.asarray(parent, dtype=np.int64).ravel()
    user = np.asarray(user, dtype=np.int64).ravel()
    holder = np.asarray(conv_holder, dtype=np.int64).ravel()
    value = np.asarray(conv_value, dtype=np.float64).ravel()
    if parent.shape != user.shape or holder.shape != value.shape:
        raise InvalidParameterError(
            f"parent ({parent.shape[0]}) and user ({user.shape[0]}) must have one entry per holder, and "
            f"conv_holder ({holder.shape[0]}) and conv_value ({value.shape[0]}) one per conversion."
        )
    L, C = int(max_levels), holder.shape[0]

    # ---- ancestors, nearest first: one gather per level --------------------------------------
    anc = np.full((L, C), -1, dtype=np.int64)
    cur = holder
    for lv in range(L):
        has = cur >= 0
        cur = np.where(has, parent[np.where(has, cur, 0)] if parent.shape[0] else -1, -1)
        anc[lv] = cur
    present = anc >= 0
    n_anc = present.sum(axis=0)

    # ---- weights per (level, conversion), normalised per conversion ----------------------------
    if model == "last_touch":
        w = np.zeros((L, C))
        w[0] = present[0]
    elif model == "first_touch":
        w = np.zeros((L, C))
        has = n_anc > 0
        w[n_anc[has] - 1, np.flatnonzero(has)] = 1.0
    elif model == "linear":
        w = present.astype(np.float64)
    else:
        if hold_time is None or conv_time is None:
            raise InvalidParameterError(
                "model='time_decay' needs hold_time (when each holder joined) and conv_time (when each "
                f"conversion happened); got hold_time={'None' if hold_time is None else 'array'}, "
                f"conv_time={'None' if conv_time is None else 'array'}. Pass both, or use model='linear'."
            )
        hl = float(DEFAULT_HALF_LIFE_NS if half_life is None else half_life)
        if not (np.isfinite(hl) and hl > 0):
            raise InvalidParameterError(
                f"half_life={half_life!r} must be a positive number in the units of the times; pass "
                "half_life=None for 7 days in nanoseconds."
            )
        ht = np.asarray(hold_time, dtype=np.int64).ravel()
        ct = np.asarray(conv_time, dtype=np.int64).ravel()
        # exponent in float; subtracting the per-conversion max keeps 2**e from underflowing to 0
        age = (ct[None, :] - ht[np.where(present, anc, 0)]).astype(np.float64) if ht.shape[0] else 0.0
        e = np.where(present, -age / hl, -np.inf)
        top = e.max(axis=0, initial=-np.inf)
        w = np.where(present, np.exp2(e - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = w.sum(axis=0)
    attributed = total > 0
    w = np.divide(w, total, out=np.zeros_like(w), where=attributed)

    # ---- scatter to users ----------------------------------------------------------------------
    credit = w * value
    who = user[anc[present]] if user.shape[0] else np.empty(0, dtype=np.int64)
    credit_value = np.bincount(who, weights=credit[present], minlength=int(n_users)).astype(np.float64)
    credit_conv = np.bincount(who, weights=w[present], minlength=int(n_users)).astype(np.float64)
    levels: dict[str, np.ndarray | float | int] = {
        "level": np.arange(1, L + 1, dtype=np.int64),
        "value": credit.sum(axis=1),
        "conversions": w.sum(axis=1),
        "reached": present.sum(axis=1).astype(np.int64),
        "unattributed_value": float(value[~attributed].sum()),
        "unattributed_conversions": int(np.count_nonzero(~attributed)),
    }
    return credit_value, credit_conv, levels
