"""Decision-quality benchmark (issues 3 and 25): capture against the oracle, over paired worlds.

On simulated worlds of 5k, 10k, 20k, 60k and 200k history rows, five worlds per size
(world seeds 1-5 at every size, printed), at budgets of 100%, 60% and 25% of the oracle's
unconstrained spend on the new complaints, the share of the oracle's uplift over the
all-baseline policy captured by

* ``makegood``          the product (``makegood.api.train`` then recommend);
* the peer panel        (``peers.py``: EconML's causal forest and DRLearner with a
                        LightGBM final stage, causalml's X- and R-learners, a LightGBM
                        T-learner) on makegood's own inputs: each peer's per-candidate
                        churn -> net value with the catalog's compensation and handling
                        cost -> makegood's allocator, so only the effect estimates differ;
* ``naive_s_learner``   one LightGBM per outcome, resolution as a feature (references.py);
* ``standard_formula``  each issue type's resolutions by their mean realized net value;
* ``makegood_clean_surveys`` (``--clean-surveys``, a diagnostic, not a method) makegood
                        trained on the same history with every answered survey replaced
                        by its expected value: what the answers' noise costs, paired;
* ``observable_ceiling`` a LightGBM cross-fitted to the TRUE churn probabilities of the new
                        complaints from the same observable features: roughly the most
                        any method could capture from what is observed (not a method).

Every policy is allocated by ``makegood.policy.budget.allocate`` under the same budget.
Each cell: the mean capture over the worlds, its standard error and the mean ratio to the
ceiling of the same world; then per cell the best peer and makegood's margin over it with
a paired standard error (over the per-world differences). Fit seconds (wall and CPU) per
method per world. Writes JSON to benchmarks/results/quality.json.

    .venv/bin/python benchmarks/bench_quality.py                       # the full benchmark
    .venv/bin/python benchmarks/bench_quality.py --sizes 10000 --quick  # one world, light models
    .venv/bin/python benchmarks/bench_quality.py --sizes 10000,20000 --worlds 5 --threads 1 \
        --peers econml_drlearner,lgbm_t_learner
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Bench,
    customer_folds,
    make_bench,
    timed,
    training_features,
)
from peers import PEERS, PeerSettings, Shared, peer_data, run_peer  # noqa: E402

FRACTIONS = (1.0, 0.6, 0.25)
SIZES = (5_000, 10_000, 20_000, 60_000, 200_000)
WORLD_SEEDS = (1, 2, 3, 4, 5)
REFERENCES = ("naive_s_learner", "standard_formula")
#: everything but makegood and the ceiling: the candidates for "best peer"
OTHERS = (*PEERS, *REFERENCES)
#: diagnostics: makegood on the same history with noise-free survey answers (``--clean-surveys``)
DIAGNOSTICS = ("makegood_clean_surveys",)
METHODS = ("makegood", *OTHERS, *DIAGNOSTICS, "observable_ceiling")
#: issue 25's targets, makegood / observable ceiling, by history size
TARGETS = {10_000: 0.93, 20_000: 0.97, 60_000: 0.99, 200_000: 0.99}


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_world(n: int, seed: int, args) -> dict:
    from makegood.api import train
    from makegood.modeling.predict import features_for, score
    from makegood.modeling.predict import recommend as mg_recommend
    from makegood.modeling.references import NaiveSLearner, standard_formula_values
    from makegood.policy.budget import allocate
    from makegood.policy.value import net_value

    t0 = time.perf_counter()
    b: Bench = make_bench(n, seed)
    cat = b.catalog
    base = cat.baseline_index
    cx = b.complaints
    elig = cat.eligibility_matrix(cx["issue_type"].to_numpy(), cx["severity"].to_numpy())
    ltv = cx["lifetime_value"].to_numpy(float)
    hc = cat.handling_costs
    budgets = b.budgets(FRACTIONS)
    out: dict = {
        "n_requested": n,
        "n_history": len(b.history),
        "n_new": len(cx),
        "seed": seed,
        "oracle_unconstrained_spend": b.oracle_spend,
        "simulate_s": time.perf_counter() - t0,
        "load_avg_start": _load(),
        "methods": {},
    }
    _say(f"world n={n} seed={seed}: {len(b.history)} history rows, {len(cx)} new complaints")

    def record(name: str, value: np.ndarray | None, t: dict, choices: dict | None = None) -> None:
        caps = {}
        for f, bud in budgets.items():
            tt = time.perf_counter()
            choice = choices[f] if choices else allocate(value, b.compensation, elig, bud).choice
            t["allocate_s"] = t.get("allocate_s", 0.0) + time.perf_counter() - tt
            r = b.capture(choice, bud)
            caps[str(f)] = {**r.as_dict(), "budget": bud, "within_budget": r.spend <= bud + 1e-6}
        t["allocate_s"] = t.get("allocate_s", 0.0) / len(budgets)
        t["recommend_s"] = t.get("predict_s", 0.0) + t["allocate_s"]
        out["methods"][name] = {"capture": caps, **t}
        _say(
            f"  {name}: "
            + ", ".join(
                f"{f:.0%} {c['capture']:.3f}" for f, c in zip(budgets, caps.values(), strict=True)
            )
            + f"; fit {t.get('fit_s', 0):.1f}s (cpu {t.get('fit_cpu_s', 0):.1f}s)"
        )

    # --- makegood ------------------------------------------------------------------
    t: dict = {}
    params = {"num_threads": args.threads, **json.loads(args.params)}
    if args.quick:
        params.update(n_estimators=120, n_folds=2)
    with timed(t, "fit_s", "fit_cpu_s"):
        model = train(b.history, cat, holdout_fraction=0, **params)
    bundle = model.bundle
    with timed(t, "features_s"):
        X_new = features_for(bundle, cx)
    with timed(t, "predict_s"):
        s = score(bundle, cx, X=X_new)
    t["predict_s"] += t["features_s"]
    choices = {}
    for f, bud in budgets.items():
        choices[f] = mg_recommend(bundle, cx, bud, scores=s).allocation.choice
    record("makegood", None, t, choices)
    if args.clean_surveys:
        t = {}
        with timed(t, "fit_s", "fit_cpu_s"):
            clean = train(clean_surveys(b), cat, holdout_fraction=0, **params)
        with timed(t, "predict_s"):
            sc = score(clean.bundle, cx)
        choices = {
            f: mg_recommend(clean.bundle, cx, bud, scores=sc).allocation.choice
            for f, bud in budgets.items()
        }
        record("makegood_clean_surveys", None, t, choices)

    # --- the peer panel on makegood's own inputs --------------------------------------
    peers = [p for p in args.peers if p in PEERS]
    if peers:
        t = {}
        with timed(t, "features_s"):
            tr = training_features(b.history, cat, bundle)
            data = peer_data(tr, X_new, elig, base)
        out["peer_features_s"] = t["features_s"]  # makegood's pipeline, not charged to a peer
        settings = (PeerSettings.quick if args.quick else PeerSettings)(threads=args.threads)
        shared = Shared(data, settings)
        for name in peers:
            t = {}
            churn, t["fit_s"], t["fit_cpu_s"] = run_peer(name, data, shared)
            with timed(t, "predict_s"):
                value = net_value(ltv, churn, b.compensation, hc)
            record(name, value, t)

    # --- references -----------------------------------------------------------------
    if "naive_s_learner" in args.peers:
        t = {}
        with timed(t, "fit_s", "fit_cpu_s"):
            naive = NaiveSLearner().fit(b.history, cat)
        with timed(t, "predict_s"):
            value = naive.predict(cx)["net_value"]
        record("naive_s_learner", value, t)

    if "standard_formula" in args.peers:
        t = {}
        with timed(t, "predict_s"):
            value = standard_formula_values(b.history, cat, cx)
        record("standard_formula", value, t)

    # --- what the observables allow ---------------------------------------------------
    t = {}
    with timed(t, "fit_s", "fit_cpu_s"):
        money = b.compensation if bundle.engine.params.money_input else None
        churn = observable_ceiling(
            X_new, b.truth.churn_prob, elig, cx["customer_id"].to_numpy(), args, money=money
        )
        value = net_value(ltv, churn, b.compensation, hc)
    record("observable_ceiling", value, t)

    out["methods"]["all_baseline"] = {
        "capture": {
            str(f): {**b.capture(np.full(len(cx), base), bud).as_dict(), "budget": bud}
            for f, bud in budgets.items()
        }
    }
    out["total_s"] = time.perf_counter() - t0
    out["load_avg_end"] = _load()
    return out


def clean_surveys(b: Bench):
    """The same history with every answered survey replaced by the expected satisfaction of
    the resolution given (the simulator's truth, no answer noise): same rows, same
    non-response, same confounding. A diagnostic of what the answers' noise costs, never a
    method (makegood never sees truth)."""
    expected = b.world.history_truth.set_index("complaint_id")["expected_satisfaction"]
    h = b.history.copy()
    answered = h["satisfaction"].notna()
    h.loc[answered, "satisfaction"] = h.loc[answered, "complaint_id"].map(expected).round(3)
    return h


def observable_ceiling(
    X, true_churn, elig, customers, args, n_folds: int = 4, money=None
) -> np.ndarray:
    """Cross-fitted LightGBM of the TRUE churn probability on (observable features, action),
    in makegood's outcome input layout: with ``money`` (n, K), each candidate's
    compensation too (as makegood's models read it with ``money_input``)."""
    import lightgbm as lgb

    from makegood.modeling.engine import Engine

    n, K = true_churn.shape
    i, k = np.nonzero(elig)
    XA = Engine.outcome_input(X[i], k, money=None if money is None else money[i, k])
    y = true_churn[i, k]
    fold = customer_folds(customers, n_folds)[i]
    params = {
        "objective": "cross_entropy",
        "learning_rate": 0.05,
        "num_leaves": 63,
        "min_child_samples": 40,
        "verbose": -1,
        "num_threads": args.threads,
        "seed": 0,
    }
    pred = np.full(len(y), np.nan)
    for f in range(n_folds):
        tr, te = fold != f, fold == f
        ds = lgb.Dataset(XA[tr], y[tr], categorical_feature=[X.shape[1]], params={"verbose": -1})
        m = lgb.train(params, ds, 150 if args.quick else 400)
        pred[te] = m.predict(XA[te])
    out = np.full((n, K), 0.5)
    out[i, k] = pred
    return out


def ceiling_ratios(world: dict, name: str) -> list[float]:
    """Capture of ``name`` over the observable ceiling's, per budget fraction."""
    ceil = world["methods"]["observable_ceiling"]["capture"]
    caps = world["methods"][name]["capture"]
    return [caps[str(f)]["capture"] / ceil[str(f)]["capture"] for f in FRACTIONS]


def mean_se(x) -> tuple[float, float | None]:
    """Mean and its standard error (sd / sqrt(n); None for one value).

    >>> mean_se([1.0, 2.0, 3.0])
    (2.0, 0.5773502691896258)
    >>> mean_se([0.5])
    (0.5, None)
    """
    x = np.asarray(x, dtype=float)
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None
    return float(x.mean()), se


def _se(se: float | None) -> str:
    return "n/a" if se is None else f"{se:.3f}"


def summarize(results: list[dict]) -> dict:
    """Per size: each method's mean capture, se and ceiling ratio per budget; the best peer.

    The best peer of a cell is the method other than makegood and the ceiling with the
    highest mean capture; makegood's margin over it is the mean of the per-world
    differences, with their standard error (paired: the worlds are shared).
    """
    out: dict = {}
    for n in dict.fromkeys(w["n_requested"] for w in results):
        worlds = [w for w in results if w["n_requested"] == n]
        cell: dict = {"seeds": [w["seed"] for w in worlds], "methods": {}, "best_peer": {}}
        for name in METHODS:
            if not all(name in w["methods"] for w in worlds):
                continue
            m: dict = {}
            for j, f in enumerate(FRACTIONS):
                caps = [w["methods"][name]["capture"][str(f)]["capture"] for w in worlds]
                ratios = [ceiling_ratios(w, name)[j] for w in worlds]
                mean, se = mean_se(caps)
                ratio, ratio_se = mean_se(ratios)
                m[str(f)] = {
                    "captures": caps,
                    "mean": mean,
                    "se": se,
                    "ratio": ratio,
                    "ratio_se": ratio_se,
                }
            for key in ("fit_s", "fit_cpu_s"):
                if all(key in w["methods"][name] for w in worlds):
                    m[key] = float(np.mean([w["methods"][name][key] for w in worlds]))
            cell["methods"][name] = m
        peers = [p for p in OTHERS if p in cell["methods"]]
        if peers and "makegood" in cell["methods"]:
            for f in map(str, FRACTIONS):
                best = max(peers, key=lambda p: cell["methods"][p][f]["mean"])
                diff = np.subtract(
                    cell["methods"]["makegood"][f]["captures"], cell["methods"][best][f]["captures"]
                )
                margin, se = mean_se(diff)
                cell["best_peer"][f] = {"name": best, "margin": margin, "margin_se": se}
        out[str(n)] = cell
    return out


def _verdict(margin: float, se: float | None) -> str:
    if se is None:
        return "yes (one world)" if margin > 0 else "NO (one world)"
    if margin > 2 * se:
        return "yes"
    return "NO" if margin < -2 * se else "not clearly (within 2 se)"


def markdown(results: list[dict], summary: dict) -> str:
    lines: list[str] = []
    for size, cell in summary.items():
        n = int(size)
        worlds = [w for w in results if w["n_requested"] == n]
        loads = [w["load_avg_end"][0] for w in worlds]
        lines += [
            f"### {n / 1000:g}k history rows, {len(worlds)} world(s), seeds "
            f"{', '.join(map(str, cell['seeds']))} (1-min load at the worlds' ends "
            f"{min(loads):.1f}-{max(loads):.1f})",
            "",
            "| method | "
            + " | ".join(f"capture @{f:.0%} ± se (ratio to ceiling)" for f in FRACTIONS)
            + " | fit s | fit CPU s |",
            "|" + "---|" * (len(FRACTIONS) + 3),
        ]
        for name, m in cell["methods"].items():
            fit = f"{m['fit_s']:.1f}" if "fit_s" in m else "-"
            cpu = f"{m['fit_cpu_s']:.1f}" if "fit_cpu_s" in m else "-"
            lines.append(
                f"| {name} | "
                + " | ".join(
                    f"{c['mean']:.3f} ± {_se(c['se'])} ({c['ratio']:.3f})"
                    for c in (m[str(f)] for f in FRACTIONS)
                )
                + f" | {fit} | {cpu} |"
            )
        if cell["best_peer"]:
            lines += [
                "",
                "| budget | best peer | its capture | makegood | margin ± paired se | ahead |",
                "|---|---|---|---|---|---|",
            ]
            for f in FRACTIONS:
                bp = cell["best_peer"][str(f)]
                lines.append(
                    f"| {f:.0%} | {bp['name']} | {cell['methods'][bp['name']][str(f)]['mean']:.3f}"
                    f" | {cell['methods']['makegood'][str(f)]['mean']:.3f}"
                    f" | {bp['margin']:+.3f} ± {_se(bp['margin_se'])}"
                    f" | {_verdict(bp['margin'], bp['margin_se'])} |"
                )
        if "makegood" in cell["methods"]:
            mg = cell["methods"]["makegood"]
            target = TARGETS.get(n)
            lines += [
                "",
                "makegood / observable ceiling: "
                + ", ".join(
                    f"@{f:.0%} {mg[str(f)]['ratio']:.3f} ± {_se(mg[str(f)]['ratio_se'])}"
                    for f in FRACTIONS
                )
                + (
                    f" (target >= {target:.2f}: "
                    + (
                        "met"
                        if min(mg[str(f)]["ratio"] for f in FRACTIONS) >= target
                        else "NOT met"
                    )
                    + ")"
                    if target
                    else ""
                ),
            ]
        if "makegood" in cell["methods"] and "makegood_clean_surveys" in cell["methods"]:
            lines.append("")
            lines.append(_survey_noise_line(cell))
        lines.append("")
    return "\n".join(lines)


def _survey_noise_line(cell: dict) -> str:
    """What the survey answers' noise costs: the same engine on noise-free answers, paired."""
    mg, clean = cell["methods"]["makegood"], cell["methods"]["makegood_clean_surveys"]
    parts = []
    for f in map(str, FRACTIONS):
        gain, se = mean_se(np.subtract(clean[f]["captures"], mg[f]["captures"]))
        parts.append(f"@{float(f):.0%} ratio {clean[f]['ratio']:.3f}, gain {gain:+.3f} ± {_se(se)}")
    return "with noise-free survey answers (diagnostic, same rows): " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="history rows per world")
    ap.add_argument("--worlds", type=int, default=len(WORLD_SEEDS), help="worlds per size")
    ap.add_argument(
        "--seeds",
        default=",".join(map(str, WORLD_SEEDS)),
        help="world seeds, the same at every size (the first --worlds are used)",
    )
    ap.add_argument(
        "--peers",
        default="all",
        help=f"comma list of {', '.join(OTHERS)}; 'all' or 'none'",
    )
    # 2 on a quiet machine; on a shared one 1 (2-thread LightGBM can be several times slower)
    ap.add_argument("--threads", type=int, default=2, help="threads of every library")
    ap.add_argument(
        "--params",
        default="{}",
        help="makegood engine settings as JSON, e.g. '{\"n_folds\": 8}' (ablations)",
    )
    ap.add_argument(
        "--clean-surveys",
        action="store_true",
        help="also train makegood on the same history with noise-free survey answers "
        "(a diagnostic of what the answers' noise costs; uses the simulator's truth)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="one world per size, fewer trees and folds (a smoke run)",
    )
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "quality.json")
    )
    args = ap.parse_args(argv)
    args.peers = {"all": list(OTHERS), "none": []}.get(args.peers, args.peers.split(","))
    unknown = sorted(set(args.peers) - set(OTHERS))
    if unknown:
        ap.error(f"--peers must name methods among {', '.join(OTHERS)}. Got {unknown} instead.")
    sizes = [int(x) for x in args.sizes.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")][: 1 if args.quick else args.worlds]
    load_start = _load()
    print(
        f"sizes {sizes}, world seeds {seeds}, peers {args.peers}, threads {args.threads}, "
        f"quick {args.quick}; load average at start {load_start}",
        flush=True,
    )
    results: list[dict] = []
    for n in sizes:
        for seed in seeds:
            results.append(run_world(n, seed, args))
            _write(results, args, load_start)  # keep what is done if a later world fails
    print(markdown(results, summarize(results)))
    print(f"load average at start {load_start}, at the end {_load()}")
    return 0


def _write(results: list[dict], args, load_start: list[float]) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "argv": sys.argv[1:],
        "quick": args.quick,
        "threads": args.threads,
        "peers": args.peers,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_start": load_start,
        "load_avg_now": _load(),
        "budget_fractions": list(FRACTIONS),
        "summary": summarize(results),
        "worlds": results,
    }
    out.write_text(json.dumps(doc, indent=2, default=float, allow_nan=False) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
