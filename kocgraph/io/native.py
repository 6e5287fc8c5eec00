"""``kg.write`` / ``kg.read``: a ShareGraph to a directory of Parquet files plus JSON, and back, exactly.

No pickle: ids, codes and result tables go to Parquet; ``meta`` and the layout go to ``manifest.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import Codes, ShareGraph, _readonly
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


def _table_out(df: pd.DataFrame, users: pd.Index, items: pd.Index) -> tuple[pd.DataFrame, dict[str, str]]:
    """Categoricals over users/items become codes (ids are stored once)."""
    out, kinds = {}, {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.equals(users):
            out[c] = s.cat.codes.to_numpy(); kinds[c] = "user"
        elif isinstance(s.dtype, pd.CategoricalDtype) and s.cat.categories.equals(items):
            out[c] = s.cat.codes.to_numpy(); kinds[c] = "item"
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c] = s.astype(object).where(s.notna(), None).astype("string"); kinds[c] = "category"
        else:
            out[c] = s.to_numpy() if s.dtype.kind != "O" else s
    return pd.DataFrame(out), kinds


def _table_in(df: pd.DataFrame, kinds: dict[str, str], users: pd.Index, items: pd.Index) -> pd.DataFrame:
    cols = {}
    for c in df.columns:
        k = kinds.get(c)
        if k == "user":
            cols[c] = pd.Categorical.from_codes(df[c].to_numpy(), dtype=pd.CategoricalDtype(users))
        elif k == "item":
            cols[c] = pd.Categorical.from_codes(df[c].to_numpy(), dtype=pd.CategoricalDtype(items))
        elif k == "category":
            cols[c] = pd.Categorical(df[c].astype(object).where(df[c].notna(), None))
        else:
            cols[c] = df[c]
    return pd.DataFrame(cols)


def write(g: ShareGraph, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Save a graph, with every result, to a directory (Parquet tables + ``manifest.json``).

    The directory is written to a temporary sibling first and renamed into place, so a crash never
    leaves half a graph. :func:`read` restores it exactly.

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
        ev_kinds: dict[str, str] = {}
        for col in ("event_type", "channel"):
            if col in g.events.columns:
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
        if g._rejected is not None:
            rej = g._rejected.copy()
            for col in rej.columns:
                if col != "row":
                    rej[col] = rej[col].astype(object).where(rej[col].notna(), None).astype("string")
            rej.columns = [str(x) for x in rej.columns]
            rej.to_parquet(tmp / "rejected.parquet", index=False)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "kocgraph_version": __version__,
            "n_users": g.n_users, "n_items": g.n_items, "n_events": g.n_events, "n_edges": g.n_edges,
            "user_ids": ukind, "item_ids": ikind, "event_kinds": ev_kinds, "table_kinds": kinds,
            "has_trees": g.trees is not None, "has_rejected": g._rejected is not None,
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
    for col in ("event_type", "channel"):
        if col in ev.columns:
            extra[col] = pd.Categorical(ev[col].astype(object).where(ev[col].notna(), None))
    if "value" in ev.columns:
        extra["value"] = ev["value"].to_numpy()
    rejected = pd.read_parquet(path / "rejected.parquet") if manifest.get("has_rejected") else None
    if rejected is not None:
        for col in rejected.columns:
            if col != "row":
                rejected[col] = rejected[col].astype(object).where(rejected[col].notna(), None)
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
                base[col] = t[col].to_numpy() if not isinstance(t[col].dtype, pd.CategoricalDtype) else t[col].array
    if manifest.get("has_trees"):
        g.trees = _table_in(pd.read_parquet(path / "trees.parquet"), kinds["trees"], users, items)
    return g
