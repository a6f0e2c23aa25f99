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
    # a resolution (almost) never given in the history has no evidence: not a candidate
    supported = bundle.engine.supported_actions()[idx]
    supported[cat.baseline_index] = True
    eligible &= supported[None, :]
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
        ids = s.action_ids
        # round and convert whole arrays once: per-value Python work dominates otherwise
        comp = np.round(s.compensation, 2).tolist()
        sat = np.round(s.satisfaction, 3).tolist()
        churn = np.round(s.churn_prob, 5).tolist()
        lift = np.round(s.retention_lift, 5).tolist()
        nv = np.round(s.net_value, 2).tolist()
        lo = np.round(s.net_value_lo, 2).tolist()
        hi = np.round(s.net_value_hi, 2).tolist()
        prop = np.round(s.propensity, 4).tolist()
        thin = (s.propensity < THIN_EVIDENCE).tolist()
        masked = np.where(s.eligible, s.net_value, -np.inf)
        order = np.argsort(-masked, axis=1, kind="stable").tolist()
        n_elig = s.eligible.sum(axis=1).tolist()
        choice = self.allocation.choice.tolist()
        cids = [str(c) for c in s.complaint_ids]
        out = []
        for i in range(s.n):
            ci, si, chi, li, ni, loi, hii, pi, ti = (
                comp[i],
                sat[i],
                churn[i],
                lift[i],
                nv[i],
                lo[i],
                hi[i],
                prop[i],
                thin[i],
            )
            out.append(
                {
                    "complaint_id": cids[i],
                    "recommended": ids[choice[i]],
                    "candidates": [
                        {
                            "rank": r + 1,
                            "resolution": ids[k],
                            "compensation": ci[k],
                            "expected_satisfaction": si[k],
                            "churn_probability": chi[k],
                            "retention_lift": li[k],
                            "net_value": ni[k],
                            "net_value_interval": [loi[k], hii[k]],
                            "propensity": pi[k],
                            "thin_evidence": ti[k],
                        }
                        for r, k in enumerate(order[i][: n_elig[i]])
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
    return recommendations(s, alloc, budget, conservative=conservative)


def recommendations(
    s: Scores,
    alloc: Allocation,
    budget: float,
    *,
    conservative: bool = False,
    floor_cents: bool | None = None,
) -> Recommendations:
    """The output of an allocation of scored complaints (one batch, or one partition).

    Compensation is written to the cent; ``floor_cents`` rounds it down instead, which
    ``None`` chooses when rounding would push this batch's written total over ``budget``
    (a partition of a larger batch gets the decision made for the whole).
    """
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
    if floor_cents is None:
        floor_cents = bool(frame["compensation"].sum() > budget)
    if floor_cents:
        frame["compensation"] = np.floor(s.compensation[rows, c] * 100) / 100
    return Recommendations(frame, alloc, s, float(budget), conservative)


def ranking_lines(recs: Recommendations) -> list[str]:
    """The JSON text of :meth:`Recommendations.rankings`, one line per complaint.

    Equal to ``json.dumps(row)`` for each row, built by formatting instead of via dicts
    (the dicts cost more than the predictions they describe on large batches).
    """
    s = recs.scores
    ids = [json.dumps(a) for a in s.action_ids]
    cols = [
        np.round(s.compensation, 2).tolist(),
        np.round(s.satisfaction, 3).tolist(),
        np.round(s.churn_prob, 5).tolist(),
        np.round(s.retention_lift, 5).tolist(),
        np.round(s.net_value, 2).tolist(),
        np.round(s.net_value_lo, 2).tolist(),
        np.round(s.net_value_hi, 2).tolist(),
        np.round(s.propensity, 4).tolist(),
    ]
    thin = (s.propensity < THIN_EVIDENCE).tolist()
    order = np.argsort(-np.where(s.eligible, s.net_value, -np.inf), axis=1, kind="stable").tolist()
    n_elig = s.eligible.sum(axis=1).tolist()
    choice = recs.allocation.choice.tolist()
    template = (
        '{"rank": %d, "resolution": %s, "compensation": %r, "expected_satisfaction": %r, '
        '"churn_probability": %r, "retention_lift": %r, "net_value": %r, '
        '"net_value_interval": [%r, %r], "propensity": %r, "thin_evidence": %s}'
    )
    out = []
    for i in range(s.n):
        c, sa, ch, li, nv, lo, hi, pr = (col[i] for col in cols)
        th = thin[i]
        cands = ", ".join(
            template
            % (
                r + 1,
                ids[k],
                c[k],
                sa[k],
                ch[k],
                li[k],
                nv[k],
                lo[k],
                hi[k],
                pr[k],
                "true" if th[k] else "false",
            )
            for r, k in enumerate(order[i][: n_elig[i]])
        )
        out.append(
            '{"complaint_id": %s, "recommended": %s, "candidates": [%s]}'  # noqa: UP031
            % (json.dumps(str(s.complaint_ids[i])), ids[choice[i]], cands)
        )
    return out


def write_rankings(recs: Recommendations, path: str | Path) -> None:
    """Write one JSON object per complaint (its full ranking), atomically."""
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as fh:
        for line in ranking_lines(recs):
            fh.write(line)
            fh.write("\n")
    os.replace(tmp, path)
