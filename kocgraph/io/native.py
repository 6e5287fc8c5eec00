"""``kg.write`` / ``kg.read``: a ShareGraph to a directory of Parquet files plus JSON, and back, exactly.

No pickle: ids, codes and result tables go to Parquet; ``meta`` and the layout go to ``manifest.json``,
with the size and SHA-256 of every file, so that :func:`read` detects any damage.
"""

from __future__ import annotations

import ctypes
import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from .._core.tools import check_graph
from .._version import __version__
from ..exceptions import CorruptSaveError, InvalidParameterError, KocgraphError, LogSchemaError

__all__ = ["write", "read"]

FORMAT = "kocgraph-sharegraph"
#: 2: the manifest records each file's size and SHA-256, and its own digest (v1 saves are still read)
FORMAT_VERSION = 2
MANIFEST, META = "manifest.json", "meta.json"


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
    out: dict[str, Any] = {}
    kinds: dict[str, Any] = {}
    for c in df.columns:
        s = df[c]
        # the index name tells users from items when both hold the same ids (or are both empty)
        is_cat = isinstance(s.dtype, pd.CategoricalDtype)
        as_item = is_cat and s.cat.categories.equals(items) and s.cat.categories.name == items.name
        if is_cat and not as_item and s.cat.categories.equals(users):
            out[c], kinds[c] = s.cat.codes.to_numpy(), "user"
        elif is_cat and s.cat.categories.equals(items):
            out[c], kinds[c] = s.cat.codes.to_numpy(), "item"
        elif isinstance(s.dtype, pd.CategoricalDtype) and (cat := _cat_out(s)) is not None:
            out[c], kinds[c] = cat[0], {"kind": "categorical", **cat[1]}
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[c], kinds[c] = s.astype(object).where(s.notna(), None).astype("string"), "category"
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
                if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
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

    The save is written to a temporary directory beside ``path`` and swapped into place, so a crash
    never leaves half a graph; :func:`read` restores it exactly. The manifest records the SHA-256 of
    every file, and :func:`read` checks them.

    ``overwrite=True`` replaces only an earlier kocgraph save (a directory whose ``manifest.json``
    says so, holding only the files ``kg.write`` writes) or an empty directory; anything else (a
    file, a link, a folder with other files) is refused with :class:`~kocgraph.InvalidParameterError`
    and left untouched. The new save is swapped in by one atomic exchange where the system allows
    it (Linux ``renameat2``), else by two renames; the old save is deleted only afterwards.

    A path ending in ``.graphml`` or ``.gexf`` (or ``format="graphml"``/``"gexf"``) writes one file
    for Gephi instead: the people and links with every column
    (:func:`kocgraph.io.export.write_graph`); ``format="kocgraph"`` forces the directory.

    Parameters
    ----------
    g
        The graph to save, with every result the tools wrote to it.
    path
        The directory to write (or a ``.graphml``/``.gexf`` file).
    overwrite
        Replace an earlier kocgraph save (or an empty directory) at ``path``; nothing else is replaced.
    format
        ``"kocgraph"`` (the directory), ``"graphml"`` or ``"gexf"``; None chooses by the suffix.

    Returns
    -------
    None

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
    _check_target(path, overwrite)
    try:
        meta_json = json.dumps(g.meta, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            f"g.meta holds a value JSON cannot store ({err}). Keep meta to str/int/float/bool/list/dict."
        ) from err
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".kg-write-", dir=path.parent))
    try:
        _write_save(g, tmp, meta_json)
        _swap_into_place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_save(g: ShareGraph, tmp: Path, meta_json: str) -> None:
    """Every file of a save into the (new, empty) directory ``tmp``, the manifest last."""
    users, items = g.nodes.index, g.items.index
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
        t, k = _table_out(getattr(g, name).reset_index(drop=True), users, items)
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
    (tmp / META).write_text(meta_json)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "kocgraph_version": __version__,
        "n_users": g.n_users, "n_items": g.n_items, "n_events": g.n_events, "n_edges": g.n_edges,
        "user_ids": ukind, "item_ids": ikind, "event_kinds": ev_kinds, "table_kinds": kinds,
        "has_trees": g.trees is not None, "has_rejected": g._rejected is not None,
        "rejected_kinds": rej_kinds, "tables": table_names,
        # read back from disk (and flushed): the checksums are of the bytes a reader will get
        "files": {f.name: {"sha256": _sha256(f, sync=True), "bytes": f.stat().st_size}
                  for f in sorted(tmp.iterdir())},
    }
    manifest["manifest_sha256"] = _manifest_digest(manifest)
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    _sha256(tmp / MANIFEST, sync=True)


