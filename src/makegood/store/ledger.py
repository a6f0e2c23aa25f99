"""Durable budget ledger and decision log.

Every recommendation the service serves becomes one row in ``decisions``; the
compensation it carries is held against a budget until the agent applies it
(commit), overrides it (release) or lets it lapse (expiry).

Money is stored as integer minor units (cents, two decimal places) and returned as
``Decimal``, so sums are exact and money is conserved under any interleaving. Each
budget row carries running ``committed`` and ``reserved`` totals that change only
while the row is locked, in the same transaction as the decision they account for:
``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` (one writer at a time)
on SQLite. A CHECK constraint makes the database itself refuse
``committed + reserved > amount``; :meth:`Ledger.audit` recomputes the totals from
the decision rows.

Budgets are scoped by ``(period, team)``. A decision for a team spends from that
team's budget when one exists, otherwise from the company-wide budget of the period
(team ``None``); the decision keeps the budget it drew from, so totals stay exact.

Status of a decision and the money it counts:

=========  =====================================================================
reserved   ``compensation`` held (counts in ``reserved``) until ``expires_at``
committed  ``final_compensation`` spent (counts in ``committed``)
released   overridden or declined by the agent; nothing counted
expired    the reservation lapsed; nothing counted
declined   did not fit the budget when requested; nothing counted, never held
=========  =====================================================================

Timestamps are naive UTC (aware ones are converted).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from makegood.contract.units import naive_utc, utc_now
from makegood.errors import (
    BudgetError,
    BudgetExceededError,
    BudgetNotFoundError,
    ConfigError,
    DecisionNotFoundError,
    DecisionStateError,
    IdempotencyKeyReusedError,
    LedgerError,
)

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "BudgetState",
    "Decision",
    "DecisionNotFoundError",
    "DecisionRecord",
    "DecisionStateError",
    "DecisionStatus",
    "DecisionWithOutcome",
    "IdempotencyKeyReusedError",
    "Ledger",
    "LedgerError",
    "Outcome",
    "ReserveResult",
    "lock_wait_limit",
    "make_engine",
    "metadata",
]

DEFAULT_TTL_SECONDS = 3600
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0  # the default lock wait (the service sets its own)
_CENTS_PER_UNIT = 100
# Connections opened with this execution option only read: on SQLite they start a
# deferred transaction (a consistent snapshot) instead of taking the write lock.
_READ_ONLY = "makegood_read_only"


# Called inside a reservation's (or settlement's) transaction with the decision as
# written and the transaction's time: other stores write beside it atomically.
Within = Callable[[Connection, "Decision", datetime], None]


class DecisionStatus(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    DECLINED = "declined"


# --------------------------------------------------------------------------- schema

metadata = MetaData()

budgets = Table(
    "budgets",
    metadata,
    Column("budget_id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(32), nullable=False),
    # "" is the company-wide budget: NULL would defeat the unique constraint.
    Column("team", String(128), nullable=False, default=""),
    Column("amount_cents", BigInteger, nullable=False),
    Column("committed_cents", BigInteger, nullable=False, default=0),
    Column("reserved_cents", BigInteger, nullable=False, default=0),
    Column("period_start", DateTime, nullable=False),
    Column("period_end", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("period", "team", name="uq_budgets_period_team"),
    CheckConstraint(
        "committed_cents >= 0 AND reserved_cents >= 0", name="ck_budgets_totals_nonnegative"
    ),
    CheckConstraint(
        "committed_cents + reserved_cents <= amount_cents", name="ck_budgets_within_amount"
    ),
    CheckConstraint("period_end > period_start", name="ck_budgets_period_order"),
)

_STATUSES = ", ".join(f"'{s.value}'" for s in DecisionStatus)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("idempotency_key", String(255), nullable=True, unique=True),
    Column("budget_id", Integer, ForeignKey("budgets.budget_id"), nullable=True),
    Column("period", String(32), nullable=False),
    Column("team", String(128), nullable=True),
    Column("complaint_id", String(255), nullable=False),
    Column("customer_id", String(255), nullable=False),
    Column("complaint", JSON, nullable=False),
    Column("ranking", JSON, nullable=False),
    Column("recommended_resolution", String(128), nullable=False),
    Column("recommended_propensity", Float, nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("compensation_cents", BigInteger, nullable=False),
    Column("final_resolution", String(128), nullable=True),
    Column("final_compensation_cents", BigInteger, nullable=True),
    Column("override_reason", Text, nullable=True),
    Column("decided_at", DateTime, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(f"status IN ({_STATUSES})", name="ck_decisions_status"),
    CheckConstraint("compensation_cents >= 0", name="ck_decisions_compensation_nonnegative"),
    CheckConstraint(
        "final_compensation_cents IS NULL OR final_compensation_cents >= 0",
        name="ck_decisions_final_compensation_nonnegative",
    ),
    CheckConstraint(
        "recommended_propensity > 0 AND recommended_propensity <= 1",
        name="ck_decisions_propensity_range",
    ),
    Index("ix_decisions_complaint_id", "complaint_id"),
    Index("ix_decisions_customer_id", "customer_id"),
    Index("ix_decisions_created_at", "created_at"),
    Index("ix_decisions_budget_status_expires", "budget_id", "status", "expires_at"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("decision_id", String(36), ForeignKey("decisions.decision_id"), primary_key=True),
    Column("satisfaction", Float, nullable=True),
    Column("churned_90d", Boolean, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    CheckConstraint(
        "satisfaction IS NULL OR (satisfaction >= 0 AND satisfaction <= 10)",
        name="ck_outcomes_satisfaction_range",
    ),
)

# What an idempotency key was first used with (a fingerprint of the request) and the
# answer given, so a retry gets that answer back and a changed request is refused.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("idempotency_key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("decision_id", String(36), nullable=False),
    Column("response", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class BudgetState:
    """A budget and what is spent from it; money in currency units, exact."""

    period: str
    team: str | None
    amount: Decimal
    committed: Decimal
    reserved: Decimal
    period_start: datetime
    period_end: datetime

    @property
    def available(self) -> Decimal:
        """``amount - committed - reserved``: what a new reservation may still take."""
        return self.amount - self.committed - self.reserved

    @property
    def spent_fraction(self) -> float:
        """``(committed + reserved) / amount``; 1.0 for a zero budget (nothing left)."""
        if self.amount <= 0:
            return 1.0
        return float((self.committed + self.reserved) / self.amount)

    def elapsed_fraction(self, now: datetime) -> float:
        """Share of the period gone by at ``now``, clipped to [0, 1]."""
        total = (self.period_end - self.period_start).total_seconds()
        gone = (naive_utc(now) - self.period_start).total_seconds()
        return min(1.0, max(0.0, gone / total))


@dataclass(frozen=True)
class DecisionRecord:
    """What the service knows when it serves a recommendation (input to ``reserve``).

    ``complaint`` holds the complaint's contract fields and ``ranking`` the full
    ranked candidate list; both are stored as JSON (NaN becomes null, datetimes ISO
    strings, numpy scalars plain numbers). ``recommended_propensity`` is the
    probability with which the served policy chose ``recommended_resolution``.
    """

    period: str
    complaint_id: str
    customer_id: str
    recommended_resolution: str
    recommended_propensity: float
    model_version: str
    ranking: Sequence[Mapping[str, Any]] = ()
    complaint: Mapping[str, Any] = field(default_factory=dict)
    team: str | None = None
    decision_id: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """One stored decision. ``compensation`` is what was requested (and held while
    reserved); ``final_compensation`` what was actually given (committed or released)."""

    decision_id: str
    idempotency_key: str | None
    period: str
    team: str | None
    complaint_id: str
    customer_id: str
    complaint: dict[str, Any]
    ranking: list[Any]
    recommended_resolution: str
    recommended_propensity: float
    model_version: str
    status: DecisionStatus
    compensation: Decimal
    final_resolution: str | None
    final_compensation: Decimal | None
    override_reason: str | None
    decided_at: datetime
    created_at: datetime
    expires_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    decision_id: str
    satisfaction: float | None
    churned_90d: bool | None
    recorded_at: datetime


@dataclass(frozen=True)
class ReserveResult:
    """``ok`` is True when the decision holds (or has spent) its compensation.

    When ``ok`` is False the decision was recorded as declined and the caller can
    fall back to a cheaper option; ``available`` is what the budget still allows.
    ``replayed`` is True when the idempotency key was already used: ``decision`` is
    then the original one and nothing was spent.
    """

    ok: bool
    decision: Decision
    replayed: bool
    available: Decimal


@dataclass(frozen=True)
class IdempotentRequest:
    """What an idempotency key was first used with: the request's fingerprint, the
    decision it claimed and the answer given (None until stored)."""

    key: str
    request_hash: str
    decision_id: str
    response: str | None


@dataclass(frozen=True)
class DecisionWithOutcome:
    decision: Decision
    outcome: Outcome | None

    @property
    def exportable(self) -> bool:
        """True when the row is a complete history row: a resolution was actually
        given (committed, or released with a final resolution) and churn is known."""
        d = self.decision
        return (
            d.status in (DecisionStatus.COMMITTED, DecisionStatus.RELEASED)
            and d.final_resolution is not None
            and self.outcome is not None
            and self.outcome.churned_90d is not None
        )

    def history_row(self) -> dict[str, Any]:
        """The decision in contract (history) form: the complaint fields plus
        ``resolution, compensation, logging_propensity, satisfaction, churned_90d``.

        ``logging_propensity`` is the served policy's propensity only when the agent
        gave the recommended resolution; after an override the resolution was chosen
        by a person with unknown probability, so it is None.

        Raises:
            LedgerError: if the decision is not ``exportable``.
        """
        if not self.exportable:
            raise LedgerError(
                f"decision {self.decision.decision_id} has no final resolution or no churn "
                f"outcome yet (status {self.decision.status.value}); it cannot be exported"
            )
        d, o = self.decision, self.outcome
        assert o is not None  # guaranteed by exportable
        same = d.final_resolution == d.recommended_resolution
        return {
            **d.complaint,
            "complaint_id": d.complaint_id,
            "customer_id": d.customer_id,
            "resolution": d.final_resolution,
            "compensation": float(d.final_compensation or 0),
            "logging_propensity": d.recommended_propensity if same else None,
            "satisfaction": o.satisfaction,
            "churned_90d": int(bool(o.churned_90d)),
        }


# --------------------------------------------------------------------------- engine


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
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        options = f"-c lock_timeout={max(1, int(lock_timeout * 1000))}"
        pg = create_engine(parsed, pool_pre_ping=True, connect_args={"options": options})

        @event.listens_for(pg, "begin")
        def _pg_begin(conn: Connection) -> None:
            limit = _lock_wait.limit
            if limit is not None and not conn.get_execution_options().get(_READ_ONLY, False):
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {max(1, int(limit * 1000))}")

        return pg
    if backend != "sqlite":
        raise ConfigError(
            f"ledger url must be sqlite:///PATH or postgresql+psycopg://... Got {url!r} instead."
        )
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
            cursor.execute("PRAGMA synchronous = NORMAL")  # see the docstring: durability
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    default_ms = int(lock_timeout * 1000)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get(_READ_ONLY, False)
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


# --------------------------------------------------------------------------- ledger


class Ledger:
    """The budget ledger and decision log in one database.

    Every method runs in one transaction of its own, so a ``Ledger`` may be shared
    by threads and several processes may open the same database.

    Parameters:
        url: SQLAlchemy URL, ``sqlite:///ledger.db`` or ``postgresql+psycopg://...``.
        schema: PostgreSQL schema holding the tables (default: the search path).
        lock_timeout: seconds a write waits for a database lock before failing with
            ``sqlalchemy.exc.OperationalError`` (the service answers 503).
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
        self._base_engine = make_engine(url, lock_timeout=lock_timeout)
        engine = self._base_engine
        if schema is not None:
            if engine.dialect.name != "postgresql":
                raise ConfigError(
                    f"schema is only supported on PostgreSQL. Got schema {schema!r} for "
                    f"a {engine.dialect.name} url."
                )
            engine = engine.execution_options(schema_translate_map={None: schema})
        self._engine = engine
        self._reader = engine.execution_options(**{_READ_ONLY: True})

    def __repr__(self) -> str:
        url = make_url(self.url).render_as_string(hide_password=True)
        return f"Ledger({url!r}, schema={self.schema!r})"

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def reader(self) -> Engine:
        """An engine for read-only queries (reports): in the ledger's schema, and on SQLite
        a consistent snapshot that takes no write lock."""
        return self._reader

    def close(self) -> None:
        """Close pooled connections."""
        self._base_engine.dispose()

    def create_all(self) -> None:
        """Bring the database to the newest migration (:mod:`makegood.store.migrations`):
        create the schema (PostgreSQL) and every table the service uses."""
        from makegood.store import migrations

        migrations.upgrade(self._base_engine, schema=self.schema)

    # ------------------------------------------------------------------ budgets

    def set_budget(
        self,
        period: str,
        amount: Decimal | float | int | str,
        *,
        team: str | None = None,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
        now: datetime | None = None,
    ) -> BudgetState:
        """Create or update the budget of ``(period, team)`` (team None: company-wide).

        ``period_start``/``period_end`` (end exclusive) default, for a new budget, to
        the month a ``YYYY-MM`` period names; on update they keep their values.

        Returns:
            The budget's state after the change.

        Raises:
            BudgetError: if ``amount`` is negative or not finite, the bounds are
                missing or out of order, or ``amount`` is below what is already
                committed plus reserved.
        """
        cents = _to_cents(amount, "amount")
        period = _check_text(period, "period", 32)
        team_key = _team_key(team)
        start = None if period_start is None else naive_utc(period_start)
        end = None if period_end is None else naive_utc(period_end)
        now = _now(now)
        for attempt in range(2):
            try:
                with self._engine.begin() as conn:
                    row = conn.execute(
                        select(budgets)
                        .where(budgets.c.period == period, budgets.c.team == team_key)
                        .with_for_update()
                    ).first()
                    if row is None:
                        if start is None or end is None:
                            start, end = _month_bounds(period, start, end)
                        _check_bounds(start, end)
                        conn.execute(
                            budgets.insert().values(
                                period=period,
                                team=team_key,
                                amount_cents=cents,
                                committed_cents=0,
                                reserved_cents=0,
                                period_start=start,
                                period_end=end,
                                created_at=now,
                                updated_at=now,
                            )
                        )
                    else:
                        new_start = start or row.period_start
                        new_end = end or row.period_end
                        _check_bounds(new_start, new_end)
                        spent = row.committed_cents + row.reserved_cents
                        if cents < spent:
                            raise BudgetError(
                                f"amount must be >= what is already committed plus reserved "
                                f"({_from_cents(spent)}) for period {period!r}, team {team!r}. "
                                f"Got {amount!r} instead."
                            )
                        conn.execute(
                            update(budgets)
                            .where(budgets.c.budget_id == row.budget_id)
                            .values(
                                amount_cents=cents,
                                period_start=new_start,
                                period_end=new_end,
                                updated_at=now,
                            )
                        )
                    state = _budget_state(_budget_by_scope(conn, period, team_key))
                return state
            except IntegrityError:
                # Another process created the same scope first: update it instead.
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def get_budget(
        self, period: str, team: str | None = None, *, now: datetime | None = None
    ) -> BudgetState:
        """The budget a decision for ``(period, team)`` spends from.

        A team without a budget of its own spends from the company-wide budget. With
        ``now``, holds that have lapsed by then count as returned (they are marked
        expired at the next write); without, the running totals as stored.

        Raises:
            BudgetNotFoundError: if neither budget exists.
        """
        with self._reader.connect() as conn:
            row = _applicable_budget(conn, period, team)
            if row is None:
                raise BudgetNotFoundError(_no_budget_message(period, team))
            return _budget_state(row) if now is None else _live_budget_state(conn, row, now)

    def budgets(self, period: str, *, now: datetime | None = None) -> list[BudgetState]:
        """Every budget of ``period`` (company-wide first, then teams by name), with
        holds that lapsed by ``now`` (default: now) returned."""
        now = _now(now)
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(budgets).where(budgets.c.period == period).order_by(budgets.c.team)
            ).all()
            return [_live_budget_state(conn, row, now) for row in rows]

    def available(self, period: str, team: str | None = None) -> Decimal:
        """What a new reservation for ``(period, team)`` may take (0 without a budget)."""
        with self._reader.connect() as conn:
            budget_id = _find_budget_id(conn, period, team)
            if budget_id is None:
                return _from_cents(0)
            return _budget_state(_budget_row(conn, budget_id)).available

    def audit(self, period: str, team: str | None = None) -> BudgetState:
        """The budget of ``(period, team)`` with its totals recomputed from the decision
        rows; equal to :meth:`get_budget` unless the running totals have drifted.

        Raises:
            BudgetNotFoundError: if no budget applies.
        """
        with self._reader.connect() as conn:
            budget_id = _find_budget_id(conn, period, team)
            if budget_id is None:
                raise BudgetNotFoundError(_no_budget_message(period, team))
            row = _budget_row(conn, budget_id)
            reserved, committed = conn.execute(
                select(
                    func.coalesce(
                        func.sum(decisions.c.compensation_cents).filter(
                            decisions.c.status == DecisionStatus.RESERVED.value
                        ),
                        0,
                    ),
                    func.coalesce(
                        func.sum(decisions.c.final_compensation_cents).filter(
                            decisions.c.status == DecisionStatus.COMMITTED.value
                        ),
                        0,
                    ),
                ).where(decisions.c.budget_id == budget_id)
            ).one()
        return BudgetState(
            period=row.period,
            team=row.team or None,
            amount=_from_cents(row.amount_cents),
            committed=_from_cents(int(committed)),
            reserved=_from_cents(int(reserved)),
            period_start=row.period_start,
            period_end=row.period_end,
        )

    def spend_by_day(self, period: str, team: str | None = None) -> dict[date, Decimal]:
        """Committed compensation per UTC day of commit, in day order, from the budget
        a decision for ``(period, team)`` spends from (empty without a budget)."""
        with self._reader.connect() as conn:
            budget_id = _find_budget_id(conn, period, team)
            if budget_id is None:
                return {}
            rows = conn.execute(
                select(decisions.c.closed_at, decisions.c.final_compensation_cents)
                .where(
                    decisions.c.budget_id == budget_id,
                    decisions.c.status == DecisionStatus.COMMITTED.value,
                )
                .order_by(decisions.c.closed_at)
            ).all()
        by_day: dict[date, int] = {}
        for closed_at, cents in rows:
            day = closed_at.date()
            by_day[day] = by_day.get(day, 0) + cents
        return {day: _from_cents(cents) for day, cents in by_day.items()}

    # ------------------------------------------------------------------ decisions

    def reserve(
        self,
        decision: DecisionRecord,
        amount: Decimal | float | int | str,
        *,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        response: str | None = None,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        now: datetime | None = None,
        within: Within | None = None,
    ) -> ReserveResult:
        """Record ``decision`` and hold ``amount`` of compensation for it.

        In one transaction: lock the budget, expire its overdue reservations, and
        record the decision as ``reserved`` (held until ``now + ttl_seconds``) if
        ``committed + reserved + amount <= budget``, else as ``declined``. A zero
        amount needs no budget and is always reserved.

        With an ``idempotency_key`` already claimed, nothing is recorded or spent and
        the original decision is returned (``replayed=True``). A declined attempt does
        not claim its key, so the caller may fall back to a cheaper option under the
        same key; a retried request then gets whichever decision claimed it.
        ``request_hash`` (a fingerprint of the request) and ``response`` (the answer
        to give a retry) are stored with the key; a later use of the key with another
        ``request_hash`` is refused. ``within`` runs in the same transaction when the
        decision holds its compensation (other stores write beside it atomically).

        Returns:
            A :class:`ReserveResult`; ``ok`` says whether the compensation is held.

        Raises:
            BudgetError: if ``amount`` is negative or not finite.
            IdempotencyKeyReusedError: if the key was claimed by another request.
            LedgerError: if the record is malformed.
        """
        cents = _to_cents(amount, "amount")
        if not (math.isfinite(ttl_seconds) and ttl_seconds > 0):
            raise LedgerError(f"ttl_seconds must be > 0. Got {ttl_seconds!r} instead.")
        if idempotency_key is not None:
            idempotency_key = _check_text(idempotency_key, "idempotency_key", 255)
        values = _record_values(decision)
        now = _now(now)
        for attempt in range(2):
            try:
                with self._engine.begin() as conn:
                    return self._reserve(
                        conn,
                        values,
                        cents,
                        idempotency_key,
                        ttl_seconds,
                        now,
                        request_hash=request_hash,
                        response=response,
                        within=within,
                    )
            except IntegrityError:
                # A concurrent request claimed the same key between our look-up and
                # insert; the retry finds it and replays it.
                if idempotency_key is None or attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _reserve(
        self,
        conn: Connection,
        values: dict[str, Any],
        cents: int,
        key: str | None,
        ttl_seconds: float,
        now: datetime,
        *,
        request_hash: str | None,
        response: str | None,
        within: Within | None,
    ) -> ReserveResult:
        if key is not None:
            claimed = conn.execute(
                select(decisions).where(decisions.c.idempotency_key == key)
            ).first()
            if claimed is not None:
                stored = conn.execute(_IDEMPOTENT_BY_KEY, {"key_": key}).first()
                if (
                    request_hash is not None
                    and stored is not None
                    and stored.request_hash != request_hash
                ):
                    raise IdempotencyKeyReusedError(key, _REUSED)
                if claimed.complaint_id != values["complaint_id"]:
                    raise IdempotencyKeyReusedError(
                        key,
                        f"was used for complaint {claimed.complaint_id!r}; got complaint "
                        f"{values['complaint_id']!r}",
                    )
                budget = _budget_row(conn, claimed.budget_id) if claimed.budget_id else None
                return ReserveResult(
                    ok=claimed.status
                    in (DecisionStatus.RESERVED.value, DecisionStatus.COMMITTED.value),
                    decision=_decision(claimed),
                    replayed=True,
                    available=_available(budget),
                )
        # One statement reads and locks the budget; the decision is returned as written
        # (no read-back): a reservation is four statements between BEGIN and COMMIT.
        budget = _applicable_budget(conn, values["period"], values["team"], lock=True)
        budget_id = None if budget is None else budget.budget_id
        if budget_id is not None and _expire_overdue(conn, now, budget_id):
            budget = _budget_row(conn, budget_id)  # its reserved total changed
        fits = cents == 0 or (
            budget is not None
            and budget.committed_cents + budget.reserved_cents + cents <= budget.amount_cents
        )
        status = DecisionStatus.RESERVED if fits else DecisionStatus.DECLINED
        row = {
            **values,
            "idempotency_key": key if fits else None,
            "budget_id": budget_id,
            "status": status.value,
            "compensation_cents": cents,
            "final_resolution": None,
            "final_compensation_cents": None,
            "override_reason": None,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds) if fits else None,
            "closed_at": None if fits else now,
        }
        conn.execute(_INSERT_DECISION, row)
        available = _available(budget)
        if fits and cents and budget is not None:
            conn.execute(_ADD_RESERVED, {"b_id": budget_id, "delta": cents, "now_": now})
            available -= _from_cents(cents)
        decision = _decision_from_mapping(row)
        if fits and key is not None:
            conn.execute(
                idempotency_keys.insert().values(
                    idempotency_key=key,
                    request_hash=request_hash or "",
                    decision_id=row["decision_id"],
                    response=response,
                    created_at=now,
                )
            )
        if fits and within is not None:
            within(conn, decision, now)
        return ReserveResult(ok=fits, decision=decision, replayed=False, available=available)

    def idempotent_request(self, key: str) -> IdempotentRequest | None:
        """What ``key`` was first used with, or None for a key never used."""
        with self._reader.connect() as conn:
            row = conn.execute(_IDEMPOTENT_BY_KEY, {"key_": key}).first()
        if row is None:
            return None
        return IdempotentRequest(key, row.request_hash, row.decision_id, row.response)

    def hold(
        self,
        decision_id: str,
        *,
        ttl_seconds: float,
        now: datetime | None = None,
        within: Within | None = None,
    ) -> Decision:
        """The agent offered the decision's compensation: hold it ``ttl_seconds`` more
        from ``now``. A lapsed reservation is held again if it still fits.

        Raises:
            BudgetExceededError: if a lapsed reservation no longer fits.
            DecisionNotFoundError: if no decision has this id.
            DecisionStateError: if the decision was declined or already settled.
        """
        if not (math.isfinite(ttl_seconds) and ttl_seconds > 0):
            raise LedgerError(f"ttl_seconds must be > 0. Got {ttl_seconds!r} instead.")
        now = _now(now)
        with self._engine.begin() as conn:
            budget_id = _decision_row(conn, decision_id).budget_id
            budget = None
            if budget_id is not None:
                _lock_budget(conn, budget_id)  # budget before decision: one lock order
                _expire_overdue(conn, now, budget_id)
                budget = _budget_row(conn, budget_id)
            row = _decision_row(conn, decision_id, for_update=True)
            status = DecisionStatus(row.status)
            cents = row.compensation_cents
            if status is DecisionStatus.EXPIRED and cents and budget is not None:
                total = budget.committed_cents + budget.reserved_cents + cents
                if total > budget.amount_cents:
                    raise BudgetExceededError(
                        f"the hold of decision {decision_id} lapsed and {_from_cents(cents)} "
                        f"no longer fits the budget of period {budget.period!r} "
                        f"({_available(budget)} available)"
                    )
                conn.execute(_ADD_RESERVED, {"b_id": budget_id, "delta": cents, "now_": now})
            elif status is not DecisionStatus.RESERVED and status is not DecisionStatus.EXPIRED:
                raise DecisionStateError(
                    f"decision {decision_id} is {status.value}; only a reserved or expired "
                    "decision can be offered"
                )
            conn.execute(
                update(decisions)
                .where(decisions.c.decision_id == decision_id)
                .values(
                    status=DecisionStatus.RESERVED.value,
                    expires_at=now + timedelta(seconds=ttl_seconds),
                    closed_at=None,
                    updated_at=now,
                )
            )
            decision = _decision(_decision_row(conn, decision_id))
            if within is not None:
                within(conn, decision, now)
        return decision

    def commit(
        self,
        decision_id: str,
        *,
        final_resolution: str | None = None,
        final_compensation: Decimal | float | int | str | None = None,
        now: datetime | None = None,
        within: Within | None = None,
    ) -> Decision:
        """The agent applied the decision: its compensation becomes committed spend.

        ``final_resolution`` defaults to the recommended one and ``final_compensation``
        to the reserved amount. A reserved decision whose reservation has expired can
        still be committed if its amount fits again. Repeating a commit with the same
        (or no) values returns the committed decision unchanged.

        Returns:
            The committed decision.

        Raises:
            BudgetExceededError: if the spend beyond what was reserved does not fit.
            DecisionNotFoundError: if no decision has this id.
            DecisionStateError: if the decision was declined, released, or committed
                with other values.
        """
        return self._settle(
            decision_id,
            target=DecisionStatus.COMMITTED,
            final_resolution=final_resolution,
            final_cents=None
            if final_compensation is None
            else _to_cents(final_compensation, "final_compensation"),
            reason=None,
            now=_now(now),
            within=within,
        )

    def release(
        self,
        decision_id: str,
        reason: str,
        *,
        final_resolution: str | None = None,
        final_compensation: Decimal | float | int | str | None = None,
        now: datetime | None = None,
        within: Within | None = None,
    ) -> Decision:
        """The recommendation was overridden or declined: free its reservation.

        ``final_resolution`` records what the agent gave instead, if anything. When it
        carries compensation (``final_compensation > 0``) that amount is committed in
        the same transaction, with ``reason`` kept as the override reason.

        Returns:
            The released (or, with compensation, committed) decision.

        Raises:
            BudgetExceededError: if the override's compensation does not fit.
            DecisionNotFoundError: if no decision has this id.
            DecisionStateError: if the decision was declined or already settled
                differently.
        """
        reason = _check_text(reason, "reason", None)
        final_cents = (
            0 if final_compensation is None else _to_cents(final_compensation, "final_compensation")
        )
        return self._settle(
            decision_id,
            target=DecisionStatus.COMMITTED if final_cents else DecisionStatus.RELEASED,
            final_resolution=final_resolution,
            final_cents=final_cents,
            reason=reason,
            now=_now(now),
            within=within,
        )

    def _settle(
        self,
        decision_id: str,
        *,
        target: DecisionStatus,
        final_resolution: str | None,
        final_cents: int | None,
        reason: str | None,
        now: datetime,
        within: Within | None = None,
    ) -> Decision:
        """``within`` runs in the transaction when the decision changes state."""
        with self._engine.begin() as conn:
            row = _decision_row(conn, decision_id)
            budget_id = row.budget_id
            spend = row.compensation_cents if final_cents is None else final_cents
            if target is not DecisionStatus.COMMITTED:
                spend = 0
            if budget_id is None and spend > 0:
                budget_id = _find_budget_id(conn, row.period, row.team)
            budget = None
            if budget_id is not None:
                # Lock the budget before the decision (one lock order everywhere).
                _lock_budget(conn, budget_id)
                _expire_overdue(conn, now, budget_id)
                budget = _budget_row(conn, budget_id)
            # Re-read under lock: the decision may have moved since the first read.
            row = _decision_row(conn, decision_id, for_update=True)
            status = DecisionStatus(row.status)
            if status is target:
                if (
                    final_resolution in (None, row.final_resolution)
                    and (final_cents is None or final_cents == row.final_compensation_cents)
                    and reason in (None, row.override_reason)
                ):
                    return _decision(row)
                raise DecisionStateError(
                    f"decision {decision_id} is already {status.value} with resolution "
                    f"{row.final_resolution!r} and compensation "
                    f"{_from_cents(row.final_compensation_cents or 0)}"
                )
            if status not in (DecisionStatus.RESERVED, DecisionStatus.EXPIRED):
                raise DecisionStateError(
                    f"decision {decision_id} is {status.value}; only a reserved or expired "
                    f"decision can be {target.value}"
                    + (
                        " (a declined decision holds no budget: reserve a cheaper option)"
                        if status is DecisionStatus.DECLINED
                        else ""
                    )
                )
            held = row.compensation_cents if status is DecisionStatus.RESERVED else 0
            if spend > held:
                if budget is None:
                    raise BudgetExceededError(_no_budget_message(row.period, row.team))
                total = budget.committed_cents + budget.reserved_cents - held + spend
                if total > budget.amount_cents:
                    raise BudgetExceededError(
                        f"committing {_from_cents(spend)} for decision {decision_id} would "
                        f"take committed plus reserved to {_from_cents(total)}, above the "
                        f"budget of {_from_cents(budget.amount_cents)} for period "
                        f"{budget.period!r}"
                    )
            if budget is not None and (held or spend):
                conn.execute(
                    update(budgets)
                    .where(budgets.c.budget_id == budget_id)
                    .values(
                        committed_cents=budgets.c.committed_cents + spend,
                        reserved_cents=budgets.c.reserved_cents - held,
                        updated_at=now,
                    )
                )
            if final_resolution is None and target is DecisionStatus.COMMITTED:
                final_resolution = row.recommended_resolution
            conn.execute(
                update(decisions)
                .where(decisions.c.decision_id == decision_id)
                .values(
                    status=target.value,
                    budget_id=budget_id,
                    final_resolution=final_resolution,
                    final_compensation_cents=spend,
                    override_reason=reason,
                    closed_at=now,
                    updated_at=now,
                )
            )
            decision = _decision(_decision_row(conn, decision_id))
            if within is not None:
                within(conn, decision, now)
            return decision

    def expire(self, now: datetime | None = None) -> int:
        """Release every reservation whose ``expires_at`` is at or before ``now``.

        Returns:
            The number of decisions expired.
        """
        now = _now(now)
        with self._engine.begin() as conn:
            overdue = _overdue(now)
            budget_ids = (
                conn.execute(
                    select(decisions.c.budget_id)
                    .where(overdue, decisions.c.budget_id.is_not(None))
                    .distinct()
                    .order_by(decisions.c.budget_id)
                )
                .scalars()
                .all()
            )
            n_expired = 0
            for budget_id in budget_ids:  # ascending ids: one lock order, no deadlock
                _lock_budget(conn, budget_id)
                n_expired += _expire_overdue(conn, now, budget_id)
            n_expired += _expire_overdue(conn, now, None)
        return n_expired

    def record_outcome(
        self,
        decision_id: str,
        *,
        satisfaction: float | None = None,
        churned_90d: bool | int | None = None,
        now: datetime | None = None,
    ) -> Outcome:
        """Record what followed a decision; a None field keeps its recorded value
        (the survey answer and the churn flag arrive months apart).

        Returns:
            The decision's outcome after the change.

        Raises:
            DecisionNotFoundError: if no decision has this id.
            LedgerError: if ``satisfaction`` is outside 0..10 or ``churned_90d`` not 0/1.
        """
        if satisfaction is not None:
            satisfaction = float(satisfaction)
            if not (math.isfinite(satisfaction) and 0 <= satisfaction <= 10):
                raise LedgerError(
                    f"satisfaction must be a number in 0..10. Got {satisfaction!r} instead."
                )
        if churned_90d is not None:
            if churned_90d not in (0, 1):  # True/False compare equal to 1/0
                raise LedgerError(f"churned_90d must be 0/1 or bool. Got {churned_90d!r} instead.")
            churned_90d = bool(churned_90d)
        now = _now(now)
        with self._engine.begin() as conn:
            _decision_row(conn, decision_id, for_update=True)  # serialises outcome writes
            existing = conn.execute(
                select(outcomes).where(outcomes.c.decision_id == decision_id)
            ).first()
            if existing is None:
                conn.execute(
                    outcomes.insert().values(
                        decision_id=decision_id,
                        satisfaction=satisfaction,
                        churned_90d=churned_90d,
                        recorded_at=now,
                        updated_at=now,
                    )
                )
            else:
                changes: dict[str, Any] = {"updated_at": now}
                if satisfaction is not None:
                    changes["satisfaction"] = satisfaction
                if churned_90d is not None:
                    changes["churned_90d"] = churned_90d
                conn.execute(
                    update(outcomes).where(outcomes.c.decision_id == decision_id).values(changes)
                )
            row = conn.execute(select(outcomes).where(outcomes.c.decision_id == decision_id)).one()
        return _outcome(row)

    def get_decision(self, decision_id: str) -> Decision:
        """The stored decision.

        Raises:
            DecisionNotFoundError: if no decision has this id.
        """
        with self._reader.connect() as conn:
            return _decision(_decision_row(conn, decision_id))

    def get_outcome(self, decision_id: str) -> Outcome | None:
        """The decision's recorded outcome, or None before any is recorded."""
        with self._reader.connect() as conn:
            row = conn.execute(
                select(outcomes).where(outcomes.c.decision_id == decision_id)
            ).first()
        return None if row is None else _outcome(row)

    def iter_decisions_with_outcomes(
        self, *, batch_size: int = 1000
    ) -> Iterator[DecisionWithOutcome]:
        """Every decision with its outcome (or None), oldest first, read in batches
        of ``batch_size`` so no transaction stays open while the caller works.
        Filter on :attr:`DecisionWithOutcome.exportable` for history rows."""
        after: tuple[datetime, str] | None = None
        while True:
            query = (
                select(decisions, outcomes)
                .join(outcomes, outcomes.c.decision_id == decisions.c.decision_id, isouter=True)
                .order_by(decisions.c.created_at, decisions.c.decision_id)
                .limit(batch_size)
            )
            if after is not None:
                query = query.where(
                    or_(
                        decisions.c.created_at > after[0],
                        and_(
                            decisions.c.created_at == after[0],
                            decisions.c.decision_id > after[1],
                        ),
                    )
                )
            with self._reader.connect() as conn:
                rows = conn.execute(query).all()
            for row in rows:
                mapping = row._mapping
                outcome = None
                if mapping[outcomes.c.decision_id] is not None:
                    outcome = Outcome(
                        decision_id=mapping[outcomes.c.decision_id],
                        satisfaction=mapping[outcomes.c.satisfaction],
                        churned_90d=mapping[outcomes.c.churned_90d],
                        recorded_at=mapping[outcomes.c.recorded_at],
                    )
                decision = _decision_from_mapping({c.name: mapping[c] for c in decisions.c})
                yield DecisionWithOutcome(decision, outcome)
            if len(rows) < batch_size:
                return
            last = rows[-1]._mapping
            after = (last[decisions.c.created_at], last[decisions.c.decision_id])


