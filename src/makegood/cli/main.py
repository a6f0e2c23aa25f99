"""The ``makegood`` command line (Typer). Heavy libraries are imported inside commands
so ``makegood --help`` stays quick."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from makegood.cli.common import Stages, fail, read_input
from makegood.cli.evaluation import evaluate
from makegood.cli.fairness import fairness
from makegood.cli.importing import import_export
from makegood.cli.registry import models_app
from makegood.cli.report import report_app
from makegood.cli.serve import db_app, export_history, serve
from makegood.contract.catalog import Catalog, load_catalog
from makegood.contract.files import write_frame
from makegood.errors import BudgetError, ConfigError, MakegoodError
from makegood.modeling.registry import resolve_models_dir
from makegood.policy.guardrails import Spent
from makegood.scaleout import require_dask
from makegood.sim.world import simulate as simulate_world
from makegood.sim.world import write_world

app = typer.Typer(
    name="makegood",
    help=(
        "Recommend the complaint resolution with the best net value for each customer, "
        "under a compensation budget.\n\n"
        "Typical flow: `makegood simulate` (sample data) -> `makegood train` -> "
        "`makegood recommend` -> `makegood evaluate`. See README.md and "
        "../shared/CONTRACT.md for the file formats."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def simulate(
    out: Annotated[
        Path,
        typer.Option(help="Folder for history.csv, new_complaints.csv, catalog.yaml, truth.csv."),
    ] = Path("data/raw"),
    n: Annotated[int, typer.Option(help="Closed complaints in the history.")] = 50_000,
    n_new: Annotated[
        int | None, typer.Option(help="New complaints to score (default n/5).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same world.")] = 0,
    log_propensity: Annotated[
        bool, typer.Option(help="Fill logging_propensity with the agents' true choice probability.")
    ] = False,
) -> None:
    """Write a synthetic complaint world with known ground truth (demo and test data).

    Example: makegood simulate --n 50000 --seed 0 --out data/raw/
    """
    try:
        with Stages() as say:
            say(f"simulating {n} complaints (seed {seed})")
            world = simulate_world(n, n_new=n_new, seed=seed, log_propensity=log_propensity)
            paths = write_world(world, out)
            say(f"history: {len(world.history)} rows, new complaints: {len(world.complaints)}")
    except MakegoodError as e:
        fail(e)
    for name, p in paths.items():
        typer.echo(f"{name:14s} {p}")


@app.command()
def train(
    history: Annotated[
        Path, typer.Option(help="Closed complaints, CSV or Parquet (CONTRACT.md section 1).")
    ],
    catalog: Annotated[Path, typer.Option(help="Resolution catalog YAML (CONTRACT.md section 2).")],
    models_dir: Annotated[
        Path, typer.Option(help="Where the versioned model bundle is written.")
    ] = Path("models"),
    tracking_uri: Annotated[
        str, typer.Option(help="MLflow tracking URI, e.g. sqlite:///runs/mlflow.db.")
    ] = "sqlite:///mlruns/mlflow.db",
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Write bad rows here and train on the rest (default: reject the whole file)."
        ),
    ] = None,
    holdout_fraction: Annotated[
        float, typer.Option(help="Latest share of complaints held out for metrics.")
    ] = 0.2,
    n_estimators: Annotated[int, typer.Option(help="Trees per outcome model.")] = 300,
    learning_rate: Annotated[float, typer.Option(help="LightGBM learning rate.")] = 0.05,
    num_leaves: Annotated[int, typer.Option(help="LightGBM leaves per tree.")] = 31,
    n_folds: Annotated[
        int,
        typer.Option(
            help="Cross-fitting folds (also the jackknife for intervals); 0: auto, 8 below "
            "15,000 history rows (more data per fold model and a larger ensemble), else 4 "
            "(with 0, below 30,000 rows the trees' size is chosen too; see --select)."
        ),
    ] = 0,
    select: Annotated[
        bool,
        typer.Option(
            help="On a history below 30,000 rows with --n-folds 0, choose the trees' size "
            "among a few candidates by cross-validated doubly robust policy "
            "value on the logged complaints (each candidate is one more fit); only settings "
            "left at their defaults are varied."
        ),
    ] = True,
    text: Annotated[bool, typer.Option(help="Learn signals from complaint_text.")] = True,
    memory: Annotated[bool, typer.Option(help="Use the customer's earlier complaints.")] = True,
    intents: Annotated[
        bool,
        typer.Option(
            help="On a history below 30,000 rows, read how strongly the words voice each "
            "intent (the shipped intent detector) as model inputs."
        ),
    ] = True,
    mediated: Annotated[
        bool, typer.Option(help="Model churn through predicted satisfaction.")
    ] = True,
    pooled: Annotated[
        bool,
        typer.Option(
            help="Model satisfaction as a linear layer that pulls each resolution's "
            "effects towards the others' and along a few shared directions (the pull and "
            "the number of directions chosen by the folds' validation error) plus trees "
            "on top: steadier effects on a small history."
        ),
    ] = True,
    dr_correction: Annotated[
        bool, typer.Option(help="Doubly robust correction of each resolution's average effect.")
    ] = True,
    threads: Annotated[int, typer.Option(help="LightGBM threads (0: all cores).")] = 0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "makegood",
    run_name: Annotated[
        str | None, typer.Option(help="MLflow run name (default: the bundle version).")
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="Mapping YAML (docs/import.md): read --history as the company's own export."
        ),
    ] = None,
    protected: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated columns the models must never read (e.g. segment,age_band): "
            "left out of every model input with what is derived from them, and kept in the "
            "bundle for `makegood report fairness`."
        ),
    ] = None,
    feature_columns: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated name:kind of the history's own extra columns to read as "
            "model inputs (kind: category, number or text), e.g. product:category,region:"
            "category. Only columns known when the complaint arrives: one recorded after the "
            "resolution would leak the outcome. With --mapping, its features: section."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Fit satisfaction, churn and propensity models; log to MLflow; write a model bundle.

    Example: makegood train --history data/raw/history.csv --catalog data/raw/catalog.yaml
    """
    try:
        with Stages(quiet) as say:
            say("importing models")
            from makegood.modeling.engine import EngineParams
            from makegood.modeling.train import check_params
            from makegood.modeling.train import train as run

            params = check_params(
                EngineParams(
                    n_estimators=n_estimators,
                    learning_rate=learning_rate,
                    num_leaves=num_leaves,
                    n_folds=n_folds,
                    use_text=text,
                    use_memory=memory,
                    use_intents=intents,
                    mediated=mediated,
                    pooled=pooled,
                    dr_correction=dr_correction,
                    num_threads=threads,
                    random_state=seed,
                    select=select,
                    protected=tuple(c.strip() for c in (protected or "").split(",") if c.strip()),
                ),
                holdout_fraction,
            )  # before the history is read: a bad option fails at once
            from makegood.contract.features import parse_feature_columns

            declared = parse_feature_columns(feature_columns)
            if mapping is not None:
                from makegood.contract.mapping.parsing import load_mapping

                declared = load_mapping(mapping).features | declared
            cat = load_catalog(catalog)
            say(f"reading {history}")
            df = read_input(
                history, mapping, kind="history", quarantine=quarantine, catalog=cat, say=say
            )
            res = run(
                df,
                cat,
                params=params,
                holdout_fraction=holdout_fraction,
                models_dir=models_dir,
                tracking_uri=tracking_uri,
                experiment=experiment,
                run_name=run_name,
                source=str(history),
                progress=say,
                features=declared,
            )
    except MakegoodError as e:
        fail(e)
    m = res.metrics
    typer.echo(f"model bundle   {res.bundle_path}")
    typer.echo(f"mlflow run     {res.run_id} ({tracking_uri})")
    if "selection" in res.bundle.meta:  # the settings chosen per history (modeling/selection.py)
        typer.echo(f"settings       {res.bundle.meta['selection']}")
    for k in ("churn_auc", "churn_brier", "churn_ece", "sat_rmse", "ope_dr_gain_per_complaint"):
        if k in m:
            typer.echo(f"{k:22s} {m[k]:.4f}")
    support = res.bundle.meta.get("log_support")
    if support:
        from makegood.modeling.support import LogSupport

        typer.echo("what the log supports (cross-fitted predictions on the history):")
        for line in LogSupport.from_dict(support).lines():
            typer.echo(f"  {line}")
    typer.echo(f"trained in {res.timings.get('total_s', 0):.1f}s")


