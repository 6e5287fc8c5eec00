"""The report's data: run the pipeline and the extras once, and return a plain :class:`ReportData`.

:func:`report_data` works on a copy of the graph. It runs the nomination pipeline through
:func:`kocgraph.pipeline.run_stages` (the same stages, order and defaults as the nightly job), then
the extras the page needs: routes from the staff to the top KOCs (:func:`kocgraph.tl.routes`), the
partners to recruit (:func:`kocgraph.tl.seeds`, after a memory check), what the staff reach on their
own (:func:`kocgraph.tl.simulate`), and the backtest (:func:`kocgraph.evaluate.backtest`) with its
one-sentence verdict. The sections (:mod:`kocgraph.report.sections`) only read the result.

Examples
--------
>>> import kocgraph as kg
>>> from kocgraph.report import report_data
>>> d = report_data(kg.datasets.toy(), staff=["brand", "staff_li"], top=3, seeds=2, progress=False)
>>> d.kocs["user"].tolist(), d.contacts["introducer"].tolist()
(['alice', 'bob', 'nina'], [None, None, 'bob'])
>>> d.partners["user"].tolist()
['alice', 'judy']
>>> d.verdict.outcome in ("better", "worse", "even")
True
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._core.validation import id_list
from ..exceptions import InvalidParameterError
from ..pipeline import column, stage
from ..pl import METHOD_WORDS as PLOT_METHOD_WORDS

__all__ = ["ReportData", "Verdict", "report_data", "verdict", "shown_ks", "METHOD_WORDS", "SEED_OPTIONS"]

#: the backtest's methods, in plain words (one table with kg.pl's; the KOC row names the report's ranking)
METHOD_WORDS = {**PLOT_METHOD_WORDS, "koc": "KOC score (this report's ranking)"}
#: the seeding settings: sized to finish in seconds on a 1e6-event log (about 4 s on this project's
#: 2-core machine for 10 partners, with 100 simulations to check the spread); the guarantee is
#: (1 - 1/e - 0.2) = 0.43 of the best possible spread
SEED_OPTIONS: dict[str, Any] = {"epsilon": 0.2, "n_check": 100}
#: simulations of what the staff reach on their own (the baseline the partners add to)
STAFF_REACH_RUNS = 100
#: the keys the report's results are found under: the pipeline's stages (kocgraph.pipeline.NOMINATION)
#: and the report's own run of kg.tl.routes
KOCS_KEY = stage("kocs").key
COMMUNITY_KEY = stage("communities").key
ROUTES_KEY = "routes"


@dataclass(frozen=True)
class Verdict:
    """Did the KOC list beat the simplest rules on this log's own history?

    ``outcome``: ``"better"``, ``"worse"``, ``"even"`` (within :data:`kocgraph.evaluate.TIE_MARGIN`) or
    ``"unknown"`` (no backtest); ``sentence`` says it in words (plain text).
    """

    outcome: Literal["better", "worse", "even", "unknown"]
    sentence: str
    k: int | None = None
    koc: float | None = None
    best: float | None = None
    best_method: str | None = None


@dataclass
class ReportData:
    """Everything the page shows, computed once. Ids are pseudonymized here when asked."""

    title: str
    source: str
    created: pd.Timestamp
    graph: Any  #: the log as read (ingest facts, rejected rows); left untouched
    view: Any  #: the computed graph, ids pseudonymized when asked: what the tables and plots show
    staff: list[Any]  #: staff ids as shown
    pseudonymized: bool
    top: int
    rng: int
    kol_threshold: Any
    kocs: pd.DataFrame  #: kg.get.kocs, reasons in the page's words
    excluded: pd.DataFrame  #: kg.get.kocs(excluded=True)
    contacts: pd.DataFrame  #: per top KOC: the best route, whom to ask, the chance
    big_accounts: pd.DataFrame  #: KOL-size accounts left out, by reach
    route_error: str | None
    seeds_asked: int | None
    partners: pd.DataFrame | None
    partners_unavailable: str | None
    staff_reach: tuple[float, float, float] | None  #: expected people the staff reach alone (mean, lo, hi)
    backtest: pd.DataFrame | None
    backtest_unavailable: str | None
    verdict: Verdict
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)  #: when the work began (perf_counter)


# ------------------------------------------------------------------------------------------------ words
_WORDS = ((re.compile(r"\busers\b"), "people"), (re.compile(r"\buser\b"), "person"),
          (re.compile(r"\bitems\b"), "pieces of content"), (re.compile(r"\bitem\b"), "piece of content"),
          (re.compile(r"\bresharers\b"), "people who passed it on"))


def plain_words(text: Any) -> str:
    """The page's one vocabulary (people, content, forwards) in a library sentence.

    >>> plain_words("reached 16 users across 3 items")
    'reached 16 people across 3 pieces of content'
    """
    s = str(text)
    for pat, word in _WORDS:
        s = pat.sub(word, s)
    return s


# ------------------------------------------------------------------------------------------------ checks
def resolve_pseudonymizer(pseudonymize: Any) -> Any:
    """A :class:`~kocgraph.jobs.Pseudonymizer` from a salt (or one given), or None."""
    from ..jobs import Pseudonymizer

    if pseudonymize is None or isinstance(pseudonymize, Pseudonymizer):
        return pseudonymize
    if isinstance(pseudonymize, str):
        return Pseudonymizer(pseudonymize)
    raise InvalidParameterError(
        f"pseudonymize={pseudonymize!r} must be a salt (a non-empty string) or None; pass e.g. pseudonymize='s3cret'."
    )


def _check(g: Any, staff: Any, top: Any, seeds: Any, rng: Any) -> tuple[Any, list[Any], int, int | None, int]:
    from .._core.tools import check_graph
    from .._core.validation import check_int
    from ..jobs import NoUsableDataError

    where = "kocgraph.report.build_report"
    g = check_graph(g, where)
    top = check_int("top", top, minimum=1, where=where)
    if seeds is not None:
        seeds = check_int("seeds", seeds, minimum=1, where=where)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise InvalidParameterError(f"rng={rng!r} must be an int seed for the report (same seed, same report).")
    if g.n_events == 0:
        raise NoUsableDataError(
            "no usable event in the log, so there is nothing to report; see kg.get.rejected(g) for the rows set aside."
        )
    staff_list = id_list(staff)
    if staff_list:
        g.user_codes(staff_list, what="staff")  # NodeNotFoundError naming unknown ids
    return g, staff_list, top, seeds, int(rng)


def input_name(g: Any) -> str:
    """A name for the log: its file name, the sample's name, or "a table in memory"."""
    rep = g.meta.get("read_log") or {}
    ds = g.meta.get("dataset") or {}
    if rep.get("path"):
        return Path(str(rep["path"])).name
    if ds.get("name"):
        return f"sample {ds['name']}"
    return "a table in memory"


