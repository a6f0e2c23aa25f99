"""The case a new contact joins and the case as the next agent sees it.

The rules (which open case a contact joins, what the case covers, the top-up) are
:mod:`makegood.policy.cases`; the storage is :mod:`makegood.store.contacts`; the
summary sentence is :func:`makegood.explain.case_summary`. Pure functions over what
:class:`~makegood.store.contacts.ContactBook` read; no database access here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from makegood.errors import FieldError
from makegood.explain import CaseContact, case_summary
from makegood.features.memory import RECENT_TEXT_CHARS
from makegood.policy.cases import case_cover, case_to_join
from makegood.serving.case_schemas import CaseContactOut, CaseHandoverOut, CaseOfferOut, CaseOut
from makegood.store.contacts import Case, CustomerLive, LiveContact
from makegood.store.ledger import DecisionStatus

__all__ = ["CaseChoice", "case_facts", "case_view", "choose_case", "joined", "offer_status"]


@dataclass(frozen=True)
class CaseChoice:
    """The case a new contact belongs to and what the case already covers."""

    case_id: str
    new: bool
    case: Case | None
    held: Decimal  # held now by earlier contacts of the case
    given: Decimal  # committed for the case

    @property
    def covered(self) -> Decimal:
        return self.held + self.given


def joined(live: CustomerLive, case: Case, now: datetime) -> CaseChoice:
    """An existing case of the customer, with what it covers at ``now``."""
    held, given = case_cover(live.case_contacts(case.case_id), now)
    return CaseChoice(case.case_id, False, case, held, given)


def choose_case(
    live: CustomerLive,
    *,
    issue_type: str,
    opened_at: datetime,
    window_days: float,
    case_id: str | None,
    now: datetime,
) -> CaseChoice:
    """The case of a new contact: ``case_id`` when given (it must be the customer's),
    else the case :func:`~makegood.policy.cases.case_to_join` finds, else a new case.

    Raises:
        FieldError: ``case_id`` names no case of this customer.
    """
    if case_id is not None:
        case = live.case(case_id)
        if case is None:
            raise FieldError(
                "case_id", f"no case {case_id!r} of customer {live.customer_id!r} (case unknown)"
            )
    else:
        case = case_to_join(live.cases, issue_type, opened_at, window_days)
    if case is None:
        return CaseChoice(str(uuid.uuid4()), True, None, Decimal(0), Decimal(0))
    return joined(live, case, now)


def offer_status(c: LiveContact, now: datetime) -> str:
    """What became of a contact's offer at ``now``: given, held, offered, expired,
    released or declined."""
    if c.status is DecisionStatus.COMMITTED:
        return "given"
    if c.status is DecisionStatus.RESERVED:
        lapsed = c.expires_at is not None and c.expires_at <= now
        if lapsed:
            return "expired"
        return "offered" if c.action is not None and c.action.value == "offered" else "held"
    return c.status.value  # released, expired, declined


def _offered(c: LiveContact) -> tuple[str, Decimal]:
    """The resolution and compensation a contact gave, else the one it offered."""
    if c.given:
        return str(c.final_resolution), c.final_compensation or Decimal(0)
    return c.recommended_resolution, c.offered_compensation or Decimal(0)


def case_facts(contacts: Sequence[LiveContact], now: datetime) -> list[CaseContact]:
    """What the case summary says of each contact."""
    return [
        CaseContact(
            channel=str(c.complaint.get("channel")),
            issue_type=c.complaint.get("issue_type"),
            disputed_amount=float(c.complaint.get("disputed_amount") or 0),
            resolution=_offered(c)[0],
            offer=offer_status(c, now),
        )
        for c in contacts
    ]


def case_view(
    live: CustomerLive,
    choice: CaseChoice,
    *,
    labels: Mapping[str, str],
    currency: str,
    now: datetime,
) -> CaseOut:
    """The case as the next agent needs it: earlier contacts (what the customer said),
    offers (what, by whom, when), handovers, next step and the compensation held or
    given."""
    case = choice.case
    contacts = live.case_contacts(choice.case_id) if case else []
    offers = []
    for c in contacts:
        resolution, amount = _offered(c)
        offers.append(
            CaseOfferOut(
                contact_id=c.contact_id,
                resolution=resolution,
                resolution_label=labels.get(resolution, resolution),
                compensation=float(amount),
                status=offer_status(c, now),  # type: ignore[arg-type]
                agent=c.agent,
                channel=str(c.complaint.get("channel")),
                at=c.decided_at or c.created_at,
            )
        )
    handovers = [
        CaseHandoverOut(
            handover_id=h.handover_id,
            from_channel=h.from_channel,
            to_channel=h.to_channel,
            to_team=h.to_team,
            note=h.note,
            next_step=h.next_step,
            summary=h.summary,
            at=h.created_at,
        )
        for h in (case.handovers if case else ())
    ]
    said = [
        CaseContactOut(
            contact_id=c.contact_id,
            channel=str(c.complaint.get("channel")),
            opened_at=c.opened_at,
            said=str(c.complaint.get("complaint_text") or "")[:RECENT_TEXT_CHARS],
            action=None if c.action is None else c.action.value,
            notes=c.notes,
        )
        for c in contacts
    ]
    summary = (
        case_summary(case_facts(contacts, now), labels=labels, currency=currency)
        if contacts
        else "first contact about this issue"
    )
    return CaseOut(
        case_id=choice.case_id,
        new=choice.new,
        status=case.status.value if case else "open",  # type: ignore[arg-type]
        issue_type=case.issue_type if case else "",
        opened_at=case.opened_at if case else now,
        n_contacts=case.n_contacts if case else 0,
        contacts=said,
        offers=offers,
        handovers=handovers,
        next_step=case.next_step if case else None,
        compensation_held=float(choice.held),
        compensation_given=float(choice.given),
        summary=summary,
    )
