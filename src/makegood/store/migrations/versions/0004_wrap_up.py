"""How the agent closed a contact: a wrap-up code and note on each decision, exported
with the history (:class:`makegood.store.ledger.WrapUp`).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column]:
    return [
        sa.Column("wrap_up_code", sa.String(64), nullable=True),
        sa.Column("wrap_up_note", sa.Text, nullable=True),
    ]


def upgrade() -> None:
    # a database made by the old ``create_all`` from today's tables has them already
    schema = context.config.attributes.get("schema")
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("decisions", schema=schema)}
    for column in _columns():
        if column.name not in have:  # the schema named: DDL escapes schema_translate_map
            op.add_column("decisions", column, schema=schema)


def downgrade() -> None:
    schema = context.config.attributes.get("schema")
    with op.batch_alter_table("decisions", schema=schema) as batch:
        batch.drop_column("wrap_up_note")
        batch.drop_column("wrap_up_code")
