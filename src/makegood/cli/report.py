"""``makegood report budget``: the finance budget-impact report from the command line.

Added to the main app by :mod:`makegood.cli.main`; heavy libraries are
imported inside the command so ``makegood --help`` stays quick.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from makegood.cli.common import Stages, fail, read_input
from makegood.contract.catalog import load_catalog, parse_catalog
from makegood.errors import BudgetError, ConfigError, MakegoodError
from makegood.scaleout import require_dask

report_app = typer.Typer(
    help="Reports for finance: what the compensation budget buys.",
    no_args_is_help=True,
)


def parse_budgets(budgets: str | None, budget_range: str | None) -> list[float] | None:
    """Budgets from ``"10000,20000"`` and/or ``"start:stop:step"`` (stop included).

    >>> parse_budgets("20000,10000", "0:10000:5000")
    [0.0, 5000.0, 10000.0, 20000.0]

    Raises:
        BudgetError: a malformed list or range.
    """
    out: set[float] = set()
    if budgets:
        for part in budgets.split(","):
            try:
                out.add(float(part.replace("_", "").strip()))
            except ValueError:
                raise BudgetError(
                    f"--budgets must be numbers separated by commas. Got {budgets!r} instead."
                ) from None
    if budget_range:
        try:
            start, stop, step = (float(x.replace("_", "")) for x in budget_range.split(":"))
        except ValueError:
            raise BudgetError(
                f"--budget-range must be START:STOP:STEP. Got {budget_range!r} instead."
            ) from None
        if step <= 0 or stop < start:
            raise BudgetError(
                f"--budget-range needs STEP > 0 and STOP >= START. Got {budget_range!r} instead."
            )
        n = int((stop - start) / step + 1e-9)
        if n > 200:
            raise BudgetError(f"--budget-range gives {n + 1} budgets; at most 201 are allowed.")
        out.update(round(start + j * step, 2) for j in range(n + 1))
    return sorted(out) if out else None


_HELP = {
    "out": "Folder for budget_report.html/.json/.*.csv/.pdf.",
    "complaints": "A forecast batch of new complaints (CSV or Parquet).",
    "history": "Complaint history: replayed without --complaints; current practice to compare.",
    "catalog": "Resolution catalog YAML (default: the model's own).",
    "models_dir": "Folder of model bundles (or one bundle).",
    "budgets": "Chosen budgets per period, comma separated, e.g. 20000,40000.",
    "budget_range": "Chosen budgets per period as START:STOP:STEP, e.g. 0:50000:5000.",
    "period": "Budget period: month, quarter, year or days:N. Budgets are amounts per period "
    "and every amount is reported per period.",
    "period_days": "Shorthand for --period days:N.",
    "period_start": "First day of the period's day-by-day plan, YYYY-MM-DD (default: the day "
    "after the history, or the batch's first day).",
    "frontier_points": "Budgets on the frontier from the minimum to the unconstrained spend.",
    "pdf": "Also write budget_report.pdf (headless Chromium, else matplotlib).",
    "engine": "'single' (the whole report) or 'dask': the efficient frontier only, from one "
    "scoring pass over partitions on a Dask cluster (budget_frontier.csv/.json).",
    "scheduler": "Dask scheduler address (--engine dask; default: a LocalCluster).",
    "n_workers": "LocalCluster worker processes (--engine dask, no --scheduler).",
    "partition_rows": "Complaints per partition (--engine dask).",
    "quiet": "No progress display.",
    "mapping": "Mapping YAML (docs/import.md): read --history and --complaints as the "
    "company's own export (--engine single).",
}


@report_app.command("budget")
def budget(
    out: Annotated[Path, typer.Option(help=_HELP["out"])] = Path("reports"),
    complaints: Annotated[Path | None, typer.Option(help=_HELP["complaints"])] = None,
    history: Annotated[Path | None, typer.Option(help=_HELP["history"])] = None,
    catalog: Annotated[Path | None, typer.Option(help=_HELP["catalog"])] = None,
    models_dir: Annotated[Path, typer.Option(help=_HELP["models_dir"])] = Path("models"),
    budgets: Annotated[str | None, typer.Option(help=_HELP["budgets"])] = None,
    budget_range: Annotated[str | None, typer.Option(help=_HELP["budget_range"])] = None,
    period: Annotated[str, typer.Option(help=_HELP["period"])] = "month",
    period_days: Annotated[int | None, typer.Option(help=_HELP["period_days"])] = None,
    period_start: Annotated[str | None, typer.Option(help=_HELP["period_start"])] = None,
    frontier_points: Annotated[int, typer.Option(help=_HELP["frontier_points"])] = 30,
    pdf: Annotated[bool, typer.Option("--pdf", help=_HELP["pdf"])] = False,
    engine: Annotated[str, typer.Option(help=_HELP["engine"])] = "single",
    scheduler: Annotated[str | None, typer.Option(help=_HELP["scheduler"])] = None,
    n_workers: Annotated[int, typer.Option(help=_HELP["n_workers"])] = 2,
    partition_rows: Annotated[int, typer.Option(help=_HELP["partition_rows"])] = 50_000,
    mapping: Annotated[Path | None, typer.Option(help=_HELP["mapping"])] = None,
    quiet: Annotated[bool, typer.Option(help=_HELP["quiet"])] = False,
) -> None:
    """Budget-impact report, per period: what each chosen budget and the recommended one buy
    against today's practice, what they save, what another $10,000 would buy, where a dollar
    stops paying, pacing through the period, and the method.

    Example: makegood report budget --history data/raw/history.csv
    --catalog data/raw/catalog.yaml --budgets 20000,40000 --period month --out reports/ --pdf
    """

    if engine not in ("single", "dask"):
        fail(ConfigError(f"--engine must be 'single' or 'dask'. Got {engine!r} instead."))
    if engine == "dask" and mapping is not None:
        fail(ConfigError("--mapping is not supported with --engine dask yet: import first."))
    if engine == "dask":
        _frontier_dask(
            out,
            complaints or history,
            catalog,
            models_dir,
            budgets,
            budget_range,
            frontier_points,
            scheduler,
            n_workers,
            partition_rows,
            quiet,
        )
        return
    try:
        with Stages(quiet) as say:
            if complaints is None and history is None:
                raise BudgetError("give --complaints (a forecast batch) or --history (replayed)")
            chosen = parse_budgets(budgets, budget_range)
            if frontier_points < 2 or frontier_points > 500:
                raise BudgetError(
                    f"--frontier-points must be in 2..500. Got {frontier_points} instead."
                )
            from makegood.reporting.pacing import BudgetPeriod

            try:
                budget_period = BudgetPeriod.parse(period)
            except BudgetError as e:
                raise BudgetError(f"--{e}") from None
            from makegood.modeling.bundle import load_bundle
            from makegood.reporting.budget import budget_report
            from makegood.reporting.export import write_report

            bundle = load_bundle(models_dir)
            if catalog is not None:
                bundle = bundle.with_catalog(load_catalog(catalog))
            say(f"model {bundle.version}")
            hist_df = None
            if history is not None:
                say(f"reading {history}")
                hist_df = read_input(
                    history, mapping, kind="history", quarantine=None, catalog=bundle.catalog
                )
                bundle.check_inputs(hist_df, source=str(history))
            if complaints is not None:
                say(f"reading {complaints}")
                df = read_input(complaints, mapping, kind="complaints", quarantine=None)
                bundle.check_inputs(df, source=str(complaints))
                source = str(complaints)
            else:
                df, source, hist_df = hist_df, str(history), None
            say(f"scoring {len(df)} complaints and building the report")
            report = budget_report(
                bundle,
                df,
                chosen,
                history_df=hist_df,
                period=budget_period,
                period_days=period_days,
                period_start=period_start,
                n_frontier=frontier_points,
                source=source,
            )
            say("writing " + ("HTML, JSON, CSV and PDF" if pdf else "HTML, JSON and CSV"))
            written = write_report(report, out, pdf=pdf)
    except MakegoodError as e:
        fail(e)
    except ValueError as e:  # e.g. an unreadable --period-start
        print(f"makegood: error: {e}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    d = report.to_dict()
    h = d["headline"]
    typer.echo(f"amounts {h['period']['per_word']}; against {h['versus']}")
    for a in h["answers"]:
        g, extra = a["gain"], a["extra"]
        kept = g["customers_kept"]
        typer.echo(
            f"{a['basis']} budget {a['budget']:,.2f}: spend {a['spend']:,.2f}, net value "
            f"{g['net_value']['value']:+,.2f} ({g['net_value']['lo']:,.2f} to "
            f"{g['net_value']['hi']:,.2f}), customers kept {kept['value']:.0f} "
            f"({kept['lo']:.0f} to {kept['hi']:.0f}); another {extra['amount']:,.0f} buys "
            f"retained value +{extra['extra_retained_value']:,.2f} and "
            f"{extra['churners_avoided']:.0f} more customers kept"
        )
    for name, path in written.items():
        typer.echo(f"{name:24s} {path}")


_PERIOD_HELP = {
    "database_url": "The service's ledger database (as `makegood serve --database-url`): "
    "sqlite:///PATH or postgresql+psycopg://...",
    "database_schema": "PostgreSQL schema of the ledger tables (as `makegood serve`).",
    "period": "Budget period, e.g. 2026-12 (default: the current month).",
    "team": "Only this team's decisions, against its budget (default: all teams).",
    "out": "Folder for period_report.html/.json/.*.csv/.pdf.",
    "currency": "Currency the catalog names money in.",
    "pdf": "Also write period_report.pdf (needs headless Chromium).",
}


@report_app.command("period")
def period(
    database_url: Annotated[str, typer.Option(help=_PERIOD_HELP["database_url"])],
    database_schema: Annotated[
        str | None, typer.Option(help=_PERIOD_HELP["database_schema"])
    ] = None,
    period: Annotated[str | None, typer.Option(help=_PERIOD_HELP["period"])] = None,
    team: Annotated[str | None, typer.Option(help=_PERIOD_HELP["team"])] = None,
    out: Annotated[Path, typer.Option(help=_PERIOD_HELP["out"])] = Path("reports"),
    currency: Annotated[str, typer.Option(help=_PERIOD_HELP["currency"])] = "USD",
    pdf: Annotated[bool, typer.Option("--pdf", help=_PERIOD_HELP["pdf"])] = False,
) -> None:
    """The live period from the service's ledger: spend committed and held by team and by
    resolution against the pacing plan, the forecast at period end with its interval, the
    overrides and what they cost, and the outcomes so far against the predictions.

    Example: makegood report period --database-url sqlite:///data/makegood.db
    --period 2026-12 --team billing --out reports/
    """

    try:
        from sqlalchemy.exc import SQLAlchemyError

        from makegood.reporting.export import write_period_report
        from makegood.reporting.period import period_report
        from makegood.store.ledger import Ledger

        with Ledger(database_url, schema=database_schema) as ledger:
            try:
                report = period_report(ledger, period, team=team, currency=currency)
            except SQLAlchemyError as e:
                raise ConfigError(
                    f"cannot read the ledger at {ledger!r}: {str(e).splitlines()[0]}"
                ) from None
        written = write_period_report(report, out, pdf=pdf)
    except MakegoodError as e:
        fail(e)
    d = report.to_dict()
    t, f = d["totals"], d["forecast"]
    typer.echo(
        f"period {d['meta']['period']} ({d['meta']['scope']}): committed {t['committed']:,.2f}, "
        f"held {t['held']:,.2f} of {d['budget']['amount']:,.2f}; plan to date "
        f"{t['plan_to_date']:,.2f}; forecast {f['expected']:,.2f} "
        f"({f['lo']:,.2f} to {f['hi']:,.2f}); {d['overrides']['n']} overrides"
    )
    for name, path in written.items():
        typer.echo(f"{name:24s} {path}")


def _frontier_dask(
    out: Path,
    complaints: Path | None,
    catalog: Path | None,
    models_dir: Path,
    budgets: str | None,
    budget_range: str | None,
    frontier_points: int,
    scheduler: str | None,
    n_workers: int,
    partition_rows: int,
    quiet: bool,
) -> None:
    """``report budget --engine dask``: the frontier from one pass over partitions."""

    try:
        with Stages(quiet) as say:
            if complaints is None:
                raise BudgetError("give --complaints (a forecast batch) or --history (replayed)")
            chosen = parse_budgets(budgets, budget_range)
            if frontier_points < 2 or frontier_points > 500:
                raise BudgetError(
                    f"--frontier-points must be in 2..500. Got {frontier_points} instead."
                )

            require_dask()
            import json

            from makegood.modeling.bundle import resolve_bundle_dir
            from makegood.scaleout.engine import connect
            from makegood.scaleout.report import frontier_dask, write_frontier

            bundle_dir = resolve_bundle_dir(models_dir)
            if catalog is not None:
                cat = load_catalog(catalog)
            else:
                meta = json.loads((bundle_dir / "bundle.json").read_text())
                cat = parse_catalog(meta["catalog"], source=str(bundle_dir / "bundle.json"))
            with connect(scheduler, n_workers) as client:
                result = frontier_dask(
                    client,
                    complaints,
                    cat,
                    bundle_dir,
                    chosen,
                    work_dir=out,
                    n_frontier=frontier_points,
                    partition_rows=partition_rows,
                    say=say,
                    show_progress=not quiet,
                )
            written = write_frontier(result, out)
    except MakegoodError as e:
        fail(e)
    for row in result.frontier:
        if row["chosen"]:
            typer.echo(
                f"budget {row['budget']:,.2f}: spend {row['spend']:,.2f}, retained value "
                f"{row['retained_value']:,.2f}, net value {row['net_value']:,.2f}, "
                f"shadow price {row['shadow_price']}"
            )
    for name, path in written.items():
        typer.echo(f"{name:24s} {path}")
