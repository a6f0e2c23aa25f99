"""Page one of the finance report: one budget, what it buys against today's practice (or
the baseline for everyone), and what another ``extra_budget`` would buy.

:func:`headline` is the page's only builder; it reads the complaint set's
:class:`~makegood.reporting.outcomes.CandidateOutcomes`, the allocations at the budget and
at the budget plus the extra, and the current practice when there is a history.
"""

from __future__ import annotations

import numpy as np

from makegood.contract.units import round_cents
from makegood.policy.budget import Allocation
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.numbers import sum_ci
from makegood.reporting.outcomes import CandidateOutcomes, allocated_totals
from makegood.reporting.practice import VERSUS_PRACTICE_METHOD, CurrentPractice
from makegood.reporting.sections import extra_budget_effect

__all__ = [
    "VERSUS_BASELINE_METHOD",
    "VERSUS_PRACTICE_METHOD",
    "headline",
    "versus_baseline",
    "versus_practice",
]

VERSUS_BASELINE_METHOD = (
    "model predictions; 95% intervals from the spread of per-complaint differences (normal "
    "approximation): the variation between batches like this one, not the model's error"
)


def headline(
    cands: CandidateOutcomes,
    budget: float,
    basis: str,
    alloc: Allocation,
    alloc_extra: Allocation,
    extra_budget: float,
    base: dict[str, float],
    practice: CurrentPractice | None,
    meta: dict,
) -> dict:
    """The first page: one budget, what it buys against today's practice, and $10,000 more.

    With a history, today's practice is the logged policy: makegood's allocation at the
    same budget per complaint on the history is valued off-policy against it
    (:meth:`CurrentPractice.versus`). Without one, the comparison is with the baseline
    resolution for everyone, from the model alone.
    """
    t = allocated_totals(cands, alloc)
    if practice is not None:
        comparison = versus_practice(cands, budget, practice)
    else:
        comparison = versus_baseline(cands, alloc, t, base)
    return {
        "budget": _r(budget),
        "basis": basis,
        "spend": _r(t["spend"]),
        "retained_value": _r(t["retained_value"]),
        "net_value": _r(t["net_value"]),
        "expected_churners": _r(t["expected_churners"], 2),
        "shadow_price": _r(alloc.shadow_price, 6),
        "comparison": comparison,
        "extra": extra_budget_effect(cands, budget, alloc, alloc_extra, extra_budget),
        "model_version": meta["model_version"],
        "mlflow_run_id": meta["mlflow_run_id"],
    }


def versus_practice(cands: CandidateOutcomes, budget: float, practice: CurrentPractice) -> dict:
    """makegood at the same budget per complaint on the history, valued off-policy against
    the logged policy, as totals over the batch (:meth:`CurrentPractice.versus`)."""
    hist_budget = max(round_cents(budget / cands.n * practice.n), practice.cands.min_spend)
    hist_alloc = practice.cands.allocations([hist_budget])[hist_budget]
    return {
        "versus": "current practice",
        "method": VERSUS_PRACTICE_METHOD,
        "history_budget": _r(hist_budget),
        **practice.versus(hist_alloc.choice, cands.n),
    }


def versus_baseline(
    cands: CandidateOutcomes, alloc: Allocation, totals: dict[str, float], base: dict[str, float]
) -> dict:
    """The allocation against the baseline resolution for everyone, from the model alone;
    intervals on the per-complaint differences (:func:`~makegood.reporting.numbers.sum_ci`)."""
    rows = np.arange(cands.n)
    base_choice = cands.baseline_choice()
    ltv = cands.lifetime_value
    churn_mg = cands.churn[rows, alloc.choice]
    churn_base = cands.churn[rows, base_choice]
    net_mg = cands.value[rows, alloc.choice]
    net_base = cands.value[rows, base_choice]
    return {
        "versus": "baseline for everyone",
        "method": VERSUS_BASELINE_METHOD,
        "history_budget": None,
        "practice": {
            "spend": _r(base["spend"]),
            "retained_value": _r(base["retained_value"]),
            "churners": _r(base["expected_churners"], 2),
            "net_value": _r(base["net_value"]),
        },
        "makegood": {
            "spend": _r(totals["spend"]),
            "retained_value": sum_ci(ltv * (1.0 - churn_mg), cands.n),
            "churners": sum_ci(churn_mg, cands.n),
            "net_value": sum_ci(net_mg, cands.n),
        },
        "gain": {
            "retained_value": sum_ci(ltv * (churn_base - churn_mg), cands.n),
            "churn_avoided": sum_ci(churn_base - churn_mg, cands.n),
            "net_value": sum_ci(net_mg - net_base, cands.n),
        },
    }
