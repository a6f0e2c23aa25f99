"""The numbers of the finance budget-impact report: what the compensation fund buys.

For a set of complaints (a history replayed, or a forecast batch of new complaints) the
report answers, from the model's per-candidate predictions and makegood's budgeted policy:

* the efficient frontier: for each budget B, the allocation that maximises total net value
  with compensation <= B, its spend, expected retained lifetime value
  ``sum_i LTV_i * (1 - churn(i, a_i))``, net value and mean satisfaction, with intervals,
  and the marginal value of one more dollar (the shadow price and a finite difference);
* at each chosen budget: spend and retained value by issue type, segment and resolution,
  churn avoided against the all-baseline policy, what another $10,000 would buy, the pacing
  of a period budget per day, and (with a history) how it compares with current practice
  by off-policy evaluation.

Everything is computed once into a :class:`BudgetReport` of plain, rounded, JSON-safe
values; the HTML, JSON, CSV and PDF are all rendered from ``BudgetReport.to_dict()`` so
they cannot disagree.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from makegood.contract.units import round_cents
from makegood.errors import BudgetError
from makegood.modeling.bundle import Bundle
from makegood.modeling.evaluate import Z95, dr_terms, off_policy_estimates, realized_reward
from makegood.modeling.predict import Scores, score
from makegood.policy.budget import Allocation, frontier, spend_at
from makegood.reporting.numbers import report_round as _r

__all__ = [
    "EXTRA_BUDGET",
    "N_FRONTIER",
    "BudgetReport",
    "Candidates",
    "budget_report",
    "default_budgets",
    "frontier_grid",
    "frontier_rows",
    "frontier_table",
]

EXTRA_BUDGET = 10_000.0  # "what would another $10,000 buy?"
N_FRONTIER = 30  # default number of budgets from the minimum to the unconstrained spend
_OUTCOME_COLUMNS = ("resolution", "compensation", "churned_90d")
_MIN_PACING_SPAN_DAYS = 7  # below this, a batch's own dates say little about daily volume
_PACING_QUANTILES = (0.1, 0.9)


# ----------------------------------------------------------------------------- helpers


def _fsum(x: np.ndarray) -> float:
    return math.fsum(np.asarray(x, dtype=float).ravel().tolist())


def _sum_ci(terms: np.ndarray, n_total: float, nd: int = 2) -> dict:
    """Total over ``n_total`` units of per-unit ``terms``, with a normal 95% interval.

    ``value = n_total * mean(terms)``, ``half = Z95 * n_total * sd(terms) / sqrt(n)``.

    >>> _sum_ci(np.array([1.0, 2.0, 3.0]), 3)
    {'value': 6.0, 'lo': 2.61, 'hi': 9.39}
    """
    t = np.asarray(terms, dtype=float)
    m = float(t.mean()) if len(t) else math.nan
    half = Z95 * float(t.std(ddof=1)) / math.sqrt(len(t)) if len(t) > 1 else math.nan
    return {
        "value": _r(m * n_total, nd),
        "lo": _r((m - half) * n_total, nd),
        "hi": _r((m + half) * n_total, nd),
    }


def _nice(x: float) -> float:
    """Round a budget to two significant figures, so default budgets read well."""
    if x <= 0:
        return 0.0
    mag = 10 ** (math.floor(math.log10(x)) - 1)
    return float(round(x / mag) * mag)


# -------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidates:
    """Per-candidate predictions of a complaint set, the inputs of every report number.

    Arrays are (n, K) in catalog order unless noted; ``value`` is the net value the policy
    maximises (``LTV * (1 - churn) - compensation - handling_cost``).
    """

    value: np.ndarray
    value_lo: np.ndarray
    value_hi: np.ndarray
    cost: np.ndarray
    eligible: np.ndarray
    churn: np.ndarray
    churn_lo: np.ndarray
    churn_hi: np.ndarray
    satisfaction: np.ndarray
    lifetime_value: np.ndarray  # (n,)
    handling_cost: np.ndarray  # (K,)
    baseline_index: int

    @classmethod
    def from_scores(cls, s: Scores) -> Candidates:
        return cls(
            value=s.net_value,
            value_lo=s.net_value_lo,
            value_hi=s.net_value_hi,
            cost=s.compensation,
            eligible=s.eligible,
            churn=s.churn_prob,
            churn_lo=s.churn_lo,
            churn_hi=s.churn_hi,
            satisfaction=s.satisfaction,
            lifetime_value=s.lifetime_value,
            handling_cost=np.asarray(s.handling_cost, dtype=float),
            baseline_index=int(s.baseline_index),
        )

    @property
    def n(self) -> int:
        return int(self.value.shape[0])

    @property
    def min_spend(self) -> float:
        """Spend of every complaint's cheapest eligible resolution (the least any budget needs)."""
        return _fsum(np.where(self.eligible, self.cost, np.inf).min(axis=1)) if self.n else 0.0

    def allocations(self, budgets: ArrayLike) -> dict[float, Allocation]:
        """The budgeted allocation at each budget (one upgrade list for all of them)."""
        bs = sorted({float(b) for b in np.asarray(budgets, dtype=float).ravel()})
        return dict(zip(bs, frontier(self.value, self.cost, self.eligible, bs), strict=True))

    def totals(self, choice: np.ndarray) -> dict[str, float]:
        """Unrounded totals of a choice (one resolution index per complaint)."""
        rows = np.arange(self.n)
        ltv = self.lifetime_value
        churn = self.churn[rows, choice]
        return {
            "spend": _fsum(self.cost[rows, choice]),
            "net_value": _fsum(self.value[rows, choice]),
            "net_value_lo": _fsum(self.value_lo[rows, choice]),
            "net_value_hi": _fsum(self.value_hi[rows, choice]),
            "retained_value": _fsum(ltv * (1.0 - churn)),
            # a higher churn bound gives the lower retained value
            "retained_value_lo": _fsum(ltv * (1.0 - self.churn_hi[rows, choice])),
            "retained_value_hi": _fsum(ltv * (1.0 - self.churn_lo[rows, choice])),
            "expected_churners": _fsum(churn),
            "expected_churners_lo": _fsum(self.churn_lo[rows, choice]),
            "expected_churners_hi": _fsum(self.churn_hi[rows, choice]),
            "mean_satisfaction": float(np.mean(self.satisfaction[rows, choice]))
            if self.n
            else math.nan,
            "handling_cost": _fsum(self.handling_cost[choice]),
        }

    def baseline_choice(self) -> np.ndarray:
        return np.full(self.n, self.baseline_index, dtype=np.int64)


