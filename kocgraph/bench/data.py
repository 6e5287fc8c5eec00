"""The benchmark logs: calibrated synthetic sizes and the named samples, written once as CSV and cached.

A benchmark reads a *file* (the ``read`` stage times ``kg.read_log`` on it), so every input is a CSV log
with the columns ``source,target,item,time`` (string user ids such as ``u0000042`` / ``staff_001``,
string item ids, epoch seconds for synthetic logs). :func:`resolve_log` accepts a size label
(``1e4`` .. ``1e7``, also written ``synthetic-1e5`` as in the :mod:`kocgraph.datasets` registry) or a
registry name (``toy``, ``planted-koc``, ...).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["SIZES", "SEED", "COLUMNS", "bench_cache_dir", "make_log", "sample_log", "resolve_log", "known_sizes"]

#: event-count label -> synthetic_frame parameters, calibrated with rng=0 on kocgraph 0.1.0 (the events
#: per item grow with the population: about 50/item at 1e4-1e5 users, about 108/item at 1e6 users, and
#: swing by +-15% with n_items because a few staff-started items are huge). Measured counts: 1e4 ->
#: 9,248; 1e5 -> 105,562; 1e6 -> 1,000,871; 1e7 -> 10,095,236 events. The 1e5..1e7 parameters are
#: those of the registry samples ``synthetic-1e5`` .. ``synthetic-1e7``.
SIZES: dict[str, dict[str, int]] = {
    "1e4": {"n_users": 10_000, "n_items": 195},
    "1e5": {"n_users": 100_000, "n_items": 1_700},
    "1e6": {"n_users": 100_000, "n_items": 18_500},
    "1e7": {"n_users": 1_000_000, "n_items": 93_000},
}
SEED = 0
COLUMNS = ["source", "target", "item", "time"]
#: staff ids of a synthetic log made with the default n_staff=5 (for cached logs that predate the
#: ``staff`` entry of their info file)
_DEFAULT_STAFF = [f"staff_{i:03d}" for i in range(5)]


def bench_cache_dir() -> Path:
    """``$KOCGRAPH_BENCH_CACHE``, else ``<kg.datasets.cache_dir()>/bench``."""
    env = os.environ.get("KOCGRAPH_BENCH_CACHE")
    if env:
        return Path(env)
    from ..datasets import cache_dir

    return cache_dir() / "bench"


def known_sizes() -> list[str]:
    """Every label :func:`resolve_log` accepts: the size labels, then the registry sample names."""
    from ..datasets import SAMPLES

    return list(SIZES) + list(SAMPLES)


def _write_csv(df: Any, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    df = df[COLUMNS]
    time_col = df["time"].to_numpy()
    table = pa.table({
        "source": pa.array(df["source"].astype(str).to_numpy(), type=pa.string()),
        "target": pa.array(df["target"].astype(str).to_numpy(), type=pa.string()),
        "item": pa.array(df["item"].astype(str).to_numpy(), type=pa.string()),
        "time": pa.array(time_col, type=pa.int64()) if time_col.dtype.kind in "iu"
        else pa.array(df["time"].astype(str).to_numpy(), type=pa.string()),
    })
    tmp = path.with_suffix(".tmp")
    pacsv.write_csv(table, tmp)
    os.replace(tmp, path)


def make_log(size: str, *, seed: int = SEED, cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """The CSV log of a size label (:data:`SIZES`), generated once and cached.

    Columns ``source,target,item,time`` from :func:`kocgraph.datasets.synthetic_frame`. The cache file
    name holds the size, parameters, seed and kocgraph version. Returns ``(path, info)``; ``info`` holds
    the event count, the file size and the staff ids.
    """
    import kocgraph as kg

    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {list(SIZES)}")
    p = SIZES[size]
    d = Path(cache_dir) if cache_dir is not None else bench_cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"bench-{size}-u{p['n_users']}-i{p['n_items']}-seed{seed}-v{kg.__version__}.csv"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        info = json.loads(meta_path.read_text())
        if "staff" not in info:  # written before the staff were recorded: the generator's default names
            info["staff"] = _DEFAULT_STAFF
            meta_path.write_text(json.dumps(info))
        return path, info
    t0 = time.perf_counter()
    df, truth = kg.datasets.synthetic_frame(p["n_users"], p["n_items"], rng=seed)
    gen_s = time.perf_counter() - t0
    _write_csv(df, path)
    info = {"size": size, **p, "seed": seed, "n_events": int(len(df)), "bytes": path.stat().st_size,
            "generate_s": round(gen_s, 3), "kocgraph": kg.__version__, "staff": list(truth.get("staff", []))}
    meta_path.write_text(json.dumps(info))
    return path, info


def sample_log(name: str, *, cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """A registry sample (:func:`kocgraph.datasets.samples`) as a cached CSV log; ``(path, info)``.

    ``info`` holds the staff ids (and the planted ids where the sample has them).
    """
    import kocgraph as kg

    from ..datasets import SAMPLES

    if name not in SAMPLES:
        raise ValueError(f"sample {name!r} is not in the registry; known: {list(SAMPLES)}")
    for size in SIZES:  # the registry's synthetic-1eN are the calibrated sizes
        if name == f"synthetic-{size}" and SAMPLES[name].params == {**SIZES[size], "rng": SEED}:
            path, info = make_log(size, cache_dir=cache_dir)
            return path, {**info, "size": name}
    s = SAMPLES[name]
    d = Path(cache_dir) if cache_dir is not None else bench_cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"sample-{name}-seed{s.params.get('rng')}-v{kg.__version__}.csv"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    if name == "toy":
        df = kg.datasets.toy_frame()
        truth: dict[str, Any] = {"staff": kg.datasets.toy().meta["dataset"]["staff"]}
    else:
        df, truth = kg.datasets.synthetic_frame(**s.params)
    _write_csv(df, path)
    info = {"size": name, "sample": name, "n_events": int(len(df)), "bytes": path.stat().st_size,
            "kocgraph": kg.__version__, "staff": list(truth.get("staff", [])),
            **({"planted": list(truth["planted"])} if truth.get("planted") else {})}
    meta_path.write_text(json.dumps(info))
    return path, info


def resolve_log(label: str, *, cache_dir: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]]:
    """A size label (``1e5``) or a registry name (``toy``, ``planted-koc``, ``synthetic-1e6``) -> ``(path, info)``."""
    from ..datasets import SAMPLES

    lab = label.strip()
    if lab in SIZES:
        return make_log(lab, cache_dir=cache_dir)
    if lab in SAMPLES:
        return sample_log(lab, cache_dir=cache_dir)
    raise ValueError(f"unknown size {label!r}; known: {known_sizes()}")
