"""The "See" tools at the ``kg.tl`` / ``kg.get`` level (issue 3, "What it must show").

Known answers on the toy log and on tiny logs built here, cross-checks against networkx, property
tests with hypothesis, the error messages, the per-community slate, bootstrap intervals, and copy=True.
The kernels have their own tests in ``tests/algorithms/``.

The toy log (``kocgraph/datasets/data/toy.csv``, 30 rows, 17 users, 3 items) is drawn in the comments
where a test needs it.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kocgraph as kg
from kocgraph.datasets import toy_path

PROP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STAFF = ["brand", "staff_li"]
T0 = 1_767_225_600


def _log(rows: list[tuple[str, str, str, int]]) -> kg.ShareGraph:
    return kg.read_log(pd.DataFrame(rows, columns=["source", "target", "item", "time"]).assign(
        time=lambda d: T0 + d["time"]))


def _random_log(seed: int, n_users: int = 20, n_events: int = 80, n_items: int = 6) -> pd.DataFrame:
    """A seeded random log with distinct times and no self-forwards or duplicates."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_users, n_events)
    tgt = (src + rng.integers(1, n_users, n_events)) % n_users
    item = rng.integers(0, n_items, n_events)
    t = T0 + rng.permutation(10 * n_events)[:n_events]
    uid = np.array([f"u{i:02d}" for i in range(n_users)], dtype=object)
    return pd.DataFrame({"source": uid[src], "target": uid[tgt], "item": [f"i{k}" for k in item], "time": t})


def _undirected_weighted_nx(g: kg.ShareGraph) -> nx.Graph:
    """The graph communities run on: undirected, weight of {u, v} = forwards u->v plus v->u."""
    G = nx.Graph()
    G.add_nodes_from(range(g.n_users))
    c = g.codes
    for u, v, w in zip(c.edge_src.tolist(), c.edge_tgt.tolist(), g.edges["n_forwards"].tolist()):
        if G.has_edge(u, v):
            G[u][v]["weight"] += w
        else:
            G.add_edge(u, v, weight=w)
    return G


# ============================================================================================ known answers
def test_strength_toy_by_counting_rows() -> None:
    g = kg.datasets.toy()
    kg.tl.strength(g)
    raw = pd.read_csv(toy_path())
    # alice sends 8 rows (carol, dave, erin on the poster; judy, carol on the coupon; carol, dave on the
    # article; the purchase row to erin) and receives 4 (from brand, heidi, staff_li, nina)
    assert g.nodes.loc["alice", ["strength_out", "strength_in"]].tolist() == [8, 4]
    out_rows = raw["source"].value_counts().reindex(g.nodes.index, fill_value=0)
    in_rows = raw["target"].value_counts().reindex(g.nodes.index, fill_value=0)
    assert g.nodes["strength_out"].tolist() == out_rows.tolist()
    assert g.nodes["strength_in"].tolist() == in_rows.tolist()
    # weight=None counts distinct partners: alice sends to carol, dave, erin, judy; hears from 4
    kg.tl.strength(g, weight=None, key_added="partners")
    assert g.nodes.loc["alice", ["partners_out", "partners_in"]].tolist() == [4, 4]
    pairs = raw[["source", "target"]].drop_duplicates()
    assert g.nodes["partners_out"].tolist() == pairs["source"].value_counts().reindex(
        g.nodes.index, fill_value=0).tolist()
    assert g.meta["strength"]["params"] == {"weight": "n_forwards"}


def test_coreness_toy_drawn_by_hand() -> None:
    # The undirected simple toy graph (23 edges):
    #   brand-alice brand-bob alice-carol alice-judy alice-dave alice-erin alice-heidi alice-nina
    #   alice-staff_li carol-frank carol-grace carol-erin carol-mia carol-bob carol-oscar bob-nina
    #   bob-oscar frank-heidi grace-ivan grace-dave judy-ken judy-liam ken-mia
    # ivan, staff_li and liam have one neighbour: coreness 1. Without them everyone has degree >= 2.
    # A 3-core would need three users with 3 mutual neighbours: only alice (7), carol (7) and bob (4)
    # have degree >= 3, and alice-bob is not an edge, so peeling the degree-2 users empties it: max 2.
    g = kg.datasets.toy()
    kg.tl.coreness(g)
    core = g.nodes["coreness"]
    assert sorted(core[core == 1].index) == ["ivan", "liam", "staff_li"]
    assert (core.drop(["ivan", "liam", "staff_li"]) == 2).all()
    assert core.dtype == np.int64


