"""``ShareGraph``: one object holding a validated forwarding log and everything computed from it."""

from __future__ import annotations

import copy as _copy
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..algorithms._parallel import side_by_side
from ..algorithms._sort import sort_with_order
from ..exceptions import InvalidParameterError, LogSchemaError, NodeNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    import igraph
    import networkx as nx

__all__ = ["ShareGraph", "Codes", "utc_times"]

_UTC = pd.DatetimeTZDtype(tz="UTC")


def utc_times(ns: np.ndarray) -> pd.DatetimeIndex:
    """Nanoseconds since the epoch (int64; the int64 minimum is NaT) as UTC times: what
    ``pd.to_datetime(ns, unit="ns", utc=True)`` gives, without its unit-conversion path (a tenth of
    the time).

    >>> utc_times(np.array([0, 1_500_000_000 * 10**9])).strftime("%Y-%m-%d %H:%M").tolist()
    ['1970-01-01 00:00', '2017-07-14 02:40']
    """
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]"), dtype=_UTC)


_FAST_DTYPE = getattr(pd.CategoricalDtype, "_from_fastpath", None)  # see _code_dtype


def _code_dtype(ids: pd.Index, *, distinct: bool) -> pd.CategoricalDtype:
    """The categorical dtype of codes into ``ids``. When the caller vouches that the ids are
    ``distinct`` and none is missing (the read's own dictionaries, or a graph's index), pandas'
    check of both, a hash of every id (about 10 ms per 100k ids), is left out through
    ``CategoricalDtype._from_fastpath`` (pandas' own constructor for categories it already knows
    to be valid; the public constructor is used when a pandas version lacks it)."""
    fast = _FAST_DTYPE if distinct else None
    if fast is None:
        return pd.CategoricalDtype(ids, ordered=False)
    return fast(ids, ordered=False)  # type: ignore[no-any-return]



@dataclass(frozen=True, repr=False)
class Codes:
    """Read-only integer views of the topology that every kernel works on.

    ``src``/``tgt`` are user codes (row ``i`` of ``g.nodes``), ``item`` item codes (row of ``g.items``),
    ``time`` int64 nanoseconds since the epoch (UTC), ``edge`` the row of ``g.edges`` of each event,
    ``edge_src``/``edge_tgt`` the user codes of each edge.
    """

    src: np.ndarray
    tgt: np.ndarray
    item: np.ndarray
    time: np.ndarray
    edge: np.ndarray
    edge_src: np.ndarray
    edge_tgt: np.ndarray

    def __repr__(self) -> str:
        return f"Codes(n_events={self.src.shape[0]}, n_edges={self.edge_src.shape[0]})"


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


