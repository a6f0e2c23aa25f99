"""``GET /health``: liveness and the model version, without a key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from makegood.serving.deps import ModelsDep
from makegood.serving.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health(models: ModelsDep) -> dict[str, Any]:
    """``ok`` with the served model's version, or ``no model`` while none is loaded."""
    scorer = models.current
    return {"status": "ok" if scorer else "no model", "model_version": scorer and scorer.version}
