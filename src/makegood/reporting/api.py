"""The budget-impact report over HTTP, for the finance role.

The serving app includes :data:`router` with its finance-role guard, and answers its
errors with the service's one mapping (:mod:`makegood.serving.errors`)::

    from makegood.reporting import api as reports
    app.include_router(reports.router, dependencies=[Depends(require_finance)])

The route reads from ``request.app.state``:

* ``bundle``: the loaded model bundle (required; the app loads it in its lifespan);
* ``report_complaints``: a normalized complaint frame (or a history to replay) that
  ``GET`` reports on (optional; ``POST`` brings its own complaints);
* ``report_history``: a normalized history frame, the current practice to compare with
  (optional).

``GET /v1/reports/budget?budgets=20000,40000&period=month`` and
``POST /v1/reports/budget`` (body: :class:`BudgetReportRequest`) return the report's JSON,
or the self-contained HTML page with ``?format=html``.

``GET /v1/reports/period?period=2026-12&team=billing`` returns the live period read from
the service's ledger (``app.state.ledger``): committed and held spend against the pacing
plan, the forecast at period end, overrides and live calibration (JSON, or HTML).

The work is CPU-bound (plain ``def``: FastAPI runs it in its thread pool).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, BeforeValidator, Field, Strict

from makegood.contract.files import OUTCOME_COLUMNS, validate_complaints, validate_history
from makegood.errors import BudgetError, FieldError, ModelNotLoadedError
from makegood.reporting.html import render_html, render_period_html
from makegood.reporting.pacing import BudgetPeriod
from makegood.reporting.period import period_report

PATH = "/v1/reports/budget"
PERIOD_PATTERN = r"^(month|quarter|year|days:[0-9]{1,4})$"
PERIOD_PATH = "/v1/reports/period"
_PERIOD_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,31}$"
MAX_BUDGETS = 50


def _text_date(value: Any) -> Any:
    if isinstance(value, (int, float)):  # pydantic would read numbers as Unix times
        raise ValueError("must be an ISO 8601 date string, e.g. 2026-11-01")
    return value


class BudgetReportRequest(BaseModel):
    """What to report on: new complaints (contract rows) or the app's own set."""

    complaints: list[dict[str, Any]] | None = Field(
        default=None,
        description="Complaint rows in contract form (a history's rows are replayed). "
        "Default: the app's configured complaint set.",
    )
    budgets: list[Annotated[float, Strict()]] | None = Field(
        default=None, max_length=MAX_BUDGETS, description="Chosen budgets, per period."
    )
    period: str = Field(
        default="month",
        pattern=PERIOD_PATTERN,
        description="Budget period: month, quarter, year or days:N. Budgets and every "
        "amount of the report are per period.",
    )
    period_days: Annotated[int, Strict()] | None = Field(
        default=None, ge=1, le=3660, description="Shorthand for period=days:N."
    )
    period_start: Annotated[date, BeforeValidator(_text_date)] | None = None
    use_history: Annotated[bool, Strict()] = Field(
        default=True, description="Compare with the app's history (current practice)."
    )


def _parse_budgets(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise FieldError(
            "budgets", f"must be numbers separated by commas. Got {text!r} instead."
        ) from None
    if len(out) > MAX_BUDGETS:
        raise FieldError("budgets", f"must name at most {MAX_BUDGETS} budgets. Got {len(out)}.")
    return out


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name, None)


def report_bundle(request: Request) -> Any:
    """The bundle reported on: the app's own (``state.bundle``), else the service's live
    model. Raises ModelNotLoadedError."""
    bundle = _state(request, "bundle")
    models = _state(request, "models")  # the agents' service: its live (reloadable) model
    if bundle is None and models is not None and getattr(models, "current", None) is not None:
        bundle = models.current.bundle
    if bundle is None:
        raise ModelNotLoadedError("no model is loaded")
    return bundle


Bundle = Annotated[Any, Depends(report_bundle)]


