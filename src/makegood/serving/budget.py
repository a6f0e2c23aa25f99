"""The compensation budget as the service reads and sets it: the period of a moment, the
budget's state, its paced shadow price (:func:`makegood.policy.pacing.pacing_shadow_price`)
and the answers of ``GET``/``PUT /v1/budget``."""

from __future__ import annotations

import functools
from datetime import datetime

from makegood.contract.units import utc_now
from makegood.errors import BudgetNotFoundError
from makegood.policy.pacing import pacing_shadow_price
from makegood.serving.response_schemas import BudgetOut, TeamBudgetOut
from makegood.serving.service import Service
from makegood.serving.settings import Settings
from makegood.store.ledger import BudgetState

__all__ = ["budget", "budget_state", "budget_view", "current_period", "set_budget", "shadow_price"]


def current_period(now: datetime) -> str:
    """The monthly period ``YYYY-MM`` of ``now``.

    >>> current_period(datetime(2026, 3, 9))
    '2026-03'
    """
    return f"{now.year:04d}-{now.month:02d}"


def budget_state(
    service: Service, period: str, team: str | None, now: datetime
) -> BudgetState | None:
    """The budget of ``period`` for ``team`` at ``now``; None when there is none."""
    try:
        return service.ledger.get_budget(period, team, now=now)
    except BudgetNotFoundError:
        return None


def shadow_price(settings: Settings, state: BudgetState | None, now: datetime) -> float:
    """The price of a unit of compensation now: the configured one without a budget,
    else paced by how much of the budget is spent against how much of its period ran."""
    if state is None:
        return settings.shadow_price
    return pacing_shadow_price(
        settings.shadow_price,
        state.spent_fraction,
        state.elapsed_fraction(now),
        gain=settings.pacing_gain,
    )


def budget_view(settings: Settings, state: BudgetState, now: datetime | None = None) -> BudgetOut:
    """A budget as finance reads it at ``now`` (default: now; ``by_team`` empty);
    ``available`` is the ledger's one figure (:attr:`BudgetState.available`)."""
    now = now or utc_now()
    return BudgetOut(
        period=state.period,
        team=state.team,
        amount=float(state.amount),
        committed=float(state.committed),
        reserved=float(state.reserved),
        held=float(state.reserved),
        available=float(state.available),
        spent_fraction=state.spent_fraction,
        elapsed_fraction=state.elapsed_fraction(now),
        shadow_price=shadow_price(settings, state, now),
        base_shadow_price=settings.shadow_price,
        period_start=state.period_start,
        period_end=state.period_end,
        by_team=[],
    )


def budget(service: Service, period: str | None, team: str | None) -> BudgetOut:
    """The budget of ``period`` (default: this UTC month) with every team's budget of
    the period. Raises BudgetNotFoundError."""
    now = utc_now()
    period = period or current_period(now)
    state = service.ledger.get_budget(period, team, now=now)
    view = budget_view(service.settings, state, now)
    view.by_team = [
        TeamBudgetOut(
            team=b.team,
            amount=float(b.amount),
            committed=float(b.committed),
            held=float(b.reserved),
            available=float(b.available),
        )
        for b in service.ledger.budgets(period, now=now)
    ]
    return view


def set_budget(
    service: Service,
    period: str,
    amount: float,
    *,
    team: str | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
) -> BudgetOut:
    """Create or change a budget (on the ledger's writer threads); its view.

    Raises BudgetError."""
    state = service.writes.run(
        functools.partial(
            service.ledger.set_budget,
            period,
            amount,
            team=team,
            period_start=period_start,
            period_end=period_end,
        )
    )
    return budget_view(service.settings, state)
