"""The rule of each complaint column, vectorised: normalized values and the rows breaking it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from makegood.contract.schema import EMOTIONS, SKILLS

__all__ = ["Failure", "absent", "as_text", "check_column", "check_unique", "fail"]

# Integers beyond 2**53 are not exact in float64, and nothing in a complaint is that large.
_MAX_INT = 2.0**53
# opened_at must fit datetime64[ns].
_TS_MIN = pd.Timestamp("1677-09-22", tz="UTC")
_TS_MAX = pd.Timestamp("2262-04-11", tz="UTC")
_SHOW_CHARS = 80


@dataclass(frozen=True)
class Failure:
    """Rows breaking one rule of one column (positions ascending)."""

    column: str
    positions: np.ndarray
    rule: str
    shown: pd.Series  # the column as text, for quoting the bad value
    detail: Callable[[np.ndarray], np.ndarray] | None = None

    def messages(self, positions: np.ndarray) -> np.ndarray:
        """Messages for a subset of ``self.positions``, vectorised."""
        if self.detail is not None:
            return self.detail(positions)
        values = self.shown.iloc[positions].str.slice(0, _SHOW_CHARS)
        quoted = ("'" + values + "'").where(values.ne(""), "an empty value")
        return (self.rule + " Got " + quoted + " instead.").to_numpy(dtype=object)


def fail(column: str, bad: np.ndarray, rule: str, shown: pd.Series) -> list[Failure]:
    positions = np.flatnonzero(bad)
    return [Failure(column, positions, rule, shown)] if positions.size else []


def as_text(s: pd.Series) -> pd.Series:
    """Any column as ``str`` dtype, missing values as ""."""
    return s.astype("str").fillna("")


def _is_number_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype)


def _to_float(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, unparsable) for a column holding numbers or number text."""
    if _is_number_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        return values, missing, np.zeros(len(s), dtype=bool)
    text = as_text(s).str.strip()
    missing = text.eq("").to_numpy()
    values = _parse_floats(text)
    return values, missing, np.isnan(values) & ~missing


def _parse_floats(text: pd.Series) -> np.ndarray:
    """Stripped number text as float64; NaN where empty or not a number."""
    try:
        # Arrow's parser is ~8x faster than pd.to_numeric but all-or-nothing: it is the
        # fast path for clean columns, to_numeric finds the bad values otherwise.
        arrow = pa.array(text.where(text.ne(""), None).array)
        return pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _check_text(s: pd.Series, column: str, lower: bool) -> tuple[pd.Series, list[Failure]]:
    text = as_text(s).str.strip()
    if lower:
        text = text.str.lower()
    rule = f"{column} must be a non-empty string."
    return text, fail(column, text.eq("").to_numpy(), rule, as_text(s))


def _check_choice(
    s: pd.Series, column: str, allowed: tuple[str, ...]
) -> tuple[pd.Series, list[Failure]]:
    text = as_text(s).str.strip().str.lower()
    missing = text.eq("")
    bad = (~missing & ~text.isin(allowed)).to_numpy()
    rule = f"{column} must be empty or one of {', '.join(allowed)}."
    return text.where(~missing, np.nan), fail(column, bad, rule, as_text(s))


def _check_number(
    s: pd.Series,
    column: str,
    *,
    rule: str,
    low: float,
    high: float = np.inf,
    low_open: bool = False,
    required: bool = True,
    integer: bool = False,
) -> tuple[np.ndarray, list[Failure]]:
    values, missing, _ = _to_float(s)
    with np.errstate(invalid="ignore"):
        in_range = (values > low if low_open else values >= low) & (values <= high)
        ok = np.isfinite(values) & in_range
        if integer:
            ok &= (values == np.floor(values)) & (np.abs(values) <= _MAX_INT)
    bad = ~ok & ~missing  # unparsable text is NaN, so not ok
    if required:
        bad |= missing
    failures = fail(column, bad, rule, as_text(s))
    if integer:
        return np.where(bad | missing, 0, values).astype("int64"), failures
    return np.where(bad, np.nan, values), failures


