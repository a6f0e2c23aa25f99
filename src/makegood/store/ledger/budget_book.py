"""The ledger's budgets: :class:`BudgetBook` sets a period's budget (one transaction) and
reads what a decision spends from, what is left, the audit and the spend by day; the
base of :class:`~makegood.store.ledger.Ledger`."""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from makegood.contract.units import from_cents, naive_utc
from makegood.errors import BudgetNotFoundError
from makegood.store.db import moment
from makegood.store.ledger.base import LedgerBase
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
from makegood.store.ledger.checks import check_text, parse_cents, team_key
from makegood.store.ledger.expiry import live_budget_state, locked_budget
from makegood.store.ledger.schema import budgets
from makegood.store.ledger.values import BudgetState

__all__ = ["BudgetBook"]


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


class BudgetBook(LedgerBase):
    """The budgets of the ledger: each ``(period, team)`` budget, set in one transaction
    and read with the holds lapsed by ``now`` returned."""

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
        return self.write_transaction(
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