_TOTAL_DIGITS = {
    "expected_churners": 2,
    "expected_churners_lo": 2,
    "expected_churners_hi": 2,
    "mean_satisfaction": 3,
}


def _rounded(totals: dict[str, float]) -> dict[str, float | None]:
    return {k: _r(v, _TOTAL_DIGITS.get(k, 2)) for k, v in totals.items()}


def frontier_rows(cands: Candidates, budgets: ArrayLike) -> list[dict]:
    """The efficient frontier at ``budgets`` (sorted, duplicates dropped), one row each.

    Each row: ``budget``, the allocation's totals (``spend``, ``net_value`` and
    ``retained_value`` with ``_lo``/``_hi``, ``expected_churners``, ``mean_satisfaction``),
    ``churn_avoided`` (expected churners fewer than with the baseline for everyone),
    ``shadow_price`` (net value of one more dollar of budget at the margin) and the finite
    differences to the next row, ``marginal_net_per_dollar`` = d net value / d spend and
    ``marginal_retained_per_dollar`` = d retained value / d spend (None on the last row or
    where the spend does not change). Net value never falls as the budget grows.

    Raises:
        BudgetError: a budget below :attr:`Candidates.min_spend`, or invalid arrays.
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
                **_rounded(t),
                "churn_avoided": _r(base_churners - t["expected_churners"], 2),
                "shadow_price": _r(shadow, 6),
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


def frontier_grid(min_spend: float, u_spend: float, n_frontier: int = N_FRONTIER) -> list[float]:
    """``n_frontier`` budgets, whole cents, from the minimum to just above the
    unconstrained spend (where the rounding guard lets every upgrade fit)."""
    top = max(u_spend + max(0.01, u_spend * 1e-6), min_spend)
    lo_cents = math.ceil(min_spend * 100 - 1e-6)
    even = np.linspace(lo_cents / 100, math.ceil(top * 100) / 100, max(int(n_frontier), 2))
    return [max(round_cents(x), min_spend) for x in even]


def default_budgets(min_spend: float, u_spend: float) -> list[float]:
    """Chosen budgets when none are given: 25% and 50% of the unconstrained spend."""
    return sorted({max(_nice(f * u_spend), min_spend) for f in (0.25, 0.5)})


# ------------------------------------------------------------------------------ report


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
        headline: the first page: one budget (recommended, or the one chosen), what it buys
            against current practice (or the baseline) with intervals, and another $10,000.
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
    period_days: int | None = None,
    period_start: str | datetime | pd.Timestamp | None = None,
    n_frontier: int = N_FRONTIER,
    extra_budget: float = EXTRA_BUDGET,
    source: str | None = None,
) -> BudgetReport:
    """Build the budget-impact report of ``complaints_df`` at the chosen ``budgets``.

    Args:
        bundle: the model (its catalog decides costs and eligibility).
        complaints_df: normalized complaints (contract frame). A history frame (with
            ``resolution``, ``compensation``, ``churned_90d``) is *replayed*: it is also the
            current practice that makegood is compared with.
        budgets: the chosen budgets for this complaint set (each gets a full section).
            Default: the historical spend when there is a current practice to compare with,
            else 25% and 50% of the unconstrained optimum spend.
        history_df: a separate contract history to compare current practice with (for a
            forecast batch); its per-complaint figures are what compares with the batch.
        period_days: length of the budget period for pacing (default: the data's own span).
        period_start: first day of the period (default: the data's first day).
        n_frontier: number of evenly spaced budgets from the minimum to the unconstrained spend.
        extra_budget: the "another $X" of the report.
        source: where the complaints came from (a path), for the first page.

    Returns:
        :class:`BudgetReport`.

    Raises:
        BudgetError: a budget is negative, not a number, or below the minimum spend.
    """
    chosen_in = _check_budgets(budgets)
    chosen: list[float]
    if complaints_df.empty:
        raise BudgetError("the complaint set is empty: nothing to report on")
    replay = history_df is None and _has_outcomes(complaints_df)
    hist = complaints_df if replay else history_df

    s = score(bundle, complaints_df)
    cands = Candidates.from_scores(s)
    min_spend = cands.min_spend
    u_spend = cands.allocations([min_spend])[min_spend].unconstrained_spend

    practice = None
    if hist is not None:
        practice = _PracticeInputs.build(bundle, hist, s if replay else None)

    if chosen_in is None:
        if practice is not None:
            per = practice.spend / practice.n
            chosen = [round_cents(max(per * cands.n, min_spend))]
        else:
            chosen = default_budgets(min_spend, u_spend)
    else:
        chosen = chosen_in
    chosen = sorted({round_cents(b) for b in chosen})
    low = [b for b in chosen if b < min_spend - 1e-9]
    if low:
        raise BudgetError(
            f"budget {low[0]:.2f} is below the minimum spend {min_spend:.2f} (every "
            "complaint's cheapest eligible resolution). Choose budgets >= the minimum spend."
        )

    pacing_in = _PacingInputs.build(complaints_df, history_df, period_days, period_start)
    # Every budget is a whole number of cents, so the tables' keys are exact.
    grid = frontier_grid(min_spend, u_spend, n_frontier)
    recommended = grid[-1]  # the grid's top: the next dollar returns < $1
    basis = "chosen" if chosen_in is not None and len(chosen) == 1 else "recommended"
    head_budget = chosen[0] if basis == "chosen" else recommended
    extras = [round_cents(b + extra_budget) for b in {*chosen, head_budget}]
    pacing_budgets = [
        max(round_cents(pacing_in.batch_budget(b, cands.n)), min_spend) for b in chosen
    ]
    same_spend = [round_cents(practice.same_spend_budget(cands.n))] if practice is not None else []
    frontier_budgets = sorted({*map(float, grid), *chosen, *extras, *same_spend})
    allocs = cands.allocations([*frontier_budgets, *pacing_budgets])

    rows = frontier_rows(cands, frontier_budgets)
    chosen_set = {_r(b) for b in chosen}
    for row in rows:
        row["chosen"] = row["budget"] in chosen_set
    ids = list(bundle.catalog.ids)
    mix = [
        np.bincount(allocs[b].choice, minlength=len(ids)).astype(int).tolist()
        for b in frontier_budgets
    ]

    base_totals = cands.totals(cands.baseline_choice())
    ope_replay = practice if (practice is not None and replay) else None
    sections = [
        _chosen_section(
            bundle,
            complaints_df,
            cands,
            b,
            allocs[b],
            allocs[round_cents(b + extra_budget)],
            allocs[pacing_budgets[j]],
            extra_budget,
            base_totals,
            pacing_in,
            ope_replay,
        )
        for j, b in enumerate(chosen)
    ]

    current = None
    if practice is not None:
        current = practice.summary(cands.n, replay)

    shadow_one = spend_at(cands.value, cands.cost, cands.eligible, 1.0)
    thresholds = {
        "min_spend": _r(min_spend),
        "shadow_price_below_one_budget": _r(shadow_one),
        "unconstrained_spend": _r(u_spend),
    }
    u_alloc = allocs[max(frontier_budgets)]
    thresholds["unconstrained_net_value"] = _r(u_alloc.value)
    thresholds["unconstrained_retained_value"] = _r(cands.totals(u_alloc.choice)["retained_value"])

    meta = _meta(bundle, complaints_df, hist, replay, history_df is not None, source, cands)
    headline = _headline(
        cands,
        head_budget,
        basis,
        allocs[head_budget],
        allocs[round_cents(head_budget + extra_budget)],
        extra_budget,
        base_totals,
        practice,
        meta,
    )
    return BudgetReport(
        meta=meta,
        headline=headline,
        frontier_mix=mix,
        assumptions=_assumptions(meta, pacing_in, practice is not None, extra_budget),
        thresholds=thresholds,
        frontier=rows,
        chosen=sections,
        current_practice=current,
        extra_budget=round_cents(extra_budget),
    )


# ----------------------------------------------------------------------- chosen budgets


def _group_rows(
    keys: np.ndarray,
    order: list[str],
    dim: str,
    cands: Candidates,
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
                "spend": _r(_fsum(spend[m])),
                "retained_value": _r(_fsum(retained[m])),
                "net_value": _r(_fsum(value[m])),
                "churn_avoided": _r(_fsum(base_churn[m] - churn[m]), 2),
            }
        )
    return out


def _chosen_section(
    bundle: Bundle,
    df: pd.DataFrame,
    cands: Candidates,
    budget: float,
    alloc: Allocation,
    alloc_extra: Allocation,
    alloc_pacing: Allocation,
    extra_budget: float,
    base: dict[str, float],
    pacing_in: _PacingInputs,
    practice: _PracticeInputs | None,
) -> dict:
    t = cands.totals(alloc.choice)
    t["spend"], t["net_value"] = alloc.spend, alloc.value
    base_churn = cands.churn[:, cands.baseline_index]
    ids = list(bundle.catalog.ids)
    section: dict = {
        "budget": _r(budget),
        **_rounded(t),
        "unspent": _r(budget - alloc.spend),
        "shadow_price": _r(alloc.shadow_price, 6),
        "n_complaints": cands.n,
        "vs_baseline": {
            "baseline": bundle.catalog.baseline,
            "churn_avoided": _r(base["expected_churners"] - t["expected_churners"], 2),
            **{
                f"churn_avoided_{k}": v
                for k, v in _sum_ci(
                    base_churn - cands.churn[np.arange(cands.n), alloc.choice], cands.n
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
        section["by_" + dim] = _group_rows(keys, order, dim, cands, alloc.choice, base_churn)
    res_keys = np.asarray(ids, dtype=object)[alloc.choice]
    section["by_resolution"] = _group_rows(
        res_keys, ids, "resolution", cands, alloc.choice, base_churn
    )

    section["extra"] = _extra(cands, budget, alloc, alloc_extra, extra_budget)
    section["pacing"] = pacing_in.pacing(budget, alloc_pacing.spend / cands.n)
    if practice is not None:
        section["ope_dr"] = practice.ope_of(alloc.choice, cands.n)
    else:
        section["ope_dr"] = None
    return section


def _allocated_totals(cands: Candidates, alloc: Allocation) -> dict[str, float]:
    t = cands.totals(alloc.choice)
    t["spend"], t["net_value"] = alloc.spend, alloc.value
    return t


def _extra(
    cands: Candidates, budget: float, alloc: Allocation, alloc_extra: Allocation, amount: float
) -> dict:
    """What ``amount`` more than ``budget`` (allocated as ``alloc``) buys."""
    t = _allocated_totals(cands, alloc)
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


# ------------------------------------------------------------------------------ pacing


@dataclass
class _PacingInputs:
    """Expected complaints per day of the period, from the data's daily volume by weekday."""

    weekday_mean: np.ndarray  # (7,) complaints per day, Monday first
    data_days: int
    period_start: pd.Timestamp
    period_days: int
    volume_source: str

    @classmethod
    def build(
        cls,
        complaints: pd.DataFrame,
        history: pd.DataFrame | None,
        period_days: int | None,
        period_start: str | datetime | pd.Timestamp | None,
    ) -> _PacingInputs:
        own = pd.to_datetime(complaints["opened_at"])
        src, when = "the complaint set", own
        span = (own.max().normalize() - own.min().normalize()).days + 1
        if span < _MIN_PACING_SPAN_DAYS and history is not None:
            src, when = "the history", pd.to_datetime(history["opened_at"])
        days = pd.date_range(when.min().normalize(), when.max().normalize(), freq="D")
        counts = when.dt.normalize().value_counts().reindex(days, fill_value=0)
        wd = np.zeros(7)
        for d in range(7):
            on = counts[counts.index.weekday == d]
            # a weekday missing from a short span gets the overall daily mean
            wd[d] = on.mean() if len(on) else counts.mean()
        if period_days is not None and (int(period_days) != period_days or period_days < 1):
            raise BudgetError(f"period_days must be a whole number >= 1. Got {period_days!r}.")
        start = (
            pd.Timestamp(period_start).normalize()
            if period_start is not None
            else own.min().normalize()
        )
        n_days = int(period_days) if period_days is not None else int(span)
        return cls(wd, len(days), start, n_days, src)

    def expected_per_day(self) -> tuple[pd.DatetimeIndex, np.ndarray]:
        days = pd.date_range(self.period_start, periods=self.period_days, freq="D")
        return days, self.weekday_mean[days.weekday]

    def expected_complaints(self) -> float:
        return float(self.expected_per_day()[1].sum())

    def batch_budget(self, period_budget: float, n_batch: int) -> float:
        """The batch budget with the same budget per complaint as the period's."""
        n_period = self.expected_complaints()
        return period_budget * n_batch / n_period if n_period > 0 else period_budget

    def pacing(self, period_budget: float, spend_per_complaint: float) -> dict:
        from scipy.stats import poisson

        days, mu = self.expected_per_day()
        lo = poisson.ppf(_PACING_QUANTILES[0], mu)
        hi = poisson.ppf(_PACING_QUANTILES[1], mu)
        cum = np.cumsum(mu * spend_per_complaint)
        daily = [
            {
                "date": d.strftime("%Y-%m-%d"),
                "weekday": d.strftime("%a"),
                "expected_complaints": _r(m, 2),
                "expected_spend": _r(m * spend_per_complaint),
                "spend_lo": _r(l_ * spend_per_complaint),
                "spend_hi": _r(h * spend_per_complaint),
                "cumulative_spend": _r(c),
                "budget_line": _r(period_budget * (j + 1) / len(days)),
            }
            for j, (d, m, l_, h, c) in enumerate(zip(days, mu, lo, hi, cum, strict=True))
        ]
        n_exp = float(mu.sum())
        return {
            "period_budget": _r(period_budget),
            "period_start": self.period_start.strftime("%Y-%m-%d"),
            "period_days": self.period_days,
            "expected_complaints": _r(n_exp, 1),
            "spend_per_complaint": _r(spend_per_complaint, 4),
            "expected_spend_per_day": _r(n_exp * spend_per_complaint / max(len(days), 1)),
            "expected_total_spend": _r(n_exp * spend_per_complaint),
            "volume_source": self.volume_source,
            "daily": daily,
        }


# --------------------------------------------------------------------- current practice


def _total(est, n: int) -> dict:
    """A per-complaint estimate with its interval, as totals over ``n`` complaints."""
    return {"value": _r(est.value * n), "lo": _r(est.lo * n), "hi": _r(est.hi * n)}


@dataclass
class _PracticeInputs:
    """The logged policy of a history, and what OPE needs to value other policies on it."""

    history: pd.DataFrame
    scores: Scores
    action: np.ndarray
    reward: np.ndarray
    propensity: np.ndarray
    n_missing_propensity: int

    @classmethod
    def build(cls, bundle: Bundle, history: pd.DataFrame, s: Scores | None) -> _PracticeInputs:
        cat = bundle.catalog
        unknown = sorted(set(history["resolution"]) - set(cat.ids))
        if unknown:
            raise BudgetError(
                f"history resolution(s) {unknown} are not in the catalog {list(cat.ids)}: "
                "pass the catalog the history was logged with"
            )
        s = s if s is not None else score(bundle, history)
        action = np.array([cat.index(r) for r in history["resolution"]], dtype=np.int64)
        reward = realized_reward(
            s.lifetime_value,
            history["churned_90d"].to_numpy(float),
            history["compensation"].to_numpy(float),
            cat.handling_costs[action],
        )
        rows = np.arange(len(history))
        if "logging_propensity" in history.columns:
            e = history["logging_propensity"].to_numpy(float)
        else:
            e = np.full(len(history), np.nan)
        missing = int(np.isnan(e).sum())
        e = np.where(np.isnan(e), s.propensity[rows, action], e)
        return cls(history, s, action, reward, e, missing)

    @property
    def n(self) -> int:
        return len(self.history)

    @property
    def spend(self) -> float:
        return _fsum(self.history["compensation"].to_numpy(float))

    @cached_property
    def cands(self) -> Candidates:
        return Candidates.from_scores(self.scores)

    def versus(self, choice: np.ndarray, n_batch: int) -> dict:
        """makegood's ``choice`` on this history against what was logged, as totals over
        ``n_batch`` complaints, with paired intervals.

        Per complaint i (w_i = 1{a_i = pi_i} / e_i), the doubly robust term of a reward
        ``y`` with model ``q`` is ``q(i, pi_i) + w_i (y_i - q(i, a_i))``; the gain is that
        term minus ``y_i`` (the realized outcome) and its total interval is normal on the
        per-complaint gains (:func:`_sum_ci`), so the two policies' common noise cancels.
        Rewards: net value, retained value ``LTV (1 - churned)`` and churn (``churned``).
        """
        s = self.scores
        churned = self.history["churned_90d"].to_numpy(float)
        kept = s.lifetime_value * (1.0 - churned)
        args = (self.action, choice, self.propensity)
        net = dr_terms(self.reward, *args, s.net_value)
        ret = dr_terms(kept, *args, s.lifetime_value[:, None] * (1.0 - s.churn_prob))
        churn = dr_terms(churned, *args, s.churn_prob)
        comp = s.compensation[np.arange(self.n), choice]
        hist_comp = self.history["compensation"].to_numpy(float)
        return {
            "practice": {
                "spend": _r(float(hist_comp.mean()) * n_batch),
                "retained_value": _r(float(kept.mean()) * n_batch),
                "churners": _r(float(churned.mean()) * n_batch, 2),
                "net_value": _r(float(self.reward.mean()) * n_batch),
            },
            "makegood": {
                "spend": _r(float(comp.mean()) * n_batch),
                "retained_value": _sum_ci(ret, n_batch),
                "churners": _sum_ci(churn, n_batch),
                "net_value": _sum_ci(net, n_batch),
            },
            "gain": {
                "retained_value": _sum_ci(ret - kept, n_batch),
                "churn_avoided": _sum_ci(churned - churn, n_batch),
                "net_value": _sum_ci(net - self.reward, n_batch),
            },
        }

    def same_spend_budget(self, n_batch: int) -> float:
        """The batch budget with the historical spend per complaint."""
        return self.spend * n_batch / self.n

    def _estimates(self, choice: np.ndarray) -> dict:
        return off_policy_estimates(
            self.reward, self.action, choice, self.propensity, self.scores.net_value
        )

    def ope_of(self, choice: np.ndarray, n_batch: int) -> dict:
        """DR value of ``choice`` on this history (the complaint set itself), as totals."""
        del n_batch  # the replayed history is the complaint set
        est = self._estimates(choice)["dr"]
        return _total(est, self.n)

    def summary(self, n_batch: int, replay: bool) -> dict:
        cands = self.cands
        n = self.n
        # makegood on the history itself at the historical spend
        mg = cands.allocations([self.spend])[self.spend]
        est = self._estimates(mg.choice)
        logged_model = cands.totals(self.action)
        mg_model = cands.totals(mg.choice)
        sat = self.history.get("satisfaction")
        scale = n_batch / n
        paired = self.versus(mg.choice, n)

        out = {
            "source": "the complaint set (replayed)" if replay else "the separate history",
            "n_complaints": n,
            "date_from": str(pd.to_datetime(self.history["opened_at"]).min()),
            "date_to": str(pd.to_datetime(self.history["opened_at"]).max()),
            "spend": _r(self.spend),
            "spend_per_complaint": _r(self.spend / n, 4),
            "observed_churners": int(self.history["churned_90d"].sum()),
            "observed_mean_satisfaction": _r(float(np.nanmean(sat)), 3)
            if sat is not None and sat.notna().any()
            else None,
            "n_missing_propensity": self.n_missing_propensity,
            "logged": {
                "realized_net_value": _total(est["logged"], n),
                "model_net_value": _r(logged_model["net_value"]),
                "model_retained_value": _r(logged_model["retained_value"]),
                "model_expected_churners": _r(logged_model["expected_churners"], 2),
            },
            "makegood_same_spend": {
                "budget": _r(self.spend),
                "spend": _r(mg.spend),
                "ips": _total(est["ips"], n),
                "snips": _total(est["snips"], n),
                "dr": _total(est["dr"], n),
                "model_net_value": _r(mg_model["net_value"]),
                "model_retained_value": _r(mg_model["retained_value"]),
                "model_expected_churners": _r(mg_model["expected_churners"], 2),
                "dr_gain": _r((est["dr"].value - est["logged"].value) * n),
                "dr_gain_lo": paired["gain"]["net_value"]["lo"],
                "dr_gain_hi": paired["gain"]["net_value"]["hi"],
                "dr_churn_avoided": paired["gain"]["churn_avoided"],
                "model_churn_avoided": _r(
                    logged_model["expected_churners"] - mg_model["expected_churners"], 2
                ),
            },
            "batch_scale": _r(scale, 6),
            "batch_same_spend_budget": _r(self.same_spend_budget(n_batch)),
        }
        return out


# -------------------------------------------------------------------------- first page

VERSUS_PRACTICE_METHOD = (
    "doubly robust off-policy estimate on the history; 95% intervals from paired "
    "per-complaint terms (makegood's estimate minus the realized outcome, normal approximation)"
)
VERSUS_BASELINE_METHOD = (
    "model predictions; 95% intervals from the spread of per-complaint differences (normal "
    "approximation): the variation between batches like this one, not the model's error"
)


def _headline(
    cands: Candidates,
    budget: float,
    basis: str,
    alloc: Allocation,
    alloc_extra: Allocation,
    extra_budget: float,
    base: dict[str, float],
    practice: _PracticeInputs | None,
    meta: dict,
) -> dict:
    """The first page: one budget, what it buys against today's practice, and $10,000 more.

    With a history, today's practice is the logged policy: makegood's allocation at the
    same budget per complaint on the history is valued off-policy against it
    (:meth:`_PracticeInputs.versus`). Without one, the comparison is with the baseline
    resolution for everyone, from the model alone.
    """
    t = _allocated_totals(cands, alloc)
    if practice is not None:
        per = budget / cands.n
        hist_budget = max(round_cents(per * practice.n), practice.cands.min_spend)
        hist_alloc = practice.cands.allocations([hist_budget])[hist_budget]
        comparison = {
            "versus": "current practice",
            "method": VERSUS_PRACTICE_METHOD,
            "history_budget": _r(hist_budget),
            **practice.versus(hist_alloc.choice, cands.n),
        }
    else:
        rows = np.arange(cands.n)
        base_choice = cands.baseline_choice()
        ltv = cands.lifetime_value
        churn_mg = cands.churn[rows, alloc.choice]
        churn_base = cands.churn[rows, base_choice]
        net_mg = cands.value[rows, alloc.choice]
        net_base = cands.value[rows, base_choice]
        comparison = {
            "versus": "baseline for everyone",
            "method": VERSUS_BASELINE_METHOD,
            "history_budget": None,
            "practice": {
                "spend": _r(base["spend"]),
                "retained_value": _r(base["retained_value"]),
                "churners": _r(base["expected_churners"], 2),
                "net_value": _r(base["net_value"]),
            },
            "makegood": {
                "spend": _r(t["spend"]),
                "retained_value": _sum_ci(ltv * (1.0 - churn_mg), cands.n),
                "churners": _sum_ci(churn_mg, cands.n),
                "net_value": _sum_ci(net_mg, cands.n),
            },
            "gain": {
                "retained_value": _sum_ci(ltv * (churn_base - churn_mg), cands.n),
                "churn_avoided": _sum_ci(churn_base - churn_mg, cands.n),
                "net_value": _sum_ci(net_mg - net_base, cands.n),
            },
        }
    return {
        "budget": _r(budget),
        "basis": basis,
        "spend": _r(t["spend"]),
        "retained_value": _r(t["retained_value"]),
        "net_value": _r(t["net_value"]),
        "expected_churners": _r(t["expected_churners"], 2),
        "shadow_price": _r(alloc.shadow_price, 6),
        "comparison": comparison,
        "extra": _extra(cands, budget, alloc, alloc_extra, extra_budget),
        "model_version": meta["model_version"],
        "mlflow_run_id": meta["mlflow_run_id"],
    }


def _meta(
    bundle: Bundle,
    df: pd.DataFrame,
    hist: pd.DataFrame | None,
    replay: bool,
    separate_history: bool,
    source: str | None,
    cands: Candidates,
) -> dict:
    from makegood import __version__

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
    }


def _assumptions(meta: dict, pacing: _PacingInputs, practice: bool, extra: float) -> list[str]:
    out = [
        "Expected values are the model's per-candidate predictions for each complaint "
        f"(model {meta['model_version']}); outcomes themselves are random around them.",
        "Retained lifetime value = sum of lifetime_value x (1 - churn probability); net value "
        "= retained value - compensation - handling cost (contract section 3). Handling cost is "
        "not paid from the budget.",
        "At every budget the resolutions are makegood's budgeted choice (maximum total net "
        "value with compensation <= budget, exact up to one complaint).",
        "Intervals on totals add up each complaint's 95% bounds: conservative (as if every "
        "complaint's error went the same way) and about the model, not outcome noise.",
        "Shadow price: extra net value (after paying the dollar itself) of one more dollar of "
        "budget at the margin. A shadow price below 1 means a further dollar buys less than "
        "a dollar of net value; at the unconstrained spend it reaches 0: beyond it a dollar "
        "of compensation brings back less than a dollar of retained value.",
        "Churn avoided is measured against giving every customer the baseline resolution "
        f"({meta['baseline']}); its interval is normal on the per-complaint differences "
        "(paired terms): how much it would vary between batches like this one.",
        "Recommended budget: the least budget at which makegood buys every resolution whose "
        "compensation returns at least its cost in retained value (shadow price 0); beyond it "
        "the next dollar returns less than a dollar. With one chosen budget, page one shows "
        "that one instead.",
        f"'Another {extra:,.0f}' is the budgeted allocation at budget + {extra:,.0f} minus "
        "the one at the budget; it may spend less when there is nothing worth buying.",
        f"Pacing: complaints per day follow the mean daily volume of {pacing.volume_source} "
        f"by weekday ({pacing.data_days} days of data); the day's count is Poisson around it "
        "(the 10%-90% band); every complaint costs the average compensation per complaint "
        "at that budget (the batch is representative of the period's complaints). A period "
        "budget is applied to the batch at the same budget per expected complaint.",
    ]
    if practice:
        out.append(
            "Current practice: the history's logged resolutions and compensation. Its value is "
            "the realized net value (lifetime value kept if the customer did not churn, minus "
            "compensation and handling cost); makegood's value on the same complaints is "
            "estimated off-policy (IPS, SNIPS, doubly robust) with 95% normal intervals, using "
            "the logged propensities (the model's where missing), clipped at 0.001."
        )
        if meta["separate_history"]:
            out.append(
                "The history is a different set of complaints from the batch: compare per "
                "complaint; the batch budget at the historical spend per complaint is shown."
            )
    return out
