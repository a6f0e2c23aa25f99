"""The FastAPI application: ``create_app`` is the factory uvicorn starts in each worker.

Endpoints (roles in brackets; admin may do everything):

* ``POST /v1/recommendations`` [agent]: one complaint -> ranked, explained, budgeted
  recommendation with a decision id (header ``Idempotency-Key`` makes retries safe).
* ``GET /v1/decisions/{id}``, ``POST /v1/decisions/{id}`` [agent]: read / settle a decision.
* ``POST /v1/outcomes`` [agent]: satisfaction and churn as they arrive.
* ``GET /v1/customers/{id}`` [agent]: profile and recent history.
* ``GET /v1/budget`` [finance]; ``PUT``/``POST /v1/budget`` [admin].
* ``GET /v1/model`` [any]; ``POST /v1/model/reload`` [admin].
* ``GET /health`` (no key).

CPU-bound endpoints are plain ``def`` (run in the threadpool). Nothing at INFO level
logs complaint text or customer identifiers: the access log names the route template,
not the path.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from makegood.errors import BudgetError, BudgetExceededError, MakegoodError, ModelNotFoundError
from makegood.ledger import DecisionNotFoundError, DecisionStateError, Ledger, LedgerError
from makegood.serving import schemas
from makegood.serving.deps import (
    Admin,
    Agent,
    AnyRole,
    Finance,
    ModelsDep,
    ScorerDep,
    ServiceDep,
    require,
)
from makegood.serving.models import ModelHolder, describe
from makegood.serving.security import ApiKeys, Role
from makegood.serving.service import FieldError, Service, decision_view
from makegood.serving.settings import Settings

log = logging.getLogger("makegood.serving")


class BodyLimit:
    """Answers 413 to a request body above ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._too_large(send)
                    return
        received = 0

        async def limited() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, self._detail())
            return message

        await self.app(scope, limited, send)

    def _detail(self) -> str:
        return f"request body must be at most {self.max_bytes} bytes"

    async def _too_large(self, send: Any) -> None:
        body = json.dumps({"detail": self._detail()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class AccessLog:
    """Logs ``method route-template status duration`` at INFO for every HTTP request.

    A plain ASGI middleware (``@app.middleware("http")`` costs a task and a memory
    stream per request). The route template, never the path, is logged: paths carry
    decision and customer ids.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status_code = 500

        async def send_status(message: dict) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            log.info(
                "%s %s %d %.1fms",
                scope.get("method", ""),
                getattr(route, "path", "<unmatched>"),
                status_code,
                (time.perf_counter() - t0) * 1e3,
            )


def _json(model: type[BaseModel], content: Mapping[str, Any]) -> Response:
    """``content`` validated as ``model`` and serialized by pydantic, in the caller's thread.

    A route returning a Response skips FastAPI's response validation, which for a plain
    ``def`` route is another hop through the thread pool; the check is the same.
    """
    body = model.__pydantic_serializer__.to_json(model.model_validate(content))
    return Response(body, media_type="application/json")


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "header", "path")]
    return ".".join(parts) or "body"


def _error(code: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=code)


_ERROR_STATUS: dict[type[Exception], int] = {
    DecisionNotFoundError: 404,
    ModelNotFoundError: 404,
    DecisionStateError: 409,
    BudgetExceededError: 409,
    LedgerError: 422,
    MakegoodError: 422,
}


def _status_handler(code: int) -> Any:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        return _error(code, str(exc))

    return handler


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The input values are left out on purpose: they may be complaint text.
        errors = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return _error(422, summary, errors=errors)

    @app.exception_handler(FieldError)
    async def _field_error(_: Request, exc: FieldError) -> JSONResponse:
        return _error(422, str(exc), errors=[{"field": exc.field, "message": exc.message}])

    # Starlette picks the handler of the nearest class in the exception's MRO, so the
    # specific errors win over their MakegoodError base whatever the order here.
    for error, code in _ERROR_STATUS.items():
        app.add_exception_handler(error, _status_handler(code))

    @app.exception_handler(SQLAlchemyError)
    async def _database(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error: %s", type(exc).__name__)
        return _error(
            503, "the ledger database is unavailable; retry with the same Idempotency-Key"
        )


def _create_tables(ledger: Ledger, models: ModelHolder) -> None:
    for attempt in range(3):  # workers starting together may race on CREATE TABLE
        try:
            ledger.create_all()
            models.create_table()
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; ``settings`` default to the ``MAKEGOOD_*`` environment."""
    settings = settings or Settings.from_env()
    api_keys = ApiKeys.load(settings.api_keys, settings.api_keys_file)
    package_log = logging.getLogger("makegood")
    package_log.setLevel(settings.log_level.upper())
    if not package_log.handlers and not logging.getLogger().handlers:
        # Under uvicorn only its own loggers have handlers: give ours one too.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s %(message)s"))
        package_log.addHandler(handler)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = Ledger(settings.database_url, schema=settings.database_schema)
        models = ModelHolder(settings)
        _create_tables(ledger, models)
        models.load()
        models.start_following()
        from makegood.features.intents import default_detector

        default_detector()  # train (or load) the customer_said detector before requests
        app.state.settings = settings
        app.state.ledger = ledger
        app.state.models = models
        app.state.service = Service(settings, ledger)
        app.state.api_keys = api_keys
        try:
            yield
        finally:
            models.close()
            ledger.close()

    app = FastAPI(
        title="makegood",
        version="1",
        summary="Next-best complaint resolution: explained, budget-aware.",
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    install_error_handlers(app)

    from makegood.reporting.api import make_router

    # the finance report over HTTP; it reports on the live model, for finance (and admin)
    app.include_router(make_router(dependencies=[Depends(require(Role.FINANCE))]))

    @app.get("/health")
    def health(request: Request) -> dict[str, Any]:
        models = getattr(request.app.state, "models", None)
        scorer = models.current if models is not None else None
        return {
            "status": "ok" if scorer else "no model",
            "model_version": scorer and scorer.version,
        }

    @app.post("/v1/recommendations", response_model=schemas.RecommendationOut)
    def recommend(
        body: schemas.RecommendationIn,
        service: ServiceDep,
        scorer: ScorerDep,
        _: Agent,
        idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    ) -> Response:
        out = service.recommend(
            scorer,
            body.complaint.model_dump(),
            top_k=body.top_k,
            period=body.period,
            team=body.team,
            idempotency_key=idempotency_key,
        )
        return _json(schemas.RecommendationOut, out)

    @app.get("/v1/decisions/{decision_id}", response_model=schemas.DecisionOut)
    def get_decision(decision_id: str, service: ServiceDep, _: Agent) -> dict[str, Any]:
        return decision_view(service.ledger.get_decision(decision_id))

    @app.post("/v1/decisions/{decision_id}", response_model=schemas.DecisionOut)
    def decide(
        decision_id: str,
        body: schemas.DecisionIn,
        service: ServiceDep,
        models: ModelsDep,
        _: Agent,
    ) -> dict[str, Any]:
        decision = service.decide(models.current, decision_id, body.model_dump())
        log.info("decision=%s settled status=%s", decision.decision_id, decision.status.value)
        return decision_view(decision)

    @app.post("/v1/outcomes", response_model=schemas.OutcomeOut)
    def outcomes(body: schemas.OutcomeIn, service: ServiceDep, _: Agent) -> dict[str, Any]:
        o = service.record_outcome(
            body.decision_id, satisfaction=body.satisfaction, churned_90d=body.churned_90d
        )
        return {
            "decision_id": o.decision_id,
            "satisfaction": o.satisfaction,
            "churned_90d": o.churned_90d,
            "recorded_at": o.recorded_at,
        }

    @app.get("/v1/customers/{customer_id}", response_model=schemas.CustomerOut)
    def customer(
        customer_id: str, service: ServiceDep, scorer: ScorerDep, _: Agent
    ) -> dict[str, Any]:
        if len(customer_id) > 255:
            raise FieldError("customer_id", "must be at most 255 characters")
        return service.customer(scorer, customer_id)

    @app.get("/v1/budget", response_model=schemas.BudgetOut)
    def get_budget(
        service: ServiceDep,
        _: Finance,
        period: Annotated[str | None, Query(max_length=32)] = None,
        team: Annotated[str | None, Query(max_length=128)] = None,
    ) -> dict[str, Any]:
        from makegood.serving.service import _now, current_period

        try:
            return service.budget(period or current_period(_now()), team)
        except BudgetError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None

    @app.api_route("/v1/budget", methods=["PUT", "POST"], response_model=schemas.BudgetOut)
    def set_budget(body: schemas.BudgetIn, service: ServiceDep, _: Admin) -> dict[str, Any]:
        state = service.ledger.set_budget(
            body.period,
            body.amount,
            team=body.team,
            period_start=body.period_start,
            period_end=body.period_end,
        )
        log.info("budget set for period %s", body.period)
        return service.budget_view(state)

    @app.get("/v1/model", response_model=schemas.ModelOut)
    def model(scorer: ScorerDep, _: AnyRole) -> dict[str, Any]:
        return describe(scorer)

    @app.post("/v1/model/reload", response_model=schemas.ModelOut)
    def reload(models: ModelsDep, _: Admin, body: schemas.ReloadIn | None = None) -> dict[str, Any]:
        scorer = models.load(body.version if body else None, pin=True)
        return describe(scorer)

    return app
