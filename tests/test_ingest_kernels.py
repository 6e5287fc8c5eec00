"""The ingest kernels behind kg.read_log's speed: the packed stable sort, Arrow id factorization,
edge aggregation and the exact-duplicate check that rides on it. Known answers, cross-checks against numpy/pandas, and
hypothesis properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kg_testlib import PROPERTY

import kocgraph as kg
from kocgraph._core.graph import aggregate_edges
from kocgraph._core.validation import factorize_ids
from kocgraph.algorithms._sort import stable_argsort
from kocgraph.io.ingest import UserDictionary
from kocgraph.io.readers import _duplicated_among

# ------------------------------------------------------------------------------- stable_argsort


def test_stable_argsort_known_answer():
    # keys 3 1 3 0 1 -> 0 at position 3; the 1s at 1 then 4; the 3s at 0 then 2
    assert stable_argsort(np.array([3, 1, 3, 0, 1])).tolist() == [3, 1, 4, 0, 2]
    assert stable_argsort(np.array([], dtype=np.int64)).tolist() == []
    assert stable_argsort(np.array([7])).tolist() == [0]


@pytest.mark.parametrize("hi", [1, 2**20, 2**40 - 1, 2**58, 2**62])
def test_stable_argsort_every_path_matches_numpy(hi):
    # 2**40 with 1,000 positions needs 50 bits (int64 words); 2**58 needs 68 bits (numpy fallback);
    # the uint64 path is hit exactly at 64 bits, checked below
    rng = np.random.default_rng(hi % 1000)
    keys = rng.integers(0, hi, 1000, endpoint=True)
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_stable_argsort_64_bit_words_use_unsigned_order():
    # 1,024 positions = 10 bits; keys below 2**54 make 64-bit words whose top bit is set for big keys:
    # a signed sort would put them first
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 2**54, 1024)
    keys[:10] = 2**54 - 1
    assert np.array_equal(stable_argsort(keys), np.argsort(keys, kind="stable"))


def test_stable_argsort_negative_keys_fall_back():
    keys = np.array([5, -3, 5, -3, 0])
    assert stable_argsort(keys).tolist() == [1, 3, 4, 0, 2]


@PROPERTY
@given(st.lists(st.integers(0, 2**63 - 1) | st.integers(0, 5), max_size=60))
def test_stable_argsort_property(keys):
    k = np.array(keys, dtype=np.int64)
    assert np.array_equal(stable_argsort(k), np.argsort(k, kind="stable"))


# --------------------------------------------------------------------- Arrow id factorization
IDS = st.one_of(
    st.sampled_from(["a", "b", "c", "张三", "李四", "😀", "🌸x", " b ", "openid_0123456789", "", "   "]),
    st.none(),
)


def _arrow_series(values, chunks: int, large: bool) -> pd.Series:
    typ = pa.large_string() if large else pa.string()
    cut = np.array_split(np.arange(len(values)), max(chunks, 1))
    ca = pa.chunked_array([pa.array([values[i] for i in part], type=typ) for part in cut], type=typ)
    return pd.Series(pd.arrays.ArrowExtensionArray(ca))


@PROPERTY
@given(st.lists(IDS, max_size=40), st.lists(IDS, max_size=40), st.integers(1, 4), st.booleans(), st.booleans())
def test_arrow_factorize_equals_pandas_factorize(a, b, chunks, large_a, large_b):
    """The threaded Arrow path gives exactly the codes, uniques (first-seen order) and null masks of
    the object-dtype pandas path, whatever the chunking and string width."""
    fast = factorize_ids(_arrow_series(a, chunks, large_a), _arrow_series(b, chunks + 1, large_b))
    slow = factorize_ids(pd.Series(a, dtype=object), pd.Series(b, dtype=object))
    for x, y in zip(fast[0], slow[0]):
        assert np.array_equal(x, y)
    assert list(fast[1]) == list(slow[1])
    for x, y in zip(fast[2], slow[2]):
        assert np.array_equal(x, y)


def test_arrow_factorize_known_answer():
    # source a, 张三, None, " " ; target 张三, 😀, a -> users a, 张三, " ", 😀 in first-seen order;
    # None and the blank " " are missing (-1)
    got = factorize_ids(_arrow_series(["a", "张三", None, " "], 2, False), _arrow_series(["张三", "😀", "a", "a"], 1, True))
    (s, t), users, (sn, tn) = got.codes, got.ids, got.missing
    assert list(users) == ["a", "张三", " ", "😀"] and not any(m.any() for m in got.invalid)
    assert s.tolist() == [0, 1, -1, -1] and t.tolist() == [1, 3, 0, 0]
    assert sn.tolist() == [False, False, True, True] and not tn.any()


# ------------------------------------------------------- users of a stream, sources and targets hashed together
def _stream_users(batches, merge_at: int, drop: frozenset = frozenset()):
    """UserDictionary over ``batches`` of (sources, targets); batches in ``drop`` are dropped after
    they are added. Returns the dictionary and each kept batch's handle."""
    d = UserDictionary(merge_at=merge_at)
    handles = {}
    for i, (src, tgt) in enumerate(batches):
        handles[i] = d.add_pair(pa.array(src, pa.string()), pa.array(tgt, pa.string()))[0]
        if i in drop:
            d.drop([handles.pop(i)])
    d.finish()
    return d, handles


