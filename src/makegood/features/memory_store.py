"""The customer memory kept for scoring: the stored history, saved and loaded, read per customer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from makegood.errors import ModelNotFoundError
from makegood.features.memory_index import MemoryIndex, memory_features, memory_frame
from makegood.features.memory_rows import POOL_COLUMNS, EarlierRows

__all__ = ["RECENT_TEXT_CHARS", "CustomerMemoryStore"]

_EPOCH = datetime(1970, 1, 1)

_OPTIONAL_POOL_COLUMNS = ("emotion", "satisfaction")
_PROFILE_COLUMNS = (
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "digital_skill",
    "prior_complaints_12m",
)
_STORE_COLUMNS = (*POOL_COLUMNS, "complaint_text", *_PROFILE_COLUMNS)
_RECENT_KEYS = (
    "complaint_id",
    "opened_at",
    "channel",
    "issue_type",
    "severity",
    "emotion",
    "resolution",
    "compensation",
    "satisfaction",
    "complaint_text",
)
RECENT_TEXT_CHARS = 200
_STORE_FORMAT = "makegood.customer_memory/1"


class CustomerMemoryStore:
    """The complaint history needed to remember customers at scoring time.

    Holds, per complaint, the columns behind the memory features plus the customer's
    profile and the opening of the complaint text, sorted by (customer, opened_at,
    complaint_id). Build it with :meth:`from_history`, persist it with :meth:`save`
    and :meth:`load` (Parquet).
    """

    def __init__(self, rows: pd.DataFrame) -> None:
        self._rows = rows
        self._earlier = EarlierRows.from_frame(rows)
        self._index = MemoryIndex(self._earlier)
        customer = self._earlier.customer_id
        self._spans: dict[str, tuple[int, int]] = {}
        if len(customer):
            starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
            ends = np.r_[starts[1:], len(customer)]
            self._spans = {
                str(customer[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)
            }
        # numpy columns: a customer's profile and recent complaints are read from these
        # per request instead of indexing the frame
        self._columns = {
            col: rows[col].to_numpy(dtype=object if rows[col].dtype == object else None)
            for col in dict.fromkeys((*_RECENT_KEYS, *_PROFILE_COLUMNS))
            if col != "opened_at"
        }
        self._columns["opened_at"] = self._earlier.opened_at

    @classmethod
    def from_history(cls, df: pd.DataFrame) -> CustomerMemoryStore:
        """Build a store from a normalized history frame (outcome columns required).

        Raises ValueError if a required column is missing.
        """
        missing = [
            c for c in (*POOL_COLUMNS, "segment") if c not in df and c not in _OPTIONAL_POOL_COLUMNS
        ]
        if missing:
            raise ValueError(f"history must have columns {missing}. Got {list(df.columns)}.")
        rows = pd.DataFrame(index=df.index)
        for col in _STORE_COLUMNS:
            rows[col] = df[col] if col in df.columns else np.nan
        text = rows["complaint_text"].astype(object).where(rows["complaint_text"].notna(), "")
        rows["complaint_text"] = text.astype(str).str.slice(0, RECENT_TEXT_CHARS)
        rows["opened_at"] = pd.to_datetime(rows["opened_at"]).astype("datetime64[ns]")
        rows = rows.drop_duplicates("complaint_id", keep="last")
        return cls(_sorted(rows))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the store to ``path`` (Parquet) atomically: temp file, then rename."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self._rows.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CustomerMemoryStore:
        """Read a store written by :meth:`save`.

        Raises ModelNotFoundError if the file is missing or lacks the store's columns.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelNotFoundError(f"customer memory table not found: {path}")
        rows = pd.read_parquet(path)
        missing = [c for c in _STORE_COLUMNS if c not in rows.columns]
        if missing:
            raise ModelNotFoundError(
                f"{path}: not a customer memory table (columns {missing} missing)"
            )
        rows["opened_at"] = pd.to_datetime(rows["opened_at"]).astype("datetime64[ns]")
        return cls(_sorted(rows[list(_STORE_COLUMNS)]))

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def n_customers(self) -> int:
        """How many distinct customers the store remembers."""
        return len(self._spans)

    def payments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(customer_id, opened_at, compensation)`` of every stored complaint, as
        recorded: what each customer was already given (the guardrails' caps count it).
        ``opened_at`` is datetime64[ns] (naive UTC); a missing amount is 0."""
        e = self._earlier
        return e.customer_id, e.opened_at.view("datetime64[ns]"), np.nan_to_num(e.compensation)

    def payments_of(self, customer_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(complaint_id, opened_at, compensation)`` of one customer's stored
        complaints (what :meth:`payments` holds for them; empty for an unknown customer)."""
        start, end = self._spans.get(customer_id, (0, 0))
        e = self._earlier
        return (
            e.complaint_id[start:end],
            e.opened_at[start:end].view("datetime64[ns]"),
            np.nan_to_num(e.compensation[start:end]),
        )

    @property
    def last_opened_at(self) -> pd.Timestamp | None:
        """The latest complaint opening in the store (None if empty)."""
        return self._rows["opened_at"].max() if len(self._rows) else None

    def features_for(self, df_new: pd.DataFrame) -> pd.DataFrame:
        """Memory features of new complaints from the stored history strictly before each.

        Exact for any opened_at, also for complaints older than part of the history.
        ``df_new``'s own rows are never used as history. Same output as
        :func:`customer_memory` with ``history`` = the stored history.
        """
        features = self.features(
            df_new["customer_id"].to_numpy(dtype=object),
            df_new["opened_at"],
            df_new["issue_type"].to_numpy(dtype=object),
        )
        return memory_frame(features, df_new.index)

    def features(
        self,
        customer_id: Sequence[Any] | np.ndarray,
        opened_at: Any,
        issue_type: Sequence[Any] | np.ndarray,
        *,
        extra: EarlierRows | None = None,
    ) -> dict[str, np.ndarray]:
        """Memory features (arrays) of complaints from the stored history, plus ``extra``
        earlier rows (e.g. contacts recorded since training) when given.

        Without ``extra`` the stored index answers directly; with it, the features come
        from :func:`memory_features` over the queried customers' stored rows and
        ``extra``: the same definition either way.
        """
        if extra is None or not len(extra):
            return self._index.query(customer_id, opened_at, issue_type)
        mine = [self.earlier(str(c)) for c in dict.fromkeys(str(c) for c in customer_id)]
        earlier = mine[0].concat(*mine[1:], extra)
        return memory_features(earlier, customer_id, opened_at, issue_type)

    def earlier(self, customer_id: str) -> EarlierRows:
        """The customer's stored complaints (none for an unknown customer)."""
        start, end = self._spans.get(customer_id, (0, 0))
        return self._earlier.take(slice(start, end))

    def recent(self, customer_id: str, n: int = 5) -> list[dict[str, Any]]:
        """The customer's ``n`` most recent complaints, newest first.

        Each is a dict with ``complaint_id, opened_at`` (datetime), ``channel,
        issue_type, severity, emotion, resolution, compensation, satisfaction`` and
        ``complaint_text`` (its first 200 characters); unknown values are None. An
        unknown customer gives ``[]``.
        """
        span = self._spans.get(customer_id)
        if n <= 0 or span is None:
            return []
        start, end = span
        return [
            {key: self._value(key, i) for key in _RECENT_KEYS}
            for i in range(end - 1, max(end - 1 - n, start - 1), -1)
        ]

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's profile as of their latest stored complaint, or None if unknown.

        Keys: ``tenure_months, annual_value, lifetime_value, segment, digital_skill,
        prior_complaints_12m`` and ``as_of`` (that complaint's opened_at).
        """
        span = self._spans.get(customer_id)
        if span is None:
            return None
        last = span[1] - 1
        out = {key: self._value(key, last) for key in _PROFILE_COLUMNS}
        out["as_of"] = self._value("opened_at", last)
        return out

    def _value(self, column: str, i: int) -> Any:
        value = self._columns[column][i]
        if column == "opened_at":
            return _EPOCH + timedelta(microseconds=int(value) // 1000)
        return _plain(value)


def _sorted(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.sort_values(
        ["customer_id", "opened_at", "complaint_id"], kind="stable"
    ).reset_index(drop=True)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value: None for missing, builtin numbers, datetimes."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        return value.item()
    return value
