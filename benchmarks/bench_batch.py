"""Batch recommendation speed: `recommend` on 100k new complaints vs bare predict time.

    make bench-batch            # or: .venv/bin/python benchmarks/bench_batch.py --n-new 100000

Trains once on a simulated history (or reuses --models-dir), then, in the same process
and with the same models, times (median of --repeat runs):

* recommend: the whole `makegood recommend` path (read + validate the CSV, features,
  text, memory, predictions, budget allocation, write CSV + rankings JSON lines);
* bare predict: only the LightGBM predictions of the same candidates (all folds, all
  outcome and propensity models) from ready-made numpy matrices: the floor.

Prints both, their ratio (target <= 1.5) and peak memory (max RSS).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def bare_predict(bundle, X: np.ndarray) -> float:
    """Seconds for the LightGBM predictions alone, from numpy (no features, no policy)."""
    eng = bundle.engine
    n, K = X.shape[0], eng.n_actions
    big = np.repeat(X, K, axis=0)
    acts = np.tile(np.arange(K, dtype=np.float32), n)
    money = 0.0 if eng.params.money_input else None  # the layout; amounts hardly cost
    xa = eng.outcome_input(big, acts, money=money)
    sat_f = [m.predict(xa) for m in eng.sat_models]  # warm-up sized like the real thing
    xcs = [eng.outcome_input(big, acts, s, money=money) for s in sat_f]
    t = time.perf_counter()
    sat_f = [m.predict(xa) for m in eng.sat_models]
    for f, m in enumerate(eng.churn_models):
        m.predict(xcs[f] if eng.mediated else xa)
    for m in eng.prop_models:
        m.predict(X)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n-history", type=int, default=50_000)
    ap.add_argument("--n-new", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--models-dir", type=Path, default=None, help="reuse a trained bundle")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from makegood.contract.catalog import dump_catalog
    from makegood.contract.files import read_complaints, validate_history, write_frame
    from makegood.modeling.bundle import load_bundle
    from makegood.modeling.predict import features_for, recommend, write_rankings
    from makegood.modeling.train import train
    from makegood.sim.world import oracle_unconstrained_spend, simulate

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    print(
        f"simulating {args.n_history} history rows and {args.n_new} new complaints ...", flush=True
    )
    world = simulate(args.n_history, n_new=args.n_new, seed=args.seed)
    complaints_csv = work / "new_complaints.csv"
    write_frame(world.complaints, complaints_csv)
    dump_catalog(world.catalog, work / "catalog.yaml")
    budget = 0.25 * oracle_unconstrained_spend(world)
    if args.models_dir is None:
        print("training ...", flush=True)
        t = time.perf_counter()
        hist = validate_history(world.history, catalog=world.catalog)
        train(
            hist, world.catalog, models_dir=work / "models", tracking_uri=None, holdout_fraction=0
        )
        print(f"trained in {time.perf_counter() - t:.1f}s", flush=True)
        models_dir = work / "models"
    else:
        models_dir = args.models_dir
    bundle = load_bundle(models_dir).with_catalog(world.catalog)

    rec_times, bare_times = [], []
    for r in range(args.repeat):
        t = time.perf_counter()
        df = read_complaints(complaints_csv)
        recs = recommend(bundle, df, budget)
        write_frame(recs.frame, work / "recs.csv")
        write_rankings(recs, work / "recs.rankings.jsonl")
        rec_times.append(time.perf_counter() - t)
        assert recs.frame["compensation"].sum() <= budget
        X = features_for(bundle, df)
        bare_times.append(bare_predict(bundle, X))
        print(
            f"run {r + 1}: recommend {rec_times[-1]:.2f}s, bare predict {bare_times[-1]:.2f}s",
            flush=True,
        )
    rec, bare = statistics.median(rec_times), statistics.median(bare_times)
    # other jobs on the machine slow both: the median of the paired ratios is steadier
    ratio = statistics.median(r / b for r, b in zip(rec_times, bare_times, strict=True))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    k = len(bundle.catalog.ids)
    print()
    print("| what | median (s) | note |")
    print("|---|---|---|")
    print(
        f"| recommend, {args.n_new} complaints x {k} candidates | {rec:.2f} "
        "| read, features, predict, allocate, write |"
    )
    print(f"| bare predict, same candidates and models | {bare:.2f} | LightGBM from numpy only |")
    print(f"| ratio of medians recommend / bare predict | {rec / bare:.2f} | target <= 1.5 |")
    print(f"| median of per-run ratios | {ratio:.2f} | same run, same load |")
    print(f"| peak memory (max RSS) | {peak_mb:.0f} MB | |")
    sys.exit(0)


if __name__ == "__main__":
    main()
