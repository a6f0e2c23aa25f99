"""The finance budget-impact report: what the compensation fund buys, built in named stages.

For a set of complaints (a history replayed, or a forecast batch of new complaints) the
report answers, from the model's per-candidate predictions and makegood's budgeted policy:

* the efficient frontier (:mod:`~makegood.reporting.frontier`): for each budget B, the
  allocation that maximises total net value with compensation <= B, its spend, expected
  retained lifetime value ``sum_i LTV_i * (1 - churn(i, a_i))``, net value and mean
  satisfaction, with intervals, and the marginal value of one more dollar;
* at each chosen budget (:mod:`~makegood.reporting.sections`): spend and retained value by
  issue type, segment and resolution, churn avoided against the all-baseline policy, what
  another $10,000 would buy, the pacing of a period budget per day
  (:mod:`~makegood.reporting.pacing`), and (with a history) how it compares with current
  practice by off-policy evaluation (:mod:`~makegood.reporting.practice`);
* the method section (:mod:`~makegood.reporting.method`): other comparisons, among them
  what the catalog's guardrails cost against the same budget without them;
* page one (:mod:`~makegood.reporting.headline`).

:func:`budget_report` runs the stages: score the complaints
(:class:`~makegood.reporting.outcomes.CandidateOutcomes`), read the current practice, plan
every budget to allocate at (:func:`plan_budgets`), allocate them all at once, then build
the frontier, the sections, the thresholds, the meta and page one. Everything is computed
once into a :class:`BudgetReport` of plain, rounded, JSON-safe values; the HTML, JSON, CSV
and PDF are all rendered from ``BudgetReport.to_dict()`` so they cannot disagree.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from makegood.contract.units import round_cents
from makegood.errors import BudgetError
from makegood.modeling.bundle import Bundle
from makegood.modeling.predict import recorded_spent, score, spent_in
from makegood.modeling.support import support_lines
from makegood.policy.budget import Allocation, spend_at
from makegood.policy.guardrails import Guardrails
from makegood.reporting.frontier import N_FRONTIER, default_budgets, frontier_grid, frontier_rows
from makegood.reporting.headline import headline
from makegood.reporting.method import assumptions, guardrail_comparison, method_section
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.outcomes import CandidateOutcomes
from makegood.reporting.pacing import BudgetPeriod, PeriodPacing
from makegood.reporting.practice import CurrentPractice
from makegood.reporting.sections import chosen_section
from makegood.reporting.versus import Today
from makegood.version import __version__

__all__ = ["EXTRA_BUDGET", "BudgetPlan", "BudgetReport", "budget_report", "plan_budgets"]

EXTRA_BUDGET = 10_000.0  # "what would another $10,000 buy?"
_OUTCOME_COLUMNS = ("resolution", "compensation", "churned_90d")


@dataclass
class BudgetReport:
    """The whole report as plain, rounded, JSON-safe values (money in the catalog's currency).

    Attributes:
        meta: model version, MLflow run and store, data ranges, n complaints, currency, ...
        assumptions: every assumption behind the numbers, in words.
        thresholds: the budgets where one more dollar stops paying (see :func:`budget_report`).
        frontier: one row per budget (see :func:`frontier_rows`), with ``chosen`` flags.
        chosen: one section per chosen budget (breakdowns, churn avoided, +$10k, pacing).
        current_practice: the logged policy against makegood's at the same spend, or None.
        headline: the first page: the period, today's practice, and each chosen budget and
            the recommended one: what it buys against today's practice with intervals, what
            it saves, and what another $10,000 would buy (all per period).
        method: the method section's other comparisons (``comparisons``: a list of tables,
            one per way of comparing; more can be added) and the threshold rule.
        frontier_mix: complaints given each resolution (``meta.resolutions`` order) at each
            frontier row, for the what-if slider.
    """

    meta: dict
    assumptions: list[str]
    thresholds: dict
    frontier: list[dict]
    chosen: list[dict]
    current_practice: dict | None = None
    headline: dict = field(default_factory=dict)
    frontier_mix: list[list[int]] = field(default_factory=list)
    extra_budget: float = EXTRA_BUDGET
    dimensions: list[str] = field(default_factory=lambda: ["issue_type", "segment", "resolution"])
    method: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A deep copy as a JSON-safe dict (only str, int, float, bool, None, list, dict)."""
        return copy.deepcopy(
            {
                "meta": self.meta,
                "headline": self.headline,
                "assumptions": self.assumptions,
                "thresholds": self.thresholds,
                "extra_budget": self.extra_budget,
                "frontier": self.frontier,
                "frontier_mix": self.frontier_mix,
                "chosen": self.chosen,
                "current_practice": self.current_practice,
                "method": self.method,
            }
        )

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Tables for CSV: frontier, chosen, breakdown, extra_budget, pacing, current_practice,
        meta (key/value)."""
        chosen_rows, breakdown, extra, pacing = [], [], [], []
        for c in self.chosen:
            chosen_rows.append(
                {k: v for k, v in c.items() if not isinstance(v, dict | list)}
                | {f"vs_baseline_{k}": v for k, v in c["vs_baseline"].items()}
                | ({"ope_dr_" + k: v for k, v in c["ope_dr"].items()} if c.get("ope_dr") else {})
            )
            for dim in self.dimensions:
                for row in c["by_" + dim]:
                    key = row[dim]
                    rest = {k: v for k, v in row.items() if k != dim}
                    breakdown.append({"budget": c["budget"], "dimension": dim, "key": key, **rest})
            chosen_rows[-1].update(
                {
                    f"vs_today_{k}_{b}": v
                    for k, ci in c["vs_today"]["gain"].items()
                    for b, v in ci.items()
                }
            )
            extra.append({"budget": c["budget"], **c["extra"]})
            p = c["pacing"]
            for d in p["daily"]:
                pacing.append({"period_budget": p["period_budget"], **d})
        mix = pd.DataFrame(self.frontier_mix, columns=[f"n_{r}" for r in self.meta["resolutions"]])
        frames = {
            "frontier": pd.concat([pd.DataFrame(self.frontier), mix], axis=1),
            "chosen": pd.DataFrame(chosen_rows),
            "breakdown": pd.DataFrame(breakdown),
            "extra_budget": pd.DataFrame(extra),
            "pacing": pd.DataFrame(pacing),
            "meta": pd.DataFrame(
                [{"key": k, "value": v} for k, v in _flatten(self.meta).items()]
                + [{"key": f"threshold.{k}", "value": v} for k, v in self.thresholds.items()]
            ),
        }
        frames["headline"] = pd.DataFrame(
            [{"key": k, "value": v} for k, v in _flatten(self.headline).items()]
        )
        if self.current_practice is not None:
            frames["current_practice"] = pd.DataFrame(
                [{"key": k, "value": v} for k, v in _flatten(self.current_practice).items()]
            )
        return frames


def _flatten(d: dict, prefix: str = "") -> dict:
    out: dict = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, list):
            out[key] = "; ".join(str(x) for x in v)
        else:
            out[key] = v
    return out


def _has_outcomes(df: pd.DataFrame) -> bool:
    return all(c in df.columns for c in _OUTCOME_COLUMNS)


def _check_budgets(budgets: list[float] | None) -> list[float] | None:
    if budgets is None:
        return None
    out = []
    for b in budgets:
        try:
            x = float(b)
        except (TypeError, ValueError):
            raise BudgetError(f"budgets must be numbers. Got {b!r} instead.") from None
        if not math.isfinite(x) or x < 0:
            raise BudgetError(f"budgets must be finite amounts >= 0. Got {b!r} instead.")
        out.append(x)
    if not out:
        raise BudgetError("budgets must name at least one budget. Got an empty list instead.")
    return sorted(set(out))


def budget_report(
    bundle: Bundle,
    complaints_df: pd.DataFrame,
    budgets: list[float] | None = None,
    *,
    history_df: pd.DataFrame | None = None,
    period: str | BudgetPeriod = "month",
    period_days: int | None = None,
    period_start: str | datetime | pd.Timestamp | None = None,
    n_frontier: int = N_FRONTIER,
    extra_budget: float = EXTRA_BUDGET,
    source: str | None = None,
) -> BudgetReport:
    """Build the budget-impact report of ``complaints_df`` at the chosen ``budgets``.

    Every amount is per budget ``period``: the complaint set's totals times complaints per
    period over complaints in the set (:meth:`PeriodPacing.scale`); the chosen budgets are
    amounts per period.

    Args:
        bundle: the model (its catalog decides costs and eligibility).
        complaints_df: normalized complaints (contract frame). A history frame (with
            ``resolution``, ``compensation``, ``churned_90d``) is *replayed*: it is also the
            current practice that makegood is compared with.
        budgets: the chosen budgets per period (each gets a full section). Default: today's
            spend per period when there is a current practice to compare with, else 25%
            and 50% of the unconstrained optimum spend.
        history_df: a separate contract history to compare current practice with (for a
            forecast batch); its per-complaint figures are what compares with the batch.
        period: ``month`` (default), ``quarter``, ``year`` or ``days:N``.
        period_days: shorthand for ``period=f"days:{period_days}"``.
        period_start: first day of the period's day-by-day plan (default: the day after a
            replayed history, else the batch's first day).
        n_frontier: number of evenly spaced budgets from the minimum to the unconstrained spend.
        extra_budget: the "another $X" of the report (per period).
        source: where the complaints came from (a path), for the first page.

    Returns:
        :class:`BudgetReport`.

    Raises:
        BudgetError: a budget is negative, not a number, or below the minimum spend; an
            unknown period.
    """
    chosen_in = _check_budgets(budgets)
    if period_days is not None:
        if int(period_days) != period_days or period_days < 1:
            raise BudgetError(f"period_days must be a whole number >= 1. Got {period_days!r}.")
        period = f"days:{int(period_days)}"
    budget_period = BudgetPeriod.parse(period)
    if complaints_df.empty:
        raise BudgetError("the complaint set is empty: nothing to report on")
    replay = history_df is None and _has_outcomes(complaints_df)
    hist = complaints_df if replay else history_df

    s = score(bundle, complaints_df)
    cat = bundle.catalog
    # what the caps count as already given: a replayed history is its own (its rows
    # are the batch), else --history, else the bundle's memory (as batch recommend)
    spent = None
    if cat.caps and not replay:
        spent = spent_in(history_df) if history_df is not None else recorded_spent(bundle)
    # with guardrails every allocation of the report is the guarded one (as recommend)
    rails = Guardrails.of(cat, complaints_df, spent) if cat.guardrails else None
    pacing = PeriodPacing.build(complaints_df, history_df, budget_period, period_start)
    raw = CandidateOutcomes.from_scores(s).with_guardrails(rails)
    cands = raw.per_period(pacing.scale(raw.n))
    practice = None
    if hist is not None:
        hist_rails = Guardrails.of(cat, hist) if cat.guardrails else None
        practice = CurrentPractice.build(bundle, hist, s if replay else None, hist_rails)
    today = Today(cands, practice, cat.resolutions[cat.baseline_index].label)
    plan = plan_budgets(cands, chosen_in, practice, n_frontier, extra_budget)
    allocs = cands.allocations(plan.to_allocate)
    answers = today.answers(allocs)

    rows, mix = _frontier_section(cands, plan, allocs, answers)
    base_totals = cands.totals(cands.baseline_choice())
    ope_replay = practice if replay else None
    sections = [
        chosen_section(
            bundle,
            complaints_df,
            cands,
            b,
            allocs[b],
            allocs[plan.plus_extra(b)],
            extra_budget,
            base_totals,
            pacing,
            ope_replay,
            answers[b],
        )
        for b in plan.chosen
    ]
    meta = _meta(bundle, complaints_df, hist, replay, history_df is not None, source, cands)
    meta["period"] = pacing.summary(raw.n)
    page_one = headline(
        cands,
        plan.chosen,
        plan.headline,
        allocs,
        {b: plan.plus_extra(b) for b in {*plan.chosen, plan.headline}},
        extra_budget,
        answers,
        today,
        meta["period"],
        meta,
        owed=cands.owed,
        short={b: cands.min_spend for b in plan.short},
    )
    return BudgetReport(
        meta=meta,
        headline=page_one,
        frontier_mix=mix,
        assumptions=assumptions(meta, pacing, practice is not None, extra_budget),
        thresholds=_thresholds(cands, plan, allocs),
        frontier=rows,
        chosen=sections,
        current_practice=practice.summary(cands.n_period, replay) if practice is not None else None,
        extra_budget=round_cents(extra_budget),
        method=method_section(
            cands,
            today,
            allocs,
            plan.chosen,
            base_totals,
            budget_period.noun,
            guardrail_comparison(
                cat,
                complaints_df,
                raw,
                pacing.scale(raw.n),
                sorted({*plan.chosen, *plan.short}),
                spent,
                budget_period.noun,
            ),
        )
        | {"log_support": support_lines(bundle.meta)},
    )


# ------------------------------------------------------------------------------ stages


@dataclass(frozen=True)
class BudgetPlan:
    """Every budget the report allocates at, each a whole number of cents (so the tables'
    keys are exact).

    Attributes:
        chosen: the chosen budgets, sorted; each gets a section.
        basis: "chosen" (one budget was given: page one shows it) or "recommended".
        headline: the recommended budget (the grid's top, where one more dollar stops
            paying: :func:`~makegood.reporting.frontier.next_dollar_pays`).
        grid: ``n_frontier`` evenly spaced budgets from the minimum to the unconstrained spend.
        frontier: the frontier's rows: the grid, the chosen budgets, each plus the extra
            budget, and the historical spend per complaint when there is a history.
        min_spend, unconstrained_spend: what the cheapest and the best choice cost (with
            guardrails, the cheapest and the best they allow).
        extra_budget: the "another $X" of the report.
        short: chosen budgets that cannot pay what the guardrails' floors require (at
            least ``min_spend``): page one says so instead of giving figures.
    """

    chosen: list[float]
    basis: str
    headline: float
    grid: list[float]
    frontier: list[float]
    min_spend: float
    unconstrained_spend: float
    extra_budget: float
    short: list[float] = field(default_factory=list)

    def plus_extra(self, budget: float) -> float:
        return round_cents(budget + self.extra_budget)

    @property
    def to_allocate(self) -> list[float]:
        return list(self.frontier)


def plan_budgets(
    cands: CandidateOutcomes,
    chosen_in: list[float] | None,
    practice: CurrentPractice | None,
    n_frontier: int = N_FRONTIER,
    extra_budget: float = EXTRA_BUDGET,
) -> BudgetPlan:
    """The budgets of the report (see :class:`BudgetPlan`).

    Budgets are per period when ``cands`` are (:meth:`CandidateOutcomes.per_period`).
    Without ``chosen_in``, the chosen budget is the historical spend per complaint times
    the complaints the set stands for when there is a current practice, else
    :func:`default_budgets`. Page one's budget is always the recommended one; the chosen
    budgets stand beside it.

    With guardrails (``cands.guarded``) the minimum and unconstrained spends are the
    guarded ones, so the grid and the recommended budget (its top) never go below what
    the floors need; a chosen budget below that need goes to ``short``.

    Raises:
        BudgetError: a chosen budget below the minimum spend without guardrails.
    """
    min_spend = cands.min_spend
    least = cands.unguarded_min_spend  # == min_spend without guardrails
    u_spend = cands.unconstrained_spend
    if chosen_in is not None:
        chosen = chosen_in
    elif practice is not None:
        chosen = [round_cents(max(practice.same_spend_budget(cands.n_period), least))]
    else:
        chosen = default_budgets(min_spend, u_spend)
    chosen = sorted({round_cents(b) for b in chosen})
    low = [b for b in chosen if b < least - 1e-9]
    if low:
        raise BudgetError(
            f"budget {low[0]:.2f} is below the minimum spend {least:.2f} (every "
            "complaint's cheapest eligible resolution). Choose budgets >= the minimum spend."
        )
    short = [b for b in chosen if b < min_spend - 1e-9]
    chosen = [b for b in chosen if b not in short]
    grid = frontier_grid(min_spend, u_spend, n_frontier, top=cands.stops_paying)
    head = grid[-1]
    extras = [round_cents(b + extra_budget) for b in {*chosen, head}]
    same_spend = (
        [round_cents(practice.same_spend_budget(cands.n_period))] if practice is not None else []
    )
    same_spend = [b for b in same_spend if b >= min_spend - 1e-9]  # guarded: may be short
    return BudgetPlan(
        chosen=chosen,
        basis="recommended",
        headline=head,
        grid=grid,
        frontier=sorted({*map(float, grid), *chosen, *extras, *same_spend}),
        min_spend=min_spend,
        unconstrained_spend=u_spend,
        extra_budget=extra_budget,
        short=short,
    )


def _frontier_section(
    cands: CandidateOutcomes,
    plan: BudgetPlan,
    allocs: dict[float, Allocation],
    answers: dict[float, dict],
) -> tuple[list[dict], list[list[int]]]:
    """The frontier's rows, the chosen ones flagged, each with what it buys against today's
    practice (``vs_today``: the gains, and today's spend minus the row's as ``saving``),
    and the resolution mix of each row."""
    rows = frontier_rows(cands, plan.frontier)
    chosen_set = {_r(b) for b in plan.chosen}
    for row, b in zip(rows, plan.frontier, strict=True):
        row["chosen"] = row["budget"] in chosen_set
        a = answers[b]
        row["vs_today"] = a["gain"]
        row["saving"] = _r(a["practice"]["spend"] - row["spend"])
    k = cands.handling_cost.size
    mix = [np.bincount(allocs[b].choice, minlength=k).astype(int).tolist() for b in plan.frontier]
    return rows, mix


def _thresholds(
    cands: CandidateOutcomes, plan: BudgetPlan, allocs: dict[float, Allocation]
) -> dict[str, float | None]:
    """Where one more dollar stops paying (``stops_paying``: the unconstrained spend, the
    recommended budget), what it buys there, and for the method section the budget beyond
    which a dollar adds less than a dollar of net value (shadow price below 1; with
    guardrails, the least budget of the frontier where the guarded allocation's is: to
    within the frontier's step)."""
    u_alloc = allocs[max(plan.frontier)]
    if cands.guarded:
        below_one = min((b for b in plan.frontier if allocs[b].shadow_price < 1.0), default=None)
    else:
        below_one = spend_at(cands.value, cands.cost, cands.eligible, 1.0)
    return {
        "min_spend": _r(plan.min_spend),
        "stops_paying": _r(plan.unconstrained_spend),
        "recommended_budget": _r(plan.headline),
        "shadow_price_below_one_budget": _r(below_one),
        "unconstrained_spend": _r(plan.unconstrained_spend),
        "unconstrained_net_value": _r(u_alloc.value),
        "unconstrained_retained_value": _r(cands.totals(u_alloc.choice)["retained_value"]),
    }


def _meta(
    bundle: Bundle,
    df: pd.DataFrame,
    hist: pd.DataFrame | None,
    replay: bool,
    separate_history: bool,
    source: str | None,
    cands: CandidateOutcomes,
) -> dict:
    m = bundle.meta
    when = pd.to_datetime(df["opened_at"])
    data_range = m.get("data_range")
    return {
        "title": "Compensation budget impact",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "makegood_version": __version__,
        "model_version": bundle.version,
        "model_trained_at": m.get("trained_at"),
        "mlflow_run_id": m.get("mlflow_run_id"),
        "mlflow_tracking_uri": m.get("tracking_uri"),
        "training_data_range": list(data_range) if data_range else None,
        "complaint_set": "history replayed" if replay else "batch of new complaints",
        "complaints_source": source,
        "n_complaints": cands.n,
        "complaints_from": str(when.min()),
        "complaints_to": str(when.max()),
        "has_current_practice": hist is not None,
        "separate_history": separate_history,
        "currency": bundle.catalog.currency,
        "baseline": bundle.catalog.baseline,
        "resolutions": list(bundle.catalog.ids),
        "resolution_labels": [r.label for r in bundle.catalog.resolutions],
        "baseline_label": bundle.catalog.resolutions[bundle.catalog.baseline_index].label,
    }
