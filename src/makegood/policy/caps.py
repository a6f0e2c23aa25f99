"""Caps per customer over rolling windows, in exact money: what each customer already
received (:class:`Spent`), every complaint's window under every cap over the history and
the batch (:class:`Windows`), and the complaints a breached window holds back. The rules
that use them are :mod:`makegood.policy.guardrails`.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError

__all__ = ["MICRO", "CapRule", "Held", "Spent", "Windows", "micro", "windows"]

#: whole millionths of a unit: the grain of exact cap sums
MICRO = 10**6
_NS_PER_DAY = 86_400 * 10**9


class CapRule(Protocol):
    """A cap per customer (``makegood.contract.catalog.Cap`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def amount(self) -> float: ...
    @property
    def days(self) -> int: ...


@dataclass(frozen=True)
class Held:
    """A complaint a window holds back, in micro-units (:func:`micro`): the ``most`` it
    may be given; the index ``cap`` of the cap; what fills the rest of that window: what
    its customer ``had`` before it (history and earlier complaints) and what the ``later``
    complaints of the window require (their floors, reserved first)."""

    most: int
    cap: int
    had: int
    later: int


@dataclass(frozen=True, eq=False)
class Spent:
    """Compensation customers already received, one row per payment: the history as
    recorded, or what the service's ledger committed or holds (a row may be a sum at one
    time). ``at`` is naive UTC (``datetime64``), as the normalized frames hold times."""

    customer: np.ndarray  # (m,) customer ids, any comparable type (strings)
    at: np.ndarray  # (m,) datetime64
    amount: np.ndarray  # (m,) float, >= 0

    def __post_init__(self) -> None:
        customer = np.asarray(self.customer, dtype=object).reshape(-1)
        at = np.asarray(self.at, dtype="datetime64[ns]").reshape(-1)
        amount = np.asarray(self.amount, dtype=np.float64).reshape(-1)
        if not customer.size == at.size == amount.size:
            raise BudgetError(
                "spent customer, at and amount must have the same length. "
                f"Got {customer.size}, {at.size} and {amount.size} instead."
            )
        if np.isnat(at).any() or not (np.isfinite(amount) & (amount >= 0)).all():
            raise BudgetError("spent at must be times and amount finite numbers >= 0.")
        object.__setattr__(self, "customer", customer)
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "amount", amount)

    @classmethod
    def nothing(cls) -> Spent:
        """No earlier compensation."""
        return cls(np.array([], dtype=object), np.array([], dtype="datetime64[ns]"), np.array([]))


def micro(amount: ArrayLike) -> np.ndarray:
    """Money in whole millionths of a unit (int64): the exact sums caps are judged on.

    Amounts come as floats meant as decimals: 0.10 + 0.20 must be exactly a cap of 0.30,
    which in floats it is not; nothing finer than a millionth is money.

    >>> int(micro(0.1) + micro(0.2)) == int(micro(0.3)), 0.1 + 0.2 == 0.3
    (True, False)
    """
    return np.rint(np.asarray(amount, dtype=np.float64) * MICRO).astype(np.int64)


def _ranks(
    code: np.ndarray, time: np.ndarray, q_code: np.ndarray, q_time: np.ndarray, left: bool
) -> np.ndarray:
    """For events sorted by (code, time), the number of events before each query (code,
    time): those strictly before it (``left``) or before or at it."""
    n_ev = code.size
    flag = np.concatenate([np.full(n_ev, left), np.full(q_code.size, not left)])
    order = np.lexsort((flag, np.concatenate([time, q_time]), np.concatenate([code, q_code])))
    is_query = order >= n_ev
    events_before: np.ndarray = np.cumsum(~is_query) - ~is_query
    out = np.empty(q_code.size, dtype=np.int64)
    out[order[is_query] - n_ev] = events_before[is_query]
    return out


class Windows:
    """Every complaint's window under every cap, over the history and the batch.

    Events (payments) are sorted by customer, time, then history before batch rows in
    row order; the window of batch row k under cap c is the slice ``lo[c][k]:hi[c][k]``.
    """

    def __init__(
        self,
        caps: Sequence[CapRule],
        customer: np.ndarray,
        opened_at: np.ndarray,
        spent: Spent,
    ) -> None:
        n, m = customer.size, spent.customer.size
        _, codes = np.unique(np.concatenate([spent.customer, customer]), return_inverse=True)
        time = np.concatenate([spent.at, opened_at]).view(np.int64)
        row = np.concatenate([np.full(m, -1), np.arange(n)])
        order = np.lexsort((row, time, codes))
        self.caps = tuple(caps)
        self.position = np.empty(n, dtype=np.int64)  # of each batch row in the order
        self.position[row[order][row[order] >= 0]] = np.flatnonzero(row[order] >= 0)
        self.row = row[order]  # batch row of each sorted event, -1 for history
        self.is_batch = self.row >= 0
        self.batch_rows = np.where(self.is_batch, self.row, 0)
        self.history = micro(np.concatenate([spent.amount, np.zeros(n)]))[order]
        code, at = codes[order], time[order]
        q_code, q_at = codes[m:], time[m:]
        self.lo, self.hi = [], []
        for cap in self.caps:
            self.lo.append(_ranks(code, at, q_code, q_at - int(cap.days) * _NS_PER_DAY, True))
            self.hi.append(_ranks(code, at, q_code, q_at, False))

    def breaches(self, given: np.ndarray, required: np.ndarray) -> dict[int, Held]:
        """Complaints to hold back so that no window breaks its cap, with ``given``.

        Each window whose total exceeds ``max(amount, what it requires)`` is walked in
        time order: each of its batch complaints keeps what it has while that fits, the
        rest of the window still being owed what it requires; one that does not fit is
        held to what is left (never below what it requires). Windows are taken in time
        order, each counting what earlier windows (of any cap) held back.

        Returns:
            ``{row: Held}`` in micro-units (:func:`micro`), from the window with the
            smallest limit among those that hold it back; empty when every cap holds. A
            breached window always holds back a complaint whose ``given`` exceeds its
            limit (the sums are exact).
        """
        amount = np.where(self.is_batch, micro(given)[self.batch_rows], self.history)
        owed = np.where(self.is_batch, micro(required)[self.batch_rows], self.history)
        cum_amount = np.concatenate([[0], np.cumsum(amount)])
        cum_owed = np.concatenate([[0], np.cumsum(owed)])
        held: dict[int, Held] = {}
        for c, cap in enumerate(self.caps):
            lo, hi = self.lo[c], self.hi[c]
            limit = np.maximum(micro(cap.amount), cum_owed[hi] - cum_owed[lo])
            over = np.flatnonzero(cum_amount[hi] - cum_amount[lo] > limit)
            # in time order, each window seeing what the ones before it held back
            for k in over[np.argsort(self.position[over])].tolist():
                self._hold_back(lo[k], hi[k], int(limit[k]), c, amount, owed, held)
        return held

    def _hold_back(
        self,
        lo: int,
        hi: int,
        limit: int,
        c: int,
        amount: np.ndarray,
        owed: np.ndarray,
        held: dict[int, Held],
    ) -> None:
        rows = self.row[lo:hi].tolist()
        gets = amount[lo:hi].tolist()
        needs = owed[lo:hi].tolist()
        for j, r in enumerate(rows):
            if r in held:
                gets[j] = min(gets[j], held[r].most)
        if sum(gets) <= limit:
            return
        had = sum(g for g, r in zip(gets, rows, strict=True) if r < 0)
        later = sum(n for n, r in zip(needs, rows, strict=True) if r >= 0)
        for r, need, get in zip(rows, needs, gets, strict=True):
            if r < 0:
                continue
            later -= need
            most = max(limit - had - later, need)
            if get > most:
                if r not in held or most < held[r].most:
                    held[r] = Held(most, c, had, later)
                get = most
            had += get

    def ceilings(
        self, value: np.ndarray, comp: np.ndarray, eligible: np.ndarray, order: np.ndarray
    ) -> tuple[dict[int, Held], dict[int, int]]:
        """The most each complaint may be given whatever the budget: allocate's greedy
        walk over upgrades, skipping the ones a cap forbids.

        Only complaints in a window that the most generous options (everyone at their
        largest eligible ``comp``) would break take part; every other complaint keeps
        all its options. Each starts at its cheapest option (what it requires: the
        windows' limits cover these). Upgrades are taken by decreasing slope
        ``(value[a] - value[cur]) / (comp[a] - comp[cur])``, the next one of a complaint
        being the steepest from where it stands (nearest on ties), over all its options
        that do not exceed its room; ties between complaints go to the earlier ``order``
        (time, then row). An upgrade that would break a window is not taken: the
        complaint's room becomes ``min over its windows (limit - the rest of the window)``
        and its next upgrade is sought within it. Money is exact (:func:`micro`).

        Since nothing depends on the budget, the ceilings do not either, and the state
        with every complaint at its ceiling keeps every window: so does any choice at or
        below the ceilings (window totals only fall).

        Returns:
            ``({row: Held}, {row: ceiling})`` in micro-units: ``Held`` for each complaint
            a cap stopped (``most`` its room at the end, ``had`` what the window holds
            before it, ``later`` what it gives after it, at the ceilings); ``ceiling`` for
            every complaint that took part (its compensation at the end of the walk).
        """
        most = np.where(eligible, comp, -np.inf).max(axis=1)
        cheapest = np.where(eligible, comp, np.inf).min(axis=1)
        at_most = np.where(self.is_batch, micro(most)[self.batch_rows], self.history)
        at_least = np.where(self.is_batch, micro(cheapest)[self.batch_rows], self.history)
        cum_most = np.concatenate([[0], np.cumsum(at_most)])
        cum_least = np.concatenate([[0], np.cumsum(at_least)])
        spans: list[tuple[int, int, int, int]] = []  # (cap, lo, hi, limit) of every window
        total: list[int] = []  # its total at the current state
        member: dict[int, list[int]] = {}  # row -> the windows it is in
        for c, cap in enumerate(self.caps):
            lo, hi = self.lo[c], self.hi[c]
            limit = np.maximum(micro(cap.amount), cum_least[hi] - cum_least[lo])
            for k in np.flatnonzero(cum_most[hi] - cum_most[lo] > limit).tolist():
                w = len(spans)
                spans.append((c, int(lo[k]), int(hi[k]), int(limit[k])))
                total.append(int(cum_least[hi[k]] - cum_least[lo[k]]))
                for r in self.row[lo[k] : hi[k]].tolist():
                    if r >= 0:
                        member.setdefault(r, []).append(w)
        if not member:
            return {}, {}
        rows = sorted(member)
        options = {r: np.flatnonzero(eligible[r]) for r in rows}
        units = {r: micro(comp[r, options[r]]) for r in rows}
        # the cheapest option with the best value among the cheapest (as allocate starts)
        cur = {}
        for r in rows:
            tied = options[r][comp[r, options[r]] == cheapest[r]]
            cur[r] = int(tied[np.argmax(value[r, tied])])
        given = {r: int(micro(comp[r, cur[r]])) for r in rows}
        room: dict[int, int | None] = dict.fromkeys(rows)
        stopped: dict[int, int] = {}  # row -> the window that last stopped it

        def push(heap: list[tuple[float, int, int, int]], r: int) -> None:
            opts, c0, v0 = options[r], comp[r, cur[r]], value[r, cur[r]]
            ok = (comp[r, opts] > c0) & (value[r, opts] > v0)
            if room[r] is not None:
                ok &= units[r] <= room[r]
            if not ok.any():
                return
            cand = opts[ok]
            with np.errstate(over="ignore"):
                slope = (value[r, cand] - v0) / (comp[r, cand] - c0)
            best = cand[slope == slope.max()]
            a = int(best[np.argmin(comp[r, best])])
            heapq.heappush(heap, (-float(slope.max()), int(order[r]), r, a))

        heap: list[tuple[float, int, int, int]] = []
        for r in rows:
            push(heap, r)
        while heap:
            _, _, r, a = heapq.heappop(heap)
            to = int(micro(comp[r, a]))
            rest = [(spans[w][3] - (total[w] - given[r]), w) for w in member[r]]
            left, w_min = min(rest)
            if to <= left:
                for w in member[r]:
                    total[w] += to - given[r]
                cur[r], given[r] = a, to
            else:
                room[r], stopped[r] = left, w_min
            push(heap, r)

        held: dict[int, Held] = {}
        for r, w in stopped.items():
            c, first, end, limit = spans[w]
            events = zip(
                self.row[first:end].tolist(), self.history[first:end].tolist(), strict=True
            )
            amounts = [given[q] if q >= 0 else int(h) for q, h in events]
            j = int(self.position[r]) - first
            had, later = sum(amounts[:j]), sum(amounts[j + 1 :])
            held[r] = Held(limit - had - later, c, had, later)
        return held, given


def windows(
    caps: Sequence[CapRule],
    customer: ArrayLike | None,
    opened_at: ArrayLike | None,
    spent: Spent | None,
    n: int,
) -> Windows | None:
    if not caps:
        return None
    if customer is None or opened_at is None:
        raise BudgetError("customer and opened_at are needed to apply caps per customer.")
    cust = np.asarray(customer, dtype=object).reshape(-1)
    at = np.asarray(opened_at, dtype="datetime64[ns]").reshape(-1)
    if cust.size != n or at.size != n:
        raise BudgetError(
            f"customer and opened_at must have one entry per complaint ({n}). "
            f"Got {cust.size} and {at.size} instead."
        )
    if np.isnat(at).any():
        raise BudgetError("opened_at must be a time for every complaint. Got NaT.")
    return Windows(caps, cust, at, spent if spent is not None else Spent.nothing())
