"""``kg.write`` / ``kg.read``: a ShareGraph to a directory of Parquet files plus JSON, and back, exactly.

No pickle: ids, codes and result tables go to Parquet; ``meta`` and the layout go to ``manifest.json``.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from .._version import __version__
from ..exceptions import InvalidParameterError, LogSchemaError

__all__ = ["write", "read"]

FORMAT = "kocgraph-sharegraph"
FORMAT_VERSION = 1


def _ids_to_frame(idx: pd.Index) -> tuple[pd.DataFrame, str]:
    if idx.dtype.kind in "iu":
        return pd.DataFrame({"id": idx.to_numpy()}), "int"
    vals = idx.to_numpy(dtype=object)
    kinds = np.array(["i" if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else
                      "s" if isinstance(v, str) else "?" for v in vals], dtype=object)
    if (kinds == "?").any():
        bad = vals[kinds == "?"][0]
        raise InvalidParameterError(
            f"kg.write can store string and integer ids, but found {bad!r} ({type(bad).__name__}). "
            "Convert ids to str before kg.read_log."
        )
    if (kinds == "s").all():
        return pd.DataFrame({"id": pd.array(vals, dtype="string")}), "str"
    return pd.DataFrame({"id": [str(v) for v in vals], "kind": kinds.astype(str)}), "mixed"


def _ids_from_frame(df: pd.DataFrame, kind: str, name: str) -> pd.Index:
    if kind == "int":
        return pd.Index(df["id"].to_numpy(), name=name)
    if kind == "str":
        return pd.Index(df["id"].astype(object).to_numpy(), dtype=object, name=name)
    vals = [int(v) if k == "i" else v for v, k in zip(df["id"].astype(object), df["kind"].astype(object))]
    return pd.Index(vals, dtype=object, name=name, tupleize_cols=False)


def _json_exact(vals: list[Any]) -> bool:
    """True when JSON stores these values exactly (str, int, finite float; no bool/None/other)."""
    ok_types = all(type(v) in (str, int, float) for v in vals)
    if not ok_types or any(isinstance(v, float) and not np.isfinite(v) for v in vals):
        return False
    return bool(json.loads(json.dumps(vals)) == vals)


def _cat_out(s: pd.Series) -> tuple[np.ndarray, dict[str, Any]] | None:
    """A categorical as codes plus its categories (in order) for the manifest; None if not JSON-exact."""
    cats = s.cat.categories
    vals = cats.tolist()
    if not _json_exact(vals):
        return None
    return s.cat.codes.to_numpy(), {"categories": vals, "dtype": str(cats.dtype), "ordered": bool(s.cat.ordered)}


def _cat_in(codes: Any, spec: dict[str, Any]) -> pd.Categorical:
    cats = pd.Index(spec["categories"], dtype=spec["dtype"] if spec["categories"] else object)
    return pd.Categorical.from_codes(np.asarray(codes), dtype=pd.CategoricalDtype(cats, ordered=spec["ordered"]))


def _table_out(df: pd.DataFrame, users: pd.Index, items: pd.Index) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Categoricals over users/items become codes (ids are stored once); other categoricals become
    codes with their categories kept (in order) in the manifest."""
    out, kinds = {}, {}
    for c in df.columns:
        s = df[c]
        # the index name tells users from items when both hold the same ids (or are both empty)
        is_cat = isinstance(s.dtype, pd.CategoricalDtype)
        as_item = is_cat and s.cat.categories.equals(items) and s.cat.categories.name == items.name
        if is_cat and not as_item and s.cat.categories.equals(users):
            out[c] = s.cat.codes.to_numpy(); kinds[c] = "user"
        elif is_cat and s.cat.categories.equals(items):
            out[c] = s.cat.codes.to_numpy(); kinds[c] = "item"
        elif isinstance(s.dtype, pd.CategoricalDtype) and (cat := _cat_out(s)) is not None:
            out[c] = cat[0]; kinds[c] = {"kind": "categorical", **cat[1]}
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(object).where(s.notna(), None).astype("string"); kinds[c] = "category"
        else:
            out[c] = s.array  # keeps the dtype (tz-aware times stay typed even when empty)
    return pd.DataFrame(out), kinds


