"""The public-data readers reproduce the counts in each ``../shared/data/<folder>/SOURCE.md``.

The data live outside the repository (``/work/shared/data`` next to ``/work/main``); set
``KOCGRAPH_DATA`` to read them from elsewhere. Every test skips with a reason when its folder is
absent. These are research data holding real account ids: the tests assert counts only and never
print a per-user row (no user id appears in any assertion).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kocgraph as kg
from kocgraph.datasets.public import (
    STACKEXCHANGE_ORIGIN,
    public_datasets,
    read_douban,
    read_higgs,
    read_stackexchange,
    read_weibo_deephawkes,
)


def _data_root() -> Path:
    env = os.environ.get("KOCGRAPH_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _folder(name: str, *files: str) -> Path:
    d = _data_root() / name
    missing = [f for f in files if not (d / f).exists()]
    if not d.is_dir() or missing:
        pytest.skip(f"public data set {name!r} not found at {d} (missing {missing or 'folder'}); "
                    "set KOCGRAPH_DATA to the folder holding it")
    return d


def _conserved(g: kg.ShareGraph) -> None:
    rep = g.meta["read_log"]
    assert rep["rows_accepted"] + rep["rows_rejected"] == rep["rows_read"]
    assert sum(rep["rejected_by_reason"].values()) == rep["rows_rejected"]
    assert rep["rows_accepted"] == g.n_events or "read_adoptions" in g.meta
    assert len(kg.get.rejected(g)) == rep["rows_rejected"]


# ------------------------------------------------------------------------------------ weibo
@pytest.fixture(scope="module")
def weibo() -> kg.ShareGraph:
    d = _folder("weibo-deephawkes-sample", "dataset.txt")
    g = read_weibo_deephawkes(d)
    kg.tl.cascades(g)
    return g


def test_weibo_counts(weibo: kg.ShareGraph) -> None:
    g, ds, rep = weibo, weibo.meta["dataset"], weibo.meta["read_log"]
    _conserved(g)
    # SOURCE "cascades (lines)": 30 -> one item per message, every message has retweets
    assert ds["n_cascades"] == 30 and g.n_items == 30
    # "participant entries (incl. 30 root entries)": 7,147; "retweet entries": 7,117 -> one input row
    # per retweet entry (the root's own "r:0" entry has no hop and makes no event)
    assert ds["n_entries"] == 7_147
    assert ds["n_retweets"] == 7_117 == rep["rows_read"]
    # the 2 self-hops (r/r and r/x/x) give a hop u -> u, rejected as self_forward; nothing else is
    assert rep["rejected_by_reason"] == {"self_forward": 2}
    assert g.n_events == 7_115
    # "distinct user IDs (roots + retweeters + path intermediates)": 6,962. One of them appears only
    # in a self-hop x/x (its entry r/x/x is its only appearance), so the graph holds 6,961 users.
    assert ds["n_users"] == 6_962
    rej = kg.get.rejected(g)
    only_in_self_hops = ~rej["target"].isin(g.nodes.index)
    assert g.n_users == 6_962 - int(only_in_self_hops.sum()) == 6_961
    # "distinct parent->child edges (per cascade, from the last hop)": 7,077
    #   = distinct (item, source, target) among accepted events + the 2 self-hop pairs
    accepted_pairs = len(g.events[["item", "source", "target"]].drop_duplicates())
    assert accepted_pairs + len(rej) == 7_077
    # "path depth distribution": 1 hop 4,595; 2: 2,202; 3: 317; 4: 3; plus 30 root entries
    assert ds["hops"] == {0: 30, 1: 4_595, 2: 2_202, 3: 317, 4: 3}
    # "cascade size (entries incl. root): mean / max / min" 238.2 / 2,239 / 10
    assert ds["cascade_length"] == {"mean": 238.23, "max": 2_239, "min": 10}
    # n_participants equals the entry count on every line, and u1 is always the root (SOURCE checks)
    assert ds["n_count_mismatch"] == 0 and ds["n_root_mismatch"] == 0


def test_weibo_cascades(weibo: kg.ShareGraph) -> None:
    g, c = weibo, weibo.meta["cascades"]
    # 51 entries re-name a user already seen in the line; one is the self-hop r/r (rejected), the
    # other 50 are repeat retweets: exposures, never tree links
    assert c["n_exposures"] == 50
    assert c["n_tree_links"] == g.n_events - 50 == 7_065
    # "the direct parent of every retweet is a participant of the same cascade": one tree per message,
    # rooted at the poster, holding the root + every first retweet
    assert (g.items["n_roots"] == 1).all()
    assert c["n_holders"] == c["n_tree_links"] + 30
    assert c["n_forwarded_before_receipt"] == 0
    # entries were unsorted in 20 of 30 lines; events come out in time order within each message
    t = g.events.groupby("item", observed=True)["time"].apply(lambda s: s.is_monotonic_increasing)
    assert t.all()
    # depth of a tree never exceeds the longest forwarding path (4 hops)
    assert int(g.items["depth"].max()) <= 4


# ------------------------------------------------------------------------------------ douban
@pytest.fixture(scope="module")
def douban() -> kg.ShareGraph:
    d = _folder("douban", "cascades.txt", "social_rawid.txt")
    return read_douban(d)


def test_douban_counts(douban: kg.ShareGraph) -> None:
    g, ds, rep, ra = douban, douban.meta["dataset"], douban.meta["read_log"], douban.meta["read_adoptions"]
    _conserved(g)
    # "cascades (lines)": 3,485 -> items; the graph keeps the items where someone followed an earlier
    # adopter (an item whose adopters are all roots has no event)
    assert ds["n_cascades"] == 3_485
    assert g.n_items <= 3_485
    # "adoptions (user,time chunks)": 83,955, plus the truncated last chunk (no timestamp), which is
    # read and rejected as bad_time rather than dropped silently
    assert ds["n_adoptions"] == 83_955 and ds["n_truncated"] == 1
    assert rep["rows_read"] == 83_956 and rep["rows_accepted"] == 83_955
    assert rep["rejected_by_reason"] == {"bad_time": 1}
    rej = kg.get.rejected(g)
    assert rej["reason"].tolist() == ["bad_time"] and rej["time"].isna().all()
    # every accepted adoption is either a root of its item or the target of exactly one event
    assert ra["n_adoptions"] == 83_955 == ra["n_events"] + ra["n_roots"]
    assert g.n_events == ra["n_events"]
    # "distinct users in cascades": 12,232; the graph holds those who send or receive an event
    assert ds["n_users"] == 12_232
    assert g.n_users <= 12_232
    # "cascade length: mean / max / min" 24.09 / 1,551 / 6
    assert ds["cascade_length"] == {"mean": 24.09, "max": 1_551, "min": 6}
    # "social edges": 396,992 directed lines = 198,496 undirected pairs, 0 self-loops; read_adoptions
    # sees each pair in both directions (directed=False)
    assert ds["n_social_lines"] == 396_992 and ds["n_social_pairs"] == 198_496
    assert ds["n_social_self_loops"] == 0
    assert ra["n_social_edges"] == 396_992 and ra["params"]["directed"] is False
    # "users with >= 1 social edge": 11,735 of 12,232 (497 isolated)
    assert ds["n_users_with_social"] == 11_735


def test_douban_events_follow_the_social_graph(douban: kg.ShareGraph) -> None:
    # each event is parent -> child with parent a friend of child (social pair) who adopted earlier:
    # spot-check on a sample that every event's pair is a social pair
    d = _data_root() / "douban"
    soc = pd.read_csv(d / "social_rawid.txt", header=None, names=["a", "b"], dtype="int64")
    pairs = pd.MultiIndex.from_arrays([soc["a"], soc["b"]])
    ev = douban.events.sample(2_000, random_state=0)
    ev_pairs = pd.MultiIndex.from_arrays([ev["source"].astype("int64"), ev["target"].astype("int64")])
    assert ev_pairs.isin(pairs).all()
    kg.tl.cascades(douban)
    # adoption cascades have no exposures: every event is a tree link
    assert douban.meta["cascades"]["n_exposures"] == 0


# ------------------------------------------------------------------------------------ stack exchange
@pytest.fixture(scope="module")
def stackexchange() -> kg.ShareGraph:
    d = _folder("stackexchange-christianity", "train.txt", "val.txt", "test.txt", "graph.txt")
    return read_stackexchange(d)


def test_stackexchange_counts(stackexchange: kg.ShareGraph) -> None:
    g, ds, rep, ra = (stackexchange, stackexchange.meta["dataset"], stackexchange.meta["read_log"],
                      stackexchange.meta["read_adoptions"])
    _conserved(g)
    # "cascades": 589 (train 411 + val 59 + test 119), concatenated
    assert ds["n_cascades"] == 589 and g.n_items <= 589
    assert ds["splits"] == ["train", "val", "test"]
    # "activations (incl. seed)": 15,327 -> adoption rows, all valid (seed at offset 0)
    assert ds["n_adoptions"] == 15_327 == rep["rows_read"] == rep["rows_accepted"]
    assert ra["n_adoptions"] == ra["n_events"] + ra["n_roots"]
    # "distinct users in cascades": 1,651; "distinct seeds": 197
    assert ds["n_users"] == 1_651 and g.n_users <= 1_651
    assert ds["n_seeds"] == 197
    # "cascade length incl. seed: mean / max / min" 26.02 / 414 / 2
    assert ds["cascade_length"] == {"mean": 26.02, "max": 414, "min": 2}
    # graph header 2,897 users / 35,624 links, with exactly 35,624 link lines, 30,044 distinct
    # undirected pairs, 0 self-loops; read_adoptions sees both directions of each pair
    assert (ds["header_users"], ds["header_links"], ds["n_link_lines"]) == (2_897, 35_624, 35_624)
    assert ds["n_social_pairs"] == 30_044 and ds["n_social_self_loops"] == 0
    assert ra["n_social_edges"] == 2 * 30_044


def test_stackexchange_times_are_offsets_from_the_origin(stackexchange: kg.ShareGraph) -> None:
    # every seed sits at STACKEXCHANGE_ORIGIN; an event's time minus the origin is its offset (s),
    # max offset 206,611,477 s per SOURCE.md; non-seed offsets are >= 457 s
    off = (stackexchange.events["time"] - STACKEXCHANGE_ORIGIN).dt.total_seconds()
    assert off.min() >= 457 and off.max() <= 206_611_477
    assert stackexchange.meta["dataset"]["time_origin"] == str(STACKEXCHANGE_ORIGIN)


# ------------------------------------------------------------------------------------ higgs
def _higgs() -> Path:
    return _folder("higgs-twitter", "higgs-activity_time.txt.gz")


@pytest.mark.realdata
def test_higgs_retweets() -> None:
    g = read_higgs(_higgs())
    ds, rep = g.meta["dataset"], g.meta["read_log"]
    _conserved(g)
    # "activity events": 563,069 lines (RT 354,930; MT 171,237; RE 36,902)
    assert ds["n_lines"] == 563_069
    assert ds["by_interaction"] == {"RT": 354_930, "MT": 171_237, "RE": 36_902}
    # "distinct users in activity file": 304,691 (all interactions)
    assert ds["n_users"] == 304_691
    # RT only: one event per retweet line, none rejected (0 self-loops, no exact repeats)
    assert rep["rows_read"] == 354_930 == g.n_events and rep["rows_rejected"] == 0
    # "retweet network": 328,132 weighted edges, 256,491 nodes, sum of weights 354,930, max weight 33;
    # our edges are (userB -> userA), the reverse of the edgelist's (A, B), with the same weights
    assert g.n_edges == 328_132 and g.n_users == 256_491
    assert int(g.edges["n_forwards"].sum()) == 354_930 and int(g.edges["n_forwards"].max()) == 33
    # time span 2012-07-01 00:02:52 .. 2012-07-07 23:59:53 UTC (RT lines lie inside it)
    lo, hi = g.time_span
    assert lo >= pd.Timestamp("2012-07-01 00:02:52", tz="UTC")
    assert hi <= pd.Timestamp("2012-07-07 23:59:53", tz="UTC")
    # content flows userB -> userA: the 41,426 retweeted authors are the sources
    assert int((g.edges.groupby("source", observed=True).size() > 0).sum()) == 41_426
    assert g.n_items == 1 and ds["items"] == "topic"
    kg.tl.cascades(g)
    c = g.meta["cascades"]
    assert c["n_holders"] == 256_491 and c["n_tree_links"] + c["n_exposures"] == 354_930


@pytest.mark.realdata
def test_higgs_all_interactions_and_author_items() -> None:
    d = _higgs()
    g = read_higgs(d, interactions=("RT", "MT", "RE"))
    rep = g.meta["read_log"]
    _conserved(g)
    # every line is read; mentions/replies of oneself are rejected as self_forward, nothing else
    assert rep["rows_read"] == 563_069
    assert set(rep["rejected_by_reason"]) == {"self_forward"}
    # the interaction is kept as the channel, so MT and RE of one pair in one second stay two events
    ch = g.events["channel"].value_counts()
    assert int(ch["retweet"]) == 354_930
    assert int(ch.sum()) + rep["rows_rejected"] == 563_069
    # users: 304,691 in the file, less those whose only lines are self-mentions/self-replies
    assert g.n_users <= 304_691
    # items="author": one item per retweeted author (41,426 distinct column-2 ids for RT), each a
    # star; the top author was retweeted 18,977 times
    ga = read_higgs(d, items="author")
    assert ga.n_items == 41_426
    assert int(ga.events["item"].value_counts().max()) == 18_977
    kg.tl.cascades(ga)
    assert int(ga.items["depth"].max()) == 1


# ------------------------------------------------------------------------------------ registry / errors
def test_registry_matches_the_readers() -> None:
    reg = public_datasets().set_index("name")
    assert list(reg.columns[:3]) == ["reader", "format", "files"]
    assert int(reg.loc["douban", "records"]) == 83_955
    assert int(reg.loc["weibo-deephawkes-sample", "users"]) == 6_962
    assert pd.isna(reg.loc["higgs-twitter", "cascades"])
    import kocgraph.datasets.public as pub

    for name in reg.index:
        assert callable(getattr(pub, reg.loc[name, "reader"]))


def test_path_none_says_where_the_data_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KOCGRAPH_DATA", raising=False)
    for reader in (read_weibo_deephawkes, read_douban, read_stackexchange, read_higgs):
        with pytest.raises(kg.InvalidParameterError, match="KOCGRAPH_DATA"):
            reader()


def test_env_override_and_bad_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _folder("stackexchange-christianity", "train.txt", "val.txt", "test.txt", "graph.txt")
    monkeypatch.setenv("KOCGRAPH_DATA", str(_data_root()))
    g = read_stackexchange()
    assert g.meta["dataset"]["n_cascades"] == 589
    assert bool(public_datasets().set_index("name").loc["stackexchange-christianity", "found"])
    with pytest.raises(kg.InvalidParameterError, match="does not exist"):
        read_douban(tmp_path / "nowhere")
    with pytest.raises(kg.InvalidParameterError, match="lacks"):
        read_douban(tmp_path)


def test_weibo_reader_on_a_hand_made_file(tmp_path: Path) -> None:
    # two messages; message 7: root 1 posts at t=100; 2 retweets from 1 at +5; 3 from 2 at +3
    # (listed out of order); 1 retweets itself (self-hop 1/1) at +1 and 4 retweets that at +9;
    # 2 retweets again from 1 at +20 (a repeat: an exposure). Message 8: root 5, one retweet by 6.
    text = ("7\t1\t100\t6\t1:0 1/2:5 1/2/3:3 1/1:1 1/1/4:9 1/2:20\n"
            "8\t5\t200\t2\t5:0 5/6:7\n")
    (tmp_path / "dataset.txt").write_text(text)
    g = read_weibo_deephawkes(tmp_path)
    rep = g.meta["read_log"]
    assert rep["rows_read"] == 6 and rep["rejected_by_reason"] == {"self_forward": 1}
    ev = g.events
    # events sorted by (message, time); the self-hop 1 -> 1 at 101 is the rejected row
    assert ev[["source", "target"]].astype(int).values.tolist() == [[2, 3], [1, 2], [1, 4], [1, 2], [5, 6]]
    assert (ev["time"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().astype(int).tolist() == [
        103, 105, 109, 120, 207]
    kg.tl.cascades(g)
    # message 7: 2 -> 3 at 103 comes before 2 receives (1 -> 2 at 105), so 2 is a root (it forwarded
    # before receiving) and both receipts of 2 are exposures; item 7 has roots 1 and 2
    assert g.meta["cascades"]["n_exposures"] == 2
    assert int(g.items.loc[7, "n_roots"]) == 2
    assert g.meta["dataset"]["hops"] == {0: 2, 1: 4, 2: 2}
    assert np.isclose(g.meta["dataset"]["cascade_length"]["mean"], 4.0)
