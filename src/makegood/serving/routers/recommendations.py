"""``POST /v1/recommendations`` [agent]: one complaint -> a ranked, explained, budgeted
recommendation with a decision id, in the complaint's case.

The route is ``async``: scoring runs in the thread pool, the reservation on the
ledger's writer threads (:class:`~makegood.serving.writes.WriteQueue`), so a stalled
database never fills the pool that serves reads and ``/health``. The work is
:mod:`makegood.serving.recommendations`; the answer is serialized once, with the plan.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from makegood.serving.deps import Agent, ScorerDep, ServiceDep, team_of
from makegood.serving.errors import responses
from makegood.serving.plans import RecommendationRequest
from makegood.serving.recommendations import recommend_async
from makegood.serving.response_schemas import RecommendationOut
from makegood.serving.schemas import RecommendationIn

router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.post(
    "/recommendations",
    response_model=RecommendationOut,
    responses=responses(400, 401, 403, 409, 413, 422, 503),
)
async def recommend(
    body: RecommendationIn,
    service: ServiceDep,
    scorer: ScorerDep,
    principal: Agent,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=255,
            description="Makes retries safe: the same key and body answer the stored answer "
            "again (replayed: true); the same key with another body is refused (409).",
        ),
    ] = None,
) -> Response:
    """Score every eligible resolution, choose within the budget, reserve its
    compensation (briefly: until the agent offers it) and explain the choice.

    The contact joins the customer's open case about the same issue (or ``case_id``);
    compensation the case already holds or gave is not reserved again unless
    ``case_override_reason`` says why. A key bound to a team spends from that team's
    budget only (403 for another ``team``). Categories the model never saw are
    flagged in ``input_warnings``. 503 with Retry-After when the ledger is locked."""
    # the request's write waits for the ledger's lock until this, at the latest
    deadline = time.monotonic() + service.settings.lock_timeout_seconds
    request = RecommendationRequest(
        complaint=body.complaint.fields(),
        top_k=body.top_k,
        period=body.period,
        team=team_of(principal, body.team),
        idempotency_key=idempotency_key,
        case_id=body.case_id,
        case_override_reason=body.case_override_reason,
        agent=body.agent or principal.key_id,
    )
    served = await recommend_async(service, scorer, request, deadline=deadline)
    out = Response(served.json, media_type="application/json")
    if served.replayed:
        out.headers["Idempotent-Replayed"] = "true"
    return out
