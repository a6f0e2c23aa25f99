"""A bounded queue for the ledger's writes, off the shared thread pool.

Why: on SQLite one connection writes at a time, and while another process holds the
write lock every writer waits. Writers waiting in the shared thread pool (the one that
also serves reads) fill it, and reads, ``/health`` and ``GET /v1/model`` queue behind
them. Here writes run on threads of their own (one for SQLite: its writers take turns
anyway; a few for PostgreSQL), at most ``max_pending`` wait, and each has a deadline:

* each write has a deadline (by default ``wait_seconds`` after it is queued; a route
  may pass its request's arrival plus ``wait_seconds``);
* a started write waits for the database lock only for what is left until its
  deadline, and at least :data:`MIN_LOCK_WAIT_SECONDS`
  (:func:`makegood.store.ledger.lock_wait_limit`: SQLite busy timeout, PostgreSQL
  ``lock_timeout``), then fails: the caller is answered 503 with Retry-After.

A free lock is taken at once however late the write starts; a held one costs a write
at most its remaining time, so the queue drains quickly and nothing else waits for it.
The queue also keeps the ledger's health: lock timeouts in the last
:data:`DEGRADED_FOR_SECONDS` make :meth:`WriteQueue.health` report degraded.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from makegood.errors import LedgerBusyError
from makegood.store.ledger import Ledger, lock_wait_limit

log = logging.getLogger("makegood.serving")

T = TypeVar("T")
DEGRADED_FOR_SECONDS = 10.0
MIN_LOCK_WAIT_SECONDS = 0.05
PROBE_EVERY_SECONDS = 1.0
_PROBE_LOCK_WAIT_SECONDS = 0.25


def _is_lock_wait(exc: BaseException) -> bool:
    """True for a database error that means "the lock was not free in time"."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    return getattr(orig, "sqlstate", None) in ("55P03", "57014")  # lock / statement timeout


class WriteQueue:
    """Runs the ledger's writes on dedicated threads with bounded waits.

    Parameters:
        ledger: the ledger written to (its ``lock_timeout`` bounds each lock wait).
        wait_seconds: the longest a write may wait in the queue before it starts.
        max_pending: writes queued or running at most; more are refused at once.
        n_threads: writer threads (default: 1 on SQLite, 4 otherwise).
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        wait_seconds: float,
        max_pending: int,
        n_threads: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.wait_seconds = wait_seconds
        self.sqlite = str(ledger.url).startswith("sqlite")
        n = n_threads or (1 if self.sqlite else 4)
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="ledger-write")
        self._slots = threading.BoundedSemaphore(max_pending)
        self._timeouts: collections.deque[float] = collections.deque(maxlen=256)
        self._probe: asyncio.Future[str | None] | None = None
        self._probe_at = 0.0
        self._probe_pool = ThreadPoolExecutor(1, thread_name_prefix="ledger-probe")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._probe_pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ running
    def _busy(self, message: str) -> LedgerBusyError:
        self._timeouts.append(time.monotonic())
        return LedgerBusyError(message, retry_after=max(1.0, self.wait_seconds))

    def _submit(
        self, fn: Callable[..., T], args: tuple[Any, ...], deadline: float | None
    ) -> Future[T]:
        if not self._slots.acquire(blocking=False):
            raise self._busy(
                "the ledger's write queue is full (the database is slow or locked); retry"
            )
        if deadline is None:
            deadline = time.monotonic() + self.wait_seconds

        def job() -> T:
            left = max(deadline - time.monotonic(), MIN_LOCK_WAIT_SECONDS)
            try:
                with lock_wait_limit(left):
                    return fn(*args)
            except OperationalError as exc:
                if _is_lock_wait(exc):
                    raise self._busy(
                        f"the ledger's database lock was not free in time (a write waits "
                        f"{self.wait_seconds:g} s at most; another connection holds it); retry"
                    ) from exc
                raise

        try:
            future = self._pool.submit(job)
        except RuntimeError:  # shut down
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    def run(
        self, fn: Callable[..., T], *args: Any, deadline: float | None = None, **kwargs: Any
    ) -> T:
        """Run ``fn(*args, **kwargs)`` on a writer thread and wait for it (from a worker
        thread; from the event loop use :meth:`run_async`). ``deadline``
        (``time.monotonic()`` seconds) bounds its lock wait; default: ``wait_seconds``
        from now.

        Raises:
            LedgerBusyError: the queue is full, or the write could not start or get the
                lock in time.
        """
        return self._submit(functools.partial(fn, *args, **kwargs), (), deadline).result()

    async def run_async(
        self, fn: Callable[..., T], *args: Any, deadline: float | None = None, **kwargs: Any
    ) -> T:
        """:meth:`run` for the event loop: awaits without holding any thread."""
        return await asyncio.wrap_future(
            self._submit(functools.partial(fn, *args, **kwargs), (), deadline)
        )

    # ------------------------------------------------------------------ health
    def recent_timeouts(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        return sum(1 for t in self._timeouts if now - t <= DEGRADED_FOR_SECONDS)

    def _try_write_lock(self) -> str | None:
        try:
            if self.sqlite:
                engine = self.ledger._base_engine
                with engine.connect() as conn:
                    raw = conn.connection.driver_connection
                    assert raw is not None
                    raw.execute(f"PRAGMA busy_timeout = {int(_PROBE_LOCK_WAIT_SECONDS * 1000)}")
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        raw.execute("ROLLBACK")
                    finally:
                        raw.execute(f"PRAGMA busy_timeout = {int(self.ledger.lock_timeout * 1000)}")
                        conn.connection.info.pop("busy_ms", None)  # see ledger.make_engine
            else:
                with self.ledger._reader.connect() as conn:
                    conn.execute(text("SELECT 1"))
        except (OperationalError, sqlite3.OperationalError) as exc:
            if _is_lock_wait(exc):
                return "the ledger database's write lock is held by another connection"
            return f"the ledger database is unavailable ({type(exc).__name__})"
        except Exception as exc:  # noqa: BLE001 - any failure means degraded, named
            return f"the ledger database is unavailable ({type(exc).__name__})"
        return None

    async def health(self, timeout: float = 0.5) -> str | None:
        """None when the ledger is healthy, else the reason it is degraded; answers
        within ``timeout`` seconds whatever the database does. At most one probe runs
        at a time (at most one a second); callers meanwhile share its answer."""
        n = self.recent_timeouts()
        now = time.monotonic()
        probe = self._probe
        if probe is None or (probe.done() and now - self._probe_at >= PROBE_EVERY_SECONDS):
            self._probe_at = now
            probe = self._probe = asyncio.wrap_future(self._probe_pool.submit(self._try_write_lock))
        try:
            reason = await asyncio.wait_for(asyncio.shield(probe), timeout)
        except TimeoutError:
            reason = f"the ledger database did not answer within {timeout:g} s"
        if reason is None and n:
            reason = (
                f"{n} ledger write(s) timed out waiting for the database lock in the last "
                f"{DEGRADED_FOR_SECONDS:g} s"
            )
        return reason
