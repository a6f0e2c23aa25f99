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

The routes live in ``serving/routers/`` (one module per concern; the report's router is
``reporting/api.py``); :mod:`makegood.serving.errors` maps every error to its status, for
all of them. CPU-bound endpoints are plain ``def`` (run in the threadpool). Nothing at INFO level
logs complaint text or customer identifiers: the access log names the route template,
not the path.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, status
from sqlalchemy.exc import SQLAlchemyError

from makegood.reporting import api as reports
from makegood.serving.deps import require
from makegood.serving.errors import install_error_handlers, responses
from makegood.serving.models import ModelHolder
from makegood.serving.queue import QueueService
from makegood.serving.routers import (
    budget,
    console,
    customers,
    decisions,
    handovers,
    health,
    me,
    model,
    queue,
    recommendations,
)
from makegood.serving.security import ApiKeys, Role
from makegood.serving.service import Service
from makegood.serving.settings import Settings
from makegood.store.ledger import Ledger
from makegood.store.queue import QueueStore

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


def _create_tables(ledger: Ledger) -> None:
    for attempt in range(3):  # workers starting together may race on CREATE TABLE
        try:
            ledger.create_all()  # the migrations; a no-op at the newest revision
            return
        except SQLAlchemyError:
            if attempt == 2:
                raise
            time.sleep(0.2 * (attempt + 1))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the ledger, load the model and follow the pin; close them at shutdown."""
    settings: Settings = app.state.settings
    ledger = Ledger(
        settings.database_url,
        schema=settings.database_schema,
        lock_timeout=settings.lock_timeout_seconds,
    )
    models = ModelHolder(settings)
    _create_tables(ledger)
    models.load()
    models.start_following()
    from makegood.features.intents.said import default_detector

    default_detector()  # train (or load) the customer_said detector before requests
    service = Service(settings, ledger)
    queue_store = QueueStore(
        settings.database_url,
        schema=settings.database_schema,
        claim_seconds=settings.queue_claim_seconds,
        lock_timeout=settings.lock_timeout_seconds,
    )
    service.writes  # noqa: B018 - made here, in one thread, before any request
    app.state.ledger = ledger
    app.state.models = models
    app.state.service = service
    app.state.queue = QueueService(settings, queue_store, service)
    try:
        yield
    finally:
        queue_store.close()
        models.close()
        service.close()
        ledger.close()


ROUTERS = (
    health.router,
    recommendations.router,
    decisions.router,
    customers.router,
    handovers.router,
    budget.router,
    me.router,
    model.router,
    queue.router,
    console.router,
)


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

    app = FastAPI(
        title="makegood",
        version="1",
        summary="Next-best complaint resolution: explained, budget-aware.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api_keys = api_keys
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLog)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    console.mount_static(app)
    # the finance report over HTTP; it reports on the live model, for finance (and admin)
    app.include_router(
        reports.router,
        dependencies=[Depends(require(Role.FINANCE))],
        responses=responses(400, 401, 403, 413, 422, 503),
    )
    return app
