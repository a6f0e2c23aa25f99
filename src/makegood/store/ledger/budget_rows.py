"""Budget rows inside a ledger transaction: which budget a decision spends from, reading
and locking it, creating or changing it, and the sums recomputed from the decisions.

Budgets are scoped by ``(period, team)``: a decision for a team spends from that team's
budget when one exists, otherwise from the company-wide budget of the period (team "").
A budget is always locked before any decision of it (one lock order everywhere).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from makegood.contract.units import from_cents
from makegood.errors import BudgetError
from makegood.store.ledger.checks import check_bounds, month_bounds, team_key
from makegood.store.ledger.schema import budgets, decisions
from makegood.store.ledger.values import BudgetState, DecisionStatus

__all__ = [
    "ADD_RESERVED",
    "applicable_budget",
    "audited_state",
    "available_of",
    "budget_by_scope",
    "budget_row",
    "budget_state",
    "committed_by_day",
    "find_budget_id",
    "lock_budget",
    "no_budget_message",
    "write_budget",
]

_BUDGET_BY_SCOPE = select(budgets).where(
    budgets.c.period == bindparam("period_"), budgets.c.team == bindparam("team_")
)
_BUDGET_BY_ID = select(budgets).where(budgets.c.budget_id == bindparam("b_id"))
# FOR UPDATE on PostgreSQL; SQLite renders nothing (BEGIN IMMEDIATE holds the lock).
_BUDGET_BY_SCOPE_LOCKED = _BUDGET_BY_SCOPE.with_for_update()
_BUDGET_BY_ID_LOCKED = _BUDGET_BY_ID.with_for_update()
#: adds ``delta`` cents to a budget's reserved total (parameters b_id, delta, now_)
ADD_RESERVED = (
    update(budgets)
    .where(budgets.c.budget_id == bindparam("b_id"))
    .values(
        reserved_cents=budgets.c.reserved_cents + bindparam("delta"), updated_at=bindparam("now_")
    )
)


def find_budget_id(conn: Connection, period: str, team: str | None) -> int | None:
    """The team's budget if it has one, else the company-wide one, else None."""
    key = team_key(team)
    rows = conn.execute(
        select(budgets.c.budget_id, budgets.c.team).where(
            budgets.c.period == period, budgets.c.team.in_({key, ""})
        )
    ).all()
    by_team = {row.team: row.budget_id for row in rows}
    return by_team.get(key, by_team.get(""))


def applicable_budget(
    conn: Connection, period: str, team: str | None, *, lock: bool = False
) -> Row[Any] | None:
    """The row of the budget a decision for ``(period, team)`` spends from (see
    :func:`find_budget_id`), locked when ``lock``; one statement when company-wide."""
    if team_key(team) == "":
        query = _BUDGET_BY_SCOPE_LOCKED if lock else _BUDGET_BY_SCOPE
        return conn.execute(query, {"period_": period, "team_": ""}).first()
    budget_id = find_budget_id(conn, period, team)
    if budget_id is None:
        return None
    query = _BUDGET_BY_ID_LOCKED if lock else _BUDGET_BY_ID
    return conn.execute(query, {"b_id": budget_id}).one()


def budget_by_scope(conn: Connection, period: str, key: str) -> Row[Any]:
    return conn.execute(
        select(budgets).where(budgets.c.period == period, budgets.c.team == key)
    ).one()


def budget_row(conn: Connection, budget_id: int) -> Row[Any]:
    return conn.execute(select(budgets).where(budgets.c.budget_id == budget_id)).one()


def lock_budget(conn: Connection, budget_id: int) -> None:
    # FOR UPDATE on PostgreSQL; SQLite renders nothing, BEGIN IMMEDIATE holds the lock.
    conn.execute(
        select(budgets.c.budget_id).where(budgets.c.budget_id == budget_id).with_for_update()
    ).one()