def _pagerank_by_solving(A: np.ndarray, damping: float = 0.85) -> np.ndarray:
    """PageRank as the solution of (I - d P) x = (1 - d) / n, P column-stochastic, dangling uniform."""
    n = A.shape[0]
    out = A.sum(axis=1)
    P = np.where(out[:, None] > 0, A / np.where(out > 0, out, 1)[:, None], 1.0 / n).T
    return np.linalg.solve(np.eye(n) - damping * P, np.full(n, (1 - damping) / n))


def test_pagerank_three_users_by_hand() -> None:
    # a -> b (item p), a -> c twice (items p, q), b -> c (item q). Influence PageRank runs on the
    # reversed graph: b -> a (weight 1), c -> a (weight 2), c -> b (weight 1); a is dangling.
    g = _log([("a", "b", "p", 0), ("a", "c", "p", 1), ("a", "c", "q", 2), ("b", "c", "q", 3)])
    kg.tl.pagerank(g)
    x = g.nodes["pagerank"].to_numpy()
    # With d = 0.85 and n = 3, x = (1-d)/3 + d * (P x), dangling a spreads x_a / 3 to everyone:
    #   x_c = 0.05 + 0.85 x_a / 3
    #   x_b = 0.05 + 0.85 (x_a / 3 + x_c / 3)
    #   x_a = 0.05 + 0.85 (x_a / 3 + x_b + 2 x_c / 3)
    d = 0.85
    M = np.array([[1 - d / 3, -d, -2 * d / 3],
                  [-d / 3, 1, -d / 3],
                  [-d / 3, 0, 1]])
    expected = np.linalg.solve(M, np.full(3, 0.05))
    order = g.user_codes(["a", "b", "c"])
    np.testing.assert_allclose(x[order], expected, atol=1e-9)
    assert x.sum() == pytest.approx(1.0)
    assert x[order].argmax() == 0  # a feeds everyone: the top influencer
    # plain PageRank (direction="forward") on a -> b, a -> c (2), b -> c: c, the sink, is on top
    kg.tl.pagerank(g, direction="forward", key_added="pr_fwd")
    A = np.zeros((3, 3))
    A[0, 1], A[0, 2], A[1, 2] = 1, 2, 1
    np.testing.assert_allclose(g.nodes["pr_fwd"].to_numpy()[order], _pagerank_by_solving(A), atol=1e-9)


def test_pagerank_toy_by_solving_the_linear_system() -> None:
    g = kg.datasets.toy()
    kg.tl.pagerank(g)
    A = g.adjacency().toarray().T          # influence direction: reversed, weighted by n_forwards
    np.testing.assert_allclose(g.nodes["pagerank"].to_numpy(), _pagerank_by_solving(A), atol=1e-9)
    assert g.nodes["pagerank"].idxmax() == "alice"
    assert g.meta["pagerank"]["converged"] is True


def test_pagerank_personalization_by_solving() -> None:
    g = kg.datasets.toy()
    kg.tl.pagerank(g, personalization=STAFF, key_added="pr_staff")
    A = g.adjacency().toarray().T
    n = g.n_users
    p = np.zeros(n)
    p[g.user_codes(STAFF)] = 0.5
    out = A.sum(axis=1)
    P = np.where(out[:, None] > 0, A / np.where(out > 0, out, 1)[:, None], p[None, :]).T
    expected = np.linalg.solve(np.eye(n) - 0.85 * P, 0.15 * p)
    np.testing.assert_allclose(g.nodes["pr_staff"].to_numpy(), expected, atol=1e-9)


def test_betweenness_path_and_star_by_hand() -> None:
    # path a -> b -> c -> d: b is inside (a,c) and (a,d), c inside (a,d) and (b,d): 2 pairs each of
    # n (n - 1) = 12 ordered pairs
    g = _log([("a", "b", "p", 0), ("b", "c", "p", 1), ("c", "d", "p", 2)])
    kg.tl.betweenness(g, method="exact")
    b = g.nodes["betweenness"]
    assert b.loc[["a", "b", "c", "d"]].tolist() == pytest.approx([0, 2 / 12, 2 / 12, 0])
    assert g.meta["betweenness"]["params"]["method"] == "exact"
    # star: hub h forwards to x, y, z and each forwards back to h. Every ordered pair of leaves
    # (3 * 2 = 6 pairs) has the one shortest path x -> h -> y: h gets 6 / 12; leaves get 0
    rows = [("h", v, "p", i) for i, v in enumerate("xyz")] + [(v, "h", "q", 10 + i) for i, v in enumerate("xyz")]
    g = _log(rows)
    kg.tl.betweenness(g)
    b = g.nodes["betweenness"]
    assert b.loc["h"] == pytest.approx(0.5)
    assert b.loc[["x", "y", "z"]].tolist() == pytest.approx([0, 0, 0])
    # two equal shortest paths share the credit: s -> u -> t and s -> w -> t give u and w 1/2 each
    g = _log([("s", "u", "p", 0), ("s", "w", "p", 1), ("u", "t", "p", 2), ("w", "t", "p", 3)])
    kg.tl.betweenness(g)
    assert g.nodes.loc[["u", "w"], "betweenness"].tolist() == pytest.approx([0.5 / 12, 0.5 / 12])


