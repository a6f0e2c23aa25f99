"""Holds that lapse: a reservation whose ``expires_at`` has passed is marked expired and
its compensation returned to the budget's reserved total, in the transaction of the next
write that locks the budget (or by :func:`expire_all`); reads count it as returned at
once (:func:`live_budget_state`)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, func, select, update

from makegood.contract.units import from_cents, naive_utc
from makegood.store.ledger.budget_rows import budget_row, budget_state, lock_budget
from makegood.store.ledger.schema import budgets, decisions
from makegood.store.ledger.values import BudgetState, DecisionStatus

__all__ = [
    "expire_all",
    "expire_overdue",
    "holding",
    "live_budget_state",
    "locked_budget",
    "overdue",
]


def overdue(now: datetime) -> Any:
    """The condition on ``decisions`` of a reservation lapsed by ``now``."""
    return and_(
        decisions.c.status == DecisionStatus.RESERVED.value,
        decisions.c.expires_at <= now,
    )


def holding(now: datetime) -> Any:
    """The condition on ``decisions`` of a hold still live at ``now`` (what
    :func:`live_budget_state` counts as held)."""
    return and_(
        decisions.c.status == DecisionStatus.RESERVED.value,
        decisions.c.expires_at > naive_utc(now),
    )


_OVERDUE_IN_BUDGET = select(
    func.count(), func.coalesce(func.sum(decisions.c.compensation_cents), 0)
).where(
    decisions.c.status == DecisionStatus.RESERVED.value,
    decisions.c.expires_at <= bindparam("now_"),
    decisions.c.budget_id == bindparam("b_id"),
)


def expire_overdue(conn: Connection, now: datetime, budget_id: int | None) -> int:
    """Expire the overdue reservations of one budget (caller holds its lock), or of
    no budget when ``budget_id`` is None; returns how many."""
    if budget_id is not None:  # the hot path (every reservation): a prebuilt statement
        n_overdue, held = conn.execute(_OVERDUE_IN_BUDGET, {"b_id": budget_id, "now_": now}).one()
        if not n_overdue:
            return 0
    in_scope = (
        decisions.c.budget_id.is_(None) if budget_id is None else decisions.c.budget_id == budget_id
    )
    condition = and_(overdue(now), in_scope)
    if budget_id is None:
        n_overdue, held = conn.execute(
            select(func.count(), func.coalesce(func.sum(decisions.c.compensation_cents), 0)).where(
                condition
            )
        ).one()
        if not n_overdue:
            return 0
    conn.execute(
        update(decisions)
        .where(condition)
        .values(status=DecisionStatus.EXPIRED.value, closed_at=now, updated_at=now)
    )
    if budget_id is not None and held:
        conn.execute(
            update(budgets)
            .where(budgets.c.budget_id == budget_id)
            .values(reserved_cents=budgets.c.reserved_cents - int(held), updated_at=now)
        )
    return int(n_overdue)


def locked_budget(conn: Connection, budget_id: int, now: datetime) -> Row[Any]:
    """Lock the budget (before any of its decisions: one lock order), expire its holds
    lapsed by ``now``, and read it."""
    lock_budget(conn, budget_id)
    expire_overdue(conn, now, budget_id)
    return budget_row(conn, budget_id)


def expire_all(conn: Connection, now: datetime) -> int:
    """Expire every reservation lapsed by ``now``, budget by budget (each locked, in
    ascending id order: one lock order, no deadlock); returns how many."""
    budget_ids = (
        conn.execute(
            select(decisions.c.budget_id)
            .where(overdue(now), decisions.c.budget_id.is_not(None))
            .distinct()
            .order_by(decisions.c.budget_id)
        )
        .scalars()
        .all()
    )
    n_expired = 0
    for budget_id in budget_ids:
        lock_budget(conn, budget_id)
        n_expired += expire_overdue(conn, now, budget_id)
    n_expired += expire_overdue(conn, now, None)
    return n_expired


def live_budget_state(conn: Connection, row: Row[Any], now: datetime) -> BudgetState:
    """The budget's state with the holds that lapsed by ``now`` returned (read only).

    The one figure of what is available (:attr:`BudgetState.available`, ``amount -
    committed - held`` with lapsed holds excluded): ``GET /v1/budget``, the queue's
    budget line, the cards' "fits budget" (through :meth:`Ledger.get_budget` with a
    ``now``) and the period report all read it; reservations count the same way (they
    expire lapsed holds before fitting)."""
    now = naive_utc(now)
    state = budget_state(row)
    if not row.reserved_cents:
        return state
    _, lapsed = conn.execute(_OVERDUE_IN_BUDGET, {"b_id": row.budget_id, "now_": now}).one()
    if not lapsed:
        return state
    return dataclasses.replace(state, reserved=from_cents(row.reserved_cents - int(lapsed)))
