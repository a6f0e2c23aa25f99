"""The ledger's tables: budgets, decisions, outcomes and idempotency keys (mirrored by
migrations 0001, 0002, 0004 and 0005; tests compare the two).

Money is integer cents. Each budget row carries running ``committed`` and ``reserved``
totals; its CHECK constraints make the database itself refuse
``committed + reserved > amount``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
    UniqueConstraint,
    text,
)

from makegood.store.db import metadata
from makegood.store.ledger.values import DecisionStatus

__all__ = ["budgets", "decisions", "idempotency_keys", "outcomes"]

budgets = Table(
    "budgets",
    metadata,
    Column("budget_id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(32), nullable=False),
    # "" is the company-wide budget: NULL would defeat the unique constraint.
    Column("team", String(128), nullable=False, default=""),
    Column("amount_cents", BigInteger, nullable=False),
    Column("committed_cents", BigInteger, nullable=False, default=0),
    Column("reserved_cents", BigInteger, nullable=False, default=0),
    Column("period_start", DateTime, nullable=False),
    Column("period_end", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("period", "team", name="uq_budgets_period_team"),
    CheckConstraint(
        "committed_cents >= 0 AND reserved_cents >= 0", name="ck_budgets_totals_nonnegative"
    ),
    CheckConstraint(
        "committed_cents + reserved_cents <= amount_cents", name="ck_budgets_within_amount"
    ),
    CheckConstraint("period_end > period_start", name="ck_budgets_period_order"),
)

_STATUSES = ", ".join(f"'{s.value}'" for s in DecisionStatus)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("idempotency_key", String(255), nullable=True, unique=True),
    Column("budget_id", Integer, ForeignKey("budgets.budget_id"), nullable=True),
    Column("period", String(32), nullable=False),
    Column("team", String(128), nullable=True),
    Column("complaint_id", String(255), nullable=False),
    Column("customer_id", String(255), nullable=False),
    Column("complaint", JSON, nullable=False),
    Column("ranking", JSON, nullable=False),
    Column("recommended_resolution", String(128), nullable=False),
    Column("recommended_propensity", Float, nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("compensation_cents", BigInteger, nullable=False),
    Column("final_resolution", String(128), nullable=True),
    Column("final_compensation_cents", BigInteger, nullable=True),
    Column("override_reason", Text, nullable=True),
    Column("decided_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    # how the agent closed the contact (migration 0004)
    Column("wrap_up_code", String(64), nullable=True),
    Column("wrap_up_note", Text, nullable=True),
    # what a guardrail floor requires of the compensation (migration 0005): owed, and
    # reserved even beyond the budget (then budget_id is NULL)
    Column("owed_cents", BigInteger, nullable=False, default=0, server_default=text("0")),
    CheckConstraint(f"status IN ({_STATUSES})", name="ck_decisions_status"),
    CheckConstraint("compensation_cents >= 0", name="ck_decisions_compensation_nonnegative"),
    CheckConstraint(
        "final_compensation_cents IS NULL OR final_compensation_cents >= 0",
        name="ck_decisions_final_compensation_nonnegative",
    ),
    CheckConstraint(
        "recommended_propensity > 0 AND recommended_propensity <= 1",
        name="ck_decisions_propensity_range",
    ),
    Index("ix_decisions_complaint_id", "complaint_id"),
    Index("ix_decisions_customer_id", "customer_id"),
    Index("ix_decisions_created_at", "created_at"),
    Index("ix_decisions_budget_status_expires", "budget_id", "status", "expires_at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.decision_id"), primary_key=True),
    Column("satisfaction", Float, nullable=True),
    Column("churned_90d", Boolean, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(
        "satisfaction IS NULL OR (satisfaction >= 0 AND satisfaction <= 10)",
        name="ck_outcomes_satisfaction_range",
    ),
)

# What an idempotency key was first used with (a fingerprint of the request) and the
# answer given, so a retry gets that answer back and a changed request is refused.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("idempotency_key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("decision_id", String(36), nullable=False),
    Column("response", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
)
