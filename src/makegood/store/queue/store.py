"""The :class:`QueueStore`: adding, claiming, closing, handing over and scheduling queue
entries, each in one transaction (the reads are :class:`~.reads.QueueReader`'s, the
steps inside a transaction :mod:`.rows`')."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select, update

from makegood.contract.units import naive_utc
from makegood.errors import QueueStateError
from makegood.policy.queue import QueueRules, next_for_agent
from makegood.store.db import moment
from makegood.store.queue.reads import QueueReader
from makegood.store.queue.rows import claimed_row, entry_row, is_claimable, queue_team, take
from makegood.store.queue.schema import queue_entries
from makegood.store.queue.values import EntryStatus, QueueEntry, entry_from_row

__all__ = ["QueueStore"]


class QueueStore(QueueReader):
    """The queue's table in the service's database (the ledger's database).

    Parameters:
        url: SQLAlchemy URL (see :func:`makegood.store.db.make_engine`).
        schema: PostgreSQL schema holding the table.
        claim_seconds: a claim older than this may be taken by another agent.
    """

    def add(
        self,
        complaint: Mapping[str, Any],
        *,
        value_at_risk: float,
        lifetime_value: float,
        baseline_churn: float,
        skill: str,
        team: str | None = None,
        case_id: str | None = None,
        now: datetime | None = None,
    ) -> QueueEntry:
        """A new waiting entry for ``complaint`` (contract fields, JSON-able)."""
        now = moment(now)
        entry_id = str(uuid.uuid4())
        values = {
            "entry_id": entry_id,
            "case_id": case_id or str(uuid.uuid4()),
            "complaint_id": str(complaint["complaint_id"]),
            "customer_id": str(complaint["customer_id"]),
            "team": queue_team(team),
            "channel": str(complaint["channel"]),
            "skill": skill,
            "value_at_risk": max(float(value_at_risk), 0.0),
            "lifetime_value": float(lifetime_value),
            "baseline_churn": float(baseline_churn),
            "complaint": dict(complaint),
            "arrived_at": now,
            "enqueued_at": now,
            "status": EntryStatus.WAITING.value,
            "n_claims": 0,
            "updated_at": now,
        }
        with self.engines.writer.begin() as conn:
            conn.execute(queue_entries.insert().values(**values))
            return entry_from_row(entry_row(conn, entry_id))

    def claim_next(
        self,
        *,
        team: str | None,
        agent: str,
        agent_name: str | None = None,
        primary: Collection[str] | None,
        backup: Collection[str] = (),
        rules: QueueRules,
        now: datetime | None = None,
    ) -> QueueEntry | None:
        """Claim the best entry this agent may serve (None when there is none)."""
        now = moment(now)
        with self.engines.writer.begin() as conn:
            rows = conn.execute(
                select(
                    queue_entries.c.entry_id,
                    queue_entries.c.value_at_risk,
                    queue_entries.c.arrived_at,
                    queue_entries.c.skill,
                ).where(
                    queue_entries.c.team == queue_team(team), is_claimable(now, self.claim_seconds)
                )
            ).all()
            if not rows:
                return None
            ranked = next_for_agent(
                np.array([r.value_at_risk for r in rows]),
                np.array([(now - r.arrived_at).total_seconds() for r in rows]),
                np.array([r.skill for r in rows], dtype=object),
                primary=primary,
                backup=backup,
                rules=rules,
            )
            for k in ranked:
                entry_id = rows[int(k)].entry_id
                if take(conn, entry_id, agent, agent_name, now, claim_seconds=self.claim_seconds):
                    return entry_from_row(entry_row(conn, entry_id))
        return None

    def claim(
        self,
        entry_id: str,
        *,
        agent: str,
        agent_name: str | None = None,
        now: datetime | None = None,
    ) -> QueueEntry:
        """Claim this entry (a case opened from the queue, or handed to a named agent).

        Raises:
            QueueEntryNotFoundError: no such entry.
            QueueStateError: the entry is not claimable (taken, closed, or a callback
                not due yet).
        """
        now = moment(now)
        with self.engines.writer.begin() as conn:
            row = entry_row(conn, entry_id)
            if not take(conn, entry_id, agent, agent_name, now, claim_seconds=self.claim_seconds):
                raise QueueStateError(
                    f"queue entry {entry_id} is {row.status}"
                    + (" by another agent" if row.status == EntryStatus.CLAIMED.value else "")
                    + ": it cannot be taken now"
                )
            return entry_from_row(entry_row(conn, entry_id))

    def set_decision(
        self, entry_id: str, decision_id: str, *, agent: str, case_id: str | None = None
    ) -> QueueEntry:
        """Attach the recommendation served for this claim (and the service's case of it,
        which every entry of this queue case then shares)."""
        with self.engines.writer.begin() as conn:
            row = claimed_row(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(decision_id=decision_id, updated_at=moment(None))
            )
            if case_id and case_id != row.case_id:
                conn.execute(
                    update(queue_entries)
                    .where(queue_entries.c.case_id == row.case_id)
                    .values(case_id=case_id)
                )
            return entry_from_row(entry_row(conn, entry_id))

    def release(self, entry_id: str, *, agent: str, now: datetime | None = None) -> QueueEntry:
        """Give a claimed entry back to the queue (its place kept)."""
        now = moment(now)
        with self.engines.writer.begin() as conn:
            claimed_row(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(status=EntryStatus.WAITING.value, claimed_by=None, updated_at=now)
            )
            return entry_from_row(entry_row(conn, entry_id))

    def finish(
        self, entry_id: str, *, agent: str, outcome: str, now: datetime | None = None
    ) -> QueueEntry:
        """Close a claimed entry with the agent's ``outcome`` (accepted, override, ...)."""
        now = moment(now)
        with self.engines.writer.begin() as conn:
            claimed_row(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(
                    status=EntryStatus.CLOSED.value, outcome=outcome, closed_at=now, updated_at=now
                )
            )
            return entry_from_row(entry_row(conn, entry_id))

    def handover(
        self,
        entry_id: str,
        *,
        agent: str,
        to_team: str | None,
        channel: str | None,
        note: str,
        now: datetime | None = None,
    ) -> QueueEntry:
        """Close a claimed entry as handed over; returns the new waiting entry of the case
        (for ``to_team``, on ``channel`` if given), carrying the note and the first arrival."""
        now = moment(now)
        with self.engines.writer.begin() as conn:
            old = entry_from_row(claimed_row(conn, entry_id, agent))
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(
                    status=EntryStatus.HANDED_OVER.value,
                    outcome="handed_over",
                    note=note,
                    closed_at=now,
                    updated_at=now,
                )
            )
            new_id = str(uuid.uuid4())
            complaint = dict(old.complaint)
            if channel:
                complaint["channel"] = channel
            conn.execute(
                queue_entries.insert().values(
                    entry_id=new_id,
                    case_id=old.case_id,
                    complaint_id=old.complaint_id,
                    customer_id=old.customer_id,
                    team=queue_team(to_team),
                    channel=channel or old.channel,
                    skill=old.skill,
                    value_at_risk=old.value_at_risk,
                    lifetime_value=old.lifetime_value,
                    baseline_churn=old.baseline_churn,
                    complaint=complaint,
                    arrived_at=old.arrived_at,
                    enqueued_at=now,
                    status=EntryStatus.WAITING.value,
                    n_claims=0,
                    note=note,
                    from_entry_id=old.entry_id,
                    from_team=old.team,
                    from_agent=old.agent_name or old.claimed_by,
                    updated_at=now,
                )
            )
            return entry_from_row(entry_row(conn, new_id))

    def schedule_callback(
        self,
        entry_id: str,
        *,
        agent: str | None,
        slot_start: datetime,
        slot_end: datetime | None,
        channel: str | None,
        note: str | None,
        now: datetime | None = None,
    ) -> QueueEntry:
        """Take an entry out of the queue until ``slot_start``, when it is claimable again.

        An agent's claimed entry (``agent`` given), or a waiting one (the customer chose a
        callback when offered one: ``agent`` None).
        """
        now = moment(now)
        with self.engines.writer.begin() as conn:
            if agent is not None:
                row = claimed_row(conn, entry_id, agent)
            else:
                row = entry_row(conn, entry_id, lock=True)
                if row.status != EntryStatus.WAITING.value:
                    raise QueueStateError(
                        f"queue entry {entry_id} is {row.status}: only a waiting entry can "
                        "be given a callback without an agent"
                    )
            complaint = dict(row.complaint)
            if channel:
                complaint["channel"] = channel
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(
                    status=EntryStatus.SCHEDULED.value,
                    due_at=naive_utc(slot_start),
                    slot_end=None if slot_end is None else naive_utc(slot_end),
                    channel=channel or row.channel,
                    complaint=complaint,
                    note=note if note is not None else row.note,
                    claimed_by=None,
                    decision_id=None,
                    updated_at=now,
                )
            )
            return entry_from_row(entry_row(conn, entry_id))
