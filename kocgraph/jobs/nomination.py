"""The nomination job: read a log, run the pipeline, write the ranked table and its companions.

:func:`nominate` is the one orchestration for every engine: it checks everything it can before
reading (:func:`~kocgraph.jobs.config.check_config`), reads the log, runs the stages of
:data:`kocgraph.pipeline.NOMINATION` through the engine, and writes the table, the rejected rows,
the left-out accounts and the manifest as one :class:`~kocgraph.jobs.outputs.OutputSet`. An engine
(:class:`JobEngine`) supplies the reading, the stages and the result tables for its kind of log:
:class:`MemoryJobEngine` here, the Spark engine in :mod:`kocgraph.spark`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from .._core.resources import (
    READ_MMAP_THRESHOLD,
    STAGE_MMAP_THRESHOLD,
    fixed_mmap_threshold,
    peak_rss_mib,
    release_memory,
    reset_peak,
)
from ..pipeline import NOMINATION, MemoryEngine, Stage, StageOptions, StageRecord, result, run_stages
from .capacity import check_memory
from .config import NominateConfig, NominateResult, NoUsableDataError, check_config
from .manifest import input_info, manifest_dict, no_usable_events_message
from .outputs import OutputSet, write_frame
from .pseudonyms import Pseudonymizer, pseudonymize_rejected, pseudonymize_table
from .staff import resolve_staff

__all__ = ["JobEngine", "MemoryJobEngine", "nominate", "read_input", "STAGES"]

#: what the job's progress bar counts: the read, the pipeline's stages, the write
STAGES = ("read_log", *(s.name for s in NOMINATION), "write")


class JobEngine(Protocol):
    """What the job needs from an engine, beyond running the stages (``run``)."""

    name: str

    def run(self, stage: Stage, log: Any, options: StageOptions) -> None: ...

    def read(self, log: Any, read_options: Mapping[str, Any]) -> Any: ...

    def counts(self, log: Any) -> dict[str, Any]: ...

    def graph_info(self, log: Any) -> dict[str, Any]: ...

    def staff(self, log: Any, cfg: NominateConfig, note: Callable[[str], None], show: Callable[[Any], Any]) -> list[Any]: ...

    def tables(self, log: Any, top: int, cfg: NominateConfig) -> tuple[pd.DataFrame, pd.DataFrame]: ...

    def stage_rejected(self, log: Any, outs: OutputSet, pseudo: Pseudonymizer | None) -> list[str]: ...

    def ranking_meta(self, log: Any) -> dict[str, Any]: ...

    def manifest_extra(self) -> dict[str, Any]: ...

    def input_info(self, cfg: NominateConfig, log: Any) -> dict[str, Any]: ...


def read_input(log: Any, read_options: Mapping[str, Any] | None = None) -> Any:
    """Read a log path / ``sample:NAME`` / DataFrame into a ShareGraph (``read_options`` go to read_log)."""
    import kocgraph as kg

    if isinstance(log, str) and log.startswith("sample:"):
        from ..datasets import load_sample

        return load_sample(log.split(":", 1)[1])
    return kg.read_log(log, **dict(read_options or {}))


class MemoryJobEngine(MemoryEngine):
    """The in-memory engine of the job: a :class:`~kocgraph.ShareGraph` and the ``kg`` tools."""

    def read(self, log: Any, read_options: Mapping[str, Any]) -> Any:
        check_memory(log, read_options)  # a log too large fails now, not when the system runs out
        return read_input(log, read_options)

    def counts(self, g: Any) -> dict[str, Any]:
        rep = dict(g.meta.get("read_log") or {})
        return {"rows_read": int(rep.get("rows_read", g.n_events)),
                "rows_accepted": int(rep.get("rows_accepted", g.n_events)),
                "rows_rejected": int(rep.get("rows_rejected", 0)),
                "rejected_by_reason": {str(k): int(v) for k, v in (rep.get("rejected_by_reason") or {}).items()}}

    def graph_info(self, g: Any) -> dict[str, Any]:
        return {"n_users": int(g.n_users), "n_items": int(g.n_items), "n_events": int(g.n_events),
                "n_edges": int(g.n_edges)}

    def staff(self, g: Any, cfg: NominateConfig, note: Callable[[str], None], show: Callable[[Any], Any]) -> list[Any]:
        return resolve_staff(g, cfg.staff_file, cfg.staff_ids, note=note, show=show)

    def tables(self, g: Any, top: int, cfg: NominateConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
        import kocgraph as kg

        return kg.get.kocs(g, n=top), kg.get.kocs(g, excluded=True)

    def stage_rejected(self, g: Any, outs: OutputSet, pseudo: Pseudonymizer | None) -> list[str]:
        import kocgraph as kg

        rejected = kg.get.rejected(g)
        if not len(rejected):
            return []
        dropped: list[str] = []
        if pseudo is not None:
            rejected, dropped = pseudonymize_rejected(rejected, pseudo, (g.meta.get("read_log") or {}).get("columns") or {})
        outs.stage("rejected", lambda tmp: write_frame(rejected, tmp, "csv"))
        return dropped

    def ranking_meta(self, g: Any) -> dict[str, Any]:
        km, comm, pr = result(g, "kocs"), result(g, "communities"), result(g, "pagerank")
        keys = ("features", "weights", "kol_cut", "n_eligible", "n_excluded", "fit", "fell_back", "fallback_reason")
        out = {k: km.get(k) for k in keys if k in km}
        out["communities"] = {"n": comm.get("n_communities"), "modularity": comm.get("modularity")}
        out["pagerank"] = {"n_iter": pr.get("n_iter"), "converged": pr.get("converged")}
        return out

    def manifest_extra(self) -> dict[str, Any]:
        return {"engine": {"name": self.name}}

    def input_info(self, cfg: NominateConfig, g: Any) -> dict[str, Any]:
        return input_info(cfg.log, g)


def nominate(cfg: NominateConfig, *, engine: JobEngine | None = None,
             note: Callable[[str], None] | None = None) -> NominateResult:
    """Run the nomination job described by ``cfg`` on ``engine`` (in memory by default).

    Raises :class:`~kocgraph.LogSchemaError` (missing or unreadable log, missing staff file),
    :class:`NoUsableDataError` (no usable event; the rejected rows and the manifest are still written),
    :class:`~kocgraph.NodeNotFoundError` (no staff id is a user of the log) and
    :class:`~kocgraph.InvalidParameterError` (bad option values: an unknown encoding or time zone, a
    ``sep`` longer than one character, a negative ``rng``, ``bootstrap`` above the cap or beyond
    memory; an output path that is missing, unwritable, not a regular file or an input) and, with the
    in-memory engine, :class:`~kocgraph.jobs.LogTooLargeError` (the log is estimated to need more
    memory than is available; :mod:`~kocgraph.jobs.capacity`). Every one of these is raised before
    the log is read.

    Examples
    --------
    >>> from kocgraph.jobs import NominateConfig, nominate
    >>> res = nominate(NominateConfig("sample:toy", staff_ids=["brand", "staff_li"], top=3, progress=False))
    >>> len(res.table), res.outputs
    (3, {})
    """
    engine = engine or MemoryJobEngine()
    say = note or (lambda _m: None)
    t_start = time.perf_counter()
    top, fmt, paths = check_config(cfg)
    pseudo = Pseudonymizer(cfg.pseudonymize) if cfg.pseudonymize is not None else None
    show: Callable[[Any], Any] = (lambda x: pseudo(x)) if pseudo is not None else (lambda x: x)
    run = _Run(cfg, engine, say, t_start, top, fmt, paths, pseudo, show)
    with run.progress():
        log = run.step("read_log", lambda: _read(engine, cfg))
        run.log = log
        counts = engine.counts(log)
        run.counts = counts
        if engine.graph_info(log)["n_events"] == 0:
            run.finish_empty()
        staff = engine.staff(log, cfg, run.note, show)
        options = StageOptions(staff=staff, kol_threshold=cfg.kol_threshold, per_community=cfg.per_community,
                               bootstrap=int(cfg.bootstrap), weights=cfg.weights, rng=cfg.rng)
        run_stages(log, options, engine=engine, progress=False, on_stage=run.record)
        table, excluded = engine.tables(log, top, cfg)
        if pseudo is not None:
            users_ix = pd.Index(list(table["user"]) + list(excluded["user"]), dtype=object)
            table = pseudonymize_table(table, pseudo, users_ix)
            excluded = pseudonymize_table(excluded, pseudo, users_ix)
        meta = {**engine.ranking_meta(log), "n_staff": len(staff), "n_listed": int(len(table))}
        man = run.step("write", lambda: run.write(table, excluded, meta))
    return NominateResult(table=table, excluded=excluded, outputs=run.outputs, manifest=man, graph=log,
                          notes=run.notes)


def _read(engine: JobEngine, cfg: NominateConfig) -> Any:
    """The engine's read, with glibc's mmap threshold fixed low while it runs and at the stages'
    value after (see :func:`~kocgraph._core.resources.fixed_mmap_threshold`)."""
    fixed_mmap_threshold(READ_MMAP_THRESHOLD)
    try:
        return engine.read(cfg.log, cfg.read_options)
    finally:
        fixed_mmap_threshold(STAGE_MMAP_THRESHOLD)


class _Run:
    """The bookkeeping of one run: notes, stage records, the progress bar, the output set."""

    def __init__(self, cfg: NominateConfig, engine: JobEngine, say: Callable[[str], None], t_start: float, top: int,
                 fmt: str, paths: dict[str, Path] | None, pseudo: Pseudonymizer | None,
                 show: Callable[[Any], Any]) -> None:
        self.cfg, self.engine, self.say, self.t_start = cfg, engine, say, t_start
        self.top, self.fmt, self.paths, self.pseudo, self.show = top, fmt, paths, pseudo, show
        self.timings: dict[str, float] = {}
        self.memory: dict[str, float | None] = {}
        self.notes: list[str] = []
        self.outputs: dict[str, str] = {}
        self.counts: dict[str, Any] = {}
        self.log: Any = None
        self.bar: Any = None

    def note(self, m: str) -> None:
        self.notes.append(m)
        self.say(m)

    @contextmanager
    def progress(self) -> Any:
        from tqdm import tqdm

        from .._core.progress import is_interactive

        show = self.cfg.progress if self.cfg.progress is not None else is_interactive()
        self.bar = tqdm(total=len(STAGES), desc="nominate", unit="stage", file=sys.stderr, disable=not show,
                        leave=False, dynamic_ncols=True)
        try:
            yield
        finally:
            self.bar.close()

    def record(self, name: str, rec: StageRecord) -> None:
        self.timings[name] = rec.seconds
        self.memory[name] = rec.peak_rss_mib
        self.bar.update(1)

    def step(self, name: str, fn: Callable[[], Any]) -> Any:
        self.bar.set_postfix_str(name, refresh=True)
        reset_peak()
        t0 = time.perf_counter()
        out = fn()
        release_memory()  # what the step freed goes back before the next one starts
        self.record(name, StageRecord(time.perf_counter() - t0, peak_rss_mib()))
        return out

    def manifest(self, status: str, ranking: dict[str, Any] | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        info = self.engine.input_info(self.cfg, self.log)
        return manifest_dict(
            self.cfg, status=status, top=self.top, fmt=self.fmt, show=self.show, pseudonymized=self.pseudo is not None,
            input_info=info, counts=self.counts, graph_info=self.engine.graph_info(self.log), kocs_meta=ranking,
            timings=self.timings, t_start=self.t_start, outputs=self.outputs,
            extra={"peak_rss_mib_by_stage": {k: None if v is None else round(v, 1) for k, v in self.memory.items()},
                   **self.engine.manifest_extra(), **(extra or {})},
        )

    def _commit(self, outs: OutputSet, status: str, ranking: dict[str, Any] | None, dropped: list[str]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if dropped:
            extra["rejected_columns_dropped"] = dropped
            self.note(f"note: pseudonymized: the rejected rows keep the log's known columns only; dropped {dropped}")
        if outs.removed_stale:
            extra["stale_temporaries_removed"] = outs.removed_stale
        self.outputs.update({k: v["path"] for k, v in outs.files.items()})
        self.outputs["manifest"] = str(outs.paths["manifest"].resolve())
        man = self.manifest(status, ranking, extra)
        self.outputs.update(outs.commit(man))
        return {**man, "run_id": outs.run_id, "files": outs.files}

    def finish_empty(self) -> None:
        """No usable event: write what there is (rejected rows, manifest) and stop."""
        msg = no_usable_events_message(self.counts)
        if self.paths is not None:
            outs = OutputSet(self.paths)
            try:
                dropped = self.engine.stage_rejected(self.log, outs, self.pseudo)
                self._commit(outs, "no_usable_events", None, dropped)
            except BaseException:
                outs.abort()
                raise
            msg += f"; the rejected rows are in {str(self.paths['rejected'])!r}" if "rejected" in self.outputs else ""
        raise NoUsableDataError(msg + ". Check the column options (--source/--target/--item/--time) and the file.")

    def write(self, table: pd.DataFrame, excluded: pd.DataFrame, ranking: dict[str, Any]) -> dict[str, Any]:
        if self.paths is None:  # nothing written: the same figures
            return self.manifest("ok", ranking)
        t0 = time.perf_counter()
        outs = OutputSet(self.paths)
        try:
            dropped = self.engine.stage_rejected(self.log, outs, self.pseudo)
            if len(excluded):
                outs.stage("excluded", lambda tmp: write_frame(excluded, tmp, "csv"))
            outs.stage("table", lambda tmp: write_frame(table, tmp, self.fmt, note=self.note))  # type: ignore[arg-type]
            self.timings["write"] = time.perf_counter() - t0  # up to the manifest, which comes last
            return self._commit(outs, "ok", ranking, dropped)
        except BaseException:
            outs.abort()
            raise
