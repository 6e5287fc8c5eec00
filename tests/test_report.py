"""The shareable HTML report: ``kocgraph report`` and :func:`kocgraph.report.build_report`.

What is pinned down:

* the page holds every section (ingest, network map, concentration, top KOCs with routes,
  communities, backtest, and seeds only when asked), each with a "how to read this" paragraph;
* it is self-contained: no http(s) reference anywhere, no external script, stylesheet, font or
  frame, a Content-Security-Policy that forbids fetching, and every ``<img>`` a PNG data URI that
  decodes to a valid image;
* pseudonymization reaches the tables *and* the pictures (every text drawn in every figure);
* graceful degradation: no backtest, no seeding, no staff;
* the command line: atomic write, exit codes;
* it renders in headless Chromium: a screenshot that is not blank, and every image loaded.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it); without ``/usr/bin/chromium``
the browser test is skipped with the reason.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import kocgraph as kg
from kocgraph import cli, report
from kocgraph._core.validation import REASONS
from kocgraph.report import SECTIONS, build_report

TOY_CSV = Path(kg.__file__).parent / "datasets" / "data" / "toy.csv"
STAFF = ["brand", "staff_li"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = "/usr/bin/chromium"


# ------------------------------------------------------------------------------------------------ helpers
class _Page(HTMLParser):
    """Collects every tag with its attributes, the <img> sources, the section ids and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
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


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The toy log through the command line, with seeds: the page every structural test reads."""
    d = tmp_path_factory.mktemp("report")
    staff = d / "staff.txt"
    staff.write_text("# our own accounts\nbrand\nstaff_li\n", encoding="utf-8")
    out = d / "report.html"
    rc = cli.main(["report", str(TOY_CSV), "--staff", str(staff), "--out", str(out), "--top", "8", "--seeds", "3"])
    assert rc == 0
    return out.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------------ structure
def test_every_section_is_there_in_order_with_how_to_read(toy_report: str) -> None:
    p = parse(toy_report)
    assert p.sections() == list(SECTIONS)  # seeds asked for: all of them, in the documented order
    for sid, heading in SECTIONS.items():
        sec = section_html(toy_report, sid)
        assert f"<h2>{html.escape(heading)}</h2>" in sec
        assert "How to read this." in sec, sid
    # a table of contents pointing at every section
    hrefs = [a.get("href") for t, a in p.tags if t == "a"]
    assert hrefs == [f"#{s}" for s in SECTIONS]


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


def test_every_image_is_a_valid_png_data_uri(toy_report: str) -> None:
    srcs = parse(toy_report).imgs()
    # network, concentration, ranking, communities, backtest
    assert len(srcs) >= 5
    for uri in srcs:
        arr = decode_png(uri)
        assert arr.std() > 5  # a drawn picture, not a blank canvas
    # each picture sits in the section it belongs to
    for sid in ("network", "concentration", "kocs", "communities", "backtest"):
        assert "<img src=\"data:image/png;base64," in section_html(toy_report, sid), sid


def test_kocs_routes_and_introducers(toy_report: str) -> None:
    sec = section_html(toy_report, "kocs")
    g = kg.datasets.toy()
    kg.tl.kocs(g, staff=STAFF)
    top = kg.get.kocs(g, n=8)
    kg.tl.routes(g, sources=STAFF, targets=top["user"].tolist(), k=1)
    for u, reason in zip(top["user"], top["reason"]):
        r = kg.get.routes(g, u).iloc[0]
        assert f">{u}<" in sec
        assert reason in sec
        assert r["path"] in sec  # e.g. "brand → bob → carol"
    carol = re.search(r"<tr><td[^>]*>4</td><td[^>]*>carol</td>(.*?)</tr>", sec)
    assert carol is not None
    assert "brand → bob → carol" in carol.group(1) and ">bob<" in carol.group(1) and ">20%<" in carol.group(1)
    assert "none needed (direct)" in sec  # alice: a staff account forwards to her itself
    assert "2 staff accounts" in sec


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
    page = build_report(g, staff=STAFF, top=5, backtest=False)
    sec = section_html(page, "ingest")
    words = {k: v.replace("'", "&#x27;") for k, v in REASONS.items()}
    for reason, n in {"self_forward": 2, "null_source": 1, "unparseable_time": 1, "duplicate": 1}.items():
        row = re.search(re.escape(words[reason]) + r"</td><td class=\"num\">(\d+)</td>", sec)
        assert row is not None, reason
        assert int(row.group(1)) == n
    assert ">35<" in sec and ">30<" in sec and "5 (14%)" in sec  # read, used, set aside
    assert "forwards.csv" in page


def test_numbers_have_thousands_separators() -> None:
    g = kg.datasets.synthetic(500, 60, rng=1)
    page = build_report(g, staff=g.meta["synthetic"]["staff"], top=10, backtest=False)
    n = g.n_events
    assert n >= 1000
    assert f"{n:,}" in section_html(page, "summary")
    # no bare 4+ digit counts in the tables (years, seeds and ids aside): every big number is grouped
    for sid in ("ingest", "kocs", "communities"):
        cells = re.findall(r'<td class="num">([^<]*)</td>', section_html(page, sid))
        assert cells
        for c in cells:
            assert not re.fullmatch(r"\d{4,}", c.strip()), (sid, c)
    assert report._int(1234567) == "1,234,567" and report._int(float("nan")) == "–"
    assert report._pct(0.2857) == "29%" and report._pct(0.045) == "4.5%" and report._pct(0.00123) == "0.12%"


# ------------------------------------------------------------------------------------------------ options
def test_pseudonymize_reaches_tables_and_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids that cannot occur in ordinary words ("uid_..."): none may survive, in the HTML or drawn
    in any figure (labels, tick labels, legends, annotations)."""
    from matplotlib.text import Text

    from kocgraph import pl
    from kocgraph._jobs import Pseudonymizer

    df = toy_frame()
    for c in ("source", "target"):
        df[c] = "uid_" + df[c]
    g = kg.read_log(df)
    drawn: list[str] = []
    real = pl.savefig_base64

    def spy(fig: Any, **kw: Any) -> str:
        drawn.extend(t.get_text() for t in fig.findobj(Text))
        return real(fig, **kw)

    monkeypatch.setattr(pl, "savefig_base64", spy)
    page = build_report(g, staff=["uid_brand", "uid_staff_li"], top=10, seeds=2, pseudonymize="pepper")
    assert drawn and any("#1" in t for t in drawn)  # the map numbers the KOCs instead of naming them
    assert "uid_" not in page
    assert not [t for t in drawn if "uid_" in t]
    p = Pseudonymizer("pepper")
    assert p("uid_alice") in section_html(page, "kocs")
    assert f"{p('uid_brand')} → {p('uid_bob')} → {p('uid_carol')}" in page
    assert "pseudonymized" in section_html(page, "about")
    # and the same page without the salt names them
    plain = build_report(g, staff=["uid_brand", "uid_staff_li"], top=10, backtest=False)
    assert "uid_alice" in plain and p("uid_alice") not in plain


