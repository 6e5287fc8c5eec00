"""Evaluate a ranking against what happened next.

:func:`backtest` ranks users on the past part of a log (before a time split, or a share of its items)
and measures them on the rest: precision@k of future reach, the share of future reach the top-k
capture, and Spearman's rho, for the KOC ranking and simple baselines side by side, over the same
eligible users. :func:`verdict` says in one line whether the KOC list beat the best simple rule. :func:`compare_seeds` simulates seeding strategies
in the same random worlds.
"""

from ._backtest import BASELINES, backtest
from ._backtest import TIE_MARGIN as TIE_MARGIN
from ._backtest import Judgement as Judgement
from ._backtest import judge as judge
from ._backtest import verdict as verdict
from ._seeds import STRATEGIES, compare_seeds

__all__ = ["backtest", "BASELINES", "compare_seeds", "STRATEGIES"]
# verdict and judge are public too (kg.evaluate.verdict), kept out of __all__, which lists the functions that take
# ``g`` first: it takes a backtest table
