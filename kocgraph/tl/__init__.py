"""Tools: compute and annotate. Each writes columns into ``g.nodes``/``g.items``/``g.edges``,
records its parameters in ``g.meta[key_added]`` and returns ``None`` (or a new graph with ``copy=True``)."""

from ._cascades import cascades
from ._centrality import betweenness, communities, coreness, pagerank, strength
from ._affinity import affinity
from ._grow import seeds, simulate
from ._insight import attribution, routes, tie_strength
from ._kocs import DEFAULT_WEIGHTS, PRIOR_WEIGHTS, kocs

__all__ = ["cascades", "pagerank", "strength", "coreness", "betweenness", "communities", "kocs",
           "tie_strength", "routes", "attribution", "affinity",
           "simulate", "seeds"]
# PRIOR_WEIGHTS (the KOC model's prior weights, used when a log is too thin to fit) and DEFAULT_WEIGHTS
# (the first version's percentile weights, weights="percentile") are public too, kept out of __all__,
# which lists the tools (the functions that take ``g`` first)
