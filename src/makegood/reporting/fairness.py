"""The fairness audit (issue 26): who receives compensation, and at what cost consistency.

``makegood report fairness`` answers three questions a compliance reader asks of a
personalised engine, for the groups the user names (any column of the files, or
``tenure_band``, a band of ``tenure_months``):

1. **Who gets what.** Per group value: the share of complaints given any compensation, the
   mean compensation, and the predicted churn and satisfaction, under makegood (its
   recommendations for ``complaints``, guardrails included) and under today's practice
   (the ``history``'s logged resolutions, scored by the same models). Each group's share
   compensated and mean compensation are divided by the best-treated group's (the
   highest); a ratio below :data:`FLAG_BELOW` (the "four-fifths" rule of thumb) is
   flagged. Groups of fewer than :data:`MIN_GROUP` complaints are shown, never flagged.
2. **What consistency would cost.** A rule that gives the same resolution to every
   complaint of one issue type and severity, whatever the customer's value, chosen to
   maximise predicted net value under the same budget (each (issue type, severity) cell
   is one choice of the multiple-choice knapsack, ``policy.budget.allocate``), against
   makegood's own choice, both valued on the history by the doubly robust estimate with
   a paired 95% interval (``modeling.evaluate.compare_policies``), at the budget today's
   practice spent, without guardrails.
3. **Protected columns.** The columns the model was trained not to read (the bundle's
   ``protected``, plus any named here): the models never see them, but other inputs can
   carry them. For each, the inputs most associated with it: Pearson's |r| between two
   numbers, the correlation ratio (eta) between a category and a number, Cramer's V
   between two categories; all in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from makegood.errors import ConfigError, GuardrailBudgetError
from makegood.features.pipeline import protected_inputs
from makegood.modeling.bundle import Bundle
from makegood.modeling.evaluate import compare_policies, logged_outcomes
from makegood.modeling.predict import Scores, recommend, score
from makegood.policy.budget import allocate
from makegood.reporting.numbers import fmt, report_round

__all__ = [
    "FLAG_BELOW",
    "MIN_GROUP",
    "TENURE_BANDS",
    "FairnessReport",
    "association",
    "consistency_cost",
    "fairness_audit",
    "group_values",
    "write_fairness",
]

FLAG_BELOW = 0.8
MIN_GROUP = 30
#: ``tenure_band``: (lowest month, first month of the next band, label)
TENURE_BANDS = (
    (0, 12, "under 1 year"),
    (12, 36, "1 to 3 years"),
    (36, 60, "3 to 5 years"),
    (60, math.inf, "5 years or more"),
)
UNKNOWN = "(unknown)"
STEM = "fairness_report"
TOP_INPUTS = 5


def group_values(frame: pd.DataFrame, group: str, source: str = "the file") -> np.ndarray:
    """Each row's value of ``group`` as text: a column of ``frame`` (missing values are
    :data:`UNKNOWN`), or ``tenure_band`` (:data:`TENURE_BANDS` of ``tenure_months``).

    >>> group_values(pd.DataFrame({"tenure_months": [3, 40, 200]}), "tenure_band").tolist()
    ['under 1 year', '3 to 5 years', '5 years or more']

    Raises:
        ConfigError: ``group`` is neither a column of ``frame`` nor ``tenure_band``.
    """
    if group == "tenure_band" and "tenure_band" not in frame.columns:
        months = frame["tenure_months"].to_numpy(dtype=float)
        out = np.full(len(frame), UNKNOWN, dtype=object)
        for lo, hi, label in TENURE_BANDS:
            out[(months >= lo) & (months < hi)] = label
        return out
    if group not in frame.columns:
        raise ConfigError(
            f"--groups: {group!r} is not a column of {source} (nor tenure_band). "
            f"Columns: {', '.join(map(str, frame.columns))}."
        )
    col = frame[group]
    return np.where(col.isna().to_numpy(), UNKNOWN, col.astype(str).to_numpy(dtype=object))


def _policy_table(
    groups: np.ndarray, compensation: np.ndarray, churn: np.ndarray, satisfaction: np.ndarray
) -> dict[str, dict[str, float]]:
    frame = pd.DataFrame(
        {
            "g": groups,
            "given": compensation > 0.005,
            "comp": compensation,
            "churn": churn,
            "sat": satisfaction,
        }
    )
    agg = frame.groupby("g", sort=True).agg(
        n=("comp", "size"),
        share=("given", "mean"),
        mean_comp=("comp", "mean"),
        churn=("churn", "mean"),
        sat=("sat", "mean"),
    )
    return {str(k): {c: float(v) for c, v in row.items()} for k, row in agg.iterrows()}


def _ratios(table: dict[str, dict[str, float]], key: str) -> dict[str, float]:
    """Each group's ``key`` divided by the highest among groups of :data:`MIN_GROUP` or more."""
    judged = [r[key] for r in table.values() if r["n"] >= MIN_GROUP]
    best = max(judged, default=math.nan)
    return {g: (r[key] / best if best > 0 else math.nan) for g, r in table.items()}


