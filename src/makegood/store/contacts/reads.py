"""Reading the contact book inside a connection: a customer's live view (contacts with
their decision and outcome, cases with their handovers, profile), one contact, one case,
and every contact page by page; rows turned into values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select

from makegood.contract.units import from_cents
from makegood.store.contacts.schema import cases, contacts, customer_profiles, handovers
from makegood.store.contacts.values import (
    PROFILE_FIELDS,
    Case,
    CaseStatus,
    ContactAction,
    CustomerLive,
    Handover,
    LiveContact,
)
from makegood.store.ledger.schema import decisions, outcomes
from makegood.store.ledger.values import DecisionStatus

__all__ = [
    "contacts_page",
    "customer_money_cents",
    "handover_from_row",
    "read_case",
    "read_contact",
    "read_customer",
]

_CONTACTS_QUERY = (
    select(
        contacts,
        decisions.c.complaint,
        decisions.c.ranking,
        decisions.c.status,
        decisions.c.recommended_resolution,
        decisions.c.compensation_cents,
        decisions.c.expires_at,
        decisions.c.final_resolution,
        decisions.c.final_compensation_cents,
        decisions.c.closed_at,
        outcomes.c.satisfaction,
        outcomes.c.churned_90d,
    )
    .join(decisions, decisions.c.decision_id == contacts.c.contact_id)
    .join(outcomes, outcomes.c.decision_id == contacts.c.contact_id, isouter=True)
)
_CUSTOMER_CONTACTS = _CONTACTS_QUERY.where(contacts.c.customer_id == bindparam("cid")).order_by(
    contacts.c.opened_at, contacts.c.contact_id
)


_HELD_OR_GIVEN = (
    select(
        func.coalesce(
            func.sum(
                case(
                    (
                        and_(
                            decisions.c.status == DecisionStatus.RESERVED.value,
                            or_(
                                decisions.c.expires_at.is_(None),
                                decisions.c.expires_at > bindparam("now_"),
                            ),
                        ),
                        decisions.c.compensation_cents,
                    ),
                    (
                        decisions.c.status == DecisionStatus.COMMITTED.value,
                        func.coalesce(decisions.c.final_compensation_cents, 0),
                    ),
                    else_=0,
                )
            ),
            0,
        )
    )
    .select_from(contacts)
    .join(decisions, decisions.c.decision_id == contacts.c.contact_id)
    .where(contacts.c.customer_id == bindparam("cid"))
)


def customer_money_cents(conn: Connection, customer_id: str, now: datetime) -> int:
    """Cents the customer's contacts hold at ``now`` or were given: the sum
    :meth:`CustomerLive.money_cents` takes of what :func:`read_customer` read."""
    return int(conn.execute(_HELD_OR_GIVEN, {"cid": customer_id, "now_": now}).scalar_one())


def read_customer(conn: Connection, customer_id: str) -> CustomerLive:
    """Everything stored about ``customer_id`` (empty for a customer never seen)."""
    rows = conn.execute(_CUSTOMER_CONTACTS, {"cid": customer_id}).all()
    case_rows = conn.execute(select(cases).where(cases.c.customer_id == customer_id)).all()
    handover_rows = (
        conn.execute(
            select(handovers)
            .where(handovers.c.case_id.in_([r.case_id for r in case_rows]))
            .order_by(handovers.c.created_at)
        ).all()
        if case_rows
        else []
    )
    profile_row = conn.execute(
        select(customer_profiles).where(customer_profiles.c.customer_id == customer_id)
    ).first()
    by_case: dict[str, list[Handover]] = {}
    for h in handover_rows:
        by_case.setdefault(h.case_id, []).append(handover_from_row(h))
    profile = None
    if profile_row is not None:
        profile = {f: getattr(profile_row, f) for f in PROFILE_FIELDS}
    return CustomerLive(
        customer_id=customer_id,
        contacts=tuple(_contact(r) for r in rows),
        cases=tuple(
            _case(r, by_case.get(r.case_id, ()))
            for r in sorted(case_rows, key=lambda r: r.opened_at)
        ),
        profile=profile,
        profile_updated_at=None if profile_row is None else profile_row.updated_at,
    )


def read_contact(conn: Connection, contact_id: str) -> LiveContact | None:
    row = conn.execute(_CONTACTS_QUERY.where(contacts.c.contact_id == contact_id)).first()
    return None if row is None else _contact(row)


def read_case(conn: Connection, case_id: str) -> Case | None:
    """The case (without its handovers), or None."""
    row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
    return None if row is None else _case(row, ())


def contacts_page(conn: Connection, offset: int, batch_size: int) -> list[LiveContact]:
    """Up to ``batch_size`` contacts, oldest first, after the first ``offset``."""
    rows = conn.execute(
        _CONTACTS_QUERY.order_by(contacts.c.created_at, contacts.c.contact_id)
        .limit(batch_size)
        .offset(offset)
    ).all()
    return [_contact(r) for r in rows]


def _offered(ranking: Sequence[Mapping[str, Any]], resolution: str) -> Decimal:
    for item in ranking:
        if item.get("resolution") == resolution:
            return Decimal(str(item.get("compensation") or 0))
    return Decimal(0)


def _contact(r: Any) -> LiveContact:
    final = r.final_compensation_cents
    return LiveContact(
        contact_id=r.contact_id,
        case_id=r.case_id,
        agent=r.agent,
        action=None if r.action is None else ContactAction(r.action),
        notes=r.notes,
        covered=from_cents(r.covered_cents),
        created_at=r.created_at,
        complaint=dict(r.complaint),
        status=DecisionStatus(r.status),
        recommended_resolution=r.recommended_resolution,
        offered_compensation=_offered(r.ranking or [], r.recommended_resolution),
        held=from_cents(r.compensation_cents),
        expires_at=r.expires_at,
        final_resolution=r.final_resolution,
        final_compensation=None if final is None else from_cents(final),
        decided_at=r.closed_at if r.status != DecisionStatus.RESERVED.value else None,
        satisfaction=r.satisfaction,
        churned_90d=r.churned_90d,
    )


def _case(r: Any, found: Sequence[Handover]) -> Case:
    return Case(
        case_id=r.case_id,
        customer_id=r.customer_id,
        issue_type=r.issue_type,
        status=CaseStatus(r.status),
        opened_at=r.opened_at,
        last_contact_at=r.last_contact_at,
        n_contacts=r.n_contacts,
        next_step=r.next_step,
        handovers=tuple(found),
    )


def handover_from_row(r: Any) -> Handover:
    return Handover(
        handover_id=r.handover_id,
        case_id=r.case_id,
        contact_id=r.contact_id,
        from_agent=r.from_agent,
        from_channel=r.from_channel,
        to_team=r.to_team,
        to_channel=r.to_channel,
        note=r.note,
        next_step=r.next_step,
        summary=r.summary,
        created_at=r.created_at,
    )