def test_kocs_toy_additive_terms_by_hand() -> None:
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF, weights={"reach": 1.0, "senders": 0.5})
    # alice: reach 16 (see the percentile test below), senders = distinct users who forwarded to her:
    # brand (poster), heidi (poster), staff_li (coupon), nina (article) -> 4.
    # score = 1 * log1p(16) + 0.5 * log1p(4) = log 17 + 0.5 log 5
    ex = kg.get.explain(g, "alice")
    assert ex["value"].to_dict() == {"reach": 16.0, "senders": 4.0}
    assert ex["contribution"].to_dict() == pytest.approx({"reach": np.log(17), "senders": 0.5 * np.log(5)})
    assert ex.attrs["score"] == pytest.approx(np.log(17) + 0.5 * np.log(5))
    assert ex.attrs["expected_reach"] == pytest.approx(17 * np.sqrt(5) - 1)   # expm1 of the score
    assert ex["contribution"].sum() == ex.attrs["score"]
    assert ex.loc["senders", "description"] == "distinct people who forwarded to this user"
    # liam reached nobody (reach 0): the reach term is exactly 0, not a percentile of a zero;
    # judy forwarded to him -> senders 1 -> 0.5 * log 2
    ex = kg.get.explain(g, "liam")
    assert ex.loc["reach", "contribution"] == 0.0
    assert ex.attrs["score"] == pytest.approx(0.5 * np.log(2))
    # expected reach, percentile and rank agree with the score
    n = g.nodes[g.nodes["koc_score"].notna()]
    np.testing.assert_allclose(n["koc_expected_reach"], np.expm1(n["koc_score"]))
    assert n.loc["alice", "koc_percentile"] == 1.0 and n["koc_percentile"].between(0, 1).all()
    assert g.meta["koc"]["fit"] == {"kind": "explicit"}


def test_kocs_toy_falls_back_to_the_prior_and_says_why() -> None:
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF)
    fit = g.meta["koc"]["fit"]
    assert fit["fell_back"] is True and fit["fallback"] == "prior" and "30 events" in fit["reason"]
    assert g.meta["koc"]["weights"] == kg.tl.PRIOR_WEIGHTS
    # a zero feature gives exactly a zero term, for every ranked user
    ranked = g.nodes["koc_rank"].notna()
    for f in g.meta["koc"]["features"]:
        zero = ranked & (g.nodes[f"koc_value_{f}"] == 0)
        assert (g.nodes.loc[zero, f"koc_term_{f}"] == 0).all()
    assert (g.nodes.loc[ranked, "koc_score"] >= 0).all()


