"""The report's sections: each a function of one :class:`~kocgraph.report.ReportData`, returning HTML.

The page leads with decisions, then the evidence, then an appendix (:data:`SECTIONS`, in order):

* **What to do next**: whether the list beat simpler rules on the log's own history (one sentence),
  the people to contact with the introducer to ask and the chance the route works (and a
  :func:`kocgraph.pl.route` picture for the top ones), the partners to recruit with the reach they
  add beyond the staff's, and the big accounts left out of the list (buy, don't develop);
* the evidence: the forwarding map, how concentrated reach is, the KOC table with reasons,
  communities, the backtest;
* the appendix: data quality (what was read), method and settings, a glossary.

Every section opens with a "how to read this" paragraph. One vocabulary: people, content, forwards.
Counts of people are whole numbers.

Examples
--------
>>> import kocgraph as kg
>>> from kocgraph.report import report_data
>>> from kocgraph.report.sections import SECTIONS, section_next
>>> d = report_data(kg.datasets.toy(), staff=["brand"], top=3, backtest=False, progress=False)
>>> html = section_next(d)
>>> "People to contact" in html and "Partners to recruit" in html
True
>>> list(SECTIONS)[0]
'next'
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..pipeline import column
from ._data import COMMUNITY_KEY, KOCS_KEY, METHOD_WORDS, ROUTES_KEY, SEED_OPTIONS, ReportData, plain_words, shown_ks
from ._html import count, esc, figure, how, num, pct, people, plot, plural, spread, table, unavailable, when

__all__ = ["SECTIONS", "APPENDIX", "GLOSSARY", "RENDERERS", "render", "section_next"]

#: section ids of the page, in order, and their headings
SECTIONS: dict[str, str] = {
    "next": "What to do next",
    "network": "Who forwards to whom",
    "concentration": "How concentrated the reach is",
    "kocs": "The people to work with: why they are on the list",
    "communities": "Groups that forward among themselves",
    "backtest": "Would this list have predicted what happened next?",
    "ingest": "Appendix A. Data quality: what was read",
    "method": "Appendix B. Method and settings",
    "glossary": "Appendix C. Glossary",
}
#: the sections shown as the appendix
APPENDIX = ("ingest", "method", "glossary")
#: people listed under "What to do next" (the KOC section lists all of ``top``)
N_CONTACTS = 10
#: top people whose routes are drawn with kg.pl.route
N_ROUTE_PICTURES = 3
#: big accounts listed by name
N_BIG = 10

#: the terms the page cannot avoid, in plain words (term -> explanation; HTML)
GLOSSARY: dict[str, str] = {
    "forward": "One person passing one piece of content (an article, a poster, a product link, a coupon) to "
               "another. The log is a list of forwards.",
    "reach": "How many people a piece of content got to through someone: directly, or through the people they "
             "passed it to. Added up over all content.",
    "KOC (key opinion consumer)": "An ordinary customer whose forwards move many others. Staff accounts and big "
                                  "accounts are not KOCs.",
    "big account (KOL)": "An account that forwards to more people than the threshold in Appendix B: a key opinion "
                         "leader, a celebrity-scale audience. Such accounts are bought (paid), not developed, so "
                         "they are left out of the KOC list and listed apart.",
    "route, introducer": "A route is a chain of forwards from one of your accounts to a person; the introducer is "
                         "the last person before them on it: the one to ask for an introduction.",
    "chance (of a route)": "How likely a piece of content is to travel the whole route: the product of the "
                           "chances of each step, each estimated from how often that person passed content on "
                           "to the next.",
    "partner (seed)": "A person to recruit so that content starts from them too. Partners are chosen one at a "
                      "time, each adding the most people not already reached by your accounts and the earlier "
                      "picks.",
    "OPIM-C guarantee": "The partners are chosen with OPIM-C (reverse-reachable-set sampling, stopped as soon "
                        "as the samples prove the list good enough). Its guarantee: the expected reach of the "
                        "list is at least the stated share (for example 43%) of the best possible list of the "
                        "same size, with the stated probability. In practice the list is usually much closer to "
                        "the best.",
    "top k": "The first k people of a ranking (top 10, top 50). The backtest judges each ranking by its top k.",
    "hit rate": "In the backtest: the share of a ranking's top k who really were among the top k spreaders "
                "afterwards.",
    "rank agreement (Spearman)": "From −1 to 1: how well a whole ranking agrees with what happened afterwards "
                                 "(1 = the same order, 0 = unrelated).",
    "PageRank": "A score for people whose forwards feed others who forward on, counted along chains, not only "
                "one step (the idea behind Google's first search ranking).",
    "coreness": "How deep in the tightly-knit centre of the network a person sits: coreness 5 means the person is "
                "in a group where everyone exchanges forwards with at least 5 others of the group.",
    "community (group)": "A set of people who forward mostly to each other: a circle of friends, a parents' "
                         "group, a company chat.",
    "modularity": "From about −0.5 to 1: how cleanly the people split into groups. Above about 0.3 the groups "
                  "are clearly separate; near 0 they are not.",
    "Gini coefficient": "From 0 to 1: how unequally reach is spread. 0 = everyone reaches as many people; "
                        "1 = one person holds all the reach.",
    "pseudonymized": "Every person is shown as p_ and a code made from their id with a secret key: the same "
                     "person always gets the same code, but the code does not reveal the id.",
}


# ------------------------------------------------------------------------------------------------ what to do next
def _verdict(d: ReportData) -> str:
    return f'<p class="verdict {d.verdict.outcome}"><strong>Can this list be trusted?</strong> {esc(d.verdict.sentence)}</p>'


def _ask(c: Any) -> str:
    """Whom to ask for one contact row, in words."""
    if c.no_route is not None:
        return f"no introducer known ({str(c.no_route).removeprefix('no route: ')})"
    if c.introducer is None or pd.isna(c.introducer):
        return f"contact directly: {c.source} already forwards to them"
    return f"ask {c.introducer} to introduce you"


def _contacts(d: ReportData) -> str:
    if not len(d.kocs):
        return '<p class="unavailable">No one could be ranked as a KOC on this log (see the KOC section).</p>'
    c = d.contacts.head(N_CONTACTS)
    reach = dict(zip(d.kocs["user"], d.kocs["reach"]))
    rows = [(count(r.rank), r.user, _ask(r), pct(r.chance), r.route or "–", people(reach.get(r.user)))
            for r in c.itertuples(index=False)]
    out = [table(["#", "person", "whom to ask", "chance it works", "route from your accounts", "people reached"],
                 rows, numeric=[0, 3, 5], classes={1: "id", 2: "ask", 4: "route"})]
    if len(d.kocs) > len(c):
        out.append(f'<p class="note">The first {len(c)} of the {len(d.kocs)} KOCs; all of them, with the reasons, '
                   'are in <a href="#kocs">the KOC section</a>.</p>')
    out.append(_route_pictures(d, c))
    return "".join(out)


def _route_pictures(d: ReportData, c: pd.DataFrame) -> str:
    from .. import pl

    users = [u for u, ok in zip(c["user"], c["route"].notna()) if ok][:N_ROUTE_PICTURES]
    if not users:
        return ""
    n_lanes = [int((d.view.tables[ROUTES_KEY]["target"] == d.view.user_codes([u])[0]).sum()) for u in users]

    def draw(axes: list[Any]) -> Any:
        for ax, u in zip(axes, users):
            pl.route(d.view, u, key=ROUTES_KEY, ax=ax)
        return axes[0]

    heights = [1.2 + 0.8 * max(n, 1) for n in n_lanes]
    uri, _info, err = plot(draw, (9.0, sum(heights) + 0.4 * len(users)), heights=heights)
    return ("<p>The best routes to the first "
            f"{plural(len(users), 'person', 'people')} above, up to three each: read each lane left to right, from "
            "your account (navy square) to the person (red star); the orange dot is the introducer to ask, and "
            "the percentage is the chance the content travels the whole lane.</p>"
            + figure(uri, "routes from the staff accounts to the top KOCs", "", err))


def _partners(d: ReportData) -> str:
    if d.seeds_asked is None:
        return ('<p class="note">Not asked for (<code>--no-seeds</code>). Leave that flag out to get the partners '
                "to recruit.</p>")
    if d.partners is None:
        return unavailable("Seeds", d.partners_unavailable or "not computed")
    sd = d.partners
    lead = []
    if d.staff_reach is not None:
        lead.append(f"Your {plural(len(d.staff), 'staff account')} reach about {people(d.staff_reach[0])} people on "
                    "their own (simulated).")
    if len(sd):
        last = sd.iloc[-1]
        more = " more" if d.staff_reach is not None else ""
        interval = f" ({people(last.lo)} to {people(last.hi)})" if np.isfinite(float(last.lo)) else ""
        lead.append(f"Recruiting these {plural(len(sd), 'person', 'people')} as partners would reach about "
                    f"{people(last.total)}{more} people{interval}.")
    if len(sd) < d.seeds_asked:
        lead.append(f"({count(d.seeds_asked)} were asked for; nobody else adds reach"
                    + (" beyond your accounts'" if d.staff else "") + ".)")
    contact_rank = dict(zip(d.kocs["user"], d.kocs["rank"]))
    rows = [(count(r.order), r.user, people(r.adds), spread(r.total, r.lo, r.hi),
             f"yes (#{count(contact_rank[r.user])})" if r.user in contact_rank else "–")
            for r in sd.itertuples(index=False)]
    beyond = "beyond your accounts' reach" if d.staff else "in all"
    return ("<p>" + " ".join(lead) + "</p>"
            + table(["pick", "person", "adds about (people)", f"reached by the picks so far, {beyond} (people)",
                     "also a top KOC"], rows, numeric=[0, 2, 3], classes={1: "id"})
            + '<p class="note">Picked one at a time: each adds the most people not already reached by your accounts '
              "and the earlier picks, so together they cover different corners of the network. Only people who "
              "could be ranked as KOCs are considered. The numbers come from simulating how content spreads with "
              "the forwarding chances seen in the log; the ranges in brackets are 95% intervals of that "
              "estimate. Each pick's own figure is an estimate too, so a later pick can show a few more people "
              "than an earlier one.</p>")


def _big_accounts(d: ReportData) -> str:
    cut = (d.view.meta.get(KOCS_KEY) or {}).get("kol_cut")
    if d.kol_threshold is None:
        return '<p class="note">Big accounts were not set apart (<code>--kol-threshold none</code>).</p>'
    big = d.big_accounts
    if not len(big):
        return (f"<p>No account was big enough to be left out: none forwards to more than {count(cut)} "
                "different people.</p>")
    shown = big.head(N_BIG)
    rows = [(r.user, people(r.receivers), people(r.reach)) for r in shown.itertuples(index=False)]
    more = f" The {count(len(big) - len(shown))} others are in the excluded list of the batch job." \
        if len(big) > len(shown) else ""
    return (f"<p>{plural(len(big), 'account')} forward to more than {count(cut)} different people each. They are "
            "celebrity-scale (KOLs): work with them as paid media, not as partners to develop, so they are left "
            f"out of the KOC list.{more}</p>"
            + table(["account", "people they forward to", "people reached"], rows, numeric=[1, 2], classes={0: "id"}))


def section_next(d: ReportData) -> str:
    """What to do next: the verdict, the people to contact, the partners to recruit, the big accounts."""
    text = ("The decisions this log supports, most useful first. The evidence behind each one follows below, and "
            "the words that need explaining are in the <a href=\"#glossary\">glossary</a>.")
    staff_note = "" if d.staff else (
        '<p class="note">No staff account was given, so no route could be found: pass <code>--staff '
        "staff.txt</code> (one account id per line) to learn whom to ask for each introduction.</p>")
    return (how(text) + _verdict(d)
            + '<h3 id="contacts">1. People to contact, and whom to ask for an introduction</h3>' + staff_note
            + _contacts(d)
            + '<h3 id="seeds">2. Partners to recruit, for the widest extra spread</h3>' + _partners(d)
            + "<h3 id=\"big\">3. Big accounts, left out: buy, don't develop</h3>" + _big_accounts(d))


# ------------------------------------------------------------------------------------------------ evidence
def section_network(d: ReportData) -> str:
    from .. import pl

    hl = d.kocs["user"].tolist()
    uri, _info, err = plot(lambda ax: pl.network(d.view, highlight=hl, rng=d.rng, kocs_key=KOCS_KEY,
                                                     routes_key=ROUTES_KEY, ax=ax), (10.0, 8.5))
    text = ("Each dot is a person; a line means one of them forwarded content to the other (the arrow points from "
            "sender to receiver). Bigger dots reached more people; colours are the groups of the communities "
            "section. Your accounts are navy squares, the top KOCs are ringed in red, and the introducers on the "
            "best routes in orange. On a big log only these people and the best-connected others are drawn; the "
            "line under the map says how many.")
    return how(text) + figure(uri, "map of who forwards to whom", "", err)


def section_concentration(d: ReportData) -> str:
    from .. import pl

    reach_col = column(d.view, "cascades", "reach").name
    uri, info, err = plot(lambda ax: pl.concentration(d.view, key=reach_col, ax=ax), (7.0, 4.6))
    text = ("People are lined up from the largest reach to the smallest (left to right); the curve shows how much "
            "of all reach the first ones hold. If everyone mattered equally the curve would follow the dashed "
            "diagonal; a curve that shoots up at the left means a few people carry most of the spread, so "
            "working with them pays off most.")
    facts = []
    if info.get("text") and np.isfinite(info.get("share", np.nan)):
        facts.append(f"The {esc(' '.join(str(info['text']).split()))}.")
    gini = info.get("gini", np.nan)
    if np.isfinite(gini):
        facts.append(f"Gini coefficient {num(gini, 2)} (0 = everyone equal, 1 = one person holds all the reach).")
    reach = column(d.view, "cascades", "reach").to_numpy(np.float64)
    if reach.size:
        facts.append(f"{count((reach > 0).sum())} of {count(reach.size)} people passed content on to at least one "
                     "other person who got it from them first.")
    return (how(text) + figure(uri, "concentration of reach (Lorenz curve)", "", err)
            + '<ul class="facts">' + "".join(f"<li>{f}</li>" for f in facts) + "</ul>")


def section_kocs(d: ReportData) -> str:
    from .. import pl

    text = ("A KOC (key opinion consumer) is an ordinary customer whose forwards move many others. The score ranks "
            "people on the measures in the picture below (how many people they reached, how many passed it on, "
            "content they started, PageRank, and purchases when the log has them), weighted as Appendix B says; "
            "higher is better, and the order matters more than the number. “Why” gives the headline figures in "
            "words. The route is the most likely chain of forwards from one of your accounts to the person.")
    out = [how(text)]
    if not len(d.kocs):
        m = d.view.meta.get(KOCS_KEY) or {}
        out.append(f'<p class="unavailable">No one could be ranked: {count(m.get("n_eligible", 0))} eligible people. '
                   "A KOC must have forwarded content to someone, and not be a staff or big account.</p>")
        return "".join(out)
    ways = {r.user: r for r in d.contacts.itertuples(index=False)}
    rows = []
    for r in d.kocs.itertuples(index=False):
        c = ways[r.user]
        comm = count(r.community) if "community" in d.kocs.columns else "–"
        rows.append((count(r.rank), r.user, f"{float(r.score):.3f}", people(r.reach), comm, r.reason,
                     c.route or "no route", _ask(c), pct(c.chance)))
    out.append(table(["rank", "person", "score", "people reached", "group", "why", "best route", "whom to ask",
                      "chance"], rows, numeric=[0, 2, 3, 4, 8], classes={1: "id", 5: "why", 6: "route", 7: "ask"}))
    if d.route_error is not None:
        out.append(f'<p class="note">Routes could not be computed: {esc(d.route_error)}</p>')
    out.append(_left_out(d))
    uri, _info, err = plot(lambda ax: pl.ranking(d.view, n=len(d.kocs), key=KOCS_KEY, ax=ax),
                           (9.0, max(2.8, 0.32 * len(d.kocs) + 1.6)))
    out.append("<h3>What each score is made of</h3>")
    out.append('<p class="note">Each bar is one person’s score, split into its parts: a long stretch of one '
               "colour means the person ranks high on that measure.</p>")
    out.append(figure(uri, "KOC scores split into their parts", "", err))
    return "".join(out)


def _left_out(d: ReportData) -> str:
    km = d.view.meta.get(KOCS_KEY) or {}
    out = []
    if len(d.kocs) < d.top:
        out.append(f'<p class="note">Only {plural(int(km.get("n_eligible") or 0), "person", "people")} could be '
                   "ranked, so the list is shorter than asked for.</p>")
    n_silent = int((km.get("n_excluded") or {}).get("no_forwards", 0))
    if n_silent:
        out.append(f'<p class="note">{plural(n_silent, "person", "people")} never forwarded anything, so cannot be '
                   "a KOC.</p>")
    ex = d.excluded
    n_staff = int((ex["excluded"] == "staff").sum()) if len(ex) else 0
    n_kol = int((ex["excluded"] == "kol").sum()) if len(ex) else 0
    parts = ([plural(n_staff, "staff account")] if n_staff else []) + (
        [f'{plural(n_kol, "big account")} (listed under <a href="#big">What to do next</a>)'] if n_kol else [])
    if parts:
        out.append(f'<p class="note">Left out of the list on purpose: {" and ".join(parts)}.</p>')
    return "".join(out)


def section_communities(d: ReportData) -> str:
    from .. import get, pl

    text = ("A community is a group of people who forward mostly to each other. Content that reaches one member "
            "tends to stay inside, so a campaign that must reach several groups needs a KOC in each. In the "
            "picture, the bars (left) are the group sizes with each group’s best-placed person; the grid (right) "
            "counts forwards from one group (row) to another (column): dark squares off the diagonal are bridges "
            "between groups.")
    tab = get.communities(d.view, key=COMMUNITY_KEY, n_top=3, kocs_key=KOCS_KEY).sort_values(["size"], ascending=False, kind="stable")
    meta = d.view.meta.get(COMMUNITY_KEY) or {}
    shown = tab.head(15)
    rows = []
    for cid, r in shown.iterrows():
        inside, outside = float(r["internal_forwards"]), float(r["external_forwards"])
        tot = inside + outside
        rows.append((count(cid), people(r["size"]), count(inside), count(outside),
                     pct(inside / tot) if tot else "–", ", ".join(str(u) for u in r["top_users"])))
    lead = plural(len(tab), "group")
    if meta.get("modularity") is not None and np.isfinite(float(meta["modularity"])):
        lead += (f"; modularity {num(meta['modularity'], 2)} (above about 0.3 the groups are clearly separate, "
                 "near 0 they are not)")
    out = [how(text), f"<p>{lead}.</p>",
           table(["group", "people", "forwards inside", "forwards to other groups", "share kept inside",
                  "best-placed people"], rows, numeric=[0, 1, 2, 3, 4])]
    if len(tab) > len(shown):
        rest = tab.iloc[len(shown):]
        out.append(f'<p class="note">{count(len(rest))} smaller groups ({people(rest["size"].sum())} people) are not '
                   "listed.</p>")
    height = max(3.2, 0.34 * min(len(tab) + 1, 16) + 1.8)
    uri, _info, err = plot(lambda ax: pl.communities(d.view, key=COMMUNITY_KEY, kocs_key=KOCS_KEY, ax=ax), (11.0, height))
    out.append(figure(uri, "community sizes and forwards between communities", "", err))
    return "".join(out)


def _best_marked(bt: pd.DataFrame, metric: str, k: int, methods: list[str]) -> dict[str, str]:
    at = bt[bt["k"].astype(int) == k].set_index("method")[metric].astype(float)
    fin = at[np.isfinite(at)]
    top_v = fin.max() if len(fin) else np.nan
    fmt: Callable[[Any], str] = pct if metric != "spearman" else (lambda v: num(v, 2))
    return {m: (f"<strong>{esc(fmt(at[m]))}</strong>" if np.isfinite(at[m]) and at[m] == top_v else esc(fmt(at[m])))
            for m in methods}


def section_backtest(d: ReportData) -> str:
    from .. import pl

    text = ("To judge the ranking, we pretend it is an earlier day: people are ranked using only the first 70% of "
            "the log’s time, and then we look at what they actually did afterwards. <em>Hit rate</em> is the share "
            "of a method’s top k who really were among the top k spreaders afterwards; <em>share of later reach</em> "
            "is how much of all later reach those k people produced. Rank agreement (from −1 to 1) compares the "
            "whole order with what happened. The KOC score should beat the simple rules below it; if it does not "
            "on your log, trust the simpler rule.")
    out = [how(text)]
    bt = d.backtest
    if bt is None:
        return "".join(out) + unavailable("Backtest", d.backtest_unavailable or "unknown reason")
    at = bt.attrs
    if at.get("split_time"):
        out.append(f"<p>Ranked on the {count(at.get('n_events_past'))} forwards before "
                   f"{esc(when(at['split_time']))}; judged on the {count(at.get('n_events_future'))} forwards after "
                   f"it ({count(at.get('n_eligible'))} people could be ranked).</p>")
    out.append(_verdict(d))
    ks, all_k = shown_ks(bt), sorted(int(k) for k in bt["k"].unique())
    methods = list(dict.fromkeys(str(m) for m in bt["method"]))
    hit = {k: _best_marked(bt, "precision", k, methods) for k in ks}
    share = {k: _best_marked(bt, "reach_share", k, methods) for k in ks}
    rho = _best_marked(bt, "spearman", all_k[0], methods)
    names = {m: esc(METHOD_WORDS.get(m, m)) for m in methods}
    out.append("<h3>Hit rate: how many of the top k really were top spreaders afterwards</h3>")
    out.append(table(["method"] + [f"top {count(k)}" for k in ks] + ["rank agreement"],
                     [[names[m]] + [hit[k][m] for k in ks] + [rho[m]] for m in methods],
                     numeric=range(1, len(ks) + 2), raw=range(len(ks) + 2)))
    out.append("<h3>Share of all later reach that the top k produced</h3>")
    out.append(table(["method"] + [f"top {count(k)}" for k in ks], [[names[m]] + [share[k][m] for k in ks]
                                                                    for m in methods],
                     numeric=range(1, len(ks) + 1), raw=range(len(ks) + 1)))
    dropped = [k for k in all_k if k not in ks]
    out.append('<p class="note">The best value in each column is in bold.'
               + (f" Top {', '.join(count(k) for k in dropped)} left out: no more than "
                  f"{plural(int(at.get('n_eligible', 0)), 'person', 'people')} could be ranked." if dropped else "")
               + "</p>")
    uri, _info, err = plot(lambda ax: pl.backtest(d.view, bt[bt["k"].isin(ks)], ax=ax), (8.0, 4.2))
    out.append(figure(uri, "backtest: hit rate per method", "", err))
    return "".join(out)


# ------------------------------------------------------------------------------------------------ appendix
def _time_span(g: Any) -> tuple[str, str] | None:
    rep = g.meta.get("read_log") or {}
    if rep.get("has_time") is False or "time" not in g.events.columns or g.n_events == 0:
        return None
    t = g.events["time"]
    return when(t.min()), when(t.max())


def _rejected_rows(g: Any, by_reason: dict[str, int]) -> str:
    from .. import get
    from .._core.validation import REASONS

    rej = get.rejected(g)
    examples: dict[str, str] = {}
    if len(rej) and "row" in rej.columns and "reason" in rej.columns:
        for reason, grp in rej.groupby("reason", sort=False)["row"]:
            rws = [int(x) + 1 for x in grp.head(3)]
            examples[str(reason)] = ", ".join(count(x) for x in rws) + (", …" if len(grp) > 3 else "")
    rows = [(REASONS.get(k, k.replace("_", " ")), count(v), examples.get(k, ""))
            for k, v in sorted(by_reason.items(), key=lambda kv: -kv[1])]
    return ("<h3>Why rows were set aside</h3>"
            + table(["reason", "rows", "for example, data rows (1 = first row after the header)"], rows, numeric=[1])
            + '<p class="note">To get the rows set aside as a file, run <code>kocgraph nominate</code> with '
              "<code>--out</code>: it writes them next to the table.</p>")


def section_ingest(d: ReportData) -> str:
    g, v = d.graph, d.view
    rep = g.meta.get("read_log") or {}
    read = int(rep.get("rows_read", g.n_events))
    rejected = int(rep.get("rows_rejected", 0))
    by_reason = {str(k): int(val) for k, val in (rep.get("rejected_by_reason") or {}).items()}
    text = ("Every row of the log is one forward. Rows that cannot be used (a missing person, a time that is not a "
            "time, a person forwarding to themselves, an exact repeat) are set aside, never dropped in silence: "
            "the rows read always equal the rows used plus the rows set aside. A few rows set aside is normal; a "
            "large share usually means a column was named wrongly.")
    out = [how(text), table(["", "rows"], [
        ("Rows read", count(read)), ("Rows used", count(rep.get("rows_accepted", g.n_events))),
        ("Rows set aside", f"{count(rejected)} ({pct(rejected / read) if read else '0%'})")], numeric=[1])]
    out.append(_rejected_rows(g, by_reason) if by_reason else "<p>No row was set aside: every row could be used.</p>")
    words = {"source": "who forwarded", "target": "who received", "item": "the content", "time": "when",
             "event_type": "kind of event", "channel": "channel", "value": "order value"}
    cols = rep.get("columns") or {}
    if cols:
        out.append("<h3>Which columns were used</h3>" + table(
            ["meaning", "column in the log"],
            [(words.get(k, k), f"<code>{esc(c)}</code>") for k, c in cols.items() if c is not None], raw=[1]))
    facts = [(f"{people(v.n_users)} people, {count(v.n_items)} pieces of content, {count(v.n_events)} forwards, "
              f"{count(v.n_edges)} distinct forwarding links (one person to another).")]
    span = _time_span(g)
    if span:
        facts.append(f"Time span: {esc(span[0])} to {esc(span[1])}.")
    if d.staff:
        facts.append(f"{plural(len(d.staff), 'staff or brand account')} given and found in the log; they are left out "
                     "of the KOC list and are where routes start.")
    else:
        facts.append("No staff or brand account was given: nobody is left out as staff, and no route is computed. "
                     "Pass <code>--staff staff.txt</code> (one account id per line).")
    facts.extend(esc(n) for n in d.notes)
    out.append('<h3>What the log holds</h3><ul class="facts">' + "".join(f"<li>{f}</li>" for f in facts) + "</ul>")
    return "".join(out)


def _seeding_words(d: ReportData) -> str:
    if d.seeds_asked is None:
        return "not asked for (--no-seeds)"
    m = d.view.meta.get("seeds") or {}
    if d.partners is None or not m.get("bound"):
        return f"{count(d.seeds_asked)} asked for; not chosen (see What to do next)"
    n = len(d.partners)
    return (f"{count(n)} partners by {m.get('method', 'OPIM-C')} (ε = {SEED_OPTIONS['epsilon']}): their "
            f"expected reach is at least {_floor_pct(m['bound'], 0)} of the best possible {count(n)}, with "
            f"probability at least {_floor_pct(m['probability'])}; {count(m.get('n_rr_sets'))} reverse-reachable sets, "
            f"{count(SEED_OPTIONS['n_check'])} simulations to check the spread")


def _floor_pct(p: float, digits: int = 2) -> str:
    """A lower bound as a percent rounded *down* (to 0.01% by default), so 0.999913 reads 99.99%,
    never 100%, and a 0.4367 bound reads 43% with ``digits=0``."""
    scale = 10.0 ** digits
    return f"{np.floor(float(p) * 100 * scale) / scale:g}%"


def _feature(name: str) -> str:
    """A score feature in the page's words, as the score picture's legend names it ("senders" -> "people
    received from", "forwards_recent_wall@0.2" -> "recent forwards sent (wall clock, half-life 20%)")."""
    from ..tl import FEATURE_WORDS

    return plain_words(FEATURE_WORDS[name])


def section_method(d: ReportData) -> str:
    """Appendix B: the settings (enough to make the same page again) and the time each step took."""
    km = d.view.meta.get(KOCS_KEY) or {}
    weights = km.get("weights") or {}
    rows = [
        ("kocgraph version", __version__),
        ("made on", d.created.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("KOCs listed", count(d.top)),
        ("staff accounts", count(len(d.staff))),
        ("big-account threshold", "none" if d.kol_threshold is None else
         f"more than {count(km.get('kol_cut'))} people forwarded to"
         + (" (automatic)" if d.kol_threshold == "auto" else "")),
        ("score weights", ", ".join(f"{_feature(k)} {float(w):.2f}" for k, w in weights.items()) or "–"),
        ("routes", "up to 3 per person, most likely first (the product of each step's chance)"),
        ("partners (seeds)", _seeding_words(d)),
        ("what your accounts reach alone", "simulated 100 times" if d.staff_reach is not None else "–"),
        ("backtest", "rank on the first 70% of the log's time, judge on the rest" if d.backtest is not None else
         str(d.backtest_unavailable or "–")),
        ("random seed", str(d.rng)),
        ("ids of people", "pseudonymized (p_ + keyed hash; the key is not recorded)" if d.pseudonymized else "as in the log"),
        ("Python", platform.python_version()),
    ]
    text = ("What produced this page, with which settings, so that it can be made again and compared. The same "
            "log and settings give the same report.")
    tims = [(k.replace("_", " "), f"{v:,.2f} s") for k, v in d.timings.items()]
    return (how(text) + table(["setting", "value"], rows)
            + "<h3>Time taken</h3>" + table(["step", "seconds"], tims, numeric=[1]))


def section_glossary(d: ReportData) -> str:
    """Appendix C: the words the page cannot avoid."""
    terms = {t: x for t, x in GLOSSARY.items() if t != "pseudonymized" or d.pseudonymized}
    items = "".join(f"<dt>{esc(term)}</dt><dd>{text}</dd>" for term, text in terms.items())
    return how("The words this page cannot avoid, in plain terms.") + f'<dl class="glossary">{items}</dl>'


# ------------------------------------------------------------------------------------------------ the page
#: each section's renderer, by id
RENDERERS: dict[str, Callable[[ReportData], str]] = {
    "next": section_next, "network": section_network, "concentration": section_concentration,
    "kocs": section_kocs, "communities": section_communities, "backtest": section_backtest,
    "ingest": section_ingest, "method": section_method, "glossary": section_glossary,
}


def _header(d: ReportData) -> str:
    g = d.view
    span = _time_span(d.graph)
    rejected = int((d.graph.meta.get("read_log") or {}).get("rows_rejected", 0))
    figs = [f"{people(g.n_users)} people", f"{count(g.n_events)} forwards",
            f"{count(g.n_items)} pieces of content"]
    if span:
        figs.append(f"{esc(span[0].split(' ')[0])} to {esc(span[1].split(' ')[0])}")
    figs.append(f'{count(rejected)} rows set aside (<a href="#ingest">Appendix A</a>)')
    sub = (f"Made by kocgraph {esc(__version__)} on {esc(d.created.strftime('%Y-%m-%d %H:%M UTC'))} from "
           f"<strong>{esc(d.source)}</strong>." + (" User ids are pseudonymized." if d.pseudonymized else ""))
    return (f'<header class="kg-top"><h1>{esc(d.title)}</h1><p class="sub">{sub}</p>'
            f'<p class="keyfigs">{" · ".join(figs)}</p></header>')


def render(d: ReportData) -> str:
    """The whole page for ``d``: every section of :data:`SECTIONS`, in order (the method appendix,
    which lists the time each step took, is drawn last)."""
    from ._html import page

    parts: dict[str, str] = {}
    for sid in SECTIONS:
        if sid == "method":
            continue
        t0 = time.perf_counter()
        parts[sid] = RENDERERS[sid](d)
        if sid in ("network", "concentration", "kocs", "communities", "backtest", "next"):
            d.timings[f"page: {sid}"] = time.perf_counter() - t0
    d.timings["total"] = time.perf_counter() - d.started
    parts["method"] = section_method(d)
    toc = "".join(f'<li><a href="#{s}">{esc(h)}</a></li>' for s, h in SECTIONS.items())
    body = "".join(
        f'<section id="{s}" class="kg-section{" appendix" if s in APPENDIX else ""}{" lead" if s == "next" else ""}">'
        f"<h2>{esc(SECTIONS[s])}</h2>{parts[s]}</section>\n" for s in SECTIONS)
    return page(title=d.title, version=__version__, header=_header(d), toc=toc, body=body)
