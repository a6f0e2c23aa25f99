"""``POST /v1/handovers`` [agent]: a warm handover of a case to another team or channel."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from makegood.serving.case_schemas import HandoverRecordOut
from makegood.serving.customers import handover as hand_over
from makegood.serving.deps import Agent, ScorerDep, ServiceDep
from makegood.serving.errors import responses
from makegood.serving.schemas import HandoverIn

router = APIRouter(prefix="/v1", tags=["handovers"])


@router.post(
    "/handovers",
    response_model=HandoverRecordOut,
    responses=responses(401, 403, 404, 413, 422, 503),
)
async def handover(
    body: HandoverIn, service: ServiceDep, scorer: ScorerDep, principal: Agent
) -> HandoverRecordOut:
    """Pass a case (named by a contact's ``decision_id`` or by ``case_id``) from one
    agent or channel to another with a note (and the next step promised). Answers the
    one-sentence summary the next agent needs ("contacted us on chat about a billing
    error of $89.99; refund offered; wants confirmation by phone"), a greeting that
    reflects the customer's tenure and history, and the case as it stands."""
    return await run_in_threadpool(hand_over, service, scorer, body, from_agent=principal.key_id)