def test_user_dictionary_known_answer():
    # batch 0: b->c, a->d ; batch 1: e->b, (none)->a, f->f
    # sources first-seen: b, a, e, f ; then the targets not among them: c, d (c was seen before e)
    d, h = _stream_users([(["b", "a"], ["c", "d"]), (["e", None, "f"], ["b", "a", "f"])], merge_at=1 << 23)
    assert d.values.to_pylist() == ["b", "a", "e", "f", "c", "d"]
    assert d.codes(h[0]).tolist() == [0, 1, 4, 5]
    assert d.codes(h[1]).tolist() == [2, -1, 3, 0, 1, 3]


@PROPERTY
@given(st.lists(st.lists(st.tuples(IDS, IDS), max_size=12), max_size=6), st.sampled_from([1, 3, 8, 1 << 23]),
       st.data())
def test_user_dictionary_is_pandas_factorize_of_sources_then_targets(batches, merge_at, data):
    """Whatever the batching, the early merges and the dropped batches: the users and the kept
    batches' codes are ``pd.factorize`` of every source, then every target (dropped batches' ids
    stay in the dictionary, as they did when each role had its own)."""
    pairs = [([s for s, _ in b], [t for _, t in b]) for b in batches]
    drop = frozenset(data.draw(st.sets(st.integers(0, max(len(pairs) - 1, 0)), max_size=2))) if pairs else frozenset()
    d, handles = _stream_users(pairs, merge_at, drop)
    every_src = [x for s, _ in pairs for x in s]
    every_tgt = [x for _, t in pairs for x in t]
    codes, uniques = pd.factorize(pd.Series(every_src + every_tgt, dtype=object))
    assert (d.values.to_pylist() if d.values is not None else []) == list(uniques)
    n_src = len(every_src)
    at_s = at_t = 0
    for i, (s, t) in enumerate(pairs):
        if i in handles:
            want = np.concatenate([codes[at_s:at_s + len(s)], codes[n_src + at_t:n_src + at_t + len(t)]])
            assert d.codes(handles[i]).tolist() == want.tolist()
        at_s += len(s)
        at_t += len(t)


def test_user_dictionary_refuses_a_batch_of_unequal_columns():
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        UserDictionary().add_pair(pa.array(["a", "b"]), pa.array(["c"]))


def test_user_dictionary_reads_int_and_text_ids_as_text():
    d = UserDictionary()
    h = d.add_pair(pa.array([7, 8], pa.int64()), pa.array(["7", "9"], pa.string()))[0]
    d.finish()
    assert d.as_text and d.values.to_pylist() == ["7", "8", "9"] and d.codes(h).tolist() == [0, 1, 0, 2]


# ------------------------------------------------------------------------ duplicate screen
ROWS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2), st.integers(0, 2)), max_size=50)


@PROPERTY
@given(ROWS)
def test_repeated_lists_every_duplicate_candidate(rows):
    """EdgeTable.repeated holds exactly the events whose (source, target, item) occurs twice or more,
    so the exact comparison among them finds every duplicate that pandas finds over all rows."""
    df = pd.DataFrame(rows, columns=["s", "t", "i", "time"], dtype=np.int64)
    cols = [df[c].to_numpy() for c in df.columns]
    e = aggregate_edges(*cols, 4, 3)
    expected = np.flatnonzero(df.duplicated(["s", "t", "i"], keep=False).to_numpy())
    assert e.repeated.tolist() == expected.tolist()
    assert np.array_equal(_duplicated_among(cols, e.repeated), df.duplicated(keep="first").to_numpy())


