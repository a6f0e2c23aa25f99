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
from makegood.store.ledger.case_money import apply_freed, lock_case, offer_cents, settle_case
from makegood.store.ledger.decision_rows import decision_from_row, decision_row
from makegood.store.ledger.schema import budgets, decisions
from makegood.store.ledger.values import CaseOf, Decision, DecisionStatus, Within, WrapUp

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
    case_of: CaseOf | None = None,
    wrap_up: WrapUp | None = None,
) -> Decision:
    """Move the decision to ``target`` (committed or released) spending ``final_cents``
    (None: what it holds); repeating a settlement with the same values changes nothing.
    ``within`` runs in the transaction when the decision changes state.

    With ``case_of`` the decision is settled in its case (:mod:`.case_money`): it
    commits its card's compensation (``final_cents``, else the ranking's amount of the
    resolution given) less what the case was given already, paid from its hold, then
    from the case's other holds, then from the budget; the case's other holds keep no
    more than their cards could still add. ``wrap_up`` is stored with the decision.

    Raises:
        BudgetExceededError: if the spend beyond what is held does not fit.
        DecisionNotFoundError: if no decision has this id.
        DecisionStateError: if the decision cannot move to ``target``.
    """
    row = decision_row(conn, decision_id)
    budget_id = row.budget_id
    commit = target is DecisionStatus.COMMITTED
    if final_cents is not None:
        offer = final_cents
    elif case_of is not None:
        offer = offer_cents(row, final_resolution)
    else:
        offer = row.compensation_cents
    # a decision owed beyond its budget spends from none (up to what is owed)
    beyond = budget_id is None and int(row.owed_cents or 0) > 0
    if budget_id is None and commit and offer > 0 and not beyond:
        budget_id = find_budget_id(conn, row.period, row.team)
    others = [] if case_of is None else [d for d in case_of(conn, decision_id) if d != decision_id]
    # Lock order: budgets (ascending), then decisions; re-read the decision under lock.
    locked, other_rows = lock_case(conn, row, others, budget_id, now)
    budget = None if budget_id is None else locked[budget_id]
    row = decision_row(conn, decision_id, for_update=True)
    case = settle_case(
        row, other_rows, offer=offer, commit=commit, budget_id=budget_id, locked=locked
    )
    status = DecisionStatus(row.status)
    if status is target:
        return _repeated(row, final_resolution, final_cents, reason, case.spend)
    _check_settleable(decision_id, status, target)
    held = row.compensation_cents if status is DecisionStatus.RESERVED else 0
    spend = case.spend
    if spend > (max(case.room, int(row.owed_cents)) if beyond else case.room):
        _check_spend_fits(row, budget, case.room, spend)
    # the case's freed holds first: the budget's CHECK (committed + reserved <= amount)
    # holds after every statement
    apply_freed(conn, case, decision_id, now)
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
    if final_resolution is None and commit:
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
            **_wrap_up_values(wrap_up),
        )
    )
    decision = decision_from_row(decision_row(conn, decision_id))
    if within is not None:
        within(conn, decision, now)
    return decision


def _wrap_up_values(wrap_up: WrapUp | None) -> dict[str, str | None]:
    if wrap_up is None:
        return {}
    return {"wrap_up_code": wrap_up.code, "wrap_up_note": wrap_up.note}


def _repeated(
    row: Row[Any],
    final_resolution: str | None,
    final_cents: int | None,
    reason: str | None,
    spend: int,
) -> Decision:
    """The decision already settled as asked: unchanged when the values agree (or are
    not given), else refused. ``spend`` is what the settlement asked for would commit
    (in a case, less than ``final_cents`` by what the case was given)."""
    if (
        final_resolution in (None, row.final_resolution)
        and (final_cents is None or spend == row.final_compensation_cents)
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


def _check_spend_fits(row: Row[Any], budget: Row[Any] | None, room: int, spend: int) -> None:
    """``spend`` fits when committed plus reserved, less the holds it takes (``room``),
    plus ``spend`` stays within the budget."""
    if budget is None:
        raise BudgetExceededError(no_budget_message(row.period, row.team))
    total = budget.committed_cents + budget.reserved_cents - room + spend
    if total > budget.amount_cents:
        raise BudgetExceededError(
            f"committing {from_cents(spend)} for decision {row.decision_id} would "
            f"take committed plus reserved to {from_cents(total)}, above the "
            f"budget of {from_cents(budget.amount_cents)} for period "
            f"{budget.period!r}"
        )
