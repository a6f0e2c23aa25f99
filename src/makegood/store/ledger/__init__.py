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
reserved   ``compensation`` held (counts in ``reserved``) until ``expires_at``;
           a case's decisions share their holds (:mod:`.case_money`)
committed  ``final_compensation`` spent (counts in ``committed``)
released   overridden or declined by the agent; nothing counted
expired    the reservation lapsed; nothing counted
declined   did not fit the budget when requested; nothing counted, never held
=========  =====================================================================

Timestamps are naive UTC (aware ones are converted).

Where each part lives: :mod:`.values` (what goes in and out), :mod:`.schema` (the
tables), :mod:`.checks` (inputs checked before a transaction), :mod:`.budget_rows`,
:mod:`.expiry`, :mod:`.reservations`, :mod:`.idempotency`, :mod:`.settlement`,
:mod:`.case_money` and :mod:`.decision_rows` (the steps inside a transaction), and
the :class:`Ledger`, one transaction per method: :mod:`.base` (its database),
:mod:`.budget_book` (its budgets) and :mod:`.ledger` (its decisions). The engine and
``metadata`` are :mod:`makegood.store.db`'s, re-exported here.
"""

from makegood.errors import (
    DecisionNotFoundError,
    DecisionStateError,
    IdempotencyKeyReusedError,
    LedgerError,
)
from makegood.store.db import SQLITE_BUSY_TIMEOUT_SECONDS, lock_wait_limit, make_engine, metadata
from makegood.store.ledger.expiry import holding, live_budget_state
from makegood.store.ledger.ledger import DEFAULT_TTL_SECONDS, Ledger
from makegood.store.ledger.schema import budgets, decisions, idempotency_keys, outcomes
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

__all__ = [
    "DEFAULT_TTL_SECONDS",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "BudgetState",
    "CaseOf",
    "Decision",
    "DecisionNotFoundError",
    "DecisionRecord",
    "DecisionStateError",
    "DecisionStatus",
    "DecisionWithOutcome",
    "IdempotencyKeyReusedError",
    "IdempotentRequest",
    "Ledger",
    "LedgerError",
    "Outcome",
    "ReserveResult",
    "Within",
    "WrapUp",
    "budgets",
    "decisions",
    "holding",
    "idempotency_keys",
    "live_budget_state",
    "lock_wait_limit",
    "make_engine",
    "metadata",
    "outcomes",
]
