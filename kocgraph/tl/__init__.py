"""Tools: compute and annotate. Each writes columns into ``g.nodes``/``g.items``/``g.edges``,
records its parameters in ``g.meta[key_added]`` and returns ``None`` (or a new graph with ``copy=True``)."""

from ._affinity import affinity
from ._attribution import attribution
from ._cascades import cascades
from ._centrality import betweenness, communities, coreness, pagerank, strength
from ._grow import edge_probabilities as edge_probabilities
from ._grow import seeds, simulate
from ._kocs import BOOTSTRAP_TOP as BOOTSTRAP_TOP
from ._kocs import CONVERSION_TYPES as CONVERSION_TYPES
from ._kocs import DEFAULT_HALF_LIFE as DEFAULT_HALF_LIFE
from ._kocs import DEFAULT_WEIGHTS as DEFAULT_WEIGHTS
from ._kocs import FEATURE_WORDS as FEATURE_WORDS
from ._kocs import FEATURES as FEATURES
from ._kocs import PRIOR_WEIGHTS as PRIOR_WEIGHTS
from ._kocs import check_weights as check_weights
from ._kocs import feature_words as feature_words
from ._kocs import kocs
from ._routes import routes, tie_strength

__all__ = ["cascades", "pagerank", "strength", "coreness", "betweenness", "communities", "kocs",
           "tie_strength", "routes", "attribution", "affinity",
           "simulate", "seeds"]
# PRIOR_WEIGHTS (the KOC model's prior weights, used when a log is too thin to fit) and DEFAULT_WEIGHTS
# (the first version's percentile weights, weights="percentile") are public too, kept out of __all__,
# which lists the tools (the functions that take ``g`` first); so are the model's names that the Spark
# engine shares (FEATURES, CONVERSION_TYPES, DEFAULT_HALF_LIFE, check_weights), and what the getters,
# plots, report and evaluation share with the tools (FEATURE_WORDS, feature_words, BOOTSTRAP_TOP,
# edge_probabilities)
