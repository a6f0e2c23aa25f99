"""The served model: ``GET /v1/model`` [any role]; ``POST /v1/model/reload`` [admin]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from makegood.serving.deps import Admin, AnyRole, ModelsDep, ScorerDep
from makegood.serving.errors import responses
from makegood.serving.models import describe
from makegood.serving.response_schemas import ModelOut
from makegood.serving.schemas import ReloadIn

router = APIRouter(prefix="/v1", tags=["model"])


@router.get("/model", response_model=ModelOut, responses=responses(401, 403, 503))
async def model(scorer: ScorerDep, _: AnyRole) -> dict[str, Any]:
    """The served model's version, training metrics and resolutions (never waits for
    the database)."""
    return describe(scorer)


@router.post(
    "/model/reload",
    response_model=ModelOut,
    responses=responses(400, 401, 403, 404, 409, 413, 422, 503),
)
def reload(models: ModelsDep, _: Admin, body: ReloadIn | None = None) -> dict[str, Any]:
    """Load a bundle version (default: the configured one, else the latest) and pin it,
    so every worker follows. 404 if no such version; 409 if it cannot be served."""
    return describe(models.load(body.version if body else None, pin=True))