def test_kocs_toy_percentile_terms_by_hand() -> None:
    # the first version's score, kept as weights="percentile" (the Spark engine's score)
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF, weights="percentile")
    # Eligible: the 12 users who forwarded, minus staff: alice bob carol dave frank grace heidi judy
    # ken liam nina oscar (erin, ivan and mia never forward; brand and staff_li are staff).
    assert g.meta["koc"]["n_eligible"] == 12
    assert g.meta["koc"]["n_excluded"] == {"no_forwards": 3, "staff": 2}
    w = g.meta["koc"]["weights"]
    assert w == pytest.approx({"reach": 0.25, "resharers": 0.35, "direct_reach": 0.10, "items_started": 0.05,
                               "pagerank": 0.10, "coreness": 0.05, "conversions": 0.05, "conversion_value": 0.05})
    # resharers (tree children who have children), from the three trees:
    #   poster  brand->{alice,bob}, alice->{carol,dave,erin}, carol->{frank,grace}, frank->heidi, grace->ivan
    #           (bob->carol and heidi->alice are exposures): alice 1 (carol), carol 2 (frank, grace)
    #   coupon  staff_li->alice, alice->{judy,carol}, judy->{ken,liam}, ken->mia (carol->mia, liam->judy are
    #           exposures): alice 1 (judy), judy 1 (ken)
    #   article bob->{nina,oscar}, nina->alice, alice->{carol,dave}, carol->erin, dave->grace: bob 1 (nina),
    #           nina 1 (alice), alice 2 (carol, dave)
    # eligible totals: alice 4, carol 2, bob/judy/nina 1, the other 7 eligible users 0
    assert g.nodes.loc[["alice", "carol", "bob", "judy", "nina", "liam"], "resharers"].tolist() == [4, 2, 1, 1, 1, 0]
    # alice: the largest reach (16), resharers (4), direct reach (7), PageRank, conversion value (199)
    # -> percentile 1; coreness 2 and 1 conversion are the eligible maxima -> 1; items started 0: only
    # bob (1 item, the article) is above her -> 11/12. Score = 1 - 0.05 / 12.
    ex = kg.get.explain(g, "alice")
    assert ex["percentile"].to_dict() == pytest.approx({"reach": 1, "resharers": 1, "direct_reach": 1,
                                                        "items_started": 11 / 12, "pagerank": 1, "coreness": 1,
                                                        "conversions": 1, "conversion_value": 1})
    assert g.nodes.loc["alice", "koc_score"] == pytest.approx(1 - 0.05 / 12)
    # liam: reach 0 and direct reach 0 (tied with heidi and oscar) -> 3/12 each; resharers 0 (7 of 12)
    # -> 7/12; items started 0 -> 11/12; coreness 1, the only eligible user at 1 -> 1/12; no conversion
    # (9 of 12 have none) -> 9/12 twice; PageRank: 7 eligible users are at or below him (heidi, grace,
    # ken, liam, nina, oscar, dave) -> 7/12. Score = (0.25*3 + 0.35*7 + 0.10*3 + 0.05*11 + 0.10*7
    # + 0.05*1 + 0.05*9 + 0.05*9) / 12 = 5.7 / 12.
    pr = g.nodes["pagerank"]
    elig = g.nodes["koc_score"].notna()
    assert int((pr[elig] <= pr["liam"]).sum()) == 7
    ex = kg.get.explain(g, "liam")
    assert ex["percentile"].to_dict() == pytest.approx({"reach": 3 / 12, "resharers": 7 / 12, "direct_reach": 3 / 12,
                                                        "items_started": 11 / 12, "pagerank": 7 / 12,
                                                        "coreness": 1 / 12, "conversions": 9 / 12,
                                                        "conversion_value": 9 / 12})
    assert g.nodes.loc["liam", "koc_score"] == pytest.approx(5.7 / 12)
    assert ex["contribution"].sum() == pytest.approx(5.7 / 12, abs=1e-12)
    # carol (2 resharers) now ranks above bob (1): her forwards moved more people
    # ranking and getters
    top = kg.get.kocs(g, n=3)
    assert top["user"].tolist() == ["alice", "carol", "bob"] and top["rank"].tolist() == [1, 2, 3]
    assert top["reason"].iloc[0] == ("reached 16 users across 3 items, 4 passed it on, brought 1 conversion; "
                                     "top 8% by resharers")
    assert {"rank", "user", "score", "reach", "direct_reach", "items_spread", "reason"} <= set(top.columns)
    assert g.nodes.loc[STAFF, "koc_excluded"].tolist() == ["staff", "staff"]
    assert g.nodes.loc[STAFF, "koc_rank"].isna().all()
    exc = kg.get.kocs(g, excluded=True)
    assert sorted(exc["user"]) == sorted(STAFF) and (exc["excluded"] == "staff").all()


def test_kol_threshold_excludes_and_lists() -> None:
    g = kg.datasets.toy()
    # alice and carol send to 4 distinct users each (alice: carol dave erin judy; carol: frank grace
    # erin mia); with kol_threshold=3 both are KOL-scale and leave the ranking, listed as "kol"
    kg.tl.kocs(g, staff=STAFF, kol_threshold=3)
    ex = g.nodes["koc_excluded"]
    assert sorted(ex[ex == "kol"].index) == ["alice", "carol"]
    listed = kg.get.kocs(g, excluded=True)
    assert sorted(listed.loc[listed["excluded"] == "kol", "user"]) == ["alice", "carol"]
    assert kg.get.kocs(g, n=1)["user"].tolist() == ["bob"]