# --------------------------------------------------------------------------- helpers


def _now(now: datetime | None) -> datetime:
    return utc_now() if now is None else naive_utc(now)


def _to_cents(amount: Any, name: str) -> int:
    """Money in currency units -> integer cents, rounding half up."""
    if isinstance(amount, bool):
        raise BudgetError(f"{name} must be a number >= 0. Got {amount!r} instead.")
    try:
        # str() of a float is its shortest round-tripping repr: 0.1 -> Decimal("0.1").
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError) as exc:
        raise BudgetError(f"{name} must be a number >= 0. Got {amount!r} instead.") from exc
    if not value.is_finite() or value < 0:
        raise BudgetError(f"{name} must be a finite number >= 0. Got {amount!r} instead.")
    return int((value * _CENTS_PER_UNIT).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _from_cents(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


def _check_text(value: Any, name: str, max_length: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LedgerError(f"{name} must be a non-empty string. Got {value!r} instead.")
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise LedgerError(
            f"{name} must be at most {max_length} characters. Got {len(value)} characters."
        )
    return value


def _team_key(team: str | None) -> str:
    return "" if team is None or not team.strip() else _check_text(team, "team", 128)


def _month_bounds(
    period: str, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    try:
        first = datetime.strptime(period, "%Y-%m")
    except ValueError:
        raise BudgetError(
            f"period_start and period_end are required for a new budget whose period is not "
            f"a month (YYYY-MM). Got period {period!r}."
        ) from None
    following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1)
    return start or first, end or following


def _check_bounds(start: datetime, end: datetime) -> None:
    if end <= start:
        raise BudgetError(
            f"period_end must be after period_start. Got {start.isoformat()} .. {end.isoformat()}."
        )


def _no_budget_message(period: str, team: str | None) -> str:
    scope = f"team {team!r} nor company-wide" if team else "company-wide"
    return f"no budget for period {period!r} ({scope})"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, datetime | date):
        return None if value != value else value.isoformat()  # NaT != NaT
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    for method in ("item", "tolist"):  # numpy scalars and arrays
        convert = getattr(value, method, None)
        if callable(convert):
            return _jsonable(convert())
    raise LedgerError(f"cannot store a {type(value).__name__} as JSON: {value!r}")


def _record_values(record: DecisionRecord) -> dict[str, Any]:
    propensity = record.recommended_propensity
    if not (isinstance(propensity, int | float) and 0 < float(propensity) <= 1):
        raise LedgerError(
            f"recommended_propensity must be a probability in (0, 1]. Got {propensity!r} instead."
        )
    decision_id = record.decision_id or str(uuid.uuid4())
    return {
        "decision_id": _check_text(decision_id, "decision_id", 36),
        "period": _check_text(record.period, "period", 32),
        "team": None if _team_key(record.team) == "" else _team_key(record.team),
        "complaint_id": _check_text(record.complaint_id, "complaint_id", 255),
        "customer_id": _check_text(record.customer_id, "customer_id", 255),
        "complaint": _jsonable(dict(record.complaint)),
        "ranking": _jsonable(list(record.ranking)),
        "recommended_resolution": _check_text(
            record.recommended_resolution, "recommended_resolution", 128
        ),
        "recommended_propensity": float(propensity),
        "model_version": _check_text(record.model_version, "model_version", 128),
        "decided_at": _now(record.decided_at),
    }


def _find_budget_id(conn: Connection, period: str, team: str | None) -> int | None:
    """The team's budget if it has one, else the company-wide one, else None."""
    team_key = _team_key(team)
    rows = conn.execute(
        select(budgets.c.budget_id, budgets.c.team).where(
            budgets.c.period == period, budgets.c.team.in_({team_key, ""})
        )
    ).all()
    by_team = {row.team: row.budget_id for row in rows}
    return by_team.get(team_key, by_team.get(""))


_REUSED = (
    "was already used with a different request body: send the same body to retry, "
    "or use a new key for a new request"
)
_IDEMPOTENT_BY_KEY = select(idempotency_keys).where(
    idempotency_keys.c.idempotency_key == bindparam("key_")
)
_BUDGET_BY_SCOPE = select(budgets).where(
    budgets.c.period == bindparam("period_"), budgets.c.team == bindparam("team_")
)
_BUDGET_BY_ID = select(budgets).where(budgets.c.budget_id == bindparam("b_id"))
# FOR UPDATE on PostgreSQL; SQLite renders nothing (BEGIN IMMEDIATE holds the lock).
_BUDGET_BY_SCOPE_LOCKED = _BUDGET_BY_SCOPE.with_for_update()
_BUDGET_BY_ID_LOCKED = _BUDGET_BY_ID.with_for_update()
_INSERT_DECISION = decisions.insert()
_ADD_RESERVED = (
    update(budgets)
    .where(budgets.c.budget_id == bindparam("b_id"))
    .values(
        reserved_cents=budgets.c.reserved_cents + bindparam("delta"), updated_at=bindparam("now_")
    )
)


def _applicable_budget(
    conn: Connection, period: str, team: str | None, *, lock: bool = False
) -> Row[Any] | None:
    """The row of the budget a decision for ``(period, team)`` spends from (see
    :func:`_find_budget_id`), locked when ``lock``; one statement when company-wide."""
    team_key = _team_key(team)
    if team_key == "":
        query = _BUDGET_BY_SCOPE_LOCKED if lock else _BUDGET_BY_SCOPE
        return conn.execute(query, {"period_": period, "team_": ""}).first()
    budget_id = _find_budget_id(conn, period, team)
    if budget_id is None:
        return None
    query = _BUDGET_BY_ID_LOCKED if lock else _BUDGET_BY_ID
    return conn.execute(query, {"b_id": budget_id}).one()


def _budget_by_scope(conn: Connection, period: str, team_key: str) -> Row[Any]:
    return conn.execute(
        select(budgets).where(budgets.c.period == period, budgets.c.team == team_key)
    ).one()


def _budget_row(conn: Connection, budget_id: int) -> Row[Any]:
    return conn.execute(select(budgets).where(budgets.c.budget_id == budget_id)).one()


def _lock_budget(conn: Connection, budget_id: int) -> None:
    # FOR UPDATE on PostgreSQL; SQLite renders nothing, BEGIN IMMEDIATE holds the lock.
    conn.execute(
        select(budgets.c.budget_id).where(budgets.c.budget_id == budget_id).with_for_update()
    ).one()


def _overdue(now: datetime) -> Any:
    return and_(
        decisions.c.status == DecisionStatus.RESERVED.value,
        decisions.c.expires_at <= now,
    )


_OVERDUE_IN_BUDGET = select(
    func.count(), func.coalesce(func.sum(decisions.c.compensation_cents), 0)
).where(
    decisions.c.status == DecisionStatus.RESERVED.value,
    decisions.c.expires_at <= bindparam("now_"),
    decisions.c.budget_id == bindparam("b_id"),
)


def _expire_overdue(conn: Connection, now: datetime, budget_id: int | None) -> int:
    """Expire the overdue reservations of one budget (caller holds its lock), or of
    no budget when ``budget_id`` is None; returns how many."""
    if budget_id is not None:  # the hot path (every reservation): a prebuilt statement
        n_overdue, held = conn.execute(_OVERDUE_IN_BUDGET, {"b_id": budget_id, "now_": now}).one()
        if not n_overdue:
            return 0
    in_scope = (
        decisions.c.budget_id.is_(None) if budget_id is None else decisions.c.budget_id == budget_id
    )
    condition = and_(_overdue(now), in_scope)
    if budget_id is None:
        n_overdue, held = conn.execute(
            select(func.count(), func.coalesce(func.sum(decisions.c.compensation_cents), 0)).where(
                condition
            )
        ).one()
        if not n_overdue:
            return 0
    conn.execute(
        update(decisions)
        .where(condition)
        .values(status=DecisionStatus.EXPIRED.value, closed_at=now, updated_at=now)
    )
    if budget_id is not None and held:
        conn.execute(
            update(budgets)
            .where(budgets.c.budget_id == budget_id)
            .values(reserved_cents=budgets.c.reserved_cents - int(held), updated_at=now)
        )
    return int(n_overdue)


def _decision_row(conn: Connection, decision_id: str, *, for_update: bool = False) -> Row[Any]:
    query = select(decisions).where(decisions.c.decision_id == decision_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise DecisionNotFoundError(f"no decision with decision_id {decision_id!r}")
    return row


def _budget_state(row: Row[Any]) -> BudgetState:
    return BudgetState(
        period=row.period,
        team=row.team or None,
        amount=_from_cents(row.amount_cents),
        committed=_from_cents(row.committed_cents),
        reserved=_from_cents(row.reserved_cents),
        period_start=row.period_start,
        period_end=row.period_end,
    )


def _live_budget_state(conn: Connection, row: Row[Any], now: datetime) -> BudgetState:
    """The budget's state with the holds that lapsed by ``now`` returned (read only)."""
    now = naive_utc(now)
    state = _budget_state(row)
    if not row.reserved_cents:
        return state
    _, lapsed = conn.execute(_OVERDUE_IN_BUDGET, {"b_id": row.budget_id, "now_": now}).one()
    if not lapsed:
        return state
    return dataclasses.replace(state, reserved=_from_cents(row.reserved_cents - int(lapsed)))


def _available(budget: Row[Any] | None) -> Decimal:
    if budget is None:
        return _from_cents(0)
    return _from_cents(budget.amount_cents - budget.committed_cents - budget.reserved_cents)


def _decision(row: Row[Any]) -> Decision:
    return _decision_from_mapping(row._mapping)


def _decision_from_mapping(m: Mapping[Any, Any]) -> Decision:
    final = m["final_compensation_cents"]
    return Decision(
        decision_id=m["decision_id"],
        idempotency_key=m["idempotency_key"],
        period=m["period"],
        team=m["team"],
        complaint_id=m["complaint_id"],
        customer_id=m["customer_id"],
        complaint=dict(m["complaint"]),
        ranking=list(m["ranking"]),
        recommended_resolution=m["recommended_resolution"],
        recommended_propensity=m["recommended_propensity"],
        model_version=m["model_version"],
        status=DecisionStatus(m["status"]),
        compensation=_from_cents(m["compensation_cents"]),
        final_resolution=m["final_resolution"],
        final_compensation=None if final is None else _from_cents(final),
        override_reason=m["override_reason"],
        decided_at=m["decided_at"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        closed_at=m["closed_at"],
    )


def _outcome(row: Row[Any]) -> Outcome:
    return Outcome(
        decision_id=row.decision_id,
        satisfaction=row.satisfaction,
        churned_90d=row.churned_90d,
        recorded_at=row.recorded_at,
    )
