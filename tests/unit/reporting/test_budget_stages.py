"""The budget report's planning stage: which budgets get allocated, and page one's budget."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from makegood.errors import BudgetError
from makegood.reporting.budget import plan_budgets
from makegood.reporting.frontier import default_budgets
from makegood.reporting.outcomes import CandidateOutcomes
from makegood.reporting.pacing import BudgetPeriod, PeriodPacing


def _outcomes() -> CandidateOutcomes:
    """Three complaints; the baseline costs 0, upgrades cost 10 and 40 and pay."""
    cost = np.array([[0.0, 10.0, 40.0]] * 3)
    churn = np.array([[0.5, 0.3, 0.1]] * 3)
    ltv = np.array([500.0, 800.0, 300.0])
    value = ltv[:, None] * (1 - churn) - cost
    return CandidateOutcomes(
        value=value,
        value_lo=value - 5,
        value_hi=value + 5,
        cost=cost,
        eligible=np.ones((3, 3), bool),
        churn=churn,
        churn_lo=churn - 0.05,
        churn_hi=churn + 0.05,
        satisfaction=np.full((3, 3), 7.0),
        lifetime_value=ltv,
        handling_cost=np.zeros(3),
        baseline_index=0,
    )


def _pacing(per_day: float = 1.0, days: int = 30) -> PeriodPacing:
    period = BudgetPeriod(f"days:{days}", float(days))
    return PeriodPacing(
        np.full(7, per_day), days, pd.Timestamp("2026-03-02"), days, "test", per_day, period
    )


def test_without_chosen_budgets_the_defaults_are_planned_and_page_one_is_recommended():
    cands = _outcomes()
    plan = plan_budgets(cands, None, None, n_frontier=5, extra_budget=100.0)
    assert plan.min_spend == 0.0 and plan.unconstrained_spend == 120.0
    assert plan.chosen == default_budgets(0.0, 120.0)
    assert plan.basis == "recommended" and plan.headline == plan.grid[-1]
    assert len(plan.grid) == 5 and plan.grid[-1] > plan.unconstrained_spend
    for b in [*plan.chosen, plan.headline]:
        assert b in plan.frontier and plan.plus_extra(b) in plan.frontier
    assert plan.frontier == sorted(set(plan.frontier))
    assert set(plan.to_allocate) == set(plan.frontier)


def test_one_chosen_budget_stands_beside_the_recommended_one():
    plan = plan_budgets(_outcomes(), [30.004], None, n_frontier=4, extra_budget=10.0)
    assert plan.chosen == [30.0]  # whole cents
    assert plan.basis == "recommended" and plan.headline == plan.grid[-1]
    assert 30.0 in plan.frontier and 40.0 in plan.frontier


def test_several_chosen_budgets_leave_page_one_at_the_recommended_budget():
    plan = plan_budgets(_outcomes(), [50.0, 10.0], None, n_frontier=4)
    assert plan.chosen == [10.0, 50.0]
    assert plan.basis == "recommended" and plan.headline == plan.grid[-1]


def test_a_period_budget_buys_what_the_same_budget_per_complaint_buys_on_the_set():
    # 30 days of 1 complaint a day: the 3 complaints stand for 30; a budget of 300 a
    # period is 10 per complaint, 30 for the set's own 3
    raw = _outcomes()
    scale = _pacing().scale(raw.n)
    assert scale == 10.0
    cands = raw.per_period(scale)
    assert cands.n_period == 30.0 and cands.min_spend == 0.0
    plan = plan_budgets(cands, [300.0], None, n_frontier=4)
    assert plan.unconstrained_spend == pytest.approx(
        10 * raw.allocations([0.0])[0.0].unconstrained_spend
    )
    per_period = cands.allocations([300.0])[300.0]
    own = raw.allocations([30.0])[30.0]
    assert per_period.choice.tolist() == own.choice.tolist()
    assert per_period.spend == pytest.approx(10 * own.spend)
    assert per_period.value == pytest.approx(10 * own.value)
    assert per_period.shadow_price == pytest.approx(own.shadow_price)
    t, t_own = cands.totals(per_period.choice), raw.totals(own.choice)
    assert t["expected_churners"] == pytest.approx(10 * t_own["expected_churners"])
    assert t["mean_satisfaction"] == pytest.approx(t_own["mean_satisfaction"])


@pytest.mark.parametrize(
    ("text", "days", "noun"),
    [("month", 365.25 / 12, "month"), ("Quarter", 91.3125, "quarter"), ("year", 365.25, "year"),
     ("days:7", 7.0, "7 days")],
)  # fmt: skip
def test_periods_parse(text, days, noun):
    p = BudgetPeriod.parse(text)
    assert p.days == pytest.approx(days) and p.noun == noun


@pytest.mark.parametrize("bad", ["week", "days:0", "days:x", "days:99999", "", "month "[:0]])
def test_unknown_periods_are_refused_by_name(bad):
    with pytest.raises(BudgetError, match=r"period must be month, quarter, year or days:N"):
        BudgetPeriod.parse(bad)


def test_a_budget_below_the_minimum_spend_names_both():
    cands = _outcomes()
    cands.cost[:, 0] = 5.0  # every complaint now costs at least 5: minimum spend 15
    with pytest.raises(BudgetError, match=r"budget 10.00 is below the minimum spend 15.00"):
        plan_budgets(cands, [10.0], None)
