"""The live period: how the current budget period is going, read from the service's ledger.

The same database ``makegood serve`` writes (its ``--database-url``), read with SQLAlchemy
queries on the ledger's tables (:mod:`makegood.store.ledger` only stores; the sums are here):

* spend committed and held to date, by team and by resolution, against the pacing plan
  (the budget spread evenly over the period: the target of the service's pacing price);
* the forecast spend at period end with a 95% interval
  (:func:`makegood.policy.forecast.forecast_spend`);
* the owed spend: what guardrail floors required, and what of it no budget funded
  (:mod:`makegood.reporting.owed`);
* the decisions agents overrode and what they cost (extra compensation, and the net value
  the model expected to lose), by reason and by resolution, and the outcomes recorded so
  far against the predictions served (live calibration of churn and satisfaction): both
  in :mod:`makegood.reporting.advice`.

Everything is computed once into a :class:`PeriodReport` of plain, rounded, JSON-safe values;
the HTML and JSON are rendered from ``PeriodReport.to_dict()``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.engine import make_url

from makegood.contract.units import from_cents, naive_utc, utc_now
from makegood.errors import BudgetNotFoundError
from makegood.policy.forecast import SpendForecast, forecast_spend
from makegood.reporting.advice import calibration, overrides
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.owed import owed_spend
from makegood.store.ledger import (
    DecisionStatus,
    Ledger,
    budgets,
    decisions,
    holding,
    live_budget_state,
    outcomes,
)

__all__ = ["NO_TEAM", "PeriodReport", "period_report"]

NO_TEAM = "(no team)"  # decisions served without a team
_COMMITTED = DecisionStatus.COMMITTED.value


def _day(value: Any) -> date:
    """A SQL ``date(...)`` result: a date (PostgreSQL) or an ISO string (SQLite)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass
