"""House rule 4: one signature shape and one contract, enforced over every public function.

- every public module imports (an ImportError fails here, it is never skipped);
- ``g`` first for every ``pp``/``tl``/``get``/``pl``/``evaluate`` function; at most three positional
  parameters, the rest keyword-only; ``tl`` tools take ``copy``;
- every public function has a return annotation, an Examples section (run as a doctest in CI) and
  documents every parameter in its numpydoc ``Parameters`` section;
- randomness is found by running each function (every numpy Generator and ``random.Random`` made
  during the call is counted) and by reading its body: a function that uses it takes ``rng``, and
  the same seed twice gives identical output;
- a function that writes into the graph takes ``key_added``: every column, table and meta key it
  writes carries the key, ``g.meta[key_added]`` lists exactly what it wrote, and a second run under
  another key leaves the first run's outputs untouched;
- every NotComputedError is built by ``_core.tools.not_computed`` (one wording, the exact call).
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import random
import re
from collections.abc import Callable
from typing import Any

import matplotlib
import matplotlib.artist
import matplotlib.axes
import matplotlib.figure
import numpy as np
import pandas as pd
import pytest

import kocgraph as kg
from kocgraph._core.tools import DEFAULT_KEYS

matplotlib.use("Agg")
import matplotlib.pyplot as plt

G_MODULES = ["pp", "tl", "get", "pl", "evaluate"]
MODULES = G_MODULES + ["io"]
SHARED_NAMES = {"weight", "key", "key_added", "rng", "n", "k", "method", "flavor", "copy"}
STAFF = ["brand", "staff_li"]


def _public(modname: str) -> list[tuple[str, Any]]:
    mod = importlib.import_module(f"kocgraph.{modname}")  # an ImportError fails the collection: never swallowed
    names = getattr(mod, "__all__", [])
    return [(f"kg.{modname}.{n}", getattr(mod, n)) for n in names if inspect.isfunction(getattr(mod, n))]


ALL = [item for m in G_MODULES for item in _public(m)]
IO = _public("io")
DATASETS = [("kg.datasets.synthetic", kg.datasets.synthetic), ("kg.datasets.synthetic_frame", kg.datasets.synthetic_frame)]
TOP = [(f"kg.{n}", getattr(kg, n)) for n in ("read_log", "read_adoptions", "read", "write")]
EVERY = ALL + IO  # the modules whose shape is checked; the dataset generators only for rng
ids = [n for n, _ in ALL]


def test_every_module_imports_and_lists_functions() -> None:
    for m in MODULES:
        assert _public(m), f"kg.{m} lists no public function in __all__"


@pytest.mark.parametrize("name,fn", ALL, ids=ids)
def test_graph_first_and_few_positionals(name: str, fn: Any) -> None:
    params = list(inspect.signature(fn).parameters.values())
    assert params and params[0].name == "g", f"{name}: first parameter must be g, got {params[:1]}"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    assert len(positional) <= 3, f"{name}: {len(positional)} positional parameters (max 3): {positional}"


@pytest.mark.parametrize("name,fn", [x for x in ALL if x[0].startswith("kg.tl.")], ids=lambda x: str(x))
def test_tools_take_copy_and_key_added(name: str, fn: Any) -> None:
    params = inspect.signature(fn).parameters
    assert "copy" in params, f"{name} must take copy="
    assert params["copy"].kind is inspect.Parameter.KEYWORD_ONLY
    assert "key_added" in params, f"{name} writes into the graph and must take key_added="


@pytest.mark.parametrize("name,fn", ALL + TOP, ids=[n for n, _ in ALL + TOP])
def test_has_examples(name: str, fn: Any) -> None:
    doc = inspect.getdoc(fn) or ""
    assert "Examples" in doc and ">>>" in doc, f"{name} has no runnable Examples section"


@pytest.mark.parametrize("name,fn", EVERY, ids=[n for n, _ in EVERY])
def test_return_annotation(name: str, fn: Any) -> None:
    assert inspect.signature(fn).return_annotation is not inspect.Signature.empty, f"{name} has no return annotation"


def documented(doc: str) -> set[str]:
    """Parameter names of a numpydoc ``Parameters`` section (``a, b : type`` lines count each name)."""
    m = re.search(r"^Parameters\n-{3,}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc, re.S | re.M)
    names: set[str] = set()
    for line in (m.group(1) if m else "").splitlines():
        hit = re.match(r"^(\**[A-Za-z_]\w*(?:\s*,\s*\**[A-Za-z_]\w*)*)\s*(?::.*)?$", line)
        if hit:
            names |= {x.strip().lstrip("*") for x in hit.group(1).split(",")}
    return names


def test_documented_reads_numpydoc() -> None:
    doc = "Intro.\n\nParameters\n----------\ng\n    The graph.\na, b : int\n    Two.\n**kw\n    More.\n\nReturns\n-------\nx\n"
    assert documented(doc) == {"g", "a", "b", "kw"}


@pytest.mark.parametrize("name,fn", EVERY, ids=[n for n, _ in EVERY])
def test_every_parameter_documented(name: str, fn: Any) -> None:
    missing = [p for p in inspect.signature(fn).parameters if p not in documented(inspect.getdoc(fn) or "")]
    assert not missing, f"{name}: parameters not in its docstring's Parameters section: {missing}"


def test_shared_names_are_keyword_only_where_present() -> None:
    for name, fn in ALL:
        for p in inspect.signature(fn).parameters.values():
            if p.name in SHARED_NAMES - {"n", "k"}:
                assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: {p.name} must be keyword-only"


def test_default_keys_match_the_signatures() -> None:
    for tool, key in DEFAULT_KEYS.items():
        mod, name = tool.split(".")
        fn = getattr(importlib.import_module(f"kocgraph.{mod}"), name)
        assert inspect.signature(fn).parameters["key_added"].default == key, tool
    writers = {n.removeprefix("kg.") for n, f in ALL if "key_added" in inspect.signature(f).parameters}
    assert writers == set(DEFAULT_KEYS)


def test_one_not_computed_builder() -> None:
    root = pathlib.Path(kg.__file__).parent
    hits = [f"{p.relative_to(root)}:{i}" for p in root.rglob("*.py") for i, line in
            enumerate(p.read_text().splitlines(), 1) if "NotComputedError(" in line and "class " not in line]
    assert hits == ["_core/tools.py:" + hits[0].split(":")[1]] and len(hits) == 1, hits


# ------------------------------------------------------------------------------------------------ calls
# How to call each public function on the toy log, cheaply: (prepare the graph, call it).
def _toy() -> kg.ShareGraph:
    return kg.datasets.toy()


def _ranked(g: kg.ShareGraph) -> None:
    kg.tl.kocs(g, staff=STAFF, progress=False)


def _ties(g: kg.ShareGraph) -> None:
    kg.tl.tie_strength(g)


def _inputs(g: kg.ShareGraph) -> None:  # what kocs reads, so a kocs run writes its own outputs only
    kg.tl.cascades(g)
    kg.tl.pagerank(g)
    kg.tl.coreness(g)
    kg.tl.communities(g)


def _none(g: kg.ShareGraph) -> None:
    return None


def _all(g: kg.ShareGraph) -> None:
    _ranked(g)
    kg.tl.communities(g)
    kg.tl.routes(g, sources=STAFF, targets=["carol"], k=2)
    kg.tl.attribution(g)
    kg.tl.affinity(g, kg.datasets.toy_items())
    kg.tl.seeds(g, k=1, n_check=0, progress=False)
    kg.evaluate.compare_seeds(g, k=1, n=10, strategies=["degree", "reach"], progress=False)


CALLS: dict[str, tuple[Callable[[kg.ShareGraph], None], Callable[..., Any]]] = {
    "kg.tl.cascades": (_none, lambda g, **kw: kg.tl.cascades(g, **kw)),
    "kg.tl.pagerank": (_none, lambda g, **kw: kg.tl.pagerank(g, **kw)),
    "kg.tl.strength": (_none, lambda g, **kw: kg.tl.strength(g, **kw)),
    "kg.tl.coreness": (_none, lambda g, **kw: kg.tl.coreness(g, **kw)),
    "kg.tl.betweenness": (_none, lambda g, **kw: kg.tl.betweenness(g, method="sampled", epsilon=0.2, delta=0.2,
                                                                   progress=False, **kw)),
    "kg.tl.communities": (_none, lambda g, **kw: kg.tl.communities(g, **kw)),
    "kg.tl.kocs": (_inputs, lambda g, **kw: kg.tl.kocs(g, staff=STAFF, per_community=2, bootstrap=5, progress=False,
                                                       **kw)),
    "kg.tl.tie_strength": (_none, lambda g, **kw: kg.tl.tie_strength(g, method="exposure", **kw)),
    "kg.tl.routes": (lambda g: (_ranked(g), _ties(g)), lambda g, **kw: kg.tl.routes(g, sources=STAFF, k=2, **kw)),
    "kg.tl.attribution": (lambda g: kg.tl.cascades(g), lambda g, **kw: kg.tl.attribution(g, **kw)),
    "kg.tl.affinity": (_none, lambda g, **kw: kg.tl.affinity(g, kg.datasets.toy_items(), **kw)),
    "kg.tl.simulate": (_ties, lambda g, **kw: kg.tl.simulate(g, ["alice"], n=20, progress=False, **kw)),
    "kg.tl.seeds": (_ties, lambda g, **kw: kg.tl.seeds(g, k=2, n_check=20, progress=False, **kw)),
    "kg.get.rejected": (_none, lambda g, **kw: kg.get.rejected(g, **kw)),
    "kg.get.cascade": (_all, lambda g, **kw: kg.get.cascade(g, "coupon", **kw)),
    "kg.get.kocs": (_all, lambda g, **kw: kg.get.kocs(g, n=5, **kw)),
    "kg.get.explain": (_all, lambda g, **kw: kg.get.explain(g, "alice", **kw)),
    "kg.get.communities": (_all, lambda g, **kw: kg.get.communities(g, **kw)),
    "kg.get.routes": (_all, lambda g, **kw: kg.get.routes(g, "carol", **kw)),
    "kg.get.attribution": (_all, lambda g, **kw: kg.get.attribution(g, **kw)),
    "kg.get.profile": (_all, lambda g, **kw: kg.get.profile(g, "judy", **kw)),
    "kg.get.seeds": (_all, lambda g, **kw: kg.get.seeds(g, **kw)),
    "kg.pl.network": (_all, lambda g, **kw: kg.pl.network(g, **kw)),
    "kg.pl.cascade": (_all, lambda g, **kw: kg.pl.cascade(g, "poster", **kw)),
    "kg.pl.reach": (_all, lambda g, **kw: kg.pl.reach(g, **kw)),
    "kg.pl.concentration": (_all, lambda g, **kw: kg.pl.concentration(g, **kw)),
    "kg.pl.ranking": (_all, lambda g, **kw: kg.pl.ranking(g, n=5, **kw)),
    "kg.pl.communities": (_all, lambda g, **kw: kg.pl.communities(g, **kw)),
    "kg.pl.spread": (_all, lambda g, **kw: kg.pl.spread(g, **kw)),
    "kg.pl.backtest": (lambda g: g.meta.update(_table=kg.evaluate.backtest(g, staff=STAFF, k=(2,), progress=False,
                                                                            baselines=("past_reach",))),
                       lambda g, **kw: kg.pl.backtest(g, g.meta["_table"], **kw)),
    "kg.pl.route": (_all, lambda g, **kw: kg.pl.route(g, "carol", **kw)),
    "kg.pl.attribution": (_all, lambda g, **kw: kg.pl.attribution(g, staff=STAFF, **kw)),
    "kg.evaluate.backtest": (_none, lambda g, **kw: kg.evaluate.backtest(g, staff=STAFF, k=(2,), split_by="item",
                                                                         progress=False, **kw)),
    "kg.evaluate.compare_seeds": (_ties, lambda g, **kw: kg.evaluate.compare_seeds(
        g, k=[1, 2], staff=STAFF, n=20, epsilon=0.3, progress=False, **kw)),
    "kg.pp.window": (_none, lambda g, **kw: kg.pp.window(g, "2026-01-01", "2026-01-03", **kw)),
    "kg.pp.keep_users": (_none, lambda g, **kw: kg.pp.keep_users(g, ["alice", "bob", "carol"], **kw)),
    "kg.pp.exclude_users": (_none, lambda g, **kw: kg.pp.exclude_users(g, STAFF, **kw)),
    "kg.pp.event_types": (_none, lambda g, **kw: kg.pp.event_types(g, ["share"], **kw)),
    "kg.pp.min_item_events": (_none, lambda g, **kw: kg.pp.min_item_events(g, 2, **kw)),
}


def test_every_public_function_has_a_call() -> None:
    assert set(CALLS) == {n for n, _ in ALL}


class _Counter:
    """Counts the random generators made while a function runs (numpy Generators, ``random.Random``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        real_rng, real_random = np.random.default_rng, random.Random
        counter = self

        def default_rng(*a: Any, **k: Any) -> np.random.Generator:
            counter.n += 1
            return real_rng(*a, **k)

        class Random(real_random):  # type: ignore[misc, valid-type]
            def __init__(self, *a: Any, **k: Any) -> None:
                counter.n += 1
                super().__init__(*a, **k)

        monkeypatch.setattr(np.random, "default_rng", default_rng)
        monkeypatch.setattr(random, "Random", Random)


def _body(fn: Any) -> str:
    src = inspect.getsource(inspect.unwrap(fn))
    doc = fn.__doc__ or ""
    return src.replace(doc, "") if doc else src


_RANDOM_WORDS = re.compile(r"default_rng|check_rng|random\.|_seed\(|rng=")


@pytest.mark.parametrize("name", sorted(CALLS))
def test_randomness_needs_rng(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fn = dict(ALL)[name]
    takes = "rng" in inspect.signature(fn).parameters
    static = bool(_RANDOM_WORDS.search(_body(fn)))
    prepare, call = CALLS[name]
    g = _toy()
    prepare(g)
    with monkeypatch.context() as m:
        c = _Counter(m)
        call(g)
    plt.close("all")
    assert takes or not (static or c.n), (f"{name} uses randomness ({c.n} generators made while it ran"
                                          f"{', and its body draws' if static else ''}) but takes no rng")


@pytest.mark.parametrize("name,fn", IO + DATASETS, ids=[n for n, _ in IO + DATASETS])
def test_randomness_needs_rng_outside_graph_functions(name: str, fn: Any) -> None:
    if _RANDOM_WORDS.search(_body(fn)):
        assert "rng" in inspect.signature(fn).parameters, f"{name} draws at random but takes no rng"


def _same(a: Any, b: Any, where: str = "") -> None:
    """Deep equality of results: frames, arrays (NaN == NaN), dicts, lists, scalars; Axes are skipped."""
    if isinstance(a, (matplotlib.axes.Axes, matplotlib.artist.Artist, matplotlib.figure.Figure)):
        return
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, (pd.DataFrame, pd.Series)):
        pd.testing.assert_frame_equal(
            a.to_frame() if isinstance(a, pd.Series) else a, b.to_frame() if isinstance(b, pd.Series) else b,
            check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        assert a.shape == b.shape and (np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")), where
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    elif type(a).__module__.startswith("kocgraph") and hasattr(a, "__dict__"):
        _same(vars(a), vars(b), f"{where}.")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _outcome(g: kg.ShareGraph, out: Any) -> dict[str, Any]:
    """What a call produced: its return value (an Axes: what it drew) and the graph after it."""
    res: dict[str, Any] = {"meta": g.meta, "tables": g.tables}
    for f in ("nodes", "items", "edges"):
        res[f] = getattr(g, f)
    if isinstance(out, matplotlib.axes.Axes):
        res["drawn"] = getattr(out, "kocgraph", {})
        res["offsets"] = [np.asarray(c.get_offsets()) for c in out.collections]
    elif isinstance(out, kg.ShareGraph):
        res["returned"] = _outcome(out, None)
    elif out is not None:
        res["returned"] = out
    return res


RANDOM = sorted(n for n, f in ALL if "rng" in inspect.signature(f).parameters)


@pytest.mark.parametrize("name", RANDOM)
def test_same_rng_same_output(name: str) -> None:
    prepare, call = CALLS[name]
    seen = []
    for _ in range(2):
        g = _toy()
        prepare(g)
        seen.append(_outcome(g, call(g, rng=7)))
        plt.close("all")
    _same(seen[0], seen[1], name)


@pytest.mark.parametrize("name,fn", DATASETS, ids=[n for n, _ in DATASETS])
def test_same_rng_same_output_datasets(name: str, fn: Any) -> None:
    a, b = (fn(n_users=200, n_items=20, rng=7) for _ in range(2))
    if isinstance(a, kg.ShareGraph):
        a, b = _outcome(a, None), _outcome(b, None)
    _same(a, b, name)


RANDOM_EXPECTED = {"kg.tl.betweenness", "kg.tl.communities", "kg.tl.kocs", "kg.tl.simulate", "kg.tl.seeds",
                   "kg.pl.network", "kg.pl.cascade", "kg.evaluate.backtest", "kg.evaluate.compare_seeds"}


def test_the_known_random_functions_take_rng() -> None:
    assert set(RANDOM) >= RANDOM_EXPECTED, sorted(RANDOM_EXPECTED - set(RANDOM))


# ------------------------------------------------------------------------------------------------ key_added
def _names(g: kg.ShareGraph) -> dict[str, set[str]]:
    out = {f: set(map(str, getattr(g, f).columns)) for f in ("nodes", "items", "edges")}
    out["tables"], out["meta"] = set(g.tables), set(g.meta)
    return out


def _frames(g: kg.ShareGraph, names: dict[str, set[str]]) -> dict[str, Any]:
    res: dict[str, Any] = {f: getattr(g, f)[sorted(names[f])].copy() for f in ("nodes", "items", "edges")}
    res["tables"] = {t: g.tables[t].copy() for t in sorted(names["tables"])}
    return res


def _prefixed(name: str, key: str) -> bool:
    return name == key or name.startswith(key + "_")


WRITERS = sorted(n for n, f in ALL if "key_added" in inspect.signature(f).parameters)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_only_key_added_functions_write(name: str) -> None:
    prepare, call = CALLS[name]
    g = _toy()
    prepare(g)
    before = _names(g)
    kw = {"key_added": "ka"} if name in WRITERS else {}
    call(g, **kw)
    plt.close("all")
    new = {k: sorted(v - before[k]) for k, v in _names(g).items()}
    if name not in WRITERS:
        assert not any(new.values()), f"{name} takes no key_added but wrote {new}"
        return
    for k, v in new.items():
        bad = [x for x in v if not _prefixed(x, "ka")]
        assert not bad, f"{name}(key_added='ka') wrote {k} without the prefix: {bad}"
    rec = g.meta["ka"]
    assert rec["tool"] == name.removeprefix("kg.")
    recorded = {f: sorted(rec["columns"].get(f, [])) for f in ("nodes", "items", "edges")}
    assert recorded == {f: new[f] for f in ("nodes", "items", "edges")}, f"{name}: record lists {recorded}"
    assert sorted(rec["tables"]) == new["tables"]


@pytest.mark.parametrize("name", WRITERS)
def test_two_keys_leave_both_runs(name: str) -> None:
    prepare, call = CALLS[name]
    g = _toy()
    prepare(g)
    before = _names(g)
    call(g, key_added="ka")
    first = {k: v - before[k] for k, v in _names(g).items()}
    kept = _frames(g, first)
    call(g, key_added="kb")
    second = {k: v - before[k] - first[k] for k, v in _names(g).items()}
    assert all(_prefixed(x, "kb") for v in second.values() for x in v), second
    assert "kb" in g.meta and any(second[f] for f in ("nodes", "items", "edges", "tables")), second
    _same(kept, _frames(g, first), f"{name}: the first run's outputs after a second run under another key")


def test_default_key_writes_canonical_names() -> None:
    # the default keys keep today's names: what every reader finds without a key=
    g = _toy()
    kg.tl.kocs(g, staff=STAFF)
    kg.tl.routes(g, sources=STAFF, k=1)
    assert {"reach", "items_spread", "pagerank", "coreness", "koc_rank", "routes_strength"} <= set(g.nodes.columns)
    assert g.meta["koc"]["inputs"] == {"cascades": "cascades", "pagerank": "pagerank", "coreness": "coreness"}


def test_readers_follow_a_non_default_key() -> None:
    g = _toy()
    kg.tl.communities(g)
    kg.tl.kocs(g, staff=STAFF, key_added="b")
    assert "koc_rank" not in g.nodes.columns
    kg.tl.routes(g, sources=STAFF, targets="kocs", n_kocs=3, kocs_key="b", key_added="rb")
    assert set(g.tables["rb"]["target"]) <= set(np.flatnonzero(g.nodes["b_rank"].fillna(99).to_numpy() <= 3))
    top = kg.get.kocs(g, n=3, key="b")
    assert top["user"].tolist() == g.nodes["b_rank"].dropna().sort_values().index[:3].tolist()
    assert "conversions" in top.columns
    assert kg.get.explain(g, "alice", key="b").attrs["score"] == g.nodes.loc["alice", "b_score"]
    tab = kg.get.communities(g, kocs_key="b")
    best = g.nodes.loc[g.nodes["community"] == 0, "b_score"].fillna(-1).idxmax()
    assert tab.loc[0, "top_users"][0] == best
    assert kg.get.routes(g, top["user"].iloc[0], key="rb")["rank"].tolist()[:1] == [1]
    ax = kg.pl.ranking(g, n=3, key="b")
    assert ax.kocgraph["users"] == top["user"].tolist()
    ax = kg.pl.network(g, kocs_key="b", routes_key="rb", n_kocs=3)
    assert set(ax.kocgraph["highlight"]) == set(top["user"])
    plt.close("all")
    with pytest.raises(kg.NotComputedError, match=r"kg\.tl\.kocs ran on this graph under key 'b'"):
        kg.get.kocs(g)


def test_not_computed_names_the_call_and_what_is_there() -> None:
    g = _toy()
    with pytest.raises(kg.NotComputedError, match=r"Run kg\.tl\.kocs\(g\) first\. No kg\.tl tool has run"):
        kg.get.kocs(g)
    kg.tl.pagerank(g)
    with pytest.raises(kg.NotComputedError, match=r"kg\.tl\.kocs\(g, key_added='x'\).*'pagerank' \(kg\.tl\.pagerank\)"):
        kg.get.kocs(g, key="x")
    with pytest.raises(kg.NotComputedError, match=r"Run kg\.tl\.routes\(g, sources=staff, targets=\['carol'\]\) first"):
        kg.pl.route(g, "carol")
