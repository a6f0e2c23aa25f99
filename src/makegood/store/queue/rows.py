"""The steps of the queue's table inside a transaction: the ``team`` key, an entry's row
(locked, or held by an agent), which entries are claimable at ``now``, taking one, and
the team's capacity (agents and handling time) behind the expected waits."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from makegood.errors import QueueEntryNotFoundError, QueueStateError
from makegood.policy.queue import QueueRules
from makegood.store.queue.schema import queue_entries
from makegood.store.queue.values import EntryStatus

__all__ = ["capacity", "claimed_row", "entry_row", "is_claimable", "queue_team", "take"]


def queue_team(team: str | None) -> str:
    """The ``team`` column's key: "" is no team (the company-wide queue)."""
    return team or ""


def is_claimable(now: datetime, claim_seconds: float) -> Any:
    """The condition of an entry an agent may take at ``now``: waiting, a callback due,
    or a claim older than ``claim_seconds`` (the agent went away)."""
    stale = now - timedelta(seconds=claim_seconds)
    c = queue_entries.c
    return or_(
        c.status == EntryStatus.WAITING.value,
        and_(c.status == EntryStatus.SCHEDULED.value, c.due_at <= now),
        and_(c.status == EntryStatus.CLAIMED.value, c.claimed_at <= stale),
    )


def take(
    conn: Connection,
    entry_id: str,
    agent: str,
    agent_name: str | None,
    now: datetime,
    *,
    claim_seconds: float,
) -> bool:
    """Claim the entry if it is still claimable; False when another agent took it (or,
    on PostgreSQL, is taking it: its row is locked, and skipped rather than awaited)."""
    if conn.dialect.name == "postgresql":
        locked = conn.execute(
            select(queue_entries.c.entry_id)
            .where(queue_entries.c.entry_id == entry_id, is_claimable(now, claim_seconds))
            .with_for_update(skip_locked=True)
        ).first()
        if locked is None:
            return False
    taken = conn.execute(
        update(queue_entries)
        .where(queue_entries.c.entry_id == entry_id, is_claimable(now, claim_seconds))
        .values(
            status=EntryStatus.CLAIMED.value,
            claimed_by=agent,
            agent_name=agent_name,
            claimed_at=now,
            n_claims=queue_entries.c.n_claims + 1,
            decision_id=None,
            updated_at=now,
        )
    )
    return taken.rowcount == 1


def capacity(
    conn: Connection, team: str | None, now: datetime, rules: QueueRules
) -> tuple[int, float]:
    """Agents who claimed in the last hour (at least 1) and the median handling time of
    the last day's closed entries (the rule's default below 5 of them)."""
    c = queue_entries.c
    agents = conn.execute(
        select(c.claimed_by)
        .where(
            c.team == queue_team(team),
            c.claimed_by.is_not(None),
            c.claimed_at >= now - timedelta(hours=1),
        )
        .distinct()
    ).all()
    closed = conn.execute(
        select(c.claimed_at, c.closed_at).where(
            c.team == queue_team(team),
            c.closed_at >= now - timedelta(days=1),
            c.claimed_at.is_not(None),
        )
    ).all()
    times = [(r.closed_at - r.claimed_at).total_seconds() for r in closed]
    handle = statistics.median(times) if len(times) >= 5 else rules.handle_seconds
    return max(len(agents), 1), max(float(handle), 1.0)


def entry_row(conn: Connection, entry_id: str, *, lock: bool = False) -> Row[Any]:
    """The entry's row (locked for update with ``lock``).

    Raises:
        QueueEntryNotFoundError: no such entry.
    """
    query = select(queue_entries).where(queue_entries.c.entry_id == entry_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise QueueEntryNotFoundError(f"no queue entry {entry_id!r}")
    return row


def claimed_row(conn: Connection, entry_id: str, agent: str) -> Row[Any]:
    """The entry's row, locked, when ``agent`` holds it.

    Raises:
        QueueEntryNotFoundError: no such entry.
        QueueStateError: the entry is not claimed, or claimed by another agent.
    """
    row = entry_row(conn, entry_id, lock=True)
    if row.status != EntryStatus.CLAIMED.value:
        raise QueueStateError(f"queue entry {entry_id} is {row.status}, not claimed: take it first")
    if row.claimed_by != agent:
        raise QueueStateError(f"queue entry {entry_id} is being handled by another agent")
    return row
