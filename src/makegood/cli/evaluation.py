"""``makegood evaluate`` (registered by :mod:`makegood.cli.main`): capture against the
oracle on simulated data, or off-policy estimates of the model's policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from makegood.cli.common import Stages, fail
from makegood.errors import MakegoodError


def evaluate(
    complaints: Annotated[Path, typer.Option(help="New complaints scored (with --truth) .")] = Path(
        "data/raw/new_complaints.csv"
    ),
    catalog: Annotated[Path, typer.Option(help="Resolution catalog YAML.")] = Path(
        "data/raw/catalog.yaml"
    ),
    history: Annotated[
        Path,
        typer.Option(help="History (trains the reference policies; OPE data without --truth)."),
    ] = Path("data/raw/history.csv"),
    truth: Annotated[
        Path | None,
        typer.Option(help="Simulator truth (truth.csv): compute capture against the oracle."),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Compensation budget "
            "(default: --budget-fraction of the oracle's unconstrained spend)."
        ),
    ] = None,
    budget_fraction: Annotated[
        float, typer.Option(help="Budget as a share of the oracle's unconstrained spend.")
    ] = 0.25,
    models_dir: Annotated[
        Path, typer.Option(help="Folder of model bundles, or models:/makegood@champion.")
    ] = Path("models"),
    output: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="Log the figures to this MLflow store (the bundle's run).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Capture against the oracle on simulated data (--truth), or off-policy estimates.

    With --truth: the share of the oracle's value uplift (over all-baseline) captured by
    makegood, the naive S-learner and the standard formula at the same budget. Without:
    IPS, SNIPS and DR estimates of makegood's policy against the history's own.
    """
    try:
        with Stages(quiet) as say:
            from makegood.modeling.evaluation_runner import run_evaluation

            result = run_evaluation(
                complaints=complaints,
                catalog=catalog,
                history=history,
                truth=truth,
                budget=budget,
                budget_fraction=budget_fraction,
                models_dir=models_dir,
                tracking_uri=tracking_uri,
                progress=say,
            )
    except MakegoodError as e:
        fail(e)
    typer.echo(result.render())
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
        typer.echo(f"figures written to {output}")
