"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL
(also in a schema of its own), adopt a database made by the old ``create_all``, and
are safe to run again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect

import makegood.store.contacts  # noqa: F401 - declares its tables on the ledger's metadata
import makegood.store.queue  # noqa: F401 - declares the queue's table there too
from dbtesting import BACKENDS, database
from makegood.serving.models import pin_metadata
from makegood.store import migrations
from makegood.store.ledger import Ledger, make_engine, metadata


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    with database(request.param, tmp_path, "makegood_mig") as where:
        yield where


def _declared(schema: str | None) -> MetaData:
    both = MetaData()
    for source in (metadata, pin_metadata):
        for table in source.tables.values():
            table.to_metadata(both, schema=schema)
    return both


def _differences(url: str, schema: str | None) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            opts: dict = {"compare_type": True}
            if schema:
                opts.update(
                    version_table_schema=schema,
                    include_schemas=True,
                    include_name=lambda name, kind, _: kind != "schema" or name == schema,
                )
            ctx = MigrationContext.configure(conn, opts=opts)
            diff = compare_metadata(ctx, _declared(schema))
    finally:
        engine.dispose()
    # SQLite reflects no CHECK names; unique-constraint reflection differs by back-end
    return [d for d in diff if d[0] not in ("add_constraint", "remove_constraint")]


def test_migrations_build_the_declared_tables_and_run_twice(location):
    url, schema = location
    engine = make_engine(url)
    try:
        migrations.upgrade(engine, schema=schema)
        migrations.upgrade(engine, schema=schema)  # at head: nothing to do
        assert migrations.current_revision(engine, schema=schema) == migrations.HEAD
        names = set(inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()
    assert {"budgets", "decisions", "contacts", "cases", "handovers"} <= names
    assert {"customer_profiles", "idempotency_keys", "serving_model", "alembic_version"} <= names
    assert "queue_entries" in names
    assert _differences(url, schema) == []


def test_a_create_all_database_is_adopted(location):
    url, schema = location
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if schema:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                conn = conn.execution_options(schema_translate_map={None: schema})
            for name in ("budgets", "decisions", "outcomes"):
                metadata.tables[name].create(conn)
        with Ledger(url, schema=schema) as ledger:
            ledger.set_budget("2026-11", 10)
            ledger.create_all()  # the migrations: keeps the old tables and their rows
            assert ledger.get_budget("2026-11").amount == 10
        assert migrations.current_revision(engine, schema=schema) == migrations.HEAD
    finally:
        engine.dispose()
    assert _differences(url, schema) == []
