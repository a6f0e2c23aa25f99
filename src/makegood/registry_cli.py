"""``makegood models list|register|promote``: the MLflow model registry from the shell.

Registered on the main Typer app when ``makegood.cli`` imports this module; MLflow is
imported inside the commands so ``makegood --help`` stays quick.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from makegood.cli import app
from makegood.errors import MakegoodError

models_app = typer.Typer(
    name="models",
    help=(
        "Registered models in MLflow: list versions, register a training run's bundle, "
        "promote a version to an alias (default `champion`).\n\n"
        "`makegood recommend --models-dir models:/makegood@champion` then uses the "
        "champion. Typical flow: `makegood train` -> `makegood models register "
        "--promote` -> `makegood models list`."
    ),
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

TrackingUri = Annotated[
    str | None,
    typer.Option(
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///mlruns/mlflow.db)."
    ),
]
Name = Annotated[str, typer.Option(help="Registered model name.")]


def _fail(err: Exception) -> None:
    msg = str(err).splitlines()[0] if str(err) else type(err).__name__
    print(f"makegood: error: {msg}", file=sys.stderr)
    raise typer.Exit(code=1)


@models_app.command("list")
def list_(
    name: Name = "makegood",
    tracking_uri: TrackingUri = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the registered versions of a model, newest first, with aliases and metrics.

    Example: makegood models list
    """
    from makegood.modeling.registry import list_versions

    try:
        versions = list_versions(name, tracking_uri)
    except MakegoodError as e:
        _fail(e)
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
        bool, typer.Option(help="Also point the alias (--alias) at the new version.")
    ] = False,
    alias: Annotated[str, typer.Option(help="Alias set with --promote.")] = "champion",
) -> None:
    """Register a training run's model bundle as a new version in the MLflow registry.

    Example: makegood models register --promote   (the latest bundle in models/)
    """
    from makegood.modeling.registry import promote as run_promote
    from makegood.modeling.registry import register_bundle

    try:
        if run_id is None:
            run_id = _run_of_bundle(models_dir)
        version = register_bundle(run_id, tracking_uri, name)
        typer.echo(f"registered {name} version {version} (run {run_id})")
        if promote:
            run_promote(name, version, alias, tracking_uri)
            typer.echo(f"{name}@{alias} -> version {version}")
    except MakegoodError as e:
        _fail(e)


def _run_of_bundle(models_dir: Path) -> str:
    from makegood.errors import ModelNotFoundError
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
    name: Name = "makegood",
    alias: Annotated[str, typer.Option(help="Alias to point at the version.")] = "champion",
    tracking_uri: TrackingUri = None,
) -> None:
    """Point an alias (default `champion`) at a registered version.

    Example: makegood models promote --version 3
    """
    from makegood.modeling.registry import promote as run

    try:
        info = run(name, version, alias, tracking_uri)
    except MakegoodError as e:
        _fail(e)
    typer.echo(f"{name}@{alias} -> version {info.version} (bundle {info.bundle_version})")