# ------------------------------------------------------------------------------------------------ replacing
def _save_files(manifest: dict[str, Any]) -> set[str]:
    """The files a save with this manifest must hold (besides ``manifest.json``)."""
    names = {"users.parquet", "item_ids.parquet", "events.parquet", "nodes.parquet", "items.parquet",
             "edges.parquet", META}
    if manifest.get("has_trees"):
        names.add("trees.parquet")
    if manifest.get("has_rejected"):
        names.add("rejected.parquet")
    names.update(f"table_{j}.parquet" for j in range(len(manifest.get("tables") or [])))
    return names


def _check_target(path: Path, overwrite: bool) -> None:
    """Refuse to write over anything but an earlier kocgraph save or an empty directory."""
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise InvalidParameterError(f"{str(path)!r} already exists; pass overwrite=True or choose another path.")
    fix = "Remove it yourself if it should go, or choose another path."
    if path.is_symlink() or not path.is_dir():
        what = "a link" if path.is_symlink() else "a file" if path.is_file() else "not a directory"
        raise InvalidParameterError(
            f"kg.write(overwrite=True) replaces only a kocgraph save, and {str(path)!r} is {what}. {fix}")
    entries = sorted(os.listdir(path))
    if not entries:
        return
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        ok = isinstance(manifest, dict) and manifest.get("format") == FORMAT
        own = _save_files(manifest) if ok else set()
    except (OSError, ValueError, TypeError):
        ok = False
    if not ok:
        raise InvalidParameterError(
            f"kg.write(overwrite=True) replaces only a kocgraph save, and {str(path)!r} is a directory without a "
            f"readable kocgraph {MANIFEST} (it holds {entries[:5]}{' ...' if len(entries) > 5 else ''}). {fix}")
    foreign = [e for e in entries if e != MANIFEST and e not in own]
    if foreign:
        raise InvalidParameterError(
            f"{str(path)!r} is a kocgraph save but also holds files kg.write did not write: {foreign[:5]}"
            f"{' ...' if len(foreign) > 5 else ''}; kg.write(overwrite=True) would delete them. Move them out first, "
            "or choose another path.")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):  # pragma: no cover
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # pragma: no cover - glibc < 2.28, musl
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_into_place(new: Path, path: Path) -> None:
    """Put the directory ``new`` at ``path``; an old save there is removed only once the new one is in place."""
    if not os.path.lexists(path):
        os.replace(new, path)
        return
    if _exchange(new, path):  # path now holds the new save; ``new`` the old one
        shutil.rmtree(new, ignore_errors=True)
        return
    old = path.with_name(f".kg-old-{path.name}-{uuid.uuid4().hex[:12]}")
    os.replace(path, old)
    try:
        os.replace(new, path)
    except BaseException:
        os.replace(old, path)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ checksums
def _sha256(p: Path, *, sync: bool = False) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
        if sync:
            os.fsync(fh.fileno())
    return h.hexdigest()


def _manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's own content (without this field), in canonical JSON."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def _damaged(path: Path, name: str, why: str) -> CorruptSaveError:
    return CorruptSaveError(
        f"the saved graph {str(path)!r} is damaged: {name} {why}. Restore the save from a backup, or read the log "
        "again with kg.read_log and save it anew with kg.write.")


def _load_manifest(path: Path) -> tuple[dict[str, Any], bool]:
    """The manifest, and whether it is intact: its digest matches, and its bytes are exactly what
    ``kg.write`` writes for that content (so even a changed space is caught). v1 manifests have no digest."""
    try:
        text = (path / MANIFEST).read_text(encoding="utf-8")
        manifest = json.loads(text)
    except (OSError, ValueError) as err:
        raise _damaged(path, MANIFEST, f"cannot be read ({type(err).__name__}: {err})") from err
    if not isinstance(manifest, dict):
        raise _damaged(path, MANIFEST, f"holds a {type(manifest).__name__}, not a JSON object")
    if "manifest_sha256" not in manifest and "files" not in manifest:
        return manifest, True
    intact = manifest.get("manifest_sha256") == _manifest_digest(manifest) and text == json.dumps(manifest, indent=2)
    return manifest, intact


