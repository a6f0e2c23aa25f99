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

Beside it: the earlier rows (:mod:`.memory_rows`), the features and their index
(:mod:`.memory_index`) and the store kept for scoring (:mod:`.memory_store`); every
public name is importable from here.
"""

from __future__ import annotations

import pandas as pd

from makegood.features.memory_index import (
    MEMORY_CATEGORICAL_FEATURES,
    MEMORY_FEATURE_NAMES,
    WINDOW_DAYS,
    MemoryIndex,
    memory_features,
    memory_frame,
)
from makegood.features.memory_rows import EarlierRows
from makegood.features.memory_store import RECENT_TEXT_CHARS, CustomerMemoryStore

__all__ = [
    "MEMORY_CATEGORICAL_FEATURES",
    "MEMORY_FEATURE_NAMES",
    "RECENT_TEXT_CHARS",
    "WINDOW_DAYS",
    "CustomerMemoryStore",
    "EarlierRows",
    "MemoryIndex",
    "customer_memory",
    "memory_features",
]


def _is_history(df: pd.DataFrame) -> bool:
    return "resolution" in df.columns and "compensation" in df.columns


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
    return memory_frame(features, df.index)
