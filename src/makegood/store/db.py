"""The service's database, shared by every store: the table ``metadata``, engines set up
for several processes (:func:`make_engine`), each write's lock wait
(:func:`lock_wait_limit`) and the engines a store opens (:func:`open_engines`).

Locking, by dialect: on SQLite every write transaction starts with ``BEGIN IMMEDIATE``
(one writer at a time; the others wait up to the busy timeout) and a read-only
connection with a plain ``BEGIN`` (a snapshot, no write lock); on PostgreSQL rows are
locked with ``SELECT ... FOR UPDATE`` (and advisory locks where there is no row to lock)
and a statement waits at most ``lock_timeout`` for a lock.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url

from makegood.contract.units import naive_utc, utc_now
from makegood.errors import ConfigError

__all__ = [
    "READ_ONLY",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "Engines",
    "lock_wait_limit",
    "make_engine",
    "metadata",
    "moment",
    "open_engines",
]

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0  # the default lock wait (the service sets its own)
# Connections opened with this execution option only read: on SQLite they start a
# deferred transaction (a consistent snapshot) instead of taking the write lock.
READ_ONLY = "makegood_read_only"

#: every table of the service's database (the stores declare theirs on it; the
#: migrations build the same, which tests/unit/store/test_migrations.py checks)
metadata = MetaData()


def moment(now: datetime | None) -> datetime:
    """``now`` as naive UTC, or the current time when None (the stores' ``now=`` default)."""
    return utc_now() if now is None else naive_utc(now)


def make_engine(url: str, *, lock_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> Engine:
    """An engine for a SQLite file or PostgreSQL URL, set up for several processes.

    SQLite (``sqlite:///relative.db``, ``sqlite:////abs/path.db``): the parent
    directory is created; WAL journal, a busy timeout of ``lock_timeout`` seconds
    (default 30) and foreign keys are set
    on every connection, and every write transaction starts with ``BEGIN IMMEDIATE``
    so writers queue for the lock instead of failing on upgrade. PostgreSQL:
    ``postgresql://`` and ``postgres://`` use the psycopg (3) driver, and a statement
    waits at most ``lock_timeout`` seconds for a lock (``lock_timeout``) before failing.

    Durability on SQLite: ``synchronous = NORMAL`` in WAL mode. A commit is written to
    the WAL without waiting for an fsync (the WAL is synced at checkpoints), which
    saves a disk flush (several ms) on every reservation. A crash of the application
    or of a worker loses nothing and the database stays consistent; only a power loss
    or an operating-system crash may roll back the last few committed transactions
    (never corrupt the file or break the budget invariant, which holds in every
    committed state). Use PostgreSQL where that is not acceptable.

    Raises:
        ConfigError: if the URL is malformed or names another database.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError or ValueError
        raise ConfigError(f"ledger url is not a database URL. Got {url!r} instead.") from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(parsed, lock_timeout)
    if backend != "sqlite":
        raise ConfigError(
            f"ledger url must be sqlite:///PATH or postgresql+psycopg://... Got {url!r} instead."
        )
    return _sqlite_engine(parsed, lock_timeout)


def _postgres_engine(parsed: URL, lock_timeout: float) -> Engine:
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    options = f"-c lock_timeout={max(1, int(lock_timeout * 1000))}"
    pg = create_engine(parsed, pool_pre_ping=True, connect_args={"options": options})

    @event.listens_for(pg, "begin")
    def _pg_begin(conn: Connection) -> None:
        limit = _lock_wait.limit
        if limit is not None and not conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(limit * 1000))}")

    return pg


def _sqlite_engine(parsed: URL, lock_timeout: float) -> Engine:
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or parsed.query.get("mode") == "memory"
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": lock_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; _on_begin emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # see make_engine: durability
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    default_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        if not read_only:  # this write's lock wait: its own limit, else the default
            limit = _lock_wait.limit
            busy_ms = default_ms if limit is None else max(1, int(limit * 1000))
            info = conn.connection.info
            if info.get("busy_ms", default_ms) != busy_ms:
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {busy_ms}")
                info["busy_ms"] = busy_ms
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class _LockWait(threading.local):
    limit: float | None = None


_lock_wait = _LockWait()


@contextlib.contextmanager
def lock_wait_limit(seconds: float) -> Iterator[None]:
    """Within the block, this thread's write transactions wait at most ``seconds`` for
    the database lock (instead of the engine's ``lock_timeout``); then they fail with
    ``sqlalchemy.exc.OperationalError``. Lets a caller bound a write's total wait."""
    before = _lock_wait.limit
    _lock_wait.limit = max(0.001, seconds)
    try:
        yield
    finally:
        _lock_wait.limit = before


@dataclass(frozen=True)
class Engines:
    """The engines of one store on one database.

    ``base`` has no schema mapping (migrations run on it; :meth:`dispose` closes its
    pool); ``writer`` runs in the store's schema, one write transaction at a time per
    connection; ``reader`` is ``writer`` for read-only queries (on SQLite a consistent
    snapshot that takes no write lock).
    """

    base: Engine
    writer: Engine
    reader: Engine

    def dispose(self) -> None:
        """Close pooled connections."""
        self.base.dispose()


def open_engines(url: str, *, schema: str | None, lock_timeout: float) -> Engines:
    """The engines of a store on the database at ``url`` (see :func:`make_engine`),
    with its tables in ``schema`` (PostgreSQL only; None: the search path).

    Raises:
        ConfigError: if the URL is not a supported database, or ``schema`` is given for
            a database other than PostgreSQL.
    """
    base = make_engine(url, lock_timeout=lock_timeout)
    writer = base
    if schema is not None:
        if base.dialect.name != "postgresql":
            raise ConfigError(
                f"schema is only supported on PostgreSQL. Got schema {schema!r} for "
                f"a {base.dialect.name} url."
            )
        writer = base.execution_options(schema_translate_map={None: schema})
    return Engines(base=base, writer=writer, reader=writer.execution_options(**{READ_ONLY: True}))
