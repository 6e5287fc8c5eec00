"""``kg.read_adoptions``: cascades from "user adopted item at time" logs plus a follower graph."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.validation import check_columns, factorize_ids, parse_time
from ..exceptions import InvalidParameterError, LogSchemaError, check_choice
from .sources import load_table

__all__ = ["read_adoptions", "infer_parents"]


def infer_parents(
    user: np.ndarray,
    item: np.ndarray,
    rank: np.ndarray,
    soc_src: np.ndarray,
    soc_tgt: np.ndarray,
    n_users: int,
    *,
    parent: str = "latest",
) -> np.ndarray:
    """Parent adoption index of every adoption (-1 = root). Pure kernel.

    ``user``/``item`` codes and a strict order ``rank`` of the adoptions (one per (user, item));
    ``soc_src -> soc_tgt`` means the target sees what the source shares. The parent of adoption
    ``(v, i)`` is, among adoptions ``(u, i)`` with ``rank < rank(v, i)`` and an edge ``u -> v``, the one
    with the largest rank (``"latest"``) or the smallest (``"earliest"``).

    >>> infer_parents(np.array([0, 1, 2]), np.zeros(3, int), np.arange(3), np.array([0, 1, 0]), np.array([1, 2, 2]), 3).tolist()
    [-1, 0, 1]
    """
    A = len(user)
    if A == 0 or len(soc_src) == 0:
        return np.full(A, -1, dtype=np.int64)
    N = np.int64(n_users)
    # in-neighbours (who v follows) via CSR of the reversed social graph
    order = np.argsort(soc_tgt, kind="stable")
    nb = soc_src[order].astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(soc_tgt, minlength=n_users))])
    lookup = pd.Index(item.astype(np.int64) * N + user)
    out = np.full(A, -1, dtype=np.int64)
    best = np.full(A, -1 if parent == "latest" else np.iinfo(np.int64).max, dtype=np.int64)
    # chunk the expansion so memory stays bounded on big social graphs
    deg = indptr[user + 1] - indptr[user]
    cum = np.cumsum(deg)
    chunk = 5_000_000
    start = 0
    while start < A:
        stop = int(np.searchsorted(cum, (cum[start - 1] if start else 0) + chunk, side="right"))
        stop = max(stop, start + 1)
        sl = np.arange(start, min(stop, A))
        k = deg[sl]
        a_idx = np.repeat(sl, k)
        offs = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        cand_user = nb[np.repeat(indptr[user[sl]], k) + offs]
        cand = lookup.get_indexer(item[a_idx].astype(np.int64) * N + cand_user)
        ok = cand >= 0
        a_idx, cand = a_idx[ok], cand[ok]
        earlier = rank[cand] < rank[a_idx]
        a_idx, cand = a_idx[earlier], cand[earlier]
        r = rank[cand]
        if parent == "latest":
            np.maximum.at(best, a_idx, r)
        else:
            np.minimum.at(best, a_idx, r)
        start = int(sl[-1]) + 1
    has = (best >= 0) & (best < np.iinfo(np.int64).max)
    inv = np.empty(A, dtype=np.int64)
    inv[rank] = np.arange(A)
    out[has] = inv[best[has]]
    return out


def _load(obj: Any, what: str, id_columns: list[str]) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, (str, os.PathLike)):
        # ids are text in a file (20-digit openids overflow int64; leading zeros matter)
        got = load_table(obj, string_columns=id_columns)
        if got.rejected:
            first = got.rejected[0]
            raise LogSchemaError(
                f"the {what} file {str(obj)!r} has {len(got.rejected)} record(s) that do not split into the "
                f"header's columns, e.g. line {first.line}: {first.text[:200]!r} ({first.reason}). Fix or remove "
                "them (a truncated export?)."
            )
        return got.frame
    raise InvalidParameterError(f"{what} must be a DataFrame or a file path, got {type(obj).__name__}.")


def read_adoptions(
    adoptions: str | os.PathLike[str] | pd.DataFrame,
    /,
    *,
    social: str | os.PathLike[str] | pd.DataFrame,
    user: str = "user",
    item: str = "item",
    time: str = "time",
    social_source: str = "source",
    social_target: str = "target",
    directed: bool = True,
    parent: Literal["latest", "earliest"] = "latest",
    time_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto",
    tz: str = "UTC",
) -> ShareGraph:
    """Reconstruct cascades from an adoption log ("user adopted item at time") and a follower graph.

    A user's parent in an item's cascade is, among the earlier adopters of the item that the user
    follows, the most recent one (``parent="latest"``) or the first one (``parent="earliest"``); a
    user with no such adopter is a root. Each non-root adoption becomes one event
    ``parent -> user`` at the user's adoption time.

    Parameters
    ----------
    adoptions
        Rows ``user, item, time`` (file or DataFrame). A repeated (user, item) keeps its first adoption.
    social
        Edges ``social_source -> social_target``: the target sees what the source shares (the target
        follows the source). ``directed=False`` treats every edge as mutual.
    user, item, time
        Column names of the adoption log (the adopter, what was adopted, when).
    social_source, social_target
        Column names of the follower graph's edges.
    directed
        False: every social edge is mutual (both see each other's shares).
    parent
        ``"latest"`` (the most recent followed adopter is the parent) or ``"earliest"``.
    time_unit
        Unit of numeric epoch times (``"auto"`` infers it from the magnitudes), as in :func:`kocgraph.read_log`.
    tz
        Time zone of naive date-time text, as in :func:`kocgraph.read_log`.

    Returns
    -------
    ShareGraph
        ``g.meta["read_adoptions"]`` records the rule and the counts: adoptions read, rejected by
        reason, roots, and *isolated* adopters (roots nobody followed: they have no event, so they
        are counted here and nowhere else).

    Examples
    --------
    >>> import kocgraph as kg, pandas as pd
    >>> ad = pd.DataFrame({"user": ["a", "b", "c", "d"], "item": "x", "time": [1, 2, 3, 4]})
    >>> soc = pd.DataFrame({"source": ["a", "a", "b"], "target": ["b", "c", "c"]})
    >>> g = kg.read_adoptions(ad, social=soc)
    >>> g.events[["source", "target"]].astype(str).values.tolist()
    [['a', 'b'], ['b', 'c']]
    >>> g.meta["read_adoptions"]["n_isolated"]
    1
    """
    check_choice("parent", parent, ("latest", "earliest"), where="kg.read_adoptions")
    ad = _load(adoptions, "adoptions", [user, item])
    soc = _load(social, "social", [social_source, social_target])
    check_columns(list(ad.columns), {"user": user, "item": item, "time": time}, {"user", "item", "time"},
                  where="kg.read_adoptions")
    check_columns(list(soc.columns), {"social_source": social_source, "social_target": social_target},
                  {"social_source", "social_target"}, where="kg.read_adoptions")
    n = len(ad)
    uid = factorize_ids(ad[user], soc[social_source], soc[social_target],
                        roles=("user", "social_source", "social_target"))
    u_codes, s_codes, t_codes = uid.codes
    users = uid.ids
    unull, snull, tnull = (m | bad for m, bad in zip(uid.missing, uid.invalid))
    iid = factorize_ids(ad[item], roles=("item",))
    (i_codes,), item_ids, inull = iid.codes, iid.ids, iid.missing[0]
    invalid = uid.invalid[0] | iid.invalid[0]
    unull = unull & ~invalid
    tns, treason, tinfo = parse_time(ad[time], unit=time_unit, tz=tz)
    reasons = np.full(n, "", dtype=object)
    for mask, name in ((unull, "null_user"), (inull, "null_item"), (invalid, "invalid_id"), (treason > 0, "bad_time")):
        reasons[(reasons == "") & mask] = name
    ok = reasons == ""
    # repeated (user, item): keep the earliest adoption
    order = np.lexsort((np.arange(n), tns))
    key = i_codes.astype(np.int64) * max(len(users), 1) + u_codes
    okord = order[ok[order]]
    dup = pd.Series(key[okord]).duplicated().to_numpy()
    reasons[okord[dup]] = "duplicate_adoption"
    ok = reasons == ""
    sok = ~(snull | tnull) & (s_codes != t_codes)
    s_e, t_e = s_codes[sok], t_codes[sok]
    if not directed:
        s_e, t_e = np.concatenate([s_e, t_e]), np.concatenate([t_e, s_e])
    idx = np.flatnonzero(ok)
    o = np.lexsort((idx, tns[idx]))
    idx = idx[o]  # adoptions in time order
    rank = np.arange(idx.size, dtype=np.int64)
    par = infer_parents(u_codes[idx], i_codes[idx], rank, s_e, t_e, len(users), parent=parent)
    child = par >= 0
    src = u_codes[idx][par[child]]
    tgt = u_codes[idx][child]
    itm = i_codes[idx][child]
    tm = tns[idx][child]
    # adopters who are parents of someone
    is_parent = np.zeros(idx.size, dtype=bool)
    is_parent[par[child]] = True
    roots = ~child
    n_isolated = int((roots & ~is_parent).sum())
    rej_idx = np.flatnonzero(~ok)
    rejected = ad.iloc[rej_idx].copy()
    rejected.insert(0, "reason", reasons[rej_idx])
    rejected.insert(0, "row", rej_idx.astype(np.int64))
    rejected = rejected.reset_index(drop=True)
    by_reason = pd.Series(reasons[rej_idx]).value_counts().to_dict() if rej_idx.size else {}
    report = {
        "rows_read": int(n), "rows_accepted": int(ok.sum()), "rows_rejected": int(n - ok.sum()),
        "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "has_time": True, "time": tinfo, "source": "read_adoptions",
    }
    meta = {
        "read_log": report,
        "read_adoptions": {
            "params": {"parent": parent, "directed": bool(directed), "user": user, "item": item, "time": time},
            "rule": ("parent = the " + ("most recent" if parent == "latest" else "first")
                     + " earlier adopter of the item whom the user follows; none -> root"),
            "n_adoptions": int(ok.sum()), "n_events": int(child.sum()), "n_roots": int(roots.sum()),
            "n_isolated": n_isolated, "n_social_edges": int(s_e.size),
        },
    }
    if child.sum() == 0:
        raise LogSchemaError(
            f"kg.read_adoptions found no adoption with an earlier adopter among the users it follows "
            f"({int(ok.sum())} adoptions, {int(s_e.size)} social edges), so there is no forwarding event. "
            "Check the social edge direction (social_source is followed by social_target; try "
            "directed=False) and that both files use the same user ids."
        )
    g = ShareGraph._from_codes(src, tgt, itm, tm, users, item_ids, row=idx[child], meta=meta, rejected=rejected)
    return g
