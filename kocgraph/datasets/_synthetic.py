"""A seeded generator of realistic forwarding logs (vectorized: 10M events in seconds)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.validation import check_int, check_rng
from ..exceptions import InvalidParameterError

__all__ = ["synthetic_frame", "GENERATOR_VERSION"]

#: bumped whenever the same parameters would generate a different log (it names the cached samples)
GENERATOR_VERSION = 2

_CHANNELS = np.array(["moments", "group", "chat"], dtype=object)


def _social_graph(
    n: int, mean_deg: float, n_comm: int, rng: np.random.Generator, hubs: np.ndarray, stars: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Heavy-tailed follower lists in CSR form: ``followers[indptr[u]:indptr[u+1]]`` receive u's shares.

    ``hubs`` (staff) get thousands of followers, ``stars`` (planted KOCs) hundreds and extra visibility.
    """
    deg = np.minimum(rng.pareto(1.8, n) * mean_deg * 0.45 + 1, max(n - 1, 1)).astype(np.int64)
    deg[hubs] = np.maximum(deg[hubs], min(n - 1, 5000))
    deg[stars] = np.maximum(deg[stars], min(n - 1, 300))
    indptr = np.concatenate([[0], np.cumsum(deg)])
    m = int(indptr[-1])
    owner = np.repeat(np.arange(n, dtype=np.int64), deg)
    comm = np.arange(n) % n_comm
    # 80% of follows stay in the owner's community, the rest anywhere; popular users attract more
    pop = rng.pareto(1.5, n) + 1
    pop[stars] *= 20.0
    local = rng.random(m) < 0.8
    tgt = np.empty(m, dtype=np.int64)
    cum = np.cumsum(pop)
    tgt[~local] = np.searchsorted(cum, rng.random(int((~local).sum())) * cum[-1])
    # same community: users u' = comm + n_comm * j
    n_per = -(-n // n_comm)
    c = comm[owner[local]]
    j = rng.integers(0, n_per, int(local.sum()))
    cand = c + n_comm * j
    cand = np.where(cand < n, cand, c)
    tgt[local] = cand
    self_loop = tgt == owner
    tgt[self_loop] = (tgt[self_loop] + 1) % n
    return indptr, tgt


def synthetic_frame(
    n_users: int = 10_000,
    n_items: int = 500,
    *,
    n_staff: int = 5,
    n_planted: int = 20,
    n_broadcasters: int = 0,
    mean_followers: float = 15.0,
    n_communities: int = 20,
    purchase_rate: float = 0.03,
    ids: Literal["str", "int"] = "str",
    rng: Any = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generate a forwarding log; see :func:`kocgraph.datasets.synthetic` (which wraps it).

    The random draws come in a fixed order (roles, follower graph, habits, item appeal, cascades,
    then the purchase values and channels), so the same ``rng`` gives the same log.
    """
    where = "kg.datasets.synthetic"
    n_users = check_int("n_users", n_users, minimum=2, where=where)
    n_items = check_int("n_items", n_items, minimum=1, where=where)
    n_staff = check_int("n_staff", n_staff, minimum=0, where=where)
    n_planted = check_int("n_planted", n_planted, minimum=0, where=where)
    n_broadcasters = check_int("n_broadcasters", n_broadcasters, minimum=0, where=where)
    if n_staff + n_planted + n_broadcasters >= n_users:
        raise InvalidParameterError(
            f"n_staff + n_planted + n_broadcasters = {n_staff + n_planted + n_broadcasters} must be below "
            f"n_users={n_users}; lower them or raise n_users."
        )
    if ids not in ("str", "int"):
        raise InvalidParameterError(f"ids={ids!r} is not supported; pass ids='str' or ids='int'.")
    gen = check_rng(rng)
    seed_info = int(rng) if isinstance(rng, (int, np.integer)) else None
    staff = np.arange(n_staff, dtype=np.int64)
    planted, broadcasters = _loud_users(gen, n_users, n_staff, n_planted, n_broadcasters)
    loud = np.concatenate([planted, broadcasters]) if n_broadcasters else planted
    indptr, followers = _social_graph(n_users, mean_followers, max(1, n_communities), gen, staff, loud)
    activity, pull = _activity(gen, n_users, staff, planted, broadcasters)
    pref_channel = gen.integers(0, 3, n_users)
    appeal = gen.lognormal(0.0, 0.35, n_items)
    events = _spread(gen, indptr, followers, activity, pull, appeal, n_staff, purchase_rate)
    all_names = _user_names(n_users, staff, ids)
    df = _frame(gen, events, all_names, pref_channel, ids)
    truth = {
        "generator": "kocgraph.datasets.synthetic",
        "params": {
            "n_users": n_users, "n_items": n_items, "n_staff": n_staff, "n_planted": n_planted,
            "n_broadcasters": n_broadcasters, "mean_followers": mean_followers, "n_communities": n_communities,
            "purchase_rate": purchase_rate, "ids": ids, "rng": seed_info,
        },
        "staff": [_py(x) for x in all_names[staff]],
        "planted": [_py(x) for x in all_names[np.sort(planted)]],
        "broadcasters": [_py(x) for x in all_names[np.sort(broadcasters)]],
    }
    return df, truth


def _loud_users(
    gen: np.random.Generator, n_users: int, n_staff: int, n_planted: int, n_broadcasters: int
) -> tuple[np.ndarray, np.ndarray]:
    """The planted KOCs and the broadcasters (decoys), drawn from the consumers (staff are users ``0..n_staff-1``).

    Planted KOCs are ordinary consumers with a strong habit of forwarding. Broadcasters forward as much
    as the planted users, but what they send moves nobody (their receivers never pass it on, like a
    blast nobody reads): loud, not influential.
    """
    pool = np.arange(n_staff, n_users)
    planted = gen.choice(pool, size=n_planted, replace=False) if n_planted else np.empty(0, np.int64)
    broadcasters = np.empty(0, np.int64)
    if n_broadcasters:
        rest = np.setdiff1d(pool, planted)
        broadcasters = gen.choice(rest, size=n_broadcasters, replace=False)
    return planted, broadcasters


def _activity(
    gen: np.random.Generator, n_users: int, staff: np.ndarray, planted: np.ndarray, broadcasters: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per user: the mean number of followers sent each item held, and the ``pull`` of what they send
    (None when there are no broadcasters: every share pulls alike; else 0 for a broadcaster's shares)."""
    activity = gen.lognormal(mean=-1.0, sigma=0.6, size=n_users)  # mean recipients per holding ~0.45
    activity = np.minimum(activity, 0.9)
    activity[planted] = gen.uniform(6.0, 12.0, size=planted.shape[0])
    pull = None
    if broadcasters.shape[0]:
        activity[broadcasters] = gen.uniform(6.0, 12.0, size=broadcasters.shape[0])
        pull = np.ones(n_users)
        pull[broadcasters] = 0.0
    activity[staff] = 0.0  # staff only start items
    return activity, pull


def _spread(
    gen: np.random.Generator,
    indptr: np.ndarray,
    followers: np.ndarray,
    activity: np.ndarray,
    pull: np.ndarray | None,
    appeal: np.ndarray,
    n_staff: int,
    purchase_rate: float,
) -> tuple[np.ndarray, ...]:
    """Every item's cascade, one vectorized generation at a time (at most 200).

    Returns the events as ``(source, target, item, time in s, type)`` arrays (type 0 share, 1
    purchase), sorted by time (stable).
    """
    n_users, n_items = int(indptr.shape[0]) - 1, int(appeal.shape[0])
    deg = np.diff(indptr)
    # roots: staff start 60% of items (to many customers), consumers the rest
    start = gen.uniform(0, 30 * 86400, n_items)
    by_staff = gen.random(n_items) < (0.6 if n_staff else 0.0)
    root = np.where(by_staff, gen.integers(0, max(n_staff, 1), n_items), gen.integers(n_staff, n_users, n_items))
    N = np.int64(n_users)
    events: list[tuple[np.ndarray, ...]] = []
    held = np.sort(np.arange(n_items, dtype=np.int64) * N + root)  # sorted keys item*N+user
    # first generation: roots send to several followers (staff broadcast to more)
    f_item = np.arange(n_items, dtype=np.int64)
    f_user = root.astype(np.int64)
    f_time = start
    f_rate = np.where(by_staff, 30.0, activity[root] + 2.0) * appeal
    for _ in range(200):
        if f_user.size == 0:
            break
        k = np.minimum(gen.poisson(f_rate), deg[f_user])
        if int(k.sum()) == 0:
            break
        s, it, t, tm, new, held = _generation(gen, k, f_user, f_item, f_time, indptr, deg, followers, held, N)
        events.append((s, t, it, tm, np.zeros(s.shape[0], dtype=np.int8)))
        # purchases by new holders, credited to the sharer
        buy = new[gen.random(new.size) < purchase_rate]
        if buy.size:
            events.append((s[buy], t[buy], it[buy], tm[buy] + gen.exponential(3600, buy.size),
                           np.ones(buy.size, dtype=np.int8)))
        f_item, f_user, f_time = it[new], t[new], tm[new]
        f_rate = activity[f_user] * appeal[f_item]
        if pull is not None:
            f_rate = f_rate * pull[s[new]]
    if events:
        S, T, IT, TM, TY = (np.concatenate(col) for col in zip(*events, strict=True))
    else:  # pragma: no cover - n_items >= 1 with staff always emits
        S = T = IT = np.empty(0, np.int64)
        TM, TY = np.empty(0), np.empty(0, np.int8)
    order = np.argsort(TM, kind="stable")
    return S[order], T[order], IT[order], TM[order], TY[order]


def _generation(
    gen: np.random.Generator,
    k: np.ndarray,
    f_user: np.ndarray,
    f_item: np.ndarray,
    f_time: np.ndarray,
    indptr: np.ndarray,
    deg: np.ndarray,
    followers: np.ndarray,
    held: np.ndarray,
    N: np.int64,
) -> tuple[np.ndarray, ...]:
    """One generation of the cascades: each holder ``f_user[j]`` of item ``f_item[j]`` shares it with
    ``k[j]`` random followers.

    Returns the shares ``(source, item, target, time)``, the positions ``new`` of the shares that make
    a new holder (the first receipt of an (item, user) not held before), and ``held`` with them added.
    """
    tot = int(k.sum())
    s = np.repeat(f_user, k)
    it = np.repeat(f_item, k)
    t0 = np.repeat(f_time, k)
    pick = indptr[s] + (gen.random(tot) * deg[s]).astype(np.int64)
    t = followers[pick]
    tm = t0 + gen.lognormal(7.5, 1.2, tot)  # median ~30 min delay
    key = it * N + t
    order = np.argsort(tm, kind="stable")
    key_o = key[order]
    first = ~pd.Series(key_o).duplicated().to_numpy()
    cand = order[first]
    ck = key[cand]
    pos = np.searchsorted(held, ck)
    seen = held[np.minimum(pos, held.size - 1)] == ck
    new = cand[~seen]
    nk = np.sort(key[new])
    held = np.insert(held, np.searchsorted(held, nk), nk)
    return s, it, t, tm, new, held


def _user_names(n_users: int, staff: np.ndarray, ids: str) -> np.ndarray:
    """The id of every user code: ``u0042`` (``staff_001`` for the staff) or, with ``ids="int"``, an
    11-digit integer (beyond 32 bits)."""
    if ids == "int":
        return np.arange(n_users) + 10_000_000_000
    width = len(str(n_users))
    labels = np.char.add("u", np.char.zfill(np.arange(n_users).astype(str), width)).astype(object)
    if staff.size:  # numpy's zfill refuses an empty array
        labels[staff] = np.char.add("staff_", np.char.zfill(staff.astype(str), 3)).astype(object)
    return labels


def _frame(
    gen: np.random.Generator, events: tuple[np.ndarray, ...], names: np.ndarray, pref_channel: np.ndarray,
    ids: str,
) -> pd.DataFrame:
    """The log as a DataFrame: ids, epoch seconds from 2026-01-01 UTC, event type, channel (mostly each
    sharer's preferred one) and a purchase value (NaN on shares)."""
    S, T, IT, TM, TY = events
    base = np.int64(pd.Timestamp("2026-01-01", tz="UTC").value // 1_000_000_000)
    epoch_s = base + TM.astype(np.int64)
    value = np.where(TY == 1, np.round(gen.lognormal(4.5, 0.7, TY.shape[0]), 2), np.nan)
    chan_code = np.where(gen.random(S.shape[0]) < 0.7, pref_channel[S], gen.integers(0, 3, S.shape[0]))
    return pd.DataFrame(
        {
            "source": names[S],
            "target": names[T],
            "item": np.char.add("item_", IT.astype(str)).astype(object) if ids == "str" else IT,
            "time": epoch_s,
            "event_type": pd.Categorical.from_codes(TY.astype(np.int8), categories=["share", "purchase"]),
            "channel": pd.Categorical.from_codes(chan_code.astype(np.int8), categories=list(_CHANNELS)),
            "value": value,
        }
    )


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
