"""Evaluate a ranking against what happened next.

:func:`backtest` ranks users on the events before a time split and measures them on the events after
it: precision@k of future reach, the share of future reach the top-k capture, and Spearman's rho, for
the KOC ranking and simple baselines side by side. :func:`compare_seeds` simulates seeding strategies
in the same random worlds.
"""

from ._backtest import BASELINES, backtest
from ._seeds import STRATEGIES, compare_seeds

__all__ = ["backtest", "BASELINES", "compare_seeds", "STRATEGIES"]
