"""The memory features and their index: earlier rows sorted, running totals, one look-up each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from makegood.features.memory_rows import EarlierRows, times_ns

__all__ = [
    "MEMORY_CATEGORICAL_FEATURES",
    "MEMORY_FEATURE_NAMES",
    "WINDOW_DAYS",
    "MemoryIndex",
    "memory_features",
    "memory_frame",
]

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
        t = times_ns(opened_at) if n else np.empty(0, dtype=np.int64)
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


def memory_frame(features: Mapping[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
    """The feature arrays as a frame on ``index``: :data:`MEMORY_FEATURE_NAMES` columns in
    order, the categorical ones of ``str`` dtype."""
    cols = {
        name: pd.Series(v, index=index, dtype="str")
        if name in MEMORY_CATEGORICAL_FEATURES
        else pd.Series(v, index=index)
        for name, v in features.items()
    }
    return pd.DataFrame(cols, index=index)[list(MEMORY_FEATURE_NAMES)]
