"""Does modelling churn through predicted satisfaction (mediation) add bias? Less variance?

    .venv/bin/python benchmarks/bench_mediation.py --n 20000 --seeds 0,1,2

On simulated worlds, fits makegood with and without the mediator and compares, per
resolution, the mean predicted retention lift over the new complaints with the true mean
lift (bias), the per-complaint error of the lift (RMSE, which variance dominates), and
the capture at 25% of the oracle's unconstrained spend.
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()

    from makegood.contract.files import validate_complaints, validate_history
    from makegood.modeling.engine import EngineParams
    from makegood.modeling.evaluate import capture
    from makegood.modeling.evaluation_runner import load_truth_frame
    from makegood.modeling.predict import recommend, score
    from makegood.modeling.train import train
    from makegood.sim.world import oracle_unconstrained_spend, simulate

    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        world = simulate(args.n, seed=seed)
        cat = world.catalog
        hist = validate_history(world.history, catalog=cat)
        comp = validate_complaints(world.complaints)
        truth = load_truth_frame(world.truth, comp, cat)
        budget = 0.25 * oracle_unconstrained_spend(world)
        base = cat.baseline_index
        true_lift = truth.churn_prob[:, [base]] - truth.churn_prob
        for mediated in (True, False):
            res = train(
                hist,
                cat,
                params=EngineParams(mediated=mediated, random_state=seed),
                models_dir=None,
                tracking_uri=None,
                holdout_fraction=0,
            )
            s = score(res.bundle, comp)
            recs = recommend(res.bundle, comp, budget, scores=s)
            cap = capture(
                recs.allocation.choice,
                truth.net_value,
                truth.satisfaction,
                s.compensation,
                truth.eligible,
                base,
                budget,
            ).capture
            for k, rid in enumerate(cat.ids):
                if k == base:
                    continue
                m = truth.eligible[:, k]
                err = s.retention_lift[m, k] - true_lift[m, k]
                rows.append(
                    (
                        seed,
                        mediated,
                        rid,
                        true_lift[m, k].mean(),
                        err.mean(),
                        np.sqrt((err**2).mean()),
                        cap,
                    )
                )
    print("| seed | mediated | resolution | true mean lift | bias | RMSE | capture@25% |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.4f} | {r[4]:+.4f} | {r[5]:.4f} | {r[6]:.3f} |")
    print()
    print("| mediated | mean abs bias | mean RMSE | mean capture@25% |")
    print("|---|---|---|---|")
    for med in (True, False):
        sel = [r for r in rows if r[1] == med]
        caps = np.mean([c for _, c in {(r[0], r[6]) for r in sel}])
        bias = np.mean([abs(r[4]) for r in sel])
        rmse = np.mean([r[5] for r in sel])
        print(f"| {med} | {bias:.4f} | {rmse:.4f} | {caps:.3f} |")


if __name__ == "__main__":
    main()
