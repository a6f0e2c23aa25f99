"""The budget report's method section: the other comparisons (against the baseline for
everyone; what the guardrails cost against the same budget without them) and the
assumptions behind every number, in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.errors import GuardrailBudgetError
from makegood.policy.budget import Allocation, allocate
from makegood.policy.guardrails import (
    CAP,
    FLOOR,
    FLOOR_UNREACHABLE,
    Guardrails,
    Spent,
    guarded_allocate,
)
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.numbers import sum_ci
from makegood.reporting.outcomes import CandidateOutcomes
from makegood.reporting.pacing import PeriodPacing
from makegood.reporting.versus import Today

__all__ = ["assumptions", "guardrail_comparison", "method_section"]


def guardrail_comparison(
    catalog: Catalog,
    complaints: pd.DataFrame,
    raw: CandidateOutcomes,
    scale: float,
    chosen: list[float],
    spent: Spent | None,
    noun: str,
) -> dict | None:
    """What the catalog's guardrails cost at each chosen budget: makegood's budgeted
    choice with them (:func:`~makegood.policy.guardrails.guarded_allocate`, as batch
    ``recommend``) against the same budget without them (:func:`allocate`), per period.

    Both are found on the complaint set's own amounts (``raw``: floors and caps are in
    money as the customer gets it) at ``budget / scale`` and scaled back to the period,
    as :meth:`CandidateOutcomes.per_period` scales everything else.

    Returns:
        A comparison table (see :func:`method_section`), or None without guardrails. A
        budget too small for the floors shows no figures and says what they need.
    """
    if not catalog.guardrails:
        return None
    rails = Guardrails.of(catalog, complaints, spent)
    cells: dict[str, list] = {k: [] for k in ("without", "with", "cost", "floors", "floor", "cap")}
    short = []
    for b in chosen:
        budget = b / scale
        free = allocate(raw.value, raw.cost, raw.eligible, budget)
        try:
            g = guarded_allocate(raw.value, raw.cost, raw.eligible, budget, rails)
        except GuardrailBudgetError as exc:
            short.append(f"{_r(b)}: the floors need {_r(exc.needed * scale)}")
            for k in cells:
                cells[k].append(_r(free.value * scale) if k == "without" else None)
            continue
        decided = g.cut.decided_by
        cells["without"].append(_r(free.value * scale))
        cells["with"].append(_r(g.allocation.value * scale))
        cells["cost"].append(_r((free.value - g.allocation.value) * scale))
        cells["floors"].append(_r(g.cut.floor_spend * scale))
        cells["floor"].append(_r(float(np.isin(decided, (FLOOR, FLOOR_UNREACHABLE)).sum()) * scale))
        cells["cap"].append(_r(float((decided == CAP).sum()) * scale))
    note = (
        "makegood's budgeted choice at each budget with the catalog's guardrails (what is "
        "owed is paid; no customer above the cap in any window) against the same budget "
        f"without them, per {noun}. The cost is the net value given up; complaints are "
        f"counted per {noun}."
    )
    if short:
        note += (
            " Budgets below what the floors need have no guarded figures ("
            + "; ".join(short)
            + ")."
        )
    return {
        "id": "guardrails",
        "title": "What the guardrails cost",
        "note": note,
        "columns": [_r(b) for b in chosen],
        "rows": [
            {"label": "net value without guardrails", "kind": "money", "cells": cells["without"]},
            {"label": "net value with guardrails", "kind": "money", "cells": cells["with"]},
            {"label": "what the guardrails cost", "kind": "money", "cells": cells["cost"]},
            {
                "label": "set aside for the floors (owed)",
                "kind": "money",
                "cells": cells["floors"],
            },
            {"label": "complaints a floor decided", "kind": "count", "cells": cells["floor"]},
            {"label": "complaints a cap held back", "kind": "count", "cells": cells["cap"]},
        ],
    }


def method_section(
    cands: CandidateOutcomes,
    today: Today,
    allocs: dict[float, Allocation],
    chosen: list[float],
    base: dict[str, float],
    noun: str,
    guardrails: dict | None = None,
) -> dict:
    """The method section's other comparisons, one table each (``comparisons``; a table is
    ``id``, ``title``, ``note``, ``columns`` (the chosen budgets) and ``rows`` of ``label``,
    ``kind`` and one cell per column, a number or ``{value, lo, hi}``); ``guardrails``
    (:func:`guardrail_comparison`) is added when the catalog has any."""
    rows_idx = np.arange(cands.n)
    base_churn = cands.churn[:, cands.baseline_index]
    cells: dict[str, list] = {"kept": [], "retained": [], "net": []}
    for b in chosen:
        a = allocs[b]
        t = cands.totals(a.choice)
        diff = (base_churn - cands.churn[rows_idx, a.choice]) * cands.weight
        cells["kept"].append(sum_ci(diff, cands.n))
        cells["retained"].append(_r(t["retained_value"] - base["retained_value"]))
        cells["net"].append(_r(a.value - base["net_value"]))
    label = today.baseline_label
    comparisons = [
        {
            "id": "baseline_for_everyone",
            "title": f"Against “{label}” for every customer",
            "note": "The model's predictions for the same complaints, had every customer been "
            f"given “{label}” (the catalog's do-minimum resolution), per {noun}. "
            "Intervals: the spread of per-complaint differences (normal approximation).",
            "columns": [_r(b) for b in chosen],
            "rows": [
                {"label": "customers kept", "kind": "churners", "cells": cells["kept"]},
                {"label": "retained value gained", "kind": "money", "cells": cells["retained"]},
                {"label": "net value gained", "kind": "money", "cells": cells["net"]},
            ],
        }
    ]
    if guardrails is not None:
        comparisons.append(guardrails)
    return {"comparisons": comparisons, "versus_method": today.method}


def assumptions(meta: dict, pacing: PeriodPacing, practice: bool, extra: float) -> list[str]:
    p = meta["period"]
    out = [
        f"Every amount is per {p['noun']} ({p['days']:g} days): the complaint set's total "
        f"times {p['complaints_per_period']:,.1f} complaints per {p['noun']} (at "
        f"{p['volume_source']}'s {p['complaints_per_day']:,.2f} complaints a day) over its "
        f"{p['n_complaints']:,} complaints. Chosen budgets are amounts per {p['noun']}.",
        "Expected values are the model's per-candidate predictions for each complaint "
        f"(model {meta['model_version']}); outcomes themselves are random around them.",
        "Retained lifetime value = sum of lifetime_value x (1 - churn probability); net value "
        "= retained value - compensation - handling cost (contract section 3). Handling cost is "
        "not paid from the budget.",
        "At every budget the resolutions are makegood's budgeted choice (maximum total net "
        "value with compensation <= budget, exact up to one complaint).",
        "Intervals on the frontier's totals add up each complaint's 95% bounds: conservative "
        "(as if every complaint's error went the same way) and about the model, not outcome "
        "noise.",
        "Where a dollar stops paying (one rule, used on every page): one more dollar of budget "
        "pays while the net value it adds, after paying the dollar itself, is above zero "
        "(shadow price > 0). The least budget where it stops is the unconstrained spend: the "
        "recommended budget, where every resolution whose compensation returns at least its "
        "cost in retained value is given.",
        "Customers kept, and retained and net value gained, are always against today's "
        "practice (the history's logged resolutions) when there is a history, else against "
        f"the baseline resolution ({meta['baseline_label']}) for everyone; other comparisons "
        "are in the method section, labelled.",
        f"'Another {extra:,.0f}' is the budgeted allocation at budget + {extra:,.0f} minus "
        "the one at the budget (model predictions); it may spend less when there is nothing "
        "worth buying.",
        f"Pacing: complaints per day follow the mean daily volume of {pacing.volume_source} "
        f"by weekday ({pacing.data_days} days of data); the day's count is Poisson around it "
        "(the 10%-90% band); every complaint costs the average compensation per complaint "
        "at that budget.",
    ]
    if practice:
        out.append(
            "Today's practice: the history's logged resolutions and compensation. Its value is "
            "the realized net value (lifetime value kept if the customer did not churn, minus "
            "compensation and handling cost); makegood's value on the same complaints at the "
            "same budget per complaint is estimated off-policy (doubly robust; IPS and SNIPS "
            "in the method section) with 95% intervals from paired per-complaint terms, using "
            "the logged propensities (the model's where missing), clipped at 0.001."
        )
        if meta["separate_history"]:
            out.append(
                "The history is a different set of complaints from the batch: compare per "
                "complaint; the batch budget at the historical spend per complaint is shown."
            )
    return out
