"""The per-candidate predictions of a complaint set: the inputs of every budget-report number.

:class:`CandidateOutcomes` holds, for each complaint and each resolution of the catalog,
the net value the policy maximises, its compensation, eligibility, churn and satisfaction
(with intervals); it allocates budgets (:mod:`makegood.policy.budget`) and adds up the
totals of a choice. The frontier, the chosen budgets' sections, the first page and the
current-practice comparison are all computed from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from makegood.modeling.predict import Scores
from makegood.policy.budget import Allocation, frontier
from makegood.reporting.numbers import fsum, report_round

__all__ = ["CandidateOutcomes", "allocated_totals", "rounded_totals"]


@dataclass(frozen=True)
class CandidateOutcomes:
    """Per-candidate predictions of a complaint set, the inputs of every report number.

    Arrays are (n, K) in catalog order unless noted; ``value`` is the net value the policy
    maximises (``LTV * (1 - churn) - compensation - handling_cost``).
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
    def min_spend(self) -> float:
        """Spend of every complaint's cheapest eligible resolution (the least any budget needs)."""
        return fsum(np.where(self.eligible, self.cost, np.inf).min(axis=1)) if self.n else 0.0

    def allocations(self, budgets: ArrayLike) -> dict[float, Allocation]:
        """The budgeted allocation at each budget (one upgrade list for all of them)."""
        bs = sorted({float(b) for b in np.asarray(budgets, dtype=float).ravel()})
        return dict(zip(bs, frontier(self.value, self.cost, self.eligible, bs), strict=True))

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
            "expected_churners": fsum(churn),
            "expected_churners_lo": fsum(self.churn_lo[rows, choice]),
            "expected_churners_hi": fsum(self.churn_hi[rows, choice]),
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