def _check_timestamp(s: pd.Series, column: str) -> tuple[pd.Series, list[Failure]]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        stamps = s if getattr(s.dtype, "tz", None) else s.dt.tz_localize("UTC")
        stamps = stamps.dt.tz_convert("UTC")
        missing = stamps.isna().to_numpy()
        unparsable = np.zeros(len(s), dtype=bool)
    else:
        text = as_text(s).str.strip()
        missing = text.eq("").to_numpy()
        # Aware stamps are converted to UTC; naive ones are taken as UTC already.
        stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        unparsable = stamps.isna().to_numpy() & ~missing
    out_of_range = ((stamps < _TS_MIN) | (stamps > _TS_MAX)).to_numpy()
    bad = missing | unparsable | out_of_range
    rule = (
        f"{column} must be an ISO-8601 timestamp (e.g. 2024-03-01T14:30:00Z) "
        f"between {_TS_MIN:%Y-%m-%d} and {_TS_MAX:%Y-%m-%d}."
    )
    stamps = stamps.where(~bad, pd.NaT).dt.tz_localize(None).astype("datetime64[ns]")
    return stamps, fail(column, bad, rule, as_text(s))


def _check_flag(s: pd.Series, column: str) -> tuple[np.ndarray, list[Failure]]:
    if _is_number_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = as_text(s).str.strip().str.lower()
        ones, zeros = text.isin(("1", "true")).to_numpy(), text.isin(("0", "false")).to_numpy()
        values = np.where(ones, 1.0, np.where(zeros, 0.0, np.nan))
        rest = np.flatnonzero(~(ones | zeros))
        if rest.size:  # "1.0", "0.00" and the like
            values[rest] = _parse_floats(text.iloc[rest])
    bad = ~((values == 0.0) | (values == 1.0))
    rule = f"{column} must be one of 0, 1, true, false."
    return np.where(bad, 0, values).astype("int64"), fail(column, bad, rule, as_text(s))


def check_unique(
    ids: pd.Series, column: str, shown: pd.Series, row_offset: int = 0
) -> list[Failure]:
    """Second and later occurrences of a non-empty id are the bad rows."""
    duplicated = (ids.duplicated(keep="first") & ids.ne("")).to_numpy()
    if not duplicated.any():
        return []
    firsts = ids.drop_duplicates(keep="first")
    first_of = pd.Index(firsts.to_numpy())

    def detail(positions: np.ndarray) -> np.ndarray:
        values = ids.iloc[positions]
        first_rows = (
            firsts.index.to_numpy()[first_of.get_indexer(values.to_numpy())] + 1 + row_offset
        )
        text = (
            f"{column} must be unique. Got '"
            + values.str.slice(0, _SHOW_CHARS)
            + "' again (first at row "
            + pd.Series(first_rows, index=values.index).astype("str")
            + ")."
        )
        return text.to_numpy(dtype=object)

    rule = f"{column} must be unique."
    return [Failure(column, np.flatnonzero(duplicated), rule, shown, detail)]


def check_column(s: pd.Series, column: str) -> tuple[pd.Series | np.ndarray, list[Failure]]:
    """Normalized values and failures for one contract column."""
    match column:
        case "complaint_id" | "customer_id" | "resolution":
            return _check_text(s, column, lower=False)
        case "channel" | "issue_type" | "segment":
            return _check_text(s, column, lower=True)
        case "opened_at":
            return _check_timestamp(s, column)
        case "severity":
            rule = "severity must be an integer from 1 to 5."
            return _check_number(s, column, rule=rule, low=1, high=5, integer=True)
        case "tenure_months" | "prior_complaints_12m":
            rule = f"{column} must be an integer >= 0."
            return _check_number(s, column, rule=rule, low=0, integer=True)
        case "disputed_amount" | "annual_value" | "lifetime_value" | "compensation":
            rule = f"{column} must be a finite number >= 0."
            return _check_number(s, column, rule=rule, low=0)
        case "logging_propensity":
            rule = "logging_propensity must be empty or a number in (0, 1]."
            return _check_number(s, column, rule=rule, low=0, high=1, low_open=True, required=False)
        case "satisfaction":
            rule = "satisfaction must be empty or a number from 0 to 10."
            return _check_number(s, column, rule=rule, low=0, high=10, required=False)
        case "emotion":
            return _check_choice(s, column, EMOTIONS)
        case "digital_skill":
            return _check_choice(s, column, SKILLS)
        case "complaint_text":
            return as_text(s), []
        case "churned_90d":
            return _check_flag(s, column)
    raise AssertionError(f"no rule for column {column!r}")  # pragma: no cover


def absent(column: str, n_rows: int) -> pd.Series | np.ndarray:
    """The normalized value of an optional column the input left out: unknown."""
    if column == "complaint_text":
        return pd.Series([""] * n_rows, dtype="str")
    if column in ("emotion", "digital_skill"):
        return pd.Series([np.nan] * n_rows, dtype="str")
    return np.full(n_rows, np.nan)
