"""The nomination pipeline, described once: its stages, their defaults, and the engines that run them.

Every caller runs the same stages in the same order with the same defaults: the nightly job
(:func:`kocgraph.jobs.nominate`), the HTML report, ``kocgraph bench`` and the notebooks. An
*engine* supplies one implementation per stage: :class:`MemoryEngine` calls the ``kg.tl`` tools on
a :class:`~kocgraph.ShareGraph`; the Spark engine (:mod:`kocgraph.spark`) supplies its own for logs
that outgrow one machine. :func:`run_stages` times each stage, records its peak memory, and shows
progress.

Examples
--------
>>> import kocgraph as kg
>>> from kocgraph.pipeline import StageOptions, run_stages
>>> g = kg.datasets.toy()
>>> records = run_stages(g, StageOptions(staff=["brand", "staff_li"]), progress=False)
>>> list(records)
['coreness', 'communities', 'cascades', 'pagerank', 'kocs']
>>> kg.get.kocs(g, n=1)["user"].tolist() == [g.nodes["koc_rank"].idxmin()]
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._core.resources import peak_rss_mib, release_memory, reset_peak
from ._core.tools import output_column, require
from .exceptions import InvalidParameterError

__all__ = ["Stage", "NOMINATION", "stage", "result", "column", "StageOptions", "StageRecord", "Engine", "MemoryEngine",
           "run_stages"]


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its name (also the engine's method name), what it computes, the
    ``kg.tl`` tool it runs and the ``key_added`` it runs under. Its results are found through the
    run's record ``g.meta[key]`` (:func:`result`, :func:`column`), never by a column name."""

    name: str
    words: str
    tool: str
    key: str


#: the nomination pipeline after the read, in order. The stages are independent until ``kocs``, which
#: reads them all; the order sets the memory peak. Coreness and communities share igraph's undirected
#: graph and run first, before the cascade forest (about 25 bytes per event) exists: Leiden's own work
#: is the job's largest transient, so it runs while the least else is held.
NOMINATION: tuple[Stage, ...] = (
    Stage("coreness", "k-core numbers", "tl.coreness", "coreness"),
    Stage("communities", "communities (Leiden)", "tl.communities", "community"),
    Stage("cascades", "cascade trees: who reached whom, each person's reach", "tl.cascades", "cascades"),
    Stage("pagerank", "influence PageRank", "tl.pagerank", "pagerank"),
    Stage("kocs", "the KOC ranking", "tl.kocs", "koc"),
)


def stage(name: str) -> Stage:
    """The :data:`NOMINATION` stage called ``name``."""
    for s in NOMINATION:
        if s.name == name:
            return s
    raise InvalidParameterError(f"the nomination pipeline has no stage {name!r}; its stages are "
                                f"{[s.name for s in NOMINATION]}.")


def result(g: Any, name: str) -> dict[str, Any]:
    """The record ``g.meta[key]`` that the pipeline's stage ``name`` left on ``g`` (its small results:
    ``modularity``, ``n_iter``, ``kol_cut``, ...). Raises NotComputedError naming the call when the
    stage has not run."""
    s = stage(name)
    return require(g, s.key, tool=s.tool, where=f"the pipeline's {name!r} stage")


def column(g: Any, name: str, output: str | None = None, *, frame: str = "nodes") -> Any:
    """The ``frame`` column holding output ``output`` of the pipeline's stage ``name``, found through
    the stage's record: ``column(g, "kocs", "rank")``, ``column(g, "pagerank")``,
    ``column(g, "cascades", "depth", frame="items")``."""
    s = stage(name)
    col = output_column(g, s.key, output, tool=s.tool, where=f"the pipeline's {name!r} stage", frame=frame)
    return getattr(g, frame)[col]


@dataclass
class StageOptions:
    """The options of the pipeline's stages, with the defaults every caller shares.

    ``staff`` are the operator's own accounts (left out of the ranking); ``kol_threshold``,
    ``per_community``, ``bootstrap`` and ``weights`` go to :func:`kocgraph.tl.kocs`; ``rng`` seeds
    the communities and everything random in the ranking.
    """

    staff: Sequence[Any] = ()
    kol_threshold: int | str | None = "auto"
    per_community: int | None = None
    bootstrap: int = 0
    weights: Any = None
    rng: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageRecord:
    """What a stage cost: seconds, and the peak resident memory during it (MiB; None when the
    platform cannot tell)."""

    seconds: float
    peak_rss_mib: float | None


class Engine(Protocol):
    """Runs the stages on its own kind of log (one method per :data:`NOMINATION` stage name)."""

    name: str

    def run(self, stage: Stage, log: Any, options: StageOptions) -> None: ...


class MemoryEngine:
    """The in-memory engine: each stage is the ``kg.tl`` tool of that name on a ShareGraph."""

    name = "memory"

    def run(self, stage: Stage, log: Any, options: StageOptions) -> None:
        import kocgraph as kg

        key = stage.key
        if stage.name == "cascades":
            kg.tl.cascades(log, key_added=key)
        elif stage.name == "pagerank":
            kg.tl.pagerank(log, key_added=key)
        elif stage.name == "coreness":
            kg.tl.coreness(log, key_added=key)
        elif stage.name == "communities":
            kg.tl.communities(log, rng=options.rng, key_added=key)
        elif stage.name == "kocs":
            kw: dict[str, Any] = {"staff": list(options.staff) or None, "kol_threshold": options.kol_threshold,
                                  "per_community": options.per_community, "bootstrap": int(options.bootstrap),
                                  "rng": options.rng, "key_added": key}
            if options.weights is not None:
                kw["weights"] = options.weights
            kg.tl.kocs(log, **kw)
        else:  # pragma: no cover - NOMINATION names every stage above
            raise ValueError(f"the memory engine has no stage {stage.name!r}")


def run_stages(
    log: Any,
    options: StageOptions,
    *,
    engine: Engine | None = None,
    stages: Sequence[Stage] = NOMINATION,
    progress: bool | None = None,
    on_stage: Callable[[str, StageRecord], None] | None = None,
    records: Mapping[str, StageRecord] | None = None,
) -> dict[str, StageRecord]:
    """Run ``stages`` on ``log`` with ``engine`` (the in-memory one by default), in order.

    Returns each stage's :class:`StageRecord` (time and peak memory, the peak measured from the
    stage's start where Linux allows resetting it); ``on_stage`` is called after each stage. After
    each stage the memory it freed is handed back to the system
    (:func:`~kocgraph._core.resources.release_memory`), so the next one starts lower.
    ``progress`` shows a bar over the stages (None: only in a terminal or Jupyter).
    """
    from ._core.progress import progress_bar

    engine = engine or MemoryEngine()
    out: dict[str, StageRecord] = dict(records or {})
    with progress_bar(progress, total=len(stages), desc="stages", unit="stage", where="kocgraph.pipeline") as bar:
        for stage in stages:
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(stage.name, refresh=True)
            reset_peak()
            t0 = time.perf_counter()
            engine.run(stage, log, options)
            release_memory()  # what the stage freed goes back before the next one starts
            rec = StageRecord(time.perf_counter() - t0, peak_rss_mib())
            out[stage.name] = rec
            if on_stage is not None:
                on_stage(stage.name, rec)
            bar.update(1)
    return out
