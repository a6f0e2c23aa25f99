"""Reading and validating complaint files (CONTRACT.md section 1).

The one place where raw complaint data enters makegood. Every rule of the contract is
checked here, column by column and vectorised, so a million-row file validates in
seconds; everything downstream receives the *normalized* frame described in
``docs/design.md`` and trusts it.

A file either passes whole, or fails with one :class:`~makegood.errors.ContractError`
listing every violation (file, 1-based data row, complaint_id, column, rule and the bad
value). With ``quarantine=PATH`` the bad rows are set aside in a side file instead and
the good rows come back; problems with the file itself (missing column, unreadable,
empty, wrong extension) always reject it.

Beside it: the columns (:mod:`.schema`), reading and writing files (:mod:`.reading`),
the rule of each column (:mod:`.checks`), validating a frame (:mod:`.validation`) and
partitions of a file (:mod:`.parts`); every public name is importable from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from makegood.contract.parts import FilePart, plan_parts, read_complaints_part
from makegood.contract.reading import PathLike, read_frame, write_frame
from makegood.contract.schema import (
    COMPLAINT_COLUMNS,
    EMOTIONS,
    HISTORY_COLUMNS,
    OPTIONAL_COLUMNS,
    OUTCOME_COLUMNS,
    PROFILE_COLUMNS,
    SKILLS,
)
from makegood.contract.validation import validate_complaints, validate_history

if TYPE_CHECKING:
    from makegood.contract.catalog import Catalog

__all__ = [
    "PROFILE_COLUMNS",
    "COMPLAINT_COLUMNS",
    "EMOTIONS",
    "HISTORY_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTCOME_COLUMNS",
    "SKILLS",
    "FilePart",
    "plan_parts",
    "read_complaints",
    "read_complaints_part",
    "read_frame",
    "read_history",
    "validate_complaints",
    "validate_history",
    "write_frame",
]


def read_history(
    path: PathLike,
    *,
    quarantine: PathLike | None = None,
    max_errors: int = 50,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Read and validate a complaint-history file (training input).

    Args:
        path: a ``.csv`` (UTF-8, header row) or ``.parquet`` file.
        quarantine: if given, rows breaking a rule are written to this file (CSV, or
            Parquet when it ends in ``.parquet``) with an ``errors`` column, and the good
            rows are returned. No file is created when every row is good.
        max_errors: how many violations the raised error carries (all are counted).
        catalog: if given, ``resolution`` must be one of its ids.

    Returns:
        The normalized frame (see ``docs/design.md``): contract columns in contract
        order with fixed dtypes, then unknown extra columns as read; RangeIndex.

    Raises:
        ContractError: the file breaks the contract (all violations, up to
            ``max_errors``; ``n_total`` counts all). Always raised for file-level
            problems, even with ``quarantine``.
        ConfigError: ``max_errors`` < 1 or ``quarantine`` is the input file.
    """
    df = read_frame(path, quarantine)
    return validate_history(
        df, source=str(path), quarantine=quarantine, max_errors=max_errors, catalog=catalog
    )


def read_complaints(
    path: PathLike,
    *,
    quarantine: PathLike | None = None,
    max_errors: int = 50,
) -> pd.DataFrame:
    """Read and validate a file of new complaints (scoring input).

    Same as :func:`read_history` but the outcome columns (``OUTCOME_COLUMNS``) are not
    required; if present they are not validated and are kept as extra columns.

    Returns:
        The normalized complaints frame (``COMPLAINT_COLUMNS`` first, then extras).

    Raises:
        ContractError: the file breaks the contract.
        ConfigError: ``max_errors`` < 1 or ``quarantine`` is the input file.
    """
    df = read_frame(path, quarantine)
    return validate_complaints(df, source=str(path), quarantine=quarantine, max_errors=max_errors)
