"""kg.read_adoptions: cascades from adoption logs plus a follower graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import PROPERTY, reference_adoption_events

import kocgraph as kg
from kocgraph.io.adoptions import infer_parents

# ------------------------------------------------------------------------------------------------
# Hand example. Social edges source -> target mean "target follows source" (target sees source):
#
#   brand -> amy, brand -> ben, amy -> cat, ben -> cat, cat -> dan, amy -> dan
#
# Adoptions:  item x: brand t1, amy t2, ben t3, cat t4, dan t5, eve t6 (eve follows nobody)
#             item y: cat t1, dan t2, amy t3
#
# directed, parent="latest":
#   x: amy follows brand(t1)             -> brand
#      ben follows brand(t1)             -> brand
#      cat follows amy(t2), ben(t3)      -> ben   (the most recent)
#      dan follows cat(t4), amy(t2)      -> cat
#      eve follows nobody                -> root, and nobody's parent: isolated
#   y: cat: no earlier adopter           -> root (parent of dan)
#      dan follows cat(t1)               -> cat
#      amy follows brand only, who never adopted y -> root, isolated
# directed, parent="earliest": cat <- amy (t2 before ben's t3), dan <- amy (t2 before cat's t4)
# undirected: every edge mutual, so amy's neighbours are brand, cat, dan:
#   y: amy's earlier adopting neighbours are cat(t1), dan(t2) -> latest dan, earliest cat
#   x: dan's neighbours cat(t4), amy(t2) -> latest cat, earliest amy (as directed)
# ------------------------------------------------------------------------------------------------
SOCIAL = pd.DataFrame({"source": ["brand", "brand", "amy", "ben", "cat", "amy"],
                       "target": ["amy", "ben", "cat", "cat", "dan", "dan"]})
ADOPT = pd.DataFrame({"user": ["brand", "amy", "ben", "cat", "dan", "eve", "cat", "dan", "amy"],
                      "item": ["x"] * 6 + ["y"] * 3,
                      "time": [1, 2, 3, 4, 5, 6, 1, 2, 3]})

WANT = {
    ("latest", True): {("brand", "amy", "x", 2), ("brand", "ben", "x", 3), ("ben", "cat", "x", 4),
                       ("cat", "dan", "x", 5), ("cat", "dan", "y", 2)},
    ("earliest", True): {("brand", "amy", "x", 2), ("brand", "ben", "x", 3), ("amy", "cat", "x", 4),
                         ("amy", "dan", "x", 5), ("cat", "dan", "y", 2)},
    ("latest", False): {("brand", "amy", "x", 2), ("brand", "ben", "x", 3), ("ben", "cat", "x", 4),
                        ("cat", "dan", "x", 5), ("cat", "dan", "y", 2), ("dan", "amy", "y", 3)},
    ("earliest", False): {("brand", "amy", "x", 2), ("brand", "ben", "x", 3), ("amy", "cat", "x", 4),
                          ("amy", "dan", "x", 5), ("cat", "dan", "y", 2), ("cat", "amy", "y", 3)},
}


def _events(g: kg.ShareGraph) -> set[tuple]:
    ev = g.events
    secs = ev["time"].astype("int64") // 10**9
    return set(zip(ev["source"].astype(object), ev["target"].astype(object), ev["item"].astype(object),
                   secs.tolist()))


@pytest.mark.parametrize("parent", ["latest", "earliest"])
@pytest.mark.parametrize("directed", [True, False])
def test_known_answer(parent, directed):
    g = kg.read_adoptions(ADOPT, social=SOCIAL, parent=parent, directed=directed, time_unit="s")
    assert _events(g) == WANT[(parent, directed)]
    m = g.meta["read_adoptions"]
    assert m["params"]["parent"] == parent and m["params"]["directed"] is directed
    assert ("most recent" if parent == "latest" else "first") in m["rule"]
    assert m["n_adoptions"] == 9
    n_ev = len(WANT[(parent, directed)])
    assert m["n_events"] == n_ev and m["n_roots"] == 9 - n_ev
    # isolated roots: eve (x) always; amy (y) only when directed (undirected, she has a parent)
    assert m["n_isolated"] == (2 if directed else 1)
    assert m["n_social_edges"] == (6 if directed else 12)
    rep = g.meta["read_log"]
    assert (rep["rows_read"], rep["rows_accepted"], rep["rows_rejected"]) == (9, 9, 0)
    assert "eve" not in g.nodes.index  # an isolated adopter has no event
    # each event's row is the child's adoption row
    rows = dict(zip(zip(g.events["target"].astype(object), g.events["item"].astype(object)), g.events["row"]))
    assert rows[("dan", "y")] == 7 and rows[("amy", "x")] == 1
    g.validate()


def test_cascades_of_an_adoption_graph_have_no_exposures():
    g = kg.read_adoptions(ADOPT, social=SOCIAL, time_unit="s")
    kg.tl.cascades(g)
    # x (latest): brand -> amy, brand -> ben -> cat -> dan: size 5, depth 3, one root
    assert g.items.loc["x", ["size", "depth", "n_roots"]].tolist() == [5, 3, 1]
    assert g.items.loc["y", ["size", "depth", "n_roots"]].tolist() == [2, 1, 1]
    assert g.meta["cascades"]["n_exposures"] == 0
    assert g.nodes.loc["brand", "reach"] == 4 and g.nodes.loc["ben", "reach"] == 2


def test_duplicate_and_bad_adoptions():
    ad = pd.DataFrame({"user": ["a", "b", "b", None, "c", "c"],
                       "item": ["x", "x", "x", "x", None, "x"],
                       "time": [1, 5, 2, 3, 4, "never"]})
    soc = pd.DataFrame({"source": ["a"], "target": ["b"]})
    g = kg.read_adoptions(ad, social=soc)
    # b adopted twice: the earlier one (row 2, t=2) is kept, even though it comes later in the file
    assert _events(g) == {("a", "b", "x", 2)}
    assert g.events["row"].tolist() == [2]
    rej = kg.get.rejected(g)
    assert rej[["row", "reason"]].to_dict("records") == [
        {"row": 1, "reason": "duplicate_adoption"}, {"row": 3, "reason": "null_user"},
        {"row": 4, "reason": "null_item"}, {"row": 5, "reason": "bad_time"}]
    rep = g.meta["read_log"]
    assert rep["rows_accepted"] + rep["rows_rejected"] == rep["rows_read"] == 6
    assert rep["rejected_by_reason"] == {"duplicate_adoption": 1, "null_user": 1, "null_item": 1, "bad_time": 1}


def test_ties_in_adoption_time_follow_row_order():
    soc = pd.DataFrame({"source": ["a", "b"], "target": ["b", "a"]})
    g = kg.read_adoptions(pd.DataFrame({"user": ["a", "b"], "item": "x", "time": [1, 1]}), social=soc)
    assert _events(g) == {("a", "b", "x", 1)}
    g = kg.read_adoptions(pd.DataFrame({"user": ["b", "a"], "item": "x", "time": [1, 1]}), social=soc)
    assert _events(g) == {("b", "a", "x", 1)}


def test_self_loops_in_the_social_graph_are_ignored():
    soc = pd.DataFrame({"source": ["a", "a"], "target": ["a", "b"]})
    g = kg.read_adoptions(pd.DataFrame({"user": ["a", "b"], "item": "x", "time": [1, 2]}), social=soc)
    assert _events(g) == {("a", "b", "x", 2)} and g.meta["read_adoptions"]["n_social_edges"] == 1


def test_files_and_exact_ids(tmp_path):
    (tmp_path / "ad.csv").write_text("uid,post,ts\n12345678901234567890,x,2026-01-01T08:00:00+08:00\n"
                                     "00042,x,2026-01-01T01:00:00Z\n张三,x,2026-01-01T02:00:00Z\n")
    (tmp_path / "so.csv").write_text("followee,follower\n12345678901234567890,00042\n00042,张三\n")
    g = kg.read_adoptions(tmp_path / "ad.csv", social=tmp_path / "so.csv", user="uid", item="post", time="ts",
                          social_source="followee", social_target="follower")
    assert g.events[["source", "target"]].astype(object).values.tolist() == [
        ["12345678901234567890", "00042"], ["00042", "张三"]]
    assert g.events["time"].tolist() == [pd.Timestamp("2026-01-01T01:00Z"), pd.Timestamp("2026-01-01T02:00Z")]
    # a damaged social file is an error, not a silent drop
    (tmp_path / "bad.csv").write_text("followee,follower\n12345678901234567890,00042\n00042\n")
    with pytest.raises(kg.LogSchemaError, match=r"social file .* line 3: '00042'"):
        kg.read_adoptions(tmp_path / "ad.csv", social=tmp_path / "bad.csv", user="uid", item="post", time="ts",
                          social_source="followee", social_target="follower")


def test_errors():
    with pytest.raises(kg.LogSchemaError, match=r"column 'user' .* Did you mean user='uid'"):
        kg.read_adoptions(ADOPT.rename(columns={"user": "uid"}), social=SOCIAL)
    with pytest.raises(kg.LogSchemaError, match=r"social_source='followee'"):
        kg.read_adoptions(ADOPT, social=SOCIAL.rename(columns={"source": "followee"}))
    with pytest.raises(kg.InvalidParameterError, match=r"parent='random'.*\['latest', 'earliest'\]"):
        kg.read_adoptions(ADOPT, social=SOCIAL, parent="random")
    with pytest.raises(kg.InvalidParameterError, match=r"social must be a DataFrame or a file path, got list"):
        kg.read_adoptions(ADOPT, social=[("a", "b")])
    # nobody follows an earlier adopter: say so, and suggest the direction and directed=False
    with pytest.raises(kg.LogSchemaError, match=r"no forwarding event.*directed=False"):
        kg.read_adoptions(ADOPT, social=SOCIAL.rename(columns={"source": "target", "target": "source"}).iloc[:2])
    # a column with no valid id is wrong as a whole: say which and why
    with pytest.raises(kg.LogSchemaError, match=r"user column holds \[1\]"):
        kg.read_adoptions(pd.DataFrame({"user": pd.Series([[1], [2]], dtype=object), "item": "x", "time": [1, 2]}),
                          social=SOCIAL)
    # one bad id is one bad row: set aside with its reason
    g = kg.read_adoptions(pd.concat([ADOPT, pd.DataFrame({"user": pd.Series([[1]], dtype=object), "item": ["x"],
                                                                     "time": [99]})], ignore_index=True), social=SOCIAL)
    assert g.meta["read_log"]["rejected_by_reason"] == {"invalid_id": 1}


def test_infer_parents_kernel():
    # 0 -> 1 -> 2 and 0 -> 2: user 2's earlier followees are 0 (rank 0) and 1 (rank 1)
    u, it, rank = np.array([0, 1, 2]), np.zeros(3, int), np.arange(3)
    s, t = np.array([0, 1, 0]), np.array([1, 2, 2])
    assert infer_parents(u, it, rank, s, t, 3).tolist() == [-1, 0, 1]
    assert infer_parents(u, it, rank, s, t, 3, parent="earliest").tolist() == [-1, 0, 0]
    assert infer_parents(u[:0], it[:0], rank[:0], s, t, 3).tolist() == []
    assert infer_parents(u, it, rank, s[:0], t[:0], 3).tolist() == [-1, -1, -1]


# ------------------------------------------------------------------------------------------------ cross-check
@st.composite
def adoption_logs(draw):
    users = ["a", "b", "c", "d", "e", "f"]
    n = draw(st.integers(1, 25))
    ad = pd.DataFrame({
        "user": draw(st.lists(st.sampled_from(users), min_size=n, max_size=n)),
        "item": draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)),
        "time": draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)),
    })
    m = draw(st.integers(0, 20))
    soc = pd.DataFrame({
        "source": draw(st.lists(st.sampled_from(users), min_size=m, max_size=m)),
        "target": draw(st.lists(st.sampled_from(users), min_size=m, max_size=m)),
    })
    return ad, soc


@PROPERTY
@given(adoption_logs(), st.sampled_from(["latest", "earliest"]), st.booleans())
def test_cross_check_against_brute_force(logs, parent, directed):
    ad, soc = logs
    want = set(reference_adoption_events(ad, soc, parent=parent, directed=directed))
    if not want:
        with pytest.raises(kg.LogSchemaError, match="no forwarding event"):
            kg.read_adoptions(ad, social=soc, parent=parent, directed=directed, time_unit="s")
        return
    g = kg.read_adoptions(ad, social=soc, parent=parent, directed=directed, time_unit="s")
    assert _events(g) == want
    m = g.meta["read_adoptions"]
    n_kept = len(set(zip(ad["user"], ad["item"])))
    assert m["n_adoptions"] == n_kept and m["n_events"] == len(want) and m["n_roots"] == n_kept - len(want)
    rep = g.meta["read_log"]
    assert rep["rows_rejected"] == len(ad) - n_kept == rep["rejected_by_reason"].get("duplicate_adoption", 0)
    # a reconstructed cascade is a forest of first receipts: no exposures, every event a link
    kg.tl.cascades(g)
    assert g.meta["cascades"]["n_exposures"] == 0
