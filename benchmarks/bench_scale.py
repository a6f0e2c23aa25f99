"""Scale-out: `recommend` in one process vs on a Dask LocalCluster of 2 workers, 500k and 1M.

    make bench-scale            # or: .venv/bin/python benchmarks/bench_scale.py

For each size, complaints are generated cheaply from the simulator's new complaints
(``--source``; tiled with fresh complaint ids, so the customers are the bundle's own and
customer memory is exercised), and the bundle of ``--models-dir`` scores them. By default
both are ``bench_serve``'s 50,000-row world in ``data/bench_serve/n50000`` (simulated and
trained on first use, then reused):

* single: ``makegood recommend`` (the default engine) in a fresh process;
* dask: ``makegood recommend --engine dask`` in a fresh process that starts a LocalCluster
  of ``--n-workers`` processes x 1 thread with ``--partition-rows`` rows per partition.

Each run is a separate child process, so each peak memory (max RSS) is that process's
own: the single process; the Dask driver and every worker (workers are new per run).
Wall time is the whole command (imports, model load, cluster start, read, score, budget,
write). Prints a table, the ratio dask / single, and the verdict of issue 13:

* on the largest size, dask wall time <= 1.3 x single;
* per-worker peak memory does not grow from the smallest to the largest size (<= 10%).

Both runs write CSV + rankings and must agree: same spend, net value and shadow price.
Report `uptime` beside the figures: the verdict is meaningful on a quiet machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the 50,000-row world of bench_serve (simulated and trained on first use, then reused)
WORLD = ROOT / "data" / "bench_serve" / "n50000"
DEFAULT_SOURCE = WORLD / "raw" / "new_complaints.csv"
DEFAULT_CATALOG = WORLD / "raw" / "catalog.yaml"
DEFAULT_MODELS = WORLD / "models"
MAX_RATIO = 1.3
MAX_GROWTH = 1.10


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(source: Path, n: int, out: Path) -> Path:
    """``n`` complaints: the source rows repeated, each with a fresh complaint_id."""
    import numpy as np
    import pandas as pd

    base = pd.read_csv(source, dtype=str, keep_default_na=False)
    reps = -(-n // len(base))
    df = pd.concat([base] * reps, ignore_index=True).iloc[:n]
    df["complaint_id"] = np.char.add("B", np.arange(n).astype(str))
    df.to_csv(out, index=False)
    return out


# ------------------------------------------------------------------ child processes


def child(args: argparse.Namespace) -> None:
    """Run one recommend in this process and print its figures as JSON."""
    from makegood.cli import app

    argv = [
        "recommend",
        "--complaints",
        str(args.complaints),
        "--catalog",
        str(args.catalog),
        "--budget",
        str(args.budget),
        "--output",
        str(args.output),
        "--models-dir",
        str(args.models_dir),
        "--quiet",
    ]
    out: dict = {}
    t0 = time.perf_counter()
    if args.child == "single":
        app(argv, standalone_mode=False)
    else:
        from makegood.contract.catalog import load_catalog
        from makegood.modeling.bundle import resolve_bundle_dir
        from makegood.scaleout.engine import connect, recommend_dask

        with connect(None, n_workers=args.n_workers, threads_per_worker=1) as client:
            t_up = time.perf_counter()
            run = recommend_dask(
                client,
                args.complaints,
                load_catalog(args.catalog),
                resolve_bundle_dir(args.models_dir),
                args.budget,
                args.output,
                partition_rows=args.partition_rows,
            )
            out["cluster_start_s"] = t_up - t0
            out["worker_peak_mb"] = sorted(
                v / 1024
                for v in client.run(
                    lambda: __import__("resource").getrusage(0).ru_maxrss  # RUSAGE_SELF
                ).values()
            )
            out["n_partitions"] = run.n_partitions
            out["shadow_price"] = run.shadow_price
    out["wall_s"] = time.perf_counter() - t0
    out["peak_mb"] = _peak_mb()
    print("RESULT " + json.dumps(out), flush=True)


def run_child(kind: str, complaints: Path, output: Path, a: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        kind,
        "--complaints",
        str(complaints),
        "--output",
        str(output),
        "--budget",
        str(a.budget_value),
        "--catalog",
        str(a.catalog),
        "--models-dir",
        str(a.models_dir),
        "--n-workers",
        str(a.n_workers),
        "--partition-rows",
        str(a.partition_rows),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{kind} run failed:\n{proc.stderr[-3000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    res = json.loads(line[len("RESULT ") :])
    import pandas as pd

    frame = pd.read_csv(output, usecols=["compensation", "net_value"])
    res["spend"] = round(float(frame["compensation"].sum()), 2)
    res["net_value"] = round(float(frame["net_value"].sum()), 2)
    return res


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="500000,1000000", help="complaint counts, comma separated")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    ap.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--n-workers", type=int, default=2)
    ap.add_argument("--partition-rows", type=int, default=25_000)
    ap.add_argument(
        "--budget-per-complaint", type=float, default=3.9, help="budget = this x complaints"
    )
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp)")
    # child mode (internal)
    ap.add_argument("--child", choices=["single", "dask"], default=None, help=argparse.SUPPRESS)
    ap.add_argument("--complaints", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--budget", type=float, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
        return

    if a.source == DEFAULT_SOURCE and not (DEFAULT_MODELS / "LATEST").exists():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_serve import prepare

        prepare(WORLD, 50_000)
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s.replace("_", "")) for s in a.sizes.split(",")]
    rows = []
    for n in sizes:
        src = work / f"complaints_{n}.csv"
        if not src.exists():
            t = time.perf_counter()
            generate(a.source, n, src)
            print(f"generated {n} complaints in {time.perf_counter() - t:.1f}s", flush=True)
        a.budget_value = round(a.budget_per_complaint * n, 2)
        res = {}
        for kind in ("single", "dask"):
            print(f"{n}: {kind} ... (load {_load()})", flush=True)
            res[kind] = run_child(kind, src, work / f"recs_{kind}_{n}.csv", a)
            res[kind]["load"] = _load()
            print(f"  {json.dumps(res[kind])}", flush=True)
        same = all(res["single"][k] == res["dask"][k] for k in ("spend", "net_value"))
        rows.append((n, res, same))

    print()
    print("| complaints | engine | wall (s) | peak RSS (MB) | load avg after | note |")
    print("|---|---|---|---|---|---|")
    for n, res, same in rows:
        s, d = res["single"], res["dask"]
        print(f"| {n:,} | single | {s['wall_s']:.1f} | {s['peak_mb']:.0f} | {s['load']} | |")
        workers = ", ".join(f"{w:.0f}" for w in d["worker_peak_mb"])
        print(
            f"| {n:,} | dask {a.n_workers}x1 | {d['wall_s']:.1f} | driver {d['peak_mb']:.0f}; "
            f"workers {workers} | {d['load']} | {d['n_partitions']} partitions of "
            f"{a.partition_rows}; cluster start {d['cluster_start_s']:.1f}s |"
        )
        print(
            f"| {n:,} | ratio dask/single | {d['wall_s'] / s['wall_s']:.2f} | | | "
            f"outputs agree: {'yes' if same else 'NO'} |"
        )
    n_big, res_big, _ = rows[-1]
    ratio = res_big["dask"]["wall_s"] / res_big["single"]["wall_s"]
    w_small = max(rows[0][1]["dask"]["worker_peak_mb"])
    w_big = max(res_big["dask"]["worker_peak_mb"])
    growth = w_big / w_small
    ok_time = ratio <= MAX_RATIO
    ok_mem = growth <= MAX_GROWTH
    ok_same = all(same for _, _, same in rows)
    print()
    print(
        f"verdict: time on {n_big:,}: dask/single = {ratio:.2f} "
        f"({'PASS' if ok_time else 'FAIL'}, target <= {MAX_RATIO}); per-worker peak "
        f"{w_small:.0f} MB -> {w_big:.0f} MB, x{growth:.2f} ({'PASS' if ok_mem else 'FAIL'}, "
        f"target <= x{MAX_GROWTH}); outputs agree: {'PASS' if ok_same else 'FAIL'}"
    )
    sys.exit(0 if (ok_time and ok_mem and ok_same) else 1)


if __name__ == "__main__":
    main()
