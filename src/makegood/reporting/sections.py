"""One section of the report per chosen budget (per period): totals, what it buys against
today's practice, breakdowns by issue type, segment and resolution, what more budget would
buy, pacing, and for the method section the comparison with the baseline for everyone and
(on a replayed history) the off-policy value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from makegood.contract.units import fsum
from makegood.modeling.bundle import Bundle
from makegood.policy.budget import Allocation
from makegood.reporting.frontier import next_dollar_pays
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.numbers import sum_ci
from makegood.reporting.outcomes import CandidateOutcomes, allocated_totals, rounded_totals
from makegood.reporting.pacing import PeriodPacing
from makegood.reporting.practice import CurrentPractice

__all__ = ["chosen_section", "extra_budget_effect", "group_rows"]


def group_rows(
    keys: np.ndarray,
    order: list[str],
    dim: str,
    cands: CandidateOutcomes,
    choice: np.ndarray,
    base_churn: np.ndarray,
) -> list[dict]:
    rows = np.arange(cands.n)
    spend = cands.cost[rows, choice]
    churn = cands.churn[rows, choice]
    retained = cands.lifetime_value * (1.0 - churn)
    value = cands.value[rows, choice]
    out = []
    for k in order:
        m = keys == k
        out.append(
            {
                dim: str(k),
                "n": int(m.sum()),
                "n_per_period": _r(m.sum() * cands.weight, 1),
                "spend": _r(fsum(spend[m])),
                "retained_value": _r(fsum(retained[m])),
                "net_value": _r(fsum(value[m])),
                "churn_avoided": _r(fsum(base_churn[m] - churn[m]) * cands.weight, 2),
            }
        )
    return out


def chosen_section(
    bundle: Bundle,
    df: pd.DataFrame,
    cands: CandidateOutcomes,
    budget: float,
    alloc: Allocation,
    alloc_extra: Allocation,
    extra_budget: float,
    base: dict[str, float],
    pacing_in: PeriodPacing,
    practice: CurrentPractice | None,
    versus_today: dict,
) -> dict:
    """The section of one chosen ``budget`` (per period); ``versus_today`` is its
    :meth:`~makegood.reporting.versus.Today.answers` entry."""
    t = cands.totals(alloc.choice)
    t["spend"], t["net_value"] = alloc.spend, alloc.value
    base_churn = cands.churn[:, cands.baseline_index]
    ids = list(bundle.catalog.ids)
    section: dict = {
        "budget": _r(budget),
        **rounded_totals(t),
        "unspent": _r(budget - alloc.spend),
        "shadow_price": _r(alloc.shadow_price, 6),
        "n_complaints": cands.n,
        "vs_baseline": {
            "baseline": bundle.catalog.baseline,
            "churn_avoided": _r(base["expected_churners"] - t["expected_churners"], 2),
            **{
                f"churn_avoided_{k}": v
                for k, v in sum_ci(
                    (base_churn - cands.churn[np.arange(cands.n), alloc.choice]) * cands.weight,
                    cands.n,
                ).items()
                if k != "value"
            },
            "retained_value_gained": _r(t["retained_value"] - base["retained_value"]),
            "net_value_gained": _r(t["net_value"] - base["net_value"]),
            "satisfaction_gained": _r(t["mean_satisfaction"] - base["mean_satisfaction"], 3),
        },
    }
    for dim in ("issue_type", "segment"):
        keys = df[dim].astype(str).to_numpy()
        order = sorted(set(keys.tolist()))
        section["by_" + dim] = group_rows(keys, order, dim, cands, alloc.choice, base_churn)
    res_keys = np.asarray(ids, dtype=object)[alloc.choice]
    section["by_resolution"] = group_rows(
        res_keys, ids, "resolution", cands, alloc.choice, base_churn
    )

    section["vs_today"] = versus_today
    today_spend = versus_today["practice"]["spend"]
    section["saving"] = _r(today_spend - alloc.spend) if today_spend is not None else None
    section["next_dollar_pays"] = next_dollar_pays(alloc.shadow_price)
    section["extra"] = extra_budget_effect(cands, budget, alloc, alloc_extra, extra_budget)
    section["pacing"] = pacing_in.pacing(budget, alloc.spend)
    if practice is not None:
        section["ope_dr"] = practice.ope_of(alloc.choice, cands.n)
    else:
        section["ope_dr"] = None
    return section


def extra_budget_effect(
    cands: CandidateOutcomes,
    budget: float,
    alloc: Allocation,
    alloc_extra: Allocation,
    amount: float,
) -> dict:
    """What ``amount`` more than ``budget`` (allocated as ``alloc``) buys."""
    t = allocated_totals(cands, alloc)
    te = cands.totals(alloc_extra.choice)
    te["spend"], te["net_value"] = alloc_extra.spend, alloc_extra.value
    d_spend = te["spend"] - t["spend"]
    return {
        "budget": _r(budget + amount),
        "amount": _r(amount),
        "extra_spend": _r(d_spend),
        "extra_net_value": _r(te["net_value"] - t["net_value"]),
        "extra_retained_value": _r(te["retained_value"] - t["retained_value"]),
        "churners_avoided": _r(t["expected_churners"] - te["expected_churners"], 2),
        "extra_mean_satisfaction": _r(te["mean_satisfaction"] - t["mean_satisfaction"], 3),
        "n_changed": int(np.sum(alloc_extra.choice != alloc.choice)),
        "retained_per_dollar": _r(
            (te["retained_value"] - t["retained_value"]) / d_spend if d_spend > 1e-9 else None,
            4,
        ),
    }
