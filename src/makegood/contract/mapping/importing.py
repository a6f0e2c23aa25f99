"""Importing an export: :func:`import_export` reads it, applies the mapping and validates
the result with :mod:`makegood.contract.files` (the one place the contract's rules live), so
a bad row is named by the export file, its row there and the export column."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from makegood.contract.files import read_frame, validate_complaints, validate_history
from makegood.contract.mapping.applying import MappedExport, apply_mapping
from makegood.contract.mapping.rules import EXPORT_ROW, ColumnMapping, Kind
from makegood.errors import ContractError

__all__ = ["ImportResult", "import_export", "read_export", "validate_mapped"]

PathLike = str | os.PathLike[str]


@dataclass
class ImportResult:
    """A validated import: the normalized contract frame and how it was mapped."""

    frame: pd.DataFrame
    mapped: MappedExport
    n_quarantined: int = 0


def read_export(path: PathLike, quarantine: PathLike | None = None) -> pd.DataFrame:
    """An export file (CSV read as text, or Parquet) as read, before any mapping.

    Raises:
        ContractError: missing, empty or unreadable file, or not .csv/.parquet.
        ConfigError: ``quarantine`` is the export itself.
    """
    return read_frame(path, quarantine)


def import_export(
    path: PathLike,
    mapping: ColumnMapping,
    *,
    kind: Kind = "history",
    quarantine: PathLike | None = None,
    catalog: Any = None,
    max_errors: int = 50,
) -> ImportResult:
    """Read an export (CSV or Parquet), map it and validate it as the contract says.

    Args:
        path: the export file.
        mapping: from :func:`load_mapping`.
        kind: ``history`` (closed complaints) or ``complaints`` (new ones to score).
        quarantine: set rows that break the contract aside in this file (the mapped
            values, their :data:`EXPORT_ROW` and an ``errors`` column) and keep the rest.
        catalog: a :class:`~makegood.contract.catalog.Catalog`; resolutions must be its ids.

    Returns:
        The :class:`ImportResult`; its frame is what ``read_history`` (or
        ``read_complaints``) returns for a contract file, extra columns included.

    Raises:
        ContractError: the export or a mapped row breaks a rule; violations name the
            export, its data row and ``export column -> contract column``.
        ConfigError: as :func:`~makegood.contract.files.read_history`.
    """
    source = str(path)
    mapped = apply_mapping(read_export(path, quarantine), mapping, kind=kind, source=source)
    return validate_mapped(
        mapped,
        kind=kind,
        source=source,
        quarantine=quarantine,
        catalog=catalog,
        max_errors=max_errors,
    )


def validate_mapped(
    mapped: MappedExport,
    *,
    kind: Kind = "history",
    source: str = "<export>",
    quarantine: PathLike | None = None,
    catalog: Any = None,
    max_errors: int = 50,
) -> ImportResult:
    """Validate a mapped export with :mod:`makegood.contract.files`; returns and raises as
    :func:`import_export`."""
    validate = validate_history if kind == "history" else validate_complaints
    options: dict[str, Any] = {"catalog": catalog} if kind == "history" else {}
    try:
        frame = validate(
            mapped.frame, source=source, quarantine=quarantine, max_errors=max_errors, **options
        )
    except ContractError as exc:
        raise _in_export_terms(exc, mapped) from None
    n_quarantined = len(mapped.frame) - len(frame)
    return ImportResult(frame.drop(columns=[EXPORT_ROW]), mapped, n_quarantined)


def _in_export_terms(exc: ContractError, mapped: MappedExport) -> ContractError:
    """The violations with the export's row numbers and column names."""
    rows = mapped.frame[EXPORT_ROW].to_numpy()
    out = []
    for v in exc.violations:
        row = int(rows[v.row - 1]) if v.row is not None else None
        column = v.column
        if column in mapped.origin and mapped.origin[column] != column:
            column = f"{mapped.origin[column]} -> {column}"
        out.append(replace(v, row=row, column=column))
    return ContractError(out, n_total=exc.n_total)
