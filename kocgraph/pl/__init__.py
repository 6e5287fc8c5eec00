"""Plots: matplotlib figures of a :class:`~kocgraph.ShareGraph`.

Every plot takes ``ax=None`` (None draws a new figure), returns the Axes it drew on, never calls
``show()``, and takes ``rng`` where it uses a layout (same ``rng``, same picture). A plot that needs
a result raises :class:`~kocgraph.NotComputedError` naming the ``kg.tl`` tool to run; a bad column
name raises :class:`~kocgraph.InvalidParameterError`. What a plot drew is recorded on the Axes as
``ax.kocgraph`` (a dict), for tests and reports.

- :func:`network`: the diffusion map (a backbone of the top users on big graphs);
- :func:`cascade`: one item's tree;
- :func:`reach`: complementary CDF of reach, log-log;
- :func:`concentration`: Lorenz curve, "top 1% of users → X% of reach";
- :func:`ranking`: KOC scores as stacked bars of their terms;
- :func:`communities`: community sizes and forwards between communities;
- :func:`spread`: reach against k per seeding strategy; :func:`backtest`: backtest metrics;
- :func:`route`: the routes from the staff to one person; :func:`attribution`: who brought the sales.

Every plot draws in one house style (:func:`house_style`, a ``matplotlib.rc_context``; use it for
your own figures too), so the report, the notebooks and the docs show the same figures. Ids are drawn
as plain text, never as mathtext. :func:`savefig_base64` renders a plot to a PNG data URI (for
self-contained HTML).
"""

from ._attribution import attribution
from ._grow import METHOD_WORDS as METHOD_WORDS
from ._grow import backtest, spread
from ._network import cascade, network
from ._plots import communities, concentration, ranking, reach
from ._route import route
from ._style import house_style as house_style
from ._utils import savefig_base64 as savefig_base64

# savefig_base64 and house_style take no graph: they are public but kept out of __all__, which lists
# the plots (the functions that take ``g`` first).
__all__ = ["network", "cascade", "reach", "concentration", "ranking", "communities", "spread", "backtest", "route",
           "attribution"]
