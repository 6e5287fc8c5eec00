"""The shareable report: one self-contained HTML file for people who have never seen Python.

:func:`build_report` runs the nomination pipeline (cascades, PageRank, coreness, communities, KOC
ranking, routes from the staff accounts to the top KOCs, and, when available, the backtest and
seeding) on a copy of the graph, and returns one HTML page: CSS inline, every plot a PNG data URI,
no script, no link, no font or image fetched from anywhere (a Content-Security-Policy in the page
forbids it). ``kocgraph report LOG --staff staff.txt --out report.html`` writes it atomically.

Sections (each a ``<section id=...>``; see :data:`SECTIONS`): at a glance, what was read (ingest
summary and the rows set aside, by reason in plain words), the forwarding map, how concentrated
reach is, the top KOCs with their reasons and the best route to each, communities, the backtest,
seeds (only when asked for), and about this report. Every section opens with a short "how to read
this" paragraph.

Examples
--------
>>> import kocgraph as kg
>>> from kocgraph.report import build_report
>>> page = build_report(kg.datasets.toy(), staff=["brand", "staff_li"], top=5)
>>> page.startswith("<!DOCTYPE html>") and 'id="kocs"' in page and "brand → alice" in page
True
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .exceptions import InvalidParameterError

__all__ = ["build_report", "write_report", "add_report_command", "seeding_memory", "SECTIONS", "SEED_MEMORY_BUDGET"]

#: section ids of the page, in order, and their headings (``seeds`` only when seeds were asked for)
SECTIONS: dict[str, str] = {
    "summary": "At a glance",
    "ingest": "What was read",
    "network": "Who forwards to whom",
    "concentration": "How concentrated the reach is",
    "kocs": "The people to work with (top KOCs)",
    "communities": "Groups that forward among themselves (communities)",
    "backtest": "Would this list have predicted what happened next? (backtest)",
    "seeds": "Whom to recruit for the widest spread (seeds)",
    "about": "About this report",
}

#: the backtest's methods, in plain words
_METHOD_WORDS = {
    "koc": "KOC score (this report's ranking)",
    "out_degree": "most people forwarded to",
    "in_degree": "most people received from",
    "pagerank_plain": "plain PageRank",
    "coreness": "most central in the network (coreness)",
    "past_reach": "largest reach so far",
}

#: why no route reaches a KOC, in plain words
_UNREACHABLE_WORDS = {
    "is_isolated": "no route: this person has no forwarding link at all",
    "no_in_edges": "no route: nobody ever forwarded content to this person",
    "no_path_from_sources": "no route: no chain of forwards leads from the staff accounts to this person",
}

#: the most memory the report's seeding may take (reverse-reachable-set sampling; at most half the
#: memory available, too). A log so dense that seeding would need more gets a "too dense" note on the
#: page, and on stderr from the command line, instead of seeds. 1 GiB lets a batch of 50,000 RR sets
#: expand users who receive from about 500 others on average.
SEED_MEMORY_BUDGET = 1 << 30
#: bytes alive per (RR set, in-edge) pair while the sampler expands one breadth-first level
#: (measured: 37.5-37.9 with tracemalloc on a 1,500-user all-to-all graph, batches of 2,000 and 8,000)
_RR_BYTES_PER_PAIR = 40

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_CSS = """
:root { --ink: #222; --muted: #5f6368; --line: #dadce0; --accent: #c5221f; --band: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
                    "PingFang SC", "Microsoft YaHei", Arial, sans-serif; font-size: 16px; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 64px; }
header.kg-top { border-bottom: 3px solid var(--accent); margin-bottom: 8px; }
h1 { font-size: 30px; margin: 8px 0 4px; }
h2 { font-size: 23px; margin: 0 0 8px; padding-top: 8px; }
h3 { font-size: 17px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 14px; }
nav.toc { background: var(--band); border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px;
          margin: 16px 0 8px; }
