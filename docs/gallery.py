"""Render the plot gallery: every ``kg.pl`` plot on the toy log and on seeded synthetic logs, to PNG.

Run it by hand (``python docs/gallery.py [OUTDIR]``, default ``docs/_static/gallery``); the Sphinx build
runs it too (``docs/conf.py``), so the gallery page always shows what the current code draws. Every
figure comes from the public API exactly as a user would call it, in the kocgraph house style.
Takes about 15 seconds on a 2-core machine.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "_static" / "gallery"

#: gallery entries in page order: file stem -> (kg.pl function, caption)
ENTRIES: dict[str, tuple[str, str]] = {
    "network": ("network", "The default map of a 20,000-person log: the staff (navy squares), the top 20 KOCs "
                           "(red rings), their best routes and introducers (orange), coloured by community."),
    "network_toy": ("network", "The toy log: every person and link, named."),
    "route": ("route", "The routes from the staff to the top KOC: whom to ask (the introducer), and how likely "
                       "the content travels the whole way."),
    "ranking": ("ranking", "The top KOCs and what their scores are made of."),
    "reach": ("reach", "How many people reach how many others (log-log)."),
    "concentration": ("concentration", "How concentrated reach is: the top 1% of people and their share."),
    "communities": ("communities", "Group sizes with their top person, and the forwards between groups."),
    "cascade": ("cascade", "How one piece of content spread through about 3,000 people."),
    "cascade_toy": ("cascade", "The toy poster's cascade, everyone named."),
    "attribution": ("attribution", "Who brought the sales (linear model)."),
    "attribution_models": ("attribution", "How the credit for the sales depends on the attribution model."),
    "spread": ("spread", "Extra reach bought by each way of picking partners."),
    "backtest": ("backtest", "Backtest: would each ranking have found the people who spread the most afterwards?"),
}


def _graphs() -> dict[str, Any]:
    import kocgraph as kg
    import kocgraph.evaluate

    toy = kg.datasets.toy()
    staff_toy = toy.meta["dataset"]["staff"]
    kg.tl.kocs(toy, staff=staff_toy)
    kg.tl.communities(toy, rng=0)
    kg.tl.routes(toy, sources=staff_toy, targets="kocs", k=3)

    syn = kg.datasets.synthetic(20_000, 500, rng=0)
    staff = syn.meta["synthetic"]["staff"]
    kg.tl.kocs(syn, staff=staff)
    kg.tl.communities(syn, rng=0)
    kg.tl.routes(syn, sources=staff, targets="kocs", k=3, n_kocs=20)
    models = ["last_touch", "first_touch", "linear", "time_decay"]
    for m in models:
        kg.tl.attribution(syn, model=m, key_added=f"attr_{m}")

    small = kg.datasets.synthetic(5_000, 300, rng=1)
    small_staff = small.meta["synthetic"]["staff"]
    kg.evaluate.compare_seeds(small, k=[1, 2, 5, 10, 20], staff=small_staff, n=100, progress=False)
    backtest = kg.evaluate.backtest(syn, k=(10, 50, 100), staff=staff)

    big = kg.datasets.synthetic(100_000, 1_700, rng=0)
    kg.tl.cascades(big)
    item = (big.items["size"] - 3000).abs().idxmin()
    return {"kg": kg, "toy": toy, "syn": syn, "small": small, "backtest": backtest, "big": big, "item": item,
            "models": models, "top": kg.get.kocs(syn, n=1)["user"].iloc[0]}


def _draw(d: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    kg, syn = d["kg"], d["syn"]
    return {
        "network": lambda: kg.pl.network(syn, rng=0),
        "network_toy": lambda: kg.pl.network(d["toy"], rng=0),
        "route": lambda: kg.pl.route(syn, d["top"]),
        "ranking": lambda: kg.pl.ranking(syn, n=15),
        "reach": lambda: kg.pl.reach(syn),
        "concentration": lambda: kg.pl.concentration(syn),
        "communities": lambda: kg.pl.communities(syn, n=12),
        "cascade": lambda: kg.pl.cascade(d["big"], d["item"]),
        "cascade_toy": lambda: kg.pl.cascade(d["toy"], "poster"),
        "attribution": lambda: kg.pl.attribution(syn, key="attr_linear"),
        "attribution_models": lambda: kg.pl.attribution(syn, key=[f"attr_{m}" for m in d["models"]], n=20),
        "spread": lambda: kg.pl.spread(d["small"]),
        "backtest": lambda: kg.pl.backtest(syn, d["backtest"]),
    }


def render(out: Path = DEFAULT_OUT, *, dpi: int = 90) -> list[Path]:
    """Render every gallery entry to ``out/<name>.png`` and return the paths, in page order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    draw = _draw(_graphs())
    paths = []
    for name in ENTRIES:  # one figure per entry
        ax = draw[name]()
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=dpi, bbox_inches="tight")
        plt.close(ax.figure)
        paths.append(path)
    return paths


def page() -> str:
    """The Markdown body of the gallery page (docs/gallery.md includes the same)."""
    parts = []
    for name, (fn, caption) in ENTRIES.items():
        parts.append(f"### `kg.pl.{fn}`\n\n{caption}\n\n![{caption}](_static/gallery/{name}.png)\n")
    return "\n".join(parts)


if __name__ == "__main__":
    t0 = time.perf_counter()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for p in render(target):
        print(p)
    print(f"{len(ENTRIES)} figures in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