def _table_in(df: pd.DataFrame, kinds: dict[str, Any], users: pd.Index, items: pd.Index) -> pd.DataFrame:
    cols = {}
    for c in df.columns:
        k = kinds.get(c)
        if k == "user":
            cols[c] = pd.Categorical.from_codes(df[c].to_numpy(), dtype=pd.CategoricalDtype(users))
        elif k == "item":
            cols[c] = pd.Categorical.from_codes(df[c].to_numpy(), dtype=pd.CategoricalDtype(items))
        elif isinstance(k, dict) and k.get("kind") == "categorical":
            cols[c] = _cat_in(df[c], k)
        elif k == "category":
            cols[c] = pd.Categorical(df[c].astype(object).where(df[c].notna(), None))
        else:
            cols[c] = df[c]
    return pd.DataFrame(cols)


def _rejected_out(rej: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The rejected rows for Parquet, keeping each column's values: typed columns as they are, object
    columns of str as str, other object columns as JSON text per value (repr if JSON cannot hold it)."""
    out, kinds = {}, {}
    for c in rej.columns:
        s = rej[c]
        if isinstance(s.dtype, pd.ArrowDtype):
            out[c], kinds[c] = s, "arrow:" + str(s.dtype.pyarrow_dtype)
        elif s.dtype != object:
            out[c], kinds[c] = s, "native"
        else:
            vals = s.to_numpy()
            miss = np.array([v is None for v in vals], dtype=bool)
            if all(type(v) is str for v in vals[~miss]):
                out[c], kinds[c] = pd.array(list(vals), dtype="string"), "object_str"
            else:
                def enc(v: Any) -> Any:
                    if v is None:
                        return None
                    if v is pd.NA or v is pd.NaT:
                        return json.dumps({"missing": "NA" if v is pd.NA else "NaT"})
                    if isinstance(v, np.generic):
                        v = v.item()
                    if type(v) in (str, int, float, bool):
                        return json.dumps(v)
                    if isinstance(v, (pd.Timestamp, datetime.datetime)):
                        return json.dumps({"timestamp": pd.Timestamp(v).isoformat()})
                    return json.dumps({"repr": repr(v)})  # anything else comes back as its repr
                out[c], kinds[c] = pd.array([enc(v) for v in vals], dtype="string"), "object_json"
    return pd.DataFrame(out, index=range(len(rej))), kinds


def _rejected_in(path: Path, kinds: dict[str, str]) -> pd.DataFrame:
    import re

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    plain = table.to_pandas()
    cols: dict[str, Any] = {}
    for c in table.column_names:
        k = kinds.get(c, "native")
        if k.startswith("arrow"):
            col = table.column(c)
            m = re.fullmatch(r"arrow:timestamp\[(\w+)(?:, tz=(.+))?\]", k)
            if m and str(col.type) != k[len("arrow:"):]:  # Parquet has no second unit: cast back
                col = col.cast(pa.timestamp(m.group(1), tz=m.group(2)))
            cols[c] = pd.Series(pd.arrays.ArrowExtensionArray(col))
        elif k == "object_str":
            cols[c] = pd.Series([None if pd.isna(v) else v for v in plain[c]], dtype=object)
        elif k == "object_json":
            def dec(v: Any) -> Any:
                if v is None or v is pd.NA or isinstance(v, float) and np.isnan(v):
                    return None
                x = json.loads(v)
                if not isinstance(x, dict):
                    return x
                if "missing" in x:
                    return pd.NA if x["missing"] == "NA" else pd.NaT
                return pd.Timestamp(x["timestamp"]) if "timestamp" in x else x["repr"]
            cols[c] = pd.Series([dec(v) for v in plain[c]], dtype=object)
        else:
            cols[c] = plain[c]
    return pd.DataFrame(cols)


def write(g: ShareGraph, path: str | os.PathLike[str], *, overwrite: bool = False, format: str | None = None) -> None:
    """Save a graph, with every result, to a directory (Parquet tables + ``manifest.json``).

    The directory is written to a temporary sibling first and renamed into place, so a crash never
    leaves half a graph. :func:`read` restores it exactly. A path ending in ``.graphml`` or ``.gexf``
    (or ``format="graphml"``/``"gexf"``) writes one file for Gephi instead: the people and links with
    every column (:func:`kocgraph.io.export.write_graph`); ``format="kocgraph"`` forces the directory.

    Examples
    --------
    >>> import kocgraph as kg, tempfile, os
    >>> g = kg.datasets.toy(); kg.tl.cascades(g)
    >>> d = os.path.join(tempfile.mkdtemp(), "toy.kg")
    >>> kg.write(g, d)
    >>> g2 = kg.read(d)
    >>> g2.nodes.equals(g.nodes) and g2.meta == g.meta
    True
    """
    g = check_graph(g, "kg.write")
    from .export import export_format, write_graph  # GraphML / GEXF for Gephi, chosen by suffix or format=

    if (fmt := export_format(path, format)) is not None:
        return write_graph(g, path, format=fmt, overwrite=overwrite)
    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidParameterError(f"{str(path)!r} already exists; pass overwrite=True or choose another path.")
    try:
        meta_json = json.dumps(g.meta, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            f"g.meta holds a value JSON cannot store ({err}). Keep meta to str/int/float/bool/list/dict."
        ) from err
    users, items = g.nodes.index, g.items.index
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".kg-write-", dir=path.parent))
    try:
        uf, ukind = _ids_to_frame(users)
        itf, ikind = _ids_to_frame(items)
        uf.to_parquet(tmp / "users.parquet", index=False)
        itf.to_parquet(tmp / "item_ids.parquet", index=False)
        c = g.codes
        ev = {"src": c.src, "tgt": c.tgt, "item": c.item, "time": c.time, "row": g.events["row"].to_numpy()}
        ev_kinds: dict[str, Any] = {}
        for col in ("event_type", "channel"):
            if col in g.events.columns:
                cat = _cat_out(g.events[col])
                if cat is not None:  # codes + categories in order: the categorical comes back exactly
                    ev[col] = cat[0]
                    ev_kinds[col] = {"kind": "categorical", **cat[1]}
                else:
                    ev[col] = g.events[col].astype(object).where(g.events[col].notna(), None).astype("string")
                    ev_kinds[col] = "category"
        if "value" in g.events.columns:
            ev["value"] = g.events["value"].to_numpy()
        pd.DataFrame(ev).to_parquet(tmp / "events.parquet", index=False)
        kinds = {}
        for name in ("nodes", "items", "edges"):
            df = getattr(g, name).reset_index(drop=True)
            t, k = _table_out(df, users, items)
            t.to_parquet(tmp / f"{name}.parquet", index=False)
            kinds[name] = k
        if g.trees is not None:
            t, k = _table_out(g.trees, users, items)
            t.to_parquet(tmp / "trees.parquet", index=False)
            kinds["trees"] = k
        table_names = []
        for j, (tname, tab) in enumerate(g.tables.items()):
            t, k = _table_out(tab.reset_index(drop=True), users, items)
            t.to_parquet(tmp / f"table_{j}.parquet", index=False)
            kinds[f"table:{tname}"] = k
            table_names.append(tname)
        rej_kinds: dict[str, str] = {}
        if g._rejected is not None:
            rej = g._rejected.copy()
            rej.columns = [str(x) for x in rej.columns]
            rej, rej_kinds = _rejected_out(rej)
            rej.to_parquet(tmp / "rejected.parquet", index=False)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kocgraph_version": __version__,
            "n_users": g.n_users, "n_items": g.n_items, "n_events": g.n_events, "n_edges": g.n_edges,
            "user_ids": ukind, "item_ids": ikind, "event_kinds": ev_kinds, "table_kinds": kinds,
            "has_trees": g.trees is not None, "has_rejected": g._rejected is not None,
            "rejected_kinds": rej_kinds, "tables": table_names,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        (tmp / "meta.json").write_text(meta_json)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read(path: str | os.PathLike[str]) -> ShareGraph:
    """Load a graph saved by :func:`write`.

    Examples
    --------
    >>> import kocgraph as kg, tempfile, os
    >>> d = os.path.join(tempfile.mkdtemp(), "g")
    >>> kg.write(kg.datasets.toy(), d)
    >>> kg.read(d).n_events
    30
    """
    path = Path(path)
    mf = path / "manifest.json"
    if not mf.exists():
        raise LogSchemaError(
            f"{str(path)!r} is not a saved kocgraph graph (no manifest.json). Save one with kg.write(g, path); "
            "to read a raw log use kg.read_log."
        )
    manifest = json.loads(mf.read_text())
    if manifest.get("format") != FORMAT or manifest.get("format_version", 0) > FORMAT_VERSION:
        raise LogSchemaError(
            f"{str(path)!r} holds format {manifest.get('format')!r} v{manifest.get('format_version')}; this "
            f"kocgraph {__version__} reads {FORMAT!r} up to v{FORMAT_VERSION}. Upgrade kocgraph."
        )
    meta = json.loads((path / "meta.json").read_text())
    users = _ids_from_frame(pd.read_parquet(path / "users.parquet"), manifest["user_ids"], "user")
    items = _ids_from_frame(pd.read_parquet(path / "item_ids.parquet"), manifest["item_ids"], "item")
    ev = pd.read_parquet(path / "events.parquet")
    extra: dict[str, Any] = {}
    ev_kinds = manifest.get("event_kinds", {})
    for col in ("event_type", "channel"):
        if col in ev.columns:
            k = ev_kinds.get(col)
            if isinstance(k, dict) and k.get("kind") == "categorical":
                extra[col] = _cat_in(ev[col], k)
            else:
                extra[col] = pd.Categorical(ev[col].astype(object).where(ev[col].notna(), None))
    if "value" in ev.columns:
        extra["value"] = ev["value"].to_numpy()
    rejected = None
    if manifest.get("has_rejected"):
        rejected = _rejected_in(path / "rejected.parquet", manifest.get("rejected_kinds", {}))
    g = ShareGraph._from_codes(
        ev["src"].to_numpy(), ev["tgt"].to_numpy(), ev["item"].to_numpy(), ev["time"].to_numpy(),
        users, items, row=ev["row"].to_numpy(), extra=extra, meta=meta, rejected=rejected, compact=False,
    )
    kinds = manifest["table_kinds"]
    for name in ("nodes", "items", "edges"):
        t = _table_in(pd.read_parquet(path / f"{name}.parquet"), kinds[name], users, items)
        base = getattr(g, name)
        for col in t.columns:
            if col not in base.columns:
                base[col] = t[col].array  # the column's own array keeps its dtype (tz-aware times, even empty)
    if manifest.get("has_trees"):
        g.trees = _table_in(pd.read_parquet(path / "trees.parquet"), kinds["trees"], users, items)
    for j, tname in enumerate(manifest.get("tables", [])):
        t = _table_in(pd.read_parquet(path / f"table_{j}.parquet"), kinds[f"table:{tname}"], users, items)
        for col in t.columns:  # list columns (route paths) come back as arrays: make them lists again
            if t[col].dtype == object and len(t) and isinstance(t[col].iloc[0], np.ndarray):
                t[col] = [x.tolist() for x in t[col]]
        g.tables[tname] = t
    return g
