"""Decision-quality benchmark (issue 3, item 7): capture against the oracle.

On simulated worlds of 5k, 10k, 20k, 60k and 200k history rows (seeds 4, 5, 1, 2, 3: the
20k/60k/200k worlds are issue 3's), at budgets of
100%, 60% and 25% of the oracle's unconstrained spend on the new complaints, the share of
the oracle's uplift over the all-baseline policy captured by

* ``makegood``          the product (``makegood.api.train`` then recommend);
* ``naive_s_learner``   one LightGBM per outcome, resolution as a feature (references.py);
* ``standard_formula``  each issue type's resolutions by their mean realized net value;
* ``econml_drlearner``  EconML's DRLearner (LightGBM propensity, outcome and final
                        models) on makegood's own features, CATE of each resolution vs the
                        baseline on churn + a LightGBM baseline churn model -> net value;
* ``observable_ceiling`` a LightGBM cross-fitted to the TRUE churn probabilities of the new
                        complaints from the same observable features: roughly the most
                        any method could capture from what is observed (not a method).

Every policy is allocated by ``makegood.policy.budget.allocate`` under the same budget.
Prints a markdown table whose every cell is ``capture (ratio to the observable ceiling)``
and a summary of makegood's ratio per world; writes JSON to benchmarks/results/quality.json.

    .venv/bin/python benchmarks/bench_quality.py                      # the full benchmark
    .venv/bin/python benchmarks/bench_quality.py --sizes 20000 --quick  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Bench, customer_folds, make_bench, timed, training_features  # noqa: E402

FRACTIONS = (1.0, 0.6, 0.25)
SIZES = (5_000, 10_000, 20_000, 60_000, 200_000)
SEEDS = (4, 5, 1, 2, 3)
METHODS = (
    "makegood",
    "econml_drlearner",
    "naive_s_learner",
    "standard_formula",
    "observable_ceiling",
)


def _say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _lgb_common(threads: int, seed: int) -> dict:
    return {"n_jobs": threads, "random_state": seed, "verbose": -1}


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
        "load_avg_start": os.getloadavg(),
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
            + f"; fit {t.get('fit_s', 0):.1f}s"
        )

    # --- makegood ------------------------------------------------------------------
    t: dict = {}
    params = {"num_threads": args.threads, **json.loads(args.params)}
    if args.quick:
        params.update(n_estimators=120, n_folds=2)
    with timed(t, "fit_s"):
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

    # --- EconML DRLearner on makegood's features ------------------------------------
    if not args.no_econml:
        t = {}
        with timed(t, "features_s"):
            tr = training_features(b.history, cat, bundle)
        t["fit_s"] = t["features_s"]
        with timed(t, "fit_s"):
            dr, base_model = fit_drlearner(tr, cat, args)
        with timed(t, "predict_s"):
            X_new = features_for(bundle, cx)
            churn = drlearner_churn(dr, base_model, X_new, cat)
            value = net_value(ltv, churn, b.compensation, hc)
        record("econml_drlearner", value, t)

    # --- references -----------------------------------------------------------------
    t = {}
    with timed(t, "fit_s"):
        naive = NaiveSLearner().fit(b.history, cat)
    with timed(t, "predict_s"):
        value = naive.predict(cx)["net_value"]
    record("naive_s_learner", value, t)

    t = {}
    with timed(t, "predict_s"):
        value = standard_formula_values(b.history, cat, cx)
    record("standard_formula", value, t)

    # --- what the observables allow ---------------------------------------------------
    t = {}
    with timed(t, "fit_s"):
        churn = observable_ceiling(
            X_new, b.truth.churn_prob, elig, cx["customer_id"].to_numpy(), args
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
    out["load_avg_end"] = os.getloadavg()
    return out


def fit_drlearner(tr: dict, cat, args):
    """EconML DRLearner: multi-valued resolution (baseline = control), outcome = churn."""
    from econml.dr import DRLearner
    from lightgbm import LGBMClassifier, LGBMRegressor

    common = _lgb_common(args.threads, 0)
    n_est = 120 if args.quick else 300
    base = cat.baseline_index
    order = [base, *[k for k in range(len(cat.ids)) if k != base]]
    dr = DRLearner(
        # the same nuisance settings makegood uses for its own models
        model_propensity=LGBMClassifier(
            n_estimators=60, learning_rate=0.1, num_leaves=15, min_child_samples=40, **common
        ),
        model_regression=LGBMRegressor(
            n_estimators=n_est, learning_rate=0.05, num_leaves=31, min_child_samples=40, **common
        ),
        model_final=LGBMRegressor(
            n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=100, **common
        ),
        categories=order,
        cv=2 if args.quick else 4,
        min_propensity=0.01,
        allow_missing=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dr.fit(tr["churn"], tr["action"], X=tr["X"])
    # churn under the baseline: LightGBM on the complaints that got the baseline
    m = tr["action"] == base
    base_model = LGBMClassifier(
        n_estimators=n_est, learning_rate=0.05, num_leaves=31, min_child_samples=40, **common
    ).fit(tr["X"][m], tr["churn"][m])
    return dr, base_model


def drlearner_churn(dr, base_model, X: np.ndarray, cat) -> np.ndarray:
    """Per-candidate churn probability: baseline churn + each resolution's CATE, (n, K)."""
    base = cat.baseline_index
    others = [k for k in range(len(cat.ids)) if k != base]
    p0 = base_model.predict_proba(X)[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cate = np.asarray(dr.const_marginal_effect(X)).reshape(len(X), len(others))
    churn = np.empty((len(X), len(cat.ids)))
    churn[:, base] = p0
    for j, k in enumerate(others):
        churn[:, k] = p0 + cate[:, j]
    return np.clip(churn, 1e-4, 1 - 1e-4)


def observable_ceiling(X, true_churn, elig, customers, args, n_folds: int = 4) -> np.ndarray:
    """Cross-fitted LightGBM of the TRUE churn probability on (observable features, action)."""
    import lightgbm as lgb

    from makegood.modeling.engine import Engine

    n, K = true_churn.shape
    i, k = np.nonzero(elig)
    XA = Engine.outcome_input(X[i], k)
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


def markdown(results: list[dict]) -> str:
    head = "| world | method | " + " | ".join(f"capture @{f:.0%} (ratio)" for f in FRACTIONS)
    head += " | within budget | fit s | recommend s |"
    lines = [head, "|" + "---|" * (len(FRACTIONS) + 5)]
    for w in results:
        label = f"{w['n_requested'] / 1000:g}k (seed {w['seed']})"
        for name in (*METHODS, "all_baseline"):
            m = w["methods"].get(name)
            if m is None:
                continue
            caps = [m["capture"][str(f)]["capture"] for f in FRACTIONS]
            ratios = ceiling_ratios(w, name)
            ok = all(c.get("within_budget", True) for c in m["capture"].values())
            fit = f"{m['fit_s']:.1f}" if "fit_s" in m else "-"
            rec = f"{m['recommend_s']:.2f}" if "recommend_s" in m else "-"
            lines.append(
                f"| {label} | {name} | "
                + " | ".join(f"{c:.3f} ({r:.3f})" for c, r in zip(caps, ratios, strict=True))
                + f" | {'yes' if ok else 'NO'} | {fit} | {rec} |"
            )
    lines += ["", "makegood / observable ceiling (target: >= 0.97 up to 20k, >= 0.99 above):"]
    for w in results:
        r = ceiling_ratios(w, "makegood")
        ahead = ""
        if "econml_drlearner" in w["methods"]:
            e = ceiling_ratios(w, "econml_drlearner")
            ahead = "; ahead of EconML DRLearner: " + (
                "yes" if all(a > b for a, b in zip(r, e, strict=True)) else "NO"
            )
        load = w.get("load_avg_end", (float("nan"),) * 3)
        lines.append(
            f"- {w['n_requested'] / 1000:g}k (load average at the end {load[0]:.1f}, "
            f"{load[1]:.1f}, {load[2]:.1f}): "
            + ", ".join(f"@{f:.0%} {x:.3f}" for f, x in zip(FRACTIONS, r, strict=True))
            + f" (min {min(r):.3f}){ahead}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="history rows per world")
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="one seed per world")
    ap.add_argument("--threads", type=int, default=2, help="LightGBM threads (keep modest)")
    ap.add_argument(
        "--params",
        default="{}",
        help="makegood engine settings as JSON, e.g. '{\"n_folds\": 8}' (ablations)",
    )
    ap.add_argument("--quick", action="store_true", help="fewer trees and folds (a smoke run)")
    ap.add_argument("--no-econml", action="store_true", help="skip EconML's DRLearner")
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "quality.json")
    )
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    if len(seeds) < len(sizes):
        seeds += [seeds[-1] + i + 1 for i in range(len(sizes) - len(seeds))]
    results = []
    for n, seed in zip(sizes, seeds, strict=False):
        results.append(run_world(n, seed, args))
        _write(results, args)  # keep what is done if a later world fails
    print(markdown(results))
    return 0


def _write(results: list[dict], args) -> None:
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "argv": sys.argv[1:],
        "quick": args.quick,
        "threads": args.threads,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "budget_fractions": list(FRACTIONS),
        "worlds": results,
    }
    out.write_text(json.dumps(doc, indent=2, default=float) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