# ------------------------------------------------------------------------------------------------ extras
def _partners(work: Any, k: int, staff: list[Any], rng: int, progress: bool | None,
              timed: Callable[[str, Callable[[], Any]], Any], note: Callable[[str], None] | None) -> str | None:
    """Choose ``k`` partners among the ranked KOC candidates, beyond the staff's reach; the reason when
    they cannot be chosen (None when they were)."""
    import kocgraph as kg

    from ._seeding import too_dense

    if not hasattr(kg.tl, "seeds") or not hasattr(kg.get, "seeds"):
        return "seeding (kg.tl.seeds) is not available in this version of kocgraph"
    why = timed("seeds_memory_check", lambda: too_dense(work, k))
    if why is not None:  # the sampler would blow past memory: say so instead of trying
        if note is not None:
            note(f"note: no seeds in the report: {why}.")
        return why
    score = column(work, "kocs", "score") if KOCS_KEY in work.meta else None
    cand = work.nodes.index[score.notna().to_numpy()] if score is not None else None
    if cand is not None and len(cand) == 0:
        return "nobody could be ranked as a KOC, so there is nobody to recruit"
    try:
        timed("seeds", lambda: kg.tl.seeds(work, k=k, candidates=cand, exclude_reached_by=staff or None, rng=rng,
                                           progress=progress, **SEED_OPTIONS))
    except Exception as err:  # noqa: BLE001 - one failed section is reported on the page, not fatal
        return f"seeding failed: {type(err).__name__}: {err}"
    return None


