"""Live customer memory: every contact the service sees, grouped into cases, with
handovers and the profiles newcomers gave (SQLAlchemy; the ledger's database).

Storage only: what a contact *means* (which case it joins, what is already covered,
what to say) is decided by the caller; this module stores it and reads it back.

A **contact** is one served recommendation (its ``contact_id`` is the decision's id):
the complaint, recommended and offered resolution, the agent's decision and the
outcome live in the ledger's ``decisions`` and ``outcomes`` rows; the contact row adds
what the ledger does not know: the case, the agent, the agent's action and notes, and
how much of the case's compensation was already held or given when it came
(``covered``: not reserved again). Its customer, channel and opening time are the
case-matching keys (indexed), copied from the complaint.

A **case** groups the contacts of one customer about one issue type; it stays open
until closed and carries the next step promised. A **handover** passes a case from one
agent or channel to another with a note and the summary that was produced.

Every write runs in the caller's transaction (:meth:`ContactBook.record_contact` is
called by :meth:`makegood.store.ledger.Ledger.reserve` through its ``within`` hook), or in
one transaction of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
    text,
    update,
)

from makegood.contract.files import PROFILE_COLUMNS
from makegood.contract.units import from_cents
from makegood.errors import CaseNotFoundError, ContactsChangedError
from makegood.policy.cases import case_to_join
from makegood.store.ledger import (
    Decision,
    DecisionStatus,
    Ledger,
    decisions,
    metadata,
    outcomes,
)

__all__ = [
    "PROFILE_FIELDS",
    "Case",
    "CaseStatus",
    "ContactAction",
    "ContactBook",
    "ContactRecord",
    "CustomerLive",
    "Handover",
    "LiveContact",
]

PROFILE_FIELDS = PROFILE_COLUMNS
_CENTS = 100


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ContactAction(StrEnum):
    """What the agent did with the recommendation of a contact."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    OVERRIDE = "override"
    DECLINED = "declined"


