"""What the ledger takes and gives back: decision statuses, budgets, decisions, outcomes
(frozen dataclasses; money in currency units as exact ``Decimal``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from makegood.contract.units import naive_utc
from makegood.errors import LedgerError

__all__ = [
    "BudgetState",
    "CaseOf",
    "Decision",
    "DecisionRecord",
    "DecisionStatus",
    "DecisionWithOutcome",
    "IdempotentRequest",
    "Outcome",
    "ReserveResult",
    "Within",
    "WrapUp",
]


class DecisionStatus(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    DECLINED = "declined"


# Called inside a reservation's (or settlement's) transaction with the decision as
# written and the transaction's time: other stores write beside it atomically.
Within = Callable[[Connection, "Decision", datetime], None]

# Called inside a settlement's transaction with the decision's id: the ids of the other
# decisions of its case, whose holds and given compensation it shares
# (:mod:`makegood.store.ledger.case_money`); the contact book knows the cases.
CaseOf = Callable[[Connection, str], Sequence[str]]


@dataclass(frozen=True)
class WrapUp:
    """How the agent closed a contact: a wrap-up code (the call centre's own list) and a
    note, stored with the decision and exported with the history."""

    code: str | None = None
    note: str | None = None


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
    ``owed`` is the part of the compensation a guardrail floor requires (a refund owed):
    it is reserved even when the budget cannot fund it (see ``Ledger.reserve``).
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
    owed: Decimal = Decimal(0)


@dataclass(frozen=True)
class Decision:
    """One stored decision. ``compensation`` is what was requested (and held while
    reserved); ``final_compensation`` what was actually given (committed or released).
    ``owed``: the part of ``compensation`` a guardrail floor requires; a decision owed
    beyond its budget spends from none (``beyond_budget``)."""

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
    wrap_up_code: str | None = None
    wrap_up_note: str | None = None
    owed: Decimal = Decimal(0)
    budget_id: int | None = None

    @property
    def beyond_budget(self) -> bool:
        """True when the decision holds or spent money owed that no budget funded."""
        return self.budget_id is None and self.owed > 0


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
            "wrap_up_code": d.wrap_up_code,
            "wrap_up_note": d.wrap_up_note,
        }
