"""``makegood report fairness``: the fairness audit from the command line (issue 26).

Registered on the ``report`` group by :mod:`makegood.cli.main`; heavy libraries are
imported inside the command so ``makegood --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from makegood.cli.common import Stages, fail
from makegood.contract.catalog import load_catalog
from makegood.errors import MakegoodError


def _names(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def fairness(
    history: Annotated[
        Path, typer.Option(help="Closed complaints (today's practice), CSV or Parquet.")
    ],
    complaints: Annotated[Path, typer.Option(help="New complaints makegood recommends for.")],
    catalog: Annotated[Path, typer.Option(help="Resolution catalog YAML (guardrails included).")],
    groups: Annotated[
        str,
        typer.Option(
            help="Comma-separated groups: any column of the files (segment, channel, "
            "digital_skill, region, ...) or tenure_band (a band of tenure_months)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder for fairness_report.{html,json,csv}.")],
    models_dir: Annotated[
        Path, typer.Option(help="Folder of model bundles, one bundle, or a registry URI.")
    ] = Path("models"),
    budget: Annotated[
        float | None,
        typer.Option(
            help="Makegood's budget for --complaints (default: today's spend per complaint "
            "in the history, times the number of complaints)."
        ),
    ] = None,
    protected: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated columns to check besides those the model was trained "
            "not to read (train --protected)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Who receives compensation, by group, under makegood and today's practice; what a
    consistent rule would cost; what the protected columns travel with.

    Example: makegood report fairness --history data/raw/history.csv
    --complaints data/raw/new_complaints.csv --catalog data/raw/catalog.yaml
    --groups segment,channel,digital_skill,tenure_band --out reports/fairness
    """
    try:
        with Stages(quiet) as say:
            from makegood.contract.files import read_complaints, read_history
            from makegood.modeling.bundle import load_bundle
            from makegood.modeling.registry import resolve_models_dir
            from makegood.reporting.fairness import fairness_audit, write_fairness

            cat = load_catalog(catalog)
            bundle = load_bundle(resolve_models_dir(models_dir)).with_catalog(cat)
            say(f"model {bundle.version}; reading {history} and {complaints}")
            hist = read_history(history, catalog=cat)
            new = read_complaints(complaints)
            say("scoring both policies by group")
            report = fairness_audit(
                bundle,
                hist,
                new,
                _names(groups),
                budget=budget,
                protected=_names(protected),
                sources=(str(history), str(complaints)),
            )
            paths = write_fairness(report, out)
    except MakegoodError as e:
        fail(e)
    for name, p in paths.items():
        typer.echo(f"{name:5s} {p}")
    for line in report.to_dict()["findings"]:
        typer.echo(f"- {line}")
