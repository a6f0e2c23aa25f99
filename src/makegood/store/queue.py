"""Durable queue of open contacts: one row per contact waiting for an agent (SQLAlchemy).

Storage only: who is served next is :mod:`makegood.policy.queue`'s rule; this module
reads the open entries, asks the rule, and claims the chosen one.

An entry's life::

    waiting --claim--> claimed --finish-----> closed
       ^                  |  \\--handover----> handed_over (+ a new waiting entry, same case)
       |                  \\----callback----> scheduled --(slot start reached)--> claimable
       \\---------release--/

A claim is atomic: in one transaction the open entries are read, ranked, and the best
one is taken with ``UPDATE ... WHERE status is still claimable``; on PostgreSQL the
chosen row is first locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` (another agent's
claim in flight is skipped, not waited for), on SQLite ``BEGIN IMMEDIATE`` makes the
claim the only writer. Two agents never get the same entry. A claim older than
``claim_seconds`` (the agent went away) may be taken again.

The table is declared on the ledger's metadata (the migrations test compares the two)
and created by migration 0003 (:mod:`makegood.store.migrations`). Ageing counts from
``arrived_at``, the customer's first arrival: a handover or a callback keeps the
customer's place. Timestamps are naive UTC.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
    update,
)

from makegood.errors import ConfigError, QueueEntryNotFoundError, QueueStateError
from makegood.policy.queue import (
    QueueRules,
    expected_wait_seconds,
    next_for_agent,
    order,
    priority,
)
from makegood.store.ledger import SQLITE_BUSY_TIMEOUT_SECONDS, make_engine, metadata

__all__ = ["EntryStatus", "QueueEntry", "QueueStore", "queue_entries"]


class EntryStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    HANDED_OVER = "handed_over"


_STATUSES = ", ".join(f"'{s.value}'" for s in EntryStatus)

queue_entries = Table(
    "queue_entries",
    metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("complaint_id", String(255), nullable=False),
    Column("customer_id", String(255), nullable=False),
    # "" is no team (the company-wide queue)
    Column("team", String(128), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("skill", String(64), nullable=False),
    Column("value_at_risk", Float, nullable=False),
    Column("lifetime_value", Float, nullable=False),
    Column("baseline_churn", Float, nullable=False),
    Column("complaint", JSON, nullable=False),
    Column("arrived_at", DateTime, nullable=False),
    Column("enqueued_at", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("claimed_by", String(128), nullable=True),
    Column("agent_name", String(128), nullable=True),
    Column("claimed_at", DateTime, nullable=True),
    Column("n_claims", Integer, nullable=False, default=0),
    Column("due_at", DateTime, nullable=True),
    Column("slot_end", DateTime, nullable=True),
    Column("note", Text, nullable=True),
    Column("from_entry_id", String(36), nullable=True),
    Column("from_team", String(128), nullable=True),
    Column("from_agent", String(128), nullable=True),
    Column("decision_id", String(36), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(f"status IN ({_STATUSES})", name="ck_queue_entries_status"),
    CheckConstraint("value_at_risk >= 0", name="ck_queue_entries_var_nonnegative"),
    Index("ix_queue_entries_team_status", "team", "status"),
    Index("ix_queue_entries_case", "case_id"),
    Index("ix_queue_entries_customer", "customer_id"),
)


@dataclass(frozen=True)
class QueueEntry:
    """One stored contact of the queue (see the module docstring for the states)."""

    entry_id: str
    case_id: str
    complaint_id: str
    customer_id: str
    team: str | None
    channel: str
    skill: str
    value_at_risk: float
    lifetime_value: float
    baseline_churn: float
    complaint: dict[str, Any]
    arrived_at: datetime
    enqueued_at: datetime
    status: EntryStatus
    claimed_by: str | None
    agent_name: str | None
    claimed_at: datetime | None
    n_claims: int
    due_at: datetime | None
    slot_end: datetime | None
    note: str | None
    from_entry_id: str | None
    from_team: str | None
    from_agent: str | None
    decision_id: str | None
    outcome: str | None
    closed_at: datetime | None

    def waited_seconds(self, now: datetime) -> float:
        return max((now - self.arrived_at).total_seconds(), 0.0)

    def callback_due(self, now: datetime) -> bool:
        return (
            self.status == EntryStatus.SCHEDULED
            and self.due_at is not None
            and (self.due_at <= now)
        )


@dataclass(frozen=True)
class Ranked:
    """A claimable entry with its place in the queue and its expected wait."""

    entry: QueueEntry
    priority: float
    position: int
    expected_wait_seconds: float


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _team(team: str | None) -> str:
    return team or ""


def _entry(row: Row[Any] | Mapping[str, Any]) -> QueueEntry:
    m = dict(row._mapping) if isinstance(row, Row) else dict(row)
    m.pop("updated_at", None)
    m["team"] = m["team"] or None
    m["status"] = EntryStatus(m["status"])
    return QueueEntry(**m)


class QueueStore:
    """The queue's table in the service's database (the ledger's database).

    Parameters:
        url: SQLAlchemy URL (see :func:`makegood.store.ledger.make_engine`).
        schema: PostgreSQL schema holding the table.
        claim_seconds: a claim older than this may be taken by another agent.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        claim_seconds: float = 1800.0,
        lock_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self._base_engine = make_engine(url, lock_timeout=lock_timeout)
        engine = self._base_engine
        if schema is not None:
            if engine.dialect.name != "postgresql":
                raise ConfigError(f"schema is only supported on PostgreSQL. Got {schema!r}.")
            engine = engine.execution_options(schema_translate_map={None: schema})
        self._engine = engine
        # make_engine starts these with a plain BEGIN on SQLite (no write lock)
        self._reader = engine.execution_options(makegood_read_only=True)
        self.schema = schema
        self.claim_seconds = claim_seconds
        self._postgres = engine.dialect.name == "postgresql"

    def close(self) -> None:
        self._base_engine.dispose()

    def create_all(self) -> None:
        """Bring the database to the newest migration (the queue's table is 0003)."""
        from makegood.store import migrations

        migrations.upgrade(self._base_engine, schema=self.schema)

    # ------------------------------------------------------------------ writes
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
        now = _utc(now)
        entry_id = str(uuid.uuid4())
        values = {
            "entry_id": entry_id,
            "case_id": case_id or str(uuid.uuid4()),
            "complaint_id": str(complaint["complaint_id"]),
            "customer_id": str(complaint["customer_id"]),
            "team": _team(team),
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
        with self._engine.begin() as conn:
            conn.execute(queue_entries.insert().values(**values))
            return _entry(self._row(conn, entry_id))

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
        now = _utc(now)
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(
                    queue_entries.c.entry_id,
                    queue_entries.c.value_at_risk,
                    queue_entries.c.arrived_at,
                    queue_entries.c.skill,
                ).where(queue_entries.c.team == _team(team), self._claimable(now))
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
                if self._postgres:
                    locked = conn.execute(
                        select(queue_entries.c.entry_id)
                        .where(queue_entries.c.entry_id == entry_id, self._claimable(now))
                        .with_for_update(skip_locked=True)
                    ).first()
                    if locked is None:
                        continue
                taken = conn.execute(
                    update(queue_entries)
                    .where(queue_entries.c.entry_id == entry_id, self._claimable(now))
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
                if taken.rowcount == 1:
                    return _entry(self._row(conn, entry_id))
        return None

    def set_decision(
        self, entry_id: str, decision_id: str, *, agent: str, case_id: str | None = None
    ) -> QueueEntry:
        """Attach the recommendation served for this claim (and the service's case of it,
        which every entry of this queue case then shares)."""
        with self._engine.begin() as conn:
            row = self._claimed_by(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(decision_id=decision_id, updated_at=_utc(None))
            )
            if case_id and case_id != row.case_id:
                conn.execute(
                    update(queue_entries)
                    .where(queue_entries.c.case_id == row.case_id)
                    .values(case_id=case_id)
                )
            return _entry(self._row(conn, entry_id))

    def release(self, entry_id: str, *, agent: str, now: datetime | None = None) -> QueueEntry:
        """Give a claimed entry back to the queue (its place kept)."""
        now = _utc(now)
        with self._engine.begin() as conn:
            self._claimed_by(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(status=EntryStatus.WAITING.value, claimed_by=None, updated_at=now)
            )
            return _entry(self._row(conn, entry_id))

    def finish(
        self, entry_id: str, *, agent: str, outcome: str, now: datetime | None = None
    ) -> QueueEntry:
        """Close a claimed entry with the agent's ``outcome`` (accepted, override, ...)."""
        now = _utc(now)
        with self._engine.begin() as conn:
            self._claimed_by(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(
                    status=EntryStatus.CLOSED.value, outcome=outcome, closed_at=now, updated_at=now
                )
            )
            return _entry(self._row(conn, entry_id))

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
        now = _utc(now)
        with self._engine.begin() as conn:
            old = _entry(self._claimed_by(conn, entry_id, agent))
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
                    team=_team(to_team),
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
            return _entry(self._row(conn, new_id))

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
        now = _utc(now)
        with self._engine.begin() as conn:
            if agent is not None:
                row = self._claimed_by(conn, entry_id, agent)
            else:
                row = self._row(conn, entry_id, lock=True)
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
                    due_at=_utc(slot_start),
                    slot_end=None if slot_end is None else _utc(slot_end),
                    channel=channel or row.channel,
                    complaint=complaint,
                    note=note if note is not None else row.note,
                    claimed_by=None,
                    decision_id=None,
                    updated_at=now,
                )
            )
            return _entry(self._row(conn, entry_id))

    # ------------------------------------------------------------------ reads
    def get(self, entry_id: str) -> QueueEntry:
        with self._reader.connect() as conn:
            return _entry(self._row(conn, entry_id))

    def case(self, case_id: str) -> list[QueueEntry]:
        """Every entry of a case, oldest first."""
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(queue_entries)
                .where(queue_entries.c.case_id == case_id)
                .order_by(queue_entries.c.enqueued_at, queue_entries.c.entry_id)
            ).all()
        return [_entry(r) for r in rows]

    def ranked(
        self, team: str | None, *, rules: QueueRules, now: datetime | None = None
    ) -> tuple[list[Ranked], list[QueueEntry], dict[str, float]]:
        """The claimable entries of a team in serving order, with expected waits; the
        callbacks scheduled for later; and the figures behind the waits (agents, handle
        time)."""
        now = _utc(now)
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(queue_entries).where(
                    queue_entries.c.team == _team(team),
                    or_(
                        queue_entries.c.status.in_(
                            [EntryStatus.WAITING.value, EntryStatus.SCHEDULED.value]
                        ),
                        self._claimable(now),
                    ),
                )
            ).all()
            n_agents, handle = self._capacity(conn, team, now, rules)
        entries = [_entry(r) for r in rows]
        claimable = [e for e in entries if e.status != EntryStatus.SCHEDULED or e.callback_due(now)]
        later = sorted(
            (e for e in entries if e not in claimable), key=lambda e: (e.due_at, e.entry_id)
        )
        ranks = order(
            np.array([e.value_at_risk for e in claimable]),
            np.array([e.waited_seconds(now) for e in claimable]),
            ageing_per_minute=rules.ageing_per_minute,
        )
        out: list[Ranked] = []
        ahead_by_skill: dict[str, int] = {}
        for pos, k in enumerate(ranks):
            e = claimable[int(k)]
            n_ahead = ahead_by_skill.get(e.skill, 0)
            ahead_by_skill[e.skill] = n_ahead + 1
            p = priority(
                [e.value_at_risk],
                [e.waited_seconds(now)],
                ageing_per_minute=rules.ageing_per_minute,
            )
            wait = expected_wait_seconds([n_ahead], n_agents, handle)
            out.append(Ranked(e, float(p[0]), pos + 1, float(wait[0])))
        return out, later, {"n_agents": float(n_agents), "handle_seconds": handle}

    # ------------------------------------------------------------------ helpers
    def _claimable(self, now: datetime) -> Any:
        stale = now - timedelta(seconds=self.claim_seconds)
        c = queue_entries.c
        return or_(
            c.status == EntryStatus.WAITING.value,
            and_(c.status == EntryStatus.SCHEDULED.value, c.due_at <= now),
            and_(c.status == EntryStatus.CLAIMED.value, c.claimed_at <= stale),
        )

    def _capacity(
        self, conn: Connection, team: str | None, now: datetime, rules: QueueRules
    ) -> tuple[int, float]:
        """Agents who claimed in the last hour (at least 1) and the median handling time of
        the last day's closed entries (the rule's default below 5 of them)."""
        c = queue_entries.c
        agents = conn.execute(
            select(c.claimed_by)
            .where(
                c.team == _team(team),
                c.claimed_by.is_not(None),
                c.claimed_at >= now - timedelta(hours=1),
            )
            .distinct()
        ).all()
        closed = conn.execute(
            select(c.claimed_at, c.closed_at).where(
                c.team == _team(team),
                c.closed_at >= now - timedelta(days=1),
                c.claimed_at.is_not(None),
            )
        ).all()
        times = [(r.closed_at - r.claimed_at).total_seconds() for r in closed]
        handle = statistics.median(times) if len(times) >= 5 else rules.handle_seconds
        return max(len(agents), 1), max(float(handle), 1.0)

    def _row(self, conn: Connection, entry_id: str, *, lock: bool = False) -> Row[Any]:
        query = select(queue_entries).where(queue_entries.c.entry_id == entry_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise QueueEntryNotFoundError(f"no queue entry {entry_id!r}")
        return row

    def _claimed_by(self, conn: Connection, entry_id: str, agent: str) -> Row[Any]:
        row = self._row(conn, entry_id, lock=True)
        if row.status != EntryStatus.CLAIMED.value:
            raise QueueStateError(
                f"queue entry {entry_id} is {row.status}, not claimed: take it first"
            )
        if row.claimed_by != agent:
            raise QueueStateError(f"queue entry {entry_id} is being handled by another agent")
        return row