nav.toc ol { margin: 4px 0; padding-left: 22px; columns: 2; }
nav.toc a { color: #1a4f9c; text-decoration: none; }
section.kg-section { border-top: 1px solid var(--line); padding: 18px 0 10px; margin-top: 18px; }
p.how { background: var(--band); border-left: 4px solid #1a73e8; padding: 10px 14px; margin: 8px 0 14px;
        border-radius: 0 6px 6px 0; }
p.how strong { color: #1a4f9c; }
p.note { color: var(--muted); font-size: 14px; }
p.unavailable { background: #fff4e5; border-left: 4px solid #f29900; padding: 10px 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { flex: 1 1 160px; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .big { font-size: 26px; font-weight: 700; }
.card .lbl { color: var(--muted); font-size: 14px; }
ul.facts li { margin: 4px 0; }
div.scroll { overflow-x: auto; max-width: 100%; }
table.kg { border-collapse: collapse; width: 100%; margin: 8px 0 14px; font-size: 14px; }
table.kg th, table.kg td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
                           vertical-align: top; }
table.kg th { background: var(--band); font-weight: 600; }
table.kg th.num { text-align: right; }
table.kg td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.kg td.why { min-width: 16em; }
table.kg td.id { overflow-wrap: anywhere; min-width: 7em; }
table.kg tr:nth-child(even) td { background: #fcfcfd; }
table.kg td.route { min-width: 14em; }
figure { margin: 10px 0 18px; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 4px; }
code { background: var(--band); padding: 1px 4px; border-radius: 4px; }
footer { color: var(--muted); font-size: 13px; margin-top: 28px; }
@media print { nav.toc { display: none; } section.kg-section { page-break-inside: avoid; } }
"""


# ------------------------------------------------------------------------------------------------ formatting
def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _finite(v: Any) -> float | None:
    """``v`` as a finite float, or None (missing, NaN, infinite or not a number): shown as a dash."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def _int(v: Any) -> str:
    """A whole number with thousands separators ("1,234,567"); a dash for missing."""
    f = _finite(v)
    return "–" if f is None else f"{int(round(f)):,}"


def _num(v: Any, digits: int = 1) -> str:
    f = _finite(v)
    return "–" if f is None else f"{f:,.{digits}f}"


def _pct(p: Any) -> str:
    """A share as a percentage: "29%", "4.5%", "0.25%"."""
    f = _finite(p)
    if f is None:
        return "–"
    v = 100.0 * f
    if v == 0 or v >= 10:
        return f"{v:,.0f}%"
    if v >= 1:
        return f"{v:.1f}%"
    return f"{v:.2g}%"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _when(ts: Any) -> str:
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError):
        return str(ts)
    if t is pd.NaT:
        return "–"
    return t.strftime("%Y-%m-%d %H:%M") + (f" {t.tzname()}" if t.tzinfo is not None else "")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Iterable[int] = (),
           raw: Iterable[int] = (), classes: dict[int, str] | None = None, cls: str = "kg") -> str:
    """An HTML table; cells are escaped unless their column is in ``raw`` (already HTML). ``numeric``
    columns are right-aligned; ``classes`` gives a CSS class to a column's cells."""
    num, raw_set = set(numeric), set(raw)
    col_cls = {i: " ".join(c for c in (("num" if i in num else ""), (classes or {}).get(i, "")) if c)
               for i in range(len(headers))}
    attr = {i: f' class="{c}"' if c else "" for i, c in col_cls.items()}
    head = "".join(f"<th{attr[i]}>{_esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            text = str(v) if i in raw_set else _esc(v)
            cells.append(f"<td{attr.get(i, '')}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _how(text: str) -> str:
    return f'<p class="how"><strong>How to read this.</strong> {text}</p>'


def _figure(uri: str | None, alt: str, caption: str = "", error: str | None = None) -> str:
    if uri is None:
        why = (error or "unknown error").rstrip(". ")
        return f'<p class="unavailable">This picture could not be drawn: {_esc(why)}.</p>'
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{_esc(alt)}">{cap}</figure>'


# ------------------------------------------------------------------------------------------------ plotting
def _plot(draw: Callable[[Any], Any], figsize: tuple[float, float], *,
          dpi: int = 100) -> tuple[str | None, Any, str | None]:
    """Draw into a fresh Figure (no pyplot: no stray figures, no GUI backend) and return its data URI,
    what the plot recorded (``ax.kocgraph``), and the error message when drawing failed."""
    from matplotlib.figure import Figure

    from .pl import savefig_base64

    fig = Figure(figsize=figsize, layout=None)
    ax = fig.add_subplot()
    try:
        out = draw(ax)
        info = getattr(out if out is not None else ax, "kocgraph", {})
        return savefig_base64(fig, dpi=dpi), info, None
    except Exception as err:  # a picture that fails must not take the whole report down
        return None, {}, f"{type(err).__name__}: {err}"


def _resolve_pseudonymizer(pseudonymize: Any) -> Any:
    from .jobs import Pseudonymizer

    if pseudonymize is None or isinstance(pseudonymize, Pseudonymizer):
        return pseudonymize
    if isinstance(pseudonymize, str):
        return Pseudonymizer(pseudonymize)
    raise InvalidParameterError(
        f"pseudonymize={pseudonymize!r} must be a salt (a non-empty string) or None; pass e.g. pseudonymize='s3cret'."
    )


# ------------------------------------------------------------------------------------------------ seeding bound
def seeding_memory(g: Any, *, levels: int = 64, stop_above: float | None = None) -> int:
    """Expected peak bytes of the RR-set sampling behind :func:`kocgraph.tl.seeds` on ``g``, before any
    sampling (tie strengths are computed when missing, as ``kg.tl.seeds`` would).

    The sampler expands a batch of ``B`` RR sets (50,000, the kernel's batch) one breadth-first level
    at a time, holding one row per (set, in-edge of a frontier user) pair, about 40 bytes each. With
    ``x_L[u]`` the chance that user ``u`` is on a set's frontier at level ``L`` (``x_0 = 1/n``: a
    uniform root; ``x_{L+1} = min(1 - seen, A_p x_L)``, the union bound over ``u``'s receivers with
    the forward probabilities ``A_p``), level ``L`` holds ``B * sum_u x_L[u] * indeg(u)`` pairs on
    average; the estimate is the largest level within ``levels`` (it stops early once above
    ``stop_above`` bytes). On a 1,500-user all-to-all log it says 2.8 GiB; the sampler measured
    2.65 GiB above the graph's own memory. The RR sets kept afterwards are bounded by the kernel's
    own cap (20 million sets), not here.

    Examples
    --------
    >>> import kocgraph as kg
    >>> from kocgraph.report import seeding_memory
    >>> 0 < seeding_memory(kg.datasets.toy()) < 2**25  # a few MiB on the toy log
    True
    """
    import scipy.sparse as sp

    from .algorithms.imm import _BATCH
    from .tl._grow import edge_probabilities

    n = int(g.n_users)
    if n == 0 or g.n_edges == 0:
        return 0
    indptr, indices, p, _ = edge_probabilities(g, "tie_strength")
    Ap = sp.csr_matrix((p, indices, indptr), shape=(n, n))
    indeg = np.bincount(indices, minlength=n).astype(np.float64)  # the sampler's work per frontier user
    x = np.full(n, 1.0 / n)
    seen = x.copy()
    peak = 0.0
    for _ in range(levels):
        peak = max(peak, _BATCH * float(x @ indeg) * _RR_BYTES_PER_PAIR)
        if stop_above is not None and peak > stop_above:
            break
        x = np.minimum(Ap @ x, 1.0 - seen)
        seen += x
        if x.sum() * _BATCH < 1.0:  # less than one frontier user left in a whole batch
            break
    return int(peak)


def _seeding_too_dense(work: Any, k: int) -> str | None:
    """Why seeding must be skipped for memory (a sentence), or None when it fits the budget."""
    from ._core.resources import available_memory

    avail = available_memory()
    budget = SEED_MEMORY_BUDGET if avail is None else min(SEED_MEMORY_BUDGET, avail // 2)
    need = seeding_memory(work, stop_above=budget)
    if need <= budget:
        return None
    mean_in = work.n_edges / max(work.n_users, 1)
    return (f"this log is too dense for seeding within this report's memory budget: choosing {k} seed(s) would "
            f"need about {need / 2**30:,.1f} GiB (each of the {_int(work.n_users)} people receives from "
            f"{_num(mean_in, 0)} others on average), and the budget is {budget / 2**30:,.1f} GiB. Choose seeds on "
            "a time window or a sample of the log, or call kg.tl.seeds in Python on a machine with more memory")


# ------------------------------------------------------------------------------------------------ builder
def build_report(
    g: Any,
    *,
    staff: Iterable[Any] | None = None,
    top: int = 20,
    seeds: int | None = None,
    title: str | None = None,
    rng: int = 0,
    pseudonymize: Any = None,
    backtest: bool = True,
    kol_threshold: int | str | None = "auto",
    source: str | None = None,
    notes: Sequence[str] = (),
    note: Callable[[str], None] | None = None,
) -> str:
    """Build the self-contained HTML report of a forwarding log; return the page as a string.

    Works on a copy of ``g``: the graph passed in is left as it was.

    Parameters
    ----------
    g
        The graph (from :func:`kocgraph.read_log`), with at least one event.
    staff
        The operator's own accounts: excluded from the KOCs, and the starting points of routes.
        Without staff the routes column says so.
    top
        How many KOCs to list (and to highlight on the map).
    seeds
        When given, also choose this many seeds with :func:`kocgraph.tl.seeds` (IMM), excluding the
        reach the staff accounts already have; the section says so if seeding is not available,
        or if the log is too dense to seed within :data:`SEED_MEMORY_BUDGET` (estimated first, with
        :func:`seeding_memory`, so a dense log never blows past memory).
    title
        The page title (default "KOC report" plus the input's name).
    rng
        Seed of the communities, the map's layout, the backtest and the seeding.
    pseudonymize
        A salt: every user id on the page (tables and pictures) becomes ``p_`` + 16 hex of
        HMAC-SHA256(salt, id), as in ``kocgraph nominate --pseudonymize``.
    backtest
        Include the backtest (it ranks the first 70% of the time again; skip it on very large logs).
    kol_threshold
        Passed to :func:`kocgraph.tl.kocs`.
    source
        A name for the input shown on the page (e.g. the log's file name).
    notes
        Extra lines for the "what was read" section (e.g. staff ids not found in the log).
    note
        Called with a line for the operator when part of the page had to be left out (seeds on a log
        too dense for :data:`SEED_MEMORY_BUDGET`; the page's seeds section says the same).

    Returns
    -------
    str
        The HTML page (UTF-8 text).

    Examples
    --------
    >>> import kocgraph as kg
    >>> from kocgraph.report import build_report
    >>> page = build_report(kg.datasets.toy(), staff=["brand"], top=3, pseudonymize="salt", backtest=False)
    >>> "alice" in page, 'id="network"' in page
    (False, True)
    """
    import kocgraph as kg

    from ._core.tools import check_graph
    from ._core.validation import REASONS, check_int
    from .jobs import NoUsableDataError

    where = "kocgraph.report.build_report"
    g = check_graph(g, where)
    top = check_int("top", top, minimum=1, where=where)
    if seeds is not None:
        seeds = check_int("seeds", seeds, minimum=1, where=where)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise InvalidParameterError(f"rng={rng!r} must be an int seed for the report (same seed, same report).")
    rng = int(rng)
    pseudo = _resolve_pseudonymizer(pseudonymize)
    if g.n_events == 0:
        raise NoUsableDataError(
            "no usable event in the log, so there is nothing to report; see kg.get.rejected(g) for the rows set aside."
        )
    staff_list = [] if staff is None else ([staff] if isinstance(staff, (str, int, np.integer)) else list(staff))
    if staff_list:
        g.user_codes(staff_list, what="staff")  # NodeNotFoundError naming unknown ids

    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            timings[name] = time.perf_counter() - t0

    work = g.copy()
    timed("cascades", lambda: kg.tl.cascades(work))
    timed("pagerank", lambda: kg.tl.pagerank(work))
    timed("coreness", lambda: kg.tl.coreness(work))
    timed("communities", lambda: kg.tl.communities(work, rng=rng))
    timed("kocs", lambda: kg.tl.kocs(work, staff=staff_list, kol_threshold=kol_threshold, rng=rng))
    top_codes = work.user_codes(kg.get.kocs(work, n=top)["user"].tolist()) if top else np.empty(0, np.int64)
    route_error = None
    if staff_list and top_codes.size:
        try:
            targets = work.nodes.index[top_codes].tolist()
            timed("routes", lambda: kg.tl.routes(work, sources=staff_list, targets=targets, k=1))
        except Exception as err:  # pragma: no cover - routes on a valid graph should not fail
            route_error = f"{type(err).__name__}: {err}"
    seed_state: dict[str, Any] = {}
    if seeds is not None:
        if not hasattr(kg.tl, "seeds") or not hasattr(kg.get, "seeds"):
            seed_state["unavailable"] = "seeding (kg.tl.seeds) is not available in this version of kocgraph"
        else:
            too_dense = timed("seeds_memory_check", lambda: _seeding_too_dense(work, seeds))
            if too_dense is not None:  # the sampler would blow past memory: say so instead of trying
                seed_state["unavailable"] = too_dense
                if note is not None:
                    note(f"note: no seeds in the report: {too_dense}.")
            else:
                try:
                    timed("seeds", lambda: kg.tl.seeds(work, k=seeds, exclude_reached_by=staff_list or None, rng=rng))
                except Exception as err:
                    seed_state["unavailable"] = f"seeding failed: {type(err).__name__}: {err}"
    bt_state: dict[str, Any] = {}
    if backtest:
        try:
            from .evaluate import backtest as _backtest
        except ImportError:
            bt_state["unavailable"] = "the backtest (kg.evaluate.backtest) is not available in this version of kocgraph"
        else:
            try:
                bt_state["table"] = timed(
                    "backtest", lambda: _backtest(g, split=0.7, k=(10, 50, 100), staff=staff_list or None, rng=rng,
                                                  kol_threshold=kol_threshold))
            except Exception as err:
                bt_state["unavailable"] = f"the backtest could not be run on this log: {err}"
    else:
        bt_state["unavailable"] = "the backtest was switched off for this report (--no-backtest)"

    # the view the page shows: user ids replaced by pseudonyms when asked (tables and pictures alike)
    view = work.copy()
    if pseudo is not None:
        view.nodes.index = pd.Index(pseudo.series(pd.Series(work.nodes.index, dtype=object)).to_numpy(),
                                    name=work.nodes.index.name, dtype=object)
    kocs = kg.get.kocs(view, n=top)
    excluded = kg.get.kocs(view, excluded=True)

    log_name = source if source is not None else _input_name(g)
    title = title if title is not None else f"KOC report — {log_name}"
    created = pd.Timestamp.now(tz="UTC")

    parts: dict[str, str] = {}
    conc_uri, conc_info, conc_err = timed("plot_concentration", lambda: _plot(
        lambda ax: kg.pl.concentration(view, ax=ax), (7.0, 4.6)))
    parts["ingest"] = _section_ingest(g, REASONS, staff_list, excluded, work, notes, log_name)
    parts["network"] = timed("plot_network", lambda: _section_network(kg, view, kocs, rng, pseudo is not None))
    parts["concentration"] = _section_concentration(conc_uri, conc_info, conc_err, view)
    parts["kocs"] = timed("plot_ranking", lambda: _section_kocs(kg, view, kocs, excluded, staff_list,
                                                                   route_error, work, top))
    parts["communities"] = timed("plot_communities", lambda: _section_communities(kg, view))
    parts["backtest"] = _section_backtest(kg, view, bt_state)
    if seeds is not None:
        parts["seeds"] = _section_seeds(kg, view, seeds, seed_state)
    parts["summary"] = _section_summary(g, work, kocs, conc_info, log_name)
    timings["total"] = time.perf_counter() - t_all
    parts["about"] = _section_about(g, work, timings, top=top, seeds=seeds, rng=rng, pseudonymized=pseudo is not None,
                                    n_staff=len(staff_list), kol_threshold=kol_threshold, created=created)

    order = [s for s in SECTIONS if s in parts]
    toc = "".join(f'<li><a href="#{s}">{_esc(SECTIONS[s])}</a></li>' for s in order)
    body = "".join(f'<section id="{s}" class="kg-section"><h2>{_esc(SECTIONS[s])}</h2>{parts[s]}</section>'
                   for s in order)
    sub = (f"Made by kocgraph {_esc(__version__)} on {_esc(created.strftime('%Y-%m-%d %H:%M UTC'))} from "
           f"<strong>{_esc(log_name)}</strong>." + (" User ids are pseudonymized." if pseudo is not None else ""))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="kocgraph {_esc(__version__)}">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header class="kg-top"><h1>{_esc(title)}</h1><p class="sub">{sub}</p></header>\n'
        f'<nav class="toc"><strong>Contents</strong><ol>{toc}</ol></nav>\n{body}\n'
        f"<footer>kocgraph {_esc(__version__)} · this page is self-contained: it loads nothing from the network "
        "and can be e-mailed or archived as one file.</footer>\n</main>\n</body>\n</html>\n"
    )


def _input_name(g: Any) -> str:
    rep = g.meta.get("read_log") or {}
    ds = g.meta.get("dataset") or {}
    if rep.get("path"):
        return Path(str(rep["path"])).name
    if ds.get("name"):
        return f"sample {ds['name']}"
    return "a table in memory"


# ------------------------------------------------------------------------------------------------ sections
def _section_summary(g: Any, work: Any, kocs: pd.DataFrame, conc: dict[str, Any], log_name: str) -> str:
    rep = g.meta.get("read_log") or {}
    read = int(rep.get("rows_read", g.n_events))
    rejected = int(rep.get("rows_rejected", 0))
    cards = [
        (_int(work.n_users), "people"),
        (_int(work.n_events), "forwards"),
        (_int(work.n_items), "pieces of content"),
        (_int(rejected), "rows set aside"),
    ]
    card_html = "".join(f'<div class="card"><div class="big">{v}</div><div class="lbl">{_esc(lbl)}</div></div>'
                        for v, lbl in cards)
    facts = [f"We read {_plural(read, 'row')} from {_esc(log_name)}; {_int(work.n_events)} were usable"
             + (f" and {_int(rejected)} were set aside (see “What was read”)." if rejected else ".")]
    span = _time_span(g)
    if span:
        facts.append(f"The forwards happened between {_esc(span[0])} and {_esc(span[1])}.")
    if conc.get("text") and np.isfinite(conc.get("share", np.nan)):
        facts.append(f"Reach is concentrated: the {_esc(conc['text'])}.")
    if len(kocs):
        r = kocs.iloc[0]
        facts.append(f"The strongest candidate is <strong>{_esc(r['user'])}</strong>: {_esc(r['reason'])}.")
    else:
        facts.append("No one qualified as a KOC candidate (see the KOC section for why).")
    nc = (work.meta.get("community") or {}).get("n_communities")
    if nc:
        facts.append(f"The people fall into {_plural(int(nc), 'group')} that mostly forward among themselves.")
    how = ("These are the headline figures. A <em>forward</em> is one person passing one piece of content to "
           "another; <em>reach</em> is how many people a piece of content got to through someone, directly or "
           "through the people they passed it to.")
    return _how(how) + f'<div class="cards">{card_html}</div><ul class="facts">' + "".join(
        f"<li>{f}</li>" for f in facts) + "</ul>"


def _time_span(g: Any) -> tuple[str, str] | None:
    rep = g.meta.get("read_log") or {}
    if rep.get("has_time") is False or "time" not in g.events.columns or g.n_events == 0:
        return None
    t = g.events["time"]
    try:
        return _when(t.min()), _when(t.max())
    except (TypeError, ValueError):  # pragma: no cover - time is always datetime64
        return None


def _section_ingest(g: Any, reasons_words: dict[str, str], staff: list[Any], excluded: pd.DataFrame, work: Any,
                    notes: Sequence[str], log_name: str) -> str:
    import kocgraph as kg

    rep = g.meta.get("read_log") or {}
    read = int(rep.get("rows_read", g.n_events))
    accepted = int(rep.get("rows_accepted", g.n_events))
    rejected = int(rep.get("rows_rejected", 0))
    by_reason = {str(k): int(v) for k, v in (rep.get("rejected_by_reason") or {}).items()}
    how = ("Every row of the log is one forward. Rows that cannot be used (a missing person, a time that is not a "
           "time, a person forwarding to themselves, an exact repeat) are set aside, never dropped in silence: "
           "the rows read always equal the rows used plus the rows set aside. A few rows set aside is normal; "
           "a large share usually means a column was named wrongly.")
    out = [_how(how)]
    rows = [("Rows read", _int(read)), ("Rows used", _int(accepted)),
            ("Rows set aside", f"{_int(rejected)} ({_pct(rejected / read) if read else '0%'})")]
    out.append(_table(["", "rows"], rows, numeric=[1]))
    if by_reason:
        rej = kg.get.rejected(g)
        examples: dict[str, str] = {}
        if len(rej) and "row" in rej.columns and "reason" in rej.columns:
            for reason, grp in rej.groupby("reason", sort=False)["row"]:
                rws = [int(x) + 1 for x in grp.head(3)]
                examples[str(reason)] = ", ".join(_int(x) for x in rws) + (", …" if len(grp) > 3 else "")
        rows = [(reasons_words.get(k, k.replace("_", " ")), _int(v), examples.get(k, ""))
                for k, v in sorted(by_reason.items(), key=lambda kv: -kv[1])]
        out.append("<h3>Why rows were set aside</h3>")
        out.append(_table(["reason", "rows", "for example, data rows (1 = first row after the header)"], rows,
                          numeric=[1]))
        out.append('<p class="note">To get the rows set aside as a file, run <code>kocgraph nominate</code> with '
                   "<code>--out</code>: it writes them next to the table.</p>")
    else:
        out.append("<p>No row was set aside: every row could be used.</p>")
    cols = rep.get("columns") or {}
    words = {"source": "who forwarded", "target": "who received", "item": "the content", "time": "when",
             "event_type": "kind of event", "channel": "channel", "value": "order value"}
    if cols:
        rows = [(words.get(k, k), v) for k, v in cols.items() if v is not None]
        out.append("<h3>Which columns were used</h3>" + _table(["meaning", "column in the log"], rows))
    facts = [f"{_int(work.n_users)} people, {_int(work.n_items)} pieces of content, {_int(work.n_events)} forwards, "
             f"{_int(work.n_edges)} distinct forwarding links (one person to another)."]
    span = _time_span(g)
    if span:
        facts.append(f"Time span: {_esc(span[0])} to {_esc(span[1])}.")
    n_staff = int((excluded["excluded"] == "staff").sum()) if len(excluded) else 0
    n_kol = int((excluded["excluded"] == "kol").sum()) if len(excluded) else 0
    if staff:
        facts.append(f"{_plural(len(staff), 'staff or brand account')} given and found in the log; they are left out "
                     "of the KOC list and are where routes start.")
    else:
        facts.append("No staff or brand account was given: nobody is left out as staff, and no route is computed. "
                     "Pass <code>--staff staff.txt</code> (one account id per line).")
    if n_kol:
        cut = (work.meta.get("koc") or {}).get("kol_cut")
        facts.append(f"{_plural(n_kol, 'celebrity-scale account')} (more than {_int(cut)} distinct receivers) "
                     "left out of the KOC list: they are KOLs, not KOCs.")
    for n in notes:
        facts.append(_esc(n))
    out.append("<h3>What the log holds</h3><ul class=\"facts\">" + "".join(f"<li>{f}</li>" for f in facts) + "</ul>")
    if n_staff != len(staff):  # pragma: no cover - kocs marks every staff id it was given
        out.append(f'<p class="note">{_int(n_staff)} accounts marked as staff.</p>')
    return "".join(out)


def _section_network(kg: Any, view: Any, kocs: pd.DataFrame, rng: int, pseudonymized: bool) -> str:
    hl = kocs["user"].tolist()

    def draw(ax: Any) -> Any:
        # labels: the KOCs by name; with pseudonyms, by their rank in the table (#1, #2, ...) instead
        out = kg.pl.network(view, highlight=hl, rng=rng, ax=ax, labels=False if pseudonymized else 0)
        if pseudonymized and hl:
            info = out.kocgraph
            where = {u: i for i, u in enumerate(info["nodes"])}
            for rank, u in zip(kocs["rank"], kocs["user"]):
                i = where.get(u)
                if i is not None:
                    out.annotate(f"#{int(rank)}", info["pos"][i], xytext=(6, 6), textcoords="offset points",
                                 fontsize=8, color="#d62728", zorder=4)
        return out

    uri, info, err = _plot(draw, (9.0, 9.0))
    how = ("Each dot is a person; a line means one of them forwarded content to the other (the small arrow points "
           "from sender to receiver). Bigger dots reached more people. Colours are the groups from the "
           "communities section. The top KOCs are circled in red"
           + (" and numbered by their rank in the table." if pseudonymized else " and named.")
           + " On a big log only the best-connected people are drawn; the note under the map says how many.")
    return _how(how) + _figure(uri, "map of who forwards to whom", "", err)


def _section_concentration(uri: str | None, info: dict[str, Any], err: str | None, view: Any) -> str:
    gini = info.get("gini", np.nan) if info else np.nan
    text = info.get("text") if info else None
    how = ("People are lined up from the largest reach to the smallest (left to right); the curve shows how much "
           "of all reach the first ones hold. If everyone mattered equally the curve would follow the dashed "
           "diagonal; a curve that shoots up at the left means a few people carry most of the spread, so "
           "working with them pays off most.")
    facts = []
    if text and np.isfinite(info.get("share", np.nan)):
        facts.append(f"The {_esc(text)}.")
    if np.isfinite(gini):
        facts.append(f"Gini coefficient {_num(gini, 2)} (0 = everyone equal, 1 = one person holds everything).")
    reach = view.nodes["reach"].to_numpy(np.float64)
    if reach.size:
        facts.append(f"{_int((reach > 0).sum())} of {_int(reach.size)} people passed content on to at least one "
                     "other person who received it from them first.")
    return (_how(how) + _figure(uri, "concentration of reach (Lorenz curve)", "", err)
            + '<ul class="facts">' + "".join(f"<li>{f}</li>" for f in facts) + "</ul>")


def _section_kocs(kg: Any, view: Any, kocs: pd.DataFrame, excluded: pd.DataFrame, staff: list[Any],
                  route_error: str | None, work: Any, top: int) -> str:
    how = ("A KOC (key opinion consumer) is an ordinary customer whose forwards move many others. The score "
           "(0 to 1) adds up how each person ranks against everyone else on reach, direct reach, content they "
           "started, PageRank (forwarding to people who forward on) and, when the log has them, purchases; 1 "
           "would mean first on every count. “Why” gives the headline figure in words. The best way in is the "
           "most likely chain of forwards from a staff account to the person: ask the "
           "<em>introducer</em> (the last person before them) to pass your content on. The chance is how likely "
           "content is to travel the whole chain, estimated from the log.")
    out = [_how(how)]
    if not len(kocs):
        m = work.meta.get("koc") or {}
        out.append(f'<p class="unavailable">No one could be ranked: {_int(m.get("n_eligible", 0))} eligible people. '
                   "A KOC must have forwarded content to someone, and not be a staff or celebrity-scale account.</p>")
        return "".join(out)
    routes_ok = staff and route_error is None and "routes" in view.tables
    rows = []
    for r in kocs.itertuples(index=False):
        route, intro, chance = "–", "–", "–"
        if not staff:
            route = "no staff account given"
        elif route_error is not None:
            route = "routes could not be computed"
        elif routes_ok:
            rt = kg.get.routes(view, r.user)
            if len(rt):
                b = rt.iloc[0]
                route = str(b["path"])
                intro = str(b["introducer"]) if int(b["hops"]) > 1 else "none needed (direct)"
                chance = _pct(b["strength"])
            else:
                route = _UNREACHABLE_WORDS.get(str(rt.attrs.get("unreachable", "")),
                                               "no route from the staff accounts")
        comm = _int(getattr(r, "community")) if "community" in kocs.columns else "–"
        rows.append((_int(r.rank), r.user, f"{float(r.score):.3f}", _int(r.reach), comm, r.reason,
                     route, intro, chance))
    out.append(_table(["rank", "person", "score", "people reached", "group", "why", "best way in (route)",
                       "introducer to ask", "chance"], rows, numeric=[0, 2, 3, 4, 8],
                      classes={1: "id", 5: "why", 6: "route", 7: "id"}))
    if route_error is not None:
        out.append(f'<p class="note">Routes could not be computed: {_esc(route_error)}</p>')
    km = work.meta.get("koc") or {}
    n_elig = int(km.get("n_eligible") or 0)
    if len(kocs) < top:
        out.append(f'<p class="note">Only {_plural(n_elig, "person", "people")} could be ranked, so the list is '
                   "shorter than asked for.</p>")
    n_silent = int((km.get("n_excluded") or {}).get("no_forwards", 0))
    if n_silent:
        out.append(f'<p class="note">{_plural(n_silent, "person", "people")} never forwarded anything, so cannot be '
                   "a KOC.</p>")
    n_staff = int((excluded["excluded"] == "staff").sum()) if len(excluded) else 0
    n_kol = int((excluded["excluded"] == "kol").sum()) if len(excluded) else 0
    if n_staff or n_kol:
        parts = []
        if n_staff:
            parts.append(f"{_plural(n_staff, 'staff account')}")
        if n_kol:
            parts.append(f"{_plural(n_kol, 'celebrity-scale account')}")
        names = ", ".join(str(u) for u in excluded["user"].head(8))
        more = "…" if len(excluded) > 8 else ""
        out.append(f'<p class="note">Left out of the list on purpose: {" and ".join(parts)} ({_esc(names)}{more}).</p>')
    uri, _info, err = _plot(lambda ax: kg.pl.ranking(view, n=len(kocs), ax=ax),
                            (9.0, max(2.8, 0.32 * len(kocs) + 1.6)))
    out.append("<h3>What each score is made of</h3>")
    out.append('<p class="note">Each bar is one person’s score, split into its parts: a long stretch of one '
               "colour means the person ranks high on that measure.</p>")
    out.append(_figure(uri, "KOC scores split into their parts", "", err))
    return "".join(out)


def _section_communities(kg: Any, view: Any) -> str:
    how = ("A community is a group of people who forward mostly to each other: a circle of friends, a parents’ "
           "group, a company chat. Content that reaches one member tends to stay inside, so a campaign that "
           "must reach several groups needs a KOC in each. In the picture, the bars (left) are the group sizes "
           "with each group’s best-placed person; the grid (right) counts forwards from one group (row) to "
           "another (column): dark squares off the diagonal are bridges between groups.")
    tab = kg.get.communities(view, n_top=3)
    meta = view.meta.get("community") or {}
    tab = tab.sort_values(["size"], ascending=False, kind="stable")
    shown = tab.head(15)
    rows = []
    for cid, r in shown.iterrows():
        inside = float(r["internal_forwards"])
        outside = float(r["external_forwards"])
        tot = inside + outside
        rows.append((_int(cid), _int(r["size"]), _int(inside), _int(outside),
                     _pct(inside / tot) if tot else "–", ", ".join(str(u) for u in r["top_users"])))
    out = [_how(how)]
    lead = _plural(len(tab), "group")
    if meta.get("modularity") is not None and np.isfinite(float(meta["modularity"])):
        lead += (f"; modularity {_num(meta['modularity'], 2)} (above about 0.3 the groups are clearly separate, "
                 "near 0 they are not)")
    out.append(f"<p>{lead}.</p>")
    out.append(_table(["group", "people", "forwards inside", "forwards to other groups", "share kept inside",
                       "best-placed people"], rows, numeric=[0, 1, 2, 3, 4]))
    if len(tab) > len(shown):
        rest = tab.iloc[len(shown):]
        out.append(f'<p class="note">{_int(len(rest))} smaller groups ({_int(rest["size"].sum())} people) are not '
                   "listed.</p>")
    height = max(3.2, 0.34 * min(len(tab) + 1, 16) + 1.8)
    uri, _info, err = _plot(lambda ax: kg.pl.communities(view, ax=ax), (11.0, height))
    out.append(_figure(uri, "community sizes and forwards between communities", "", err))
    return "".join(out)


def _section_backtest(kg: Any, view: Any, state: dict[str, Any]) -> str:
    how = ("To judge the ranking, we pretend it is an earlier day: the people are ranked using only the first 70% "
           "of the log’s time, and then we look at what they actually did afterwards. <em>Hit rate</em> is the "
           "share of a method’s top k that really were among the top k spreaders afterwards; <em>share of "
           "future reach</em> is how much of all later reach those k people produced. Rank agreement (from −1 to "
           "1) compares the whole order with what happened. The KOC score should beat the simple rules below it; "
           "if it does not on your log, trust the simpler rule.")
    out = [_how(how)]
    if "table" not in state:
        why = str(state.get("unavailable", "unknown reason")).rstrip(". ")
        out.append(f'<p class="unavailable">Backtest not available: {_esc(why)}.</p>')
        return "".join(out)
    bt: pd.DataFrame = state["table"]
    at = bt.attrs
    n_elig = int(at.get("n_eligible", bt["n_eligible"].iloc[0] if len(bt) else 0))
    if at.get("split_time"):
        out.append(f"<p>Ranked on the {_int(at.get('n_events_past'))} forwards before "
                   f"{_esc(_when(at['split_time']))}; judged on the {_int(at.get('n_events_future'))} forwards "
                   "after it "
                   f"({_int(n_elig)} people could be ranked).</p>")
    all_k = sorted(int(k) for k in bt["k"].unique())
    # a top k as large as everyone who could be ranked says nothing (every method picks everyone)
    ks = [k for k in all_k if k < n_elig] or all_k[:1]
    methods = list(dict.fromkeys(bt["method"]))
    cells = {(m, k): r for m, k, r in zip(bt["method"], bt["k"].astype(int), bt.itertuples(index=False))}

    def best_marked(metric: str, k: int | None) -> dict[Any, str]:
        vals = {m: float(getattr(cells[(m, k if k is not None else all_k[0])], metric)) for m in methods}
        fin = [v for v in vals.values() if np.isfinite(v)]
        top_v = max(fin) if fin else np.nan
        fmt = _pct if metric != "spearman" else (lambda v: _num(v, 2))
        return {m: (f"<strong>{_esc(fmt(v))}</strong>" if np.isfinite(v) and v == top_v else _esc(fmt(v)))
                for m, v in vals.items()}

    hit = {k: best_marked("precision", k) for k in ks}
    share = {k: best_marked("reach_share", k) for k in ks}
    rho = best_marked("spearman", None)
    names = {m: _esc(_METHOD_WORDS.get(str(m), str(m))) for m in methods}
    out.append("<h3>Hit rate: how many of the top k really were top spreaders afterwards</h3>")
    out.append(_table(["method"] + [f"top {_int(k)}" for k in ks] + ["rank agreement"],
                      [[names[m]] + [hit[k][m] for k in ks] + [rho[m]] for m in methods],
                      numeric=range(1, len(ks) + 2), raw=range(len(ks) + 2)))
    out.append("<h3>Share of all later reach that the top k produced</h3>")
    out.append(_table(["method"] + [f"top {_int(k)}" for k in ks],
                      [[names[m]] + [share[k][m] for k in ks] for m in methods],
                      numeric=range(1, len(ks) + 1), raw=range(len(ks) + 1)))
    out.append('<p class="note">The best value in each column is in bold.'
               + (f" Top {', '.join(_int(k) for k in all_k if k not in ks)} left out: no more than "
                  f"{_plural(n_elig, 'person', 'people')} could be ranked." if len(ks) < len(all_k) else "") + "</p>")
    if hasattr(kg.pl, "backtest"):  # kg.pl.backtest names the methods in plain words, legend beside the bars
        uri, _info, err = _plot(lambda ax: kg.pl.backtest(view, bt[bt["k"].isin(ks)], ax=ax), (8.0, 4.2))
        out.append(_figure(uri, "backtest: hit rate per method", "", err))
    return "".join(out)


def _section_seeds(kg: Any, view: Any, k: int, state: dict[str, Any]) -> str:
    how = ("If you could recruit only a few people as partners, these are the ones whose forwards together are "
           "expected to reach the most others (beyond what your staff accounts already reach). They are picked "
           "one at a time, each adding the most people not already covered by the earlier picks, so together "
           "they cover different corners of the network. The expected numbers come from simulating how content "
           "spreads, using forwarding chances estimated from the log.")
    out = [_how(how)]
    if "unavailable" in state or "seeds" not in view.tables:
        why = str(state.get("unavailable", "not computed")).rstrip(". ")
        out.append(f'<p class="unavailable">Seeds not available: {_esc(why)}.</p>')
        return "".join(out)
    sd = kg.get.seeds(view)
    has_ci = {"spread_lo", "spread_hi"} <= set(sd.columns)
    rows = []
    for r in sd.itertuples(index=False):
        total = _num(r.spread, 0)
        if has_ci and np.isfinite(float(r.spread_lo)):
            total += f" (likely {_num(r.spread_lo, 0)} to {_num(r.spread_hi, 0)})"
        rows.append((_int(r.order), r.user, _num(r.marginal_gain, 1), total, r.why))
    out.append(_table(["pick", "person", "extra people reached", "people reached by the picks so far", "why"], rows,
                      numeric=[0, 2, 3]))
    meta = view.meta.get("seeds") or {}
    if meta.get("guarantee"):
        out.append(f'<p class="note">Method: {_esc(meta.get("method", "IMM"))}; {_esc(meta["guarantee"])}.</p>')
    return "".join(out)


def _section_about(g: Any, work: Any, timings: dict[str, float], *, top: int, seeds: int | None, rng: int,
                   pseudonymized: bool, n_staff: int, kol_threshold: Any, created: pd.Timestamp) -> str:
    import platform

    how = ("What produced this page, with which settings, so that it can be made again and compared. The same "
           "log and settings give the same report.")
    km = work.meta.get("koc") or {}
    weights = km.get("weights") or {}
    rows = [
        ("kocgraph version", __version__),
        ("made on", created.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("KOCs listed", _int(top)),
        ("staff accounts", _int(n_staff)),
        ("celebrity threshold", "automatic" if kol_threshold == "auto" else str(kol_threshold)),
        ("score weights", ", ".join(f"{k.replace('_', ' ')} {float(v):.2f}" for k, v in weights.items())),
        ("seeds", "not asked for (add --seeds K)" if seeds is None else _int(seeds)),
        ("random seed", str(rng)),
        ("user ids", "pseudonymized (p_ + keyed hash; the key is not recorded)" if pseudonymized else "as in the log"),
        ("Python", platform.python_version()),
    ]
    out = [_how(how), _table(["setting", "value"], rows)]
    tims = [(k.replace("_", " "), f"{v:,.2f} s") for k, v in timings.items()]
    out.append("<h3>Time taken</h3>" + _table(["step", "seconds"], tims, numeric=[1]))
    return "".join(out)


# ------------------------------------------------------------------------------------------------ writing
def write_report(page: str, out: str | Path) -> Path:
    """Write the page atomically (a temporary file beside ``out``, then a rename)."""
    from .jobs import atomic_write

    return atomic_write(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))


# ------------------------------------------------------------------------------------------------ command line
def cmd_report(args: argparse.Namespace) -> int:
    """``kocgraph report``: read the log, build the page, write it atomically."""
    from . import cli
    from .jobs import NoUsableDataError, check_outputs, resolve_staff
    from .exceptions import LogSchemaError

    out = Path(args.out)
    # before any reading: the page must go to a regular file in a writable directory, never over an input
    check_outputs([out], [args.log, args.staff], example="report.html")
    if args.staff is not None and not Path(args.staff).is_file():
        raise LogSchemaError(
            f"staff file {str(args.staff)!r} does not exist. Pass --staff with a text file of staff ids, one per line, "
            "or --staff-ids id1,id2."
        )
    pseudo = _resolve_pseudonymizer(args.pseudonymize)
    g = cli.load_graph(args)
    if g.n_events == 0:
        rep = g.meta.get("read_log") or {}
        raise NoUsableDataError(
            f"no usable event left in the log: {rep.get('rows_read', 0):,} row(s) read, all set aside "
            f"({', '.join(f'{k}: {v:,}' for k, v in (rep.get('rejected_by_reason') or {}).items()) or 'none'}). "
            "Check the column options (--source/--target/--item/--time) and the file; no report was written."
        )
    notes: list[str] = []
    ids = [s.strip() for s in str(args.staff_ids or "").split(",") if s.strip()]
    staff = resolve_staff(g, args.staff, ids, note=notes.append,
                          show=pseudo if pseudo is not None else (lambda x: x))
    for n in notes:
        print(n, file=sys.stderr)
    src = str(args.log)
    name = src if src.startswith("sample:") else Path(src).name
    page = build_report(g, staff=staff, top=args.top, seeds=args.seeds, title=args.title, rng=args.rng,
                        pseudonymize=pseudo, backtest=not args.no_backtest, kol_threshold=args.kol_threshold,
                        source=name, notes=[n.removeprefix("note: ") for n in notes],
                        note=lambda m: print(m, file=sys.stderr))
    path = write_report(page, out)
    print(f"wrote report: {path} ({len(page.encode('utf-8')) / 1024:,.0f} KiB)", file=sys.stderr)
    return 0


def add_report_command(sub: Any, add_log_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``kocgraph report`` on the CLI's subparsers (called from :mod:`kocgraph.cli`)."""
    from .cli import _kol_threshold, _positive_int, _seed

    r = sub.add_parser(
        "report", help="write one self-contained HTML report (maps, KOCs, routes, communities, backtest)",
        description="read_log -> cascades -> pagerank -> coreness -> communities -> kocs -> routes "
                    "(-> backtest, -> seeds); writes ONE HTML file with every picture embedded, nothing "
                    "fetched from the network, written atomically. Open it in any browser or e-mail it.",
    )
    add_log_options(r)
    o = r.add_argument_group("report")
    o.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write, e.g. report.html")
    o.add_argument("--staff", default=None, metavar="FILE", help="text file of staff account ids, one per line")
    o.add_argument("--staff-ids", default=None, metavar="A,B", help="comma-separated staff account ids")
    o.add_argument("--top", type=_positive_int, default=20, help="KOCs to list and highlight (default: 20)")
    o.add_argument("--seeds", type=_positive_int, default=None, metavar="K",
                   help="also choose K seeds for the widest spread (default: off)")
    o.add_argument("--pseudonymize", default=None, metavar="SALT",
                   help="replace every user id on the page by p_ + HMAC-SHA256(SALT, id)[:16]")
    o.add_argument("--title", default=None, help="the page title (default: 'KOC report — <log>')")
    o.add_argument("--kol-threshold", type=_kol_threshold, default="auto", metavar="N|auto|none",
                   help="exclude accounts with more distinct receivers than N (default: auto)")
    o.add_argument("--no-backtest", action="store_true", help="leave out the backtest (faster on very large logs)")
    o.add_argument("--rng", type=_seed, default=0, metavar="SEED",
                   help="seed for communities, the map layout, backtest and seeds (default: 0)")
    r.set_defaults(func=cmd_report)
