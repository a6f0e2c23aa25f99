"""The :class:`Ledger`: the budget ledger and decision log's public methods, each one
transaction of its own (the steps inside are the sibling modules'). The database and
its lifecycle are :class:`~.base.LedgerBase`'s, the budgets :class:`~.budget_book.BudgetBook`'s;
this module holds the decisions: reserve, hold, commit, release, expire, their outcomes
and the reads of them."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from makegood.store.db import moment
from makegood.store.ledger.budget_book import BudgetBook
from makegood.store.ledger.checks import (
    check_outcome,
    check_text,
    check_ttl,
    parse_cents,
    record_values,
)
from makegood.store.ledger.decision_rows import (
    decision_from_row,
    decision_row,
    decisions_page,
    outcome_from_row,
    write_outcome,
)
from makegood.store.ledger.expiry import expire_all
from makegood.store.ledger.idempotency import stored_request
from makegood.store.ledger.reservations import hold_decision, reserve_decision
from makegood.store.ledger.schema import outcomes
from makegood.store.ledger.settlement import settle_decision
from makegood.store.ledger.values import (
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


class Ledger(BudgetBook):
    """The budget ledger and decision log in one database.

    Every method runs in one transaction of its own, so a ``Ledger`` may be shared
    by threads and several processes may open the same database.

    Parameters:
        url: SQLAlchemy URL, ``sqlite:///ledger.db`` or ``postgresql+psycopg://...``.
        schema: PostgreSQL schema holding the tables (default: the search path).
        lock_timeout: seconds a write waits for a database lock before failing with
            ``sqlalchemy.exc.OperationalError`` (the service answers 503).
    """

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
        return self.write_transaction(
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
