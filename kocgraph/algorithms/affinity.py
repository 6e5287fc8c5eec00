"""Per-user affinities: which categories a user over-forwards, at what hours, through which channels.

Pure kernels: code arrays in, a scipy CSR matrix or a dense count table out. Counting is one
``np.bincount`` / sparse COO -> CSR pass; nothing loops over users or events in Python.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kocgraph.exceptions import InvalidParameterError

__all__ = ["category_lift", "hour_histogram", "channel_counts"]


def _codes(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.int64).ravel()


def _same_length(where: str, **arrays: np.ndarray) -> None:
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidParameterError(
            f"{where}: {', '.join(f'{k} has {n}' for k, n in lengths.items())} entries; pass one entry per "
            "forwarding event in each."
        )


def category_lift(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    item_category_codes: np.ndarray,
    n_users: int,
    n_categories: int,
    *,
    unique: bool = True,
) -> sp.csr_matrix:
    """Per user, the lift of each category: how much more the user forwards it than everyone does.

    ``lift[u, c] = share_u(c) / share(c)``, where ``share_u(c)`` is the fraction of the user's forwarded
    items that are in category ``c`` and ``share(c)`` the same fraction over all users' forwards.
    Lift 2 means the user forwards ``c`` twice as often as the crowd; 1 means no preference.
    ``sum_c share(c) * lift[u, c] == 1`` for every user with at least one categorised forward.

    Parameters
    ----------
    user_codes, item_codes : integer arrays of length e
        Per forwarding event: the forwarding user (``0..n_users-1``) and the item.
    item_category_codes : integer array indexed by item code
        Category (``0..n_categories-1``) of each item; a negative code means "uncategorised", and
        those forwards are left out of both shares.
    n_users, n_categories : int
        Shape of the result.
    unique : bool, default True
        Count each (user, item) pair once: an item forwarded to twenty friends is one item forwarded,
        so the lift reflects interest, not fan-out. ``False`` counts every event.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_users, n_categories), float64
        Non-zero only where the user forwarded something in the category (0 is never stored).

    Examples
    --------
    User 0 forwards items 0, 1 (category 0) and item 2 (category 1); user 1 forwards item 2 only.
    Overall 2 of 4 forwards are in each category, so user 0's lift is (2/3) / (1/2) = 4/3 for
    category 0 and (1/3) / (1/2) = 2/3 for category 1; user 1's lift for category 1 is 1 / (1/2) = 2:

    >>> L = category_lift(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 2]), np.array([0, 0, 1]), 2, 2)
    >>> L.toarray().round(3).tolist()
    [[1.333, 0.667], [0.0, 2.0]]
    """
    u, it = _codes(user_codes), _codes(item_codes)
    cat_of = _codes(item_category_codes)
    _same_length("category_lift", user_codes=u, item_codes=it)
    nu, nc = int(n_users), int(n_categories)
    if unique and u.shape[0]:
        pair = np.unique(np.stack([u, it]), axis=1)
        u, it = pair[0], pair[1]
    cat = cat_of[it] if it.shape[0] else np.empty(0, dtype=np.int64)
    keep = cat >= 0
    u, cat = u[keep], cat[keep]
    counts = sp.coo_matrix((np.ones(u.shape[0]), (u, cat)), shape=(nu, nc)).tocsr()  # tocsr sums duplicates
    total = counts.data.sum()
    if total == 0:
        return sp.csr_matrix((nu, nc), dtype=np.float64)
    row_tot = np.asarray(counts.sum(axis=1)).ravel()
    col_share = np.asarray(counts.sum(axis=0)).ravel() / total
    rows = np.repeat(np.arange(nu), np.diff(counts.indptr))
    lift = counts.copy()
    lift.data = (counts.data / row_tot[rows]) / col_share[counts.indices]
    return lift


def hour_histogram(user_codes: np.ndarray, hours: np.ndarray, n_users: int) -> np.ndarray:
    """How many forwards each user made in each hour of the day.

    Parameters
    ----------
    user_codes : integer array of length e
        Forwarding user of each event.
    hours : integer array of length e
        Local hour of each event, ``0..23`` (convert timestamps to the audience's time zone first).
    n_users : int

    Returns
    -------
    int64 array of shape (n_users, 24)

    Examples
    --------
    >>> h = hour_histogram(np.array([0, 0, 1]), np.array([9, 9, 23]), 2)
    >>> int(h[0, 9]), int(h[1, 23]), int(h.sum())
    (2, 1, 3)
    """
    u, h = _codes(user_codes), _codes(hours)
    _same_length("hour_histogram", user_codes=u, hours=h)
    if h.shape[0] and (h.min() < 0 or h.max() > 23):
        bad = int(h.min()) if h.min() < 0 else int(h.max())
        raise InvalidParameterError(
            f"hours must be in 0..23; found {bad}. Pass the hour of day, e.g. "
            "pd.to_datetime(time).dt.tz_convert('Asia/Shanghai').dt.hour."
        )
    return np.bincount(u * 24 + h, minlength=int(n_users) * 24).reshape(int(n_users), 24).astype(np.int64)


def channel_counts(user_codes: np.ndarray, channel_codes: np.ndarray, n_users: int, n_channels: int) -> np.ndarray:
    """How many forwards each user made through each channel (moments, group, chat, ...).

    Parameters
    ----------
    user_codes : integer array of length e
        Forwarding user of each event.
    channel_codes : integer array of length e
        Channel code ``0..n_channels-1`` of each event; negative codes (channel unknown) are skipped.
    n_users, n_channels : int

    Returns
    -------
    int64 array of shape (n_users, n_channels)

    Examples
    --------
    >>> channel_counts(np.array([0, 0, 1, 1]), np.array([0, 1, 1, -1]), 2, 2).tolist()
    [[1, 1], [0, 1]]
    """
    u, ch = _codes(user_codes), _codes(channel_codes)
    _same_length("channel_counts", user_codes=u, channel_codes=ch)
    nu, nc = int(n_users), int(n_channels)
    if ch.shape[0] and ch.max() >= nc:
        raise InvalidParameterError(
            f"channel code {int(ch.max())} is outside 0..{nc - 1}; pass n_channels larger than every code."
        )
    keep = ch >= 0
    return np.bincount(u[keep] * nc + ch[keep], minlength=nu * nc).reshape(nu, nc).astype(np.int64)
