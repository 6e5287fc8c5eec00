"""Tools: compute and annotate. Each writes columns into ``g.nodes``/``g.items``/``g.edges``,
records its parameters in ``g.meta[key_added]`` and returns ``None`` (or a new graph with ``copy=True``)."""

from ._cascades import cascades

__all__ = ["cascades"]
