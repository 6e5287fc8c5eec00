"""Regenerate the screenshots in ``docs/screenshots/``: the HTML report and the plot gallery, as a reader sees them.

One command, from the repository root::

    python docs/screenshots.py            # all three (about 2 minutes on a 2-core machine)
    python docs/screenshots.py toy        # just one: toy, synthetic-1e6 or gallery

* ``report-toy.png`` and ``report-synthetic-1e6.png``: full-page screenshots of ``kocgraph report`` on the
  bundled samples, run exactly as the README says, rendered by headless Chromium at 1280 px wide (the way
  ``tests/test_report.py`` renders it). The page height is measured first by an inline script in a copy of
  the page (the page's own policy refuses scripts, so the screenshot is of the page exactly as written).
* ``gallery.png``: a contact sheet of every figure ``docs/gallery.py`` draws, in page order, captioned
  with the ``kg.pl`` call.

Every PNG is kept under 1.5 MB: a page too big at full width is reduced to a 256-colour palette, then
scaled down. Needs Chromium (``/usr/bin/chromium`` or ``$CHROMIUM``) and Pillow.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WIDTH = 1280
MAX_BYTES = 1_500_000
#: sample -> the staff accounts the sample was generated with (``g.meta["dataset"]["staff"]``)
REPORTS = {
    "toy": "brand,staff_li",
    "synthetic-1e6": "staff_000,staff_001,staff_002,staff_003,staff_004",
}
_HEIGHT_SCRIPT = """<script>
window.addEventListener('load', function () {
  var h = Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);
  var pre = document.createElement('pre'); pre.id = 'kg-height'; pre.textContent = 'height ' + h;
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={work / 'profile'}",
           "--virtual-time-budget=10000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=dict(os.environ, HOME=str(work)),
                          check=False)


def _page_height(page: Path, work: Path) -> int:
    """The page's full height in CSS px at 1280 px wide (a copy with a measuring script; CSP relaxed for it)."""
    html = page.read_text(encoding="utf-8")
    html = html.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    probe = work / "probe.html"
    probe.write_text(html.replace("</body>", _HEIGHT_SCRIPT + "</body>", 1), encoding="utf-8")
    res = _chromium([f"--window-size={WIDTH},1000", "--dump-dom", probe.as_uri()], work)
    m = re.search(r'<pre id="kg-height">height (\d+)</pre>', res.stdout)
    if m is None:
        raise RuntimeError(f"could not measure {page.name} (chromium rc {res.returncode}): {res.stderr[-1500:]}")
    return int(m.group(1))


def _save_small(im: Any, path: Path) -> None:
    """Save ``im`` as PNG under MAX_BYTES: full colour if it fits, else a 256-colour palette, else scaled down."""
    from PIL import Image

    im = im.convert("RGB")
    im.save(path, optimize=True)
    if path.stat().st_size <= MAX_BYTES:
        return
    scale = 1.0
    while True:
        cur = im if scale == 1.0 else im.resize((round(im.width * scale), round(im.height * scale)),
                                                Image.Resampling.LANCZOS)
        cur.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(path, optimize=True)
        if path.stat().st_size <= MAX_BYTES or scale < 0.3:
            return
        scale *= 0.85


def report(sample: str, out: Path = OUT) -> Path:
    """``kocgraph report sample:NAME`` as the README runs it, then a full-page screenshot of the page."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        page = work / f"report-{sample}.html"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH"))
                                                          if p))
        subprocess.run([sys.executable, "-m", "kocgraph.cli", "report", f"sample:{sample}", "--staff-ids",
                        REPORTS[sample], "--out", str(page), "--no-progress"], check=True, env=env)
        height = _page_height(page, work)
        shot = work / "shot.png"
        res = _chromium([f"--window-size={WIDTH},{height}", f"--screenshot={shot}", page.as_uri()], work)
        if not shot.is_file():
            raise RuntimeError(f"no screenshot of {page.name} (chromium rc {res.returncode}): {res.stderr[-1500:]}")
        target = out / f"report-{sample}.png"
        with Image.open(shot) as im:
            _save_small(im, target)
    return target


def gallery(out: Path = OUT) -> Path:
    """A contact sheet of docs/gallery.py's figures, two per row, each captioned with its kg.pl call."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=16)  # Pillow's bundled font: no system font needed
    sys.path.insert(0, str(HERE))
    import gallery as gal

    with tempfile.TemporaryDirectory() as tmp:
        paths = gal.render(Path(tmp))
        tiles = []
        cell = WIDTH // 2
        for p in paths:
            with Image.open(p) as im:
                im = im.convert("RGB")
                im.thumbnail((cell - 20, 10_000), Image.Resampling.LANCZOS)
                tile = Image.new("RGB", (cell, im.height + 40), "white")
                tile.paste(im, (10, 34))
                fn = gal.ENTRIES[p.stem][0]
                ImageDraw.Draw(tile).text((10, 8), f"kg.pl.{fn}  ({p.stem})", fill=(30, 30, 30), font=font)
                tiles.append(tile)
    rows = [tiles[i:i + 2] for i in range(0, len(tiles), 2)]
    heights = [max(t.height for t in r) for r in rows]
    sheet = Image.new("RGB", (WIDTH, sum(heights)), "white")
    y = 0
    for r, h in zip(rows, heights, strict=True):
        for j, t in enumerate(r):
            sheet.paste(t, (j * cell, y))
        y += h
    out.mkdir(parents=True, exist_ok=True)
    target = out / "gallery.png"
    _save_small(sheet, target)
    return target


def main(argv: list[str]) -> None:
    if not Path(CHROMIUM).is_file() and any(a in REPORTS for a in (argv or REPORTS)):
        raise SystemExit(f"headless Chromium not found at {CHROMIUM}; set $CHROMIUM or install chromium")
    for what in argv or [*REPORTS, "gallery"]:
        t0 = time.perf_counter()
        path = gallery() if what == "gallery" else report(what)
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1e6:.2f} MB  {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
