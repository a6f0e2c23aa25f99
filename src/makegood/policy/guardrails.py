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
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from makegood.contract.units import money_text
from makegood.errors import BudgetError, GuardrailBudgetError
from makegood.policy.budget import Allocation, allocate
from makegood.policy.caps import MICRO, CapRule, Held, Spent, Windows, micro, windows

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

Allocator = Callable[[np.ndarray, np.ndarray, np.ndarray, float], Allocation]


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
        cap_later: (n,) what the later complaints of that window are given (owed refunds
            first, then the upgrades the caps settle by value per dollar), NaN where no cap
            decided. The window
            is filled by ``cap_had + cap_later``; ``cap_left`` is what remains of the cap.
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
    cap_later: np.ndarray
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
            case "cap":  # the figures that fill the window: had before, owed after
                had, later = float(self.cap_had[i]), float(self.cap_later[i])
                parts = [f"had {money(had)}"] if had > 0 or not later > 0 else []
                parts += [f"{money(later)} to later complaints"] if later > 0 else []
                return (
                    f"{self.cap_rule[i]}: {' and '.join(parts)} in {self.cap_days[i]} days "
                    f"(at most {money(self.cap_amount[i])})"
                )
        return ""


@dataclass(frozen=True, eq=False)
class Guarded:
    """The batch allocation under the guardrails.

    Attributes:
        allocation: :func:`~makegood.policy.budget.allocate`'s answer on ``cut.eligible``
            (``choice``, ``spend <= budget``, ``value``, ``shadow_price``, ...).
        cut: the eligibility it was found on and the reasons (:class:`GuardrailCut`).
            The caps are settled before the one allocation runs.
    """

    allocation: Allocation
    cut: GuardrailCut

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
        cap_later=np.full(n, np.nan),
        cap_left=np.full(n, np.nan),
    )


# --------------------------------------------------------------------------- caps


def _hold(
    cut: GuardrailCut,
    comp: np.ndarray,
    caps: Sequence[CapRule],
    held: dict[int, Held],
) -> None:
    """Remove, in place, the options above each held complaint's limit; note the cap."""
    for r, h in held.items():
        options = comp[r]
        known = ~np.isnan(options)
        cut.eligible[r] &= known & (micro(np.where(known, options, 0.0)) <= h.most)
        cap = caps[h.cap]
        cut.decided_by[r] = CAP
        cut.cap_rule[r] = cap.id
        cut.cap_amount[r] = cap.amount
        cut.cap_days[r] = cap.days
        cut.cap_had[r] = h.had / MICRO
        cut.cap_later[r] = h.later / MICRO
        cut.cap_left[r] = h.most / MICRO


def _start(
    compensation: ArrayLike, eligible: ArrayLike, guardrails: Guardrails | None
) -> tuple[np.ndarray, np.ndarray, GuardrailCut, Windows | None]:
    """Both entry points' first steps: checked arrays, the floors applied, the windows."""
    g = guardrails if guardrails is not None else Guardrails()
    comp, elig = _arrays(compensation, eligible)
    n = comp.shape[0]
    owed = np.full(n, np.nan) if g.floor is None else np.asarray(g.floor, np.float64)
    cut = _floor_cut(apply_floors(comp, elig, owed), owed, g.floor_rule)
    return comp, elig, cut, windows(g.caps, g.customer, g.opened_at, g.spent, n)


# --------------------------------------------------------------------------- the entry points


def guarded_eligibility(
    compensation: ArrayLike,
    eligible: ArrayLike,
    guardrails: Guardrails | None = None,
    *,
    given: ArrayLike | None = None,
) -> GuardrailCut:
    """Eligibility under the guardrails for complaints decided one by one (the service).

    The floors as in :func:`apply_floors`; then, with every complaint assumed to take its
    most generous option left, the caps hold back (in time order) those that would break
    a window: so **any** choice among the options left keeps every cap, whatever is
    chosen for the others. With one complaint this is exact: its most is
    ``max(what it requires, amount - what its customer had in the window)``.

    Args:
        compensation, eligible: (n, K) as for :func:`~makegood.policy.budget.allocate`;
            the floors judge ``compensation``.
        guardrails: :class:`Guardrails` (``Guardrails.of(catalog, complaints, spent)``).
        given: (n, K) what each option adds to its customer's windows, when that is not
            its compensation (default): the service passes the top-up beyond what the
            complaint's case already holds (counted once, in ``spent``). It must not
            fall as compensation rises.

    Returns:
        :class:`GuardrailCut` (``required`` in compensation, ``cap_left`` in ``given``).

    Raises:
        BudgetError: invalid arrays, or caps without customers and times.
    """
    comp, _, cut, windows = _start(compensation, eligible, guardrails)
    if windows is not None:
        adds = comp if given is None else np.asarray(given, dtype=np.float64)
        if adds.shape != comp.shape:
            raise BudgetError(f"given must have shape {comp.shape}. Got {adds.shape} instead.")
        most = np.where(cut.eligible, adds, -np.inf).max(axis=1)
        needs = np.where(cut.eligible, adds, np.inf).min(axis=1)
        _hold(cut, adds, windows.caps, windows.breaches(most, needs))
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
    3. Caps (:meth:`Windows.ceilings`), before any budget: allocate's own greedy over
       upgrades (by decreasing slope, a customer's earlier complaint first on ties),
       skipping every upgrade that would break a window and seeking the complaint's next
       one within the room left. Each complaint keeps the options up to where it ended.
    4. Allocate once on what is left.

    Monotone in the budget: steps 1 and 3 do not depend on the budget and ``allocate``
    is monotone on a fixed eligibility, so ``value`` never falls as the budget grows
    (exactly). The hold-back of old (allocate, hold back, allocate again) was not: a
    larger budget's first allocation broke more windows, and the options it removed
    stayed removed after the budget had moved elsewhere.

    Caps kept for any choice: with every complaint at its ceiling every window keeps its
    cap (each upgrade taken was checked), and totals only fall below the ceilings.

    Optimality: the answer is :func:`allocate`'s on the eligibility left, so exact up to
    one complaint *for that eligibility*; the ceilings are a heuristic for caps (a
    knapsack with coupling constraints): within a window the room goes to the steepest
    upgrades first, which the budget may then not fund. Without caps nothing is lost
    beyond ``allocate``'s one complaint: floors only restrict options.

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
    if windows is not None:
        # ties between complaints: a customer's earlier complaint first (time, then row)
        held, ceiling = windows.ceilings(val, comp, cut.eligible, windows.position)
        _hold(cut, comp, windows.caps, held)
        for r, top in ceiling.items():
            known = ~np.isnan(comp[r])
            cut.eligible[r] &= known & (micro(np.where(known, comp[r], 0.0)) <= top)
    return Guarded(allocator(val, comp, cut.eligible, budget), cut)


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
