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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
_EPOCH = datetime(1970, 1, 1)
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


def _times_ns(values: Any) -> np.ndarray:
    """Timestamps as int64 nanoseconds, whatever the datetime unit of the column."""
    if isinstance(values, np.ndarray):
        if values.dtype == np.int64:
            return values
        if np.issubdtype(values.dtype, np.datetime64):
            return values.astype("datetime64[ns]").view(np.int64)
    return np.asarray(pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")).view(np.int64)


def _is_history(df: pd.DataFrame) -> bool:
    return "resolution" in df.columns and "compensation" in df.columns


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
            opened_at=_times_ns(df["opened_at"]) if n else np.empty(0, dtype=np.int64),
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
        """Rows from mappings with the :data:`_POOL_COLUMNS` keys (``opened_at`` a
        datetime; ``emotion``, ``satisfaction`` optional)."""
        return cls.from_frame(pd.DataFrame(list(records), columns=list(_POOL_COLUMNS)))

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


def _group_cumsum(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at each group's first row (``start[i]``:
    index of row i's group's first row; rows grouped contiguously)."""
    cs = np.cumsum(values, dtype=np.longdouble)
    before = np.where(start > 0, cs[np.maximum(start - 1, 0)], 0.0)
    return (cs - before).astype(np.float64)


def _group_starts(code: np.ndarray) -> np.ndarray:
    n = code.shape[0]
    first = np.ones(n, dtype=bool)
    first[1:] = code[1:] != code[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


class MemoryIndex:
    """Earlier complaints sorted by (customer, time, complaint_id) with running totals.

    Built once over a whole history for a batch (or over one customer's rows plus live
    contacts for a single complaint); :meth:`query` answers any number of complaints
    with one ``searchsorted`` per look-up on a composite (customer, time rank) key.
    """

    def __init__(self, rows: EarlierRows) -> None:
        n = len(rows)
        customers, code = np.unique(rows.customer_id.astype(str), return_inverse=True)
        self._customer_code = {c: i for i, c in enumerate(customers.tolist())}
        t = rows.opened_at
        self.times = np.unique(t)
        self.n_times = max(len(self.times), 1)
        rank = np.searchsorted(self.times, t)
        cid_rank = np.unique(rows.complaint_id.astype(str), return_inverse=True)[1]
        order = np.lexsort((cid_rank, rank, code))
        code, rank = code[order].astype(np.int64), rank[order]
        r = rows.take(order)
        self.code = code
        self.key = code * self.n_times + rank
        self.t = r.opened_at
        start = _group_starts(code)

        answered = np.isfinite(r.satisfaction)
        channels, channel_code = np.unique(
            np.array([c if c is not None else "" for c in r.channel], dtype=str),
            return_inverse=True,
        )
        new_channel = np.zeros(n, dtype=bool)
        new_channel[
            np.unique(code * max(len(channels), 1) + channel_code, return_index=True)[1]
        ] = True
        self.cum_n = np.arange(n) - start + 1
        self.cum_compensation = _group_cumsum(np.nan_to_num(r.compensation), start)
        self.cum_satisfaction = _group_cumsum(np.where(answered, r.satisfaction, 0.0), start)
        self.cum_answered = _group_cumsum(answered.astype(np.float64), start)
        self.cum_channels = _group_cumsum(new_channel.astype(np.float64), start)

        self.resolution = r.resolution
        self.compensation = r.compensation
        self.satisfaction = r.satisfaction
        self.severity = r.severity
        self.channel = r.channel
        self.emotion = r.emotion

        # A second ordering by (customer, issue type) counts repeats of the same issue.
        issues, issue_code = np.unique(
            np.array([c if c is not None else "" for c in r.issue_type], dtype=str),
            return_inverse=True,
        )
        self._issue_code = {c: i for i, c in enumerate(issues.tolist())}
        self.n_issues = max(len(issues), 1)
        self.pairs, pair_code = np.unique(code * self.n_issues + issue_code, return_inverse=True)
        pair_order = np.lexsort((rank, pair_code))
        self.pair_code = pair_code[pair_order].astype(np.int64)
        self.pair_key = self.pair_code * self.n_times + rank[pair_order]
        self.pair_cum_n = np.arange(n) - _group_starts(self.pair_code) + 1

    def _last_before(
        self, keys: np.ndarray, group_code: np.ndarray, codes: np.ndarray, t_ns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(pos, found)``: the last row of ``keys`` in the query's group with a time
        strictly before ``t_ns``.

        Rows with time < t have rank < q = #pool times < t, so the wanted row is the one
        just before ``searchsorted(keys, code * n_times + q, 'left')``: the last row of
        the previous key (ties sorted by complaint_id); it belongs to the query's group
        only if its code matches.
        """
        q = np.searchsorted(self.times, t_ns, side="left")
        pos = np.searchsorted(keys, codes * self.n_times + q, side="left") - 1
        safe = np.clip(pos, 0, None)
        found = (codes >= 0) & (pos >= 0)
        if len(group_code):
            found &= group_code[safe] == codes
        else:
            found &= False
        return safe, found

    def query(
        self,
        customer_id: Sequence[Any] | np.ndarray,
        opened_at: Any,
        issue_type: Sequence[Any] | np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Memory features of complaints given as arrays (see :func:`customer_memory`).

        Returns :data:`MEMORY_FEATURE_NAMES` arrays: counts int64, amounts, days and
        scores float64 (NaN unknown), the ``last`` labels object (None unknown).
        """
        n = len(customer_id)
        t = _times_ns(opened_at) if n else np.empty(0, dtype=np.int64)
        get = self._customer_code.get
        codes = np.fromiter((get(str(c), -1) for c in customer_id), dtype=np.int64, count=n)
        n_pool = len(self.t)

        last, found = self._last_before(self.key, self.code, codes, t)
        window, w_found = self._last_before(
            self.key, self.code, codes, t - WINDOW_DAYS * _NS_PER_DAY
        )
        iget = self._issue_code.get
        issue = np.fromiter((iget(str(c), -1) for c in issue_type), dtype=np.int64, count=n)
        pair_key = np.where((codes >= 0) & (issue >= 0), codes * self.n_issues + issue, -1)
        pair = np.searchsorted(self.pairs, pair_key)
        pair_ok = (pair_key >= 0) & (pair < len(self.pairs))
        pair_ok &= (
            self.pairs[np.minimum(pair, len(self.pairs) - 1)] == pair_key if n_pool else False
        )
        pair_codes = np.where(pair_ok, pair, -1)
        same, s_found = self._last_before(self.pair_key, self.pair_code, pair_codes, t)

        def at(values: np.ndarray, pos: np.ndarray, ok: np.ndarray, default: float) -> np.ndarray:
            if not len(values):
                return np.full(n, default)
            return np.where(ok, values[pos], default)

        def label_at(values: np.ndarray) -> np.ndarray:
            out = np.full(n, None, dtype=object)
            if len(values):
                out[found] = values[last[found]]
            return out

        n_prior = at(self.cum_n, last, found, 0).astype(np.int64)
        n_before_window = at(self.cum_n, window, w_found, 0).astype(np.int64)
        comp_total = at(self.cum_compensation, last, found, 0.0) - at(
            self.cum_compensation, window, w_found, 0.0
        )
        n_answered = at(self.cum_answered, last, found, 0.0)
        sat_sum = at(self.cum_satisfaction, last, found, 0.0)
        n_same = at(self.pair_cum_n, same, s_found, 0).astype(np.int64)
        since = (t - self.t[last]) / _NS_PER_DAY if n_pool else np.zeros(n)
        return {
            "mem_n_prior": n_prior,
            "mem_n_prior_365d": n_prior - n_before_window,
            "mem_days_since_last": np.where(found, since, np.nan),
            "mem_last_resolution": label_at(self.resolution),
            "mem_last_compensation": at(self.compensation, last, found, np.nan),
            "mem_total_compensation_365d": np.round(comp_total, 6) + 0.0,
            "mem_last_satisfaction": at(self.satisfaction, last, found, np.nan),
            "mem_mean_satisfaction": np.divide(
                sat_sum, n_answered, out=np.full(n, np.nan), where=n_answered > 0
            ),
            "mem_n_answered": n_answered.astype(np.int64),
            "mem_repeat_issue": (n_same > 0).astype(np.int64),
            "mem_n_same_issue": n_same,
            "mem_last_severity": at(self.severity, last, found, np.nan),
            "mem_last_channel": label_at(self.channel),
            "mem_n_channels": at(self.cum_channels, last, found, 0.0).astype(np.int64),
            "mem_last_emotion": label_at(self.emotion),
        }


def memory_features(
    earlier: EarlierRows,
    customer_id: Sequence[Any] | np.ndarray,
    opened_at: Any,
    issue_type: Sequence[Any] | np.ndarray,
) -> dict[str, np.ndarray]:
    """The memory features of complaints from the ``earlier`` rows (see
    :func:`customer_memory` for the definitions); arrays in, arrays out.

    The one definition behind a batch over a training history, a batch of new
    complaints against the stored history and a single complaint against its
    customer's stored rows plus any live contacts (``earlier.concat(live)``).
    """
    return MemoryIndex(earlier).query(customer_id, opened_at, issue_type)


def _memory_frame(features: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    cols = {
        name: pd.Series(v, index=index, dtype="str")
        if name in MEMORY_CATEGORICAL_FEATURES
        else pd.Series(v, index=index)
        for name, v in features.items()
    }
    return pd.DataFrame(cols, index=index)[list(MEMORY_FEATURE_NAMES)]


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
    parts = [EarlierRows.from_frame(f) for f in (history,) if f is not None]
    if _is_history(df):
        parts.append(EarlierRows.from_frame(df))
    earlier = parts[0].concat(*parts[1:]) if parts else EarlierRows.from_records([])
    features = memory_features(
        earlier,
        df["customer_id"].to_numpy(dtype=object),
        df["opened_at"],
        df["issue_type"].to_numpy(dtype=object),
    )
    return _memory_frame(features, df.index)


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
        return len(self._spans)

    def payments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(customer_id, opened_at, compensation)`` of every stored complaint, as
        recorded: what each customer was already given (the guardrails' caps count it).
        ``opened_at`` is datetime64[ns] (naive UTC); a missing amount is 0."""
        e = self._earlier
        return e.customer_id, e.opened_at.view("datetime64[ns]"), np.nan_to_num(e.compensation)

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
        return _memory_frame(features, df_new.index)

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
