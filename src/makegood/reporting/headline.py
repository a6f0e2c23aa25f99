"""Page one of the finance report: each chosen budget and the recommended one, per period,
against today's practice.

:func:`headline` is the page's only builder. For each budget it reads the allocation, the
comparison with today's practice (:class:`~makegood.reporting.versus.Today`) and what
another ``extra_budget`` would buy; the recommended budget is where one more dollar stops
paying (:func:`~makegood.reporting.frontier.next_dollar_pays`).
"""

from __future__ import annotations

from makegood.contract.units import round_up_cents
from makegood.policy.budget import Allocation
from makegood.reporting.frontier import next_dollar_pays
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.outcomes import CandidateOutcomes
from makegood.reporting.sections import extra_budget_effect
from makegood.reporting.versus import Today

__all__ = ["MAX_PAGE_ONE_BUDGETS", "budget_answer", "headline"]

MAX_PAGE_ONE_BUDGETS = 3  # columns of page one's table besides the recommended budget


def budget_answer(
    cands: CandidateOutcomes,
    budget: float,
    basis: str,
    alloc: Allocation,
    alloc_extra: Allocation,
    extra_budget: float,
    versus: dict,
) -> dict:
    """One budget as page one answers it: what it spends and saves against today, what it
    buys against today (``versus``, from :meth:`Today.answers`), whether one more dollar
    still pays, and what ``extra_budget`` more would buy."""
    today_spend = versus["practice"]["spend"]
    return {
        "budget": _r(budget),
        "basis": basis,
        "spend": _r(alloc.spend),
        "saving": _r(today_spend - alloc.spend) if today_spend is not None else None,
        "shadow_price": _r(alloc.shadow_price, 6),
        "next_dollar_pays": next_dollar_pays(alloc.shadow_price),
        "makegood": versus["makegood"],
        "gain": versus["gain"],
        "history_budget": versus["history_budget"],
        "extra": extra_budget_effect(cands, budget, alloc, alloc_extra, extra_budget),
    }


def _shown(chosen: list[float]) -> list[float]:
    """The chosen budgets page one has room for: all, or the lowest, middle and highest."""
    if len(chosen) <= MAX_PAGE_ONE_BUDGETS:
        return chosen
    return [chosen[0], chosen[len(chosen) // 2], chosen[-1]]


def headline(
    cands: CandidateOutcomes,
    chosen: list[float],
    recommended: float,
    allocs: dict[float, Allocation],
    plus_extra: dict[float, float],
    extra_budget: float,
    answers: dict[float, dict],
    today: Today,
    period: dict,
    meta: dict,
    *,
    owed: float | None = None,
    short: dict[float, float] | None = None,
) -> dict:
    """The first page: the period, today's practice, and one answer per budget shown (the
    chosen ones page one has room for, then the recommended one).

    Args:
        chosen: the chosen budgets (per period), sorted.
        recommended: where one more dollar stops paying.
        allocs: the allocation at every budget (and at each plus the extra).
        plus_extra: budget -> budget plus the extra.
        answers: :meth:`Today.answers` at every budget.
        period: :meth:`PeriodPacing.summary`.
        owed: with guardrails, what their floors set aside at every budget
            (:attr:`CandidateOutcomes.owed`): page one says it, as ``owed``.
        short: with guardrails, each chosen budget that cannot pay what the floors need,
            and that need (page one says so, as ``short``, instead of giving figures).
    """
    shown = _shown(chosen)
    columns = [(b, "chosen") for b in shown]
    if recommended not in shown:
        columns.append((recommended, "recommended"))
    out = [
        budget_answer(cands, b, basis, allocs[b], allocs[plus_extra[b]], extra_budget, answers[b])
        for b, basis in columns
    ]
    rec = next(a for a in out if a["budget"] == _r(recommended) or a["basis"] == "recommended")
    page = {
        "period": period,
        "versus": today.versus,
        "method": today.method,
        "today": answers[recommended]["practice"],
        "chosen": [_r(b) for b in chosen],
        "answers": out,
        "budget": rec["budget"],
        "basis": "recommended",
        "recommended": _r(recommended),
        "model_version": meta["model_version"],
        "mlflow_run_id": meta["mlflow_run_id"],
    }
    if owed is not None:  # only with guardrails: without, page one is as it always was
        page["owed"] = _r(owed)
        page["short"] = [
            {"budget": _r(b), "needed": round_up_cents(n)} for b, n in (short or {}).items()
        ]
    return page
