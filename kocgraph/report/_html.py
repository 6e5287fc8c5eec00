"""HTML building blocks of the report: number formats, tables, figures, and the page template.

Every value that reaches the page goes through :func:`esc` (or a formatter that returns digits and
separators only), so an id such as ``<b>x</b>`` or ``$x^{$`` is shown as it is, never run. Counts of
people are whole numbers (:func:`people`); shares are percentages (:func:`pct`).

Examples
--------
>>> from kocgraph.report._html import count, pct, people, spread
>>> count(1234567), pct(0.2857), people(181.4), spread(181.4, 150.2, 210.7)
('1,234,567', '29%', '181', '181 (150 to 211)')
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from string import Template
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["esc", "count", "people", "spread", "num", "pct", "plural", "when", "table", "how", "figure", "plot",
           "page", "CSP"]

#: what the page may load: nothing but its own inline style and data: images (no script, no fetch)
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


# ------------------------------------------------------------------------------------------------ formats
def esc(x: Any) -> str:
    """``x`` as HTML text: ``<``, ``>``, ``&`` and quotes escaped."""
    return html.escape(str(x), quote=True)


def _finite(v: Any) -> float | None:
    """``v`` as a finite float, or None (missing, NaN, infinite or not a number): shown as a dash."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def count(v: Any) -> str:
    """A whole number with thousands separators ("1,234,567"); a dash for missing."""
    f = _finite(v)
    return "–" if f is None else f"{int(round(f)):,}"


#: people are whole: an expected 181.4 people is shown as 181
people = count


def spread(mean: Any, lo: Any = None, hi: Any = None) -> str:
    """An expected number of people with its interval, in whole people: "1,047 (974 to 1,089)"."""
    out = people(mean)
    if _finite(lo) is not None and _finite(hi) is not None:
        out += f" ({people(lo)} to {people(hi)})"
    return out


def num(v: Any, digits: int = 1) -> str:
    """A measurement (not a count) with ``digits`` decimals: "0.80"."""
    f = _finite(v)
    return "–" if f is None else f"{f:,.{digits}f}"


def pct(p: Any) -> str:
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


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 person", "2 people"."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def when(ts: Any, *, clock: bool = True) -> str:
    """A timestamp as "2026-01-01 10:00 UTC" (``clock=False``: the date only)."""
    try:
        t = pd.Timestamp(ts)
    except (TypeError, ValueError):
        return str(ts)
    if t is pd.NaT:
        return "–"
    if not clock:
        return t.strftime("%Y-%m-%d")
    return t.strftime("%Y-%m-%d %H:%M") + (f" {t.tzname()}" if t.tzinfo is not None else "")


# ------------------------------------------------------------------------------------------------ blocks
def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, numeric: Iterable[int] = (),
          raw: Iterable[int] = (), classes: dict[int, str] | None = None) -> str:
    """An HTML table; cells are escaped unless their column is in ``raw`` (already HTML). ``numeric``
    columns are right-aligned; ``classes`` gives a CSS class to a column's cells."""
    nums, raw_set = set(numeric), set(raw)
    col_cls = {i: " ".join(c for c in (("num" if i in nums else ""), (classes or {}).get(i, "")) if c)
               for i in range(len(headers))}
    attr = {i: f' class="{c}"' if c else "" for i, c in col_cls.items()}
    head = "".join(f"<th{attr[i]}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{attr.get(i, '')}>{v if i in raw_set else esc(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return (f'<div class="scroll"><table class="kg"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def how(text: str) -> str:
    """The "how to read this" paragraph that opens a section (``text`` is HTML)."""
    return f'<p class="how"><strong>How to read this.</strong> {text}</p>'


def unavailable(what: str, why: Any) -> str:
    """A note that part of the page is missing, and why."""
    return f'<p class="unavailable">{esc(what)} not available: {esc(str(why).rstrip(". "))}.</p>'


def figure(uri: str | None, alt: str, caption: str = "", error: str | None = None) -> str:
    """An embedded picture, or a note saying why it could not be drawn."""
    if uri is None:
        return f'<p class="unavailable">This picture could not be drawn: {esc((error or "unknown error").rstrip(". "))}.</p>'
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{esc(alt)}">{cap}</figure>'


def plot(draw: Callable[[Any], Any], figsize: tuple[float, float], *, heights: Sequence[float] | None = None,
         dpi: int = 100) -> tuple[str | None, dict[str, Any], str | None]:
    """Draw into a fresh Figure (no pyplot: no stray figures, no GUI backend) and return its data URI,
    what the plot recorded (``ax.kocgraph``), and the error message when drawing failed.

    ``draw`` gets one Axes; with ``heights`` (one relative height per row), a list of Axes stacked
    vertically instead.
    """
    from matplotlib.figure import Figure

    from ..pl import savefig_base64

    fig = Figure(figsize=figsize, layout=None)
    if heights is None:
        axes = [fig.add_subplot()]
    else:
        gs = fig.add_gridspec(len(heights), 1, height_ratios=list(heights), hspace=0.45)
        axes = [fig.add_subplot(gs[i, 0]) for i in range(len(heights))]
    try:
        out = draw(axes[0] if heights is None else axes)
        info = getattr(out if out is not None and not isinstance(out, list) else axes[0], "kocgraph", {})
        return savefig_base64(fig, dpi=dpi), dict(info), None
    except Exception as err:  # noqa: BLE001 - a picture that fails must not take the whole report down
        return None, {}, f"{type(err).__name__}: {err}"


# ------------------------------------------------------------------------------------------------ the page
def _package_text(name: str) -> str:
    return resources.files("kocgraph.report").joinpath(name).read_text(encoding="utf-8")


def page(*, title: str, version: str, header: str, toc: str, body: str) -> str:
    """The whole page: ``template.html`` filled in, ``style.css`` inline (all arguments but ``title``
    and ``version`` are HTML)."""
    tpl = Template(_package_text("template.html"))
    return tpl.substitute(csp=CSP, style=_package_text("style.css"), title=esc(title), version=esc(version),
                          header=header, toc=toc, body=body)
