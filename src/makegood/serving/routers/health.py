"""``GET /health``: liveness, the model version and the ledger's state, without a key.

It never waits for the database more than a second: the ledger is probed on a thread
of its own (:meth:`~makegood.serving.writes.WriteQueue.health`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from makegood.serving.deps import ModelsDep
from makegood.serving.response_schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "No model loaded, or the ledger is "
                     "degraded (its reason in ledger.reason)."}},
)  # fmt: skip
async def health(request: Request, models: ModelsDep) -> JSONResponse:
    """200 ``ok`` with the served model's version and ``ledger.status: ok``; 503
    ``degraded`` (the ledger cannot be written now: ``ledger.reason`` says why) or
    ``no model`` while none is loaded."""
    scorer = models.current
    service = getattr(request.app.state, "service", None)
    reason = None if service is None else await service.writes.health()
    status = "no model" if scorer is None else ("degraded" if reason else "ok")
    body = HealthOut.model_validate(
        {
            "status": status,
            "model_version": scorer.version if scorer else None,
            "ledger": {"status": "degraded" if reason else "ok", "reason": reason},
        }
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if status == "ok" else 503)