class ShareGraph:
    """A forwarding log and the share graph built from it, with aligned result tables.

    Build one with :func:`kocgraph.read_log` or :func:`kocgraph.read_adoptions`; do not call the
    constructor directly.

    Attributes
    ----------
    events : DataFrame
        The canonical, validated log: ``source``, ``target`` (categoricals over the user ids),
        ``item`` (categorical over the item ids), ``time`` (UTC), ``row`` (row number in the input),
        and ``event_type``, ``channel``, ``value`` when the log has them. Read-only.
    nodes : DataFrame
        One row per user, indexed by user id (as given). Per-user results are columns here.
    items : DataFrame
        One row per item, indexed by item id. Per-cascade results are columns here.
    edges : DataFrame
        One row per distinct ``source -> target`` pair, sorted by (source, target) code:
        ``n_forwards``, ``n_items``, ``first_time``, ``last_time``; results are added as columns.
    trees : DataFrame or None
        After :func:`kocgraph.tl.cascades`: one row per (item, holder) of every cascade forest. Built
        from the cascade forest when first read, then kept (it is never built when never read).
    tables : dict of DataFrame
        Results that are not aligned to users, items or edges (routes, seeds), by key; user ids in
        them are codes (row numbers of ``nodes``): read them through ``kg.get``.
    meta : dict
        Parameters and non-tabular results of every step, and the ingest report ``meta["read_log"]``.

    Examples
    --------
    >>> import kocgraph as kg
    >>> g = kg.datasets.toy()
    >>> g.n_users, g.n_items, g.n_events
    (17, 3, 30)
    >>> g.adjacency().shape
    (17, 17)
    """

    def __init__(
        self,
        events: pd.DataFrame,
        nodes: pd.DataFrame,
        items: pd.DataFrame,
        edges: pd.DataFrame,
        codes: Codes,
        meta: dict[str, Any],
        rejected: pd.DataFrame | None = None,
        trees: pd.DataFrame | None = None,
        tables: dict[str, pd.DataFrame] | None = None,
    ) -> None:
        self._events = events
        self.nodes = nodes
        self.items = items
        self.edges = edges
        self._codes = codes
        self.meta = meta
        self._rejected = rejected
        self._trees = trees
        self._trees_view: tuple[Callable[[], pd.DataFrame], int] | None = None  # (build, rows) until read
        self.tables: dict[str, pd.DataFrame] = dict(tables or {})
        self._forest: Any = None
        self._adj_cache: dict[Any, sp.csr_matrix] = {}
        self._igraph: Any = None
        self._cache: dict[str, Any] = {}  # topology-derived views (immutable topology keeps them valid)

    # ------------------------------------------------------------------ construction
    @classmethod
    def _from_codes(
        cls,
        src: np.ndarray,
        tgt: np.ndarray,
        item: np.ndarray,
        time_ns: np.ndarray,
        users: pd.Index,
        item_ids: pd.Index,
        *,
        row: np.ndarray,
        extra: dict[str, Any] | None = None,
        meta: dict[str, Any] | None = None,
        rejected: pd.DataFrame | None = None,
        compact: bool = True,
        edges: EdgeTable | None = None,
        distinct_ids: bool = False,
    ) -> ShareGraph:
        """Build from validated code arrays. ``compact`` drops users/items with no event.

        ``distinct_ids``: the caller vouches that ``users`` and ``item_ids`` hold distinct, non-missing
        ids and that every code is a row of them (its own dictionaries), so pandas need not check
        either (see :func:`_code_dtype`).

        ``edges``, when the caller grouped these very events already (``read_log`` does, to find
        duplicates), is their :class:`EdgeTable` in the uncompacted user codes."""
        # int32 codes throughout (a log has fewer than 2**31 users and items); no int64 copies
        src = np.asarray(src, dtype=np.int32)
        tgt = np.asarray(tgt, dtype=np.int32)
        item = np.asarray(item, dtype=np.int32)
        if compact:
            used = np.zeros(len(users), dtype=bool)
            used[src] = True
            used[tgt] = True
            if not used.all():
                remap = (np.cumsum(used) - 1).astype(np.int32)
                src, tgt = remap[src], remap[tgt]
                users = users[used]
                if edges is not None:  # a monotone relabelling keeps the edges' order
                    edges = edges._replace(src=remap[edges.src], tgt=remap[edges.tgt])
            used_i = np.zeros(len(item_ids), dtype=bool)
            used_i[item] = True
            if not used_i.all():
                item = (np.cumsum(used_i) - 1).astype(np.int32)[item]
                item_ids = item_ids[used_i]
        n_users = len(users)
        users = pd.Index(users, name="user", tupleize_cols=False)
        item_ids = pd.Index(item_ids, name="item", tupleize_cols=False)
        src32, tgt32, item32 = src, tgt, item
        time_ns = np.asarray(time_ns, dtype=np.int64)

        # edges, sorted by (source, target): their order is the CSR data order
        if edges is None:
            edges = aggregate_edges(src, tgt, item, time_ns, n_users, len(item_ids))
        eidx, e_src, e_tgt, n_fw, n_it, first, last, _ = edges

        ucat = _code_dtype(users, distinct=distinct_ids)
        icat = _code_dtype(item_ids, distinct=distinct_ids)
        times = utc_times(time_ns)
        time_ns = np.asarray(times.asi8)  # the events' own buffer: one copy of the times, not two
        ev: dict[str, Any] = {
            "source": pd.Categorical.from_codes(src32, dtype=ucat, validate=not distinct_ids),
            "target": pd.Categorical.from_codes(tgt32, dtype=ucat, validate=not distinct_ids),
            "item": pd.Categorical.from_codes(item32, dtype=icat, validate=not distinct_ids),
            "time": times,
        }
        for k, v in (extra or {}).items():
            ev[k] = v
        ev["row"] = np.asarray(row, dtype=np.int64)
        events = pd.DataFrame(ev, copy=False)  # the columns are the arrays above, shared with Codes
        edges = pd.DataFrame(
            {
                "source": pd.Categorical.from_codes(e_src, dtype=ucat, validate=not distinct_ids),
                "target": pd.Categorical.from_codes(e_tgt, dtype=ucat, validate=not distinct_ids),
                "n_forwards": n_fw,
                "n_items": n_it.astype(np.int64),
                "first_time": utc_times(first),
                "last_time": utc_times(last),
            },
            copy=False,
        )
        nodes = pd.DataFrame(index=users)
        items = pd.DataFrame(index=item_ids)
        codes = Codes(
            src=_readonly(src32),
            tgt=_readonly(tgt32),
            item=_readonly(item32),
            time=_readonly(time_ns),
            edge=_readonly(eidx),
            edge_src=_readonly(e_src),
            edge_tgt=_readonly(e_tgt),
        )
        return cls(events, nodes, items, edges, codes, dict(meta or {}), rejected)

    # ------------------------------------------------------------------ basic facts
    @property
    def events(self) -> pd.DataFrame:
        """The canonical validated log (a read-only view: do not modify it in place)."""
        return self._events

    @property
    def codes(self) -> Codes:
        """Integer code arrays of the topology (read-only); see :class:`Codes`."""
        return self._codes

    @property
    def trees(self) -> pd.DataFrame | None:
        """After :func:`kocgraph.tl.cascades`: one row per (item, holder) of every cascade forest
        (``None`` before). Built from the forest when first read, then kept like any table."""
        if self._trees is None and self._trees_view is not None:
            self._trees = self._trees_view[0]()
            self._trees_view = None
        return self._trees

    @trees.setter
    def trees(self, value: pd.DataFrame | None) -> None:
        self._trees = value
        self._trees_view = None

    def _set_trees_view(self, build: Callable[[], pd.DataFrame], n_rows: int) -> None:
        """Make ``g.trees`` the table ``build()`` returns (``n_rows`` rows), built when first read."""
        self._trees = None
        self._trees_view = (build, int(n_rows))

    @property
    def n_users(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.items.shape[0])

    @property
    def n_events(self) -> int:
        return int(self._codes.src.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self._codes.edge_src.shape[0])

    @property
    def has_time(self) -> bool:
        """False when the log had no time column (row order then stands in for time)."""
        return bool(self.meta.get("read_log", {}).get("has_time", True))

    @property
    def time_span(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        if self.n_events == 0 or not self.has_time:
            return None
        t = self._codes.time
        return (pd.Timestamp(int(t.min()), unit="ns", tz="UTC"), pd.Timestamp(int(t.max()), unit="ns", tz="UTC"))

    # ------------------------------------------------------------------ lookups
    def user_codes(self, users: Any, *, what: str = "user") -> np.ndarray:
        """Codes of the given user ids; raises :class:`NodeNotFoundError` naming any missing ones."""
        return _lookup(self.nodes.index, users, what=what)

    def item_codes(self, items: Any) -> np.ndarray:
        """Codes of the given item ids; raises :class:`NodeNotFoundError` naming any missing ones."""
        return _lookup(self.items.index, items, what="item")

    # ------------------------------------------------------------------ views
    def adjacency(self, weight: str | None = "n_forwards", *, dtype: Any = np.float64) -> sp.csr_matrix:
        """The share graph as a CSR matrix ``A[u, v]`` for the edge ``u -> v`` (users in node order).

        The data array is in ``g.edges`` row order. Cached for the topology weights (None,
        ``n_forwards``, ``n_items``); do not modify the result.

        Parameters
        ----------
        weight
            A numeric column of ``g.edges`` (default ``"n_forwards"``), or ``None`` for ones.

        Examples
        --------
        >>> import kocgraph as kg
        >>> g = kg.datasets.toy()
        >>> A = g.adjacency()
        >>> int(A.sum()) == g.n_events
        True
        """
        key = (weight, np.dtype(dtype).str)
        if key in self._adj_cache:
            return self._adj_cache[key]
        if weight is None:
            data = np.ones(self.n_edges, dtype=dtype)
        else:
            if weight not in self.edges.columns:
                raise InvalidParameterError(
                    f"weight={weight!r} is not a column of g.edges; columns are {list(self.edges.columns)}. "
                    "Pass weight='n_forwards', weight=None, or a column a kg.tl tool has written."
                )
            data = self.edges[weight].to_numpy(dtype=dtype, na_value=0)
        n = self.n_users
        if "indptr" not in self._cache:
            counts = np.bincount(self._codes.edge_src, minlength=n)
            self._cache["indptr"] = _readonly(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
            self._cache["indices"] = _readonly(self._codes.edge_tgt.astype(np.int32, copy=False))  # shared
        A = sp.csr_matrix((data, self._cache["indices"], self._cache["indptr"]), shape=(n, n))
        A.has_sorted_indices = True
        if weight in (None, "n_forwards", "n_items"):  # topology-derived: immutable, safe to cache
            self._adj_cache[key] = A
        return A

    def to_igraph(self) -> igraph.Graph:
        """A directed igraph view: vertex ``i`` is user code ``i`` (attribute ``name``: the user id as
        str), edge ``j`` is row ``j`` of ``g.edges``, and every column of ``g.nodes`` and ``g.edges`` is a
        vertex or edge attribute, ``g.items`` the graph attribute ``items`` (``{item: {column: value}}``).

        The topology is built once and cached; each call sets the attributes afresh from the current
        tables. Values are plain Python (see :mod:`kocgraph.io.export`); a missing number is ``nan``,
        a missing label ``None``.

        Examples
        --------
        >>> import kocgraph as kg
        >>> g = kg.datasets.toy()
        >>> kg.tl.cascades(g)
        >>> G = g.to_igraph()
        >>> G.ecount(), G.vs.find(name="alice")["reach"]
        (24, 16)
        """
        if self._igraph is None:
            import igraph as ig

            ge = ig.Graph(n=self.n_users, directed=True)
            ge.add_edges(np.column_stack([self._codes.edge_src, self._codes.edge_tgt]))
            ge.vs["name"] = [str(u) for u in self.nodes.index]
            self._igraph = ge
        from .interop import refresh_igraph

        return refresh_igraph(self, self._igraph)

    def to_networkx(self, *, weight: str = "n_forwards") -> nx.DiGraph:
        """A networkx DiGraph keyed by user id, with every column of ``g.nodes`` on the nodes, every
        column of ``g.edges`` on the edges (plus ``weight`` from ``g.edges[weight]``), and ``g.items``
        as the graph attribute ``items`` (``{item: {column: value}}``).

        Values are plain Python that networkx and GraphML accept; a missing value is left out of that
        node's or edge's attributes (see :mod:`kocgraph.io.export`). Meant for cross-checks, small
        graphs and export; it is slow beyond a few 100k edges. ``kg.write(g, "map.graphml")`` writes
        the same to a file for Gephi.

        Examples
        --------
        >>> import kocgraph as kg
        >>> g = kg.datasets.toy()
        >>> kg.tl.cascades(g)
        >>> G = g.to_networkx()
        >>> G.number_of_edges(), G.nodes["alice"]["reach"], G.graph["items"]["poster"]["size"]
        (24, 16, 10)
        """
        from .interop import to_networkx

        return to_networkx(self, weight)

    # ------------------------------------------------------------------ new graphs
    def _select_events(self, mask: np.ndarray, why: dict[str, Any]) -> ShareGraph:
        ev = self._events
        extra = {c: ev[c].to_numpy()[mask] if c == "value" else ev[c][mask].reset_index(drop=True)
                 for c in ("event_type", "channel", "value") if c in ev.columns}
        meta = {"read_log": _copy.deepcopy(self.meta.get("read_log", {})), "derived_from": why}
        c = self._codes
        return ShareGraph._from_codes(
            c.src[mask], c.tgt[mask], c.item[mask], c.time[mask], self.nodes.index, self.items.index,
            row=ev["row"].to_numpy()[mask], extra=extra, meta=meta, rejected=None, distinct_ids=True,
        )

    def window(self, start: Any = None, end: Any = None) -> ShareGraph:
        """A new graph of the events with ``start <= time < end`` (either bound may be None).

        Results computed on this graph are not carried over: rerun the tools on the window.

        Examples
        --------
        >>> import kocgraph as kg
        >>> g = kg.datasets.toy()
        >>> g.window(end="2026-01-01T10:30:00Z").n_events
        16
        """
        if not self.has_time:
            raise InvalidParameterError(
                "g.window needs event times, but this log was read without a time column. "
                "Pass time='<column>' to kg.read_log."
            )
        t = self._codes.time
        mask = np.ones(t.shape[0], dtype=bool)
        bounds = {}
        for name, val, op in (("start", start, np.greater_equal), ("end", end, np.less)):
            if val is None:
                continue
            ts = _to_utc_timestamp(val, name)
            mask &= op(t, ts.value)
            bounds[name] = ts.isoformat()
        return self._select_events(mask, {"op": "window", **bounds})

    def subgraph(self, users: Any) -> ShareGraph:
        """A new graph of the events whose source and target are both among ``users``.

        Examples
        --------
        >>> import kocgraph as kg
        >>> g = kg.datasets.toy()
        >>> g.subgraph(["brand", "alice", "bob"]).n_users
        3
        """
        codes = self.user_codes(users)
        keep = np.zeros(self.n_users, dtype=bool)
        keep[codes] = True
        mask = keep[self._codes.src] & keep[self._codes.tgt]
        return self._select_events(mask, {"op": "subgraph", "n_users_requested": int(len(codes))})

    def copy(self) -> ShareGraph:
        """A copy sharing the immutable topology, with its own result tables and meta."""
        new = ShareGraph(
            self._events, self.nodes.copy(), self.items.copy(), self.edges.copy(), self._codes,
            _copy.deepcopy(self.meta), self._rejected, None if self._trees is None else self._trees.copy(),
            {k: v.copy() for k, v in self.tables.items()},
        )
        new._trees_view = self._trees_view  # an unread view stays unread (it builds a new table)
        new._forest = self._forest
        new._igraph = self._igraph
        new._cache = self._cache
        new._adj_cache = self._adj_cache
        return new

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Check that topology and tables are consistent; raise :class:`LogSchemaError` if not.

        Examples
        --------
        >>> import kocgraph as kg
        >>> kg.datasets.toy().validate()
        """
        c = self._codes
        problems = []
        n, m = self.n_users, self.n_items
        if not (c.src.shape == c.tgt.shape == c.item.shape == c.time.shape == c.edge.shape):
            problems.append("event code arrays differ in length")
        if len(self._events) != c.src.shape[0]:
            problems.append(f"events has {len(self._events)} rows but codes have {c.src.shape[0]}")
        if c.src.size and (c.src.min() < 0 or c.src.max() >= n or c.tgt.min() < 0 or c.tgt.max() >= n):
            problems.append("a user code is out of range")
        if c.item.size and (c.item.min() < 0 or c.item.max() >= m):
            problems.append("an item code is out of range")
        if np.any(c.src == c.tgt):
            problems.append("a self-forward is present")
        if not self.nodes.index.is_unique:
            problems.append("user ids are not unique")
        if not self.items.index.is_unique:
            problems.append("item ids are not unique")
        if len(self.edges) != c.edge_src.shape[0]:
            problems.append("edges table and edge codes differ in length")
        if c.edge.size and (c.edge_src[c.edge] != c.src).any():
            problems.append("event -> edge mapping is inconsistent")
        ek = c.edge_src.astype(np.int64) * max(n, 1) + c.edge_tgt
        if ek.size > 1 and not np.all(ek[1:] > ek[:-1]):
            problems.append("edges are not sorted and unique by (source, target)")
        rep = self.meta.get("read_log")
        if rep and rep.get("rows_read") is not None and (
                rep["rows_accepted"] + rep["rows_rejected"] != rep["rows_read"]):
            problems.append("ingest report does not add up: accepted + rejected != read")
        if problems:
            raise LogSchemaError(
                "ShareGraph.validate found problems: " + "; ".join(problems)
                + ". Rebuild the graph with kg.read_log; do not edit g.events or the codes in place."
            )

    # ------------------------------------------------------------------ repr
    def _summary_lines(self) -> list[str]:
        span = self.time_span
        lines = [f"ShareGraph with {self.n_users:,} users, {self.n_items:,} items, "
                 f"{self.n_events:,} events, {self.n_edges:,} edges"]
        if span is not None:
            lines.append(f"    time: {span[0].isoformat()} .. {span[1].isoformat()}")
        elif not self.has_time:
            lines.append("    time: none (row order)")
        rep = self.meta.get("read_log")
        if rep and rep.get("rows_read") is not None:
            lines.append(f"    ingest: {rep['rows_read']:,} rows read, {rep['rows_accepted']:,} accepted, "
                         f"{rep['rows_rejected']:,} rejected")
        for name in ("events", "nodes", "items", "edges"):
            cols = [c for c in getattr(self, name).columns]
            lines.append(f"    {name}: {', '.join(map(str, cols)) if cols else '-'}")
        n_trees = len(self._trees) if self._trees is not None else (self._trees_view or (None, None))[1]
        if n_trees is not None:
            lines.append(f"    trees: {n_trees:,} holders")
        if self.tables:
            lines.append(f"    tables: {', '.join(self.tables)}")
        keys = [k for k in self.meta if k != "read_log"]
        lines.append(f"    meta: {', '.join(['read_log'] * ('read_log' in self.meta) + keys) or '-'}")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._summary_lines())

    def _repr_html_(self) -> str:
        lines = self._summary_lines()
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(ln.split(':', 1)[0].strip())}</th>"
            f"<td style='text-align:left'>{html.escape(ln.split(':', 1)[1].strip())}</td></tr>"
            for ln in lines[1:]
        )
        return f"<div><b>{html.escape(lines[0])}</b><table>{rows}</table></div>"


class EdgeTable(NamedTuple):
    """Events grouped into edges (see :func:`aggregate_edges`)."""

    eidx: np.ndarray  #: edge of each event
    src: np.ndarray  #: int32 edge sources (edges sorted by source, then target)
    tgt: np.ndarray  #: int32 edge targets
    n_forwards: np.ndarray  #: events per edge
    n_items: np.ndarray  #: distinct items per edge
    first: np.ndarray  #: first event time per edge
    last: np.ndarray  #: last event time per edge
    repeated: np.ndarray  #: events whose (source, target, item) occurs more than once, ascending

    def without(self, drop: np.ndarray) -> EdgeTable:
        """The table of the events left after dropping the events ``drop`` (a boolean mask), each of
        which repeats the (source, target, item, time) of a kept event: counts of forwards fall, and
        nothing else changes (the kept twin holds the same item and time on the same edge)."""
        if not drop.any():
            return self
        fewer = np.bincount(self.eidx[drop], minlength=self.n_forwards.shape[0])
        return self._replace(eidx=self.eidx[~drop], n_forwards=self.n_forwards - fewer,
                             repeated=np.empty(0, dtype=np.int64))


def aggregate_edges(src: np.ndarray, tgt: np.ndarray, item: np.ndarray, time_ns: np.ndarray, n_users: int,
                     n_items: int) -> EdgeTable:
    """Events grouped into edges by one stable sort on (source, target).

    Gives the edge of each event, the edge endpoints (edges sorted by source, then target), forwards
    per edge, distinct items per edge (from a sort of the (edge, item) values alone), each edge's
    first and last event time, and the events whose (source, target, item) repeats: the only
    candidates for exact duplicates, so ``read_log`` needs no pass of its own to find them.
    """
    N, M = np.int64(max(n_users, 1)), np.int64(max(n_items, 1))
    if src.shape[0] == 0:
        z = np.empty(0, dtype=np.int64)
        return EdgeTable(z, z.astype(np.int32), z.astype(np.int32), z, z, z, z, z)
    key = src.astype(np.int64, copy=False) * N + tgt
    ks, order = sort_with_order(key, max_key=int(N) * int(N) - 1)
    del key
    new_edge = np.empty(ks.shape[0], dtype=bool)
    new_edge[0] = True
    np.not_equal(ks[1:], ks[:-1], out=new_edge[1:])
    edge_sorted = np.cumsum(new_edge, dtype=np.int64) - 1
    starts = np.flatnonzero(new_edge)
    m = starts.shape[0]
    ekeys = ks[starts]
    del ks, new_edge
    n_fw = np.diff(np.r_[starts, order.shape[0]]).astype(np.int64)

    def items_per_edge() -> tuple[np.ndarray, np.ndarray]:
        """Distinct items per edge, and the events whose (edge, item) pair repeats."""
        its = item[order]
        if float(m) * float(M) < 9.0e18:
            pairs, o2 = sort_with_order(edge_sorted * M + its, max_key=int(m) * int(M) - 1)
            distinct = np.empty(pairs.shape[0], dtype=bool)
            distinct[0] = True
            np.not_equal(pairs[1:], pairs[:-1], out=distinct[1:])
            n_it = np.bincount(pairs[distinct] // M, minlength=m).astype(np.int64)
        else:  # pragma: no cover - astronomically many edges x items
            o2 = np.lexsort((its, edge_sorted))
            e2, i2 = edge_sorted[o2], its[o2]
            distinct = np.r_[True, (e2[1:] != e2[:-1]) | (i2[1:] != i2[:-1])]
            n_it = np.bincount(e2[distinct], minlength=m).astype(np.int64)
        # a position repeats its pair when it is not distinct, or when the next one is not
        rep = ~distinct
        rep[:-1] |= rep[1:]
        return n_it, np.sort(order[o2[rep]])

    def times_per_edge() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The edge of each event (int32), and each edge's first and last time."""
        eidx = np.empty(edge_sorted.shape[0], dtype=np.int32)
        eidx[order] = edge_sorted
        ts = time_ns[order]
        return eidx, np.minimum.reduceat(ts, starts), np.maximum.reduceat(ts, starts)

    (n_it, repeated), (eidx, first, last) = side_by_side(items_per_edge, times_per_edge)
    return EdgeTable(eidx, (ekeys // N).astype(np.int32), (ekeys % N).astype(np.int32), n_fw, n_it, first, last,
                     repeated)


def _lookup(index: pd.Index, values: Any, *, what: str) -> np.ndarray:
    if isinstance(values, (str, bytes, int, np.integer)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        return np.empty(0, dtype=np.int64)
    # compare ids exactly as given: never cast them to the graph's dtype (the str "5" is not the int 5,
    # and casting "abc" to int64 would raise an obscure pandas error)
    vals = pd.Index(values, tupleize_cols=False)
    if not (vals.dtype.kind in "iu" and index.dtype.kind in "iu"):
        vals = vals.astype(object)
    codes = index.get_indexer(vals) if len(index) else np.full(len(values), -1)
    if (codes < 0).any():
        missing = [values[i] for i in np.flatnonzero(codes < 0)[:5]]
        n_miss = int((codes < 0).sum())
        hint = ""
        sample = list(index[:3])
        if sample and type(sample[0]) is not type(missing[0]):
            hint = (f" Note the types: graph ids look like {type(sample[0]).__name__} (e.g. {sample[0]!r}) "
                    f"but you passed {type(missing[0]).__name__}.")
        raise NodeNotFoundError(
            f"{n_miss} {what} id(s) not in the graph, e.g. {missing!r}.{hint} "
            f"Check the ids against g.{'nodes' if what != 'item' else 'items'}.index."
        )
    return codes.astype(np.int64)


def _to_utc_timestamp(val: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(val)
    except (ValueError, TypeError) as err:
        raise InvalidParameterError(
            f"{name}={val!r} is not a time; pass an ISO string like '2026-01-31T08:00:00Z' or a pandas Timestamp."
        ) from err
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC")
