"""Live customer memory: contacts, cases, handovers, customer profiles, and the
request fingerprint and stored answer of each idempotency key.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(36), primary_key=True),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("issue_type", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("last_contact_at", sa.DateTime, nullable=False),
        sa.Column("n_contacts", sa.Integer, nullable=False),
        sa.Column("next_step", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_cases_status"),
    )
    op.create_index(
        "ix_cases_customer_issue", "cases", ["customer_id", "issue_type", "last_contact_at"]
    )
    op.create_table(
        "contacts",
        sa.Column(
            "contact_id",
            sa.String(36),
            sa.ForeignKey("decisions.decision_id"),
            primary_key=True,
        ),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.case_id"), nullable=False),
        sa.Column("customer_id", sa.String(255), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(128), nullable=True),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("covered_cents", sa.BigInteger, nullable=False),
        sa.Column("case_override_reason", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.CheckConstraint(
            "action IS NULL OR action IN ('offered', 'accepted', 'override', 'declined')",
            name="ck_contacts_action",
        ),
        sa.CheckConstraint("covered_cents >= 0", name="ck_contacts_covered_nonnegative"),
    )
    op.create_index("ix_contacts_customer_opened", "contacts", ["customer_id", "opened_at"])
    op.create_index("ix_contacts_case", "contacts", ["case_id"])
    op.create_table(
        "handovers",
        sa.Column("handover_id", sa.String(36), primary_key=True),
        sa.Column("case_id", sa.String(36), sa.ForeignKey("cases.case_id"), nullable=False),
        sa.Column("contact_id", sa.String(36), sa.ForeignKey("contacts.contact_id"), nullable=True),
        sa.Column("from_agent", sa.String(128), nullable=True),
        sa.Column("from_channel", sa.String(64), nullable=True),
        sa.Column("to_team", sa.String(128), nullable=True),
        sa.Column("to_channel", sa.String(64), nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("next_step", sa.Text, nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_handovers_case", "handovers", ["case_id", "created_at"])
    op.create_table(
        "customer_profiles",
        sa.Column("customer_id", sa.String(255), primary_key=True),
        sa.Column("tenure_months", sa.Integer, nullable=True),
        sa.Column("annual_value", sa.Float, nullable=True),
        sa.Column("lifetime_value", sa.Float, nullable=True),
        sa.Column("segment", sa.String(64), nullable=True),
        sa.Column("prior_complaints_12m", sa.Integer, nullable=True),
        sa.Column("digital_skill", sa.String(32), nullable=True),
        sa.Column("first_seen_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("idempotency_key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for name in ("idempotency_keys", "customer_profiles", "handovers", "contacts", "cases"):
        op.drop_table(name)
