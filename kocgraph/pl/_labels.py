"""Labels that never overlap: a greedy placement, done at draw time from the renderer's text extents.

A :class:`LabelLayer` holds the candidate labels of a plot, most important first. Each time the
figure is drawn (on screen, to PNG, at any dpi, after ``tight_layout``), it measures every label with
the renderer and tries eight spots around its marker (right, left, above, below, the diagonals; then
the same a little farther out). A label takes the first spot that stays inside the Axes and overlaps
no label placed before it, preferring spots that cover no other marker; a label with no free spot is
left out, and a label set back from its marker gets a thin leader line. So the important labels
always win, and no two drawn labels ever overlap, whatever the figure size.

No extra dependency: adjustText moves labels until they *mostly* stop overlapping; this placement
guarantees it, and a map has few enough labels (at most a few hundred) for it to be quick.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform

__all__ = ["LabelLayer"]

#: spot directions around a marker, in order of preference
_DIRS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
#: distance of the spots, in marker radii (plus padding)
_RINGS = (1.0, 2.4)


class LabelLayer(Artist):
    """Candidate labels at data points, placed without overlaps each time the figure is drawn.

    Parameters
    ----------
    ax
        The Axes the points are in (data coordinates).
    xy
        ``(n, 2)`` anchor points, most important label first.
    texts
        The label strings (drawn as plain text, never mathtext).
    radius_pt
        Marker radius of each anchor in points: labels start just outside it.
    obstacles_xy, obstacles_pt
        Other markers (data coordinates, radius in points) that labels should rather not cover.
    colors, weights
        Per label colour and font weight.
    fontsize
        Font size in points.
    max_labels
        At most this many labels are drawn.
    """

    def __init__(self, ax: Any, xy: np.ndarray, texts: list[str], *, radius_pt: np.ndarray,
                 obstacles_xy: np.ndarray | None = None, obstacles_pt: np.ndarray | None = None,
                 colors: list[Any] | None = None, weights: list[str] | None = None, fontsize: float = 8.0,
                 max_labels: int = 200, pad_pt: float = 1.5) -> None:
        super().__init__()
        from matplotlib import patheffects

        self.axes = ax
        self.set_figure(ax.figure)
        self.set_zorder(6)
        self.set_clip_on(False)
        self._xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        self._r = np.broadcast_to(np.asarray(radius_pt, dtype=np.float64), (self._xy.shape[0],)).copy()
        self._obs_xy = (np.zeros((0, 2)) if obstacles_xy is None
                        else np.asarray(obstacles_xy, dtype=np.float64).reshape(-1, 2))
        self._obs_r = (np.zeros(0) if obstacles_pt is None
                       else np.broadcast_to(np.asarray(obstacles_pt, np.float64), (self._obs_xy.shape[0],)).copy())
        self._max = int(max_labels)
        self._pad = float(pad_pt)
        halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
        self._texts: list[Text] = []
        for i, s in enumerate(texts):
            t = Text(0.0, 0.0, str(s), fontsize=fontsize, color=colors[i] if colors else "#222222",
                     fontweight=weights[i] if weights else "normal", ha="left", va="bottom",
                     parse_math=False, clip_on=False, path_effects=halo)
            t.set_figure(ax.figure)
            t.set_transform(IdentityTransform())
            self._texts.append(t)
        self._placed: list[int] | None = None
        self._boxes = np.zeros((0, 4))
        self._leaders: list[tuple[float, float, float, float]] = []

    # ------------------------------------------------------------------ placement
    def _place(self, renderer: Any) -> tuple[list[int], np.ndarray]:
        """Indices of the labels that fit, and their boxes ``(x0, y0, x1, y1)`` in display pixels."""
        ax = self.axes
        if ax is None:  # set in __init__; only Artist.remove() clears it
            raise RuntimeError("this label layer was removed from its Axes (layer.remove()), so it has no place "
                               "to lay labels out; draw the plot again for a new one.")
        px = renderer.points_to_pixels(1.0)
        n = len(self._texts)
        if n == 0:
            return [], np.zeros((0, 4))
        anchor = ax.transData.transform(self._xy)
        obs = ax.transData.transform(self._obs_xy) if self._obs_xy.size else np.zeros((0, 2))
        obs_h = self._obs_r * px
        frame = ax.bbox
        pad = self._pad * px
        boxes = np.empty((min(n, self._max), 4))
        placed: list[int] = []
        self._leaders = []
        for i, t in enumerate(self._texts):  # bounded by the labels asked for (at most a few hundred)
            if len(placed) >= self._max:
                break
            t.set_position((0.0, 0.0))
            ext = t.get_window_extent(renderer)
            w, h = ext.width, ext.height
            ax_, ay = anchor[i]
            if not (np.isfinite(ax_) and np.isfinite(ay)):
                continue
            best, clean, far = None, False, False
            for ring in _RINGS:
                gap = self._r[i] * px * ring + pad
                for dx, dy in _DIRS:
                    g = gap * (0.75 if dx and dy else 1.0)
                    x0 = ax_ + g if dx > 0 else (ax_ - g - w if dx < 0 else ax_ - w / 2)
                    y0 = ay + g if dy > 0 else (ay - g - h if dy < 0 else ay - h / 2)
                    b = (x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
                    if b[0] < frame.x0 or b[2] > frame.x1 or b[1] < frame.y0 or b[3] > frame.y1:
                        continue
                    k = len(placed)
                    if k and np.any((b[0] < boxes[:k, 2]) & (b[2] > boxes[:k, 0])
                                    & (b[1] < boxes[:k, 3]) & (b[3] > boxes[:k, 1])):
                        continue
                    covers = bool(obs.size) and bool(np.any(
                        (b[0] < obs[:, 0] + obs_h) & (b[2] > obs[:, 0] - obs_h)
                        & (b[1] < obs[:, 1] + obs_h) & (b[3] > obs[:, 1] - obs_h)))
                    if not covers:
                        best, clean, far = b, True, ring > _RINGS[0]
                        break
                    if best is None:
                        best, far = b, ring > _RINGS[0]  # free of labels but covers a marker: kept unless a
                        # clean spot turns up
                if clean:
                    break
            if best is None:
                continue
            boxes[len(placed)] = best
            placed.append(i)
            t.set_position((best[0] + pad, best[1] + pad))
            if far:  # a name set back from its dot gets a thin leader line to the box's nearest point
                nx_ = min(max(ax_, best[0] + pad), best[2] - pad)
                ny_ = min(max(ay, best[1] + pad), best[3] - pad)
                self._leaders.append((ax_, ay, nx_, ny_))
        return placed, boxes[: len(placed)]

    # ------------------------------------------------------------------ Artist API
    def draw(self, renderer: Any) -> None:
        if not self.get_visible():
            return
        from matplotlib.lines import Line2D

        self._placed, self._boxes = self._place(renderer)
        for x0, y0, x1, y1 in self._leaders:
            line = Line2D([x0, x1], [y0, y1], transform=IdentityTransform(), color="#777777", linewidth=0.6)
            line.set_figure(self.figure)
            line.draw(renderer)
        for i in self._placed:
            self._texts[i].draw(renderer)
        self.stale = False

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        if renderer is None:
            renderer = self.figure._get_renderer()  # type: ignore[union-attr]
        placed, boxes = self._place(renderer)
        if not placed:
            return Bbox.null()
        return Bbox.from_extents(boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())

    def get_children(self) -> list[Any]:
        """The labels drawn at the last draw (all candidates before the first draw)."""
        if self._placed is None:
            return list(self._texts)
        return [self._texts[i] for i in self._placed]

    @property
    def placed(self) -> list[Text]:
        """The Text artists drawn at the last draw, most important first."""
        return [self._texts[i] for i in (self._placed or [])]

    @property
    def candidates(self) -> list[Text]:
        return list(self._texts)
