"""Customer memory: what the customer's own earlier complaints tell us, as of each complaint.

For a complaint of customer ``c`` opened at ``t`` every feature is computed from the
complaints of ``c`` opened *strictly before* ``t`` only (a complaint opened at the same
instant is not earlier). Nothing later can leak in: later rows, and their outcomes,
never change an earlier row's features.

Deliberate omissions and approximations:

* **No churn memory.** ``churned_90d`` of an earlier complaint is only known 90 days
  after that complaint closed, and a customer who churned rarely complains again; using
  it would mix future knowledge into training rows. It is excluded.
* **Outcomes are taken as known at the next complaint.** The contract has no closing
  time, so an earlier complaint's resolution, compensation and satisfaction are used
  for any later complaint, even one opened before the earlier one closed. At scoring
  time the history holds closed complaints only, so this matches how the features are
  used.
* Among several earlier complaints opened at the same latest instant, the "last" one is
  the one with the greatest ``complaint_id`` (so the features never depend on row order).

All work is vectorised: sort once, cumulative sums, and one ``searchsorted`` per lookup
on a composite (customer, time rank) key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from makegood.errors import ModelNotFoundError

__all__ = ["MEMORY_FEATURE_NAMES", "CustomerMemoryStore", "customer_memory"]

MEMORY_FEATURE_NAMES = (
    "mem_n_prior",
    "mem_n_prior_365d",
    "mem_days_since_last",
    "mem_last_resolution",
    "mem_last_compensation",
    "mem_total_compensation_365d",
    "mem_last_satisfaction",
    "mem_mean_satisfaction",
    "mem_n_answered",
    "mem_repeat_issue",
    "mem_n_same_issue",
    "mem_last_severity",
    "mem_last_channel",
    "mem_n_channels",
    "mem_last_emotion",
)
#: The memory features holding strings (NaN when unknown); the others are numeric.
MEMORY_CATEGORICAL_FEATURES = ("mem_last_resolution", "mem_last_channel", "mem_last_emotion")

WINDOW_DAYS = 365
_NS_PER_DAY = 86_400 * 10**9

# Columns an earlier complaint contributes (outcomes included).
_POOL_COLUMNS = (
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
_OPTIONAL_POOL_COLUMNS = ("emotion", "satisfaction")
_PROFILE_COLUMNS = (
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "digital_skill",
    "prior_complaints_12m",
)
_STORE_COLUMNS = (*_POOL_COLUMNS, "complaint_text", *_PROFILE_COLUMNS)
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


def _times_ns(values: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps as int64 nanoseconds, whatever the datetime unit of the column."""
    return np.asarray(pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")).view(np.int64)


def _is_history(df: pd.DataFrame) -> bool:
    return "resolution" in df.columns and "compensation" in df.columns


def _pool_frame(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The earlier-complaint rows of several history frames, one row per complaint_id."""
    parts = []
    for frame in frames:
        part = pd.DataFrame(index=frame.index)
        for col in _POOL_COLUMNS:
            part[col] = frame[col] if col in frame.columns else np.nan
        parts.append(part)
    if not parts:
        return pd.DataFrame({col: pd.Series(dtype=object) for col in _POOL_COLUMNS})
    pool = pd.concat(parts, ignore_index=True)
    # The same complaint in both the stored history and the frame counts once.
    return pool.drop_duplicates("complaint_id", keep="last").reset_index(drop=True)


@dataclass(frozen=True)
class _Lookup:
    """Position of the last earlier pool row for each query (``pos``; valid where ``found``)."""

    pos: np.ndarray
    found: np.ndarray


class _MemoryIndex:
    """Earlier complaints sorted by (customer, time, complaint_id) with running totals."""

    def __init__(self, pool: pd.DataFrame) -> None:
        n = len(pool)
        customer = pool["customer_id"].astype(object).to_numpy()
        self.customers = pd.Index(pd.unique(customer))
        code = self.customers.get_indexer(customer)
        t = _times_ns(pool["opened_at"]) if n else np.empty(0, dtype=np.int64)
        self.times = np.unique(t)
        self.n_times = max(len(self.times), 1)
        rank = np.searchsorted(self.times, t)
        pair_rank = rank
        cid_rank = pd.factorize(pool["complaint_id"].astype(str).to_numpy(), sort=True)[0]

        order = np.lexsort((cid_rank, rank, code))
        code, rank, t = code[order], rank[order], t[order]
        rows = pool.iloc[order].reset_index(drop=True)
        self.code = code
        self.key = code.astype(np.int64) * self.n_times + rank
        self.t = t

        grouped = pd.Series(code)
        compensation = rows["compensation"].to_numpy(dtype=np.float64)
        satisfaction = rows["satisfaction"].to_numpy(dtype=np.float64)
        answered = np.isfinite(satisfaction)
        channel = rows["channel"].astype(object).to_numpy()
        new_channel = ~pd.DataFrame({"c": code, "ch": channel}).duplicated().to_numpy()
        self.cum_n = grouped.groupby(code).cumcount().to_numpy() + 1
        self.cum_compensation = self._cumsum(np.nan_to_num(compensation), code)
        self.cum_satisfaction = self._cumsum(np.where(answered, satisfaction, 0.0), code)
        self.cum_answered = self._cumsum(answered.astype(np.float64), code)
        self.cum_channels = self._cumsum(new_channel.astype(np.float64), code)

        self.resolution = rows["resolution"].astype(object).to_numpy()
        self.compensation = compensation
        self.satisfaction = satisfaction
        self.severity = rows["severity"].to_numpy(dtype=np.float64)
        self.channel = channel
        self.emotion = rows["emotion"].astype(object).to_numpy()

        # A second ordering by (customer, issue type) counts repeats of the same issue.
        pair = _pairs(customer, pool["issue_type"].astype(object).to_numpy())
        self.pairs = pd.Index(pd.unique(pair))
        pair_code = self.pairs.get_indexer(pair)
        pair_order = np.lexsort((pair_rank, pair_code))
        self.pair_code = pair_code[pair_order]
        self.pair_key = self.pair_code.astype(np.int64) * self.n_times + pair_rank[pair_order]
        self.pair_cum_n = (
            pd.Series(self.pair_code).groupby(self.pair_code).cumcount().to_numpy() + 1
        )

    @staticmethod
    def _cumsum(values: np.ndarray, code: np.ndarray) -> np.ndarray:
        return pd.Series(values).groupby(code).cumsum().to_numpy(dtype=np.float64)

    def _last_before(
        self, keys: np.ndarray, codes: np.ndarray, group_code: np.ndarray, t_ns: np.ndarray
    ) -> _Lookup:
        """Last row of ``keys`` in the query's group with a time rank strictly before ``t_ns``.

        Rows with time < t have rank < q = #pool times < t, so the wanted row is the one
        just before ``searchsorted(keys, code * n_times + q, 'left')``: the last row of
        the previous key (ties sorted by complaint_id); it belongs to the query's group
        only if its code matches.
        """
        q = np.searchsorted(self.times, t_ns, side="left")
        pos = np.searchsorted(keys, codes.astype(np.int64) * self.n_times + q, side="left") - 1
        safe = np.clip(pos, 0, None)
        found = (codes >= 0) & (pos >= 0)
        if len(group_code):
            found &= group_code[safe] == codes
        else:
            found &= False
        return _Lookup(pos=safe, found=found)

    def query(self, df: pd.DataFrame) -> pd.DataFrame:
        """Memory features for each row of ``df`` (same index), from this pool only."""
        n = len(df)
        n_pool = len(self.t)
        customer = df["customer_id"].astype(object).to_numpy()
        codes = self.customers.get_indexer(customer) if len(self.customers) else np.full(n, -1)
        t = _times_ns(df["opened_at"]) if n else np.empty(0, dtype=np.int64)

        last = self._last_before(self.key, codes, self.code, t)
        window = self._last_before(self.key, codes, self.code, t - WINDOW_DAYS * _NS_PER_DAY)
        pair_codes = (
            self.pairs.get_indexer(_pairs(customer, df["issue_type"].astype(object).to_numpy()))
            if len(self.pairs)
            else np.full(n, -1)
        )
        same = self._last_before(self.pair_key, pair_codes, self.pair_code, t)

        def at(values: np.ndarray, lookup: _Lookup, default: float) -> np.ndarray:
            if not len(values):
                return np.full(n, default)
            return np.where(lookup.found, values[lookup.pos], default)

        def text_at(values: np.ndarray) -> pd.Series:
            out = np.full(n, np.nan, dtype=object)
            if len(values):
                out[last.found] = values[last.pos[last.found]]
            return pd.Series(out, index=df.index, dtype="str")

        n_prior = at(self.cum_n, last, 0).astype(np.int64)
        n_before_window = at(self.cum_n, window, 0).astype(np.int64)
        comp_total = at(self.cum_compensation, last, 0.0) - at(self.cum_compensation, window, 0.0)
        n_answered = at(self.cum_answered, last, 0.0)
        sat_sum = at(self.cum_satisfaction, last, 0.0)
        n_same = at(self.pair_cum_n, same, 0).astype(np.int64)
        features = {
            "mem_n_prior": n_prior,
            "mem_n_prior_365d": n_prior - n_before_window,
            "mem_days_since_last": np.where(
                last.found, (t - self.t[last.pos] if n_pool else t) / _NS_PER_DAY, np.nan
            ),
            "mem_last_resolution": text_at(self.resolution),
            "mem_last_compensation": at(self.compensation, last, np.nan),
            "mem_total_compensation_365d": np.round(comp_total, 6) + 0.0,
            "mem_last_satisfaction": at(self.satisfaction, last, np.nan),
            "mem_mean_satisfaction": np.divide(
                sat_sum, n_answered, out=np.full(n, np.nan), where=n_answered > 0
            ),
            "mem_n_answered": n_answered.astype(np.int64),
            "mem_repeat_issue": (n_same > 0).astype(np.int64),
            "mem_n_same_issue": n_same,
            "mem_last_severity": at(self.severity, last, np.nan),
            "mem_last_channel": text_at(self.channel),
            "mem_n_channels": at(self.cum_channels, last, 0.0).astype(np.int64),
            "mem_last_emotion": text_at(self.emotion),
        }
        return pd.DataFrame(features, index=df.index)[list(MEMORY_FEATURE_NAMES)]


def _pairs(customer: np.ndarray, issue: np.ndarray) -> np.ndarray:
    """One hashable key per (customer, issue type); the unit separator cannot occur in ids."""
    return (
        pd.Series(customer, dtype=object).astype(str) + "\x1f" + pd.Series(issue).astype(str)
    ).to_numpy(dtype=object)


def customer_memory(df: pd.DataFrame, *, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Memory features of each row of a normalized frame, from strictly earlier complaints.

    The earlier complaints considered are those of ``history`` (the stored training
    history, when scoring new complaints) plus, when ``df`` itself carries outcome
    columns (``resolution``, ``compensation``: a history frame), ``df``'s own rows. A
    complaint present in both counts once. For row ``i`` of customer ``c`` opened at
    ``t``, with ``E`` = earlier complaints of ``c`` opened before ``t``:

    * ``mem_n_prior`` = |E|; ``mem_n_prior_365d`` = those opened in ``[t - 365 d, t)``;
    * ``mem_days_since_last`` = ``t`` minus the latest opening in ``E``, in days (NaN if
      ``E`` is empty);
    * ``mem_last_resolution``, ``_compensation``, ``_satisfaction``, ``_severity``,
      ``_channel``, ``_emotion``: of the latest complaint in ``E`` (NaN if none, or not
      answered);
    * ``mem_total_compensation_365d`` = compensation over ``E`` in ``[t - 365 d, t)``;
    * ``mem_mean_satisfaction`` over answered complaints in ``E`` (NaN if none);
      ``mem_n_answered`` = how many answered;
    * ``mem_n_same_issue`` = complaints in ``E`` with ``i``'s issue type;
      ``mem_repeat_issue`` = 1 if that is > 0;
    * ``mem_n_channels`` = distinct channels used in ``E``.

    Returns a frame with ``df``'s index and :data:`MEMORY_FEATURE_NAMES` columns: counts
    int64, amounts/days/scores float64 (NaN = unknown), the three ``last`` labels str.

    >>> df = pd.DataFrame({
    ...     "complaint_id": ["a", "b"], "customer_id": ["c1", "c1"],
    ...     "opened_at": pd.to_datetime(["2024-01-01", "2024-01-11"]),
    ...     "channel": ["phone", "chat"], "issue_type": ["billing_error"] * 2,
    ...     "severity": [3, 4], "resolution": ["apology", "credit_25"],
    ...     "compensation": [0.0, 25.0], "satisfaction": [4.0, float("nan")]})
    >>> m = customer_memory(df)
    >>> m["mem_n_prior"].tolist(), m["mem_days_since_last"].tolist()
    ([0, 1], [nan, 10.0])
    >>> m["mem_last_resolution"].tolist(), m["mem_last_satisfaction"].tolist()
    ([nan, 'apology'], [nan, 4.0])
    """
    frames = [f for f in (history,) if f is not None]
    if _is_history(df):
        frames.append(df)
    return _MemoryIndex(_pool_frame(frames)).query(df)


class CustomerMemoryStore:
    """The complaint history needed to remember customers at scoring time.

    Holds, per complaint, the columns behind the memory features plus the customer's
    profile and the opening of the complaint text, sorted by (customer, opened_at,
    complaint_id). Build it with :meth:`from_history`, persist it with :meth:`save`
    and :meth:`load` (Parquet).
    """

    def __init__(self, rows: pd.DataFrame) -> None:
        self._rows = rows
        self._index = _MemoryIndex(rows)
        self._by_customer = pd.Index(rows["customer_id"].astype(object).to_numpy())

    @classmethod
    def from_history(cls, df: pd.DataFrame) -> CustomerMemoryStore:
        """Build a store from a normalized history frame (outcome columns required).

        Raises ValueError if a required column is missing.
        """
        missing = [
            c
            for c in (*_POOL_COLUMNS, "segment")
            if c not in df and c not in _OPTIONAL_POOL_COLUMNS
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
        return len(self._index.customers)

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
        return self._index.query(df_new)

    def _customer_rows(self, customer_id: str) -> pd.DataFrame:
        try:
            loc = self._by_customer.get_loc(customer_id)
        except KeyError:
            return self._rows.iloc[0:0]
        if isinstance(loc, slice):
            return self._rows.iloc[loc]
        if isinstance(loc, (int, np.integer)):
            return self._rows.iloc[[loc]]
        return self._rows[loc]

    def recent(self, customer_id: str, n: int = 5) -> list[dict[str, Any]]:
        """The customer's ``n`` most recent complaints, newest first.

        Each is a dict with ``complaint_id, opened_at`` (datetime), ``channel,
        issue_type, severity, emotion, resolution, compensation, satisfaction`` and
        ``complaint_text`` (its first 200 characters); unknown values are None. An
        unknown customer gives ``[]``.
        """
        rows = self._customer_rows(customer_id)
        if n <= 0 or rows.empty:
            return []
        latest = rows.iloc[::-1].iloc[:n]
        return [
            {key: _plain(row[key]) for key in _RECENT_KEYS} for row in latest.to_dict("records")
        ]

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's profile as of their latest stored complaint, or None if unknown.

        Keys: ``tenure_months, annual_value, lifetime_value, segment, digital_skill,
        prior_complaints_12m`` and ``as_of`` (that complaint's opened_at).
        """
        rows = self._customer_rows(customer_id)
        if rows.empty:
            return None
        row = rows.iloc[-1]
        out = {key: _plain(row[key]) for key in _PROFILE_COLUMNS}
        out["as_of"] = _plain(row["opened_at"])
        return out


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