def test_duplicated_among_known_answer():
    # rows 0 and 2 are equal, row 3 repeats row 1's (s, t, i) at another time: only row 2 is a duplicate
    cols = [np.array([0, 1, 0, 1]), np.array([1, 2, 1, 2]), np.array([0, 0, 0, 0]), np.array([5, 6, 5, 7])]
    e = aggregate_edges(*cols, 3, 1)
    assert e.repeated.tolist() == [0, 1, 2, 3]
    assert _duplicated_among(cols, e.repeated).tolist() == [False, False, True, False]
    # dropping the duplicate: edge (0, 1) keeps one forward of its one item, at the same time
    kept = e.without(np.array([False, False, True, False]))
    assert kept.n_forwards.tolist() == [1, 2] and kept.n_items.tolist() == [1, 1]
    assert kept.eidx.tolist() == [0, 1, 1] and kept.first.tolist() == [5, 6]


@PROPERTY
@given(ROWS)
def test_read_log_duplicates_match_pandas(rows):
    """End to end: read_log rejects as duplicates exactly what pandas' duplicated() marks, and its
    edges equal those of a log with the duplicates removed by hand."""
    df = pd.DataFrame(rows, columns=["source", "target", "item", "time"], dtype=np.int64)
    df["time"] += 1_700_000_000
    df = df[df.source != df.target].reset_index(drop=True)
    g = kg.read_log(df)
    dup = df.duplicated(keep="first").to_numpy()
    rej = kg.get.rejected(g)
    assert sorted(rej.loc[rej.reason == "duplicate", "row"].tolist()) == np.flatnonzero(dup).tolist()
    clean = kg.read_log(df[~dup].reset_index(drop=True))
    pd.testing.assert_frame_equal(g.edges.reset_index(drop=True), clean.edges.reset_index(drop=True))


# ------------------------------------------------------------------------- edge aggregation
def test_aggregate_edges_known_answer():
    # events: 0->1 item 0 at t=5; 0->1 item 0 at t=2; 0->1 item 1 at t=9; 2->0 item 1 at t=1
    # edges sorted by (source, target): (0,1) with 3 forwards, 2 items, times 2..9; (2,0) with 1
    src, tgt = np.array([0, 0, 0, 2]), np.array([1, 1, 1, 0])
    item, t = np.array([0, 0, 1, 1]), np.array([5, 2, 9, 1])
    eidx, es, et, n_fw, n_it, first, last, repeated = aggregate_edges(src, tgt, item, t, 3, 2)
    assert eidx.tolist() == [0, 0, 0, 1]
    assert es.tolist() == [0, 2] and et.tolist() == [1, 0]
    assert n_fw.tolist() == [3, 1] and n_it.tolist() == [2, 1]
    assert first.tolist() == [2, 1] and last.tolist() == [9, 1]
    assert repeated.tolist() == [0, 1]  # (0, 1, item 0) occurs twice


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 3), st.integers(0, 100)),
                min_size=1, max_size=60))
def test_aggregate_edges_equals_pandas_groupby(rows):
    df = pd.DataFrame(rows, columns=["s", "t", "i", "time"])
    eidx, es, et, n_fw, n_it, first, last, _ = aggregate_edges(
        df.s.to_numpy(np.int64), df.t.to_numpy(np.int64), df.i.to_numpy(np.int64), df.time.to_numpy(np.int64), 6, 4)
    ref = df.groupby(["s", "t"]).agg(n_fw=("i", "size"), n_it=("i", "nunique"), first=("time", "min"),
                                     last=("time", "max")).reset_index()
    assert es.tolist() == ref.s.tolist() and et.tolist() == ref.t.tolist()
    assert n_fw.tolist() == ref.n_fw.tolist() and n_it.tolist() == ref.n_it.tolist()
    assert first.tolist() == ref["first"].tolist() and last.tolist() == ref["last"].tolist()
    # each event points at its own edge
    assert np.array_equal(es[eidx], df.s.to_numpy()) and np.array_equal(et[eidx], df.t.to_numpy())


