"""Alembic environment: runs on the connection :func:`makegood.store.migrations.upgrade` passes."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only makegood.store.migrations.upgrade runs these
    raise RuntimeError(
        "run migrations with `makegood db upgrade` (makegood.store.migrations.upgrade)"
    )

context.configure(
    connection=connection,
    target_metadata=None,
    version_table_schema=config.attributes.get("schema"),
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