def _verify(path: Path, manifest: dict[str, Any]) -> None:
    """Check every file's size and SHA-256 against the (intact) manifest (format v2 and later)."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise _damaged(path, MANIFEST, "has no checksum list ('files')")
    for name in sorted(_save_files(manifest)):
        rec = files.get(name)
        if not isinstance(rec, dict) or "sha256" not in rec:
            raise _damaged(path, MANIFEST, f"has no checksum for {name}")
        f = path / name
        if not f.is_file():
            raise _damaged(path, name, "is missing")
        size = f.stat().st_size
        if size != rec.get("bytes"):
            raise _damaged(path, name, f"has {size:,} bytes where kg.write wrote {rec.get('bytes')!r} (truncated or "
                                       "changed)")
        if _sha256(f) != rec["sha256"]:
            raise _damaged(path, name, "does not match its SHA-256 checksum in manifest.json (changed after kg.write)")


# ------------------------------------------------------------------------------------------------ reading
def read(path: str | os.PathLike[str]) -> ShareGraph:
    """Load a graph saved by :func:`write`.

    Every file is checked against the SHA-256 recorded in the save's manifest before anything is
    parsed; any damage (a file missing, truncated, edited, reordered or unreadable) raises
    :class:`~kocgraph.CorruptSaveError` naming the file. Saves of format version 1 (kocgraph before
    checksums) are still read, without the checksum test; their unreadable files raise the same error.
    A save that claims a newer format raises :class:`~kocgraph.LogSchemaError` ("Upgrade kocgraph").

    Parameters
    ----------
    path
        The directory :func:`write` wrote.

    Returns
    -------
    ShareGraph
        The graph as it was saved, every result included.

    Examples
    --------
    >>> import kocgraph as kg, tempfile, os
    >>> d = os.path.join(tempfile.mkdtemp(), "g")
    >>> kg.write(kg.datasets.toy(), d)
    >>> kg.read(d).n_events
    30
    """
    path = Path(path)
    if not (path / MANIFEST).exists():
        raise LogSchemaError(
            f"{str(path)!r} is not a saved kocgraph graph (no manifest.json). Save one with kg.write(g, path); "
            "to read a raw log use kg.read_log."
        )
    manifest, intact = _load_manifest(path)
    version = manifest.get("format_version", 0)
    # a manifest with checksums is checked whatever it claims (one changed byte must not turn a v2 save into v1)
    checked = "manifest_sha256" in manifest or "files" in manifest
    newer = isinstance(version, int) and version > FORMAT_VERSION
    if not intact and not newer:
        raise _damaged(path, MANIFEST, "does not match its own checksum (it was edited or damaged after kg.write)")
    if manifest.get("format") != FORMAT or not isinstance(version, int) or newer:
        raise LogSchemaError(
            f"{str(path)!r} holds format {manifest.get('format')!r} v{version}; this "
            f"kocgraph {__version__} reads {FORMAT!r} up to v{FORMAT_VERSION}. Upgrade kocgraph"
            + ("" if intact else f" (or restore the save: its {MANIFEST} does not match its checksum)") + "."
        )
    if checked or version >= 2:
        _verify(path, manifest)
    where = [MANIFEST]
    try:
        return _read_save(path, manifest, where)
    except (KocgraphError, MemoryError):
        raise
    except Exception as err:  # anything a damaged file can throw: JSON, Arrow, KeyError, bad codes, ...
        raise _damaged(path, where[0], f"cannot be read ({type(err).__name__}: {err})") from err


def _read_save(path: Path, manifest: dict[str, Any], where: list[str]) -> ShareGraph:
    """Parse a save; ``where[0]`` names the file being read (for the damage message)."""

    def table(name: str) -> pd.DataFrame:
        where[0] = name
        return pd.read_parquet(path / name)

    where[0] = META
    meta = json.loads((path / META).read_text(encoding="utf-8"))
    where[0] = MANIFEST
    ukind, ikind, kinds = manifest["user_ids"], manifest["item_ids"], manifest["table_kinds"]
    users = _ids_from_frame(table("users.parquet"), ukind, "user")
    items = _ids_from_frame(table("item_ids.parquet"), ikind, "item")
    ev = table("events.parquet")
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
        where[0] = "rejected.parquet"
        rejected = _rejected_in(path / "rejected.parquet", manifest.get("rejected_kinds", {}))
    where[0] = "events.parquet"
    g = ShareGraph._from_codes(
        ev["src"].to_numpy(), ev["tgt"].to_numpy(), ev["item"].to_numpy(), ev["time"].to_numpy(),
        users, items, row=ev["row"].to_numpy(), extra=extra, meta=meta, rejected=rejected, compact=False,
    )
    for name in ("nodes", "items", "edges"):
        t = _table_in(table(f"{name}.parquet"), kinds[name], users, items)
        base = getattr(g, name)
        for col in t.columns:
            if col not in base.columns:
                base[col] = t[col].array  # the column's own array keeps its dtype (tz-aware times, even empty)
    if manifest.get("has_trees"):
        g.trees = _table_in(table("trees.parquet"), kinds["trees"], users, items)
    for j, tname in enumerate(manifest.get("tables", [])):
        t = _table_in(table(f"table_{j}.parquet"), kinds[f"table:{tname}"], users, items)
        for col in t.columns:  # list columns (route paths) come back as arrays: make them lists again
            if t[col].dtype == object and len(t) and isinstance(t[col].iloc[0], np.ndarray):
                t[col] = [x.tolist() for x in t[col]]
        g.tables[tname] = t
    return g