@app.command()
def recommend(
    complaints: Annotated[Path, typer.Option(help="New complaints, CSV or Parquet.")],
    catalog: Annotated[Path, typer.Option(help="Resolution catalog YAML.")],
    budget: Annotated[float, typer.Option(help="Total compensation budget for this batch.")],
    output: Annotated[Path, typer.Option(help="CSV of the chosen resolution per complaint.")],
    models_dir: Annotated[
        Path,
        typer.Option(
            help="Folder of model bundles, one bundle, or a registry URI such as "
            "models:/makegood@champion."
        ),
    ] = Path("models"),
    rankings: Annotated[
        Path | None,
        typer.Option(
            help="JSON-lines file of each complaint's full ranking "
            "(default: <output>.rankings.jsonl)."
        ),
    ] = None,
    conservative: Annotated[
        bool, typer.Option(help="Rank by the lower end of each net value's 95% interval.")
    ] = False,
    quarantine: Annotated[
        Path | None, typer.Option(help="Write bad rows here and score the rest.")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="'single' (one process, the default) or 'dask' (partitions on a Dask "
            "cluster; needs pip install 'makegood[dask]'). Same allocation either way."
        ),
    ] = "single",
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (--engine dask; "
            "default: a LocalCluster on this machine)."
        ),
    ] = None,
    n_workers: Annotated[
        int, typer.Option(help="LocalCluster worker processes (--engine dask, no --scheduler).")
    ] = 2,
    partition_rows: Annotated[
        int,
        typer.Option(help="Complaints per partition (--engine dask): bounds each worker's memory."),
    ] = 50_000,
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="Mapping YAML (docs/import.md): read --complaints as the company's own export."
        ),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            help="Closed complaints (CONTRACT.md section 1): what each customer was already "
            "given, counted by the catalog's per-customer caps (default: the history the "
            "model was trained on)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Choose one eligible resolution per complaint, maximising net value under the budget.

    Example: makegood recommend --complaints data/raw/new_complaints.csv
    --catalog data/raw/catalog.yaml --budget 20000 --output data/processed/recs.csv

    On a Dask cluster: add --engine dask (a LocalCluster of --n-workers processes) or
    --engine dask --scheduler tcp://HOST:8786. --complaints may then also be a folder of
    Parquet files, and --output a folder (ending in /) for Parquet parts.
    """
    if engine not in ("single", "dask"):
        fail(ConfigError(f"--engine must be 'single' or 'dask'. Got {engine!r} instead."))
    if engine == "dask" and mapping is not None:
        fail(ConfigError("--mapping is not supported with --engine dask yet: import first."))
    if engine == "dask":
        _recommend_dask(
            complaints,
            catalog,
            budget,
            output,
            models_dir,
            rankings,
            conservative,
            quarantine,
            scheduler,
            n_workers,
            partition_rows,
            history,
            quiet,
        )
        return
    try:
        with Stages(quiet) as say:
            import math

            from makegood.modeling.bundle import load_bundle
            from makegood.modeling.predict import recommend as run
            from makegood.modeling.predict import write_rankings

            if not math.isfinite(budget) or budget < 0:
                raise BudgetError(f"--budget must be a finite amount >= 0. Got {budget} instead.")
            cat = load_catalog(catalog)

            bundle = load_bundle(resolve_models_dir(models_dir)).with_catalog(cat)
            say(f"model {bundle.version}; reading {complaints}")
            df = read_input(complaints, mapping, kind="complaints", quarantine=quarantine, say=say)
            bundle.check_inputs(df, source=str(complaints))
            spent = _spent(history, cat, say)
            say(f"scoring {len(df)} complaints x {len(cat.ids)} resolutions")
            recs = run(bundle, df, budget, conservative=conservative, spent=spent)
            output.parent.mkdir(parents=True, exist_ok=True)
            write_frame(recs.frame, output)
            rank_path = rankings or output.with_name(output.stem + ".rankings.jsonl")
            write_rankings(recs, rank_path)
    except MakegoodError as e:
        fail(e)
    a = recs.allocation
    typer.echo(f"recommendations {output}")
    typer.echo(f"rankings        {rank_path}")
    typer.echo(
        f"spend {recs.frame['compensation'].sum():.2f} of budget {budget:.2f}; "
        f"expected net value {recs.frame['net_value'].sum():.2f}; shadow price {a.shadow_price:.4f}"
    )


def _spent(history: Path | None, cat: Catalog, say: Stages) -> Spent | None:
    """What customers were already given, from ``--history`` (None: the bundle's own)."""
    if history is None or not cat.caps:
        return None
    from makegood.modeling.predict import spent_in

    say(f"reading {history} (what each customer was already given)")
    return spent_in(read_input(history, None, kind="history", quarantine=None, say=say))


def _recommend_dask(
    complaints: Path,
    catalog: Path,
    budget: float,
    output: Path,
    models_dir: Path,
    rankings: Path | None,
    conservative: bool,
    quarantine: Path | None,
    scheduler: str | None,
    n_workers: int,
    partition_rows: int,
    history: Path | None,
    quiet: bool,
) -> None:
    """``recommend --engine dask``: the same allocation, by partitions on a cluster."""
    try:
        with Stages(quiet) as say:
            import math

            from makegood.modeling.bundle import resolve_bundle_dir

            require_dask()
            from makegood.scaleout.engine import connect, recommend_dask

            if quarantine is not None:
                raise ConfigError("--quarantine is not supported with --engine dask yet")
            if not math.isfinite(budget) or budget < 0:
                raise BudgetError(f"--budget must be a finite amount >= 0. Got {budget} instead.")
            if partition_rows < 1:
                raise ConfigError(f"--partition-rows must be >= 1. Got {partition_rows} instead.")
            cat = load_catalog(catalog)
            bundle_dir = resolve_bundle_dir(resolve_models_dir(models_dir))
            spent = _spent(history, cat, say)
            where = scheduler or f"a LocalCluster of {n_workers} workers"
            say(f"model {bundle_dir.name}; connecting to {where}")
            with connect(scheduler, n_workers) as client:
                run = recommend_dask(
                    client,
                    complaints,
                    cat,
                    bundle_dir,
                    budget,
                    output,
                    rankings=rankings,
                    conservative=conservative,
                    partition_rows=partition_rows,
                    spent=spent,
                    say=say,
                    show_progress=not quiet,
                )
    except MakegoodError as e:
        fail(e)
    typer.echo(f"recommendations {run.output}")
    typer.echo(f"rankings        {run.rankings}")
    typer.echo(
        f"spend {run.written_compensation:.2f} of budget {budget:.2f}; "
        f"expected net value {run.written_net_value:.2f}; shadow price {run.shadow_price:.4f}"
    )


# The outer layers' commands live beside this module; they are registered here, explicitly
# (each imports its heavy dependencies inside the command).
app.command()(serve)
app.command()(evaluate)
app.command("import")(import_export)
app.command("export-history")(export_history)
app.add_typer(db_app, name="db")
report_app.command("fairness")(fairness)
app.add_typer(report_app, name="report")
app.add_typer(models_app, name="models")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
