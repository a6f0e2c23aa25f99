"""What the queue stores and reads back: an entry's status, the entry, and a claimable
entry with its place (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

__all__ = ["EntryStatus", "QueueEntry", "Ranked", "entry_from_row"]


class EntryStatus(StrEnum):
    WAITING = "waiting"
    CLAIMED = "claimed"
    SCHEDULED = "scheduled"
    CLOSED = "closed"
    HANDED_OVER = "handed_over"


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


def entry_from_row(row: Row[Any] | Mapping[str, Any]) -> QueueEntry:
    """A ``queue_entries`` row (or its values by column name) as an entry."""
    m = dict(row._mapping) if isinstance(row, Row) else dict(row)
    m.pop("updated_at", None)
    m["team"] = m["team"] or None
    m["status"] = EntryStatus(m["status"])
    return QueueEntry(**m)