def _dimension(
    group: str,
    today_groups: np.ndarray,
    today: tuple[np.ndarray, np.ndarray, np.ndarray],
    mg_groups: np.ndarray,
    makegood: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> dict[str, Any]:
    t = _policy_table(today_groups, *today)
    m = _policy_table(mg_groups, *makegood)
    ratios = {
        ("today", "share"): _ratios(t, "share"),
        ("today", "mean_comp"): _ratios(t, "mean_comp"),
        ("makegood", "share"): _ratios(m, "share"),
        ("makegood", "mean_comp"): _ratios(m, "mean_comp"),
    }
    rows = []
    for value in sorted(set(t) | set(m)):
        row: dict[str, Any] = {"value": value}
        for name, table in (("today", t), ("makegood", m)):
            r = table.get(value)
            n = int(r["n"]) if r else 0
            share_ratio = ratios[(name, "share")].get(value, math.nan)
            comp_ratio = ratios[(name, "mean_comp")].get(value, math.nan)
            low = [x for x in (share_ratio, comp_ratio) if math.isfinite(x)]
            row[name] = {
                "n": n,
                "share_compensated": report_round(r["share"], 4) if r else None,
                "mean_compensation": report_round(r["mean_comp"], 2) if r else None,
                "churn_probability": report_round(r["churn"], 4) if r else None,
                "satisfaction": report_round(r["sat"], 3) if r else None,
                "share_ratio": report_round(share_ratio, 3),
                "compensation_ratio": report_round(comp_ratio, 3),
                "flag": bool(n >= MIN_GROUP and low and min(low) < FLAG_BELOW),
            }
        rows.append(row)
    return {"group": group, "rows": rows}


def consistency_cost(
    bundle: Bundle,
    history: pd.DataFrame,
    budget: float | None = None,
    *,
    scores: Scores | None = None,
) -> dict[str, Any]:
    """What one resolution per (issue type, severity) would cost against makegood's
    personalised choice, both on ``history`` at ``budget`` (default: what it spent).

    Returns a dict: ``budget``, ``n``, ``n_cells``, the DR value per complaint of each
    policy (``makegood``, ``consistent``: value, lo, hi), ``cost_per_complaint`` (makegood
    minus consistent, paired 95% interval) and ``cost_total`` (times ``n``),
    ``agreement`` (share of complaints both choose alike). ``scores`` may pass
    ``score(bundle, history)``, computed already.
    """
    s = scores if scores is not None else score(bundle, history)
    cat = bundle.catalog
    action, reward, e_logged = logged_outcomes(history, cat)
    rows = np.arange(s.n)
    e = np.where(np.isnan(e_logged), s.propensity[rows, action], e_logged)
    budget = float(history["compensation"].sum()) if budget is None else float(budget)
    personal = allocate(s.net_value, s.compensation, s.eligible, budget).choice
    cells = history["issue_type"].astype(str) + "|" + history["severity"].astype(str)
    code, names = pd.factorize(cells, sort=True)
    order = np.argsort(code, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(code[order]) != 0])
    # a cell takes one option for all its complaints: its value and cost are their sums
    cell_value = np.add.reduceat(np.where(s.eligible, s.net_value, 0.0)[order], starts)
    cell_cost = np.add.reduceat(s.compensation[order], starts)
    cell_elig = np.logical_and.reduceat(s.eligible[order], starts)
    consistent = allocate(cell_value, cell_cost, cell_elig, budget).choice[code]
    cmp = compare_policies(reward, action, personal, consistent, e, s.net_value)

    def est(x: Any, scale: float = 1.0) -> dict[str, float | None]:
        return {k: report_round(getattr(x, k) * scale, 2) for k in ("value", "lo", "hi")}

    return {
        "budget": report_round(budget, 2),
        "n": int(s.n),
        "n_cells": len(names),
        "makegood": est(cmp.candidate),
        "consistent": est(cmp.champion),
        "cost_per_complaint": est(cmp.gain),
        "cost_total": est(cmp.gain, float(s.n)),
        "agreement": report_round(cmp.agreement, 4),
    }


