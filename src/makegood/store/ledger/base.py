"""The ledger's database: :class:`LedgerBase` opens the engines, closes them, brings the
tables to the newest migration and runs a step in one write transaction (retried once on
a concurrent insert of the same key), the base of :class:`~makegood.store.ledger.Ledger`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from makegood.store import migrations
from makegood.store.db import SQLITE_BUSY_TIMEOUT_SECONDS, open_engines

__all__ = ["LedgerBase"]

_T = TypeVar("_T")


class LedgerBase:
    """The ledger's database: its engines, lifecycle and write transaction. The budget
    methods are :class:`~makegood.store.ledger.budget_book.BudgetBook`'s, the decision
    methods :class:`~makegood.store.ledger.ledger.Ledger`'s (one class, by inheritance);
    the parameters are :class:`~makegood.store.ledger.ledger.Ledger`'s.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        lock_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.schema = schema
        self.lock_timeout = lock_timeout
        self.engines = open_engines(url, schema=schema, lock_timeout=lock_timeout)
        # the engines under their earlier names (the service's write queue reads them)
        self._base_engine = self.engines.base
        self._engine = self.engines.writer
        self._reader = self.engines.reader

    def __repr__(self) -> str:
        url = make_url(self.url).render_as_string(hide_password=True)
        return f"Ledger({url!r}, schema={self.schema!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def reader(self) -> Engine:
        """An engine for read-only queries (reports): in the ledger's schema, and on SQLite
        a consistent snapshot that takes no write lock."""
        return self.engines.reader

    def close(self) -> None:
        """Close pooled connections."""
        self.engines.dispose()

    def create_all(self) -> None:
        """Bring the database to the newest migration (:mod:`makegood.store.migrations`):
        create the schema (PostgreSQL) and every table the service uses."""
        migrations.upgrade(self.engines.base, schema=self.schema)

    def write_transaction(
        self, step: Callable[[Connection], _T], *, retry_conflict: bool = False
    ) -> _T:
        """``step`` in one write transaction; with ``retry_conflict``, once more in a new
        one after an ``IntegrityError`` (a concurrent writer inserted the same key first)."""
        for attempt in range(2):
            try:
                with self.engines.writer.begin() as conn:
                    return step(conn)
            except IntegrityError:
                if not retry_conflict or attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
