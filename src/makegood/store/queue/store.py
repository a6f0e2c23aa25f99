"""The :class:`QueueStore`: adding, claiming, closing, handing over and scheduling queue
entries, each in one transaction, and reading a team's queue in serving order (the
order is :mod:`makegood.policy.queue`'s rule)."""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Row, and_, func, or_, select, update

from makegood.contract.units import naive_utc
from makegood.errors import QueueEntryNotFoundError, QueueStateError
from makegood.policy.queue import (
    QueueRules,
    expected_wait_seconds,
    next_for_agent,
    order,
    priority,
)
from makegood.store import migrations
from makegood.store.db import SQLITE_BUSY_TIMEOUT_SECONDS, moment, open_engines
from makegood.store.queue.schema import queue_entries
from makegood.store.queue.values import EntryStatus, QueueEntry, Ranked, entry_from_row

__all__ = ["QueueStore"]


def _team(team: str | None) -> str:
    """The ``team`` column's key: "" is no team (the company-wide queue)."""
    return team or ""


class QueueStore:
    """The queue's table in the service's database (the ledger's database).

    Parameters:
        url: SQLAlchemy URL (see :func:`makegood.store.db.make_engine`).
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
        self.engines = open_engines(url, schema=schema, lock_timeout=lock_timeout)
        self.schema = schema
        self.claim_seconds = claim_seconds
        self._postgres = self.engines.writer.dialect.name == "postgresql"

    def close(self) -> None:
        self.engines.dispose()

    def create_all(self) -> None:
        """Bring the database to the newest migration (the queue's table is 0003)."""
        migrations.upgrade(self.engines.base, schema=self.schema)

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
        now = moment(now)
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
        with self.engines.writer.begin() as conn:
            conn.execute(queue_entries.insert().values(**values))
            return entry_from_row(self._row(conn, entry_id))

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
                if self._take(conn, entry_id, agent, agent_name, now):
                    return entry_from_row(self._row(conn, entry_id))
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
            row = self._row(conn, entry_id)
            if not self._take(conn, entry_id, agent, agent_name, now):
                raise QueueStateError(
                    f"queue entry {entry_id} is {row.status}"
                    + (" by another agent" if row.status == EntryStatus.CLAIMED.value else "")
                    + ": it cannot be taken now"
                )
            return entry_from_row(self._row(conn, entry_id))

    def set_decision(
        self, entry_id: str, decision_id: str, *, agent: str, case_id: str | None = None
    ) -> QueueEntry:
        """Attach the recommendation served for this claim (and the service's case of it,
        which every entry of this queue case then shares)."""
        with self.engines.writer.begin() as conn:
            row = self._claimed_by(conn, entry_id, agent)
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
            return entry_from_row(self._row(conn, entry_id))

    def release(self, entry_id: str, *, agent: str, now: datetime | None = None) -> QueueEntry:
        """Give a claimed entry back to the queue (its place kept)."""
        now = moment(now)
        with self.engines.writer.begin() as conn:
            self._claimed_by(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(status=EntryStatus.WAITING.value, claimed_by=None, updated_at=now)
            )
            return entry_from_row(self._row(conn, entry_id))

    def finish(
        self, entry_id: str, *, agent: str, outcome: str, now: datetime | None = None
    ) -> QueueEntry:
        """Close a claimed entry with the agent's ``outcome`` (accepted, override, ...)."""
        now = moment(now)
        with self.engines.writer.begin() as conn:
            self._claimed_by(conn, entry_id, agent)
            conn.execute(
                update(queue_entries)
                .where(queue_entries.c.entry_id == entry_id)
                .values(
                    status=EntryStatus.CLOSED.value, outcome=outcome, closed_at=now, updated_at=now
                )
            )
            return entry_from_row(self._row(conn, entry_id))

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
            old = entry_from_row(self._claimed_by(conn, entry_id, agent))
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
            return entry_from_row(self._row(conn, new_id))

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
            return entry_from_row(self._row(conn, entry_id))

    # ------------------------------------------------------------------ reads
    def get(self, entry_id: str) -> QueueEntry:
        with self.engines.reader.connect() as conn:
            return entry_from_row(self._row(conn, entry_id))

    def case(self, case_id: str) -> list[QueueEntry]:
        """Every entry of a case, oldest first."""
        with self.engines.reader.connect() as conn:
            rows = conn.execute(
                select(queue_entries)
                .where(queue_entries.c.case_id == case_id)
                .order_by(queue_entries.c.enqueued_at, queue_entries.c.entry_id)
            ).all()
        return [entry_from_row(r) for r in rows]

    def claimed_by(self, agent: str, *, now: datetime | None = None) -> list[QueueEntry]:
        """The entries ``agent`` holds now (claimed and not yet lapsed), oldest claim first:
        the agent's open cases, which a console lists after sign-in."""
        now = moment(now)
        c = queue_entries.c
        with self.engines.reader.connect() as conn:
            rows = conn.execute(
                select(queue_entries)
                .where(
                    c.claimed_by == agent,
                    c.status == EntryStatus.CLAIMED.value,
                    c.claimed_at > now - timedelta(seconds=self.claim_seconds),
                )
                .order_by(c.claimed_at, c.entry_id)
            ).all()
        return [entry_from_row(r) for r in rows]

    def find_open(self, team: str | None, customer: str, *, limit: int = 20) -> list[QueueEntry]:
        """The team's open entries (waiting, taken, scheduled) of customers whose id
        contains ``customer`` (case-insensitive), longest waiting first."""
        c = queue_entries.c
        # the text is matched literally: LIKE's wildcards in it are escaped
        literal = customer.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{literal}%"
        with self.engines.reader.connect() as conn:
            rows = conn.execute(
                select(queue_entries)
                .where(
                    c.team == _team(team),
                    c.status.in_(
                        [
                            s.value
                            for s in (
                                EntryStatus.WAITING,
                                EntryStatus.CLAIMED,
                                EntryStatus.SCHEDULED,
                            )
                        ]
                    ),
                    func.lower(c.customer_id).like(pattern, escape="\\"),
                )
                .order_by(c.arrived_at, c.entry_id)
                .limit(limit)
            ).all()
        return [entry_from_row(r) for r in rows]

    def agents(self, team: str | None, *, since: datetime) -> list[tuple[str, str | None]]:
        """(agent, name) of everyone who took a case of the team's queue since ``since``,
        the latest name each gave; most recent first."""
        c = queue_entries.c
        with self.engines.reader.connect() as conn:
            rows = conn.execute(
                select(c.claimed_by, c.agent_name, c.claimed_at)
                .where(c.team == _team(team), c.claimed_by.is_not(None), c.claimed_at >= since)
                .order_by(c.claimed_at.desc())
            ).all()
        seen: dict[str, str | None] = {}
        for r in rows:
            if r.claimed_by not in seen:
                seen[r.claimed_by] = r.agent_name
        return list(seen.items())

    def ranked(
        self, team: str | None, *, rules: QueueRules, now: datetime | None = None
    ) -> tuple[list[Ranked], list[QueueEntry], dict[str, float]]:
        """The claimable entries of a team in serving order, with expected waits; the
        callbacks scheduled for later; and the figures behind the waits (agents, handle
        time)."""
        now = moment(now)
        with self.engines.reader.connect() as conn:
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
        entries = [entry_from_row(r) for r in rows]
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
    def _take(
        self, conn: Connection, entry_id: str, agent: str, agent_name: str | None, now: datetime
    ) -> bool:
        """Claim the entry if it is still claimable; False when another agent took it (or,
        on PostgreSQL, is taking it: its row is locked, and skipped rather than awaited)."""
        if self._postgres:
            locked = conn.execute(
                select(queue_entries.c.entry_id)
                .where(queue_entries.c.entry_id == entry_id, self._claimable(now))
                .with_for_update(skip_locked=True)
            ).first()
            if locked is None:
                return False
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
        return taken.rowcount == 1

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
