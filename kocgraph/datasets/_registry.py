"""Named sample logs with a stated size and seed, cached on disk after the first build."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..exceptions import InvalidParameterError

__all__ = ["SAMPLES", "samples", "load_sample", "cache_dir"]


@dataclass(frozen=True)
class Sample:
    name: str
    description: str
    params: dict[str, Any]
    approx_events: int


SAMPLES: dict[str, Sample] = {
    s.name: s
    for s in (
        Sample("toy", "hand-checkable toy log: 30 events, 17 users, 3 items", {}, 30),
        Sample("synthetic-1e5", "synthetic log, about 1e5 events", {"n_users": 100_000, "n_items": 1_700, "rng": 0}, 105_562),
        Sample("synthetic-1e6", "synthetic log, about 1e6 events", {"n_users": 100_000, "n_items": 18_500, "rng": 0}, 1_000_871),
        Sample("synthetic-1e7", "synthetic log, about 1e7 events", {"n_users": 1_000_000, "n_items": 93_000, "rng": 0}, 10_095_236),
        Sample(
            "planted-koc",
            "50 planted KOCs among 20,000 users, plus 25 loud broadcasters who forward as much but move "
            "nobody; ids in g.meta['synthetic']['planted'] and ['broadcasters']",
            {"n_users": 20_000, "n_items": 1_500, "n_planted": 50, "n_broadcasters": 25, "rng": 7},
            60_000,
        ),
    )
}


def cache_dir() -> Path:
    """Where generated sample logs are cached: ``$KOCGRAPH_CACHE``, else ``$XDG_CACHE_HOME/kocgraph``,
    else ``~/.cache/kocgraph``."""
    env = os.environ.get("KOCGRAPH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kocgraph"


def samples() -> pd.DataFrame:
    """The registry of named sample logs.

    Examples
    --------
    >>> import kocgraph as kg
    >>> "planted-koc" in kg.datasets.samples().index
    True
    """
    return pd.DataFrame(
        [{"name": s.name, "description": s.description, "approx_events": s.approx_events,
          "seed": s.params.get("rng")} for s in SAMPLES.values()]
    ).set_index("name")


def load_sample(name: str, *, cache: bool = True) -> Any:
    """Load a named sample log as a ShareGraph, generating and caching it on first use.

    The cache file name holds the sample's seed, the kocgraph version and a hash of its parameters
    and of the generator's version, so a new version or a changed sample never reads a stale log.

    Examples
    --------
    >>> import kocgraph as kg
    >>> kg.datasets.load_sample("toy").n_events
    30
    """
    from ..io.readers import read_log
    from . import synthetic_frame, toy

    if name not in SAMPLES:
        raise InvalidParameterError(
            f"sample {name!r} is not in the registry; known samples are {list(SAMPLES)}. See kg.datasets.samples()."
        )
    if name == "toy":
        return toy()
    s = SAMPLES[name]
    import hashlib
    import json

    from ._synthetic import GENERATOR_VERSION

    tag = hashlib.sha256(json.dumps([GENERATOR_VERSION, s.params], sort_keys=True).encode()).hexdigest()[:8]
    path = cache_dir() / f"{name}-seed{s.params.get('rng')}-v{__version__}-{tag}.parquet"
    truth: dict[str, Any] | None = None
    if cache and path.exists() and path.with_suffix(".json").exists():
        truth = json.loads(path.with_suffix(".json").read_text())
        g = read_log(path, time_unit="s")  # the file itself: streamed, as any Parquet log
    else:
        df, truth = synthetic_frame(**s.params)
        if cache:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            df.to_parquet(tmp, index=False)
            path.with_suffix(".json").write_text(json.dumps(truth))
            os.replace(tmp, path)
        g = read_log(df, time_unit="s")
    g.meta["synthetic"] = truth
    g.meta["dataset"] = {"name": name, "staff": truth["staff"] if truth else []}
    return g
