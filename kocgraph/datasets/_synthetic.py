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
    """Generate a forwarding log; see :func:`kocgraph.datasets.synthetic` (which wraps it)."""
    n_users = check_int("n_users", n_users, minimum=2, where="kg.datasets.synthetic")
    n_items = check_int("n_items", n_items, minimum=1, where="kg.datasets.synthetic")
    n_staff = check_int("n_staff", n_staff, minimum=0, where="kg.datasets.synthetic")
    n_planted = check_int("n_planted", n_planted, minimum=0, where="kg.datasets.synthetic")
    n_broadcasters = check_int("n_broadcasters", n_broadcasters, minimum=0, where="kg.datasets.synthetic")
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
    # planted KOCs: ordinary consumers with a strong habit of forwarding
    pool = np.arange(n_staff, n_users)
    planted = gen.choice(pool, size=n_planted, replace=False) if n_planted else np.empty(0, np.int64)
    # broadcasters (decoys): forward as much as the planted users, but what they send moves nobody
    # (their receivers never pass it on, like a blast nobody reads): loud, not influential
    broadcasters = np.empty(0, np.int64)
    if n_broadcasters:
        rest = np.setdiff1d(pool, planted)
        broadcasters = gen.choice(rest, size=n_broadcasters, replace=False)
    loud = np.concatenate([planted, broadcasters]) if n_broadcasters else planted
    indptr, followers = _social_graph(n_users, mean_followers, max(1, n_communities), gen, staff, loud)
    deg = np.diff(indptr)
    activity = gen.lognormal(mean=-1.0, sigma=0.6, size=n_users)  # mean recipients per holding ~0.45
    activity = np.minimum(activity, 0.9)
    activity[planted] = gen.uniform(6.0, 12.0, size=n_planted)
    pull = None
    if n_broadcasters:
        activity[broadcasters] = gen.uniform(6.0, 12.0, size=n_broadcasters)
        pull = np.ones(n_users)
        pull[broadcasters] = 0.0
    activity[staff] = 0.0  # staff only start items
    pref_channel = gen.integers(0, 3, n_users)
    appeal = gen.lognormal(0.0, 0.35, n_items)

    # roots: staff start 60% of items (to many customers), consumers the rest
    start = gen.uniform(0, 30 * 86400, n_items)
    by_staff = gen.random(n_items) < (0.6 if n_staff else 0.0)
    root = np.where(by_staff, gen.integers(0, max(n_staff, 1), n_items), gen.integers(n_staff, n_users, n_items))
    N = np.int64(n_users)
    ev_s, ev_t, ev_i, ev_tm, ev_type = [], [], [], [], []
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
        tot = int(k.sum())
        if tot == 0:
            break
        s = np.repeat(f_user, k)
        it = np.repeat(f_item, k)
        t0 = np.repeat(f_time, k)
        pick = indptr[s] + (gen.random(tot) * deg[s]).astype(np.int64)
        t = followers[pick]
        tm = t0 + gen.lognormal(7.5, 1.2, tot)  # median ~30 min delay
        ev_s.append(s)
        ev_t.append(t)
        ev_i.append(it)
        ev_tm.append(tm)
        ev_type.append(np.zeros(tot, dtype=np.int8))
        # new holders: first receipt of (item, user) not held before
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
        # purchases by new holders, credited to the sharer
        buy = new[gen.random(new.size) < purchase_rate]
        if buy.size:
            ev_s.append(s[buy])
            ev_t.append(t[buy])
            ev_i.append(it[buy])
            ev_tm.append(tm[buy] + gen.exponential(3600, buy.size))
            ev_type.append(np.ones(buy.size, dtype=np.int8))
        f_item, f_user, f_time = it[new], t[new], tm[new]
        f_rate = activity[f_user] * appeal[f_item]
        if pull is not None:
            f_rate = f_rate * pull[s[new]]
    if ev_s:
        S, T, IT = np.concatenate(ev_s), np.concatenate(ev_t), np.concatenate(ev_i)
        TM, TY = np.concatenate(ev_tm), np.concatenate(ev_type)
    else:  # pragma: no cover - n_items >= 1 with staff always emits
        S = T = IT = np.empty(0, np.int64)
        TM, TY = np.empty(0), np.empty(0, np.int8)
    order = np.argsort(TM, kind="stable")
    S, T, IT, TM, TY = S[order], T[order], IT[order], TM[order], TY[order]
    base = np.int64(pd.Timestamp("2026-01-01", tz="UTC").value // 1_000_000_000)
    epoch_s = base + TM.astype(np.int64)
    value = np.where(TY == 1, np.round(gen.lognormal(4.5, 0.7, TY.shape[0]), 2), np.nan)
    chan_code = np.where(gen.random(S.shape[0]) < 0.7, pref_channel[S], gen.integers(0, 3, S.shape[0]))

    def names(codes: np.ndarray) -> Any:
        if ids == "int":
            return codes + 10_000_000_000  # 11-digit ids, beyond 32 bits
        width = len(str(n_users))
        labels = np.char.add("u", np.char.zfill(np.arange(n_users).astype(str), width)).astype(object)
        labels[staff] = np.char.add("staff_", np.char.zfill(staff.astype(str), 3)).astype(object)
        return labels[codes]

    df = pd.DataFrame(
        {
            "source": names(S),
            "target": names(T),
            "item": np.char.add("item_", IT.astype(str)).astype(object) if ids == "str" else IT,
            "time": epoch_s,
            "event_type": pd.Categorical.from_codes(TY.astype(np.int8), categories=["share", "purchase"]),
            "channel": pd.Categorical.from_codes(chan_code.astype(np.int8), categories=list(_CHANNELS)),
            "value": value,
        }
    )
    all_names = names(np.arange(n_users))
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


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
