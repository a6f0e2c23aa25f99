"""Database migrations (Alembic) of the service's database: ledger, contacts, cases.

They ship inside the package and run at service start and with ``makegood db
upgrade``. :func:`upgrade` works on SQLite and PostgreSQL, also in a non-default
PostgreSQL schema (the tables and Alembic's version table both live there). A
database made by the earlier ``create_all`` (tables present, no version table) is
adopted: the first migration creates only the tables that are missing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine

__all__ = ["HEAD", "current_revision", "upgrade"]

HEAD = "0005"
_HERE = Path(__file__).resolve().parent
# Concurrent upgrades on PostgreSQL (workers starting together) queue on this lock.
_PG_LOCK_KEY = 0x6D616B65  # "make"


def _config(conn: Connection, schema: str | None):  # noqa: ANN202 - alembic is optional at import
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["connection"] = conn
    cfg.attributes["schema"] = schema
    return cfg


def upgrade(engine: Engine, *, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision`` (default: the newest), in
    one transaction; the schema is created first when it does not exist.

    ``engine`` must not carry a ``schema_translate_map``: ``schema`` says where the
    tables go.
    """
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
            if schema is not None:
                quoted = conn.dialect.identifier_preparer.quote_schema(schema)
                conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        if schema is not None:
            conn = conn.execution_options(schema_translate_map={None: schema})
        command.upgrade(_config(conn, schema), revision)


def current_revision(engine: Engine, *, schema: str | None = None) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        opts = {"version_table_schema": schema} if schema else {}
        return MigrationContext.configure(conn, opts=opts).get_current_revision()
