"""``makegood import``: a company's export, through a mapping file, into a contract file;
and the reading of ``train --mapping`` / ``recommend --mapping`` (the export in directly).

Heavy libraries are imported inside the functions so ``makegood --help`` stays quick."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from makegood.cli.common import Kind, Stages, fail, read_mapped
from makegood.errors import ConfigError, ContractError, MakegoodError

if TYPE_CHECKING:
    import pandas as pd


def import_export(
    export: Annotated[Path, typer.Option(help="The company's export, CSV or Parquet.")],
    mapping: Annotated[
        Path, typer.Option(help="Mapping YAML: export columns -> contract (docs/import.md).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(help="Contract file to write, .csv or .parquet (not with --dry-run)."),
    ] = None,
    catalog: Annotated[
        Path | None, typer.Option(help="Resolution catalog: resolutions must be its ids.")
    ] = None,
    new_complaints: Annotated[
        bool,
        typer.Option(
            "--new-complaints",
            help="Map complaints to score: no resolution or outcome, no row dropped.",
        ),
    ] = False,
    quarantine: Annotated[
        Path | None,
        typer.Option(help="Write rows that break the contract here and keep the rest."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Show the first rows mapped and the checks; write nothing.")
    ] = False,
    rows: Annotated[int, typer.Option(help="Rows shown by --dry-run.")] = 5,
    quiet: Annotated[bool, typer.Option(help="No progress display.")] = False,
) -> None:
    """Map a company's own export onto the contract with a mapping file.

    Example: makegood import --export complaints.csv --mapping docs/examples/cfpb.yaml
    --catalog docs/examples/cfpb_catalog.yaml --output data/interim/history.csv
    """
    kind: Kind = "complaints" if new_complaints else "history"
    try:
        if output is None and not dry_run:
            raise ConfigError("--output is required (or --dry-run to write nothing).")
        if dry_run and quarantine is not None:
            raise ConfigError("--quarantine writes a file: leave it out of a --dry-run.")
        with Stages(quiet) as say:
            from makegood.contract.files import write_frame

            say(f"reading {mapping} and {export}")
            if dry_run:
                _dry_run(export, mapping, catalog, kind, rows)
                return
            result = read_mapped(export, mapping, kind=kind, quarantine=quarantine, catalog=catalog)
            assert output is not None
            say(f"writing {len(result.frame)} rows")
            write_frame(_for_file(result.frame, output), output)
    except MakegoodError as e:
        fail(e)
    typer.echo(result.mapped.summary())
    if result.n_quarantined:
        typer.echo(f"{result.n_quarantined} rows broke the contract: set aside in {quarantine}")
    typer.echo(f"contract file  {output} ({len(result.frame)} rows)")


def _dry_run(export: Path, mapping: Path, catalog: Path | None, kind: Kind, rows: int) -> None:
    """Print the first rows mapped, the rules' counts and the contract's verdict."""
    from makegood.contract.catalog import load_catalog
    from makegood.contract.mapping.applying import apply_mapping
    from makegood.contract.mapping.importing import read_export, validate_mapped
    from makegood.contract.mapping.parsing import load_mapping
    from makegood.contract.mapping.rules import EXPORT_ROW

    m = load_mapping(mapping)
    cat = load_catalog(catalog) if catalog is not None else None
    source = str(export)
    mapped = apply_mapping(read_export(export), m, kind=kind, source=source)
    head = mapped.frame.head(max(rows, 0)).set_index(EXPORT_ROW)
    typer.echo(f"first {len(head)} rows mapped (columns: export rows):")
    typer.echo(head.T.to_string(max_colwidth=40))
    typer.echo("")
    typer.echo(mapped.summary())
    try:
        validate_mapped(mapped, kind=kind, source=source, catalog=cat)
    except ContractError as exc:
        typer.echo(f"the contract rejects the mapped rows:\n{exc.report()}")
        raise typer.Exit(code=2) from None
    typer.echo("dry run: every mapped row meets the contract; nothing written")


def _for_file(frame: pd.DataFrame, output: Path) -> pd.DataFrame:
    """opened_at as ISO-8601 UTC text in a CSV (the contract's form of a timestamp)."""
    if output.suffix.lower() != ".csv":
        return frame
    out = frame.copy()
    out["opened_at"] = out["opened_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out
