"""The compensation budget: ``GET /v1/budget`` [finance]; ``PUT``/``POST`` [admin]."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query

from makegood.serving import budget as budgets
from makegood.serving.deps import Admin, Finance, ServiceDep
from makegood.serving.errors import responses
from makegood.serving.response_schemas import BudgetOut
from makegood.serving.schemas import BudgetIn

log = logging.getLogger("makegood.serving")

router = APIRouter(prefix="/v1", tags=["budget"])


@router.get("/budget", response_model=BudgetOut, responses=responses(401, 403, 404, 422, 503))
def get_budget(
    service: ServiceDep,
    _: Finance,
    period: Annotated[
        str | None, Query(min_length=1, max_length=32, description="default: this UTC month")
    ] = None,
    team: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> BudgetOut:
    """The budget, what is committed and reserved, and today's paced shadow price."""
    return budgets.budget(service, period, team)


_SET = {"response_model": BudgetOut, "responses": responses(400, 401, 403, 413, 422, 503)}


@router.put("/budget", operation_id="set_budget", **_SET)  # type: ignore[arg-type]
@router.post("/budget", operation_id="set_budget_post", **_SET)  # type: ignore[arg-type]
def set_budget(body: BudgetIn, service: ServiceDep, _: Admin) -> BudgetOut:
    """Create or change a period's budget (a ``YYYY-MM`` period spans its month unless
    ``period_start`` and ``period_end`` are given). 422 if the amount would fall below
    what is already committed and reserved."""
    out = budgets.set_budget(
        service,
        body.period,
        body.amount,
        team=body.team,
        period_start=body.period_start,
        period_end=body.period_end,
    )
    log.info("budget set for period %s", body.period)
    return out