def budget_state(row: Row[Any]) -> BudgetState:
    return BudgetState(
        period=row.period,
        team=row.team or None,
        amount=from_cents(row.amount_cents),
        committed=from_cents(row.committed_cents),
        reserved=from_cents(row.reserved_cents),
        period_start=row.period_start,
        period_end=row.period_end,
    )


def available_of(budget: Row[Any] | None) -> Decimal:
    """What a budget row still allows (0 without a budget)."""
    if budget is None:
        return from_cents(0)
    return from_cents(budget.amount_cents - budget.committed_cents - budget.reserved_cents)


def no_budget_message(period: str, team: str | None) -> str:
    scope = f"team {team!r} nor company-wide" if team else "company-wide"
    return f"no budget for period {period!r} ({scope})"


def write_budget(
    conn: Connection,
    period: str,
    key: str,
    cents: int,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    team: str | None,
    amount: Any,
) -> BudgetState:
    """Create the budget of ``(period, key)`` or change its amount and bounds (the row
    locked); ``team`` and ``amount`` are as the caller gave them, for errors.

    Raises:
        BudgetError: if the bounds are missing or out of order, or ``cents`` is below
            what is already committed plus reserved.
        sqlalchemy.exc.IntegrityError: if another transaction created the scope first.
    """
    row = conn.execute(
        select(budgets).where(budgets.c.period == period, budgets.c.team == key).with_for_update()
    ).first()
    if row is None:
        if start is None or end is None:
            start, end = month_bounds(period, start, end)
        check_bounds(start, end)
        conn.execute(
            budgets.insert().values(
                period=period,
                team=key,
                amount_cents=cents,
                committed_cents=0,
                reserved_cents=0,
                period_start=start,
                period_end=end,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        _change_budget(conn, row, cents, start=start, end=end, now=now, team=team, amount=amount)
    return budget_state(budget_by_scope(conn, period, key))


def _change_budget(
    conn: Connection,
    row: Row[Any],
    cents: int,
    *,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    team: str | None,
    amount: Any,
) -> None:
    new_start = start or row.period_start
    new_end = end or row.period_end
    check_bounds(new_start, new_end)
    spent = row.committed_cents + row.reserved_cents
    if cents < spent:
        raise BudgetError(
            f"amount must be >= what is already committed plus reserved "
            f"({from_cents(spent)}) for period {row.period!r}, team {team!r}. "
            f"Got {amount!r} instead."
        )
    conn.execute(
        update(budgets)
        .where(budgets.c.budget_id == row.budget_id)
        .values(
            amount_cents=cents,
            period_start=new_start,
            period_end=new_end,
            updated_at=now,
        )
    )


def audited_state(conn: Connection, budget_id: int) -> BudgetState:
    """The budget with its totals recomputed from its decision rows."""
    row = budget_row(conn, budget_id)
    reserved, committed = conn.execute(
        select(
            func.coalesce(
                func.sum(decisions.c.compensation_cents).filter(
                    decisions.c.status == DecisionStatus.RESERVED.value
                ),
                0,
            ),
            func.coalesce(
                func.sum(decisions.c.final_compensation_cents).filter(
                    decisions.c.status == DecisionStatus.COMMITTED.value
                ),
                0,
            ),
        ).where(decisions.c.budget_id == budget_id)
    ).one()
    return dataclasses.replace(
        budget_state(row), committed=from_cents(int(committed)), reserved=from_cents(int(reserved))
    )


def committed_by_day(conn: Connection, budget_id: int) -> dict[date, Decimal]:
    """Committed compensation of the budget per UTC day of commit, in day order."""
    rows = conn.execute(
        select(decisions.c.closed_at, decisions.c.final_compensation_cents)
        .where(
            decisions.c.budget_id == budget_id,
            decisions.c.status == DecisionStatus.COMMITTED.value,
        )
        .order_by(decisions.c.closed_at)
    ).all()
    by_day: dict[date, int] = {}
    for closed_at, cents in rows:
        day = closed_at.date()
        by_day[day] = by_day.get(day, 0) + cents
    return {day: from_cents(cents) for day, cents in by_day.items()}
