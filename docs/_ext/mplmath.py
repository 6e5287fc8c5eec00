"""Sphinx math without a network: every formula is rendered at build time by matplotlib's mathtext
(already a kocgraph dependency) to an SVG file under ``_images/math/``, shown with ``<img>``.

No MathJax, no CDN, no LaTeX installation. mathtext covers the TeX the docs use (fractions, sums,
sub- and superscripts, Greek letters, relations); a formula it cannot parse stops the build with the
formula in the message, so the docs never show raw TeX by accident.

Enable with ``extensions = [..., "mplmath"]`` (``docs/_ext`` on ``sys.path``) and
``html_math_renderer = "mplmath"``.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path
from typing import Any

from docutils import nodes

#: the size of inline formulas, in points (the body text of the default theme is about 12 pt)
FONTSIZE = 12.0
#: TeX short forms that mathtext spells out
ALIASES = {r"\ge": r"\geq", r"\le": r"\leq", r"\ne": r"\neq", r"\to": r"\rightarrow"}


def _mathtext(latex: str) -> str:
    import re

    text = " ".join(latex.split())
    return re.sub(r"\\(ge|le|ne|to)(?![A-Za-z])", lambda m: ALIASES["\\" + m.group(1)], text)


def render_svg(latex: str, out_dir: Path) -> tuple[str, float]:
    """Render ``latex`` (no surrounding dollars) to ``out_dir/<hash>.svg``; the file name and the depth
    below the baseline in points (for ``vertical-align``)."""
    import matplotlib
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    text = _mathtext(latex)
    name = hashlib.sha1(f"{FONTSIZE}:{text}".encode()).hexdigest()[:16] + ".svg"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    with matplotlib.rc_context({"mathtext.fontset": "cm", "svg.fonttype": "path", "svg.hashsalt": "kocgraph"}):
        try:
            depth = mathtext.math_to_image(f"${text}$", str(path), prop=FontProperties(size=FONTSIZE), dpi=72,
                                           format="svg")
        except ValueError as err:
            raise ValueError(f"mathtext cannot render the formula {latex!r}: {err}") from err
    return name, float(depth)


def _img(self: Any, latex: str, *, display: bool) -> str:
    out = Path(self.builder.outdir) / self.builder.imagedir / "math"
    name, depth = render_svg(latex, out)
    src = f"{self.builder.imgpath}/math/{name}"
    style = "" if display else f' style="vertical-align: -{depth:.2f}pt"'
    cls = "math math-display" if display else "math"
    return f'<img class="{cls}" src="{src}" alt="{html.escape(latex, quote=True)}"{style}/>'


def visit_math(self: Any, node: nodes.Element) -> None:
    self.body.append(_img(self, node.astext(), display=False))
    raise nodes.SkipNode


def visit_displaymath(self: Any, node: nodes.Element) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math"))
    self.body.append(f"<p>{_img(self, node.astext(), display=True)}</p></div>\n")
    raise nodes.SkipNode


def setup(app: Any) -> dict[str, Any]:
    app.add_html_math_renderer("mplmath", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