def _staff_reach(work: Any, staff: list[Any], rng: int, progress: bool | None) -> tuple[float, float, float] | None:
    """Expected people the staff reach on their own (simulated), or None without staff."""
    import kocgraph as kg

    if not staff:
        return None
    kg.tl.simulate(work, staff, n=STAFF_REACH_RUNS, rng=rng, key_added="report_staff_reach", progress=progress)
    m = work.meta["report_staff_reach"]
    return float(m["spread"]), float(m["ci"][0]), float(m["ci"][1])


def _backtest(g: Any, staff: list[Any], rng: int, kol_threshold: Any) -> tuple[pd.DataFrame | None, str | None]:
    try:
        from ..evaluate import backtest
    except ImportError:
        return None, "the backtest (kg.evaluate.backtest) is not available in this version of kocgraph"
    try:
        return backtest(g, split=0.7, k=(10, 50, 100), staff=staff or None, rng=rng,
                        kol_threshold=kol_threshold), None
    except Exception as err:  # noqa: BLE001 - one failed section is reported on the page, not fatal
        return None, f"the backtest could not be run on this log: {err}"


def shown_ks(bt: pd.DataFrame) -> list[int]:
    """The backtest's cut-offs worth showing: those below the number of people who could be ranked
    (a top k as large as everyone picks everyone, whatever the method)."""
    all_k = sorted(int(k) for k in bt["k"].unique())
    n_elig = int(bt.attrs.get("n_eligible", bt["n_eligible"].iloc[0] if len(bt) else 0))
    return [k for k in all_k if k < n_elig] or all_k[:1]


def verdict(bt: pd.DataFrame | None, why_not: str | None = None) -> Verdict:
    """One sentence: did the KOC list beat the best simple rule on this log's own history?

    Compares the hit rate (``precision``) of the KOC ranking with the best baseline's at ``k = 50``,
    or the largest shown ``k`` below 50 (see :func:`shown_ks`). A difference within
    :data:`kocgraph.evaluate.TIE_MARGIN` is a draw (the comparison is :func:`kocgraph.evaluate.judge`).

    >>> import pandas as pd
    >>> bt = pd.DataFrame({"method": ["koc", "past_reach", "koc", "past_reach"], "k": [10, 10, 50, 50],
    ...                    "precision": [0.5, 0.4, 0.30, 0.42], "n_eligible": 200})
    >>> v = verdict(bt)
    >>> v.outcome, v.k, v.best_method
    ('worse', 50, 'past_reach')
    >>> v.sentence
    "No: on this log's own history, a simpler rule did better. Ranked on the first 70% of the time, 30% of this list's top 50 were among the top 50 spreaders afterwards, against 42% for the best simple rule, “largest reach so far”. Use that rule for this log, or check the list against it before acting on it."
    """
    if bt is None or not len(bt) or "koc" not in set(bt["method"]):
        why = str(why_not or "no backtest was run").rstrip(". ")
        return Verdict("unknown", f"Whether this list beats simpler rules could not be checked: {why}.")
    from ..evaluate import judge

    ks = shown_ks(bt)
    k = 50 if 50 in ks else max([x for x in ks if x < 50] or ks[:1])
    if len(set(bt["method"])) < 2:
        return Verdict("unknown", "Whether this list beats simpler rules could not be checked: the backtest ran no "
                                  "simple rule.", k=k)
    j = judge(bt, k)
    koc, best, best_m = j.koc, j.best, j.best_method
    rule = METHOD_WORDS.get(best_m, best_m)
    figures = (f"{_pct(koc)} of this list's top {k:,} were among the top {k:,} spreaders afterwards, against "
               f"{_pct(best)} for the best simple rule, “{rule}”")
    if j.outcome == "undefined":
        return Verdict("unknown", "Whether this list beats simpler rules could not be checked: the backtest gave no "
                                  "hit rate.", k, koc, best, best_m)
    if j.outcome == "better":
        return Verdict("better", f"Yes: on this log's own history, this list beat the simple rules. Ranked on the "
                                 f"first 70% of the time, {figures}.", k, koc, best, best_m)
    if j.outcome == "worse":
        return Verdict("worse", f"No: on this log's own history, a simpler rule did better. Ranked on the first 70% "
                                f"of the time, {figures}. Use that rule for this log, or check the list against it "
                                "before acting on it.", k, koc, best, best_m)
    return Verdict("even", f"About even: on this log's own history, this list did no better than the simple rules. "
                           f"Ranked on the first 70% of the time, {figures}.", k, koc, best, best_m)