def association(a: np.ndarray, b: np.ndarray, a_category: bool, b_category: bool) -> float:
    """How strongly two columns go together, in [0, 1] (NaN with too little data):
    |Pearson r| of two numbers, the correlation ratio eta of a number on a category,
    Cramer's V (bias uncorrected) of two categories. Missing values are left out.

    >>> round(association(np.array(["a", "a", "b", "b"], dtype=object),
    ...                   np.array([1.0, 1.0, 3.0, 3.0]), True, False), 3)
    1.0
    """
    fa = pd.Series(a).isna().to_numpy()
    fb = pd.Series(b).isna().to_numpy()
    keep = ~(fa | fb)
    a, b = a[keep], b[keep]
    if len(a) < 3:
        return math.nan
    if a_category and b_category:
        table = pd.crosstab(pd.Series(a, dtype=str), pd.Series(b, dtype=str)).to_numpy(float)
        if min(table.shape) < 2:
            return 0.0
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        chi2 = float(((table - expected) ** 2 / expected).sum())
        return math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
    if a_category or b_category:
        cats, nums = (a, b) if a_category else (b, a)
        y = nums.astype(float)
        total = float(((y - y.mean()) ** 2).sum())
        if total == 0:
            return 0.0
        means = pd.Series(y).groupby(pd.Series(cats, dtype=str).to_numpy()).agg(["mean", "size"])
        between = float((means["size"] * (means["mean"] - y.mean()) ** 2).sum())
        return math.sqrt(between / total)
    x, y = a.astype(float), b.astype(float)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return abs(float(np.corrcoef(x, y)[0, 1]))


