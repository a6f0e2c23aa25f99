"""The efficient frontier: for each budget, what the budgeted allocation spends and buys.

Rows are built by :func:`frontier_table` from (budget, totals, shadow price) points: the
points of one batch (:func:`frontier_rows`) or of partitions added up
(:mod:`makegood.scaleout.report`), so the two give the same rows.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from makegood.contract.units import round_cents
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.outcomes import CandidateOutcomes, rounded_totals

__all__ = [
    "N_FRONTIER",
    "default_budgets",
    "frontier_grid",
    "frontier_rows",
    "frontier_table",
    "next_dollar_pays",
]

N_FRONTIER = 30  # default number of budgets from the minimum to the unconstrained spend
_PAYS_ABOVE = 1e-9  # a shadow price this small is rounding, not value


def next_dollar_pays(shadow_price: float | None) -> bool:
    """The report's one rule for where a dollar stops paying (page one, section 1, the
    slider): one more dollar of budget pays while the net value it adds, after paying the
    dollar itself, is above zero (the shadow price is positive). The least budget where it
    stops is the unconstrained spend, the report's recommended budget: there every
    resolution whose compensation returns at least its cost is already given.

    >>> next_dollar_pays(0.4), next_dollar_pays(0.0), next_dollar_pays(None)
    (True, False, False)
    """
    return shadow_price is not None and shadow_price > _PAYS_ABOVE


def _nice(x: float) -> float:
    """Round a budget to two significant figures, so default budgets read well."""
    if x <= 0:
        return 0.0
    mag = 10 ** (math.floor(math.log10(x)) - 1)
    return float(round(x / mag) * mag)


def frontier_rows(cands: CandidateOutcomes, budgets: ArrayLike) -> list[dict]:
    """The efficient frontier at ``budgets`` (sorted, duplicates dropped), one row each.

    Each row: ``budget``, the allocation's totals (``spend``, ``net_value`` and
    ``retained_value`` with ``_lo``/``_hi``, ``expected_churners``, ``mean_satisfaction``),
    ``churn_avoided`` (expected churners fewer than with the baseline for everyone),
    ``shadow_price`` (net value of one more dollar of budget at the margin) and the finite
    differences to the next row, ``marginal_net_per_dollar`` = d net value / d spend and
    ``marginal_retained_per_dollar`` = d retained value / d spend (None on the last row or
    where the spend does not change). Net value never falls as the budget grows.

    Raises:
        BudgetError: a budget below :attr:`CandidateOutcomes.min_spend`, or invalid arrays.
    """
    points = []
    for b, a in cands.allocations(budgets).items():
        t = cands.totals(a.choice)
        t["spend"], t["net_value"] = a.spend, a.value
        points.append((b, t, a.shadow_price))
    base_churners = cands.totals(cands.baseline_choice())["expected_churners"]
    return frontier_table(points, base_churners)


def frontier_table(
    points: list[tuple[float, dict[str, float], float]], base_churners: float
) -> list[dict]:
    """Frontier rows (see :func:`frontier_rows`) from (budget, totals, shadow price) per
    budget, in budget order, and the expected churners of the all-baseline choice: the
    rows of one batch, or of partitions added up."""
    rows: list[dict] = []
    raw: list[dict[str, float]] = []
    for b, t, shadow in points:
        rows.append(
            {
                "budget": _r(b),
                **rounded_totals(t),
                "churn_avoided": _r(base_churners - t["expected_churners"], 2),
                "shadow_price": _r(shadow, 6),
                "next_dollar_pays": next_dollar_pays(shadow),
            }
        )
        raw.append(t)
    for j, row in enumerate(rows):
        cur = raw[j]
        nxt = raw[j + 1] if j + 1 < len(raw) else None
        d_spend = (nxt["spend"] - cur["spend"]) if nxt else 0.0
        if nxt and d_spend > 1e-9:
            row["marginal_net_per_dollar"] = _r((nxt["net_value"] - cur["net_value"]) / d_spend, 6)
            row["marginal_retained_per_dollar"] = _r(
                (nxt["retained_value"] - cur["retained_value"]) / d_spend, 6
            )
        else:
            row["marginal_net_per_dollar"] = None
            row["marginal_retained_per_dollar"] = None
    return rows


def frontier_grid(
    min_spend: float, u_spend: float, n_frontier: int = N_FRONTIER, *, top: float | None = None
) -> list[float]:
    """``n_frontier`` budgets, whole cents, from the minimum to just above the
    unconstrained spend (where the rounding guard lets every upgrade fit), or to ``top``
    (with guardrails: where one more dollar stops paying)."""
    if top is None:
        top = u_spend + max(0.01, u_spend * 1e-6)
    top = max(top, min_spend)
    lo_cents = math.ceil(min_spend * 100 - 1e-6)
    even = np.linspace(lo_cents / 100, math.ceil(top * 100) / 100, max(int(n_frontier), 2))
    return [max(round_cents(x), min_spend) for x in even]


def default_budgets(min_spend: float, u_spend: float) -> list[float]:
    """Chosen budgets when none are given: 25% and 50% of the unconstrained spend."""
    return sorted({max(_nice(f * u_spend), min_spend) for f in (0.25, 0.5)})