def _pct(p: float) -> str:
    from ._html import pct

    return pct(p)


# ------------------------------------------------------------------------------------------------ tables
def _pseudonymized_view(work: Any, pseudo: Any) -> Any:
    view = work.copy()
    if pseudo is not None:
        view.nodes.index = pd.Index(pseudo.series(pd.Series(work.nodes.index, dtype=object)).to_numpy(),
                                    name=work.nodes.index.name, dtype=object)
    return view


_UNREACHABLE_WORDS = {
    "is_isolated": "no route: this person has no forwarding link at all",
    "no_in_edges": "no route: nobody ever forwarded content to this person",
    "no_path_from_sources": "no route: no chain of forwards leads from your accounts to this person",
}


def _contacts(view: Any, kocs: pd.DataFrame, staff: list[Any], route_error: str | None) -> pd.DataFrame:
    """One row per top KOC: ``source`` (the staff account the best route starts at), ``introducer``
    (None when the staff forward to the person directly), ``hops``, ``chance``, ``route`` (the path
    in words) and ``no_route`` (why there is none)."""
    import kocgraph as kg

    rows = []
    have = bool(staff) and route_error is None and ROUTES_KEY in view.tables
    for u in kocs["user"]:
        row: dict[str, Any] = {"user": u, "source": None, "introducer": None, "hops": np.nan, "chance": np.nan,
                               "route": None, "no_route": None}
        if not staff:
            row["no_route"] = "no staff account given"
        elif not have:
            row["no_route"] = "routes could not be computed"
        else:
            rt = kg.get.routes(view, u, key=ROUTES_KEY)
            if len(rt):
                b = rt.iloc[0]
                row.update(source=b["source"], introducer=b["introducer"] if int(b["hops"]) > 1 else None,
                           hops=int(b["hops"]), chance=float(b["strength"]), route=str(b["path"]))
            else:
                row["no_route"] = _UNREACHABLE_WORDS.get(str(rt.attrs.get("unreachable", "")),
                                                         "no route from your accounts")
        rows.append(row)
    cols = ["user", "source", "introducer", "route", "no_route"]
    out = pd.DataFrame({"rank": kocs["rank"].to_numpy() if len(kocs) else np.empty(0, np.int64)})
    for c in cols:  # ids and words as given (object), None where there is none, never NaN
        out[c] = pd.Series([r[c] for r in rows], dtype=object)
    out["hops"] = np.array([r["hops"] for r in rows], dtype=np.float64)
    out["chance"] = np.array([r["chance"] for r in rows], dtype=np.float64)
    return out[["rank", "user", "source", "introducer", "hops", "chance", "route", "no_route"]]


def _big_accounts(excluded: pd.DataFrame, view: Any) -> pd.DataFrame:
    """The KOL-size accounts left out of the ranking, biggest reach first, with their distinct receivers."""
    big = excluded[excluded["excluded"] == "kol"].copy() if len(excluded) else excluded.iloc[0:0].copy()
    c = view.codes
    receivers = np.bincount(c.edge_src, minlength=view.n_users)
    big["receivers"] = receivers[view.user_codes(big["user"].tolist())] if len(big) else np.empty(0, np.int64)
    return big.sort_values("reach", ascending=False, kind="stable").reset_index(drop=True)