def _run(
    request: Request, bundle: Any, body: BudgetReportRequest, fmt: str
) -> JSONResponse | HTMLResponse:
    """The report. Raises FieldError, ContractError, BudgetError."""
    from makegood.reporting.budget import budget_report

    history = _state(request, "report_history") if body.use_history else None
    if body.complaints is not None:
        if not body.complaints:
            raise FieldError("complaints", "must hold at least one complaint. Got none.")
        raw = pd.DataFrame(body.complaints)
        if all(c in raw.columns for c in ("resolution", "churned_90d")):
            df = validate_history(raw, source="request body", catalog=bundle.catalog)
        else:
            df = validate_complaints(raw.drop(columns=list(OUTCOME_COLUMNS), errors="ignore"))
        source = "request body"
    else:
        df = _state(request, "report_complaints")
        if df is None:
            raise FieldError(
                "complaints", "required: the app has no report complaint set of its own"
            )
        source = "the server's complaint set"
    try:
        BudgetPeriod.parse(body.period)
    except BudgetError as e:
        raise FieldError("period", str(e).removeprefix("period ")) from None
    report = budget_report(
        bundle,
        df,
        body.budgets,
        history_df=history if history is not df else None,
        period=body.period,
        period_days=body.period_days,
        period_start=body.period_start,
        source=source,
    )
    if fmt == "html":
        return HTMLResponse(render_html(report))
    return JSONResponse(report.to_dict())


def _period(
    request: Request, period: str | None, team: str | None, fmt: str
) -> JSONResponse | HTMLResponse:
    """The live period report. Raises BudgetNotFoundError (404); the ledger's database
    errors are answered 503 by the service's mapping."""

    ledger = _state(request, "ledger")
    if ledger is None:
        raise HTTPException(503, "no ledger: the period report needs the service's database")
    models = _state(request, "models")
    current = getattr(models, "current", None) if models is not None else None
    currency = current.catalog.currency if current is not None else "USD"
    report = period_report(ledger, period, team=team, currency=currency)
    if fmt == "html":
        return HTMLResponse(render_period_html(report))
    return JSONResponse(report.to_dict())


# The report's JSON is documented in docs/ (its shape follows BudgetReport.to_dict).
_REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report as JSON, or as a self-contained HTML page (format=html).",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}

# the period route also answers 404 (no budget for that period or team), with the service's
# one error body (``{"detail": ...}``, ErrorOut in serving.errors)
_PERIOD_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_REPORT_RESPONSES,
    404: {
        "description": "No budget for that period (and team).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                }
            }
        },
    },
}

router = APIRouter(tags=["reports"])


@router.get(PATH, response_model=None, responses=_REPORT_RESPONSES)
def get_budget_report(
    request: Request,
    bundle: Bundle,
    budgets: str | None = Query(default=None, description="Per period, e.g. 20000,40000"),
    period: str = Query(
        default="month",
        pattern=PERIOD_PATTERN,
        description="Budget period: month, quarter, year or days:N (budgets are per period).",
    ),
    period_days: int | None = Query(default=None, ge=1, le=3660),
    period_start: date | None = None,
    use_history: bool = True,
    format: Literal["json", "html"] = "json",  # noqa: A002 - the query parameter's name
) -> JSONResponse | HTMLResponse:
    """The budget-impact report of the app's complaint set."""
    body = BudgetReportRequest(
        budgets=_parse_budgets(budgets),
        period=period,
        period_days=period_days,
        period_start=period_start,
        use_history=use_history,
    )
    return _run(request, bundle, body, format)


@router.post(PATH, response_model=None, responses=_REPORT_RESPONSES)
def post_budget_report(
    request: Request,
    bundle: Bundle,
    body: BudgetReportRequest,
    format: Literal["json", "html"] = "json",  # noqa: A002
) -> JSONResponse | HTMLResponse:
    """The budget-impact report of the complaints in the body (or the app's set)."""
    return _run(request, bundle, body, format)


@router.get(PERIOD_PATH, response_model=None, responses=_PERIOD_RESPONSES)
def get_period_report(
    request: Request,
    period: str | None = Query(
        default=None,
        pattern=_PERIOD_PATTERN,
        description="Budget period, e.g. 2026-12 (default: the current month).",
    ),
    team: str | None = Query(
        default=None, min_length=1, max_length=128, description="Only this team."
    ),
    format: Literal["json", "html"] = "json",  # noqa: A002
) -> JSONResponse | HTMLResponse:
    """The live period from the service's ledger (plain ``def``: SQL and plots)."""
    return _period(request, period, team, format)


def make_router(dependencies: Sequence[Any] = ()) -> APIRouter:
    """:data:`router` behind ``dependencies`` (e.g. a role check), for other apps.

    Install :func:`makegood.serving.errors.install_error_handlers` on the app too, so
    invalid requests are answered 422 and a missing model 503.
    """
    guarded = APIRouter(dependencies=list(dependencies))
    guarded.include_router(router)
    return guarded
