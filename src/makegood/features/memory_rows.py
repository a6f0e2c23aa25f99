"""Earlier complaints as column arrays (EarlierRows): the one form memory is computed from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["POOL_COLUMNS", "EarlierRows", "times_ns"]

# Columns an earlier complaint contributes (outcomes included).
POOL_COLUMNS = (
    "complaint_id",
    "customer_id",
    "opened_at",
    "channel",
    "issue_type",
    "severity",
    "emotion",
    "resolution",
    "compensation",
    "satisfaction",
)


def times_ns(values: Any) -> np.ndarray:
    """Timestamps as int64 nanoseconds, whatever the datetime unit of the column."""
    if isinstance(values, np.ndarray):
        if values.dtype == np.int64:
            return values
        if np.issubdtype(values.dtype, np.datetime64):
            return values.astype("datetime64[ns]").view(np.int64)
    return np.asarray(pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")).view(np.int64)


def _labels(values: Any) -> np.ndarray:
    """An object array of ``str`` labels, None where missing."""
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    return np.array(
        [v if isinstance(v, str) else (None if v is None or pd.isna(v) else str(v)) for v in arr],
        dtype=object,
    )


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class EarlierRows:
    """Earlier complaints as column arrays, in any order: what memory is computed from.

    A customer's stored history, live contacts recorded since, or a whole training
    history: all take this one form. ``opened_at`` is int64 nanoseconds (naive UTC),
    labels are object arrays of ``str`` (None when missing), amounts float64 (NaN when
    missing, e.g. an unanswered survey).
    """

    complaint_id: np.ndarray
    customer_id: np.ndarray
    opened_at: np.ndarray
    channel: np.ndarray
    issue_type: np.ndarray
    severity: np.ndarray
    emotion: np.ndarray
    resolution: np.ndarray
    compensation: np.ndarray
    satisfaction: np.ndarray

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> EarlierRows:
        """The rows of a history frame (``emotion`` and ``satisfaction`` may be absent)."""
        n = len(df)

        def col(name: str) -> Any:
            return df[name] if name in df.columns else np.full(n, np.nan, dtype=object)

        return cls(
            complaint_id=_labels(df["complaint_id"]),
            customer_id=_labels(df["customer_id"]),
            opened_at=times_ns(df["opened_at"]) if n else np.empty(0, dtype=np.int64),
            channel=_labels(df["channel"]),
            issue_type=_labels(df["issue_type"]),
            severity=_floats(df["severity"]),
            emotion=_labels(col("emotion")),
            resolution=_labels(df["resolution"]),
            compensation=_floats(df["compensation"]),
            satisfaction=_floats(col("satisfaction")),
        )

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]]) -> EarlierRows:
        """Rows from mappings with the :data:`POOL_COLUMNS` keys (``opened_at`` a
        datetime; ``emotion``, ``satisfaction`` optional)."""
        return cls.from_frame(pd.DataFrame(list(records), columns=list(POOL_COLUMNS)))

    def __len__(self) -> int:
        return int(self.opened_at.shape[0])

    def take(self, index: Any) -> EarlierRows:
        return EarlierRows(**{f: getattr(self, f)[index] for f in _ROW_FIELDS})

    def concat(self, *others: EarlierRows) -> EarlierRows:
        """These rows and ``others``'; of rows with the same complaint_id the last wins."""
        parts = [self, *(o for o in others if len(o))]
        if len(parts) == 1:
            return self
        joined = EarlierRows(
            **{f: np.concatenate([getattr(p, f) for p in parts]) for f in _ROW_FIELDS}
        )
        last: dict[Any, int] = {}
        for i, cid in enumerate(joined.complaint_id):
            last[cid] = i
        if len(last) == len(joined):
            return joined
        return joined.take(np.fromiter(sorted(last.values()), dtype=np.int64, count=len(last)))


_ROW_FIELDS = tuple(EarlierRows.__dataclass_fields__)
