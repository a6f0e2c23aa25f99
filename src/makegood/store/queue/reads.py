"""The queue's reads: :class:`QueueReader` opens the queue's table and reads it, an entry,
a case, the cases an agent holds, a customer's open entries, the team's agents, and a
team's queue in serving order with expected waits (the order is
:mod:`makegood.policy.queue`'s rule)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, or_, select

from makegood.policy.queue import QueueRules, expected_wait_seconds, order, priority
from makegood.store import migrations
from makegood.store.db import SQLITE_BUSY_TIMEOUT_SECONDS, moment, open_engines
from makegood.store.queue.rows import capacity, entry_row, is_claimable, queue_team
from makegood.store.queue.schema import queue_entries
from makegood.store.queue.values import EntryStatus, QueueEntry, Ranked, entry_from_row

__all__ = ["QueueReader"]


class QueueReader:
    """The queue's table in the service's database (the ledger's database), read: an
    entry, a case, an agent's cases, a search, the team's agents and its serving order.
    The writes are :class:`~makegood.store.queue.QueueStore`'s (its subclass), and so
    are the parameters.
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

    def close(self) -> None:
        self.engines.dispose()

    def create_all(self) -> None:
        """Bring the database to the newest migration (the queue's table is 0003)."""
        migrations.upgrade(self.engines.base, schema=self.schema)

    def get(self, entry_id: str) -> QueueEntry:
        with self.engines.reader.connect() as conn:
            return entry_from_row(entry_row(conn, entry_id))

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
                    c.team == queue_team(team),
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
                .where(c.team == queue_team(team), c.claimed_by.is_not(None), c.claimed_at >= since)
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
                    queue_entries.c.team == queue_team(team),
                    or_(
                        queue_entries.c.status.in_(
                            [EntryStatus.WAITING.value, EntryStatus.SCHEDULED.value]
                        ),
                        is_claimable(now, self.claim_seconds),
                    ),
                )
            ).all()
            n_agents, handle = capacity(conn, team, now, rules)
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
