"""The report's one baseline: what a budget buys against today's practice.

With a history, today's practice is the logged policy: makegood's allocation at the same
budget per complaint on the history is valued off-policy against what was done
(:meth:`CurrentPractice.versus`, doubly robust with paired intervals). Without one, the
comparison is with the catalog's baseline resolution for everyone, from the model alone.
Every "customers kept" of the report's pages comes from here; other comparisons (the
baseline for everyone, the model's own estimates, IPS) are the method section's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from makegood.contract.units import round_cents
from makegood.policy.budget import Allocation
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.numbers import sum_ci
from makegood.reporting.outcomes import CandidateOutcomes
from makegood.reporting.practice import VERSUS_PRACTICE_METHOD, CurrentPractice

__all__ = ["TODAY", "VERSUS_BASELINE_METHOD", "Today"]

TODAY = "today's practice"
VERSUS_BASELINE_METHOD = (
    "model predictions; 95% intervals from the spread of per-complaint differences (normal "
    "approximation): the variation between batches like this one, not the model's error"
)


@dataclass
class Today:
    """Today's practice (or the baseline for everyone), and what budgets buy against it.

    ``cands`` are the complaint set's outcomes per budget period
    (:meth:`CandidateOutcomes.per_period`); every total is per period.
    """

    cands: CandidateOutcomes
    practice: CurrentPractice | None
    baseline_label: str

    @property
    def versus(self) -> str:
        """How the comparison is named on the page."""
        if self.practice is not None:
            return TODAY
        return f"{self.baseline_label} for everyone"

    @property
    def method(self) -> str:
        return VERSUS_PRACTICE_METHOD if self.practice is not None else VERSUS_BASELINE_METHOD

    def history_budgets(self, budgets: list[float]) -> dict[float, float]:
        """Each budget as the history's budget at the same budget per complaint."""
        assert self.practice is not None
        p, c = self.practice, self.cands
        lowest = p.cands.min_spend
        return {b: max(round_cents(b / c.n_period * p.n), lowest) for b in budgets}

    def answers(self, allocs: dict[float, Allocation]) -> dict[float, dict]:
        """For each budget of ``allocs``: today's levels, makegood's and the gain (retained
        value, customers kept, net value, each with its 95% interval), per period."""
        if self.practice is None:
            return {b: self._versus_baseline(a) for b, a in allocs.items()}
        hist = self.history_budgets(list(allocs))
        hist_allocs = self.practice.cands.allocations(sorted(set(hist.values())))
        out = {}
        for b in allocs:
            v = self.practice.versus(hist_allocs[hist[b]].choice, self.cands.n_period)
            out[b] = {"history_budget": _r(hist[b]), **_plain(v)}
        return out

    def _versus_baseline(self, alloc: Allocation) -> dict:
        c = self.cands
        rows = np.arange(c.n)
        base = c.baseline_choice()
        w = c.weight  # counts of customers per period (money is already per period)
        churn_mg, churn_base = c.churn[rows, alloc.choice], c.churn[rows, base]
        kept_mg = c.lifetime_value * (1.0 - churn_mg)
        net_mg, net_base = c.value[rows, alloc.choice], c.value[rows, base]
        bt = c.totals(base)
        return {
            "history_budget": None,
            "practice": {
                "spend": _r(bt["spend"]),
                "retained_value": _r(bt["retained_value"]),
                "customers_lost": _r(bt["expected_churners"], 2),
                "net_value": _r(bt["net_value"]),
            },
            "makegood": {
                "spend": _r(alloc.spend),
                "retained_value": sum_ci(kept_mg, c.n),
                "customers_lost": sum_ci(churn_mg * w, c.n),
                "net_value": sum_ci(net_mg, c.n),
            },
            "gain": {
                "retained_value": sum_ci(c.lifetime_value * (churn_base - churn_mg), c.n),
                "customers_kept": sum_ci((churn_base - churn_mg) * w, c.n),
                "net_value": sum_ci(net_mg - net_base, c.n),
            },
        }


def _plain(v: dict) -> dict:
    """:meth:`CurrentPractice.versus` in the page's words (customers lost and kept)."""
    return {
        "practice": {**_rename(v["practice"])},
        "makegood": {**_rename(v["makegood"])},
        "gain": {
            "retained_value": v["gain"]["retained_value"],
            "customers_kept": v["gain"]["churn_avoided"],
            "net_value": v["gain"]["net_value"],
        },
    }


def _rename(levels: dict) -> dict:
    return {("customers_lost" if k == "churners" else k): x for k, x in levels.items()}
