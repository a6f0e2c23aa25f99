"""The contact book's tables: cases, contacts, handovers and customer profiles, in the
ledger's database (a contact's id is its decision's). Mirrors migration 0002 (tests
compare the two)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from makegood.store.db import metadata

__all__ = ["cases", "contacts", "customer_profiles", "handovers"]

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