def protected_associations(
    bundle: Bundle, history: pd.DataFrame, protected: Sequence[str], X: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """For each protected column of ``history``: whether the models read it, and the
    :data:`TOP_INPUTS` other model inputs most associated with it (:func:`association`;
    the column's own inputs, ``features.pipeline.protected_inputs``, are left out).
    ``X`` may pass the history's model matrix, computed already."""
    if X is None:
        X = bundle.pipeline.transform(history)
    spec = bundle.engine.spec
    categorical = set(spec.categorical)
    out = []
    for col in protected:
        if col not in history.columns and col != "tenure_band":
            out.append({"column": col, "in_file": False, "read_by_models": False, "inputs": []})
            continue
        numeric = col != "tenure_band" and pd.api.types.is_numeric_dtype(history[col].dtype)
        values = (
            history[col].to_numpy(dtype=float, na_value=np.nan)
            if numeric
            else group_values(history, col)
        )
        itself = protected_inputs([col])  # the column and what is derived from it
        found: list[tuple[float, str]] = []
        for j, name in enumerate(spec.names):
            if name in itself:
                continue
            v = association(values, X[:, j].astype(float), not numeric, name in categorical)
            if math.isfinite(v):
                found.append((v, name))
        found.sort(key=lambda t: -t[0])
        scores = [{"input": n, "association": report_round(v, 3)} for v, n in found[:TOP_INPUTS]]
        out.append(
            {
                "column": col,
                "in_file": True,
                "read_by_models": any(name in itself for name in spec.names),
                "inputs": scores,
            }
        )
    return out


@dataclass
class FairnessReport:
    """The audit as one dict (``to_dict``, what the JSON holds) and its tables."""

    d: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.d

    def to_frame(self) -> pd.DataFrame:
        """One row per (group, value, policy): the CSV."""
        rows = []
        for dim in self.d["groups"]:
            for r in dim["rows"]:
                for policy in ("today", "makegood"):
                    rows.append(
                        {"group": dim["group"], "value": r["value"], "policy": policy, **r[policy]}
                    )
        return pd.DataFrame(rows)


def fairness_audit(
    bundle: Bundle,
    history: pd.DataFrame,
    complaints: pd.DataFrame,
    groups: Sequence[str],
    *,
    budget: float | None = None,
    protected: Sequence[str] = (),
    sources: tuple[str, str] = ("the history", "the complaints"),
) -> FairnessReport:
    """The audit (see the module docstring) of ``bundle`` (with its catalog) on a
    normalized ``history`` and new ``complaints``.

    ``budget`` is makegood's for ``complaints`` (default: today's spend per complaint in
    the history, times the number of complaints, raised to what the guardrails' floors
    need when that is less: ``meta.budget_raised_for_floors``); ``protected`` adds columns to the
    bundle's own protected list.

    Raises:
        ConfigError: a group is not a column of either file (nor ``tenure_band``).
        GuardrailBudgetError, BudgetError: the budget cannot fund makegood's choice.
    """
    if not groups:
        raise ConfigError("--groups must name at least one column. Got none.")
    per_complaint = float(history["compensation"].sum()) / max(len(history), 1)
    raised_for_floors = False
    if budget is None:
        budget = per_complaint * len(complaints)
        try:
            recs = recommend(bundle, complaints, budget)
        except GuardrailBudgetError as e:  # today's spend cannot pay what is owed: the
            budget, raised_for_floors = e.needed, True  # default pays the floors, and says so
            recs = recommend(bundle, complaints, budget)
    else:
        budget = float(budget)
        recs = recommend(bundle, complaints, budget)
    s = score(bundle, history)
    action, _, _ = logged_outcomes(history, bundle.catalog)
    rows = np.arange(s.n)
    today = (
        history["compensation"].to_numpy(float),
        s.churn_prob[rows, action],
        s.satisfaction[rows, action],
    )
    f = recs.frame
    makegood = (
        f["compensation"].to_numpy(float),
        f["churn_probability"].to_numpy(float),
        f["expected_satisfaction"].to_numpy(float),
    )
    dims = []
    for g in groups:
        in_h = g == "tenure_band" or g in history.columns
        in_c = g == "tenure_band" or g in complaints.columns
        if not (in_h or in_c):
            group_values(history, g, sources[0])  # raises, naming the column
        h = group_values(history, g) if in_h else np.full(len(history), UNKNOWN, dtype=object)
        c = group_values(complaints, g) if in_c else np.full(len(complaints), UNKNOWN, dtype=object)
        dims.append(_dimension(g, h, today, c, makegood))
    own = tuple(bundle.engine.params.protected)
    checked = list(dict.fromkeys([*own, *protected]))
    d = {
        "meta": {
            "currency": bundle.catalog.currency,
            "model_version": bundle.version,
            "n_history": len(history),
            "n_complaints": len(complaints),
            "budget": report_round(budget, 2),
            "budget_raised_for_floors": raised_for_floors,
            "flag_below": FLAG_BELOW,
            "min_group": MIN_GROUP,
            "guardrails": [g.id for g in bundle.catalog.guardrails],
            "protected_by_model": list(own),
        },
        "totals": {
            "today": {
                "share_compensated": report_round(float(np.mean(today[0] > 0.005)), 4),
                "mean_compensation": report_round(float(np.mean(today[0])), 2),
            },
            "makegood": {
                "share_compensated": report_round(float(np.mean(makegood[0] > 0.005)), 4),
                "mean_compensation": report_round(float(np.mean(makegood[0])), 2),
            },
        },
        "groups": dims,
        "consistency": consistency_cost(bundle, history, scores=s),
        "protected": protected_associations(bundle, history, checked, s.X),
    }
    d["findings"] = findings(d)
    return FairnessReport(d)


def findings(d: dict[str, Any]) -> list[str]:
    """Page one's plain sentences: what is flagged, what consistency costs, what the
    protected columns travel with."""
    cur = d["meta"]["currency"]
    out = []
    for policy, name in (("makegood", "makegood"), ("today", "today's practice")):
        flagged = [
            f"{dim['group']} = {r['value']}"
            for dim in d["groups"]
            for r in dim["rows"]
            if r[policy]["flag"]
        ]
        if flagged:
            out.append(
                f"Under {name}, {len(flagged)} group(s) get compensation less often or less of "
                f"it than {int(100 * FLAG_BELOW)}% of the best-treated group: "
                f"{'; '.join(flagged[:6])}{' ...' if len(flagged) > 6 else ''}."
            )
        else:
            out.append(
                f"Under {name}, no group of {MIN_GROUP} or more complaints falls below "
                f"{int(100 * FLAG_BELOW)}% of the best-treated group."
            )
    c = d["consistency"]
    per, total = c["cost_per_complaint"], c["cost_total"]
    out.append(
        f"Giving the same resolution to every complaint of one issue type and severity "
        f"({c['n_cells']} rules) would lose {fmt(per['value'], 'money_c', cur)} of net value "
        f"per complaint against makegood's personal choice (95% interval "
        f"{fmt(per['lo'], 'money_c', cur)} to {fmt(per['hi'], 'money_c', cur)}), "
        f"{fmt(total['value'], 'money', cur)} over the {c['n']:,} complaints of the history."
    )
    for p in d["protected"]:
        if not p["in_file"]:
            out.append(f"Protected column {p['column']} is not in the history: not checked.")
            continue
        top = p["inputs"][0] if p["inputs"] else None
        read = "the models read it." if p["read_by_models"] else "the models never read it."
        near = (
            f" The input most associated with it is {top['input']} "
            f"({fmt(top['association'], 'ratio')} on a 0 to 1 scale)."
            if top
            else ""
        )
        out.append(f"Protected column {p['column']}: {read}{near}")
    return out


def render_html(d: dict[str, Any]) -> str:
    """The audit as one self-contained HTML page; page one is the findings."""
    from makegood.reporting.html import page_environment

    env = page_environment(d)
    return env.get_template("fairness_report.html.j2").render(d=d)


def write_fairness(report: FairnessReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``fairness_report.{html,json,csv}`` under ``out_dir``; returns name -> path."""
    import json

    from makegood.reporting.export import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = report.to_dict()
    paths = {
        "html": out / f"{STEM}.html",
        "json": out / f"{STEM}.json",
        "csv": out / f"{STEM}.csv",
    }
    atomic_write(paths["html"], render_html(d))
    atomic_write(paths["json"], json.dumps(d, indent=2, allow_nan=False) + "\n")
    atomic_write(paths["csv"], report.to_frame().to_csv(index=False))
    return paths
