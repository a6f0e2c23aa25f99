"""Decisions and outcomes [agent]: read or settle a decision; report what happened."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from makegood.serving.decisions import decide as settle
from makegood.serving.decisions import decision_view, record_outcome
from makegood.serving.deps import Agent, ModelsDep, ServiceDep, check_team
from makegood.serving.errors import responses
from makegood.serving.response_schemas import DecisionOut, OutcomeOut
from makegood.serving.schemas import DecisionIn, OutcomeIn

log = logging.getLogger("makegood.serving")

router = APIRouter(prefix="/v1", tags=["decisions"])


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    responses=responses(401, 403, 404, 422, 503),
)
def get_decision(decision_id: str, service: ServiceDep, principal: Agent) -> DecisionOut:
    """The decision as stored: its status, resolution and compensation (a key bound to a
    team reads its team's decisions only: 403 otherwise)."""
    decision = service.ledger.get_decision(decision_id)
    check_team(principal, decision.team, "decision_id")
    return decision_view(decision)


@router.post(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    responses=responses(400, 401, 403, 404, 409, 413, 422, 503),
)
async def decide(
    decision_id: str, body: DecisionIn, service: ServiceDep, models: ModelsDep, principal: Agent
) -> DecisionOut:
    """The agent's action: ``offered`` holds the compensation while the customer
    considers it (``offer_ttl_seconds``), ``accepted`` commits it, ``declined`` releases
    it, ``override`` releases it and commits the resolution actually given (it must be
    in the catalog). ``notes`` are kept with the contact. A key bound to a team settles
    its team's decisions only (403 otherwise). Runs on the ledger's writer threads: 503
    with Retry-After when the database lock is not free in time."""
    if principal.team is not None:
        check_team(principal, service.ledger.get_decision(decision_id).team, "decision_id")
    decision = await service.writes.run_async(settle, service, models.current, decision_id, body)
    log.info("decision=%s settled status=%s", decision.decision_id, decision.status.value)
    return decision_view(decision)


@router.post(
    "/outcomes",
    response_model=OutcomeOut,
    responses=responses(400, 401, 403, 404, 413, 422, 503),
)
async def outcomes(body: OutcomeIn, service: ServiceDep, principal: Agent) -> OutcomeOut:
    """Record satisfaction and churn of a decision as they arrive (either may be null); a
    key bound to a team reports on its team's decisions only (403 otherwise)."""
    if principal.team is not None:
        check_team(principal, service.ledger.get_decision(body.decision_id).team, "decision_id")
    return await service.writes.run_async(record_outcome, service, body)
