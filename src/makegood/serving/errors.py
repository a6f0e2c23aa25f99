"""One mapping of makegood's errors to HTTP statuses, for every route (the report's too).

:data:`STATUS` is the table; :func:`install_error_handlers` puts it on an app;
:func:`responses` documents a route's possible error answers in the OpenAPI document,
each with its body model (:class:`ErrorOut`, or :class:`ValidationErrorOut` for 422).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from makegood.errors import (
    BudgetExceededError,
    BudgetNotFoundError,
    CaseNotFoundError,
    ContactsChangedError,
    DecisionNotFoundError,
    DecisionStateError,
    FieldError,
    IncompatibleModelError,
    LedgerBusyError,
    MakegoodError,
    ModelNotFoundError,
    ModelNotLoadedError,
    QueueEntryNotFoundError,
    QueueStateError,
)

log = logging.getLogger("makegood.serving")


class FieldErrorOut(BaseModel):
    field: str = Field(description="dotted path of the field, e.g. complaint.severity")
    message: str


class ErrorOut(BaseModel):
    """The body of every error answer (401, 403, 404, 409, 413, 503)."""

    detail: str


class ValidationErrorOut(BaseModel):
    """The body of a 422: a summary and one entry per invalid field (input not echoed)."""

    detail: str
    errors: list[FieldErrorOut]


# Starlette picks the handler of the nearest class in the exception's MRO, so the
# specific errors win over their MakegoodError base whatever the order here.
STATUS: dict[type[Exception], int] = {
    DecisionNotFoundError: 404,
    CaseNotFoundError: 404,
    ContactsChangedError: 409,
    BudgetNotFoundError: 404,
    ModelNotFoundError: 404,
    IncompatibleModelError: 409,
    DecisionStateError: 409,
    QueueEntryNotFoundError: 404,
    QueueStateError: 409,
    BudgetExceededError: 409,
    ModelNotLoadedError: 503,
    LedgerBusyError: 503,
    MakegoodError: 422,  # ContractError, CatalogError, BudgetError, LedgerError, ...
}

_DESCRIPTIONS = {
    400: "The body is not JSON text (e.g. not UTF-8).",
    401: "No API key, or an unknown one (header X-API-Key or Authorization: Bearer).",
    403: "The key's role may not use this route.",
    404: "The named decision, budget, model version or customer record does not exist.",
    409: "The request conflicts with the current state (decision already settled, "
    "idempotency key reused, budget exceeded, model incompatible).",
    413: "The request body is larger than the server accepts.",
    422: "A field is missing or invalid; `errors` names each field and its rule.",
    503: "No model is loaded yet, or the ledger database is unavailable or its lock was "
    "not free in time: retry after the Retry-After header's seconds.",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that may answer ``codes``."""
    return {
        code: {
            "model": ValidationErrorOut if code == 422 else ErrorOut,
            "description": _DESCRIPTIONS[code],
        }
        for code in codes
    }


def error_response(
    code: int, detail: str, errors: list[dict[str, str]] | None = None, **kwargs: Any
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if code == 422:
        body["errors"] = errors if errors is not None else [{"field": "body", "message": detail}]
    return JSONResponse(body, status_code=code, **kwargs)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "header", "path")]
    return ".".join(parts) or "body"


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The input values are left out on purpose: they may be complaint text.
    errors = [
        {"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return error_response(422, summary, errors)


async def _field_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FieldError)
    return error_response(422, str(exc), [{"field": exc.field, "message": exc.message}])


async def _makegood_error(_: Request, exc: Exception) -> JSONResponse:
    code = next(STATUS[k] for k in type(exc).__mro__ if k in STATUS)
    headers = None
    if isinstance(exc, LedgerBusyError):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
    return error_response(
        code, str(exc).splitlines()[0] if str(exc) else type(exc).__name__, headers=headers
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names the methods of the first route matching the path only; a path
        # served by several routes (GET and PUT /v1/budget) allows all of theirs.
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return error_response(exc.status_code, str(exc.detail), headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)  # PARTIAL: the path matches, not the method
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("database error: %s", type(exc).__name__)
    return error_response(
        503,
        "the ledger database is unavailable; retry with the same Idempotency-Key",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of makegood, FastAPI and the database with the table above."""
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(FieldError, _field_error)
    for error in STATUS:
        app.add_exception_handler(error, _makegood_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
