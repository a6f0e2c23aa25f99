"""The queue's table, in the ledger's database (mirrors migration 0003; tests compare
the two)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from makegood.store.db import metadata
from makegood.store.queue.values import EntryStatus

__all__ = ["queue_entries"]

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