def test_duplicated_among_survives_a_hash_collision():
    # the hash is h = sum_j c_j * K_j (mod 2**64) before its finalizer, with K_j = K * (2j + 1): rows
    # (0, 0) and (3, -1) give 0 and 3K - 3K = 0, so the same hash. The exact comparison keeps both;
    # row 2 repeats row 1 and is the only duplicate
    cols = [np.array([0, 3, 3], dtype=np.int64), np.array([0, -1, -1], dtype=np.int64)]
    assert _duplicated_among(cols, np.array([0, 1, 2])).tolist() == [False, False, True]
    assert _duplicated_among(cols, np.array([0, 1])).tolist() == [False, False, False]


# ------------------------------------------------------------------------------- text times
_TIME_TEXTS = st.sampled_from(["1700000000", "1700000000.5", "1.7e9", "2026-03-01T14:23:15Z", "2026-03-01 14:23:15",
                               "2026-03-01T14:23:15+08:00", "yesterday", "", " 1700000001 ", "NA", "inf", "-5"])


@PROPERTY
@given(texts=st.lists(_TIME_TEXTS, min_size=1, max_size=12), tz=st.sampled_from(["UTC", "Asia/Shanghai"]))
def test_text_times_skip_the_numeric_casts_only_when_they_would_fail(texts, tz):
    # the first non-missing text decides whether the batch is tried as epoch numbers; the result must
    # be the one of trying every cast
    import pyarrow as pa

    from kocgraph._core import validation as v

    arr = pa.array(texts, pa.string())
    got_info: dict = {}
    got = v._arrow_text_times(arr, tz, np.zeros(len(texts), dtype=np.int8), got_info)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(v, "_reads_as_number", lambda txt, null: True)
        want_info: dict = {}
        want = v._arrow_text_times(arr, tz, np.zeros(len(texts), dtype=np.int8), want_info)
    assert (got is None) == (want is None)
    if got is not None:
        assert np.array_equal(got.values, want.values, equal_nan=True)
        assert got.reason.tolist() == want.reason.tolist() and got.epoch == want.epoch
    assert got_info == want_info


@PROPERTY
@given(texts=st.lists(_TIME_TEXTS, min_size=1, max_size=12), tz=st.sampled_from(["UTC", "Asia/Shanghai"]),
       kind=st.sampled_from([None, "epoch", "datetime-string"]))
def test_text_times_cast_as_they_stand_give_what_the_careful_parse_gives(texts, tz, kind):
    # a batch is first cast with no trimming and no token look-up; that shortcut may only decline,
    # never change a time, a reason or what the column is found to hold
    from kocgraph._core import validation as v

    s = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(texts, pa.string())))
    start = {} if kind is None else {"kind": kind}
    got_info = dict(start)
    got = v.time_chunk(s, tz=tz, info=got_info, missing_tokens=True)
    careful = v._arrow_text_times
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(v, "_arrow_text_times", lambda *a, as_is=False, **k: None if as_is else careful(*a, **k))
        want_info = dict(start)
        want = v.time_chunk(s, tz=tz, info=want_info, missing_tokens=True)
    assert np.array_equal(got.values, want.values, equal_nan=True)
    assert got.reason.tolist() == want.reason.tolist() and got.epoch == want.epoch
    assert got_info == want_info


def test_text_times_known_answers_of_the_shortcut():
    from kocgraph._core import validation as v

    def chunk(texts):
        info: dict = {}
        c = v.time_chunk(pd.Series(pd.arrays.ArrowExtensionArray(pa.array(texts, pa.string()))), tz="UTC",
                         info=info, missing_tokens=True)
        return c.values.tolist(), c.reason.tolist(), info.get("kind")

    assert chunk(["1700000000", "1700000001"]) == ([1700000000, 1700000001], [0, 0], "epoch")
    # a token among integers: the careful parse, which calls it a missing time
    vals, why, kind = chunk(["1700000000", "NA"])
    assert vals[0] == 1700000000 and why == [0, v.REASON_CODES["null_time"]] and kind == "epoch"
    vals, why, kind = chunk(["2026-03-01T14:23:15Z", "2026-03-01T14:23:16Z"])
    want = [pd.Timestamp("2026-03-01T14:23:15Z").value, pd.Timestamp("2026-03-01T14:23:16Z").value]
    assert vals == want and why == [0, 0] and kind == "datetime-string"