# ============================================================================================ cross-checks
def _synthetic(n: int = 300, seed: int = 3) -> kg.ShareGraph:
    return kg.datasets.synthetic(n, 40, rng=seed)


@pytest.mark.parametrize("direction", ["influence", "forward"])
def test_pagerank_equals_networkx(direction: str) -> None:
    for g in (kg.datasets.toy(), _synthetic()):
        kg.tl.pagerank(g, direction=direction)
        kg.tl.pagerank(g, direction=direction, flavor="networkx", key_added="pr_nx")
        np.testing.assert_allclose(g.nodes["pagerank"], g.nodes["pr_nx"], atol=1e-9, rtol=0)
        kg.tl.pagerank(g, direction=direction, personalization=STAFF[:1] if g.n_users < 50
                       else g.meta["synthetic"]["staff"], key_added="pp")
        kg.tl.pagerank(g, direction=direction, personalization=STAFF[:1] if g.n_users < 50
                       else g.meta["synthetic"]["staff"], flavor="networkx", key_added="pp_nx")
        np.testing.assert_allclose(g.nodes["pp"], g.nodes["pp_nx"], atol=1e-9, rtol=0)


def test_coreness_equals_networkx_exactly() -> None:
    for g in (kg.datasets.toy(), _synthetic()):
        kg.tl.coreness(g)
        kg.tl.coreness(g, flavor="networkx", key_added="core_nx")
        assert g.nodes["coreness"].tolist() == g.nodes["core_nx"].tolist()
        U = g.to_networkx().to_undirected()   # independent of the tool: user ids as nodes
        core = nx.core_number(U)
        assert g.nodes["coreness"].tolist() == [core[u] for u in g.nodes.index]


def test_exact_betweenness_equals_networkx() -> None:
    for g in (kg.datasets.toy(), _synthetic()):
        kg.tl.betweenness(g, method="exact")
        n = g.n_users
        b = nx.betweenness_centrality(g.to_networkx(), normalized=False)
        expected = np.array([b[u] for u in g.nodes.index]) / (n * (n - 1))
        np.testing.assert_allclose(g.nodes["betweenness"], expected, atol=1e-12)
        kg.tl.betweenness(g, flavor="networkx", key_added="b_nx")
        np.testing.assert_allclose(g.nodes["betweenness"], g.nodes["b_nx"], atol=1e-12)


def test_sampled_betweenness_within_epsilon() -> None:
    g = _synthetic()
    assert 250 <= g.n_users <= 350
    kg.tl.betweenness(g, method="exact")
    exact = g.nodes["betweenness"].to_numpy()
    for eps, seed in ((0.05, 0), (0.02, 1)):
        kg.tl.betweenness(g, method="sampled", epsilon=eps, delta=0.1, rng=seed, key_added="b_s")
        err = np.abs(g.nodes["b_s"].to_numpy() - exact).max()
        assert err <= eps, (eps, err)
        bound = g.meta["b_s"]["bound"]
        assert bound["epsilon"] == eps and bound["delta"] == 0.1 and bound["n_samples"] > 0


def _q(G: nx.Graph, labels: np.ndarray) -> float:
    parts = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]
    return float(nx.community.modularity(G, parts, weight="weight"))


def test_leiden_modularity_at_least_networkx_louvain() -> None:
    # Both are heuristics, so one run of either can land in a local optimum. Measured on these three
    # synthetic graphs with seeds 0..4: Leiden >= networkx Louvain in 14 of 15 paired runs, the one
    # exception short by 2e-4; Leiden's mean is higher on every graph. We assert the mean, and every
    # paired run within 1e-3.
    for n, seed in ((300, 3), (400, 11), (500, 2)):
        g = _synthetic(n, seed=seed)
        G = _undirected_weighted_nx(g)
        q_leiden, q_louvain = [], []
        for r in range(5):
            kg.tl.communities(g, rng=r)
            labels = g.nodes["community"].to_numpy()
            q_leiden.append(_q(G, labels))
            # the tool reports the modularity of its labels on this very graph
            assert g.meta["community"]["modularity"] == pytest.approx(q_leiden[-1], abs=1e-9)
            louvain = nx.community.louvain_communities(G, weight="weight", seed=r)
            q_louvain.append(float(nx.community.modularity(G, louvain, weight="weight")))
            # labels are ordered by size: community 0 is the largest
            assert (np.diff(np.bincount(labels)) <= 0).all()
        assert np.mean(q_leiden) >= np.mean(q_louvain), (q_leiden, q_louvain)
        assert (np.array(q_leiden) >= np.array(q_louvain) - 1e-3).all(), (q_leiden, q_louvain)