def _partner_table(view: Any) -> pd.DataFrame:
    """kg.get.seeds with ``total``/``lo``/``hi``: the people reached by the partners so far (simulated
    when checked, else the RR estimate), and ``adds``: what each pick adds to ``total``."""
    import kocgraph as kg

    sd = kg.get.seeds(view)
    sim = sd["spread_sim"] if "spread_sim" in sd.columns else sd["spread"]
    sd["total"] = sim.to_numpy(np.float64)
    # what each pick adds, on the same footing as the totals (so the column adds up to the last total)
    sd["adds"] = np.diff(sd["total"].to_numpy(), prepend=0.0) if len(sd) else np.empty(0)
    sd["lo"] = sd["spread_lo"].to_numpy(np.float64) if "spread_lo" in sd.columns else np.nan
    sd["hi"] = sd["spread_hi"].to_numpy(np.float64) if "spread_hi" in sd.columns else np.nan
    return sd


# ------------------------------------------------------------------------------------------------ assembly
def report_data(
    g: Any,
    *,
    staff: Iterable[Any] | None = None,
    top: int = 20,
    seeds: int | None = 10,
    title: str | None = None,
    rng: int = 0,
    pseudonymize: Any = None,
    backtest: bool = True,
    kol_threshold: int | str | None = "auto",
    source: str | None = None,
    notes: Sequence[str] = (),
    note: Callable[[str], None] | None = None,
    progress: bool | None = None,
) -> ReportData:
    """Run the pipeline and the extras on a copy of ``g``; return what the page shows.

    The parameters are those of :func:`kocgraph.report.build_report`. ``g`` is left untouched.
    """
    from ..pipeline import StageOptions, run_stages

    started = time.perf_counter()
    g, staff_list, top, seeds, rng = _check(g, staff, top, seeds, rng)
    pseudo = resolve_pseudonymizer(pseudonymize)
    timings: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            timings[name] = time.perf_counter() - t0

    work = g.copy()
    records = run_stages(work, StageOptions(staff=staff_list, kol_threshold=kol_threshold, rng=rng), progress=progress)
    timings.update({name: rec.seconds for name, rec in records.items()})
    import kocgraph as kg

    top_users = kg.get.kocs(work, n=top, key=KOCS_KEY)["user"].tolist()
    route_error = None
    if staff_list and top_users:
        try:
            timed("routes", lambda: kg.tl.routes(work, sources=staff_list, targets=top_users, k=3,
                                                   key_added=ROUTES_KEY))
        except Exception as err:  # noqa: BLE001  # pragma: no cover - routes on a valid graph should not fail
            route_error = f"{type(err).__name__}: {err}"
    partners_why = None if seeds is None else _partners(work, seeds, staff_list, rng, progress, timed, note)
    staff_reach = timed("staff_reach", lambda: _staff_reach(work, staff_list, rng, progress)) \
        if seeds is not None and partners_why is None else None
    bt, bt_why = timed("backtest", lambda: _backtest(g, staff_list, rng, kol_threshold)) if backtest else \
        (None, "the backtest was switched off for this report (--no-backtest)")

    view = _pseudonymized_view(work, pseudo)
    kocs = kg.get.kocs(view, n=top, key=KOCS_KEY)
    kocs["reason"] = [plain_words(r) for r in kocs["reason"]]
    excluded = kg.get.kocs(view, excluded=True, key=KOCS_KEY)
    staff_shown = view.nodes.index[g.user_codes(staff_list)].tolist() if staff_list else []
    name = source if source is not None else input_name(g)
    return ReportData(
        title=title if title is not None else f"KOC report — {name}", source=name,
        created=pd.Timestamp.now(tz="UTC"), graph=g, view=view, staff=staff_shown, pseudonymized=pseudo is not None,
        top=top, rng=rng, kol_threshold=kol_threshold, kocs=kocs, excluded=excluded,
        contacts=_contacts(view, kocs, staff_list, route_error), big_accounts=_big_accounts(excluded, view),
        route_error=route_error, seeds_asked=seeds,
        partners=_partner_table(view) if seeds is not None and partners_why is None else None,
        partners_unavailable=partners_why, staff_reach=staff_reach, backtest=bt, backtest_unavailable=bt_why,
        verdict=verdict(bt, bt_why), timings=timings, notes=list(notes), started=started,
    )
