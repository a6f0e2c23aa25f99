"""The budget-impact report over HTTP, for the finance role.

The serving app includes the router with its finance-role guard::

    from makegood.reporting.api import make_router
    app.include_router(make_router(dependencies=[Depends(require_finance)]))

The route reads from ``request.app.state``:

* ``bundle``: the loaded model bundle (required; the app loads it in its lifespan);
* ``report_complaints``: a normalized complaint frame (or a history to replay) that
  ``GET`` reports on (optional; ``POST`` brings its own complaints);
* ``report_history``: a normalized history frame, the current practice to compare with
  (optional).

``GET /v1/reports/budget?budgets=10000,20000&period_days=30`` and
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
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.params import Depends
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from makegood.errors import BudgetError, ContractError, MakegoodError

PATH = "/v1/reports/budget"
PERIOD_PATH = "/v1/reports/period"
_PERIOD_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,31}$"
MAX_BUDGETS = 50


class BudgetReportRequest(BaseModel):
    """What to report on: new complaints (contract rows) or the app's own set."""

    complaints: list[dict[str, Any]] | None = Field(
        default=None,
        description="Complaint rows in contract form (a history's rows are replayed). "
        "Default: the app's configured complaint set.",
    )
    budgets: list[float] | None = Field(
        default=None, max_length=MAX_BUDGETS, description="Chosen budgets."
    )
    period_days: int | None = Field(default=None, ge=1, le=3660)
    period_start: date | None = None
    use_history: bool = Field(
        default=True, description="Compare with the app's history (current practice)."
    )


def _parse_budgets(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise HTTPException(
            422, f"budgets must be numbers separated by commas. Got {text!r} instead."
        ) from None
    if len(out) > MAX_BUDGETS:
        raise HTTPException(422, f"at most {MAX_BUDGETS} budgets. Got {len(out)}.")
    return out


def _state(request: Request, name: str) -> Any:
    return getattr(request.app.state, name, None)


def _run(request: Request, body: BudgetReportRequest, fmt: str) -> JSONResponse | HTMLResponse:
    from makegood.contract import OUTCOME_COLUMNS, validate_complaints, validate_history
    from makegood.reporting.budget import budget_report

    bundle = _state(request, "bundle")
    models = _state(request, "models")  # the agents' service: its live (reloadable) model
    if bundle is None and models is not None and getattr(models, "current", None) is not None:
        bundle = models.current.bundle
    if bundle is None:
        raise HTTPException(503, "no model is loaded")
    history = _state(request, "report_history") if body.use_history else None
    try:
        if body.complaints is not None:
            if not body.complaints:
                raise HTTPException(422, "complaints is empty")
            raw = pd.DataFrame(body.complaints)
            if all(c in raw.columns for c in ("resolution", "churned_90d")):
                df = validate_history(raw, source="request body", catalog=bundle.catalog)
            else:
                df = validate_complaints(raw.drop(columns=list(OUTCOME_COLUMNS), errors="ignore"))
            source = "request body"
        else:
            df = _state(request, "report_complaints")
            if df is None:
                raise HTTPException(
                    422, "no complaints given and the app has no report complaint set"
                )
            source = "the server's complaint set"
        report = budget_report(
            bundle,
            df,
            body.budgets,
            history_df=history if history is not df else None,
            period_days=body.period_days,
            period_start=body.period_start,
            source=source,
        )
    except (ContractError, BudgetError) as e:
        raise HTTPException(422, str(e).splitlines()[0]) from None
    except MakegoodError as e:
        raise HTTPException(500, str(e).splitlines()[0]) from None
    if fmt == "html":
        from makegood.reporting.html import render_html

        return HTMLResponse(render_html(report))
    return JSONResponse(report.to_dict())


def _period(
    request: Request, period: str | None, team: str | None, fmt: str
) -> JSONResponse | HTMLResponse:
    from sqlalchemy.exc import SQLAlchemyError

    from makegood.reporting.period import period_report

    ledger = _state(request, "ledger")
    if ledger is None:
        raise HTTPException(503, "no ledger: the period report needs the service's database")
    models = _state(request, "models")
    current = getattr(models, "current", None) if models is not None else None
    currency = current.catalog.currency if current is not None else "USD"
    try:
        report = period_report(ledger, period, team=team, currency=currency)
    except BudgetError as e:
        raise HTTPException(404, str(e).splitlines()[0]) from None
    except SQLAlchemyError:
        raise HTTPException(503, "the ledger database cannot be read") from None
    if fmt == "html":
        from makegood.reporting.html import render_period_html

        return HTMLResponse(render_period_html(report))
    return JSONResponse(report.to_dict())


def make_router(dependencies: Sequence[Depends] = ()) -> APIRouter:
    """The report routes, guarded by ``dependencies`` (e.g. the finance-role check)."""
    router = APIRouter(tags=["reports"], dependencies=list(dependencies))

    @router.get(PATH, response_model=None)
    def get_budget_report(
        request: Request,
        budgets: str | None = Query(default=None, description="e.g. 10000,20000"),
        period_days: int | None = Query(default=None, ge=1, le=3660),
        period_start: date | None = None,
        use_history: bool = True,
        format: Literal["json", "html"] = "json",  # noqa: A002 - the query parameter's name
    ) -> JSONResponse | HTMLResponse:
        """The budget-impact report of the app's complaint set."""
        body = BudgetReportRequest(
            budgets=_parse_budgets(budgets),
            period_days=period_days,
            period_start=period_start,
            use_history=use_history,
        )
        return _run(request, body, format)

    @router.post(PATH, response_model=None)
    def post_budget_report(
        request: Request,
        body: BudgetReportRequest,
        format: Literal["json", "html"] = "json",  # noqa: A002
    ) -> JSONResponse | HTMLResponse:
        """The budget-impact report of the complaints in the body (or the app's set)."""
        return _run(request, body, format)

    @router.get(PERIOD_PATH, response_model=None)
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

    return router


router = make_router()
