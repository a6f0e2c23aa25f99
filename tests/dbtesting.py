"""Database back-ends for the ledger and service tests (imported by name: tests/ is on
sys.path through its conftest).

SQLite always; PostgreSQL when MAKEGOOD_TEST_DATABASE_URL is set, each test in a schema
of its own that is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest

from makegood.store.ledger import make_engine

PG_URL = os.environ.get("MAKEGOOD_TEST_DATABASE_URL")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(
                not PG_URL, reason="MAKEGOOD_TEST_DATABASE_URL is not set (PostgreSQL URL)"
            ),
        ],
    ),
]


def fresh_schema(prefix: str = "makegood_test") -> str:
    """A schema name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def drop_schema(url: str, schema: str) -> None:
    """Drop a test's PostgreSQL schema and everything in it."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@contextlib.contextmanager
def database(backend: str, tmp_path, prefix: str = "makegood_test") -> Iterator[tuple]:
    """``(url, schema)`` of a fresh database for one test: a SQLite file in ``tmp_path``,
    or a PostgreSQL schema of its own (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}", None
        return
    schema = fresh_schema(prefix)
    try:
        yield PG_URL, schema
    finally:
        drop_schema(PG_URL, schema)