def test_leiden_toy_best_of_seeds_matches_louvain() -> None:
    # On the 17-user toy one Leiden run with rng=0 stops at Q = 0.3400 (igraph's Louvain too) while
    # networkx Louvain finds 0.3517; seeds 1..9 all reach 0.3517. The best of a few seeds is at least
    # networkx's value.
    g = kg.datasets.toy()
    G = _undirected_weighted_nx(g)
    qs = []
    for r in range(5):
        kg.tl.communities(g, rng=r)
        qs.append(_q(G, g.nodes["community"].to_numpy()))
    best = max(qs)
    q_louvain = float(nx.community.modularity(G, nx.community.louvain_communities(G, weight="weight", seed=0),
                                              weight="weight"))
    assert best >= q_louvain - 1e-12
    assert best == pytest.approx(0.3516666666666666)


def test_get_communities_table() -> None:
    g = _synthetic()
    kg.tl.communities(g, rng=0)
    tab = kg.get.communities(g)
    assert int(tab["size"].sum()) == g.n_users
    assert tab["modularity"].sum() == pytest.approx(g.meta["community"]["modularity"], abs=1e-9)
    # every forward is inside one community or crosses between two (and counts for both)
    total = tab["internal_forwards"].sum() + tab["external_forwards"].sum() / 2
    assert total == pytest.approx(float(g.edges["n_forwards"].sum()))
    assert tab["top_users"].map(len).between(1, 3).all()


# ============================================================================================ properties
@PROP
@given(seed=st.integers(0, 100_000), n_staff=st.integers(0, 3))
def test_kocs_properties(seed: int, n_staff: int) -> None:
    g = kg.read_log(_random_log(seed))
    staff = g.nodes.index[:n_staff].tolist()
    kg.tl.kocs(g, staff=staff or None)
    nodes = g.nodes
    # staff always excluded, never ranked
    assert (nodes.loc[staff, "koc_excluded"] == "staff").all()
    assert nodes.loc[staff, "koc_rank"].isna().all() and nodes.loc[staff, "koc_score"].isna().all()
    # ranks are a permutation of 1..n_eligible
    ranks = nodes["koc_rank"].dropna().astype(int).to_numpy()
    n_elig = g.meta["koc"]["n_eligible"]
    assert sorted(ranks.tolist()) == list(range(1, n_elig + 1))
    assert int(nodes["koc_score"].notna().sum()) == n_elig
    # better score, better rank
    sc = nodes["koc_score"].dropna()
    order = nodes.loc[sc.index, "koc_rank"].astype(int).sort_values().index
    assert (np.diff(sc.loc[order].to_numpy()) <= 1e-15).all()
    # explain terms add up to the score, for every eligible user
    for u in sc.index[:5]:
        ex = kg.get.explain(g, u)
        assert abs(ex["contribution"].sum() - ex.attrs["score"]) <= 1e-12
        assert ex.attrs["score"] == nodes.loc[u, "koc_score"]
    terms = nodes[[c for c in nodes.columns if c.startswith("koc_term_")]].loc[sc.index].sum(axis=1)
    np.testing.assert_allclose(terms.to_numpy(), sc.to_numpy(), atol=1e-12, rtol=0)
    assert (sc >= 0).all()
    np.testing.assert_allclose(nodes.loc[sc.index, "koc_expected_reach"], np.expm1(sc))


@PROP
@given(seed=st.integers(0, 100_000), rng=st.integers(0, 2**31 - 1))
def test_same_rng_same_output(seed: int, rng: int) -> None:
    df = _random_log(seed, n_users=30, n_events=120)
    a, b = kg.read_log(df), kg.read_log(df)
    for g in (a, b):
        kg.tl.communities(g, rng=rng)
        kg.tl.kocs(g, staff=["u00"], bootstrap=20, rng=rng)
    assert a.nodes["community"].tolist() == b.nodes["community"].tolist()
    pd.testing.assert_frame_equal(a.nodes[["koc_rank_lo", "koc_rank_hi"]], b.nodes[["koc_rank_lo", "koc_rank_hi"]])
    # a Generator seeded the same way gives the same labels as well
    c = kg.read_log(df)
    kg.tl.communities(c, rng=np.random.default_rng(rng))
    d = kg.read_log(df)
    kg.tl.communities(d, rng=np.random.default_rng(rng))
    assert c.nodes["community"].tolist() == d.nodes["community"].tolist()


