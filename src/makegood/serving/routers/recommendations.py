"""``POST /v1/recommendations`` [agent]: one complaint -> a ranked, explained, budgeted
recommendation with a decision id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from makegood.serving.deps import Agent, ScorerDep, ServiceDep
from makegood.serving.errors import responses
from makegood.serving.schemas import RecommendationIn, RecommendationOut, validated_json

router = APIRouter(prefix="/v1", tags=["recommendations"])


@router.post(
    "/recommendations",
    response_model=RecommendationOut,
    responses=responses(400, 401, 403, 409, 413, 422, 503),
)
def recommend(
    body: RecommendationIn,
    service: ServiceDep,
    scorer: ScorerDep,
    _: Agent,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=255,
            description="Makes retries safe: the same key answers the same decision.",
        ),
    ] = None,
) -> Response:
    """Score every eligible resolution, choose within the budget, reserve its
    compensation and explain the choice. A retry with the same ``Idempotency-Key``
    answers the original decision (``replayed: true``); 409 if the key was used for
    another complaint."""
    out = service.recommend(
        scorer,
        body.complaint.model_dump(),
        top_k=body.top_k,
        period=body.period,
        team=body.team,
        idempotency_key=idempotency_key,
    )
    return validated_json(RecommendationOut, out)
