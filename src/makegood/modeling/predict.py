"""Per-candidate counterfactual predictions and budgeted recommendations.

``score`` answers, for every complaint and every resolution in the catalog, what the
customer's satisfaction and churn would be if given it, with intervals; ``recommend``
chooses one eligible resolution per complaint under the budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.catalog import Catalog
from makegood.modeling.bundle import Bundle
from makegood.modeling.engine import assemble, prepare
from makegood.policy.budget import Allocation, allocate
from makegood.policy.value import net_value, retention_lift

Z95 = 1.959963984540054
THIN_EVIDENCE = 0.05  # a candidate the agents chose for fewer than 5% of customers like this


@dataclass
class Scores:
    """Per-candidate predictions, each array (n, K) in catalog order."""

    complaint_ids: np.ndarray
    action_ids: list[str]
    eligible: np.ndarray
    compensation: np.ndarray
    handling_cost: np.ndarray  # (K,)
    lifetime_value: np.ndarray  # (n,)
    satisfaction: np.ndarray
    churn_prob: np.ndarray
    churn_lo: np.ndarray
    churn_hi: np.ndarray
    retention_lift: np.ndarray
    net_value: np.ndarray
    net_value_lo: np.ndarray
    net_value_hi: np.ndarray
    propensity: np.ndarray
    baseline_index: int
    X: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.complaint_ids)


def features_for(bundle: Bundle, complaints: pd.DataFrame) -> np.ndarray:
    """The base model matrix of normalized new complaints (memory from the bundle)."""
    prep = prepare(complaints)
    mem = None
    if bundle.engine.params.use_memory and bundle.memory is not None:
        mem = bundle.memory.features_for(prep)
    scores, names = None, []
    if bundle.text_signals is not None:
        scores = bundle.text_signals.transform(prep["complaint_text"].tolist())
        names = list(bundle.text_signals.feature_names_)
    return assemble(prep, mem, scores, names, bundle.engine.spec).X


def score(bundle: Bundle, complaints: pd.DataFrame, *, X: np.ndarray | None = None) -> Scores:
    """Predict every candidate of every complaint. ``complaints`` is a normalized frame."""
    cat: Catalog = bundle.catalog
    if X is None:
        X = features_for(bundle, complaints)
    idx = bundle.action_index
    pred = {k: v[:, idx] for k, v in bundle.engine.predict(X).items()}
    eligible = cat.eligibility_matrix(
        complaints["issue_type"].to_numpy(), complaints["severity"].to_numpy()
    )
    comp = cat.compensation_matrix(complaints["disputed_amount"].to_numpy(dtype=float))
    ltv = complaints["lifetime_value"].to_numpy(dtype=float)
    hc = cat.handling_costs
    churn = pred["churn_prob"]
    lo = np.clip(churn - Z95 * pred["churn_sd"], 0.0, 1.0)
    hi = np.clip(churn + Z95 * pred["churn_sd"], 0.0, 1.0)
    return Scores(
        complaint_ids=complaints["complaint_id"].to_numpy(),
        action_ids=list(cat.ids),
        eligible=eligible,
        compensation=comp,
        handling_cost=hc,
        lifetime_value=ltv,
        satisfaction=pred["satisfaction"],
        churn_prob=churn,
        churn_lo=lo,
        churn_hi=hi,
        retention_lift=retention_lift(churn, cat.baseline_index),
        net_value=net_value(ltv, churn, comp, hc),
        net_value_lo=net_value(ltv, hi, comp, hc),
        net_value_hi=net_value(ltv, lo, comp, hc),
        propensity=_renormalize(bundle.engine.predict_propensity(X)[:, idx], eligible),
        baseline_index=cat.baseline_index,
        X=X,
    )


def _renormalize(p: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    p = np.where(eligible, p, 0.0)
    return p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)


@dataclass
class Recommendations:
    """The chosen resolution per complaint, the allocation, and the scores behind it."""

    frame: pd.DataFrame
    allocation: Allocation
    scores: Scores
    budget: float
    conservative: bool

    def rankings(self) -> list[dict]:
        """Each complaint's full ranking of eligible candidates, best net value first."""
        s = self.scores
        out = []
        choice = self.allocation.choice
        for i in range(s.n):
            ks = np.flatnonzero(s.eligible[i])
            order = ks[np.argsort(-s.net_value[i, ks], kind="stable")]
            out.append(
                {
                    "complaint_id": str(s.complaint_ids[i]),
                    "recommended": s.action_ids[choice[i]],
                    "candidates": [
                        {
                            "rank": r + 1,
                            "resolution": s.action_ids[k],
                            "compensation": round(float(s.compensation[i, k]), 2),
                            "expected_satisfaction": round(float(s.satisfaction[i, k]), 3),
                            "churn_probability": round(float(s.churn_prob[i, k]), 5),
                            "retention_lift": round(float(s.retention_lift[i, k]), 5),
                            "net_value": round(float(s.net_value[i, k]), 2),
                            "net_value_interval": [
                                round(float(s.net_value_lo[i, k]), 2),
                                round(float(s.net_value_hi[i, k]), 2),
                            ],
                            "propensity": round(float(s.propensity[i, k]), 4),
                            "thin_evidence": bool(s.propensity[i, k] < THIN_EVIDENCE),
                        }
                        for r, k in enumerate(order)
                    ],
                }
            )
        return out


def recommend(
    bundle: Bundle,
    complaints: pd.DataFrame,
    budget: float,
    *,
    conservative: bool = False,
    scores: Scores | None = None,
) -> Recommendations:
    """Choose one eligible resolution per complaint maximising net value under ``budget``.

    ``conservative`` ranks by the lower end of each candidate's 95% net-value interval.
    Raises BudgetError when the budget is invalid or cannot cover the cheapest choices.
    """
    s = scores if scores is not None else score(bundle, complaints)
    value = s.net_value_lo if conservative else s.net_value
    alloc = allocate(value, s.compensation, s.eligible, float(budget))
    rows = np.arange(s.n)
    c = alloc.choice
    frame = pd.DataFrame(
        {
            "complaint_id": s.complaint_ids,
            "resolution": np.asarray(s.action_ids)[c],
            "compensation": np.round(s.compensation[rows, c], 2),
            "expected_satisfaction": np.round(s.satisfaction[rows, c], 3),
            "churn_probability": np.round(s.churn_prob[rows, c], 5),
            "retention_lift": np.round(s.retention_lift[rows, c], 5),
            "net_value": np.round(s.net_value[rows, c], 2),
            "net_value_lo": np.round(s.net_value_lo[rows, c], 2),
            "net_value_hi": np.round(s.net_value_hi[rows, c], 2),
            "propensity": np.round(s.propensity[rows, c], 4),
            "thin_evidence": s.propensity[rows, c] < THIN_EVIDENCE,
            "value_at_risk": np.round(s.lifetime_value * s.churn_prob[:, s.baseline_index], 2),
        }
    )
    # rounding must not push the written total over the budget
    if frame["compensation"].sum() > budget:
        frame["compensation"] = np.floor(s.compensation[rows, c] * 100) / 100
    return Recommendations(frame, alloc, s, float(budget), conservative)


def write_rankings(recs: Recommendations, path: str | Path) -> None:
    """Write one JSON object per complaint (its full ranking), atomically."""
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as fh:
        for row in recs.rankings():
            fh.write(json.dumps(row) + "\n")
    os.replace(tmp, path)
