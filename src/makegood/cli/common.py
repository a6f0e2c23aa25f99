"""What every command shares: a one-line failure on stderr with the right exit code, a
progress display of long work's stages, and the reading of an input file (a contract file,
or with ``--mapping`` the company's own export mapped on the fly)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer

from makegood.errors import ConfigError, ContractError

if TYPE_CHECKING:
    import pandas as pd

    from makegood.contract.mapping.importing import ImportResult

Kind = Literal["history", "complaints"]


def console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class Stages:
    """Prints each stage with the time it took (a progress display for long work)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.console = console()
        self.status: Any = None

    def __enter__(self) -> Stages:
        if not self.quiet:
            status = self.console.status("starting")
            status.__enter__()
            self.status = status
        return self

    def __call__(self, msg: str) -> None:
        if self.quiet:
            return
        el = time.perf_counter() - self.t0
        self.console.log(f"[{el:6.1f}s] {msg}")
        if self.status is not None:
            self.status.update(msg)

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)


def fail(err: Exception) -> None:
    """One line naming the problem on stderr; exit 2 for bad input or options, else 1."""
    msg = str(err).splitlines()[0] if str(err) else type(err).__name__
    print(f"makegood: error: {msg}", file=sys.stderr)
    if isinstance(err, ContractError) and len(err.violations) > 1:
        print(err.report(), file=sys.stderr)
    raise typer.Exit(code=2 if isinstance(err, (ContractError, ConfigError)) else 1)


def read_mapped(
    export: Path,
    mapping: Path,
    *,
    kind: Kind = "history",
    quarantine: Path | None = None,
    catalog: Any = None,
) -> ImportResult:
    """The export read through the mapping and validated (``catalog``: a path or a
    :class:`~makegood.contract.catalog.Catalog`)."""
    from makegood.contract.catalog import Catalog, load_catalog
    from makegood.contract.mapping.importing import import_export as run
    from makegood.contract.mapping.parsing import load_mapping

    cat = catalog if catalog is None or isinstance(catalog, Catalog) else load_catalog(catalog)
    return run(export, load_mapping(mapping), kind=kind, quarantine=quarantine, catalog=cat)


def read_input(
    path: Path,
    mapping: Path | None,
    *,
    kind: Kind,
    quarantine: Path | None,
    catalog: Any = None,
    say: Any = None,
) -> pd.DataFrame:
    """What ``train`` and ``recommend`` read: a contract file, or with ``mapping`` the
    company's export mapped on the fly (no intermediate file)."""
    from makegood.contract.files import read_complaints, read_history

    if mapping is None:
        if kind == "history":
            return read_history(path, quarantine=quarantine, catalog=catalog)
        return read_complaints(path, quarantine=quarantine)
    result = read_mapped(path, mapping, kind=kind, quarantine=quarantine, catalog=catalog)
    if say is not None:
        m = result.mapped
        say(
            f"mapped {m.n_read} export rows with {mapping}: {m.n_dropped} dropped, "
            f"{result.n_quarantined} quarantined, {len(result.frame)} kept"
        )
    return result.frame
