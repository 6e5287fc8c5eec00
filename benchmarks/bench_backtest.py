"""Backtest benchmark (issue 13): does the default KOC ranking beat every simple rule, and what does
its self-calibration cost?

Usage (from the repository root)::

    python benchmarks/bench_backtest.py                       # the table: 4 real data sets + planted-koc
    python benchmarks/bench_backtest.py --datasets douban,higgs-twitter --out backtest.json
    python benchmarks/bench_backtest.py --cost 1e6,1e7        # calibration time / `kocgraph nominate` time
    python benchmarks/bench_backtest.py --prior               # re-derive the prior weights
    python benchmarks/bench_backtest.py --splits              # KOC − best rule on 5 splits of each real log
    python benchmarks/bench_backtest.py --smoke               # a small synthetic log, seconds

**The table.** For each data set, ``kg.evaluate.backtest(g, staff=staff)`` with its defaults: split
at 70% of the time span (or of the items, where times are relative), the KOC ranking fitted on the
past alone, every method ranking the same eligible users. Printed: precision@10/50/100 and Spearman
of the KOC ranking, the best single rule at precision@50, the verdict line, and how the fit chose
(blend / rule / prior). Real data are read from ``--data`` (default ``$KOCGRAPH_DATA``, else
``../shared/data``) with the readers of :mod:`kocgraph.datasets.public`; only aggregate figures are
printed (the data hold real account ids).

**The cost.** ``--cost`` runs the nominate job on the ``synthetic-<size>`` sample in this process
(``kocgraph.jobs.nominate``: read, cascades, PageRank, coreness, communities, kocs, no output file)
and, on the graph it built, times the calibration alone (``kocgraph.tl._kocs._fit``: the inner cuts
and the fit that ``kg.tl.kocs(weights="fit")`` runs). The ratio is calibration / nominate wall time
(the nominate time includes the calibration). Medians of ``--repeats``.

**The splits.** ``--splits`` repeats the backtest on five splits of each real log (time at 60, 65, 70,
75 and 80% of the span; Stack Exchange: five item draws of 70%, ``rng`` 0..4) and prints the KOC
ranking's precision@50 minus the best rule's: how steady the result is beyond the one split of the table.

**The prior.** ``--prior`` pools the inner cuts of the Douban, Higgs-Twitter and Stack Exchange logs
(each log weighing the same) and fits the blend on the count features and the event-clock recency
features of half-life 0.1: the derivation of ``kocgraph.tl.PRIOR_WEIGHTS``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: F401  (puts the checked-out kocgraph first on sys.path)

from kocgraph.bench._util import environment

DATASETS = ("douban", "weibo-deephawkes-sample", "stackexchange-christianity", "higgs-twitter", "planted-koc")
KS = (10, 50, 100)


def data_root(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("KOCGRAPH_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def load(name: str, root: Path) -> tuple[Any, list[Any] | None]:
    """The graph of a data set and its staff ids (planted-koc only); raises FileNotFoundError."""
    import kocgraph as kg
    from kocgraph.datasets import public

    if name == "planted-koc":
        g = kg.datasets.load_sample("planted-koc")
        return g, g.meta["synthetic"]["staff"]
    if name == "smoke":
        g = kg.datasets.synthetic(4000, 300, rng=1)
        return g, g.meta["synthetic"]["staff"]
    folder = root / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found (set --data or KOCGRAPH_DATA)")
    reader = {"douban": public.read_douban, "weibo-deephawkes-sample": public.read_weibo_deephawkes,
              "stackexchange-christianity": public.read_stackexchange, "higgs-twitter": public.read_higgs}[name]
    return reader(folder), None


def backtest_row(name: str, root: Path, rng: int = 0) -> dict[str, Any]:
    """One data set's aggregate backtest figures."""
    import kocgraph as kg

    g, staff = load(name, root)
    t0 = time.perf_counter()
    res = kg.evaluate.backtest(g, k=KS, staff=staff, rng=rng)
    secs = time.perf_counter() - t0
    p = res.pivot(index="method", columns="k", values="precision")
    rho = res.groupby("method", sort=False)["spearman"].first()
    rules = p.drop(index="koc")
    best = str(rules[50].idxmax())
    fit = res.attrs["koc_fit"]
    return {
        "dataset": name, "events": int(g.n_events), "split_by": res.attrs["split_by"],
        "n_eligible": res.attrs["n_eligible"], "n_kol_excluded": res.attrs["n_kol_excluded"],
        "koc": {f"p@{k}": float(p.loc["koc", k]) for k in KS} | {"spearman": float(rho["koc"])},
        "best_rule_p@50": {"rule": best, "precision": float(rules.loc[best, 50])},
        "koc_minus_best_rule_p@50": float(p.loc["koc", 50] - rules[50].max()),
        "rules_p@50": {m: float(v) for m, v in rules[50].items()},
        "verdict": res.attrs["verdict"],
        "fit": {"chosen": fit.get("chosen"), "fell_back": fit.get("fell_back"), "fallback": fit.get("fallback"),
                "reason": fit.get("reason"), "weights": res.attrs["koc_weights"]},
        "seconds": round(secs, 2),
        # the first version's score (weighted percentiles) in the same backtest, for comparison
        "koc_v1_p@50": float(kg.evaluate.backtest(g, k=(50,), staff=staff, rng=rng, baselines=(),
                                                  weights="percentile")["precision"].iloc[0]),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("| data set | split | eligible | p@10 | p@50 | p@100 | Spearman | best rule at p@50 | KOC − best | "
            "first version p@50 | fit |\n|---|---|---|---|---|---|---|---|---|---|---|")
    print(head)
    for r in rows:
        k = r["koc"]
        f = r["fit"]
        how = f["chosen"] if not f["fell_back"] else f"{f['fallback']}: {f['chosen'] or 'prior weights'}"
        print(f"| {r['dataset']} | {r['split_by']} | {r['n_eligible']:,} | {k['p@10']:.3f} | {k['p@50']:.3f} | "
              f"{k['p@100']:.3f} | {k['spearman']:.3f} | {r['best_rule_p@50']['rule']} "
              f"{r['best_rule_p@50']['precision']:.3f} | {r['koc_minus_best_rule_p@50']:+.3f} | "
              f"{r['koc_v1_p@50']:.3f} | {how} |")
    for r in rows:
        print(f"- {r['dataset']}: {r['verdict']}")


def cost(size: str, repeats: int) -> dict[str, Any]:
    """Calibration time against the nominate job's wall time on ``sample:synthetic-<size>``."""
    from kocgraph.algorithms import koc_model as M
    from kocgraph.jobs import NominateConfig, nominate
    from kocgraph.tl._kocs import _conversions, _fit

    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = nominate(NominateConfig(f"sample:synthetic-{size}", progress=False))
        wall = time.perf_counter() - t0
        g = res.graph
        names = list(M.COUNT_FEATURES[:-2] if _conversions(g) is None else M.COUNT_FEATURES) + [
            f"{r}@{h:g}" for r in M.RECENCY_FEATURES for h in M.HALF_LIVES]
        staff = g.user_codes(g.meta.get("dataset", {}).get("staff") or [])
        t1 = time.perf_counter()
        _w, info = _fit(g, names, np.asarray(staff, dtype=np.int64), "auto", _conversions(g), "auto", 0)
        calib = time.perf_counter() - t1
        runs.append({"nominate_s": wall, "kocs_stage_s": float(res.manifest["timings_s"].get("kocs", float("nan"))),
                     "calibration_s": calib, "sample": info.get("sample"), "chosen": info.get("chosen")})
        del res, g
    med = {k: statistics.median(r[k] for r in runs) for k in ("nominate_s", "kocs_stage_s", "calibration_s")}
    return {"size": size, "repeats": repeats, **{k: round(v, 2) for k, v in med.items()},
            "ratio": round(med["calibration_s"] / med["nominate_s"], 3), "sample": runs[0]["sample"],
            "chosen": runs[0]["chosen"]}


def splits(root: Path) -> dict[str, list[float]]:
    """KOC − best rule at precision@50 on five splits of each real log (see the module docstring)."""
    import kocgraph as kg

    out: dict[str, list[float]] = {}
    for name in DATASETS[:4]:
        try:
            g, _ = load(name, root)
        except FileNotFoundError as err:
            print(f"skipped {name}: {err}", file=sys.stderr)
            continue
        for i, frac in enumerate((0.6, 0.65, 0.7, 0.75, 0.8)):
            item = name.startswith("stackexchange")
            res = kg.evaluate.backtest(g, split=0.7 if item else frac, k=(50,), rng=i if item else 0)
            p = res.set_index("method")["precision"]
            out.setdefault(name, []).append(round(float(p["koc"] - p.drop("koc").max()), 3))
    return out


def _inner_cuts(M: Any, g: Any, names: list[str]) -> list[Any]:
    """The inner cuts ``calibrate`` builds on ``g`` (caught on their way to ``fit_weights``)."""
    c = g.codes
    cuts: list[Any] = []
    orig = M.fit_weights

    def grab(cs: Any, *a: Any, **k: Any) -> Any:
        cuts.extend(cs)
        return orig(cs, *a, **k)

    M.fit_weights = grab
    try:
        M.calibrate(c.src, c.tgt, c.item, c.time, g.n_users, has_time=g.has_time, staff=np.zeros(g.n_users, bool),
                    kol_threshold="auto", names=names, singles=names, half_lives=(0.1,), rng=0)
    finally:
        M.fit_weights = orig
    return cuts


def prior(root: Path) -> dict[str, float]:
    """Re-derive ``PRIOR_WEIGHTS`` (see the module docstring)."""
    from kocgraph.algorithms import koc_model as M

    names = ["reach", "resharers", "direct_reach", "forwards", "receivers", "senders", "items_started", "pagerank",
             "coreness", "forwards_recent_event@0.1", "reach_recent_event@0.1"]
    Xs, ys, ws = [], [], []
    for name in ("douban", "higgs-twitter", "stackexchange-christianity"):
        g, _ = load(name, root)
        cuts = _inner_cuts(M, g, names)
        X = np.vstack([cu.X for cu in cuts])
        y = np.concatenate([cu.target for cu in cuts])
        keep = M.contenders(X, M.CONTENDER_M)
        Xs.append(X[keep])
        ys.append(y[keep])
        ws.append(np.where(y[keep] > 0, 1.0, M.ZERO_WEIGHT) / keep.sum())
    w = M.nnls_weights(np.vstack(Xs), np.concatenate(ys), np.concatenate(ws))
    return {n: round(float(v), 3) for n, v in zip(names, w) if v > 0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated (default: all five)")
    ap.add_argument("--data", default=None, help="folder holding the real data sets (default: $KOCGRAPH_DATA or ../shared/data)")
    ap.add_argument("--cost", default=None, help="sizes for the calibration cost, e.g. 1e6,1e7 (no table then)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--prior", action="store_true", help="re-derive the prior weights (no table then)")
    ap.add_argument("--smoke", action="store_true", help="one small synthetic log")
    ap.add_argument("--splits", action="store_true", help="KOC - best rule on five splits of each real log")
    ap.add_argument("--out", default=None, help="write the results as JSON")
    args = ap.parse_args(argv)
    root = data_root(args.data)
    out: dict[str, Any] = {"environment": environment()}
    if args.prior:
        out["prior"] = prior(root)
        print(json.dumps(out["prior"]))
    elif args.splits:
        out["splits"] = splits(root)
        vals = [x for v in out["splits"].values() for x in v]
        for name, v in out["splits"].items():
            print(f"{name}: " + " ".join(f"{x:+.2f}" for x in v))
        if vals:
            print(f"mean {np.mean(vals):+.4f}; ahead on {sum(x > 1e-9 for x in vals)}, tied on "
                  f"{sum(abs(x) <= 1e-9 for x in vals)}, behind on {sum(x < -1e-9 for x in vals)} of {len(vals)} splits")
    elif args.cost:
        out["cost"] = []
        for size in args.cost.split(","):
            r = cost(size.strip(), args.repeats)
            out["cost"].append(r)
            print(f"synthetic-{size}: nominate {r['nominate_s']:.2f} s (kocs stage {r['kocs_stage_s']:.2f} s), "
                  f"calibration {r['calibration_s']:.2f} s -> {100 * r['ratio']:.1f}% of nominate "
                  f"(fitted on {r['sample']}; chose {r['chosen']})")
    else:
        names = ["smoke"] if args.smoke else [n.strip() for n in args.datasets.split(",") if n.strip()]
        rows = []
        for n in names:
            try:
                rows.append(backtest_row(n, root))
            except FileNotFoundError as err:
                print(f"skipped {n}: {err}", file=sys.stderr)
        out["backtest"] = rows
        print_table(rows)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
