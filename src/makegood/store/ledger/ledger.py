"""The :class:`Ledger`: the budget ledger and decision log's public methods, each one
transaction of its own (the steps inside are the sibling modules')."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from makegood.contract.units import from_cents, naive_utc
from makegood.errors import BudgetNotFoundError
from makegood.store import migrations
from makegood.store.db import SQLITE_BUSY_TIMEOUT_SECONDS, moment, open_engines
from makegood.store.ledger.budget_rows import (
    applicable_budget,
    audited_state,
    budget_row,
    budget_state,
    committed_by_day,
    find_budget_id,
    no_budget_message,
    write_budget,
)
from makegood.store.ledger.checks import (
    check_outcome,
    check_text,
    check_ttl,
    parse_cents,
    record_values,
    team_key,
)
from makegood.store.ledger.decision_rows import (
    decision_from_row,
    decision_row,
    decisions_page,
    outcome_from_row,
    write_outcome,
)
from makegood.store.ledger.expiry import expire_all, live_budget_state, locked_budget
from makegood.store.ledger.idempotency import stored_request
from makegood.store.ledger.reservations import hold_decision, reserve_decision
from makegood.store.ledger.schema import budgets, outcomes
from makegood.store.ledger.settlement import settle_decision
from makegood.store.ledger.values import (
    BudgetState,
    CaseOf,
    Decision,
    DecisionRecord,
    DecisionStatus,
    DecisionWithOutcome,
    IdempotentRequest,
    Outcome,
    ReserveResult,
    Within,
    WrapUp,
)

__all__ = ["DEFAULT_TTL_SECONDS", "Ledger"]

DEFAULT_TTL_SECONDS = 3600

_T = TypeVar("_T")


def _write_budget_now(conn: Connection, **change: Any) -> BudgetState:
    """:func:`write_budget` with the budget's holds lapsed by ``now`` expired first (its
    row locked): a new amount is judged against the holds that are still live, as every
    reader counts them."""
    budget_id = conn.execute(
        select(budgets.c.budget_id).where(
            budgets.c.period == change["period"], budgets.c.team == change["key"]
        )
    ).scalar()
    if budget_id is not None:
        locked_budget(conn, budget_id, change["now"])
    return write_budget(conn, **change)


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
        self.engines = open_engines(url, schema=schema, lock_timeout=lock_timeout)
        # the engines under their earlier names (the service's write queue reads them)
        self._base_engine = self.engines.base
        self._engine = self.engines.writer
        self._reader = self.engines.reader

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
        return self.engines.reader

    def close(self) -> None:
        """Close pooled connections."""
        self.engines.dispose()

    def create_all(self) -> None:
        """Bring the database to the newest migration (:mod:`makegood.store.migrations`):
        create the schema (PostgreSQL) and every table the service uses."""
        migrations.upgrade(self.engines.base, schema=self.schema)

    def _write(self, step: Callable[[Connection], _T], *, retry_conflict: bool = False) -> _T:
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
        cents = parse_cents(amount, "amount")
        period = check_text(period, "period", 32)
        key = team_key(team)
        start = None if period_start is None else naive_utc(period_start)
        end = None if period_end is None else naive_utc(period_end)
        now = moment(now)
        # Another process may create the same scope first: the second run updates it.
        return self._write(
            functools.partial(
                _write_budget_now,
                period=period,
                key=key,
                cents=cents,
                start=start,
                end=end,
                now=now,
                team=team,
                amount=amount,
            ),
            retry_conflict=True,
        )

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
        with self.engines.reader.connect() as conn:
            row = applicable_budget(conn, period, team)
            if row is None:
                raise BudgetNotFoundError(no_budget_message(period, team))
            return budget_state(row) if now is None else live_budget_state(conn, row, now)

    def budgets(self, period: str, *, now: datetime | None = None) -> list[BudgetState]:
        """Every budget of ``period`` (company-wide first, then teams by name), with
        holds that lapsed by ``now`` (default: now) returned."""
        now = moment(now)
        with self.engines.reader.connect() as conn:
            rows = conn.execute(
                select(budgets).where(budgets.c.period == period).order_by(budgets.c.team)
            ).all()
            return [live_budget_state(conn, row, now) for row in rows]

    def available(
        self, period: str, team: str | None = None, *, now: datetime | None = None
    ) -> Decimal:
        """What a new reservation for ``(period, team)`` may take at ``now`` (default:
        now), holds lapsed by then returned (0 without a budget)."""
        now = moment(now)
        with self.engines.reader.connect() as conn:
            budget_id = find_budget_id(conn, period, team)
            if budget_id is None:
                return from_cents(0)
            return live_budget_state(conn, budget_row(conn, budget_id), now).available

    def audit(self, period: str, team: str | None = None) -> BudgetState:
        """The budget of ``(period, team)`` with its totals recomputed from the decision
        rows; equal to :meth:`get_budget` unless the running totals have drifted.

        Raises:
            BudgetNotFoundError: if no budget applies.
        """
        with self.engines.reader.connect() as conn:
            budget_id = find_budget_id(conn, period, team)
            if budget_id is None:
                raise BudgetNotFoundError(no_budget_message(period, team))
            return audited_state(conn, budget_id)

    def spend_by_day(self, period: str, team: str | None = None) -> dict[date, Decimal]:
        """Committed compensation per UTC day of commit, in day order, from the budget
        a decision for ``(period, team)`` spends from (empty without a budget)."""
        with self.engines.reader.connect() as conn:
            budget_id = find_budget_id(conn, period, team)
            if budget_id is None:
                return {}
            return committed_by_day(conn, budget_id)

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
        cents = parse_cents(amount, "amount")
        check_ttl(ttl_seconds)
        if idempotency_key is not None:
            idempotency_key = check_text(idempotency_key, "idempotency_key", 255)
        values = record_values(decision)
        now = moment(now)
        # A concurrent request may claim the same key between our look-up and insert;
        # the second run finds it and replays it.
        return self._write(
            functools.partial(
                reserve_decision,
                values=values,
                cents=cents,
                key=idempotency_key,
                ttl_seconds=ttl_seconds,
                now=now,
                request_hash=request_hash,
                response=response,
                within=within,
            ),
            retry_conflict=idempotency_key is not None,
        )

    def idempotent_request(self, key: str) -> IdempotentRequest | None:
        """What ``key`` was first used with, or None for a key never used."""
        with self.engines.reader.connect() as conn:
            return stored_request(conn, key)

    def hold(
        self,
        decision_id: str,
        *,
        ttl_seconds: float,
        now: datetime | None = None,
        within: Within | None = None,
        case_of: CaseOf | None = None,
    ) -> Decision:
        """The agent offered the decision's compensation: hold it ``ttl_seconds`` more
        from ``now``. A lapsed reservation is held again if it still fits. With
        ``case_of``, the live holds of the decision's case (which cover part of its
        card) are kept as long.

        Raises:
            BudgetExceededError: if a lapsed reservation no longer fits.
            DecisionNotFoundError: if no decision has this id.
            DecisionStateError: if the decision was declined or already settled.
        """
        check_ttl(ttl_seconds)
        now = moment(now)
        with self.engines.writer.begin() as conn:
            return hold_decision(
                conn, decision_id, ttl_seconds, now, within=within, case_of=case_of
            )

    def commit(
        self,
        decision_id: str,
        *,
        final_resolution: str | None = None,
        final_compensation: Decimal | float | int | str | None = None,
        now: datetime | None = None,
        within: Within | None = None,
        case_of: CaseOf | None = None,
        wrap_up: WrapUp | None = None,
    ) -> Decision:
        """The agent applied the decision: its compensation becomes committed spend.

        ``final_resolution`` defaults to the recommended one and ``final_compensation``
        to the reserved amount. A reserved decision whose reservation has expired can
        still be committed if its amount fits again. Repeating a commit with the same
        (or no) values returns the committed decision unchanged.

        With ``case_of`` (the other decisions of its case) the decision is settled in
        its case (:mod:`.case_money`): ``final_compensation`` defaults to its card's
        amount, and what the case was given already is not given again; the case's
        other holds pay for it first. ``wrap_up`` is stored with the decision.

        Returns:
            The committed decision.

        Raises:
            BudgetExceededError: if the spend beyond what was reserved does not fit.
            DecisionNotFoundError: if no decision has this id.
            DecisionStateError: if the decision was declined, released, or committed
                with other values.
        """
        final_cents = (
            None
            if final_compensation is None
            else parse_cents(final_compensation, "final_compensation")
        )
        now = moment(now)
        with self.engines.writer.begin() as conn:
            return settle_decision(
                conn,
                decision_id,
                target=DecisionStatus.COMMITTED,
                final_resolution=final_resolution,
                final_cents=final_cents,
                reason=None,
                now=now,
                within=within,
                case_of=case_of,
                wrap_up=wrap_up,
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
        case_of: CaseOf | None = None,
        wrap_up: WrapUp | None = None,
    ) -> Decision:
        """The recommendation was overridden or declined: free its reservation.

        ``final_resolution`` records what the agent gave instead, if anything. When it
        carries compensation (``final_compensation > 0``) that amount is committed in
        the same transaction, with ``reason`` kept as the override reason; with
        ``case_of``, settled in its case as :meth:`commit` says.

        Returns:
            The released (or, with compensation, committed) decision.

        Raises:
            BudgetExceededError: if the override's compensation does not fit.
            DecisionNotFoundError: if no decision has this id.
            DecisionStateError: if the decision was declined or already settled
                differently.
        """
        reason = check_text(reason, "reason", None)
        final_cents = (
            0
            if final_compensation is None
            else parse_cents(final_compensation, "final_compensation")
        )
        now = moment(now)
        with self.engines.writer.begin() as conn:
            return settle_decision(
                conn,
                decision_id,
                target=DecisionStatus.COMMITTED if final_cents else DecisionStatus.RELEASED,
                final_resolution=final_resolution,
                final_cents=final_cents,
                reason=reason,
                now=now,
                within=within,
                case_of=case_of,
                wrap_up=wrap_up,
            )

    def expire(self, now: datetime | None = None) -> int:
        """Release every reservation whose ``expires_at`` is at or before ``now``.

        Returns:
            The number of decisions expired.
        """
        now = moment(now)
        with self.engines.writer.begin() as conn:
            return expire_all(conn, now)

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
        satisfaction, churned = check_outcome(satisfaction, churned_90d)
        now = moment(now)
        with self.engines.writer.begin() as conn:
            return write_outcome(
                conn, decision_id, satisfaction=satisfaction, churned_90d=churned, now=now
            )

    def get_decision(self, decision_id: str) -> Decision:
        """The stored decision.

        Raises:
            DecisionNotFoundError: if no decision has this id.
        """
        with self.engines.reader.connect() as conn:
            return decision_from_row(decision_row(conn, decision_id))

    def get_outcome(self, decision_id: str) -> Outcome | None:
        """The decision's recorded outcome, or None before any is recorded."""
        with self.engines.reader.connect() as conn:
            row = conn.execute(
                select(outcomes).where(outcomes.c.decision_id == decision_id)
            ).first()
        return None if row is None else outcome_from_row(row)

    def iter_decisions_with_outcomes(
        self, *, batch_size: int = 1000
    ) -> Iterator[DecisionWithOutcome]:
        """Every decision with its outcome (or None), oldest first, read in batches
        of ``batch_size`` so no transaction stays open while the caller works.
        Filter on :attr:`DecisionWithOutcome.exportable` for history rows."""
        after: tuple[datetime, str] | None = None
        while True:
            with self.engines.reader.connect() as conn:
                page, after = decisions_page(conn, after, batch_size)
            yield from page
            if len(page) < batch_size:
                return
