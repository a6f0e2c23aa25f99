"""Dates in an export, read the one way every date rule of a mapping reads them.

:func:`parse_stamps` parses one column (datetimes as stored, or text: ISO-8601 or a strftime
``format``; a value with its own offset, ``Z`` or ``+02:00``, is aware, the rest naive);
:func:`days_between` is the derived ``days_between`` column built on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ParsedStamps", "days_between", "export_text", "parse_stamps"]

# A date string with a time part ("2015-03-01T10:00", "03/01/2015 10:00").
_HAS_TIME = re.compile(r"\d[T ]+\d{1,2}:\d{2}")
# A timestamp with its own offset ("...Z", "...+02:00"): converted, not localized.
_AWARE = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$")
_TIME_DIRECTIVE = re.compile(r"%[HIMSXcT]")


def export_text(s: pd.Series) -> pd.Series:
    """An export column as stripped text, missing values as ""."""
    return s.astype("string").fillna("").str.strip().astype(object)


@dataclass(frozen=True)
class ParsedStamps:
    """One export column's values as timestamps, each row in exactly one of ``naive`` (no
    offset of its own: a local time, still to be localized) and ``utc`` (converted from its
    own offset), as marked by ``aware``; NaT where empty or unparsable. ``is_date`` marks the
    values without a time of day."""

    naive: pd.Series
    utc: pd.Series
    aware: np.ndarray
    is_date: np.ndarray

    @property
    def n_parsed(self) -> int:
        return int(self.naive.notna().sum()) + int(self.utc.notna().sum())


def parse_stamps(col: pd.Series, fmt: str | None = None) -> ParsedStamps:
    """Parse an export column (datetimes as stored, or text in ``fmt``, else ISO-8601).

    >>> p = parse_stamps(pd.Series(["2015-03-01", "2015-03-01T10:00Z", "", "soon"]))
    >>> p.naive.notna().tolist(), p.utc.notna().tolist(), p.is_date.tolist()
    ([True, False, False, False], [False, True, False, False], [True, False, True, True])
    """
    n = len(col)
    col = col.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        stamps = pd.Series(col.to_numpy(), dtype=col.dtype)
        is_aware = getattr(col.dtype, "tz", None) is not None
        local = stamps.dt.tz_localize(None) if is_aware else stamps
        # A column of datetimes holds dates when every value is at midnight.
        is_date = np.full(n, bool((local.dropna() == local.dropna().dt.normalize()).all()))
        nat = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[ns]")
        if is_aware:
            return ParsedStamps(nat, stamps.dt.tz_convert("UTC"), np.ones(n, bool), is_date)
        utc = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[ns, UTC]")
        return ParsedStamps(stamps, utc, np.zeros(n, bool), is_date)
    text = export_text(col)
    empty = text.eq("").to_numpy()
    how = fmt or "ISO8601"
    aware = text.str.contains(_AWARE).to_numpy(dtype=bool) & ~empty
    naive = pd.to_datetime(text.where(~empty & ~aware), format=how, errors="coerce")
    utc = pd.to_datetime(text.where(aware), format=how, errors="coerce", utc=True)
    if fmt is not None:
        is_date = np.full(n, not _TIME_DIRECTIVE.search(fmt))
    else:
        is_date = ~text.str.contains(_HAS_TIME).to_numpy(dtype=bool)
    return ParsedStamps(naive, utc, aware, is_date)


def days_between(start: pd.Series, end: pd.Series, fmt: str | None = None) -> pd.Series:
    """``end - start`` in days as floats (NaN where either is empty or unparsable).

    Naive values are compared as read (both columns in the same local time); a value with
    its own offset is compared in UTC, as is the other when it is naive.

    >>> days_between(pd.Series(["2015-01-02", "2015-01-01", ""]),
    ...              pd.Series(["2015-01-05", "2015-01-01T12:00", "2015-01-01"])).tolist()
    [3.0, 0.5, nan]
    """
    a, b = _as_utc(parse_stamps(start, fmt)), _as_utc(parse_stamps(end, fmt))
    return (b - a).dt.total_seconds() / 86400.0


def _as_utc(p: ParsedStamps) -> pd.Series:
    """Naive values read as UTC, aware ones converted: one comparable series."""
    return p.naive.dt.tz_localize("UTC").where(~p.aware, p.utc)
