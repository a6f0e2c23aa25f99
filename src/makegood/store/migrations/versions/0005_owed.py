"""What a guardrail floor requires of each decision: ``owed_cents``, the part of its
compensation that is owed (a billing error refunded), reserved even when the budget
cannot fund it (the decision then spends from no budget: ``budget_id`` NULL).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a database made by the old ``create_all`` from today's tables has it already
    schema = context.config.attributes.get("schema")
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("decisions", schema=schema)}
    if "owed_cents" not in have:  # the schema named: DDL escapes schema_translate_map
        op.add_column(
            "decisions",
            sa.Column("owed_cents", sa.BigInteger, nullable=False, server_default=sa.text("0")),
            schema=schema,
        )


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    with op.batch_alter_table("decisions", schema=schema) as batch:
        batch.drop_column("owed_cents")