def test_seeds_only_when_asked_and_unavailable_said(monkeypatch: pytest.MonkeyPatch) -> None:
    g = kg.datasets.toy()
    page = build_report(g, staff=STAFF, top=5, backtest=False)
    assert 'id="seeds"' not in page
    assert "not asked for" in section_html(page, "about")
    page = build_report(g, staff=STAFF, top=5, seeds=2, backtest=False)
    sec = section_html(page, "seeds")
    assert "<table" in sec and ">alice<" in sec
    monkeypatch.delattr(kg.tl, "seeds")
    sec = section_html(build_report(g, staff=STAFF, top=5, seeds=2, backtest=False), "seeds")
    assert "Seeds not available" in sec and "<table" not in sec


def test_backtest_missing_or_failing_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    g = kg.datasets.toy()
    monkeypatch.setitem(sys.modules, "kocgraph.evaluate", None)  # the import fails
    sec = section_html(build_report(g, staff=STAFF, top=5), "backtest")
    assert "Backtest not available" in sec and "not available in this version" in sec and "<img" not in sec
    monkeypatch.undo()
    page = build_report(g, staff=STAFF, top=5, backtest=False)
    assert "switched off" in section_html(page, "backtest")


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
    page = build_report(g, top=5, backtest=False)
    assert (list(g.nodes.columns), list(g.edges.columns), set(g.meta), set(g.tables)) == cols
    sec = section_html(page, "kocs")
    assert "no staff account given" in sec
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
    a = parse(build_report(g, staff=STAFF, top=5, backtest=False)).imgs()
    b = parse(build_report(g, staff=STAFF, top=5, backtest=False)).imgs()
    assert a == b


