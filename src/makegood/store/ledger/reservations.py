"""Reservations inside a ledger transaction: recording a decision with its compensation
held against the budget (or declined when it does not fit), and holding it again when
the agent offers it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, update

from makegood.contract.units import from_cents
from makegood.errors import BudgetExceededError, DecisionStateError
from makegood.store.ledger.budget_rows import (
    ADD_RESERVED,
    applicable_budget,
    available_of,
    budget_row,
)
from makegood.store.ledger.case_money import keep_holds
from makegood.store.ledger.decision_rows import (
    decision_from_mapping,
    decision_from_row,
    decision_row,
)
from makegood.store.ledger.expiry import expire_overdue, locked_budget
from makegood.store.ledger.idempotency import claim_key, replay
from makegood.store.ledger.schema import decisions
from makegood.store.ledger.values import CaseOf, Decision, DecisionStatus, ReserveResult, Within

__all__ = ["hold_decision", "reserve_decision"]

_INSERT_DECISION = decisions.insert()


def reserve_decision(
    conn: Connection,
    values: dict[str, Any],
    cents: int,
    key: str | None,
    ttl_seconds: float,
    now: datetime,
    *,
    request_hash: str | None,
    response: str | None,
    within: Within | None,
) -> ReserveResult:
    """Record the decision ``values`` (checked columns) holding ``cents``, or declined
    when they do not fit; see :meth:`makegood.store.ledger.Ledger.reserve`."""
    if key is not None:
        replayed = replay(conn, key, values, request_hash)
        if replayed is not None:
            return replayed
    # One statement reads and locks the budget; the decision is returned as written
    # (no read-back): a reservation is four statements between BEGIN and COMMIT.
    budget = applicable_budget(conn, values["period"], values["team"], lock=True)
    budget_id = None if budget is None else budget.budget_id
    if budget_id is not None and expire_overdue(conn, now, budget_id):
        budget = budget_row(conn, budget_id)  # its reserved total changed
    in_budget = cents == 0 or (
        budget is not None
        and budget.committed_cents + budget.reserved_cents + cents <= budget.amount_cents
    )
    # what a floor requires is given whatever the budget: every cent owed, it is held
    # apart from any budget (the period report shows it as owed beyond the budget)
    beyond = not in_budget and cents <= int(values.get("owed_cents") or 0)
    fits = in_budget or beyond
    row = _new_decision(values, cents, key, None if beyond else budget_id, fits, ttl_seconds, now)
    conn.execute(_INSERT_DECISION, row)
    available = available_of(budget)
    if in_budget and cents and budget is not None:
        conn.execute(ADD_RESERVED, {"b_id": budget_id, "delta": cents, "now_": now})
        available -= from_cents(cents)
    decision = decision_from_mapping(row)
    if fits and key is not None:
        claim_key(
            conn,
            key,
            request_hash=request_hash,
            decision_id=row["decision_id"],
            response=response,
            now=now,
        )
    if fits and within is not None:
        within(conn, decision, now)
    return ReserveResult(ok=fits, decision=decision, replayed=False, available=available)


def _new_decision(
    values: dict[str, Any],
    cents: int,
    key: str | None,
    budget_id: int | None,
    fits: bool,
    ttl_seconds: float,
    now: datetime,
) -> dict[str, Any]:
    """The new ``decisions`` row: reserved until ``now + ttl_seconds`` when it ``fits``
    (and then claiming ``key``), else declined and closed at once."""
    status = DecisionStatus.RESERVED if fits else DecisionStatus.DECLINED
    return {
        **values,
        "idempotency_key": key if fits else None,
        "budget_id": budget_id,
        "status": status.value,
        "compensation_cents": cents,
        "final_resolution": None,
        "final_compensation_cents": None,
        "override_reason": None,
        "created_at": now,
        "updated_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds) if fits else None,
        "closed_at": None if fits else now,
    }


def hold_decision(
    conn: Connection,
    decision_id: str,
    ttl_seconds: float,
    now: datetime,
    *,
    within: Within | None,
    case_of: CaseOf | None = None,
) -> Decision:
    """Hold the decision's compensation ``ttl_seconds`` more from ``now`` (and the live
    holds of its case as long, with ``case_of``); see
    :meth:`makegood.store.ledger.Ledger.hold`."""
    budget_id = decision_row(conn, decision_id).budget_id
    budget = None if budget_id is None else locked_budget(conn, budget_id, now)
    row = decision_row(conn, decision_id, for_update=True)
    status = DecisionStatus(row.status)
    cents = row.compensation_cents
    if status is DecisionStatus.EXPIRED and cents and budget is not None:
        total = budget.committed_cents + budget.reserved_cents + cents
        if total > budget.amount_cents:
            raise BudgetExceededError(
                f"the hold of decision {decision_id} lapsed and {from_cents(cents)} "
                f"no longer fits the budget of period {budget.period!r} "
                f"({available_of(budget)} available)"
            )
        conn.execute(ADD_RESERVED, {"b_id": budget_id, "delta": cents, "now_": now})
    elif status is not DecisionStatus.RESERVED and status is not DecisionStatus.EXPIRED:
        raise DecisionStateError(
            f"decision {decision_id} is {status.value}; only a reserved or expired "
            "decision can be offered"
        )
    conn.execute(
        update(decisions)
        .where(decisions.c.decision_id == decision_id)
        .values(
            status=DecisionStatus.RESERVED.value,
            expires_at=now + timedelta(seconds=ttl_seconds),
            closed_at=None,
            updated_at=now,
        )
    )
    until = now + timedelta(seconds=ttl_seconds)
    if case_of is not None:
        keep_holds(conn, [d for d in case_of(conn, decision_id) if d != decision_id], until, now)
    decision = decision_from_row(decision_row(conn, decision_id))
    if within is not None:
        within(conn, decision, now)
    return decision
