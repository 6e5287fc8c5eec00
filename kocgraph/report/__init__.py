"""The shareable report: one self-contained HTML file for people who have never seen Python.

:func:`build_report` runs the nomination pipeline (:func:`kocgraph.pipeline.run_stages`) and the
extras on a copy of the graph (:func:`report_data`: routes from the staff to the top KOCs, the
partners to recruit, the backtest), then renders the page (:mod:`kocgraph.report.sections`). It
opens with **what to do next** (whether the list beat simpler rules, the people to contact with the
introducer to ask and the chance it works, the partners to recruit, the big accounts to buy rather
than develop), then the evidence, then an appendix (data quality, method, glossary).

The page is one file: CSS inline (``style.css``), the layout from ``template.html`` (both package
data), every plot a PNG data URI, no script, no link, no font or image fetched from anywhere (a
Content-Security-Policy in the page forbids it). ``kocgraph report LOG --staff staff.txt --out
report.html`` writes it atomically (the command lives in :mod:`kocgraph.cli_report`).

Examples
--------
>>> import kocgraph as kg
>>> from kocgraph.report import build_report
>>> page = build_report(kg.datasets.toy(), staff=["brand", "staff_li"], top=5, progress=False)
>>> page.startswith("<!DOCTYPE html>") and 'id="next"' in page and "brand → bob → carol" in page
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ._data import ReportData, Verdict, report_data, verdict
from ._seeding import SEED_MEMORY_BUDGET, seeding_memory
from .sections import SECTIONS

__all__ = ["build_report", "write_report", "report_data", "ReportData", "Verdict", "verdict", "seeding_memory",
           "SECTIONS", "SEED_MEMORY_BUDGET"]


def build_report(
    g: Any,
    *,
    staff: Iterable[Any] | None = None,
    top: int = 20,
    seeds: int | None = 10,
    title: str | None = None,
    rng: int = 0,
    pseudonymize: Any = None,
    backtest: bool = True,
    kol_threshold: int | str | None = "auto",
    source: str | None = None,
    notes: Sequence[str] = (),
    note: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> str:
    """Build the self-contained HTML report of a forwarding log; return the page as a string.

    Works on a copy of ``g``: the graph passed in is left as it was.

    Parameters
    ----------
    g
        The graph (from :func:`kocgraph.read_log`), with at least one event.
    staff
        The operator's own accounts: excluded from the KOCs, the starting points of routes, and the
        reach the partners are chosen beyond. Without staff the page says so.
    top
        How many KOCs to list (and to highlight on the map); "What to do next" shows the first 10.
    seeds
        How many partners to recruit (default 10), chosen with :func:`kocgraph.tl.seeds` (IMM, sized to
        finish in seconds: ``epsilon=0.2``, 100 simulations to check the spread) among the ranked KOC
        candidates, counting only reach beyond the staff's. None leaves them out. A log too dense to
        seed within :data:`SEED_MEMORY_BUDGET` (estimated first, with :func:`seeding_memory`) gets a
        note instead, so a dense log never blows past memory.
    title
        The page title (default "KOC report" plus the input's name).
    rng
        Seed of the communities, the map's layout, the backtest, the seeding and the simulations.
    pseudonymize
        A salt: every user id on the page (tables and pictures) becomes ``p_`` + 16 hex of
        HMAC-SHA256(salt, id), as in ``kocgraph nominate --pseudonymize``.
    backtest
        Include the backtest (it ranks the first 70% of the time again; skip it on very large logs)
        and, from it, the verdict sentence.
    kol_threshold
        Passed to :func:`kocgraph.tl.kocs`: accounts above it are the "big accounts" listed apart.
    source
        A name for the input shown on the page (e.g. the log's file name).
    notes
        Extra lines for the data-quality appendix (e.g. staff ids not found in the log).
    note
        Called with a line for the operator when part of the page had to be left out (seeds on a log
        too dense for :data:`SEED_MEMORY_BUDGET`; the page says the same).
    progress
        Progress bars over the pipeline's stages and the seeding (None: only in a terminal or Jupyter).

    Returns
    -------
    str
        The HTML page (UTF-8 text).

    Examples
    --------
    >>> import kocgraph as kg
    >>> from kocgraph.report import build_report
    >>> page = build_report(kg.datasets.toy(), staff=["brand"], top=3, pseudonymize="salt", backtest=False,
    ...                     progress=False)
    >>> "alice" in page, page.index('id="next"') < page.index('id="network"')
    (False, True)
    """
    from .sections import render

    data = report_data(g, staff=staff, top=top, seeds=seeds, title=title, rng=rng, pseudonymize=pseudonymize,
                       backtest=backtest, kol_threshold=kol_threshold, source=source, notes=notes, note=note,
                       progress=progress)
    return render(data)


def write_report(page: str, out: str | Path) -> Path:
    """Write the page atomically (a temporary file beside ``out``, then a rename)."""
    from ..jobs import atomic_write

    return atomic_write(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))
