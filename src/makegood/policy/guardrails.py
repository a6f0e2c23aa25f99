"""Guardrails on the choice of resolutions (CONTRACT.md section 2b): floors owed and caps
per customer, the one enforcement that batch ``recommend``, the Dask engine and the
service all call.

Inputs are arrays (the catalog turns its rules into them: ``Catalog.floor_amounts`` and
``Catalog.caps``):

- a **floor** per complaint (NaN where none): only options giving at least the floor stay
  eligible; where no eligible option reaches it, the ones giving the most (the floor is
  *unreachable*). What is left, cheapest, is what the guardrails **require** of that
  complaint (for a complaint without a floor, its cheapest eligible option);
- **caps** ``(id, amount, days)``: for each complaint k of the batch, the window of its
  customer is every payment at a time in ``[t_k - days, t_k]`` (both ends included): the
  history :class:`Spent` (as recorded, or the service's ledger) and the batch's own
  complaints at those times, k included. Its total must stay within
  ``max(amount, what the window requires)``: a floor wins over a cap, and above the
  floors a customer is given more only while the window's total stays within ``amount``.

:func:`guarded_allocate` (batch, Dask driver) funds what is required first (or raises
:class:`~makegood.errors.GuardrailBudgetError` naming the amount), then allocates with
:func:`~makegood.policy.budget.allocate` and restricts breaching complaints until no
window breaks its cap. :func:`guarded_eligibility` (the service, one complaint at a time)
restricts eligibility so that whatever is chosen keeps every cap. Both say per complaint
which guardrail decided, with the figures to explain it (:class:`GuardrailCut`).

All cap arithmetic is exact: money is summed in whole millionths of a unit
(:func:`micro`), so 0.10 + 0.20 meets a cap of 0.30 exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import ArrayLike

from makegood.contract.units import money_text
from makegood.errors import BudgetError, GuardrailBudgetError
from makegood.policy.budget import Allocation, allocate

if TYPE_CHECKING:  # only for annotations: policy stays numpy at run time
    import pandas as pd

    from makegood.contract.catalog import Catalog

__all__ = [
    "CAP",
    "FLOOR",
    "FLOOR_UNREACHABLE",
    "CapRule",
    "FloorCut",
    "GuardrailCut",
    "Guarded",
    "Guardrails",
    "Spent",
    "apply_floors",
    "micro",
    "guarded_allocate",
    "guarded_eligibility",
]

#: ``decided_by`` values: a floor excluded cheaper options; no option reached the floor
#: (the most generous was given); a cap removed options the complaint would have had.
FLOOR, FLOOR_UNREACHABLE, CAP = "floor", "floor_unreachable", "cap"

_MICRO = 10**6
_NS_PER_DAY = 86_400 * 10**9

Allocator = Callable[[np.ndarray, np.ndarray, np.ndarray, float], Allocation]


class CapRule(Protocol):
    """A cap per customer (``makegood.contract.catalog.Cap`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def amount(self) -> float: ...
    @property
    def days(self) -> int: ...


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


@dataclass(frozen=True, eq=False)
class Guardrails:
    """What the guardrails need of a batch, as arrays; the default guards nothing.

    Attributes:
        floor: (n,) each complaint's floor, NaN where none (``Catalog.floor_amounts``).
        floor_rule: (n,) the id of the floor rule, ``""`` where none.
        caps: the caps per customer (``Catalog.caps``).
        customer, opened_at: (n,) the complaints' customer ids and naive UTC times
            (needed with caps).
        spent: what customers already received (history, the ledger's committed and held).
    """

    floor: ArrayLike | None = None
    floor_rule: ArrayLike | None = None
    caps: Sequence[CapRule] = ()
    customer: ArrayLike | None = None
    opened_at: ArrayLike | None = None
    spent: Spent | None = None

    @classmethod
    def of(
        cls, catalog: Catalog, complaints: pd.DataFrame, spent: Spent | None = None
    ) -> Guardrails:
        """The catalog's guardrails for a normalized complaint frame (``read_complaints``):
        floors from its columns, customers and times from ``customer_id`` and
        ``opened_at``.

        Raises:
            CatalogError: the frame lacks a column a floor reads.
        """
        floor, rule = catalog.floor_amounts(complaints)
        caps = catalog.caps
        if not caps:
            return cls(floor, rule)
        customer = complaints["customer_id"].to_numpy()
        opened_at = complaints["opened_at"].to_numpy(dtype="datetime64[ns]")
        return cls(floor, rule, caps, customer, opened_at, spent)


@dataclass(frozen=True, eq=False)
class FloorCut:
    """Eligibility after the floors (see :func:`apply_floors`)."""

    eligible: np.ndarray  # (n, K) bool
    required: np.ndarray  # (n,) compensation of the cheapest option left
    floored: np.ndarray  # (n,) bool: a reachable floor excluded at least one option
    unreachable: np.ndarray  # (n,) bool: no eligible option reaches the floor


@dataclass(frozen=True, eq=False)
class GuardrailCut:
    """Eligibility under the guardrails, and per complaint which one decided and why.

    Attributes:
        eligible: (n, K) bool, the options the guardrails leave (never empty).
        required: (n,) the compensation the guardrails require (cheapest option left
            after the floors; the caps never go below it).
        floor_spend: correctly rounded sum of ``required`` over complaints with a floor:
            the spend set aside before anything else.
        decided_by: (n,) str, ``FLOOR``, ``FLOOR_UNREACHABLE``, ``CAP`` or ``""``.
        floor: (n,) the complaint's floor, NaN where none.
        floor_rule: (n,) object, the id of the floor rule, ``""`` where none.
        cap_rule: (n,) object, the id of the cap that decided, ``""`` where none.
        cap_amount, cap_days: (n,) that cap's amount (NaN) and days (0) where none.
        cap_had: (n,) what the customer had in that window before this complaint
            (history and earlier complaints of the batch), NaN where no cap decided.
        cap_left: (n,) the most this complaint could then be given, NaN where none.
    """

    eligible: np.ndarray
    required: np.ndarray
    floor_spend: float
    decided_by: np.ndarray
    floor: np.ndarray
    floor_rule: np.ndarray
    cap_rule: np.ndarray
    cap_amount: np.ndarray
    cap_days: np.ndarray
    cap_had: np.ndarray
    cap_left: np.ndarray

    def reason(self, i: int, currency: str = "USD") -> str:
        """Why a guardrail decided complaint ``i`` (``""`` when none did).

        >>> cut = guarded_eligibility([[0.0, 40.0]], [[True, True]], Guardrails([40.0], ["owed"]))
        >>> cut.reason(0)
        'owed: at least $40 owed'
        """

        def money(x: float) -> str:
            return money_text(x, currency)

        match self.decided_by[i]:
            case "floor":
                return f"{self.floor_rule[i]}: at least {money(self.floor[i])} owed"
            case "floor_unreachable":
                return (
                    f"{self.floor_rule[i]}: {money(self.floor[i])} owed but no eligible "
                    f"resolution gives that much; the most, {money(self.required[i])}, is given"
                )
            case "cap":
                return (
                    f"{self.cap_rule[i]}: this customer has had {money(self.cap_had[i])} in "
                    f"{self.cap_days[i]} days (at most {money(self.cap_amount[i])})"
                )
        return ""


@dataclass(frozen=True, eq=False)
class Guarded:
    """The batch allocation under the guardrails.

    Attributes:
        allocation: :func:`~makegood.policy.budget.allocate`'s answer on ``cut.eligible``
            (``choice``, ``spend <= budget``, ``value``, ``shadow_price``, ...).
        cut: the eligibility it was found on and the reasons (:class:`GuardrailCut`).
        n_rounds: allocations run (1 when no cap was ever breached).
    """

    allocation: Allocation
    cut: GuardrailCut
    n_rounds: int

    @property
    def choice(self) -> np.ndarray:
        return self.allocation.choice


# --------------------------------------------------------------------------- floors


def apply_floors(compensation: ArrayLike, eligible: ArrayLike, floor: ArrayLike | None) -> FloorCut:
    """Keep, for each complaint with a floor, the eligible options whose compensation
    reaches it; where none does, the ones that give the most.

    Returns:
        :class:`FloorCut`; without floors (None, or all NaN) ``eligible`` is unchanged.

    >>> cut = apply_floors([[0.0, 25.0, 90.0], [0.0, 25.0, 90.0]], [[True] * 3] * 2, [30.0, 120.0])
    >>> cut.eligible.tolist(), cut.required.tolist(), cut.unreachable.tolist()
    ([[False, False, True], [False, False, True]], [90.0, 90.0], [False, True])
    """
    comp, elig = _arrays(compensation, eligible)
    n = comp.shape[0]
    owed = np.full(n, np.nan) if floor is None else np.asarray(floor, dtype=np.float64)
    if owed.shape != (n,):
        raise BudgetError(f"floor must have shape ({n},). Got {owed.shape} instead.")
    has = ~np.isnan(owed)
    most = np.where(elig, comp, -np.inf).max(axis=1)
    unreachable = has & (most < owed)
    with np.errstate(invalid="ignore"):
        reaches = np.where(unreachable[:, None], comp == most[:, None], comp >= owed[:, None])
    out = np.where(has[:, None], elig & reaches, elig)
    required = np.where(out, comp, np.inf).min(axis=1)
    floored = has & ~unreachable & (out != elig).any(axis=1)
    return FloorCut(out, required, floored, unreachable)


def _arrays(compensation: ArrayLike, eligible: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    comp = np.asarray(compensation, dtype=np.float64)
    elig = np.asarray(eligible)
    if comp.ndim != 2:
        raise BudgetError(
            "compensation must be a 2-D array (n_complaints, n_options). "
            f"Got shape {comp.shape} instead."
        )
    if elig.shape != comp.shape or elig.dtype != np.bool_:
        raise BudgetError(
            f"eligible must be a boolean array of shape {comp.shape}. "
            f"Got {elig.dtype} of shape {elig.shape} instead."
        )
    none = ~elig.any(axis=1)
    if none.any():
        raise BudgetError(
            "eligible must allow at least one option for every complaint. "
            f"Got none for row {np.flatnonzero(none)[0]} instead."
        )
    return comp, elig


def _floor_cut(cut: FloorCut, floor: np.ndarray, floor_rule: ArrayLike | None) -> GuardrailCut:
    n = cut.required.size
    rule = np.full(n, "", dtype=object) if floor_rule is None else np.asarray(floor_rule, object)
    decided = np.full(n, "", dtype=object)
    decided[cut.floored] = FLOOR
    decided[cut.unreachable] = FLOOR_UNREACHABLE
    has = ~np.isnan(floor)
    return GuardrailCut(
        eligible=cut.eligible.copy(),
        required=cut.required,
        floor_spend=math.fsum(cut.required[has].tolist()),
        decided_by=decided,
        floor=floor,
        floor_rule=rule,
        cap_rule=np.full(n, "", dtype=object),
        cap_amount=np.full(n, np.nan),
        cap_days=np.zeros(n, dtype=np.int64),
        cap_had=np.full(n, np.nan),
        cap_left=np.full(n, np.nan),
    )


# --------------------------------------------------------------------------- caps


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


class _Windows:
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

    def breaches(self, given: np.ndarray, required: np.ndarray) -> dict[int, tuple[int, int, int]]:
        """Complaints to hold back so that no window breaks its cap, with ``given``.

        Each window whose total exceeds ``max(amount, what it requires)`` is walked in
        time order: each of its batch complaints keeps what it has while that fits, the
        rest of the window still being owed what it requires; one that does not fit is
        held to what is left (never below what it requires). Windows are taken in time
        order, each counting what earlier windows (of any cap) held back.

        Returns:
            ``{row: (most it may be given, cap index, what its customer had before it)}``
            in micro-units (:func:`micro`), the smallest limit over the windows that hold
            it back; empty when every cap holds. A breached window always holds back a
            complaint whose ``given`` exceeds its limit (the sums are exact).
        """
        amount = np.where(self.is_batch, micro(given)[self.batch_rows], self.history)
        owed = np.where(self.is_batch, micro(required)[self.batch_rows], self.history)
        cum_amount = np.concatenate([[0], np.cumsum(amount)])
        cum_owed = np.concatenate([[0], np.cumsum(owed)])
        held: dict[int, tuple[int, int, int]] = {}
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
        held: dict[int, tuple[int, int, int]],
    ) -> None:
        rows = self.row[lo:hi].tolist()
        gets = amount[lo:hi].tolist()
        needs = owed[lo:hi].tolist()
        for j, r in enumerate(rows):
            if r in held:
                gets[j] = min(gets[j], held[r][0])
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
                if r not in held or most < held[r][0]:
                    held[r] = (most, c, had)
                get = most
            had += get


def micro(amount: ArrayLike) -> np.ndarray:
    """Money in whole millionths of a unit (int64): the exact sums caps are judged on.

    Amounts come as floats meant as decimals: 0.10 + 0.20 must be exactly a cap of 0.30,
    which in floats it is not; nothing finer than a millionth is money.

    >>> int(micro(0.1) + micro(0.2)) == int(micro(0.3)), 0.1 + 0.2 == 0.3
    (True, False)
    """
    return np.rint(np.asarray(amount, dtype=np.float64) * _MICRO).astype(np.int64)


def _hold(
    cut: GuardrailCut,
    comp: np.ndarray,
    caps: Sequence[CapRule],
    held: dict[int, tuple[int, int, int]],
) -> None:
    """Remove, in place, the options above each held complaint's limit; note the cap."""
    for r, (most, c, had) in held.items():
        options = comp[r]
        known = ~np.isnan(options)
        cut.eligible[r] &= known & (micro(np.where(known, options, 0.0)) <= most)
        cut.decided_by[r] = CAP
        cut.cap_rule[r] = caps[c].id
        cut.cap_amount[r] = caps[c].amount
        cut.cap_days[r] = caps[c].days
        cut.cap_had[r] = had / _MICRO
        cut.cap_left[r] = most / _MICRO


def _windows(
    caps: Sequence[CapRule],
    customer: ArrayLike | None,
    opened_at: ArrayLike | None,
    spent: Spent | None,
    n: int,
) -> _Windows | None:
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
    return _Windows(caps, cust, at, spent if spent is not None else Spent.nothing())


def _start(
    compensation: ArrayLike, eligible: ArrayLike, guardrails: Guardrails | None
) -> tuple[np.ndarray, np.ndarray, GuardrailCut, _Windows | None]:
    """Both entry points' first steps: checked arrays, the floors applied, the windows."""
    g = guardrails if guardrails is not None else Guardrails()
    comp, elig = _arrays(compensation, eligible)
    n = comp.shape[0]
    owed = np.full(n, np.nan) if g.floor is None else np.asarray(g.floor, np.float64)
    cut = _floor_cut(apply_floors(comp, elig, owed), owed, g.floor_rule)
    return comp, elig, cut, _windows(g.caps, g.customer, g.opened_at, g.spent, n)


# --------------------------------------------------------------------------- the entry points


def guarded_eligibility(
    compensation: ArrayLike, eligible: ArrayLike, guardrails: Guardrails | None = None
) -> GuardrailCut:
    """Eligibility under the guardrails for complaints decided one by one (the service).

    The floors as in :func:`apply_floors`; then, with every complaint assumed to take its
    most generous option left, the caps hold back (in time order) those that would break
    a window: so **any** choice among the options left keeps every cap, whatever is
    chosen for the others. With one complaint this is exact: its most is
    ``max(what it requires, amount - what its customer had in the window)``.

    Args:
        compensation, eligible: (n, K) as for :func:`~makegood.policy.budget.allocate`.
        guardrails: :class:`Guardrails` (``Guardrails.of(catalog, complaints, spent)``).

    Returns:
        :class:`GuardrailCut`.

    Raises:
        BudgetError: invalid arrays, or caps without customers and times.
    """
    comp, _, cut, windows = _start(compensation, eligible, guardrails)
    if windows is not None:
        most = np.where(cut.eligible, comp, -np.inf).max(axis=1)
        _hold(cut, comp, windows.caps, windows.breaches(most, cut.required))
    return cut


def guarded_allocate(
    value: ArrayLike,
    compensation: ArrayLike,
    eligible: ArrayLike,
    budget: float,
    guardrails: Guardrails | None = None,
    *,
    allocator: Allocator = allocate,
) -> Guarded:
    """:func:`~makegood.policy.budget.allocate` under the guardrails (batch, Dask driver).

    1. Floors (:func:`apply_floors`): each complaint keeps the options its floor allows;
       what it requires is its cheapest option left.
    2. Floors are funded first: if the budget is below everything required (and the
       floors are why), :class:`~makegood.errors.GuardrailBudgetError` names the amount.
    3. Allocate; walk every cap's windows; hold back (remove the options above the room
       of) each complaint that breaks one, later complaints first
       (:meth:`_Windows.breaches`); allocate again, until no window breaks its cap.

    Termination: a breached window always holds back a complaint whose current choice
    exceeds its limit, so every round but the last removes at least that option, and a
    complaint's cheapest option left (what it requires) is never removed. So there are at
    most ``1 + sum_i (options left to i after the floors - 1)`` rounds, every allocation
    can afford what is required, and the last one keeps every cap.

    Optimality: the answer is :func:`allocate`'s on the eligibility left, so exact up to
    one complaint *for that eligibility*; the eligibility itself is a heuristic for caps
    (a knapsack with coupling constraints): within a window the earlier complaints keep
    their room (not the ones whose money is worth most), and an option removed in one
    round stays removed even if a later round would have left room for it. Without caps
    nothing is lost beyond ``allocate``'s one complaint: floors only restrict options.

    Args:
        value, compensation, eligible, budget: as for :func:`allocate`.
        guardrails: :class:`Guardrails` (``Guardrails.of(catalog, complaints, spent)``);
            None guards nothing.
        allocator: called as ``allocator(value, compensation, eligible, budget)``; the
            Dask engine passes its distributed allocation.

    Returns:
        :class:`Guarded`; with no floors and no caps, ``allocation`` is exactly
        ``allocate(value, compensation, eligible, budget)``.

    Raises:
        GuardrailBudgetError: the budget is below what the guardrails require.
        BudgetError: invalid arrays or budget (as :func:`allocate`), or caps without
            ``customer`` / ``opened_at``.
    """
    val = np.asarray(value, dtype=np.float64)
    comp, elig, cut, windows = _start(compensation, eligible, guardrails)
    _check_funded(cut, comp, elig, budget)
    rows = np.arange(comp.shape[0])
    n_rounds = 0
    while True:
        allocation = allocator(val, comp, cut.eligible, budget)
        n_rounds += 1
        if windows is None:
            break
        held = windows.breaches(comp[rows, allocation.choice], cut.required)
        if not held:
            break
        _hold(cut, comp, windows.caps, held)
    return Guarded(allocation, cut, n_rounds)


def _check_funded(cut: GuardrailCut, comp: np.ndarray, elig: np.ndarray, budget: float) -> None:
    """Raise when the budget cannot fund what is required and the floors are why (a
    budget too small even without floors is :func:`allocate`'s error)."""
    try:
        budget_ = float(budget)
    except (TypeError, ValueError):
        return  # allocate names the problem
    needed = math.fsum(cut.required.tolist())
    if not math.isfinite(budget_) or needed <= budget_:
        return
    cheapest = np.where(elig, comp, np.inf).min(axis=1)
    if math.fsum(cheapest.tolist()) > budget_:
        return
    n_floored = int((~np.isnan(cut.floor)).sum())
    raise GuardrailBudgetError(
        f"budget {budget_:.2f} cannot fund what the guardrails require: the floors of "
        f"{n_floored} complaint(s) need {cut.floor_spend:.2f}, and with every other "
        f"complaint's cheapest option {needed:.2f} in all; the budget must be at least "
        f"{needed:.2f}.",
        needed=needed,
        budget=budget_,
    )
