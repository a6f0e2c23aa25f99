"""Validating a complaint frame: every rule at once, one error listing all, or quarantine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from makegood.contract.checks import Failure, absent, as_text, check_column, check_unique, fail
from makegood.contract.reading import PathLike, write_frame
from makegood.contract.schema import COMPLAINT_COLUMNS, HISTORY_COLUMNS, OPTIONAL_COLUMNS
from makegood.errors import ConfigError, ContractError, Violation

if TYPE_CHECKING:
    from makegood.contract.catalog import Catalog

__all__ = ["validate_complaints", "validate_history"]


def validate_history(
    df: pd.DataFrame,
    *,
    source: str = "<frame>",
    quarantine: PathLike | None = None,
    max_errors: int = 50,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Validate and normalize an in-memory history frame (any dtypes).

    ``source`` names the frame in violations. Returns and raises as
    :func:`~makegood.contract.files.read_history`.
    Validating an already normalized frame returns an equal frame.
    """
    return _validate(
        df,
        columns=HISTORY_COLUMNS,
        source=source,
        quarantine=quarantine,
        max_errors=max_errors,
        catalog=catalog,
    )


def validate_complaints(
    df: pd.DataFrame,
    *,
    source: str = "<frame>",
    quarantine: PathLike | None = None,
    max_errors: int = 50,
    row_offset: int = 0,
) -> pd.DataFrame:
    """Validate and normalize an in-memory complaints frame (any dtypes).

    ``source`` names the frame in violations; ``row_offset`` is the number of data rows
    of ``source`` before the frame's first (a part of a larger file), so violations name
    the row in the file. Returns and raises as
    :func:`~makegood.contract.files.read_complaints`.
    """
    return _validate(
        df,
        columns=COMPLAINT_COLUMNS,
        source=source,
        quarantine=quarantine,
        max_errors=max_errors,
        catalog=None,
        row_offset=row_offset,
    )


def _missing_column_rule(column: str, present: list[str]) -> str:
    rule = "required column is missing"
    near = [c for c in present if c.strip().lower() == column and c != column]
    if near:
        rule += f" (found {near[0]!r}; column names are case-sensitive and exact)"
    return rule + "."


def _validate(
    df: pd.DataFrame,
    *,
    columns: tuple[str, ...],
    source: str,
    quarantine: PathLike | None,
    max_errors: int,
    catalog: Catalog | None,
    row_offset: int = 0,
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame. Got {type(df).__name__} instead.")
    if isinstance(max_errors, bool) or not isinstance(max_errors, int) or max_errors < 1:
        raise ConfigError(f"max_errors must be an integer >= 1. Got {max_errors!r} instead.")

    raw = df.reset_index(drop=True)
    n_rows = len(raw)
    names = [str(c) for c in raw.columns]
    file_violations: list[Violation] = []
    for name in sorted({c for c in names if names.count(c) > 1}):
        file_violations.append(
            Violation(source, None, None, name, "column appears more than once.")
        )
    for column in columns:
        if column not in raw.columns and column not in OPTIONAL_COLUMNS:
            rule = _missing_column_rule(column, names)
            file_violations.append(Violation(source, None, None, column, rule))
    if file_violations:
        # The other columns are still checked below, so one run reports everything.
        raw = raw.loc[:, ~raw.columns.duplicated()]

    normalized: dict[str, pd.Series | np.ndarray] = {}
    failures: list[Failure] = []
    for column in columns:
        if column not in raw.columns:
            if column in OPTIONAL_COLUMNS:
                normalized[column] = absent(column, n_rows)
            continue
        values, found = check_column(raw[column], column)
        normalized[column] = values
        failures.extend(found)

    ids = normalized.get("complaint_id")
    if isinstance(ids, pd.Series):
        failures.extend(check_unique(ids, "complaint_id", as_text(raw["complaint_id"]), row_offset))
    resolution = normalized.get("resolution")
    if catalog is not None and isinstance(resolution, pd.Series):
        known = list(catalog.ids)
        bad = (resolution.ne("") & ~resolution.isin(known)).to_numpy()
        rule = f"resolution must be a resolution id from the catalog ({', '.join(known)})."
        failures.extend(fail("resolution", bad, rule, as_text(raw["resolution"])))

    order = {c: i for i, c in enumerate(columns)}
    failures.sort(key=lambda f: order[f.column])  # stable: the unique rule after non-empty
    ids_text = ids if isinstance(ids, pd.Series) else None

    if file_violations or (failures and quarantine is None):
        row_violations, n_row_total = _first_violations(
            failures, source, ids_text, max_errors - len(file_violations), row_offset
        )
        violations = file_violations + row_violations
        raise ContractError(violations[:max_errors], n_total=len(file_violations) + n_row_total)

    frame = _assemble(normalized, raw, columns, n_rows)
    if not failures:
        return frame
    assert quarantine is not None
    bad_rows = _quarantine(raw, failures, quarantine)
    keep = np.ones(n_rows, dtype=bool)
    keep[bad_rows] = False
    return frame.loc[keep].reset_index(drop=True)


def _first_violations(
    failures: list[Failure],
    source: str,
    ids: pd.Series | None,
    limit: int,
    row_offset: int = 0,
) -> tuple[list[Violation], int]:
    """The first ``limit`` violations in (row, column) order, and the count of all."""
    n_total = sum(f.positions.size for f in failures)
    if limit <= 0 or not failures:
        return [], n_total
    # The first `limit` overall lie among each rule's first `limit`.
    heads = [f.positions[:limit] for f in failures]
    rows = np.concatenate(heads)
    which = np.concatenate([np.full(head.size, i) for i, head in enumerate(heads)])
    chosen = np.lexsort((which, rows))[:limit]
    violations = []
    for k in chosen:
        failure, row = failures[which[k]], int(rows[k])
        message = str(failure.messages(np.array([row]))[0])
        complaint_id = ids.iloc[row] if ids is not None else ""
        violations.append(
            Violation(source, row + 1 + row_offset, complaint_id or None, failure.column, message)
        )
    return violations, n_total


def _assemble(
    normalized: dict[str, pd.Series | np.ndarray],
    raw: pd.DataFrame,
    columns: tuple[str, ...],
    n_rows: int,
) -> pd.DataFrame:
    index = pd.RangeIndex(n_rows)
    data: dict[str, pd.Series] = {}
    for column in columns:
        values = normalized[column]
        if isinstance(values, pd.Series):
            data[column] = values.set_axis(index)
        else:
            data[column] = pd.Series(values, index=index)
    for column in raw.columns:
        if column not in data:
            data[column] = raw[column]
    return pd.DataFrame(data, index=index)


def _quarantine(raw: pd.DataFrame, failures: list[Failure], path: PathLike) -> np.ndarray:
    """Write the bad rows as read, plus an ``errors`` column; return their positions."""
    bad_rows = np.unique(np.concatenate([f.positions for f in failures]))
    errors = pd.Series("", index=bad_rows, dtype="str")
    for failure in failures:  # one vectorised pass per rule, in column order
        text = pd.Series(failure.messages(failure.positions), index=failure.positions, dtype="str")
        text = text.reindex(bad_rows, fill_value="")
        glue = np.where(errors.ne("") & text.ne(""), "; ", "")
        errors = errors + glue + text
    aside = raw.iloc[bad_rows].copy()
    aside["errors"] = errors.to_numpy()
    write_frame(aside, path)
    return bad_rows
