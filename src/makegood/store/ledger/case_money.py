"""A case's money inside a ledger transaction: the decisions of one case share what the
case holds and what it was given.

A contact that joins a case holds only its top-up beyond what the case already covers
(:func:`makegood.policy.cases.top_up`): the rest of its card is covered by the holds of
the case's other contacts. So when a decision of a case is committed, what it gives is
counted once for the case::

    spend = max(offer - given, 0)

where ``offer`` is the compensation of the resolution given (the card's, not the
top-up) and ``given`` what the case's other decisions committed. The spend is paid from
the decision's own hold, then from what the case's other holds no longer need, then
from the budget. After the commit no other hold of the case keeps more than its own
card could still add::

    keep(s) = min(hold(s), max(offer(s) - given_after, 0))

and a hold left with nothing is released ("settled with the case"), so a hold that
nobody settled is the only one expiry returns. A contact's case and the other
decisions in it are the contact book's (the caller passes a :data:`CaseOf`); the
ledger never reads the contacts' tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, Row, select, update

from makegood.store.ledger.checks import CENTS_PER_UNIT
from makegood.store.ledger.expiry import locked_budget
from makegood.store.ledger.schema import budgets, decisions
from makegood.store.ledger.values import DecisionStatus

__all__ = [
    "CaseSettlement",
    "apply_freed",
    "keep_holds",
    "lock_case",
    "offer_cents",
    "settle_case",
]


def offer_cents(row: Row[Any] | Mapping[str, Any], resolution: str | None = None) -> int:
    """The compensation (cents) of ``resolution`` (default: the recommended one) on the
    decision's card: its ranking's amount, or what the decision holds when the ranking
    does not name it."""
    m = row._mapping if isinstance(row, Row) else row
    wanted = resolution or m["recommended_resolution"]
    for item in m["ranking"] or ():
        if isinstance(item, Mapping) and item.get("resolution") == wanted:
            try:
                amount = Decimal(str(item.get("compensation") or 0))
            except InvalidOperation:
                break
            return int((amount * CENTS_PER_UNIT).to_integral_value())
    return int(m["compensation_cents"])


@dataclass(frozen=True)
class CaseSettlement:
    """What a settlement in a case spends and frees (cents).

    ``spend``: committed for the decision; ``room``: what it takes from holds of its own
    budget (its own and the case's freed ones); ``freed``: per other decision, what it
    stops holding, with its budget; ``kept``: per other decision, what it still holds.
    """

    spend: int
    room: int
    freed: dict[str, tuple[int, int]]
    kept: dict[str, int]


def lock_case(
    conn: Connection, row: Row[Any], others: Sequence[str], budget_id: int | None, now: datetime
) -> tuple[dict[int, Row[Any]], list[Row[Any]]]:
    """Lock the budgets the settlement may change (the decision's and those of the case's
    other holds), in ascending id order (one lock order, no deadlock), each with its
    lapsed holds expired; then lock the other decisions' rows. Returns the locked budget
    rows by id and the other decisions' rows."""
    ids = {budget_id} if budget_id is not None else set()
    if others:
        ids |= set(
            conn.execute(
                select(decisions.c.budget_id).where(
                    decisions.c.decision_id.in_(others),
                    decisions.c.status == DecisionStatus.RESERVED.value,
                    decisions.c.budget_id.is_not(None),
                )
            ).scalars()
        )
    locked = {b: locked_budget(conn, b, now) for b in sorted(ids)}
    rows = (
        conn.execute(
            select(decisions)
            .where(decisions.c.decision_id.in_(others))
            .order_by(decisions.c.decision_id)
            .with_for_update()
        ).all()
        if others
        else []
    )
    return locked, list(rows)


def settle_case(
    row: Row[Any],
    others: Iterable[Row[Any]],
    *,
    offer: int,
    commit: bool,
    budget_id: int | None,
    locked: Iterable[int],
) -> CaseSettlement:
    """What settling ``row`` (committing ``offer`` when ``commit``, else releasing it)
    spends and frees, given the case's other decisions (rows read under lock, lapsed
    holds already expired) and the budgets locked; ``budget_id`` is the one the
    decision spends from. See the module doc for the rule."""
    others = list(others)
    given = sum(
        int(o.final_compensation_cents or 0)
        for o in others
        if o.status == DecisionStatus.COMMITTED.value
    )
    spend = max(offer - given, 0) if commit else 0
    held = row.compensation_cents if row.status == DecisionStatus.RESERVED.value else 0
    given_after = given + spend
    locked = set(locked)
    freed: dict[str, tuple[int, int]] = {}
    kept: dict[str, int] = {}
    room = held
    for o in others:
        hold = int(o.compensation_cents)
        if o.status != DecisionStatus.RESERVED.value or not hold or o.budget_id not in locked:
            continue
        keep = min(hold, max(offer_cents(o) - given_after, 0))
        if keep == hold:
            continue
        freed[o.decision_id] = (hold - keep, o.budget_id)
        kept[o.decision_id] = keep
        if o.budget_id == budget_id:
            room += hold - keep
    return CaseSettlement(spend=spend, room=room, freed=freed, kept=kept)


def apply_freed(conn: Connection, settled: CaseSettlement, by: str, now: datetime) -> None:
    """Write what the other decisions of the case stop holding: their budgets' reserved
    totals, their holds, and a hold left with nothing released (settled with the case
    by decision ``by``)."""
    by_budget: dict[int, int] = {}
    for decision_id, (cents, budget_id) in settled.freed.items():
        by_budget[budget_id] = by_budget.get(budget_id, 0) + cents
        keep = settled.kept[decision_id]
        values: dict[str, Any] = {"compensation_cents": keep, "updated_at": now}
        if not keep:
            values.update(
                status=DecisionStatus.RELEASED.value,
                final_compensation_cents=0,
                override_reason=f"settled with its case by decision {by}",
                closed_at=now,
            )
        conn.execute(update(decisions).where(decisions.c.decision_id == decision_id).values(values))
    for budget_id, cents in by_budget.items():
        conn.execute(
            update(budgets)
            .where(budgets.c.budget_id == budget_id)
            .values(reserved_cents=budgets.c.reserved_cents - cents, updated_at=now)
        )


def keep_holds(
    conn: Connection, decision_ids: Sequence[str], until: datetime, now: datetime
) -> int:
    """Keep the live holds of ``decision_ids`` (reserved, not lapsed by ``now``) at least
    until ``until``: a case's holds wait for the agent it was handed to. Changes no
    total; returns how many holds were kept longer."""
    if not decision_ids:
        return 0
    result = conn.execute(
        update(decisions)
        .where(
            decisions.c.decision_id.in_(list(decision_ids)),
            decisions.c.status == DecisionStatus.RESERVED.value,
            decisions.c.expires_at > now,
            decisions.c.expires_at < until,
        )
        .values(expires_at=until, updated_at=now)
    )
    return int(result.rowcount or 0)
