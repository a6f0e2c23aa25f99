"""Decision and outcome rows inside a ledger transaction: reading a decision (locked when
it is about to change), turning rows into values, recording an outcome, and reading the
log page by page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from makegood.contract.units import from_cents
from makegood.errors import DecisionNotFoundError
from makegood.store.ledger.schema import decisions, outcomes
from makegood.store.ledger.values import Decision, DecisionStatus, DecisionWithOutcome, Outcome

__all__ = [
    "decision_from_mapping",
    "decision_from_row",
    "decision_row",
    "decisions_page",
    "outcome_from_row",
    "write_outcome",
]


def decision_row(conn: Connection, decision_id: str, *, for_update: bool = False) -> Row[Any]:
    """The decision's row (locked with ``for_update``).

    Raises:
        DecisionNotFoundError: if no decision has this id.
    """
    query = select(decisions).where(decisions.c.decision_id == decision_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise DecisionNotFoundError(f"no decision with decision_id {decision_id!r}")
    return row


def decision_from_row(row: Row[Any]) -> Decision:
    return decision_from_mapping(row._mapping)


def decision_from_mapping(m: Mapping[Any, Any]) -> Decision:
    """A decision from its ``decisions`` columns by name (a row, or the values written)."""
    final = m["final_compensation_cents"]
    return Decision(
        decision_id=m["decision_id"],
        idempotency_key=m["idempotency_key"],
        period=m["period"],
        team=m["team"],
        complaint_id=m["complaint_id"],
        customer_id=m["customer_id"],
        complaint=dict(m["complaint"]),
        ranking=list(m["ranking"]),
        recommended_resolution=m["recommended_resolution"],
        recommended_propensity=m["recommended_propensity"],
        model_version=m["model_version"],
        status=DecisionStatus(m["status"]),
        compensation=from_cents(m["compensation_cents"]),
        final_resolution=m["final_resolution"],
        final_compensation=None if final is None else from_cents(final),
        override_reason=m["override_reason"],
        decided_at=m["decided_at"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        closed_at=m["closed_at"],
        wrap_up_code=m.get("wrap_up_code"),
        wrap_up_note=m.get("wrap_up_note"),
        owed=from_cents(m.get("owed_cents") or 0),
        budget_id=m.get("budget_id"),
    )


def outcome_from_row(row: Row[Any]) -> Outcome:
    return Outcome(
        decision_id=row.decision_id,
        satisfaction=row.satisfaction,
        churned_90d=row.churned_90d,
        recorded_at=row.recorded_at,
    )


def write_outcome(
    conn: Connection,
    decision_id: str,
    *,
    satisfaction: float | None,
    churned_90d: bool | None,
    now: datetime,
) -> Outcome:
    """Record or update the decision's outcome; a None field keeps its recorded value.

    Raises:
        DecisionNotFoundError: if no decision has this id.
    """
    decision_row(conn, decision_id, for_update=True)  # serialises outcome writes
    existing = conn.execute(select(outcomes).where(outcomes.c.decision_id == decision_id)).first()
    if existing is None:
        conn.execute(
            outcomes.insert().values(
                decision_id=decision_id,
                satisfaction=satisfaction,
                churned_90d=churned_90d,
                recorded_at=now,
                updated_at=now,
            )
        )
    else:
        changes: dict[str, Any] = {"updated_at": now}
        if satisfaction is not None:
            changes["satisfaction"] = satisfaction
        if churned_90d is not None:
            changes["churned_90d"] = churned_90d
        conn.execute(update(outcomes).where(outcomes.c.decision_id == decision_id).values(changes))
    row = conn.execute(select(outcomes).where(outcomes.c.decision_id == decision_id)).one()
    return outcome_from_row(row)


def decisions_page(
    conn: Connection, after: tuple[datetime, str] | None, batch_size: int
) -> tuple[list[DecisionWithOutcome], tuple[datetime, str] | None]:
    """Up to ``batch_size`` decisions with their outcomes, oldest first, from just after
    ``after`` (``(created_at, decision_id)`` of the last one read; None: the first), and
    the key of the last one (None when the page is empty)."""
    query = (
        select(decisions, outcomes)
        .join(outcomes, outcomes.c.decision_id == decisions.c.decision_id, isouter=True)
        .order_by(decisions.c.created_at, decisions.c.decision_id)
        .limit(batch_size)
    )
    if after is not None:
        query = query.where(
            or_(
                decisions.c.created_at > after[0],
                and_(
                    decisions.c.created_at == after[0],
                    decisions.c.decision_id > after[1],
                ),
            )
        )
    rows = conn.execute(query).all()
    page = [_with_outcome(row._mapping) for row in rows]
    if not rows:
        return page, None
    last = rows[-1]._mapping
    return page, (last[decisions.c.created_at], last[decisions.c.decision_id])


def _with_outcome(mapping: Mapping[Any, Any]) -> DecisionWithOutcome:
    outcome = None
    if mapping[outcomes.c.decision_id] is not None:
        outcome = Outcome(
            decision_id=mapping[outcomes.c.decision_id],
            satisfaction=mapping[outcomes.c.satisfaction],
            churned_90d=mapping[outcomes.c.churned_90d],
            recorded_at=mapping[outcomes.c.recorded_at],
        )
    decision = decision_from_mapping({c.name: mapping[c] for c in decisions.c})
    return DecisionWithOutcome(decision, outcome)
