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
['cascades', 'pagerank', 'coreness', 'communities', 'kocs']
>>> kg.get.kocs(g, n=1)["user"].tolist() == [g.nodes["koc_rank"].idxmin()]
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._core.resources import peak_rss_mib, release_memory, reset_peak

__all__ = ["Stage", "NOMINATION", "StageOptions", "StageRecord", "Engine", "MemoryEngine", "run_stages"]


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline: its name (also the engine's method name) and what it computes."""

    name: str
    words: str


#: the nomination pipeline after the read, in order
NOMINATION: tuple[Stage, ...] = (
    Stage("cascades", "cascade trees: who reached whom, each person's reach"),
    Stage("pagerank", "influence PageRank"),
    Stage("coreness", "k-core numbers"),
    Stage("communities", "communities (Leiden)"),
    Stage("kocs", "the KOC ranking"),
)


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

        if stage.name == "cascades":
            kg.tl.cascades(log)
        elif stage.name == "pagerank":
            kg.tl.pagerank(log)
        elif stage.name == "coreness":
            kg.tl.coreness(log)
        elif stage.name == "communities":
            kg.tl.communities(log, rng=options.rng)
        elif stage.name == "kocs":
            kw: dict[str, Any] = {"staff": list(options.staff) or None, "kol_threshold": options.kol_threshold,
                                  "per_community": options.per_community, "bootstrap": int(options.bootstrap),
                                  "rng": options.rng}
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