# ------------------------------------------------------------------------------------------------ command line
def test_cli_writes_atomically_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    rc = cli.main(["report", "sample:toy", "--staff-ids", "brand,staff_li,ghost", "--out", str(out),
                   "--no-backtest", "--title", "Spring <campaign>"])
    _o, err = capsys.readouterr()
    assert rc == 0 and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary file left behind
    page = out.read_text(encoding="utf-8")
    assert "<title>Spring &lt;campaign&gt;</title>" in page
    assert "ghost" in err and "wrote report" in err
    assert "1 staff id(s) not in the log" in section_html(page, "ingest")


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # usage: the output directory does not exist
    assert cli.main(["report", "sample:toy", "--out", str(tmp_path / "no" / "r.html")]) == cli.EXIT_USAGE
    # usage: --out missing
    assert cli.main(["report", "sample:toy"]) == cli.EXIT_USAGE
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


# ------------------------------------------------------------------------------------------------ browser
_CHECK_SCRIPT = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; });
  document.title = 'images ' + ok.length + '/' + imgs.length;
  var pre = document.createElement('pre'); pre.id = 'kg-check'; pre.textContent = document.title;
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args: list[str], user_data: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
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

    # 1. a screenshot of the page exactly as written: not blank
    shot = tmp_path / "shot.png"
    res = _chromium([f"--screenshot={shot}", "--window-size=1280,4000", "--hide-scrollbars",
                     page_path.as_uri()], tmp_path / "ud1")
    assert shot.is_file(), f"no screenshot (rc {res.returncode}): {res.stderr[-2000:]}"
    from PIL import Image

    with Image.open(shot) as im:
        px = np.asarray(im.convert("L"), dtype=np.float64)
    assert px.shape == (4000, 1280)
    assert px.std() > 10, "the screenshot is blank"
    assert (px < 200).mean() > 0.02, "almost nothing drawn on the screenshot"
    # the pictures are on screen: the top 4000 px hold the map, so some rows have many colours
    with Image.open(shot) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    sat = (rgb.max(axis=2) - rgb.min(axis=2)) > 60
    assert sat.mean() > 0.002, "no coloured pixel: the images did not render"

    # 2. every image loaded: an inline check script (the CSP relaxed for it, images still data: only)
    checked = toy_report.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    checked = checked.replace("</body>", _CHECK_SCRIPT + "</body>", 1)
    chk = tmp_path / "checked.html"
    chk.write_text(checked, encoding="utf-8")
    res = _chromium(["--virtual-time-budget=10000", "--dump-dom", chk.as_uri()], tmp_path / "ud2")
    m = re.search(r'<pre id="kg-check">images (\d+)/(\d+)</pre>', res.stdout)
    assert m is not None, f"the check script did not run (rc {res.returncode}): {res.stderr[-2000:]}"
    loaded, total = int(m.group(1)), int(m.group(2))
    assert total == n_img and loaded == total, f"{loaded} of {total} images loaded"


@needs_chromium
def test_page_policy_refuses_scripts_in_chromium(tmp_path: Path) -> None:
    """A guard on the guard: the page's CSP refuses inline scripts, so the check above must relax it."""
    page = build_report(kg.datasets.toy(), staff=STAFF, top=3, backtest=False)
    blocked = page.replace("</body>", _CHECK_SCRIPT + "</body>", 1)  # CSP left as written
    p = tmp_path / "blocked.html"
    p.write_text(blocked, encoding="utf-8")
    res = _chromium(["--virtual-time-budget=5000", "--dump-dom", p.as_uri()], tmp_path / "ud")
    assert "<main>" in res.stdout  # the page itself loaded
    assert 'id="kg-check"' not in res.stdout  # the inline script was refused by the page's policy