# --------------------------------------------------------------------------- schema
# Mirrors migrations/versions/0002 (tests compare the two).

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(36), primary_key=True),
    Column("customer_id", String(255), nullable=False),
    Column("issue_type", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("last_contact_at", DateTime, nullable=False),
    Column("n_contacts", Integer, nullable=False),
    Column("next_step", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint("status IN ('open', 'closed')", name="ck_cases_status"),
    Index("ix_cases_customer_issue", "customer_id", "issue_type", "last_contact_at"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("contact_id", String(36), ForeignKey("decisions.decision_id"), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.case_id"), nullable=False),
    Column("customer_id", String(255), nullable=False),
    Column("opened_at", DateTime, nullable=False),
    Column("channel", String(64), nullable=False),
    Column("agent", String(128), nullable=True),
    Column("action", String(16), nullable=True),
    Column("notes", Text, nullable=True),
    Column("covered_cents", BigInteger, nullable=False),
    Column("case_override_reason", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(
        "action IS NULL OR action IN ('offered', 'accepted', 'override', 'declined')",
        name="ck_contacts_action",
    ),
    CheckConstraint("covered_cents >= 0", name="ck_contacts_covered_nonnegative"),
    Index("ix_contacts_customer_opened", "customer_id", "opened_at"),
    Index("ix_contacts_case", "case_id"),
)

handovers = Table(
    "handovers",
    metadata,
    Column("handover_id", String(36), primary_key=True),
    Column("case_id", String(36), ForeignKey("cases.case_id"), nullable=False),
    Column("contact_id", String(36), ForeignKey("contacts.contact_id"), nullable=True),
    Column("from_agent", String(128), nullable=True),
    Column("from_channel", String(64), nullable=True),
    Column("to_team", String(128), nullable=True),
    Column("to_channel", String(64), nullable=True),
    Column("note", Text, nullable=False),
    Column("next_step", Text, nullable=True),
    Column("summary", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_handovers_case", "case_id", "created_at"),
)

customer_profiles = Table(
    "customer_profiles",
    metadata,
    Column("customer_id", String(255), primary_key=True),
    Column("tenure_months", Integer, nullable=True),
    Column("annual_value", Float, nullable=True),
    Column("lifetime_value", Float, nullable=True),
    Column("segment", String(64), nullable=True),
    Column("prior_complaints_12m", Integer, nullable=True),
    Column("digital_skill", String(32), nullable=True),
    Column("first_seen_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)


# --------------------------------------------------------------------------- values


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


# --------------------------------------------------------------------------- book


class ContactBook:
    """Contacts, cases, handovers and profiles in the ledger's database.

    Every public method runs in one transaction of its own, except
    :meth:`record_contact`, which runs in the caller's (the reservation's).
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._engine = ledger._engine
        self._reader = ledger._reader

    # ------------------------------------------------------------------ reads
    def customer(self, customer_id: str) -> CustomerLive:
        """Everything stored about ``customer_id`` (empty for a customer never seen)."""
        with self._reader.connect() as conn:
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
            by_case.setdefault(h.case_id, []).append(_handover(h))
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

    def contact(self, contact_id: str) -> LiveContact | None:
        with self._reader.connect() as conn:
            row = conn.execute(_CONTACTS_QUERY.where(contacts.c.contact_id == contact_id)).first()
        return None if row is None else _contact(row)

    def find_case(self, case_id: str) -> Case | None:
        """The case (without its handovers), or None."""
        with self._reader.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
        return None if row is None else _case(row, ())

    def iter_contacts(self, *, batch_size: int = 1000) -> Any:
        """Every stored contact, oldest first, in batches (no long transaction)."""
        offset = 0
        while True:
            with self._reader.connect() as conn:
                rows = conn.execute(
                    _CONTACTS_QUERY.order_by(contacts.c.created_at, contacts.c.contact_id)
                    .limit(batch_size)
                    .offset(offset)
                ).all()
            yield from (_contact(r) for r in rows)
            if len(rows) < batch_size:
                return
            offset += batch_size

    # ------------------------------------------------------------------ writes
    def record_contact(
        self, conn: Connection, decision: Decision, record: ContactRecord, now: datetime
    ) -> None:
        """Store the contact of ``decision`` in the caller's transaction: open or join
        its case and remember the profile fields the request gave.

        With ``record.contacts_read``, first check (under a per-customer lock on
        PostgreSQL; SQLite has one writer at a time) that the customer still has that many
        contacts: a contact recorded meanwhile may have opened the case this one should
        join, or hold what this one would reserve again.

        Raises:
            ContactsChangedError: the customer's contacts changed since they were read
                (nothing of the caller's transaction should be committed).
            CaseNotFoundError: ``record.case_id`` names no case.
        """
        if record.contacts_read is not None:
            if conn.dialect.name == "postgresql":
                conn.execute(_LOCK_CUSTOMER, {"cid": record.customer_id})
            n = conn.execute(_COUNT_CONTACTS, {"cid": record.customer_id}).scalar_one()
            if n != record.contacts_read:
                raise ContactsChangedError(
                    f"customer {record.customer_id!r} has {n} contacts, not the "
                    f"{record.contacts_read} read before deciding (a concurrent contact)"
                )
        if record.new_case:
            conn.execute(
                _INSERT_CASE,
                {
                    "case_id": record.case_id,
                    "customer_id": record.customer_id,
                    "issue_type": record.issue_type,
                    "status": CaseStatus.OPEN.value,
                    "opened_at": record.opened_at,
                    "last_contact_at": record.opened_at,
                    "n_contacts": 1,
                    "next_step": None,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        else:
            joined = conn.execute(
                _JOIN_CASE,
                {"cid": record.case_id, "status_": CaseStatus.OPEN.value, "now_": now},
            ).rowcount
            if not joined:
                raise CaseNotFoundError(f"no case with case_id {record.case_id!r}")
            conn.execute(_CASE_LAST_CONTACT, {"cid": record.case_id, "at": record.opened_at})
        conn.execute(
            _INSERT_CONTACT,
            {
                "contact_id": decision.decision_id,
                "case_id": record.case_id,
                "customer_id": record.customer_id,
                "opened_at": record.opened_at,
                "channel": record.channel,
                "agent": record.agent,
                "action": None,
                "notes": None,
                "covered_cents": int(record.covered * _CENTS),
                "case_override_reason": record.case_override_reason,
                "created_at": now,
                "updated_at": now,
            },
        )
        given = {k: v for k, v in record.profile.items() if k in PROFILE_FIELDS and v is not None}
        if given:
            self._remember_profile(conn, record.customer_id, given, now)

    def record_alone(self, decision: Decision, record: ContactRecord) -> None:
        """:meth:`record_contact` in a transaction of its own (for a decision the ledger
        recorded without holding anything, e.g. declined: nothing fitted the budget; it
        reserves nothing, so the customer's contacts are not checked)."""
        with self._engine.begin() as conn:
            self.record_contact(
                conn, decision, replace(record, contacts_read=None), decision.created_at
            )

    def _remember_profile(
        self, conn: Connection, customer_id: str, given: Mapping[str, Any], now: datetime
    ) -> None:
        changed = conn.execute(
            update(customer_profiles)
            .where(customer_profiles.c.customer_id == customer_id)
            .values(**given, updated_at=now)
        ).rowcount
        if not changed:
            conn.execute(
                customer_profiles.insert().values(
                    customer_id=customer_id, **given, first_seen_at=now, updated_at=now
                )
            )

    def set_action(
        self,
        conn: Connection,
        contact_id: str,
        action: ContactAction,
        now: datetime,
        *,
        notes: str | None = None,
    ) -> None:
        """Record the agent's action on a contact (in the caller's transaction); notes
        are appended, never replaced. A decision served before contacts existed has no
        contact row: nothing to record."""
        values: dict[str, Any] = {"action": action.value, "updated_at": now}
        if notes:
            row = conn.execute(
                select(contacts.c.notes).where(contacts.c.contact_id == contact_id)
            ).first()
            if row is not None:
                values["notes"] = notes if not row.notes else f"{row.notes}\n{notes}"
        conn.execute(update(contacts).where(contacts.c.contact_id == contact_id).values(values))

    def add_handover(
        self,
        *,
        case_id: str,
        contact_id: str | None,
        from_agent: str | None,
        from_channel: str | None,
        to_team: str | None,
        to_channel: str | None,
        note: str,
        next_step: str | None,
        summary: str,
        now: datetime,
    ) -> Handover:
        """Store a handover and the case's next step, in one transaction.

        Raises:
            CaseNotFoundError: if the case does not exist.
        """
        handover_id = str(uuid.uuid4())
        with self._engine.begin() as conn:
            changes: dict[str, Any] = {"updated_at": now}
            if next_step:
                changes["next_step"] = next_step
            if not conn.execute(
                update(cases).where(cases.c.case_id == case_id).values(changes)
            ).rowcount:
                raise CaseNotFoundError(f"no case with case_id {case_id!r}")
            conn.execute(
                handovers.insert().values(
                    handover_id=handover_id,
                    case_id=case_id,
                    contact_id=contact_id,
                    from_agent=from_agent,
                    from_channel=from_channel,
                    to_team=to_team,
                    to_channel=to_channel,
                    note=note,
                    next_step=next_step,
                    summary=summary,
                    created_at=now,
                )
            )
            row = conn.execute(
                select(handovers).where(handovers.c.handover_id == handover_id)
            ).one()
        return _handover(row)

    def close_case(self, case_id: str, now: datetime) -> None:
        """Close a case: the next contact about the issue opens a new one.

        Raises:
            CaseNotFoundError: if the case does not exist.
        """
        with self._engine.begin() as conn:
            if not conn.execute(
                update(cases)
                .where(cases.c.case_id == case_id)
                .values(status=CaseStatus.CLOSED.value, updated_at=now)
            ).rowcount:
                raise CaseNotFoundError(f"no case with case_id {case_id!r}")


# --------------------------------------------------------------------------- helpers

# the statements of a reservation's transaction, built once (executed with parameters)
_INSERT_CASE = cases.insert()
_INSERT_CONTACT = contacts.insert()
_JOIN_CASE = (
    update(cases)
    .where(cases.c.case_id == bindparam("cid"))
    .values(
        n_contacts=cases.c.n_contacts + 1, status=bindparam("status_"), updated_at=bindparam("now_")
    )
)
_COUNT_CONTACTS = (
    select(func.count()).select_from(contacts).where(contacts.c.customer_id == bindparam("cid"))
)
# PostgreSQL: contacts of one customer are recorded one at a time (until commit)
_LOCK_CUSTOMER = text("SELECT pg_advisory_xact_lock(hashtext(:cid))")
_CASE_LAST_CONTACT = (
    update(cases)
    .where(cases.c.case_id == bindparam("cid"), cases.c.last_contact_at < bindparam("at"))
    .values(last_contact_at=bindparam("at"))
)

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


def _handover(r: Any) -> Handover:
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
