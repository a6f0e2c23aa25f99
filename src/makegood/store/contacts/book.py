"""The :class:`ContactBook`: storing contacts, cases, handovers and profiles beside the
ledger's decisions, and reading them back (:mod:`.reads`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update

from makegood.errors import CaseNotFoundError, ContactsChangedError
from makegood.store.contacts.reads import (
    contacts_page,
    customer_money_cents,
    handover_from_row,
    read_case,
    read_contact,
    read_customer,
)
from makegood.store.contacts.schema import cases, contacts, customer_profiles, handovers
from makegood.store.contacts.values import (
    PROFILE_FIELDS,
    Case,
    CaseStatus,
    ContactAction,
    ContactRecord,
    CustomerLive,
    Handover,
    LiveContact,
)
from makegood.store.ledger.case_money import keep_holds
from makegood.store.ledger.checks import CENTS_PER_UNIT
from makegood.store.ledger.ledger import Ledger
from makegood.store.ledger.values import Decision

__all__ = ["ContactBook"]

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
_CONTACT_CASE = select(contacts.c.case_id, contacts.c.case_override_reason).where(
    contacts.c.contact_id == bindparam("cid")
)
_CASE_SHARED = (
    select(contacts.c.contact_id)
    .where(contacts.c.case_id == bindparam("case_"), contacts.c.case_override_reason.is_(None))
    .order_by(contacts.c.contact_id)
)
_CASE_LAST_CONTACT = (
    update(cases)
    .where(cases.c.case_id == bindparam("cid"), cases.c.last_contact_at < bindparam("at"))
    .values(last_contact_at=bindparam("at"))
)


class ContactBook:
    """Contacts, cases, handovers and profiles in the ledger's database.

    Every public method runs in one transaction of its own, except
    :meth:`record_contact`, which runs in the caller's (the reservation's).
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._engines = ledger.engines

    # ------------------------------------------------------------------ reads
    def customer(self, customer_id: str) -> CustomerLive:
        """Everything stored about ``customer_id`` (empty for a customer never seen)."""
        with self._engines.reader.connect() as conn:
            return read_customer(conn, customer_id)

    def contact(self, contact_id: str) -> LiveContact | None:
        with self._engines.reader.connect() as conn:
            return read_contact(conn, contact_id)

    def find_case(self, case_id: str) -> Case | None:
        """The case (without its handovers), or None."""
        with self._engines.reader.connect() as conn:
            return read_case(conn, case_id)

    def iter_contacts(self, *, batch_size: int = 1000) -> Iterator[LiveContact]:
        """Every stored contact, oldest first, in batches (no long transaction)."""
        offset = 0
        while True:
            with self._engines.reader.connect() as conn:
                page = contacts_page(conn, offset, batch_size)
            yield from page
            if len(page) < batch_size:
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
        join, or hold what this one would reserve again. With ``record.money_read``, also
        that their contacts still hold or were given that much at ``now``: the caps per
        customer were judged on it, so reading and deciding are atomic per customer.

        Raises:
            ContactsChangedError: the customer's contacts changed since they were read
                (nothing of the caller's transaction should be committed).
            CaseNotFoundError: ``record.case_id`` names no case.
        """
        if record.contacts_read is not None:
            _check_contacts_unchanged(conn, record, now)
        if record.new_case:
            _open_case(conn, record, now)
        else:
            _join_case(conn, record, now)
            if record.covered > 0 and record.case_override_reason is None and decision.expires_at:
                # the holds that cover part of this contact's card wait as long as it does
                keep_holds(conn, _shared(conn, record.case_id), decision.expires_at, now)
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
                "covered_cents": int(record.covered * CENTS_PER_UNIT),
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
        with self._engines.writer.begin() as conn:
            self.record_contact(
                conn,
                decision,
                replace(record, contacts_read=None, money_read=None),
                decision.created_at,
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

    def case_others(self, conn: Connection, decision_id: str) -> list[str]:
        """The other decisions of ``decision_id``'s case whose money it shares, read in
        the caller's transaction (a :data:`~makegood.store.ledger.CaseOf`): none for a
        decision without a contact or a contact reserved apart with a reason (a separate
        matter), and never such a contact."""
        row = conn.execute(_CONTACT_CASE, {"cid": decision_id}).first()
        if row is None or row.case_override_reason is not None:
            return []
        return [d for d in _shared(conn, row.case_id) if d != decision_id]

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
        hold_seconds: float | None = None,
    ) -> Handover:
        """Store a handover and the case's next step, in one transaction. With
        ``hold_seconds``, the case's live holds are kept at least that long from ``now``:
        the case's money waits in the queue with it for the next agent.

        Raises:
            CaseNotFoundError: if the case does not exist.
        """
        handover_id = str(uuid.uuid4())
        with self._engines.writer.begin() as conn:
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
            if hold_seconds is not None:
                until = now + timedelta(seconds=hold_seconds)
                keep_holds(conn, _shared(conn, case_id), until, now)
        return handover_from_row(row)

    def close_case(self, case_id: str, now: datetime) -> None:
        """Close a case: the next contact about the issue opens a new one.

        Raises:
            CaseNotFoundError: if the case does not exist.
        """
        with self._engines.writer.begin() as conn:
            if not conn.execute(
                update(cases)
                .where(cases.c.case_id == case_id)
                .values(status=CaseStatus.CLOSED.value, updated_at=now)
            ).rowcount:
                raise CaseNotFoundError(f"no case with case_id {case_id!r}")


def _shared(conn: Connection, case_id: str) -> list[str]:
    """The decisions of the case's contacts that share its money (not those reserved
    apart with a reason)."""
    return list(conn.execute(_CASE_SHARED, {"case_": case_id}).scalars())


def _check_contacts_unchanged(conn: Connection, record: ContactRecord, now: datetime) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_CUSTOMER, {"cid": record.customer_id})
    n = conn.execute(_COUNT_CONTACTS, {"cid": record.customer_id}).scalar_one()
    if n != record.contacts_read:
        raise ContactsChangedError(
            f"customer {record.customer_id!r} has {n} contacts, not the "
            f"{record.contacts_read} read before deciding (a concurrent contact)"
        )
    if record.money_read is not None:
        cents = customer_money_cents(conn, record.customer_id, now)
        if cents != record.money_read:
            raise ContactsChangedError(
                f"customer {record.customer_id!r} holds or was given {cents} cents, not "
                f"the {record.money_read} read before deciding (their caps are judged on it)"
            )


def _open_case(conn: Connection, record: ContactRecord, now: datetime) -> None:
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


def _join_case(conn: Connection, record: ContactRecord, now: datetime) -> None:
    joined = conn.execute(
        _JOIN_CASE,
        {"cid": record.case_id, "status_": CaseStatus.OPEN.value, "now_": now},
    ).rowcount
    if not joined:
        raise CaseNotFoundError(f"no case with case_id {record.case_id!r}")
    conn.execute(_CASE_LAST_CONTACT, {"cid": record.case_id, "at": record.opened_at})
