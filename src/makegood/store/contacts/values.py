"""What the contact book stores and reads back: cases, handovers, contacts with their
decision and outcome, and a customer's whole live view (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from makegood.contract.files import PROFILE_COLUMNS
from makegood.policy.cases import case_to_join
from makegood.store.ledger.values import DecisionStatus

__all__ = [
    "PROFILE_FIELDS",
    "Case",
    "CaseStatus",
    "ContactAction",
    "ContactRecord",
    "CustomerLive",
    "Handover",
    "LiveContact",
]

PROFILE_FIELDS = PROFILE_COLUMNS


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ContactAction(StrEnum):
    """What the agent did with the recommendation of a contact."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    OVERRIDE = "override"
    DECLINED = "declined"


@dataclass(frozen=True)
class Handover:
    handover_id: str
    case_id: str
    contact_id: str | None
    from_agent: str | None
    from_channel: str | None
    to_team: str | None
    to_channel: str | None
    note: str
    next_step: str | None
    summary: str
    created_at: datetime


@dataclass(frozen=True)
class Case:
    case_id: str
    customer_id: str
    issue_type: str
    status: CaseStatus
    opened_at: datetime
    last_contact_at: datetime
    n_contacts: int
    next_step: str | None
    handovers: tuple[Handover, ...] = ()


@dataclass(frozen=True)
class LiveContact:
    """A stored contact with its decision and outcome (what the service saw and did)."""

    contact_id: str
    case_id: str
    agent: str | None
    action: ContactAction | None
    notes: str | None
    covered: Decimal
    created_at: datetime
    complaint: dict[str, Any]
    status: DecisionStatus
    recommended_resolution: str
    offered_compensation: Decimal
    held: Decimal
    expires_at: datetime | None
    final_resolution: str | None
    final_compensation: Decimal | None
    decided_at: datetime | None
    satisfaction: float | None
    churned_90d: bool | None

    @property
    def customer_id(self) -> str:
        return str(self.complaint["customer_id"])

    @property
    def opened_at(self) -> datetime:
        value = self.complaint.get("opened_at")
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    @property
    def given(self) -> bool:
        """True when a resolution was actually given (committed, or an override)."""
        return self.final_resolution is not None and self.status in (
            DecisionStatus.COMMITTED,
            DecisionStatus.RELEASED,
        )

    def holding(self, now: datetime) -> Decimal:
        """Compensation this contact holds at ``now`` (a reservation not yet lapsed)."""
        live = self.status is DecisionStatus.RESERVED and (
            self.expires_at is None or self.expires_at > now
        )
        return self.held if live else Decimal(0)

    def spent(self) -> Decimal:
        """Compensation given for this contact (committed)."""
        if self.status is DecisionStatus.COMMITTED:
            return self.final_compensation or Decimal(0)
        return Decimal(0)

    def history_row(self) -> dict[str, Any]:
        """The contact as an earlier complaint in contract (history) form, for memory:
        the resolution given (or, before a decision, the one on the table) and its
        compensation (what was given, or offered and held); outcome None until known."""
        if self.given:
            resolution, compensation = self.final_resolution, self.final_compensation
        elif self.status is DecisionStatus.RESERVED:
            resolution, compensation = self.recommended_resolution, self.offered_compensation
        else:
            resolution, compensation = None, Decimal(0)
        row = dict(self.complaint)
        row["opened_at"] = self.opened_at
        row.update(
            resolution=resolution,
            compensation=float(compensation or 0),
            satisfaction=self.satisfaction,
        )
        return row


@dataclass(frozen=True)
class CustomerLive:
    """What the service's database remembers about one customer, read at once."""

    customer_id: str
    contacts: tuple[LiveContact, ...] = ()  # oldest first
    cases: tuple[Case, ...] = ()
    profile: dict[str, Any] | None = None
    profile_updated_at: datetime | None = None

    def case(self, case_id: str) -> Case | None:
        return next((c for c in self.cases if c.case_id == case_id), None)

    def open_case(self, issue_type: str, at: datetime, window_days: float) -> Case | None:
        """The open case a contact at ``at`` about ``issue_type`` joins, or None (the
        rule: :func:`makegood.policy.cases.case_to_join`)."""
        return case_to_join(self.cases, issue_type, at, window_days)

    def case_contacts(self, case_id: str) -> list[LiveContact]:
        return [c for c in self.contacts if c.case_id == case_id]

    def history_rows(self) -> list[dict[str, Any]]:
        return [c.history_row() for c in self.contacts]

    def money_cents(self, now: datetime) -> int:
        """Cents the customer's contacts hold at ``now`` or were given: what the caps
        count from the ledger (``reads.customer_money_cents`` reads the same sum under
        the customer's lock)."""
        total = sum((c.holding(now) + c.spent() for c in self.contacts), Decimal(0))
        return int(total * 100)


@dataclass(frozen=True)
class ContactRecord:
    """What :meth:`ContactBook.record_contact` stores beside a new decision."""

    case_id: str
    new_case: bool
    customer_id: str
    issue_type: str
    opened_at: datetime
    channel: str
    agent: str | None = None
    covered: Decimal = Decimal(0)
    case_override_reason: str | None = None
    profile: Mapping[str, Any] = field(default_factory=dict)
    #: the customer's contacts when they were read (the case and what it holds were
    #: decided from them); None: not checked
    contacts_read: int | None = None
    #: cents the customer's contacts held or were given when read
    #: (:meth:`CustomerLive.money_cents`: the caps were judged on it); None: not checked
    money_read: int | None = None