class PeriodReport:
    """The live period as plain values (money in currency units). See the module doc."""

    meta: dict
    budget: dict
    totals: dict
    by_team: list[dict]
    by_resolution: list[dict]
    daily: list[dict]
    forecast: dict
    overrides: dict
    calibration: dict
    assumptions: list[str]
    owed: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A deep copy as a JSON-safe dict."""
        return copy.deepcopy(
            {
                "meta": self.meta,
                "budget": self.budget,
                "totals": self.totals,
                "by_team": self.by_team,
                "by_resolution": self.by_resolution,
                "daily": self.daily,
                "forecast": self.forecast,
                "overrides": self.overrides,
                "calibration": self.calibration,
                "assumptions": self.assumptions,
                "owed": self.owed,
            }
        )


def period_report(
    ledger: Ledger,
    period: str | None = None,
    *,
    team: str | None = None,
    now: datetime | None = None,
    currency: str = "USD",
) -> PeriodReport:
    """The report of ``period`` (default: the current month, as the service names it).

    Args:
        ledger: the service's ledger (only read, through :attr:`Ledger.reader`).
        period: the budget period, e.g. ``2026-12``.
        team: only this team's decisions, against its budget (or the company-wide one it
            spends from); default: every decision of the period against all its budgets.
        now: the report's moment (default: now, UTC).
        currency: the currency the catalog names money in.

    Raises:
        BudgetNotFoundError: the period has no budget (for the team, nor company-wide).
    """
    now = naive_utc(now) if now is not None else utc_now()
    period = period or f"{now.year:04d}-{now.month:02d}"
    team = team.strip() if team and team.strip() else None
    in_scope = decisions.c.period == period
    if team is not None:
        in_scope = and_(in_scope, decisions.c.team == team)
    with ledger.reader.connect() as conn:
        # held: the holds live at ``now`` (lapsed ones returned), as every reader counts
        held_now = holding(now)
        budget = _budget(conn, period, team, now)
        counts = _status_counts(conn, in_scope)
        by_team = _by(conn, in_scope, decisions.c.team, "team", held_now)
        by_resolution = _by_resolution(conn, in_scope, held_now)
        per_day = _committed_by_day(conn, in_scope)
        committed_amounts, held_amounts = _amounts(conn, in_scope, held_now)
        override_rows, n_nothing = _overridden(conn, in_scope)
        outcome_rows = _with_outcomes(conn, in_scope)
        owed = owed_spend(conn, in_scope, held_now)
        versions = sorted(
            conn.execute(select(decisions.c.model_version).where(in_scope).distinct()).scalars()
        )
    clock = _Clock(budget.pop("_start"), budget.pop("_end"), now)
    fc = forecast_spend(
        committed_amounts,
        clock.elapsed_days,
        clock.total_days,
        held=held_amounts,
        commit_rate=_commit_rate(counts),
        cap=budget["amount"],
    )
    meta = {
        "title": "The live budget period",
        "generated_at": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "now": now.isoformat(timespec="seconds"),
        "period": period,
        "team": team,
        "scope": f"team {team}" if team else "all teams",
        "database": make_url(ledger.url).render_as_string(hide_password=True),
        "schema": ledger.schema,
        **clock.meta(),
        "model_versions": versions,
        "currency": currency,
    }
    return PeriodReport(
        meta=meta,
        budget=budget,
        totals=_totals(counts, by_team, budget["amount"], clock),
        by_team=by_team,
        by_resolution=by_resolution,
        daily=_daily(per_day, clock.start, clock.end, now, budget["amount"]),
        forecast=_forecast(fc, budget["amount"]),
        overrides=overrides(override_rows) | {"n_released_nothing_given": int(n_nothing)},
        calibration=calibration(outcome_rows),
        assumptions=_assumptions(team, budget),
        owed=owed,
    )


@dataclass(frozen=True)
class _Clock:
    """Where ``now`` stands in the period ``[start, end)`` (naive UTC), in days."""

    start: datetime
    end: datetime
    now: datetime

    @property
    def total_days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400.0

    @property
    def elapsed_days(self) -> float:
        """Days from the start to now, clipped to the period."""
        return min(max((self.now - self.start).total_seconds() / 86400.0, 0.0), self.total_days)

    def meta(self) -> dict:
        return {
            "period_start": self.start.isoformat(timespec="seconds"),
            "period_end": self.end.isoformat(timespec="seconds"),
            "days_elapsed": _r(self.elapsed_days, 2),
            "days_total": _r(self.total_days, 2),
        }


def _commit_rate(counts: dict[str, int]) -> float:
    """The share of settled reservations (committed, released, expired) that committed."""
    settled = counts[_COMMITTED] + counts[DecisionStatus.RELEASED.value]
    settled += counts[DecisionStatus.EXPIRED.value]
    return counts[_COMMITTED] / settled if settled else 1.0


def _totals(counts: dict[str, int], by_team: list[dict], amount: float, clock: _Clock) -> dict:
    """Decisions by status, and money committed and held against the pacing plan to date."""
    committed = sum(r["committed"] for r in by_team)
    held = sum(r["held"] for r in by_team)
    plan_now = amount * clock.elapsed_days / clock.total_days
    return {
        "n_decisions": sum(counts.values()),
        **{f"n_{s.value}": counts[s.value] for s in DecisionStatus},
        "committed": _r(committed),
        "held": _r(held),
        "committed_and_held": _r(committed + held),
        "plan_to_date": _r(plan_now),
        "ahead_of_plan": _r(committed + held - plan_now),
        "plan_gap": _r(abs(committed + held - plan_now)),
        "elapsed_fraction": _r(clock.elapsed_days / clock.total_days, 4),
        "spent_fraction": _r((committed + held) / amount, 4) if amount > 0 else None,
    }


def _forecast(fc: SpendForecast, amount: float) -> dict:
    return {
        "expected": _r(fc.expected),
        "lo": _r(fc.lo),
        "hi": _r(fc.hi),
        "budget": amount,
        "unspent_expected": _r(amount - fc.expected),
        "rate_per_day": _r(fc.rate_per_day, 2),
        "remaining_days": _r(fc.remaining_days, 2),
        "commit_rate": _r(fc.commit_rate, 4),
        "capped": fc.capped,
    }


# ------------------------------------------------------------------------------ queries


def _budget(conn: Any, period: str, team: str | None, now: datetime) -> dict:
    """The budget the scope spends from: the team's own (else the company-wide one), or,
    for all teams, every budget of the period; at ``now``, in the one figure of the
    ledger (:func:`~makegood.store.ledger.live_budget_state`)."""
    rows = conn.execute(select(budgets).where(budgets.c.period == period)).all()
    if team is not None:
        own = [r for r in rows if r.team == team]
        rows = own or [r for r in rows if r.team == ""]
    if not rows:
        scope = f"team {team!r} nor company-wide" if team else "any team"
        raise BudgetNotFoundError(f"no budget for period {period!r} ({scope}): set one first")
    rows = sorted(rows, key=lambda r: r.team)
    states = [live_budget_state(conn, r, now) for r in rows]
    items: list[dict[str, Any]] = [
        {
            "team": b.team,
            "amount": float(b.amount),
            "committed": float(b.committed),
            "held": float(b.reserved),
            "available": float(b.available),
        }
        for b in states
    ]
    shared = team is not None and rows[0].team == ""
    return {
        "scope": "company-wide (shared with other teams)"
        if shared
        else (f"team {team}" if team else "all budgets of the period"),
        "shared": shared,
        "amount": float(sum(b.amount for b in states)),
        "committed": float(sum(b.committed for b in states)),
        "held": float(sum(b.reserved for b in states)),
        "available": float(sum(b.available for b in states)),
        "budgets": items,
        "_start": min(r.period_start for r in rows),
        "_end": max(r.period_end for r in rows),
    }


def _status_counts(conn: Any, in_scope: Any) -> dict[str, int]:
    rows = conn.execute(
        select(decisions.c.status, func.count()).where(in_scope).group_by(decisions.c.status)
    ).all()
    out = {s.value: 0 for s in DecisionStatus}
    out.update({status: int(n) for status, n in rows})
    return out


def _sums(conn: Any, in_scope: Any, column: Any, which: Any, cents: Any) -> dict:
    rows = conn.execute(
        select(column, func.count(), func.coalesce(func.sum(cents), 0))
        .where(in_scope, which)
        .group_by(column)
    ).all()
    return {key: (int(n), int(c)) for key, n, c in rows}


def _by(conn: Any, in_scope: Any, column: Any, name: str, held_now: Any) -> list[dict]:
    """Committed (final compensation) and held (reserved) money by ``column``."""
    committed = _sums(
        conn,
        in_scope,
        column,
        decisions.c.status == _COMMITTED,
        decisions.c.final_compensation_cents,
    )
    held = _sums(conn, in_scope, column, held_now, decisions.c.compensation_cents)
    return _rows(committed, held, name)


def _by_resolution(conn: Any, in_scope: Any, held_now: Any) -> list[dict]:
    """Committed money by the resolution given, held money by the one recommended."""
    committed = _sums(
        conn,
        in_scope,
        decisions.c.final_resolution,
        decisions.c.status == _COMMITTED,
        decisions.c.final_compensation_cents,
    )
    held = _sums(
        conn,
        in_scope,
        decisions.c.recommended_resolution,
        held_now,
        decisions.c.compensation_cents,
    )
    return _rows(committed, held, "resolution")


def _rows(committed: dict, held: dict, name: str) -> list[dict]:
    keys = sorted(set(committed) | set(held), key=lambda k: (k is None, k or ""))
    out = []
    for k in keys:
        nc, cc = committed.get(k, (0, 0))
        nh, ch = held.get(k, (0, 0))
        out.append(
            {
                name: NO_TEAM if k is None else k,
                "n_committed": nc,
                "committed": float(from_cents(cc)),
                "n_held": nh,
                "held": float(from_cents(ch)),
                "committed_and_held": float(from_cents(cc + ch)),
            }
        )
    return out


def _committed_by_day(conn: Any, in_scope: Any) -> dict[date, tuple[int, int]]:
    day = func.date(decisions.c.closed_at)
    rows = conn.execute(
        select(day, func.count(), func.coalesce(func.sum(decisions.c.final_compensation_cents), 0))
        .where(in_scope, decisions.c.status == _COMMITTED)
        .group_by(day)
    ).all()
    return {_day(d): (int(n), int(c)) for d, n, c in rows}


def _amounts(conn: Any, in_scope: Any, held_now: Any) -> tuple[np.ndarray, np.ndarray]:
    """Each committed decision's final compensation, and each held one's reserved amount."""
    committed = conn.execute(
        select(decisions.c.final_compensation_cents).where(
            in_scope, decisions.c.status == _COMMITTED
        )
    ).scalars()
    held = conn.execute(select(decisions.c.compensation_cents).where(in_scope, held_now)).scalars()
    return (
        np.array([float(from_cents(c)) for c in committed], dtype=float),
        np.array([float(from_cents(c)) for c in held], dtype=float),
    )


def _overridden(conn: Any, in_scope: Any) -> tuple[Sequence[Any], int]:
    """The decisions settled with another resolution than recommended, and the number
    released with nothing given (declined, counted apart)."""
    rows = conn.execute(
        select(
            decisions.c.team,
            decisions.c.recommended_resolution,
            decisions.c.final_resolution,
            decisions.c.compensation_cents,
            decisions.c.final_compensation_cents,
            decisions.c.override_reason,
            decisions.c.ranking,
        ).where(
            in_scope,
            decisions.c.status.in_([_COMMITTED, DecisionStatus.RELEASED.value]),
            decisions.c.final_resolution.is_not(None),
            decisions.c.final_resolution != decisions.c.recommended_resolution,
        )
    ).all()
    n_nothing = conn.execute(
        select(func.count()).where(
            in_scope,
            decisions.c.status == DecisionStatus.RELEASED.value,
            decisions.c.final_resolution.is_(None),
        )
    ).scalar_one()
    return rows, int(n_nothing)


def _with_outcomes(conn: Any, in_scope: Any) -> Sequence[Any]:
    """The decisions with an outcome recorded: the resolution given, its ranking, the outcome."""
    return conn.execute(
        select(
            decisions.c.final_resolution,
            decisions.c.ranking,
            outcomes.c.churned_90d,
            outcomes.c.satisfaction,
        )
        .join(outcomes, outcomes.c.decision_id == decisions.c.decision_id)
        .where(in_scope, decisions.c.final_resolution.is_not(None))
    ).all()


# --------------------------------------------------------------------------- the numbers


def _daily(
    per_day: dict[date, tuple[int, int]],
    start: datetime,
    end: datetime,
    now: datetime,
    amount: float,
) -> list[dict]:
    """One row per day of the period: committed that day (to date), cumulative, and the
    plan (the budget spread evenly, cumulative at the day's end)."""
    total = (end - start).total_seconds()
    out, cum = [], 0
    day = start.date()
    while datetime.combine(day, datetime.min.time()) < end:
        day_end = min(datetime.combine(day + timedelta(days=1), datetime.min.time()), end)
        past = datetime.combine(day, datetime.min.time()) <= now
        n, cents = per_day.get(day, (0, 0))
        cum += cents
        out.append(
            {
                "date": day.isoformat(),
                "n_committed": n if past else None,
                "committed": float(from_cents(cents)) if past else None,
                "cumulative_committed": float(from_cents(cum)) if past else None,
                "plan_cumulative": _r(amount * (day_end - start).total_seconds() / total),
            }
        )
        day += timedelta(days=1)
    # commits dated outside the period's days (a clock change, a late settle) still count
    outside = sum(c for d, (_n, c) in per_day.items() if not start.date() <= d < end.date())
    if outside and out:
        out[-1]["outside_period"] = float(from_cents(outside))
    return out


def _assumptions(team: str | None, budget: dict) -> list[str]:
    out = [
        "Committed: the final compensation of decisions agents applied (or overrode with "
        "compensation). Held: the compensation of recommendations still reserved (counted "
        "until applied, released or expired).",
        "Pacing plan: the budget spread evenly over the period, the target the service's "
        "pacing price steers to (spend share equal to time share).",
        "Forecast: committed plus held (times the share of settled reservations that were "
        "committed) plus the spend to come, a compound Poisson process with the period's "
        "rate of committed decisions and their amounts so far; 95% normal interval, "
        "capped at the budget (the ledger refuses spend beyond it).",
        "Overrides: decisions the agent settled with another resolution than recommended, "
        "with a reason (declined recommendations, where nothing was given, are counted "
        "apart). Their cost is the compensation beyond the "
        "recommendation's and the net value the model expected to lose (from the ranking "
        "served with the decision).",
        "Calibration: the prediction served for the resolution actually given against the "
        "outcome recorded; churn interval Wilson 95%, satisfaction normal 95%. Churn is "
        "known 90 days after closure, so early in a period few outcomes are in.",
        "Owed: compensation a guardrail floor required (a refund owed), given whatever the "
        "budget. Where the budget could not fund it, it was given beyond the budget: it is "
        "counted in committed and held but in no budget's totals.",
    ]
    if budget["shared"]:
        out.append(
            f"Team {team} has no budget of its own: it spends from the company-wide budget, "
            "shared with other teams; the plan and the forecast's cap are that budget's."
        )
    return out