ITEM_FIGS = ["size", "depth", "max_breadth", "virality", "n_roots", "root", "start", "duration"]


@PROP
@given(seed=st.integers(0, 100_000), extra_seed=st.integers(0, 100_000))
def test_unrelated_item_changes_no_other_items_figures(seed: int, extra_seed: int) -> None:
    base = _random_log(seed)
    g = kg.read_log(base)
    kg.tl.cascades(g)
    # a new item spread among (possibly the same) users, at times that may interleave with the others
    extra = _random_log(extra_seed, n_users=20, n_events=15, n_items=1).assign(item="new_item")
    both = pd.concat([base, extra], ignore_index=True).drop_duplicates(["source", "target", "item", "time"])
    h = kg.read_log(both)
    kg.tl.cascades(h)
    old = g.items.index
    pd.testing.assert_frame_equal(g.items[ITEM_FIGS], h.items.loc[old, ITEM_FIGS], check_categorical=False)
    assert "new_item" in h.items.index


# ============================================================================================ errors
def test_unknown_staff_raises_naming_it() -> None:
    g = kg.datasets.toy()
    with pytest.raises(kg.NodeNotFoundError, match="staff_wang"):
        kg.tl.kocs(g, staff=["brand", "staff_wang"])
    with pytest.raises(kg.NodeNotFoundError, match="nobody"):
        kg.tl.pagerank(g, personalization=["nobody"])


def test_bad_weights() -> None:
    g = kg.datasets.toy()
    with pytest.raises(kg.InvalidParameterError, match=r"unknown features \['followers'\]"):
        kg.tl.kocs(g, weights={"reach": 1, "followers": 2})
    with pytest.raises(kg.InvalidParameterError, match="finite and >= 0.*'reach': -1"):
        kg.tl.kocs(g, weights={"reach": -1})
    with pytest.raises(kg.InvalidParameterError, match="no feature has a positive weight"):
        kg.tl.kocs(g, weights={"reach": 0})
    with pytest.raises(kg.InvalidParameterError, match="weight='nope' is not a column of g.edges"):
        kg.tl.pagerank(g, weight="nope")
    g.edges["neg"] = -1.0
    with pytest.raises(kg.InvalidParameterError, match="negative"):
        kg.tl.strength(g, weight="neg")
    with pytest.raises(kg.InvalidParameterError, match="damping"):
        kg.tl.pagerank(g, damping=1.0)
    with pytest.raises(kg.InvalidParameterError, match="epsilon"):
        kg.tl.betweenness(g, method="sampled", epsilon=0)
    with pytest.raises(kg.InvalidParameterError, match="method"):
        kg.tl.communities(g, method="walktrap")  # type: ignore[arg-type]


def test_getters_before_tools_raise_not_computed() -> None:
    g = kg.datasets.toy()
    with pytest.raises(kg.NotComputedError, match=r"kg.tl.kocs\(g\) first"):
        kg.get.kocs(g)
    with pytest.raises(kg.NotComputedError, match=r"kg.tl.kocs\(g\) first"):
        kg.get.explain(g, "alice")
    with pytest.raises(kg.NotComputedError, match=r"kg.tl.communities\(g\) first"):
        kg.get.communities(g)
    kg.tl.kocs(g, staff=STAFF)
    with pytest.raises(kg.NodeNotFoundError, match="zed"):
        kg.get.explain(g, "zed")
    assert kg.get.explain(g, "brand").attrs["excluded"] == "staff"


# ============================================================================================ slate, bootstrap, copy
def test_per_community_slate_at_most_n_per_community() -> None:
    g = _synthetic(400, seed=5)
    staff = g.meta["synthetic"]["staff"]
    kg.tl.communities(g, rng=0)
    kg.tl.kocs(g, staff=staff, per_community=2)
    slate = g.nodes["koc_slate"]
    on = slate.notna()
    per = g.nodes.loc[on, "community"].value_counts()
    assert per.max() <= 2
    assert sorted(slate[on].astype(int).tolist()) == list(range(1, int(on.sum()) + 1))
    # every community that has an eligible user is on the slate, with its best-ranked users
    elig = g.nodes["koc_rank"].notna()
    assert set(per.index) == set(g.nodes.loc[elig, "community"].unique())
    # within the slate, order follows the plain ranking
    r = g.nodes.loc[on].sort_values("koc_slate")["koc_rank"].astype(int).to_numpy()
    assert (np.diff(r) > 0).all()
    top = kg.get.kocs(g, n=10)
    assert top["rank"].tolist() == list(range(1, 11)) and "community" in top.columns
    assert not set(top["user"]) & set(staff)


