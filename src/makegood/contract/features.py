"""Declared model inputs: a company's own columns that the models may read (issue 24).

Declared, never guessed: a mapping's ``features:`` section or ``train --feature-columns
name:kind,...`` names each extra column and its kind, ``category``, ``number`` or ``text``.
A column recorded after the resolution would carry the answer, so an outcome column is
refused by name; a contract column is already a model input.

:func:`parse_feature_columns` reads the option's text, :func:`check_declared` the names and
kinds, :func:`check_feature_values` a frame's values of the declared columns (a ``number``
column must hold numbers or be empty), with the errors of the rest of the contract.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from makegood.contract.schema import HISTORY_COLUMNS, OUTCOME_COLUMNS
from makegood.errors import ContractError, InvalidParameterError, Violation

__all__ = [
    "FEATURE_KINDS",
    "check_declared",
    "check_feature_values",
    "declared_problem",
    "number_or_nan",
    "parse_feature_columns",
]

FEATURE_KINDS: tuple[str, ...] = ("category", "number", "text")


def declared_problem(name: str, kind: object) -> str | None:
    """Why ``name: kind`` cannot be a declared model input (None when it can).

    >>> declared_problem("company", "category") is None
    True
    >>> declared_problem("churned_90d", "number")
    'an outcome column cannot be a model input (it is known only after the resolution)'
    """
    if not isinstance(name, str) or not name.strip():
        return "a column name must be non-empty text"
    if kind not in FEATURE_KINDS:
        return f"kind must be one of {', '.join(FEATURE_KINDS)}. Got {kind!r} instead"
    if name in OUTCOME_COLUMNS:
        return "an outcome column cannot be a model input (it is known only after the resolution)"
    if name in HISTORY_COLUMNS:
        return "a contract column, already a model input"
    return None


def check_declared(features: Mapping[str, Any]) -> dict[str, str]:
    """``features`` (column -> kind) as a plain dict if every entry may be a model input.

    Raises:
        InvalidParameterError: naming the first column that breaks a rule
            (:func:`declared_problem`), e.g. ``feature_columns['resolution'] must be ...``.
    """
    out: dict[str, str] = {}
    for name, kind in features.items():
        problem = declared_problem(name, kind)
        if problem is not None:
            raise InvalidParameterError(f"feature_columns[{name!r}]", problem, kind)
        out[str(name)] = str(kind)
    return out


def parse_feature_columns(text: str | None) -> dict[str, str]:
    """``"company:category,amount:number"`` as ``{"company": "category", "amount": "number"}``.

    >>> parse_feature_columns(" product:category, amount : number ")
    {'product': 'category', 'amount': 'number'}

    Raises:
        InvalidParameterError: an item without ``:``, a repeated column, or a column that
            :func:`check_declared` refuses.
    """
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, sep, kind = item.rpartition(":")
        name, kind = name.strip(), kind.strip()
        if not sep or not name:
            raise InvalidParameterError(
                "--feature-columns", "a comma-separated list of name:kind", item.strip()
            )
        if name in out:
            raise InvalidParameterError("--feature-columns", "each column once", name)
        out[name] = kind
    return check_declared(out)


def number_or_nan(value: Any) -> float | None:
    """A declared ``number`` value as a float (NaN when empty), or None when it is not one.

    >>> number_or_nan(" 12.5"), number_or_nan(""), number_or_nan(3), number_or_nan("abc")
    (12.5, nan, 3.0, None)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = str(value).strip()
    if not text:
        return math.nan
    try:
        out = float(text)
    except ValueError:
        return None
    return out if math.isfinite(out) or math.isnan(out) else None


def check_feature_values(
    frame: pd.DataFrame,
    features: Mapping[str, str],
    *,
    source: str,
    required: bool = True,
    row_offset: int = 0,
    max_errors: int = 20,
) -> None:
    """Refuse a frame whose declared columns are absent (when ``required``: training) or,
    for ``number``, hold something else than numbers. New complaints may lack a declared
    column: it is missing for all of them. ``row_offset`` counts the file's rows before
    the frame (a part of a file).

    Raises:
        ContractError: naming the file, the row (1-based), the complaint_id, the column and
            the rule, for every broken row (the first ``max_errors`` listed).
    """
    violations: list[Violation] = []
    n_total = 0
    for name, kind in features.items():
        if name not in frame.columns:
            if required:
                violations.append(
                    Violation(source, None, None, name, "declared model input (feature) is missing")
                )
                n_total += 1
            continue
        if kind != "number":
            continue
        values = frame[name].to_numpy(dtype=object)
        bad = np.flatnonzero([number_or_nan(v) is None for v in values])
        n_total += len(bad)
        ids = frame["complaint_id"] if "complaint_id" in frame.columns else None
        for row in bad[: max(0, max_errors - len(violations))]:
            violations.append(
                Violation(
                    source,
                    int(row) + 1 + row_offset,
                    None if ids is None else str(ids.iloc[row]),
                    name,
                    f"a declared number feature must be a number or empty. Got {values[row]!r}",
                )
            )
    if violations:
        raise ContractError(violations, n_total=n_total)
