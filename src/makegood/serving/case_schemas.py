"""The customer and case views of the HTTP API's answers: the customer's profile, recent
complaints and open contacts (:class:`CustomerOut`), the case a contact belongs to
(:class:`CaseOut`) and a handover's record (:class:`HandoverRecordOut`).

Every timestamp is an aware UTC datetime (:data:`~makegood.serving.schemas.UtcDatetime`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from makegood.serving.schemas import DigitalSkill, Emotion, UtcDatetime


class ProfileOut(BaseModel):
    """The customer's profile as of their latest stored complaint (``as_of``)."""

    tenure_months: int | None
    annual_value: float | None
    lifetime_value: float | None
    segment: str | None
    digital_skill: DigitalSkill | None
    prior_complaints_12m: int | None
    as_of: UtcDatetime | None


OfferStatus = Literal["held", "given", "released", "expired", "declined", "offered"]


class RecentComplaintOut(BaseModel):
    """One earlier complaint of the customer (text cut to its first 200 characters)."""

    complaint_id: str
    opened_at: UtcDatetime
    channel: str | None
    issue_type: str | None
    severity: int | None
    emotion: Emotion | None
    resolution: str | None
    resolution_label: str | None
    compensation: float | None
    satisfaction: float | None
    complaint_text: str | None
    source: Literal["history", "live"] = Field(
        "history", description="training history, or a contact this service recorded"
    )
    case_id: str | None = None
    offer_status: OfferStatus | None = Field(
        None,
        description="what became of the resolution: given (always, for the training "
        "history), or for a live contact held, offered, expired, released or declined; "
        "``compensation`` is then what is on the table, not given",
    )


class OpenContactOut(BaseModel):
    """Another contact of the same customer still open: waiting in the queue, or with an
    offer held or offered but not given."""

    contact_id: str = Field(description="its decision id, or its queue entry's id")
    case_id: str | None
    channel: str
    issue_type: str | None
    opened_at: UtcDatetime
    status: Literal["waiting", "held", "offered"]
    resolution: str | None = None
    resolution_label: str | None = None
    held: float = Field(default=0.0, description="compensation held for it (not given)")
    agent: str | None = None


class CustomerOut(BaseModel):
    customer_id: str
    known: bool
    profile: ProfileOut | None
    recent: list[RecentComplaintOut]
    greeting: str
    open_cases: list[CaseOut] = []
    open_contacts: list[OpenContactOut] = Field(
        default_factory=list,
        description="the customer's other contacts still open (waiting, or an offer held, "
        "not given), oldest first",
    )


class CaseOfferOut(BaseModel):
    """What a contact of the case offered or gave, by whom and when."""

    contact_id: str
    resolution: str
    resolution_label: str
    compensation: float
    status: OfferStatus
    agent: str | None
    channel: str
    at: UtcDatetime


class CaseContactOut(BaseModel):
    """One earlier contact of the case: what the customer said, where and when."""

    contact_id: str
    channel: str
    opened_at: UtcDatetime
    said: str
    action: Literal["offered", "accepted", "override", "declined"] | None
    notes: str | None


class CaseHandoverOut(BaseModel):
    handover_id: str
    from_channel: str | None
    to_channel: str | None
    to_team: str | None
    note: str
    next_step: str | None
    summary: str
    at: UtcDatetime


class CaseOut(BaseModel):
    """The case a contact belongs to, as the next agent needs it."""

    case_id: str
    new: bool = Field(description="true when this contact opened the case")
    status: Literal["open", "closed"]
    issue_type: str
    opened_at: UtcDatetime
    n_contacts: int
    contacts: list[CaseContactOut] = Field(description="earlier contacts, oldest first")
    offers: list[CaseOfferOut]
    handovers: list[CaseHandoverOut]
    next_step: str | None
    compensation_held: float = Field(description="held for the case by earlier contacts now")
    compensation_given: float = Field(description="given (committed) for the case")
    summary: str


class HandoverRecordOut(BaseModel):
    handover_id: str
    case_id: str
    customer_id: str
    summary: str = Field(description="what the next agent needs, in one sentence")
    greeting: str = Field(description="how to greet the customer (tenure and history)")
    next_step: str | None
    created_at: UtcDatetime
    case: CaseOut
