"""The agents' queue: one row per contact waiting for, or served by, an agent
(:mod:`makegood.store.queue`).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STATUSES = "'waiting', 'claimed', 'scheduled', 'closed', 'handed_over'"


def upgrade() -> None:
    op.create_table(
        "queue_entries",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("complaint_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("skill", sa.String(64), nullable=False),
        sa.Column("value_at_risk", sa.Float, nullable=False),
        sa.Column("lifetime_value", sa.Float, nullable=False),
        sa.Column("baseline_churn", sa.Float, nullable=False),
        sa.Column("complaint", sa.JSON, nullable=False),
        sa.Column("arrived_at", sa.DateTime, nullable=False),
        sa.Column("enqueued_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.Column("agent_name", sa.String(128), nullable=True),
        sa.Column("claimed_at", sa.DateTime, nullable=True),
        sa.Column("n_claims", sa.Integer, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=True),
        sa.Column("slot_end", sa.DateTime, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("from_entry_id", sa.String(36), nullable=True),
        sa.Column("from_team", sa.String(128), nullable=True),
        sa.Column("from_agent", sa.String(128), nullable=True),
        sa.Column("decision_id", sa.String(36), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("closed_at", sa.DateTime, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_queue_entries_status"),
        sa.CheckConstraint("value_at_risk >= 0", name="ck_queue_entries_var_nonnegative"),
    )
    op.create_index("ix_queue_entries_team_status", "queue_entries", ["team", "status"])
    op.create_index("ix_queue_entries_case", "queue_entries", ["case_id"])
    op.create_index("ix_queue_entries_customer", "queue_entries", ["customer_id"])


def downgrade() -> None:
    op.drop_table("queue_entries")
