"""Readers for the public diffusion data sets kept in ``../shared/data`` (one per format).

Four formats, four readers, each returning a :class:`~kocgraph.ShareGraph` with the provenance of the
data in ``g.meta["dataset"]``:

* :func:`read_weibo_deephawkes`: explicit forwarding paths ``root/a/b:dt`` (Sina Weibo, DeepHawkes);
  one event per retweet, from the last hop of its path.
* :func:`read_douban`: adoption sequences ``user time,...`` plus a friendship graph (Douban, MS-HGAT);
  cascades rebuilt by :func:`kocgraph.read_adoptions`.
* :func:`read_stackexchange`: seed plus ``user offset`` pairs and a user graph (Stack Exchange
  Christianity, Inf-VAE); cascades rebuilt by :func:`kocgraph.read_adoptions`.
* :func:`read_higgs`: timestamped ``userA userB time RT|MT|RE`` events (SNAP Higgs Twitter); one
  item for the whole topic by default.

:func:`public_datasets` lists them with the counts their ``SOURCE.md`` states.

Every reader takes the data folder (or file) as its first argument. With ``path=None`` it looks in
``$KOCGRAPH_DATA/<folder>`` and raises :class:`~kocgraph.InvalidParameterError` saying where the data
is expected when it is not there. Nothing is downloaded. The data are research data under the licences
in each folder's ``SOURCE.md``; several hold real account ids, so publish aggregate figures only.

Parsing is vectorized (pandas string methods, one ``explode`` per format), so the same code reads the
full releases (e.g. DeepHawkes' 119k-message file) as well as the samples.

Examples
--------
>>> from kocgraph.datasets.public import public_datasets
>>> sorted(public_datasets()["name"])
['douban', 'higgs-twitter', 'stackexchange-christianity', 'weibo-deephawkes-sample']
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.graph import ShareGraph
from ..exceptions import InvalidParameterError, LogSchemaError

__all__ = [
    "read_weibo_deephawkes",
    "read_douban",
    "read_stackexchange",
    "read_higgs",
    "public_datasets",
    "STACKEXCHANGE_ORIGIN",
]

#: time origin given to every Stack Exchange cascade seed (the release has relative times only)
STACKEXCHANGE_ORIGIN = pd.Timestamp("1970-01-01", tz="UTC")

# name -> (folder, reader name, format, files, expected counts from SOURCE.md, licence)
_REGISTRY: dict[str, dict[str, Any]] = {
    "weibo-deephawkes-sample": {
        "reader": "read_weibo_deephawkes",
        "format": "explicit forwarding paths (message, root, publish time, root/a/b:dt entries)",
        "files": ("dataset.txt",),
        "cascades": 30, "users": 6_962, "records": 7_147, "social_edges": None,
        "licence": "research only (DeepHawkes); sample shipped in Xovee/casflow (MIT)",
        "source": "Xovee/casflow dataset/sample/dataset.txt; Cao et al., DeepHawkes, CIKM 2017",
    },
    "douban": {
        "reader": "read_douban",
        "format": "adoption sequences (user time,...) per item + undirected social graph",
        "files": ("cascades.txt", "social_rawid.txt"),
        "cascades": 3_485, "users": 12_232, "records": 83_955, "social_edges": 396_992,
        "licence": "none stated: research only",
        "source": "slingling/MS-HGAT data/douban + songboyangy/DIDP social.txt; Zhong et al., KDD 2012",
    },
    "stackexchange-christianity": {
        "reader": "read_stackexchange",
        "format": "seed + (user, offset s) pairs per cascade, train/val/test + social graph",
        "files": ("train.txt", "val.txt", "test.txt", "graph.txt"),
        "cascades": 589, "users": 1_651, "records": 15_327, "social_edges": 35_624,
        "licence": "BSD-3-Clause (aravindsankar28/Inf-VAE)",
        "source": "aravindsankar28/Inf-VAE data/christianity; Sankar et al., Inf-VAE, WSDM 2020",
    },
    "higgs-twitter": {
        "reader": "read_higgs",
        "format": "timestamped user-to-user RT/MT/RE events (gzip text)",
        "files": ("higgs-activity_time.txt.gz",),
        "cascades": None, "users": 304_691, "records": 563_069, "social_edges": None,
        "licence": "none stated; SNAP asks to cite De Domenico et al., Sci. Rep. 3, 2980 (2013)",
        "source": "SNAP Higgs Twitter via trygvell/network-and-nlp-m2",
    },
}


def public_datasets() -> pd.DataFrame:
    """The registry of public data sets that have a reader here.

    One row per data set: ``name`` (its folder under the data directory), ``reader`` (function in
    :mod:`kocgraph.datasets.public`), ``format``, ``files``, the counts stated in its ``SOURCE.md``
    (``cascades``, ``users``, ``records`` = participant entries / adoptions / activity lines,
    ``social_edges`` = directed social lines), ``licence``, ``source``, and ``found`` (whether the
    folder is present under ``$KOCGRAPH_DATA``).

    Examples
    --------
    >>> from kocgraph.datasets.public import public_datasets
    >>> df = public_datasets()
    >>> int(df.set_index("name").loc["douban", "cascades"])
    3485
    """
    root = os.environ.get("KOCGRAPH_DATA")
    rows = []
    for name, spec in _REGISTRY.items():
        found = bool(root and all((Path(root) / name / f).exists() for f in spec["files"]))
        rows.append({"name": name, **{k: (", ".join(v) if k == "files" else v) for k, v in spec.items()},
                     "found": found})
    df = pd.DataFrame(rows)
    for c in ("cascades", "users", "records", "social_edges"):
        df[c] = df[c].astype("Int64")
    return df


# ---------------------------------------------------------------------------------------- helpers
def _resolve(path: str | os.PathLike[str] | None, name: str, *, file: str | None = None) -> Path:
    """The data folder (or, with ``file``, the file inside it) of data set ``name``."""
    spec = _REGISTRY[name]
    reader = f"kg.datasets.public.{spec['reader']}"
    if path is None:
        root = os.environ.get("KOCGRAPH_DATA")
        if not root:
            raise InvalidParameterError(
                f"{reader} needs the data: pass path='<folder>/{name}' (the folder holding "
                f"{', '.join(spec['files'])}), or set KOCGRAPH_DATA to the folder that contains {name}/ "
                "(in the kocgraph repository this is ../shared/data). Nothing is downloaded."
            )
        path = Path(root) / name
    p = Path(path)
    if file is not None and p.is_dir():
        p = p / file
    if not p.exists():
        raise InvalidParameterError(
            f"{reader}: {str(p)!r} does not exist. Expected the {name} data ({', '.join(spec['files'])}) "
            "there; pass the right path, or set KOCGRAPH_DATA to the folder that contains "
            f"{name}/ (see its SOURCE.md)."
        )
    return p


def _need(folder: Path, files: Iterable[str], reader: str) -> None:
    if not folder.is_dir():
        raise InvalidParameterError(f"{reader} takes the data folder; {str(folder)!r} is not a directory.")
    missing = [f for f in files if not (folder / f).exists()]
    if missing:
        raise InvalidParameterError(
            f"{reader}: {str(folder)!r} lacks {missing}. Pass the folder that holds "
            f"{list(files)} (see its SOURCE.md)."
        )


def _lines(path: Path) -> pd.Series:
    """The lines of a text file as a string Series (no trailing newline; CRLF tolerated)."""
    text = path.read_text(encoding="utf-8")
    s = pd.Series(text.splitlines(), dtype=object)
    return s.str.rstrip("\r")


def _int_ids(s: pd.Series) -> pd.Series:
    """Integer ids (nullable Int64); anything that is not an integer becomes <NA> (a null id)."""
    return pd.to_numeric(s.str.strip(), errors="coerce").astype("Int64")


def _length_stats(sizes: np.ndarray) -> dict[str, float]:
    sizes = np.asarray(sizes)
    if sizes.size == 0:
        return {"mean": float("nan"), "max": 0, "min": 0}
    return {"mean": round(float(sizes.mean()), 2), "max": int(sizes.max()), "min": int(sizes.min())}


def _provenance(name: str, path: Path, **extra: Any) -> dict[str, Any]:
    spec = _REGISTRY[name]
    return {"name": name, "path": str(path), "format": spec["format"], "licence": spec["licence"],
            "source": spec["source"], **extra}


# ---------------------------------------------------------------------------------------- weibo
def read_weibo_deephawkes(path: str | os.PathLike[str] | None = None) -> ShareGraph:
    """Read DeepHawkes' Weibo retweet cascades (explicit forwarding paths) into a ShareGraph.

    Each line is ``message_id \\t root_user \\t publish_time \\t n_participants \\t entries``; each
    entry ``u1/u2/.../uk:dt`` says user ``uk`` retweeted message ``message_id`` from ``u(k-1)``,
    ``dt`` seconds after ``publish_time``. Every entry with at least one hop becomes one event
    ``u(k-1) -> uk`` on item ``message_id`` at ``publish_time + dt`` (UTC epoch seconds). The root's
    own entry ``root:0`` has no hop and makes no event.

    Quirks handled (see the folder's ``SOURCE.md``):

    * entries are not in time order within a line: the events are sorted by (message, time);
    * a user who retweets the same message again gives another event; :func:`kocgraph.tl.cascades`
      keeps the first receipt in the tree and counts the others as *exposures*; a repeat with the same
      parent and the same second is an exact duplicate, which ``read_log`` rejects as ``duplicate``;
    * self-hops ``r/r/x``: the hop ``r -> r`` is rejected by ``read_log`` as ``self_forward`` (so it
      is reported in ``g.meta["read_log"]`` and :func:`kocgraph.get.rejected`); ``r -> x`` is kept.
      Only the last hop of a path is an event, so in ``r/x/x`` (x re-forwarding from itself) the hop
      ``r -> x`` is implied but never logged: if x has no other entry, x is in ``meta["dataset"]
      ["n_users"]`` but not in the graph (one such user in the 30-message sample).

    Every event keeps ``line`` (0-based line of the file) and ``entry`` (0-based position in the
    line) in the rejected rows, so a rejection points back into the file.

    Parameters
    ----------
    path
        The ``weibo-deephawkes-sample`` folder or its ``dataset.txt`` (or a full DeepHawkes
        ``dataset_weibo.txt``). ``None`` looks in ``$KOCGRAPH_DATA/weibo-deephawkes-sample``.

    Returns
    -------
    ShareGraph
        ``g.meta["dataset"]``: provenance and the counts parsed from the file (``n_cascades``,
        ``n_entries``, ``n_retweets``, ``n_users`` incl. path intermediates, ``cascade_length``
        (entries per line: mean/max/min), ``hops`` histogram,
        ``n_count_mismatch`` lines whose ``n_participants`` disagrees with their entries,
        ``n_root_mismatch`` entries whose path does not start at the line's root).
    """
    p = _resolve(path, "weibo-deephawkes-sample", file="dataset.txt")
    lines = _lines(p)
    lines = lines[lines.str.strip() != ""]
    fields = lines.str.split("\t", n=4, expand=True)
    if fields.shape[1] != 5 or fields[4].isna().any():
        bad = int(fields[4].isna().sum()) if fields.shape[1] == 5 else len(lines)
        raise LogSchemaError(
            f"{str(p)!r}: {bad} line(s) do not have the 5 tab-separated DeepHawkes fields "
            "(message_id, root_user, publish_time, n_participants, participants). Check the file format."
        )
    msg = _int_ids(fields[0])
    root = _int_ids(fields[1])
    pub = pd.to_numeric(fields[2], errors="coerce").to_numpy(dtype=float)
    n_part = pd.to_numeric(fields[3], errors="coerce").to_numpy(dtype=float)
    # one row per entry, keeping its line (in the file) and its position in the line
    ent = fields[4].str.strip().str.split(" ").explode()
    line_no = ent.index.to_numpy().astype(np.int64)
    li = pd.Index(lines.index).get_indexer(line_no)  # positional row of the entry's line
    ent = ent.reset_index(drop=True)
    pos = pd.Series(li).groupby(li).cumcount().to_numpy()
    path_s, _, dt_s = (c for _, c in ent.str.rpartition(":").items())
    no_colon = (path_s == "").to_numpy()
    path_s = path_s.where(~no_colon, dt_s)  # "u1/u2" without ":dt" -> path kept, time missing
    dt = pd.to_numeric(dt_s.where(~no_colon), errors="coerce").to_numpy(dtype=float)
    head, _, child = (c for _, c in path_s.str.rpartition("/").items())
    parent = head.str.rpartition("/")[2]
    hops = path_s.str.count("/").to_numpy()
    first_user = _int_ids(path_s.str.partition("/")[0])
    # whole-file counts (incl. the root entries and path intermediates), for the provenance record
    n_users_all = int(_int_ids(pd.Series(path_s.str.split("/").explode().to_numpy())).nunique())
    per_line = np.bincount(li, minlength=len(lines))
    n_count_mismatch = int((n_part != per_line).sum())
    root_rep = pd.Series(root.array.take(li))
    n_root_mismatch = int(first_user.ne(root_rep).fillna(True).sum())

    is_hop = hops >= 1
    df = pd.DataFrame({
        "source": _int_ids(parent[is_hop]).array,
        "target": _int_ids(child[is_hop]).array,
        "item": msg.array.take(li[is_hop]),
        "time": pub[li[is_hop]] + dt[is_hop],
        "line": line_no[is_hop],
        "entry": pos[is_hop].astype(np.int64),
        "hops": hops[is_hop].astype(np.int64),
    })
    # entries are not sorted by dt within a line: order events by (message, time), stable
    df = df.sort_values(["line", "time"], kind="stable", na_position="last").reset_index(drop=True)
    from ..io.readers import read_log

    g = read_log(df, source="source", target="target", item="item", time="time", time_unit="s",
                 event_type=None, channel=None, value=None)
    hist = np.bincount(hops, minlength=1)
    g.meta["dataset"] = _provenance(
        "weibo-deephawkes-sample", p,
        n_cascades=int(len(lines)),
        n_entries=int(len(ent)),
        n_retweets=int(is_hop.sum()),
        n_users=n_users_all,
        cascade_length=_length_stats(per_line),
        hops={int(h): int(c) for h, c in enumerate(hist) if c},
        n_count_mismatch=n_count_mismatch,
        n_root_mismatch=n_root_mismatch,
        unit="one event per retweet entry (parent = second-to-last user of the path); repeated "
             "retweets by the same user are exposures",
    )
    return g


# ---------------------------------------------------------------------------------------- douban
def read_douban(path: str | os.PathLike[str] | None = None, *, parent: Literal["latest", "earliest"] = "latest"
                ) -> ShareGraph:
    """Read the Douban adoption cascades (MS-HGAT release) and its social graph.

    ``cascades.txt`` holds one item per line as comma-separated ``user_id timestamp`` chunks (Unix
    seconds); ``social_rawid.txt`` holds ``user_a,user_b`` friendships in raw ids, listed in both
    directions. The social graph is reduced to its undirected pairs and passed to
    :func:`kocgraph.read_adoptions` with ``directed=False``: a user's parent is the most recent
    (``parent="latest"``) earlier adopter of the item among their friends.

    The item id is the 0-based line number of ``cascades.txt``. The file's last chunk is truncated
    (``22914`` with no timestamp): it is kept as an adoption with a missing time, which
    ``read_adoptions`` rejects as ``bad_time``, so it appears in ``g.meta["read_log"]`` and
    :func:`kocgraph.get.rejected` instead of vanishing.

    Parameters
    ----------
    path
        The ``douban`` folder (holding ``cascades.txt`` and ``social_rawid.txt``). ``None`` looks in
        ``$KOCGRAPH_DATA/douban``.
    parent
        The parent rule of :func:`kocgraph.read_adoptions`.

    Returns
    -------
    ShareGraph
        ``g.meta["dataset"]``: provenance and counts parsed from the files (``n_cascades``,
        ``n_adoptions`` with a time, ``n_truncated`` chunks without one, ``n_users`` adopters,
        ``cascade_length`` (adoptions per line: mean/max/min),
        ``n_social_lines``, ``n_social_pairs``, ``n_social_self_loops``, ``n_users_with_social``).
    """
    folder = _resolve(path, "douban")
    reader = "kg.datasets.public.read_douban"
    _need(folder, ("cascades.txt", "social_rawid.txt"), reader)
    lines = _lines(folder / "cascades.txt")
    chunks = lines.str.split(",").explode()
    item = chunks.index.to_numpy().astype(np.int64)
    chunks = chunks.reset_index(drop=True).str.strip()
    keep = (chunks != "").to_numpy(dtype=bool, na_value=False)  # blank chunks/lines carry nothing
    chunks, item = chunks[keep].reset_index(drop=True), item[keep]
    user_s, _, time_s = (c for _, c in chunks.str.partition(" ").items())
    t = pd.to_numeric(time_s.str.strip().replace("", np.nan), errors="coerce")
    ad = pd.DataFrame({"user": _int_ids(user_s), "item": item, "time": t.astype("float64")})
    soc_raw = pd.read_csv(folder / "social_rawid.txt", header=None, names=["a", "b"], dtype="Int64",
                          skipinitialspace=True)
    a, b = soc_raw["a"], soc_raw["b"]
    self_loop = (a == b).to_numpy(dtype=bool, na_value=False)
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    pairs = pd.DataFrame({"source": lo, "target": hi})[~self_loop].drop_duplicates(ignore_index=True)
    from ..io.adoptions import read_adoptions

    g = read_adoptions(ad, social=pairs, user="user", item="item", time="time", directed=False,
                       parent=parent, time_unit="s")
    timed = t.notna().to_numpy()
    adopters = ad["user"][timed]
    social_users = pd.Index(pd.concat([a, b], ignore_index=True).dropna().unique())
    g.meta["dataset"] = _provenance(
        "douban", folder,
        n_cascades=int(len(lines)),
        n_adoptions=int(timed.sum()),
        n_truncated=int((~timed).sum()),
        n_users=int(adopters.nunique()),
        cascade_length=_length_stats(np.bincount(item[timed], minlength=len(lines))),
        n_social_lines=int(len(soc_raw)),
        n_social_pairs=int(len(pairs)),
        n_social_self_loops=int(self_loop.sum()),
        n_users_with_social=int(pd.Index(adopters.unique()).isin(social_users).sum()),
        item_id="0-based line number of cascades.txt",
    )
    return g


# ---------------------------------------------------------------------------------------- stack exchange
def read_stackexchange(path: str | os.PathLike[str] | None = None, *,
                       splits: Iterable[str] = ("train", "val", "test"),
                       parent: Literal["latest", "earliest"] = "latest") -> ShareGraph:
    """Read the Inf-VAE Stack Exchange (Christianity) cascades and social graph.

    Each line of ``train.txt``/``val.txt``/``test.txt`` is ``seed u1 t1 u2 t2 ...``: the seed has no
    time and every ``t`` is an offset in seconds from the seed's activation. The splits are disjoint
    sets of cascades, so they are concatenated. Absolute dates are not in the release: every seed is
    placed at :data:`STACKEXCHANGE_ORIGIN` (1970-01-01 UTC), so an event's time minus that origin is
    its offset from the seed, and only within-cascade order and delays are meaningful.

    ``graph.txt`` (header ``n_users n_links``, then ``u v`` lines) is treated as undirected, as Inf-VAE
    does (it loads a ``networkx.Graph``); its pairs are deduplicated and passed to
    :func:`kocgraph.read_adoptions` with ``directed=False``.

    The item id is ``"<split>:<line>"`` (0-based line within the split file).

    Parameters
    ----------
    path
        The ``stackexchange-christianity`` folder. ``None`` looks in
        ``$KOCGRAPH_DATA/stackexchange-christianity``.
    splits
        Which split files to read (all three by default).
    parent
        The parent rule of :func:`kocgraph.read_adoptions`.

    Returns
    -------
    ShareGraph
        ``g.meta["dataset"]``: provenance, ``time_origin``, and counts parsed from the files
        (``n_cascades``, ``n_adoptions`` incl. seeds, ``n_users``, ``n_seeds`` distinct seed users,
        ``cascade_length`` (activations per cascade incl. the seed),
        ``header_users``, ``header_links``, ``n_link_lines``, ``n_social_pairs``).
    """
    folder = _resolve(path, "stackexchange-christianity")
    reader = "kg.datasets.public.read_stackexchange"
    splits = list(splits)
    _need(folder, [f"{s}.txt" for s in splits] + ["graph.txt"], reader)
    parts = []
    for s in splits:
        ls = _lines(folder / f"{s}.txt")
        parts.append(pd.DataFrame({"split": s, "line": np.arange(len(ls)), "text": ls.to_numpy()}))
    casc = pd.concat(parts, ignore_index=True)
    casc = casc[casc["text"].str.strip() != ""].reset_index(drop=True)
    casc["item"] = casc["split"] + ":" + casc["line"].astype(str)
    tok = casc["text"].str.split().explode()
    row = tok.index.to_numpy()
    tok = tok.reset_index(drop=True)
    pos = pd.Series(row).groupby(row).cumcount().to_numpy()
    # position 0: seed (time 0); odd positions: users; even positions > 0: the previous user's offset
    is_user = (pos == 0) | (pos % 2 == 1)
    uidx = np.flatnonzero(is_user)
    nxt = uidx + 1
    has_t = (pos[uidx] > 0) & (nxt < len(tok))
    has_t[has_t] = row[nxt[has_t]] == row[uidx[has_t]]
    off = np.full(uidx.size, np.nan)
    off[pos[uidx] == 0] = 0.0
    off[has_t] = pd.to_numeric(tok.iloc[nxt[has_t]], errors="coerce").to_numpy(dtype=float)
    origin_s = STACKEXCHANGE_ORIGIN.value // 1_000_000_000
    ad = pd.DataFrame({
        "user": _int_ids(tok.iloc[uidx]).to_numpy(),
        "item": casc["item"].to_numpy()[row[uidx]],
        "time": origin_s + off,
    })
    ad["user"] = ad["user"].astype("Int64")
    graph = folder / "graph.txt"
    with graph.open(encoding="utf-8") as fh:
        header = fh.readline().split()
    try:
        h_users, h_links = int(header[0]), int(header[1])
    except (IndexError, ValueError) as err:
        raise LogSchemaError(
            f"{str(graph)!r}: the first line should be the header '<n_users> <n_links>', got {header!r}."
        ) from err
    soc = pd.read_csv(graph, sep=r"\s+", header=None, names=["a", "b"], skiprows=1, dtype="Int64")
    a, b = soc["a"], soc["b"]
    self_loop = (a == b).to_numpy(dtype=bool, na_value=False)
    pairs = pd.DataFrame({"source": np.minimum(a, b), "target": np.maximum(a, b)})[~self_loop]
    pairs = pairs.drop_duplicates(ignore_index=True)
    from ..io.adoptions import read_adoptions

    g = read_adoptions(ad, social=pairs, user="user", item="item", time="time", directed=False,
                       parent=parent, time_unit="s")
    g.meta["dataset"] = _provenance(
        "stackexchange-christianity", folder,
        splits=splits,
        time_origin=str(STACKEXCHANGE_ORIGIN),
        n_cascades=int(len(casc)),
        n_adoptions=int(len(ad)),
        n_users=int(ad["user"].nunique()),
        n_seeds=int(ad["user"][pos[uidx] == 0].nunique()),
        cascade_length=_length_stats(np.bincount(row[uidx], minlength=len(casc))),
        header_users=h_users,
        header_links=h_links,
        n_link_lines=int(len(soc)),
        n_social_pairs=int(len(pairs)),
        n_social_self_loops=int(self_loop.sum()),
        item_id="'<split>:<0-based line>'",
    )
    return g


# ---------------------------------------------------------------------------------------- higgs
_HIGGS_FLOW = {"RT": "B->A", "MT": "A->B", "RE": "A->B"}


def read_higgs(path: str | os.PathLike[str] | None = None,
               interactions: Iterable[str] = ("RT",), *,
               items: Literal["topic", "author", "author_day"] = "topic") -> ShareGraph:
    """Read the SNAP Higgs Twitter activity file (timestamped retweets, mentions, replies).

    Each line ``userA userB timestamp interaction`` says that ``userA`` retweeted (``RT``), mentioned
    (``MT``) or replied to (``RE``) ``userB`` at ``timestamp`` (Unix seconds). Content flows
    ``userB -> userA`` for a retweet (A forwards B's tweet to A's followers; A *received* it from B),
    and ``userA -> userB`` for a mention or a reply (B is notified of A's tweet). Each kept line becomes
    one event ``source -> target`` in that direction, with ``channel`` ``"retweet"``, ``"mention"`` or
    ``"reply"`` (so a mention and a reply of the same pair in the same second are two events, not a
    duplicate).

    The file has no tweet ids, so the item must be chosen (``items``):

    * ``"topic"`` (default): one item, ``"higgs"``. The data set was collected as the spread of one
      piece of news (the Higgs boson announcement, 1-7 July 2012), and De Domenico et al. study it as
      one rumour. A user holds the rumour from their first retweet of (or first mention by) someone;
      the cascade forest says who brought the news to whom, and reach counts everyone reached
      downstream. Later receipts are exposures. This is the most defensible choice because it is the
      only one that keeps multi-hop spread.
    * ``"author"``: one item per original author (``userB`` of a retweet, ``userA`` otherwise), all
      week. Every cascade is then a star (depth 1): reach equals the number of distinct receivers.
    * ``"author_day"``: one item per (author, UTC day), ``"<author>@YYYY-MM-DD"``: still stars, but
      split by day.

    Parameters
    ----------
    path
        The ``higgs-twitter`` folder or ``higgs-activity_time.txt.gz``. ``None`` looks in
        ``$KOCGRAPH_DATA/higgs-twitter``.
    interactions
        Which interaction types to keep, among ``"RT"``, ``"MT"``, ``"RE"``.
    items
        How items are defined (see above).

    Returns
    -------
    ShareGraph
        ``g.meta["dataset"]``: provenance, the item rule, the direction of each interaction, and
        counts parsed from the file (``n_lines``, ``by_interaction``, ``n_users`` over all lines,
        ``n_kept``).
    """
    p = _resolve(path, "higgs-twitter", file="higgs-activity_time.txt.gz")
    inter = [interactions] if isinstance(interactions, str) else list(interactions)
    bad = [x for x in inter if x not in _HIGGS_FLOW]
    if not inter or bad:
        raise InvalidParameterError(
            f"interactions={interactions!r} must be a non-empty subset of ['RT', 'MT', 'RE']; "
            "pass e.g. interactions=('RT',)."
        )
    if items not in ("topic", "author", "author_day"):
        raise InvalidParameterError(
            f"items={items!r} is not supported; pass items='topic', 'author' or 'author_day'."
        )
    raw = pd.read_csv(p, sep=" ", header=None, names=["a", "b", "time", "kind"],
                      dtype={"a": "Int64", "b": "Int64", "time": "Int64", "kind": "string"}, engine="c")
    by_kind = raw["kind"].value_counts(dropna=False)
    n_users_all = int(pd.concat([raw["a"], raw["b"]], ignore_index=True).nunique())
    sel = raw["kind"].isin(inter).to_numpy(dtype=bool, na_value=False)
    d = raw[sel]
    rt = (d["kind"] == "RT").fillna(False).astype(bool)
    df = pd.DataFrame({
        "source": d["b"].where(rt, d["a"]).array,
        "target": d["a"].where(rt, d["b"]).array,
        "time": d["time"].array,
        "channel": d["kind"].map({"RT": "retweet", "MT": "mention", "RE": "reply"}).array,
        "line": np.flatnonzero(sel).astype(np.int64),
    })
    if items == "topic":
        df["item"] = "higgs"
    elif items == "author":
        df["item"] = df["source"]
    else:
        day = pd.to_datetime(df["time"].astype("float64"), unit="s", utc=True).dt.strftime("%Y-%m-%d")
        df["item"] = df["source"].astype("string") + "@" + day
    from ..io.readers import read_log

    g = read_log(df, source="source", target="target", item="item", time="time", time_unit="s",
                 event_type=None, channel="channel", value=None)
    g.meta["dataset"] = _provenance(
        "higgs-twitter", p,
        interactions=inter,
        flow={k: ("userB -> userA" if v == "B->A" else "userA -> userB") for k, v in _HIGGS_FLOW.items()
              if k in inter},
        items=items,
        item_rule={"topic": "one item 'higgs' for the whole rumour",
                   "author": "one item per original author",
                   "author_day": "one item per (original author, UTC day)"}[items],
        n_lines=int(len(raw)),
        by_interaction={str(k): int(v) for k, v in by_kind.items()},
        n_users=n_users_all,
        n_kept=int(sel.sum()),
    )
    return g