def test_bootstrap_interval_contains_rank_of_dominant_user() -> None:
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF, bootstrap=200, rng=0)
    lo, hi = g.nodes.loc["alice", ["koc_rank_lo", "koc_rank_hi"]]
    assert g.nodes.loc["alice", "koc_rank"] == 1
    assert lo <= 1 <= hi
    ranked = g.nodes["koc_rank"].notna()
    assert (g.nodes.loc[ranked, "koc_rank_lo"] <= g.nodes.loc[ranked, "koc_rank_hi"]).all()
    assert g.meta["koc"]["bootstrap_info"]["B"] == 200
    # a planted strong spreader on a synthetic log
    s = _synthetic(400, seed=5)
    kg.tl.kocs(s, staff=s.meta["synthetic"]["staff"], bootstrap=100, rng=1)
    best = s.nodes["koc_rank"].astype("Float64").idxmin()
    lo, hi = s.nodes.loc[best, ["koc_rank_lo", "koc_rank_hi"]]
    assert lo <= 1 <= hi
    top = kg.get.kocs(s, n=5)
    assert {"rank_lo", "rank_hi"} <= set(top.columns)


def _snapshot(g: kg.ShareGraph) -> tuple[Any, ...]:
    return (g.nodes.copy(), g.items.copy(), g.edges.copy(), sorted(g.meta))


@pytest.mark.parametrize(
    "tool, kwargs",
    [
        (kg.tl.pagerank, {}),
        (kg.tl.strength, {}),
        (kg.tl.coreness, {}),
        (kg.tl.betweenness, {}),
        (kg.tl.communities, {"rng": 0}),
        (kg.tl.kocs, {"staff": STAFF, "per_community": 1, "bootstrap": 5}),
    ],
)
def test_copy_true_leaves_input_untouched(tool: Any, kwargs: dict[str, Any]) -> None:
    g = kg.datasets.toy()
    before = _snapshot(g)
    out = tool(g, copy=True, **kwargs)
    assert isinstance(out, kg.ShareGraph) and out is not g
    after = _snapshot(g)
    for a, b in zip(before[:3], after[:3]):
        pd.testing.assert_frame_equal(a, b)
    assert before[3] == after[3]
    assert len(out.nodes.columns) > len(g.nodes.columns)
    assert tool(g, **kwargs) is None      # without copy: annotates in place, returns None


def test_rerun_replaces_the_previous_ranking() -> None:
    # regression: a second kg.tl.kocs without per_community/bootstrap used to leave the first run's
    # koc_slate and rank intervals behind, and kg.get.kocs kept ordering by the stale slate
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF, per_community=1, bootstrap=10)
    kg.tl.kocs(g, staff=STAFF, weights={"reach": 1})
    cols = [c for c in g.nodes.columns if c.startswith("koc_")]
    assert cols == ["koc_score", "koc_expected_reach", "koc_percentile", "koc_rank", "koc_excluded",
                    "koc_term_reach", "koc_value_reach", "koc_conversions", "koc_conversion_value"]
    assert kg.get.kocs(g, n=3)["user"].tolist() == ["alice", "bob", "carol"]


@pytest.mark.parametrize("per_community", [None, 2])
@pytest.mark.parametrize("n", [1, 7, 10_000])
def test_get_kocs_takes_the_top_rows_that_a_sort_of_every_ranked_row_gives(n, per_community):
    # the table is read off the rank column alone; it must be the head of the ranked rows sorted by
    # rank (stable: ties in the order of the users), as a full sort of the frame gives
    g = kg.read_log(kg.datasets.synthetic_frame(400, 30, rng=5)[0])
    kg.tl.kocs(g, staff=["staff_000"], per_community=per_community, rng=0)
    col = "koc_slate" if per_community else "koc_rank"
    ranks = g.nodes[col]
    want = (g.nodes.loc[ranks.notna().to_numpy()].assign(_r=ranks[ranks.notna()].astype("int64"))
            .sort_values("_r", kind="stable").head(n))
    got = kg.get.kocs(g, n=n)
    assert got["user"].tolist() == want.index.tolist()
    assert got["rank"].tolist() == want["_r"].tolist()
