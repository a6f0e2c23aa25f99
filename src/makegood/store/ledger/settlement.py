"""Settlement inside a ledger transaction: a decision is committed (its compensation
becomes spend) or released (its hold freed, an override's compensation committed), in
the lock order budget then decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, update

from makegood.contract.units import from_cents
from makegood.errors import BudgetExceededError, DecisionStateError
from makegood.store.ledger.budget_rows import find_budget_id, no_budget_message
from makegood.store.ledger.decision_rows import decision_from_row, decision_row
from makegood.store.ledger.expiry import locked_budget
from makegood.store.ledger.schema import budgets, decisions
from makegood.store.ledger.values import Decision, DecisionStatus, Within

__all__ = ["settle_decision"]


def settle_decision(
    conn: Connection,
    decision_id: str,
    *,
    target: DecisionStatus,
    final_resolution: str | None,
    final_cents: int | None,
    reason: str | None,
    now: datetime,
    within: Within | None = None,
) -> Decision:
    """Move the decision to ``target`` (committed or released) spending ``final_cents``
    (None: what it holds); repeating a settlement with the same values changes nothing.
    ``within`` runs in the transaction when the decision changes state.

    Raises:
        BudgetExceededError: if the spend beyond what is held does not fit.
        DecisionNotFoundError: if no decision has this id.
        DecisionStateError: if the decision cannot move to ``target``.
    """
    row = decision_row(conn, decision_id)
    budget_id = row.budget_id
    spend = row.compensation_cents if final_cents is None else final_cents
    if target is not DecisionStatus.COMMITTED:
        spend = 0
    if budget_id is None and spend > 0:
        budget_id = find_budget_id(conn, row.period, row.team)
    budget = None if budget_id is None else locked_budget(conn, budget_id, now)
    # Re-read under lock: the decision may have moved since the first read.
    row = decision_row(conn, decision_id, for_update=True)
    status = DecisionStatus(row.status)
    if status is target:
        return _repeated(row, final_resolution, final_cents, reason)
    _check_settleable(decision_id, status, target)
    held = row.compensation_cents if status is DecisionStatus.RESERVED else 0
    if spend > held:
        _check_spend_fits(row, budget, held, spend)
    if budget is not None and (held or spend):
        conn.execute(
            update(budgets)
            .where(budgets.c.budget_id == budget_id)
            .values(
                committed_cents=budgets.c.committed_cents + spend,
                reserved_cents=budgets.c.reserved_cents - held,
                updated_at=now,
            )
        )
    if final_resolution is None and target is DecisionStatus.COMMITTED:
        final_resolution = row.recommended_resolution
    conn.execute(
        update(decisions)
        .where(decisions.c.decision_id == decision_id)
        .values(
            status=target.value,
            budget_id=budget_id,
            final_resolution=final_resolution,
            final_compensation_cents=spend,
            override_reason=reason,
            closed_at=now,
            updated_at=now,
        )
    )
    decision = decision_from_row(decision_row(conn, decision_id))
    if within is not None:
        within(conn, decision, now)
    return decision


def _repeated(
    row: Row[Any], final_resolution: str | None, final_cents: int | None, reason: str | None
) -> Decision:
    """The decision already settled as asked: unchanged when the values agree (or are
    not given), else refused."""
    if (
        final_resolution in (None, row.final_resolution)
        and (final_cents is None or final_cents == row.final_compensation_cents)
        and reason in (None, row.override_reason)
    ):
        return decision_from_row(row)
    raise DecisionStateError(
        f"decision {row.decision_id} is already {row.status} with resolution "
        f"{row.final_resolution!r} and compensation "
        f"{from_cents(row.final_compensation_cents or 0)}"
    )


def _check_settleable(decision_id: str, status: DecisionStatus, target: DecisionStatus) -> None:
    if status not in (DecisionStatus.RESERVED, DecisionStatus.EXPIRED):
        raise DecisionStateError(
            f"decision {decision_id} is {status.value}; only a reserved or expired "
            f"decision can be {target.value}"
            + (
                " (a declined decision holds no budget: reserve a cheaper option)"
                if status is DecisionStatus.DECLINED
                else ""
            )
        )


def _check_spend_fits(row: Row[Any], budget: Row[Any] | None, held: int, spend: int) -> None:
    if budget is None:
        raise BudgetExceededError(no_budget_message(row.period, row.team))
    total = budget.committed_cents + budget.reserved_cents - held + spend
    if total > budget.amount_cents:
        raise BudgetExceededError(
            f"committing {from_cents(spend)} for decision {row.decision_id} would "
            f"take committed plus reserved to {from_cents(total)}, above the "
            f"budget of {from_cents(budget.amount_cents)} for period "
            f"{budget.period!r}"
        )
