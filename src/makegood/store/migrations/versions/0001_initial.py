"""The tables the service made with ``create_all`` before migrations: budgets,
decisions, outcomes (the ledger) and serving_model (the pinned model version).

A database that already has some of them (made by ``create_all``) is adopted: only
the missing ones are created.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_STATUSES = "'reserved', 'committed', 'released', 'expired', 'declined'"


def _missing(name: str) -> bool:
    schema = context.config.attributes.get("schema")
    return not sa.inspect(op.get_bind()).has_table(name, schema=schema)


def upgrade() -> None:
    if _missing("budgets"):
        op.create_table(
            "budgets",
            sa.Column("budget_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("period", sa.String(32), nullable=False),
            sa.Column("team", sa.String(128), nullable=False),
            sa.Column("amount_cents", sa.BigInteger, nullable=False),
            sa.Column("committed_cents", sa.BigInteger, nullable=False),
            sa.Column("reserved_cents", sa.BigInteger, nullable=False),
            sa.Column("period_start", sa.DateTime, nullable=False),
            sa.Column("period_end", sa.DateTime, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.UniqueConstraint("period", "team", name="uq_budgets_period_team"),
            sa.CheckConstraint(
                "committed_cents >= 0 AND reserved_cents >= 0",
                name="ck_budgets_totals_nonnegative",
            ),
            sa.CheckConstraint(
                "committed_cents + reserved_cents <= amount_cents",
                name="ck_budgets_within_amount",
            ),
            sa.CheckConstraint("period_end > period_start", name="ck_budgets_period_order"),
        )
    if _missing("decisions"):
        op.create_table(
            "decisions",
            sa.Column("decision_id", sa.String(36), primary_key=True),
            sa.Column("idempotency_key", sa.String(255), nullable=True, unique=True),
            sa.Column("budget_id", sa.Integer, sa.ForeignKey("budgets.budget_id"), nullable=True),
            sa.Column("period", sa.String(32), nullable=False),
            sa.Column("team", sa.String(128), nullable=True),
            sa.Column("complaint_id", sa.String(255), nullable=False),
            sa.Column("customer_id", sa.String(255), nullable=False),
            sa.Column("complaint", sa.JSON, nullable=False),
            sa.Column("ranking", sa.JSON, nullable=False),
            sa.Column("recommended_resolution", sa.String(128), nullable=False),
            sa.Column("recommended_propensity", sa.Float, nullable=False),
            sa.Column("model_version", sa.String(128), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("compensation_cents", sa.BigInteger, nullable=False),
            sa.Column("final_resolution", sa.String(128), nullable=True),
            sa.Column("final_compensation_cents", sa.BigInteger, nullable=True),
            sa.Column("override_reason", sa.Text, nullable=True),
            sa.Column("decided_at", sa.DateTime, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("expires_at", sa.DateTime, nullable=True),
            sa.Column("closed_at", sa.DateTime, nullable=True),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_decisions_status"),
            sa.CheckConstraint(
                "compensation_cents >= 0", name="ck_decisions_compensation_nonnegative"
            ),
            sa.CheckConstraint(
                "final_compensation_cents IS NULL OR final_compensation_cents >= 0",
                name="ck_decisions_final_compensation_nonnegative",
            ),
            sa.CheckConstraint(
                "recommended_propensity > 0 AND recommended_propensity <= 1",
                name="ck_decisions_propensity_range",
            ),
        )
        op.create_index("ix_decisions_complaint_id", "decisions", ["complaint_id"])
        op.create_index("ix_decisions_customer_id", "decisions", ["customer_id"])
        op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
        op.create_index(
            "ix_decisions_budget_status_expires",
            "decisions",
            ["budget_id", "status", "expires_at"],
        )
    if _missing("outcomes"):
        op.create_table(
            "outcomes",
            sa.Column(
                "decision_id",
                sa.String(36),
                sa.ForeignKey("decisions.decision_id"),
                primary_key=True,
            ),
            sa.Column("satisfaction", sa.Float, nullable=True),
            sa.Column("churned_90d", sa.Boolean, nullable=True),
            sa.Column("recorded_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.CheckConstraint(
                "satisfaction IS NULL OR (satisfaction >= 0 AND satisfaction <= 10)",
                name="ck_outcomes_satisfaction_range",
            ),
        )
    if _missing("serving_model"):
        op.create_table(
            "serving_model",
            sa.Column("pin_id", sa.Integer, primary_key=True),
            sa.Column("version", sa.String(128), nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
        )


def downgrade() -> None:
    for name in ("serving_model", "outcomes", "decisions", "budgets"):
        op.drop_table(name)
