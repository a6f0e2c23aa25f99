"""``makegood models list|register|promote``: the MLflow model registry from the shell.

Added to the main app by :mod:`makegood.cli.main`; MLflow is
imported inside the commands so ``makegood --help`` stays quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from makegood.cli.common import fail
from makegood.contract.catalog import load_catalog
from makegood.contract.files import read_history
from makegood.errors import MakegoodError, ModelNotFoundError
from makegood.modeling.registry import list_versions, register_bundle

models_app = typer.Typer(
    name="models",
    help=(
        "Registered models in MLflow: list versions, register a training run's bundle, "
        "promote a version to an alias (default `champion`).\n\n"
        "`makegood recommend --models-dir models:/makegood@champion` then uses the "
        "champion. Typical flow: `makegood train` -> `makegood models register "
        "--promote` (the first champion) -> later `makegood models register` and "
        "`makegood models promote --version N --history newer.csv` (promoted only if not "
        "worse than the champion by off-policy value) -> `makegood models list`."
    ),
    no_args_is_help=True,
)

TrackingUri = Annotated[
    str | None,
    typer.Option(
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db)."
    ),
]
Name = Annotated[str, typer.Option(help="Registered model name.")]


@models_app.command("list")
def list_(
    name: Name = "makegood",
    tracking_uri: TrackingUri = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the registered versions of a model, newest first, with aliases and metrics.

    Example: makegood models list
    """

    try:
        versions = list_versions(name, tracking_uri)
    except MakegoodError as e:
        fail(e)
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in versions], indent=2))
        return
    if not versions:
        typer.echo(f"no registered versions of {name!r} (see `makegood models register --help`)")
        return
    typer.echo(
        f"{'version':>7s}  {'aliases':12s} {'bundle':28s} {'churn_auc':>9s} {'dr_gain':>9s}  run_id"
    )
    for v in versions:
        auc = v.metrics.get("churn_auc", float("nan"))
        gain = v.metrics.get("ope_dr_gain_per_complaint", float("nan"))
        typer.echo(
            f"{v.version:>7s}  {','.join(v.aliases) or '-':12s} {v.bundle_version or '-':28s} "
            f"{auc:9.4f} {gain:9.2f}  {v.run_id}"
        )


@models_app.command()
def register(
    run_id: Annotated[
        str | None,
        typer.Option(
            help="MLflow run of `makegood train` "
            "(default: the run of --models-dir's latest bundle)."
        ),
    ] = None,
    models_dir: Annotated[
        Path,
        typer.Option(
            help="Bundle folder whose MLflow run is registered when --run-id is not given."
        ),
    ] = Path("models"),
    name: Name = "makegood",
    tracking_uri: TrackingUri = None,
    promote: Annotated[
        bool,
        typer.Option(
            help="Also point the alias (--alias) at the new version: only when the alias "
            "is unset; to replace a champion, compare first with `makegood models promote "
            "--version N --history ...`."
        ),
    ] = False,
    alias: Annotated[str, typer.Option(help="Alias set with --promote.")] = "champion",
) -> None:
    """Register a training run's model bundle as a new version in the MLflow registry.

    Example: makegood models register --promote   (the latest bundle in models/)
    """
    from makegood.modeling.promotion import promote_if_not_worse

    try:
        if run_id is None:
            run_id = _run_of_bundle(models_dir)
        version = register_bundle(run_id, tracking_uri, name)
        typer.echo(f"registered {name} version {version} (run {run_id})")
        if promote:
            promote_if_not_worse(
                version, history=None, name=name, alias=alias, tracking_uri=tracking_uri
            )
            typer.echo(f"{name}@{alias} -> version {version}")
    except MakegoodError as e:
        fail(e)


def _run_of_bundle(models_dir: Path) -> str:
    from makegood.modeling.bundle import resolve_bundle_dir

    path = resolve_bundle_dir(models_dir)
    run_id = json.loads((path / "bundle.json").read_text()).get("mlflow_run_id")
    if not run_id:
        raise ModelNotFoundError(
            f"bundle {str(path)!r} was not logged to MLflow: train with --tracking-uri, "
            "or pass --run-id"
        )
    return str(run_id)


@models_app.command()
def promote(
    version: Annotated[str, typer.Option(help="Registered version to promote.")],
    history: Annotated[
        Path | None,
        typer.Option(
            help="Logged complaints with outcomes (contract history form) to compare the "
            "candidate with the current champion on. Only complaints opened after both "
            "models' training data count (at least 200). Needed unless there is no "
            "champion yet or --force is given."
        ),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(help="Resolution catalog YAML (default: the candidate's own catalog)."),
    ] = None,
    min_gain: Annotated[
        float,
        typer.Option(
            help="Promote only if the DR estimate of the candidate's value minus the "
            "champion's, per complaint, is at least this (point estimate; 0: not "
            "estimated worse). Raise it to demand a margin."
        ),
    ] = 0.0,
    budget: Annotated[
        float | None,
        typer.Option(help="Budget both policies get (default: what the agents spent there)."),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if the comparison says no (needs --reason).")
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option(help="Why --force overrides the comparison (recorded in MLflow)."),
    ] = None,
    name: Name = "makegood",
    alias: Annotated[str, typer.Option(help="Alias to point at the version.")] = "champion",
    tracking_uri: TrackingUri = None,
) -> None:
    """Point an alias (default `champion`) at a version, if it is not worse than the champion.

    The candidate and the current champion are compared on the SAME held-out logged
    complaints (--history): the doubly robust (DR) value of each model's policy at the
    budget the agents spent, and a paired 95% interval of the difference. The alias moves
    only if the estimated gain is >= --min-gain; otherwise the command exits with code 1
    and the alias stays. --force --reason '...' overrides; the figures, the decision and
    the reason are recorded in MLflow (run and version tags `promotion.*`, run metrics
    `promotion_*`).

    Examples:

      makegood models promote --version 3 --history data/raw/history_new.csv

      makegood models promote --version 3 --force --reason "rollback after incident 42"
    """
    from makegood.modeling.promotion import PromotionRefusedError, promote_if_not_worse

    try:
        cat = None
        if catalog is not None:
            cat = load_catalog(catalog)
        frame = read_history(history, catalog=cat) if history is not None else None
        decision = promote_if_not_worse(
            version,
            history=frame,
            catalog=cat,
            name=name,
            alias=alias,
            tracking_uri=tracking_uri,
            min_gain=min_gain,
            budget=budget,
            force=force,
            reason=reason,
            source=str(history),
        )
    except PromotionRefusedError as e:
        print(f"makegood: {e}", file=sys.stderr)
        raise typer.Exit(code=1) from None
    except MakegoodError as e:
        fail(e)
    typer.echo(decision.summary())
    typer.echo(f"{name}@{alias} -> version {version}")
