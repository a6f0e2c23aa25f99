"""The per-candidate predictions of a complaint set: the inputs of every budget-report number.

:class:`CandidateOutcomes` holds, for each complaint and each resolution of the catalog,
the net value the policy maximises, its compensation, eligibility, churn and satisfaction
(with intervals); it allocates budgets (:mod:`makegood.policy.budget`) and adds up the
totals of a choice. The frontier, the chosen budgets' sections, the first page and the
current-practice comparison are all computed from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from makegood.contract.units import fsum
from makegood.modeling.predict import Scores
from makegood.policy.budget import Allocation, frontier
from makegood.policy.guardrails import FloorCut, Guardrails, apply_floors, guarded_allocate
from makegood.reporting.numbers import report_round

__all__ = ["CandidateOutcomes", "allocated_totals", "rounded_totals"]


@dataclass(frozen=True)
class CandidateOutcomes:
    """Per-candidate predictions of a complaint set, the inputs of every report number.

    Arrays are (n, K) in catalog order unless noted; ``value`` is the net value the policy
    maximises (``LTV * (1 - churn) - compensation - handling_cost``).

    With ``guardrails`` (:meth:`with_guardrails`), every allocation is the guarded one
    (:func:`~makegood.policy.guardrails.guarded_allocate`, as batch ``recommend``), found on
    the set's own money (``unscaled``: floors and caps are amounts a customer is given) at
    ``budget / weight`` and read per period; :attr:`min_spend` is then what the guardrails
    require and :attr:`owed` what the floors set aside.
    """

    value: np.ndarray
    value_lo: np.ndarray
    value_hi: np.ndarray
    cost: np.ndarray
    eligible: np.ndarray
    churn: np.ndarray
    churn_lo: np.ndarray
    churn_hi: np.ndarray
    satisfaction: np.ndarray
    lifetime_value: np.ndarray  # (n,)
    handling_cost: np.ndarray  # (K,)
    baseline_index: int
    # complaints of one budget period each complaint stands for (see :meth:`per_period`)
    weight: float = 1.0
    guardrails: Guardrails | None = field(default=None, repr=False)
    # (value, cost) of the set's own money, before :meth:`per_period` (None: as above)
    unscaled: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def from_scores(cls, s: Scores) -> CandidateOutcomes:
        return cls(
            value=s.net_value,
            value_lo=s.net_value_lo,
            value_hi=s.net_value_hi,
            cost=s.compensation,
            eligible=s.eligible,
            churn=s.churn_prob,
            churn_lo=s.churn_lo,
            churn_hi=s.churn_hi,
            satisfaction=s.satisfaction,
            lifetime_value=s.lifetime_value,
            handling_cost=np.asarray(s.handling_cost, dtype=float),
            baseline_index=int(s.baseline_index),
        )

    @property
    def n(self) -> int:
        return int(self.value.shape[0])

    @property
    def n_period(self) -> float:
        """Complaints the set stands for: ``n * weight`` (one period's, after
        :meth:`per_period`)."""
        return self.n * self.weight

    def per_period(self, scale: float) -> CandidateOutcomes:
        """The same complaints as one budget period's: money (net value, compensation,
        lifetime and handling cost) times ``scale`` and each complaint counted ``scale``
        times, so budgets, spends and totals read per period.

        The budgeted choice is unchanged by the scaling (a budget ``B`` on the scaled costs
        buys what ``B / scale`` buys on the set's own), and so is every shadow price.

        >>> one = CandidateOutcomes(*(np.ones((1, 1)),) * 9, np.ones(1), np.ones(1), 0)
        >>> c = one.per_period(2.5)
        >>> float(c.cost[0, 0]), float(c.churn[0, 0]), c.n_period
        (2.5, 1.0, 2.5)
        """
        s = float(scale)
        return replace(
            self,
            value=self.value * s,
            value_lo=self.value_lo * s,
            value_hi=self.value_hi * s,
            cost=self.cost * s,
            lifetime_value=self.lifetime_value * s,
            handling_cost=self.handling_cost * s,
            weight=self.weight * s,
            unscaled=self._own,
        )

    def with_guardrails(self, guardrails: Guardrails | None) -> CandidateOutcomes:
        """The same outcomes, allocated under ``guardrails`` (None, or a catalog without
        any: exactly as without)."""
        return replace(self, guardrails=guardrails)

    @property
    def guarded(self) -> bool:
        """Whether allocations are guarded (there is a floor or a cap)."""
        g = self.guardrails
        return g is not None and (bool(g.caps) or bool(self._has_floor.any()))

    @property
    def _has_floor(self) -> np.ndarray:
        g = self.guardrails
        if g is None or g.floor is None:
            return np.zeros(self.n, dtype=bool)
        return ~np.isnan(np.asarray(g.floor, dtype=np.float64))

    @property
    def _own(self) -> tuple[np.ndarray, np.ndarray]:
        return self.unscaled if self.unscaled is not None else (self.value, self.cost)

    @cached_property
    def _floors(self) -> FloorCut:
        """The floors applied to the set's own compensation (:func:`apply_floors`)."""
        assert self.guardrails is not None
        return apply_floors(self._own[1], self.eligible, self.guardrails.floor)

    @property
    def owed(self) -> float | None:
        """What the floors set aside at every budget (``GuardrailCut.floor_spend``, per
        period): each floored complaint's cheapest option the floors leave. None unguarded."""
        if not self.guarded:
            return None
        required = np.where(self._floors.eligible, self.cost, np.inf).min(axis=1)
        return fsum(required[self._has_floor])

    @property
    def min_spend(self) -> float:
        """Spend of every complaint's cheapest eligible resolution (the least any budget
        needs); guarded, the cheapest the floors leave (what the guardrails require)."""
        if not self.n:
            return 0.0
        elig = self._floors.eligible if self.guarded else self.eligible
        return fsum(np.where(elig, self.cost, np.inf).min(axis=1))

    @property
    def unguarded_min_spend(self) -> float:
        """:attr:`min_spend` without the guardrails (the least any budget needs at all)."""
        return fsum(np.where(self.eligible, self.cost, np.inf).min(axis=1)) if self.n else 0.0

    def allocations(self, budgets: ArrayLike) -> dict[float, Allocation]:
        """The budgeted allocation at each budget (one upgrade list for all of them), or
        with guardrails the guarded one at each (see :meth:`guarded_allocation`).

        Raises:
            BudgetError: a budget below :attr:`min_spend` (guarded:
                :class:`~makegood.errors.GuardrailBudgetError` naming what is needed).
        """
        bs = sorted({float(b) for b in np.asarray(budgets, dtype=float).ravel()})
        if self.guarded:
            return {b: self.guarded_allocation(b) for b in bs}
        return dict(zip(bs, frontier(self.value, self.cost, self.eligible, bs), strict=True))

    def guarded_allocation(self, budget: float) -> Allocation:
        """:func:`~makegood.policy.guardrails.guarded_allocate` at ``budget`` (per period)
        on the set's own money at ``budget / weight``, read per period: the same choice and
        shadow price (money scales, so its ratio does not), spend and value summed on the
        per-period money, ``unconstrained_spend`` the guarded spend with every option
        affordable (:meth:`unconstrained_spend`).

        Raises:
            GuardrailBudgetError: ``budget`` cannot fund what the guardrails require.
        """
        assert self.guardrails is not None
        own_value, own_cost = self._own
        own_budget = float(budget) / self.weight
        if float(budget) >= self.min_spend:  # scaling must not turn an exact fit short
            own_budget = max(own_budget, fsum(self._floors.required))
        g = guarded_allocate(own_value, own_cost, self.eligible, own_budget, self.guardrails)
        rows = np.arange(self.n)
        return Allocation(
            choice=g.choice,
            spend=fsum(self.cost[rows, g.choice]),
            value=fsum(self.value[rows, g.choice]),
            shadow_price=g.allocation.shadow_price,
            n_repaired=g.allocation.n_repaired,
            unconstrained_spend=self.unconstrained_spend,
        )

    @cached_property
    def stops_paying(self) -> float | None:
        """Guarded: the least budget (per period, whole cents) where one more dollar stops
        paying for the guarded allocation (its shadow price is 0), None unguarded.

        Above the spend of the floors alone with no budget (``U_f``) every round of
        :func:`~makegood.policy.guardrails.guarded_allocate` affords every option left
        (each hold only lowers a complaint's best), so the answer is the unconstrained
        guarded one and the next dollar does not pay. Below, the caps' hold-back depends
        on the budget (it is not monotone), so the budget is found by bisection in cents
        between the guarded unconstrained spend and ``U_f``: a budget where the next
        dollar does not pay, one cent below which it does.
        """
        if not self.guarded:
            return None
        floor_only = frontier(self.value, self.cost, self._floors.eligible, [self.min_spend])[0]
        top = floor_only.unconstrained_spend
        hi = math.ceil((top + max(0.01, top * 1e-6)) * 100)
        lo = max(math.ceil(self.unconstrained_spend * 100), math.ceil(self.min_spend * 100))

        def pays(cents: int) -> bool:
            return self.guarded_allocation(cents / 100).shadow_price > 1e-9

        if lo >= hi or not pays(lo):
            return min(lo, hi) / 100
        while hi - lo > 1:  # pays(lo), not pays(hi)
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if pays(mid) else (lo, mid)
        return hi / 100

    @cached_property
    def unconstrained_spend(self) -> float:
        """What the best choice costs with no budget: unguarded the upgrade list's
        (``Allocation.unconstrained_spend``); guarded, the spend of the guarded allocation
        at a budget that affords every option (the caps then decide alone)."""
        if not self.guarded:
            b = self.min_spend
            return self.allocations([b])[b].unconstrained_spend
        assert self.guardrails is not None
        own_value, own_cost = self._own
        every = fsum(np.where(self.eligible, own_cost, 0.0).max(axis=1)) + 1.0
        g = guarded_allocate(own_value, own_cost, self.eligible, every, self.guardrails)
        return fsum(self.cost[np.arange(self.n), g.choice])

    def totals(self, choice: np.ndarray) -> dict[str, float]:
        """Unrounded totals of a choice (one resolution index per complaint)."""
        rows = np.arange(self.n)
        ltv = self.lifetime_value
        churn = self.churn[rows, choice]
        return {
            "spend": fsum(self.cost[rows, choice]),
            "net_value": fsum(self.value[rows, choice]),
            "net_value_lo": fsum(self.value_lo[rows, choice]),
            "net_value_hi": fsum(self.value_hi[rows, choice]),
            "retained_value": fsum(ltv * (1.0 - churn)),
            # a higher churn bound gives the lower retained value
            "retained_value_lo": fsum(ltv * (1.0 - self.churn_hi[rows, choice])),
            "retained_value_hi": fsum(ltv * (1.0 - self.churn_lo[rows, choice])),
            "expected_churners": fsum(churn) * self.weight,
            "expected_churners_lo": fsum(self.churn_lo[rows, choice]) * self.weight,
            "expected_churners_hi": fsum(self.churn_hi[rows, choice]) * self.weight,
            "mean_satisfaction": float(np.mean(self.satisfaction[rows, choice]))
            if self.n
            else math.nan,
            "handling_cost": fsum(self.handling_cost[choice]),
        }

    def baseline_choice(self) -> np.ndarray:
        return np.full(self.n, self.baseline_index, dtype=np.int64)


_TOTAL_DIGITS = {
    "expected_churners": 2,
    "expected_churners_lo": 2,
    "expected_churners_hi": 2,
    "mean_satisfaction": 3,
}


def rounded_totals(totals: dict[str, float]) -> dict[str, float | None]:
    return {k: report_round(v, _TOTAL_DIGITS.get(k, 2)) for k, v in totals.items()}


def allocated_totals(cands: CandidateOutcomes, alloc: Allocation) -> dict[str, float]:
    """Totals of an allocation, with its own correctly rounded spend and value."""
    t = cands.totals(alloc.choice)
    t["spend"], t["net_value"] = alloc.spend, alloc.value
    return t
