"""``GET /v1/customers/{customer_id}`` [agent]: profile and recent complaints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from makegood.serving import customers
from makegood.serving.case_schemas import CustomerOut
from makegood.serving.deps import Agent, ScorerDep, ServiceDep
from makegood.serving.errors import responses

router = APIRouter(prefix="/v1", tags=["customers"])


@router.get(
    "/customers/{customer_id}",
    response_model=CustomerOut,
    responses=responses(401, 403, 422, 503),
)
def customer(
    customer_id: Annotated[str, Path(max_length=255)],
    service: ServiceDep,
    scorer: ScorerDep,
    _: Agent,
) -> CustomerOut:
    """What the model's memory holds of the customer (``known: false`` if nothing)."""
    return customers.customer(service, scorer, customer_id)
