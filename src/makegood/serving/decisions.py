"""Decisions and outcomes: what the agent did with a recommendation, and what happened.

An agent's action is stored with its contact in one transaction on the ledger's writer
threads: ``offered`` holds the compensation for ``offer_ttl_seconds`` more; ``accepted``
commits it; ``declined`` releases it; ``override`` releases it and commits the
override's compensation. Each is settled in the contact's case: a case handed from one
agent to the next gives its card's amount once, paid from the holds the case already
has. ``accepted`` (and the others) may carry a wrap-up code and note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from makegood.contract.units import to_cents
from makegood.errors import FieldError
from makegood.serving.response_schemas import DecisionOut, OutcomeOut
from makegood.serving.schemas import DecisionIn, OutcomeIn
from makegood.serving.scorer import Scorer
from makegood.serving.service import Service
from makegood.store.contacts import ContactAction
from makegood.store.ledger import Decision, WrapUp

__all__ = ["decide", "decision_view", "record_outcome"]


def decide(service: Service, scorer: Scorer | None, decision_id: str, body: DecisionIn) -> Decision:
    """The agent's action ``body`` on decision ``decision_id``, settled in its case (the
    case's holds and what it was given are shared: :mod:`makegood.store.ledger.case_money`),
    so what is given is committed at its card's amount once for the case. Run on a
    writer thread (see :attr:`Service.writes`).

    Raises FieldError (an override without resolution or reason, or with a resolution
    outside the catalog), and the ledger's DecisionNotFoundError, DecisionStateError,
    BudgetExceededError.
    """
    ledger = service.ledger
    action = ContactAction(body.action)
    case_of = service.contacts.case_others
    wrap_up = WrapUp(body.wrap_up_code, body.note) if body.wrap_up_code or body.note else None

    def noted(conn: Any, d: Decision, now: datetime) -> None:
        service.contacts.set_action(conn, d.decision_id, action, now, notes=body.notes)

    if action is ContactAction.OFFERED:
        return ledger.hold(
            decision_id,
            ttl_seconds=service.settings.offer_ttl_seconds,
            within=noted,
            case_of=case_of,
        )
    if action is ContactAction.ACCEPTED:
        return ledger.commit(decision_id, within=noted, case_of=case_of, wrap_up=wrap_up)
    reason = body.reason
    if action is ContactAction.DECLINED:
        return ledger.release(
            decision_id,
            reason or "declined by the customer",
            within=noted,
            case_of=case_of,
            wrap_up=wrap_up,
        )
    resolution = body.resolution
    if not resolution:
        raise FieldError("resolution", "required for an override")
    if not reason:
        raise FieldError("reason", "required for an override")
    compensation = body.compensation
    if compensation is None:
        if scorer is None or resolution not in scorer.catalog.ids:
            raise FieldError(
                "resolution",
                "must be a resolution id of the catalog"
                + (f" ({list(scorer.catalog.ids)})" if scorer is not None else ""),
            )
        stored = ledger.get_decision(decision_id)
        disputed = float(stored.complaint.get("disputed_amount") or 0.0)
        k = scorer.catalog.index(resolution)
        compensation = float(scorer.catalog.compensation_matrix(np.array([disputed]))[0, k])
    elif scorer is not None and resolution not in scorer.catalog.ids:
        raise FieldError("resolution", "must be a resolution id of the catalog")
    return ledger.release(
        decision_id,
        reason,
        final_resolution=resolution,
        final_compensation=to_cents(compensation),
        within=noted,
        case_of=case_of,
        wrap_up=wrap_up,
    )


def record_outcome(service: Service, body: OutcomeIn) -> OutcomeOut:
    """Record satisfaction and churn of a decision (run on a writer thread)."""
    o = service.ledger.record_outcome(
        body.decision_id, satisfaction=body.satisfaction, churned_90d=body.churned_90d
    )
    return OutcomeOut(
        decision_id=o.decision_id,
        satisfaction=o.satisfaction,
        churned_90d=o.churned_90d,
        recorded_at=o.recorded_at,
    )


def decision_view(d: Decision) -> DecisionOut:
    """A stored decision as the API answers it."""
    return DecisionOut(
        decision_id=d.decision_id,
        status=d.status,
        recommended_resolution=d.recommended_resolution,
        final_resolution=d.final_resolution,
        compensation=float(d.compensation),
        final_compensation=None if d.final_compensation is None else float(d.final_compensation),
        override_reason=d.override_reason,
        model_version=d.model_version,
        logging_propensity=d.recommended_propensity,
        wrap_up_code=d.wrap_up_code,
        note=d.wrap_up_note,
    )
