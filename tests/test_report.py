"""The shareable HTML report: ``kocgraph report`` and :func:`kocgraph.report.build_report`.

What is pinned down:

* the page leads with decisions: "What to do next" is the first section (the verdict sentence, the
  people to contact with the introducer to ask and the chance, a ``pl.route`` picture, the partners
  to recruit, the big accounts left out), then the evidence, then the appendix with a glossary;
  every section has a "how to read this" paragraph;
* no count of people on the page is fractional (the text and every "people" column are parsed);
* seeds (the partners) are on by default, and off with ``--no-seeds``;
* the verdict: a known answer for each outcome, and the sentence on the page;
* the pipeline comes from :func:`kocgraph.pipeline.run_stages`, once;
* it is self-contained: no http(s) reference anywhere, no external script, stylesheet, font or
  frame, a Content-Security-Policy that forbids fetching, and every ``<img>`` a PNG data URI that
  decodes to a valid image; the template and CSS are package data;
* pseudonymization reaches the tables *and* the pictures (every text drawn in every figure); ids
  that look like HTML or matplotlib mathtext are shown as they are, escaped, and drawn as plain text;
* graceful degradation: no backtest, no seeding, no staff;
* the command line: atomic write, exit codes, no import of :mod:`kocgraph.cli` from the report;
* it renders in headless Chromium: a full-page screenshot that is not blank (saved to the path in
  ``KOCGRAPH_REPORT_SCREENSHOT`` when that is set), and every image loaded.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); without ``/usr/bin/chromium``
the browser tests are skipped with the reason.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kocgraph as kg
from kocgraph import cli
from kocgraph._core.validation import REASONS
from kocgraph.report import SECTIONS, build_report, report_data, verdict
from kocgraph.report import _html as rh
from kocgraph.report.sections import GLOSSARY, render

TOY_CSV = Path(kg.__file__).parent / "datasets" / "data" / "toy.csv"
STAFF = ["brand", "staff_li"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ helpers
class _Page(HTMLParser):
    """Collects every tag with its attributes, the <img> sources, the section ids and the text
    (the text of <style> left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text.append(data)

    def imgs(self) -> list[str]:
        return [str(a.get("src")) for t, a in self.tags if t == "img"]

    def sections(self) -> list[str]:
        return [str(a.get("id")) for t, a in self.tags if t == "section"]


def parse(page: str) -> _Page:
    p = _Page()
    p.feed(page)
    p.close()
    return p


def section_html(page: str, sid: str) -> str:
    start = page.index(f'<section id="{sid}"')
    return page[start: page.index("</section>", start)]


def text_of(fragment: str) -> str:
    """The visible text of an HTML fragment, one space between pieces."""
    return " ".join(" ".join(parse(fragment).text).split())


def tables(fragment: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every table of a fragment as (header texts, rows of cell texts)."""
    out = []
    for t in re.findall(r"<table.*?</table>", fragment, flags=re.DOTALL):
        heads = [text_of(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", t, flags=re.DOTALL)]
        rows = [[text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.DOTALL)]
                for r in re.findall(r"<tr>(.*?)</tr>", t.split("</thead>", 1)[-1], flags=re.DOTALL)]
        out.append((heads, rows))
    return out


def decode_png(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    raw = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert raw[:8] == PNG_MAGIC
    from PIL import Image

    with Image.open(io.BytesIO(raw)) as im:
        im.verify()  # checks the chunks and CRCs
    with Image.open(io.BytesIO(raw)) as im:
        arr = np.asarray(im.convert("RGB"))
    assert arr.ndim == 3 and arr.shape[0] > 50 and arr.shape[1] > 50
    return arr


def toy_frame() -> pd.DataFrame:
    return pd.read_csv(TOY_CSV, dtype=str, keep_default_na=False)


def drawn_texts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text drawn in every figure the report embeds, collected as the figures are saved."""
    from matplotlib.text import Text

    from kocgraph import pl

    drawn: list[str] = []
    real = pl.savefig_base64

    def spy(fig: Any, **kw: Any) -> str:
        drawn.extend(t.get_text() for t in fig.findobj(Text))
        return real(fig, **kw)

    monkeypatch.setattr(pl, "savefig_base64", spy)
    return drawn


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The toy log through the command line with its defaults (seeds on): the page every structural
    test reads."""
    d = tmp_path_factory.mktemp("report")
    staff = d / "staff.txt"
    staff.write_text("# our own accounts\nbrand\nstaff_li\n", encoding="utf-8")
    out = d / "report.html"
    rc = cli.main(["report", str(TOY_CSV), "--staff", str(staff), "--out", str(out), "--top", "8"])
    assert rc == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def synthetic_data() -> Any:
    """A 7,000-forward synthetic log with its staff: big enough for fractional simulated spreads."""
    g = kg.datasets.synthetic(500, 60, rng=1)
    return report_data(g, staff=g.meta["synthetic"]["staff"], top=12, progress=False)


# ------------------------------------------------------------------------------------------------ structure
def test_what_to_do_next_comes_first(toy_report: str) -> None:
    p = parse(toy_report)
    assert p.sections()[0] == "next"
    assert p.sections() == list(SECTIONS)  # then the evidence, then the appendix, in the documented order
    first = next(a for t, a in p.tags if t == "section")
    assert "lead" in str(first.get("class"))
    nxt = section_html(toy_report, "next")
    assert "<h2>What to do next</h2>" in nxt
    # inside it: the verdict, then whom to contact, then whom to recruit, then the big accounts
    i_verdict = nxt.index('class="verdict')
    i_contacts, i_seeds, i_big = nxt.index('id="contacts"'), nxt.index('id="seeds"'), nxt.index('id="big"')
    assert i_verdict < i_contacts < i_seeds < i_big
    # the first words a reader meets after the header and the contents are the section's
    body_text = text_of(toy_report.split("</nav>", 1)[1])
    assert body_text.startswith("What to do next How to read this.")
    # the appendix comes last: data quality, method, glossary
    assert list(SECTIONS)[-3:] == ["ingest", "method", "glossary"]
    for sid in ("ingest", "method", "glossary"):
        assert "appendix" in section_html(toy_report, sid).split(">", 1)[0]


def test_every_section_has_its_heading_and_how_to_read(toy_report: str) -> None:
    p = parse(toy_report)
    for sid, heading in SECTIONS.items():
        sec = section_html(toy_report, sid)
        assert f"<h2>{html.escape(heading)}</h2>" in sec
        assert "How to read this." in sec, sid
    # a table of contents pointing at every section, in order
    nav = toy_report[toy_report.index('<nav class="toc">'): toy_report.index("</nav>")]
    assert re.findall(r'href="(#[^"]+)"', nav) == [f"#{s}" for s in SECTIONS]
    # every in-page link lands on an id of the page
    ids = {str(a.get("id")) for _t, a in p.tags if a.get("id")}
    for t, a in p.tags:
        if t == "a":
            assert str(a.get("href")).lstrip("#") in ids, a


def test_contacts_with_introducer_and_chance(toy_report: str) -> None:
    """Each top KOC with the introducer to ask and the chance of the route, from kg.tl.routes."""
    nxt = section_html(toy_report, "next")
    heads, rows = tables(nxt[nxt.index('id="contacts"'): nxt.index('id="seeds"')])[0]
    assert heads == ["#", "person", "whom to ask", "chance it works", "route from your accounts", "people reached"]
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF)
    top = kg.get.kocs(g, n=8)
    kg.tl.routes(g, sources=STAFF, targets=top["user"].tolist(), k=1)
    assert [r[1] for r in rows] == top["user"].tolist()
    for row, u in zip(rows, top["user"]):
        best = kg.get.routes(g, u).iloc[0]
        assert row[4] == best["path"]  # e.g. "brand → bob → carol"
        assert row[3] == rh.pct(best["strength"])
        if best["hops"] > 1:
            assert row[2] == f"ask {best['introducer']} to introduce you"
        else:
            assert row[2] == f"contact directly: {best['source']} already forwards to them"
    by_user = {r[1]: r for r in rows}
    # hand-checked on the toy log: brand -> bob (bob's only sender, tie 1.0), bob -> carol (tie 0.2)
    assert by_user["carol"][2:5] == ["ask bob to introduce you", "20%", "brand → bob → carol"]
    assert by_user["alice"][2] == "contact directly: brand already forwards to them"
    # the routes pictured with kg.pl.route: one picture in this section
    assert nxt.count("<img ") == 1


def test_route_pictures_are_kg_pl_route(monkeypatch: pytest.MonkeyPatch) -> None:
    from kocgraph import pl

    seen: list[Any] = []
    real = pl.route

    def spy(g: Any, user: Any, **kw: Any) -> Any:
        seen.append(user)
        return real(g, user, **kw)

    monkeypatch.setattr(pl, "route", spy)
    g = kg.datasets.toy()
    page = build_report(g, staff=STAFF, top=5, seeds=None, backtest=False, progress=False)
    assert seen == ["alice", "bob", "nina"]  # the first three of the list, each reachable from the staff
    assert "<img" in section_html(page, "next")


def test_partners_on_by_default_with_reach_beyond_the_staff(toy_report: str) -> None:
    nxt = section_html(toy_report, "next")
    part = nxt[nxt.index('id="seeds"'): nxt.index('id="big"')]
    heads, rows = tables(part)[0]
    assert heads[:3] == ["pick", "person", "adds about (people)"] and "beyond your accounts" in heads[3]
    # the toy's partners, beyond the staff's reach (the kg.tl.seeds docstring's pick is alice, then judy)
    assert [r[1] for r in rows][:2] == ["alice", "judy"]
    assert "reach about" in text_of(part) and "on their own" in text_of(part)
    # the same by default in the Python API, and off when asked
    page = build_report(kg.datasets.toy(), staff=STAFF, top=5, backtest=False, progress=False)
    assert "<table" in section_html(page, "next").split('id="seeds"', 1)[1].split('id="big"', 1)[0]
    page = build_report(kg.datasets.toy(), staff=STAFF, top=5, seeds=None, backtest=False, progress=False)
    off = section_html(page, "next").split('id="seeds"', 1)[1].split('id="big"', 1)[0]
    assert "Not asked for" in off and "<table" not in off
    assert "not asked for" in section_html(page, "method")


def test_partners_add_up_to_their_total(synthetic_data: Any) -> None:
    sd = synthetic_data.partners
    assert len(sd) == 10  # the default
    np.testing.assert_allclose(sd["adds"].cumsum(), sd["total"])
    assert (sd["lo"] <= sd["total"]).all() and (sd["total"] <= sd["hi"]).all()


def test_big_accounts_listed_apart_with_their_reach() -> None:
    g = kg.datasets.toy()
    # a threshold of 3 distinct receivers: alice (5 receivers) and bob (4) are "big" on the toy log
    page = build_report(g, staff=STAFF, top=5, kol_threshold=3, backtest=False, seeds=None, progress=False)
    big = section_html(page, "next").split('id="big"', 1)[1]
    heads, rows = tables(big)[0]
    assert heads == ["account", "people they forward to", "people reached"]
    kg.tl.kocs(g, staff=STAFF, kol_threshold=3)
    ex = kg.get.kocs(g, excluded=True)
    ex = ex[ex["excluded"] == "kol"].sort_values("reach", ascending=False, kind="stable")
    assert [r[0] for r in rows] == ex["user"].tolist() and len(rows) >= 1
    assert [r[2] for r in rows] == [rh.people(v) for v in ex["reach"]]
    assert "buy, don" in big or "buy, don&#x27;t" in page
    # left out of the KOC list, and said so
    kocs = section_html(page, "kocs")
    for u in ex["user"]:
        assert f">{u}<" not in kocs.split("<table", 1)[1].split("</table>", 1)[0]
    assert "big account" in kocs


# ------------------------------------------------------------------------------------------------ whole people
_FRACTIONAL_PEOPLE = re.compile(r"\d[\d,]*\.\d+\s+(?:more\s+)?(?:people|persons?)\b")


def test_no_person_count_is_fractional(synthetic_data: Any) -> None:
    d = synthetic_data
    # the inputs are fractional: expected spreads from simulations, and what the staff reach alone
    assert not np.allclose(d.partners["total"], np.round(d.partners["total"]))
    assert d.staff_reach is not None and d.staff_reach[0] != round(d.staff_reach[0])
    page = render(d)
    text = text_of(page)
    assert not _FRACTIONAL_PEOPLE.search(text), _FRACTIONAL_PEOPLE.search(text)
    n_people_cols = 0
    for heads, rows in tables(page):
        for j, h in enumerate(heads):
            if re.search(r"\b(people|person)\b", h) and h != "person":
                n_people_cols += 1
                for r in rows:
                    assert not re.search(r"\d\.\d", r[j]), (h, r[j])
    assert n_people_cols >= 5  # contacts, partners (2), KOC table, communities, ...
    # the sentence about the partners gives whole people with the interval
    nxt = text_of(section_html(page, "next"))
    m = re.search(r"would reach about ([\d,]+) more people \(([\d,]+) to ([\d,]+)\)", nxt)
    assert m is not None, nxt
    last = d.partners.iloc[-1]
    assert m.groups() == (f"{round(last.total):,}", f"{round(last.lo):,}", f"{round(last.hi):,}")


def test_html_formatters() -> None:
    assert rh.count(1234567) == "1,234,567" and rh.count(float("nan")) == "–"
    assert rh.people(181.4) == "181" and rh.people(181.6) == "182"
    assert rh.spread(1046.6, 974.1, 1088.9) == "1,047 (974 to 1,089)" and rh.spread(3.0) == "3"
    assert rh.pct(0.2857) == "29%" and rh.pct(0.045) == "4.5%" and rh.pct(0.00123) == "0.12%"
    assert rh.esc("<b>&") == "&lt;b&gt;&amp;"


def test_numbers_have_thousands_separators(synthetic_data: Any) -> None:
    page = render(synthetic_data)
    n = synthetic_data.graph.n_events
    assert n >= 1000
    assert f"{n:,} forwards" in page.split("</header>", 1)[0]
    # no bare 4+ digit counts in the tables (years, seeds and ids aside): every big number is grouped
    for sid in ("ingest", "kocs", "communities", "next"):
        cells = re.findall(r'<td class="num">([^<]*)</td>', section_html(page, sid))
        assert cells
        for c in cells:
            assert not re.fullmatch(r"\d{4,}", c.strip()), (sid, c)


# ------------------------------------------------------------------------------------------------ verdict
def _bt(koc: dict[int, float], rules: dict[str, dict[int, float]], n_eligible: int) -> pd.DataFrame:
    rows = [("koc", k, v) for k, v in koc.items()] + [(m, k, v) for m, d in rules.items() for k, v in d.items()]
    df = pd.DataFrame(rows, columns=["method", "k", "precision"])
    df["n_eligible"] = n_eligible
    df.attrs["n_eligible"] = n_eligible
    return df


def test_verdict_known_answers() -> None:
    # k = 50: the KOC list 0.30 against the best rule, past_reach 0.42 (out_degree 0.20): worse
    v = verdict(_bt({10: 0.9, 50: 0.30}, {"past_reach": {10: 0.1, 50: 0.42}, "out_degree": {10: 0.2, 50: 0.20}}, 500))
    assert (v.outcome, v.k, v.best_method, v.koc, v.best) == ("worse", 50, "past_reach", 0.30, 0.42)
    assert "“largest reach so far”" in v.sentence and "30%" in v.sentence and "42%" in v.sentence
    # better by more than a point
    v = verdict(_bt({10: 0.5, 50: 0.50}, {"past_reach": {10: 0.1, 50: 0.42}}, 500))
    assert v.outcome == "better" and v.sentence.startswith("Yes:")
    # within half a point (kg.evaluate.TIE_MARGIN): even
    v = verdict(_bt({10: 0.5, 50: 0.424}, {"past_reach": {10: 0.1, 50: 0.42}}, 500))
    assert v.outcome == "even" and v.sentence.startswith("About even")
    # 30 people could be ranked: top 50 and 100 pick everyone, so k = 10 (the largest k below 30)
    v = verdict(_bt({10: 0.5, 50: 1.0, 100: 1.0}, {"coreness": {10: 0.8, 50: 1.0, 100: 1.0}}, 30))
    assert (v.outcome, v.k) == ("worse", 10)
    # no backtest: said so, with the reason
    v = verdict(None, "the backtest was switched off")
    assert v.outcome == "unknown" and "switched off" in v.sentence


def test_verdict_sentence_on_the_page(toy_report: str, synthetic_data: Any) -> None:
    nxt = section_html(toy_report, "next")
    m = re.search(r'<p class="verdict (\w+)"><strong>Can this list be trusted\?</strong> (.*?)</p>', nxt)
    assert m is not None
    assert m.group(1) in ("better", "worse", "even")
    assert re.search(r"top 10 were among the top 10 spreaders afterwards", html.unescape(m.group(2)))
    # the same sentence in the backtest section, and it agrees with the backtest table
    assert m.group(2) in section_html(toy_report, "backtest")
    d = synthetic_data
    assert d.verdict.sentence == verdict(d.backtest).sentence
    at = d.backtest[d.backtest["k"] == d.verdict.k].set_index("method")["precision"]
    assert d.verdict.koc == at["koc"] and d.verdict.best == at.drop("koc").max()


# ------------------------------------------------------------------------------------------------ glossary
def test_glossary(toy_report: str) -> None:
    sec = section_html(toy_report, "glossary")
    terms = [text_of(t) for t in re.findall(r"<dt>(.*?)</dt>", sec)]
    for want in ("PageRank", "coreness", "Gini coefficient", "modularity", "top k", "IMM guarantee", "KOC",
                 "big account", "route", "partner"):
        assert any(want in t for t in terms), want
    assert len(terms) == len(GLOSSARY)
    # each term is explained in a sentence or more
    for dd in re.findall(r"<dd>(.*?)</dd>", sec):
        assert len(text_of(dd)) > 40


def test_one_vocabulary(toy_report: str) -> None:
    """People, content, forwards: the page's prose and tables never say "users" or "items" (the log's own
    column names, shown as code, aside)."""
    text = text_of(re.sub(r"<code>.*?</code>", "", toy_report))
    assert not re.search(r"\b(users?|items?)\b", text), re.findall(r".{30}\b(?:users?|items?)\b.{30}", text)[:3]


# ------------------------------------------------------------------------------------------------ the pipeline
def test_pipeline_runs_once_through_run_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    from kocgraph import pipeline

    calls: list[Any] = []
    real = pipeline.run_stages

    def spy(log: Any, options: Any, **kw: Any) -> Any:
        calls.append((tuple(options.staff), options.kol_threshold, options.rng))
        return real(log, options, **kw)

    monkeypatch.setattr(pipeline, "run_stages", spy)
    build_report(kg.datasets.toy(), staff=STAFF, top=5, rng=3, kol_threshold=50, backtest=False, progress=False)
    assert calls == [(tuple(STAFF), 50, 3)]


# ------------------------------------------------------------------------------------------------ self-contained
def test_page_is_self_contained(toy_report: str) -> None:
    p = parse(toy_report)
    low = toy_report.lower()
    assert "http://" not in low and "https://" not in low
    for tag, attrs in p.tags:
        for name in ("src", "href", "srcset", "action", "poster", "data", "formaction", "background"):
            v = (attrs.get(name) or "").strip().lower()
            if v.startswith("data:image/png;base64,"):
                continue  # an embedded picture: its base64 payload may spell "http" by chance
            assert "http" not in v and not v.startswith("//"), (tag, name, v[:60])
        if tag == "a":
            assert str(attrs.get("href", "")).startswith("#")
    tags = {t for t, _ in p.tags}
    assert not tags & {"script", "link", "iframe", "object", "embed", "base", "form", "video", "audio", "source"}
    assert "@import" not in low and "url(" not in low and "@font-face" not in low
    csp = [a for t, a in p.tags if t == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(csp) == 1
    assert "default-src 'none'" in str(csp[0]["content"]) and "img-src data:" in str(csp[0]["content"])
    assert '<meta charset="utf-8">' in toy_report


def test_template_and_css_are_package_data(toy_report: str) -> None:
    from importlib import resources

    pkg = resources.files("kocgraph.report")
    css = pkg.joinpath("style.css").read_text(encoding="utf-8")
    tpl = pkg.joinpath("template.html").read_text(encoding="utf-8")
    assert css.strip() in toy_report  # the stylesheet, inline
    assert "${body}" in tpl and "${csp}" in tpl
    # and they ship with the package
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = next(ln for ln in pyproject.splitlines() if ln.startswith("kocgraph = [") and "py.typed" in ln)
    assert "report/template.html" in line and "report/style.css" in line


def test_every_image_is_a_valid_png_data_uri(toy_report: str) -> None:
    srcs = parse(toy_report).imgs()
    # routes, network, concentration, ranking, communities, backtest
    assert len(srcs) >= 6
    for uri in srcs:
        arr = decode_png(uri)
        assert arr.std() > 5  # a drawn picture, not a blank canvas
    # each picture sits in the section it belongs to
    for sid in ("next", "network", "concentration", "kocs", "communities", "backtest"):
        assert "<img src=\"data:image/png;base64," in section_html(toy_report, sid), sid


# ------------------------------------------------------------------------------------------------ ids
def test_ingest_counts_rejected_rows_in_plain_words(tmp_path: Path) -> None:
    df = toy_frame()
    lines = [",".join(df.columns)] + [",".join(r) for r in df.astype(str).itertuples(index=False)]
    lines += [
        ",alice,poster,2026-01-02T10:00:00Z,share,group,",
        "alice,alice,poster,2026-01-02T10:01:00Z,share,group,",
        "bob,bob,poster,2026-01-02T10:02:00Z,share,group,",
        "alice,bob,poster,not a time,share,group,",
        lines[1],
    ]
    log = tmp_path / "forwards.csv"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    g = kg.read_log(log)
    page = build_report(g, staff=STAFF, top=5, backtest=False, seeds=None, progress=False)
    sec = section_html(page, "ingest")
    words = {k: v.replace("'", "&#x27;") for k, v in REASONS.items()}
    for reason, n in {"self_forward": 2, "null_source": 1, "unparseable_time": 1, "duplicate": 1}.items():
        row = re.search(re.escape(words[reason]) + r"</td><td class=\"num\">(\d+)</td>", sec)
        assert row is not None, reason
        assert int(row.group(1)) == n
    assert ">35<" in sec and ">30<" in sec and "5 (14%)" in sec  # read, used, set aside
    assert "forwards.csv" in page
    assert "5 rows set aside" in text_of(page.split("</header>", 1)[0])


def test_pseudonymize_reaches_tables_and_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids that cannot occur in ordinary words ("uid_..."): none may survive, in the HTML or drawn
    in any figure (labels, tick labels, legends, annotations)."""
    from kocgraph.jobs import Pseudonymizer

    df = toy_frame()
    for c in ("source", "target"):
        df[c] = "uid_" + df[c]
    g = kg.read_log(df)
    drawn = drawn_texts(monkeypatch)
    page = build_report(g, staff=["uid_brand", "uid_staff_li"], top=10, pseudonymize="pepper", progress=False)
    p = Pseudonymizer("pepper")
    assert drawn and any(p("uid_alice")[:12] in t for t in drawn)  # the pictures name people by pseudonym
    assert "uid_" not in page
    assert not [t for t in drawn if "uid_" in t]
    assert p("uid_alice") in section_html(page, "kocs")
    assert f"{p('uid_brand')} → {p('uid_bob')} → {p('uid_carol')}" in page
    assert f"ask {p('uid_bob')} to introduce you" in section_html(page, "next")
    assert "pseudonymized" in section_html(page, "method")
    # and the same page without the salt names them
    plain = build_report(g, staff=["uid_brand", "uid_staff_li"], top=10, backtest=False, seeds=None, progress=False)
    assert "uid_alice" in plain and p("uid_alice") not in plain


@pytest.mark.parametrize("weird", ["$x^{$", "<b>bo&ld</b>", "<script>alert(1)</script>", "a_$\\frac{1}{2}$"])
def test_ids_that_look_like_html_or_mathtext(weird: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An id is shown as it is: escaped on the page, drawn as plain text (no mathtext error, no lost
    picture)."""
    df = toy_frame()
    for c in ("source", "target"):
        df[c] = df[c].replace({"alice": weird})
    g = kg.read_log(df)
    drawn = drawn_texts(monkeypatch)
    page = build_report(g, staff=STAFF, top=5, progress=False)
    assert "could not be drawn" not in page
    assert html.escape(weird, quote=True) in page
    if "<" in weird:
        assert weird not in page  # never as markup
    assert "<script" not in page.lower()
    assert weird in text_of(section_html(page, "next"))  # the reader sees the id itself
    # drawn verbatim (plain text, not mathtext; the plots shorten long names to 14 characters with "…")
    assert any(weird[:13] in t for t in drawn)


# ------------------------------------------------------------------------------------------------ degradation
def test_seeds_unavailable_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    g = kg.datasets.toy()
    monkeypatch.delattr(kg.tl, "seeds")
    nxt = section_html(build_report(g, staff=STAFF, top=5, backtest=False, progress=False), "next")
    part = nxt.split('id="seeds"', 1)[1].split('id="big"', 1)[0]
    assert "Seeds not available" in part and "<table" not in part


def test_backtest_missing_or_failing_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    g = kg.datasets.toy()
    monkeypatch.setitem(sys.modules, "kocgraph.evaluate", None)  # the import fails
    page = build_report(g, staff=STAFF, top=5, seeds=None, progress=False)
    sec = section_html(page, "backtest")
    assert "Backtest not available" in sec and "not available in this version" in sec and "<img" not in sec
    assert "could not be checked" in section_html(page, "next")
    monkeypatch.undo()
    page = build_report(g, staff=STAFF, top=5, backtest=False, seeds=None, progress=False)
    assert "switched off" in section_html(page, "backtest") and "switched off" in section_html(page, "next")


def test_backtest_table_in_plain_words(toy_report: str) -> None:
    sec = section_html(toy_report, "backtest")
    assert "KOC score (this report&#x27;s ranking)" in sec and "largest reach so far" in sec
    assert "<strong>" in sec  # the best value per column is marked
    # the toy has 10 users the KOC ranking ranks on its first 70% (every method ranks the same ones):
    # top 50 and top 100 would pick everyone, so they are left out
    assert "top 10" in sec and "top 50</th>" not in sec and "no more than 10 people could be ranked" in sec


def test_no_staff_and_graph_left_untouched() -> None:
    g = kg.datasets.toy()
    cols = (list(g.nodes.columns), list(g.edges.columns), set(g.meta), set(g.tables))
    page = build_report(g, top=5, backtest=False, progress=False)
    assert (list(g.nodes.columns), list(g.edges.columns), set(g.meta), set(g.tables)) == cols
    assert "no staff account given" in section_html(page, "kocs")
    nxt = section_html(page, "next")
    assert "No staff account was given" in nxt and "<table" in nxt  # the people are listed all the same
    assert "No staff or brand account was given" in section_html(page, "ingest")


def test_bad_parameters() -> None:
    g = kg.datasets.toy()
    with pytest.raises(kg.InvalidParameterError, match="top"):
        build_report(g, top=0)
    with pytest.raises(kg.InvalidParameterError, match="seeds"):
        build_report(g, seeds=0)
    with pytest.raises(kg.InvalidParameterError, match="pseudonymize"):
        build_report(g, pseudonymize=3)
    with pytest.raises(kg.NodeNotFoundError):
        build_report(g, staff=["nobody_here"])


def test_same_seed_same_pictures() -> None:
    g = kg.datasets.toy()
    a = parse(build_report(g, staff=STAFF, top=5, backtest=False, progress=False)).imgs()
    b = parse(build_report(g, staff=STAFF, top=5, backtest=False, progress=False)).imgs()
    assert a == b


# ------------------------------------------------------------------------------------------------ command line
def test_cli_writes_atomically_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    rc = cli.main(["report", "sample:toy", "--staff-ids", "brand,staff_li,ghost", "--out", str(out),
                   "--no-backtest", "--no-seeds", "--title", "Spring <campaign>"])
    _o, err = capsys.readouterr()
    assert rc == 0 and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left behind
    page = out.read_text(encoding="utf-8")
    assert "<title>Spring &lt;campaign&gt;</title>" in page
    assert "ghost" in err and "wrote report" in err
    assert "1 staff id(s) not in the log" in section_html(page, "ingest")
    assert "Not asked for" in section_html(page, "next")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # usage: the output directory does not exist
    assert cli.main(["report", "sample:toy", "--out", str(tmp_path / "no" / "r.html")]) == cli.EXIT_USAGE
    # usage: --out missing
    assert cli.main(["report", "sample:toy"]) == cli.EXIT_USAGE
    # usage: --seeds 0
    assert cli.main(["report", "sample:toy", "--seeds", "0", "--out", str(tmp_path / "r.html")]) == cli.EXIT_USAGE
    # data: the staff file does not exist
    assert cli.main(["report", "sample:toy", "--staff", str(tmp_path / "nope.txt"),
                     "--out", str(tmp_path / "r.html")]) == cli.EXIT_DATA
    # data: every row rejected; nothing written
    bad = tmp_path / "bad.csv"
    bad.write_text("source,target,item,time\na,a,p,1\nb,b,p,2\n", encoding="utf-8")
    assert cli.main(["report", str(bad), "--out", str(tmp_path / "r.html")]) == cli.EXIT_DATA
    assert not (tmp_path / "r.html").exists()
    err = capsys.readouterr().err
    assert "does not exist" in err and "no usable event" in err


def test_cli_pseudonymize_key_from_a_file_or_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from kocgraph.jobs import Pseudonymizer

    keyfile = tmp_path / "key.txt"
    keyfile.write_text("pepper\n", encoding="utf-8")
    monkeypatch.setenv("KG_TEST_KEY", "pepper")
    pages = []
    for flags in (["--pseudonymize-key-file", str(keyfile)], ["--pseudonymize-key-env", "KG_TEST_KEY"],
                  ["--pseudonymize", "pepper"]):
        out = tmp_path / "r.html"
        rc = cli.main(["report", "sample:toy", "--staff-ids", "brand,staff_li", "--out", str(out), "--no-backtest",
                       "--no-seeds", *flags])
        err = capsys.readouterr().err
        assert rc == 0, err
        assert ("process list" in err) == (flags[0] == "--pseudonymize")  # the key on the command line warns
        page = out.read_text(encoding="utf-8")
        assert ">alice<" not in page and Pseudonymizer("pepper")("alice") in page
        pages.append(re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC|\d+\.\d\d s", "", page))
    assert len({len(p) for p in pages}) == 1  # the same pseudonyms whichever way the key came


def test_no_import_cycle_with_the_cli() -> None:
    """The report command and the shared flags never import kocgraph.cli (issue 14: no cycle)."""
    code = ("import sys, kocgraph.cli_report, kocgraph.cli_args, kocgraph.report, kocgraph.bench.cli; "
            "bad = [m for m in ('kocgraph.cli',) if m in sys.modules]; print(bad)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert res.stdout.strip() == "[]", res.stdout + res.stderr
    for path in [*sorted((ROOT / "kocgraph" / "report").glob("*.py")), ROOT / "kocgraph" / "cli_report.py",
                 ROOT / "kocgraph" / "cli_args.py", ROOT / "kocgraph" / "bench" / "cli.py"]:
        src = path.read_text(encoding="utf-8")
        assert not re.search(r"from\s+(\.\.?|kocgraph\.)cli\s+import|import\s+kocgraph\.cli\b", src), path


# ------------------------------------------------------------------------------------------------ browser
_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; });
  var h = Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);
  document.title = 'images ' + ok.length + '/' + imgs.length + ' height ' + h;
  var pre = document.createElement('pre'); pre.id = 'kg-check'; pre.textContent = document.title;
  document.body.appendChild(pre);
});
</script>"""
#: where the full-page screenshot is copied for a person to look at (unset: not copied)
SCREENSHOT_ENV = "KOCGRAPH_REPORT_SCREENSHOT"


def _chromium(args: list[str], user_data: Path, timeout: float = 90.0) -> subprocess.CompletedProcess[str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={user_data}", *args]
    env = dict(os.environ, HOME=str(user_data))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(),
    reason="headless Chromium not installed (/usr/bin/chromium missing); install Debian's chromium: "
           "apt-get install -y --no-install-recommends chromium",
)


@needs_chromium
def test_renders_in_headless_chromium(toy_report: str, tmp_path: Path) -> None:
    page_path = tmp_path / "report.html"
    page_path.write_text(toy_report, encoding="utf-8")
    n_img = len(parse(toy_report).imgs())

    # 1. every image loaded, and the page's full height: an inline check script (the CSP relaxed for
    #    it, images still data: only)
    checked = toy_report.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    checked = checked.replace("</body>", _CHECK_SCRIPT + "</body>", 1)
    chk = tmp_path / "checked.html"
    chk.write_text(checked, encoding="utf-8")
    res = _chromium(["--window-size=1280,1000", "--virtual-time-budget=10000", "--dump-dom", chk.as_uri()],
                    tmp_path / "ud1")
    m = re.search(r'<pre id="kg-check">images (\d+)/(\d+) height (\d+)</pre>', res.stdout)
    assert m is not None, f"the check script did not run (rc {res.returncode}): {res.stderr[-2000:]}"
    loaded, total, height = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert total == n_img and loaded == total, f"{loaded} of {total} images loaded"
    assert height > 2000  # a long page: the sections, the tables and the pictures

    # 2. a full-page screenshot of the page exactly as written: not blank
    full = min(height + 40, 30_000)
    shot = tmp_path / "shot.png"
    res = _chromium([f"--screenshot={shot}", f"--window-size=1280,{full}", "--hide-scrollbars",
                     "--virtual-time-budget=10000", page_path.as_uri()], tmp_path / "ud2")
    assert shot.is_file(), f"no screenshot (rc {res.returncode}): {res.stderr[-2000:]}"
    keep = os.environ.get(SCREENSHOT_ENV)
    if keep:  # for a person to look at later
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, keep)
    from PIL import Image

    with Image.open(shot) as im:
        px = np.asarray(im.convert("L"), dtype=np.float64)
        rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    assert px.shape == (full, 1280)
    assert px.std() > 10, "the screenshot is blank"
    assert (px < 200).mean() > 0.02, "almost nothing drawn on the screenshot"
    # the pictures are on screen: coloured pixels, in the first screenful too (the route pictures of
    # "What to do next")
    sat = (rgb.max(axis=2) - rgb.min(axis=2)) > 60
    assert sat.mean() > 0.002, "no coloured pixel: the images did not render"
    assert sat[:3000].mean() > 0.0005, "no picture near the top of the page"


@needs_chromium
def test_page_policy_refuses_scripts_in_chromium(tmp_path: Path) -> None:
    """A guard on the guard: the page's CSP refuses inline scripts, so the check above must relax it."""
    page = build_report(kg.datasets.toy(), staff=STAFF, top=3, backtest=False, seeds=None, progress=False)
    blocked = page.replace("</body>", _CHECK_SCRIPT + "</body>", 1)  # CSP left as written
    p = tmp_path / "blocked.html"
    p.write_text(blocked, encoding="utf-8")
    res = _chromium(["--virtual-time-budget=5000", "--dump-dom", p.as_uri()], tmp_path / "ud")
    assert "<main>" in res.stdout  # the page itself loaded
    assert 'id="kg-check"' not in res.stdout  # the inline script was refused by the page's policy
