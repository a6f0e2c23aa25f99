"""Per-candidate counterfactual predictions and budgeted recommendations.

``score`` answers, for every complaint and every resolution in the catalog, what the
customer's satisfaction and churn would be if given it, with intervals; ``recommend``
chooses one eligible resolution per complaint under the budget, and under the catalog's
guardrails when it has some (``policy.guardrails.guarded_allocate``: floors owed, caps
per customer; the caps count what each customer was already given, see
:func:`recorded_spent`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.features.intents.said import customer_said_many
from makegood.modeling.bundle import Bundle
from makegood.policy.budget import Allocation, allocate
from makegood.policy.forecast import Z95
from makegood.policy.guardrails import GuardrailCut, Guardrails, Spent, guarded_allocate
from makegood.policy.value import net_value, retention_lift

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
    # (n, K, F) each fold's uncorrected satisfaction and churn (``score_rows(folds=True)``)
    sat_folds: np.ndarray | None = None
    churn_folds: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.complaint_ids)


def features_for(bundle: Bundle, complaints: pd.DataFrame) -> np.ndarray:
    """The base model matrix of normalized new complaints (memory from the bundle)."""
    return bundle.pipeline.transform(complaints)


def score(bundle: Bundle, complaints: pd.DataFrame, *, X: np.ndarray | None = None) -> Scores:
    """Predict every candidate of every complaint. ``complaints`` is a normalized frame."""
    if X is None:
        X = features_for(bundle, complaints)
    return score_rows(
        bundle,
        X,
        complaint_ids=complaints["complaint_id"].to_numpy(),
        issue_type=complaints["issue_type"].to_numpy(),
        severity=complaints["severity"].to_numpy(),
        disputed_amount=complaints["disputed_amount"].to_numpy(dtype=float),
        lifetime_value=complaints["lifetime_value"].to_numpy(dtype=float),
    )


def score_rows(
    bundle: Bundle,
    X: np.ndarray,
    *,
    complaint_ids: np.ndarray,
    issue_type: np.ndarray,
    severity: np.ndarray,
    disputed_amount: np.ndarray,
    lifetime_value: np.ndarray,
    eligible: np.ndarray | None = None,
    folds: bool = False,
) -> Scores:
    """Every candidate of complaints given as their model rows ``X`` and the fields
    scoring reads (arrays of length n): the one scoring function of ``recommend``, the
    finance report and the service (n = 1).

    A candidate is eligible when the catalog allows it for the complaint and the
    history gave it at least ``MIN_ACTION_ROWS`` times (the baseline always counts);
    ``eligible`` may pass the catalog's part, precomputed. Satisfaction is NaN when the
    bundle has no satisfaction model. ``folds`` keeps each fold's predictions
    (``Scores.sat_folds``, ``churn_folds``) for the explanation of a few complaints.
    """
    cat: Catalog = bundle.catalog
    idx = bundle.action_index
    comp = cat.compensation_matrix(disputed_amount)
    money = np.zeros((len(X), bundle.engine.n_actions))
    money[:, idx] = comp  # in the engine's action order (a resolution not offered: 0)
    pred = {
        k: v[:, idx] for k, v in bundle.engine.predict(X, compensation=money, folds=folds).items()
    }
    if eligible is None:
        eligible = cat.eligibility_matrix(issue_type, severity)
    eligible = eligible & supported_candidates(bundle)[None, :]
    ltv = lifetime_value
    hc = cat.handling_costs
    churn = pred["churn_prob"]
    lo = np.clip(churn - Z95 * pred["churn_sd"], 0.0, 1.0)
    hi = np.clip(churn + Z95 * pred["churn_sd"], 0.0, 1.0)
    return Scores(
        complaint_ids=complaint_ids,
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
        sat_folds=pred.get("sat_folds"),
        churn_folds=pred.get("churn_folds"),
    )


def supported_candidates(bundle: Bundle) -> np.ndarray:
    """(K,) bool in catalog order: resolutions with evidence to score (the baseline always).

    A resolution given fewer than ``MIN_ACTION_ROWS`` times in the history is not a
    candidate: its predictions would be the model's guess, not evidence.
    """
    supported = bundle.engine.supported_actions()[bundle.action_index]
    supported[bundle.catalog.baseline_index] = True
    return supported


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
    #: per complaint, the intents its customer voiced (``[{"intent", "quote"}, ...]``)
    customer_said: list[list[dict[str, str]]] | None = None
    #: the guardrails' eligibility and reasons (None when the catalog has no guardrails)
    cut: GuardrailCut | None = None

    def rankings(self) -> list[dict]:
        """Each complaint's full ranking of eligible candidates, best net value first
        (the parsed lines of :func:`ranking_lines`)."""
        return [json.loads(line) for line in ranking_lines(self)]


def recommend(
    bundle: Bundle,
    complaints: pd.DataFrame,
    budget: float,
    *,
    conservative: bool = False,
    scores: Scores | None = None,
    spent: Spent | None = None,
) -> Recommendations:
    """Choose one eligible resolution per complaint maximising net value under ``budget``.

    ``conservative`` ranks by the lower end of each candidate's 95% net-value interval.
    Each complaint's ``customer_said`` (what its customer asked for, quoted) comes along
    for the rankings. With guardrails in the catalog the choice is
    :func:`~makegood.policy.guardrails.guarded_allocate`'s; ``spent`` is what customers
    were already given (default: :func:`recorded_spent` of the bundle), and the frame
    gains the columns ``guardrail`` and ``guardrail_reason``.

    Raises:
        GuardrailBudgetError: the budget cannot fund what the guardrails require (the
            message names the amount needed).
        BudgetError: the budget is invalid or cannot cover the cheapest choices.
    """
    s = scores if scores is not None else score(bundle, complaints)
    value = s.net_value_lo if conservative else s.net_value
    said = heard_in(complaints)
    cat = bundle.catalog
    if not cat.guardrails:
        alloc = allocate(value, s.compensation, s.eligible, float(budget))
        return recommendations(s, alloc, budget, conservative=conservative, customer_said=said)
    if spent is None and cat.caps:
        spent = recorded_spent(bundle)
    rails = Guardrails.of(cat, complaints, spent)
    guarded = guarded_allocate(value, s.compensation, s.eligible, float(budget), rails)
    return recommendations(
        s,
        guarded.allocation,
        budget,
        conservative=conservative,
        customer_said=said,
        cut=guarded.cut,
        currency=cat.currency,
    )


def recorded_spent(bundle: Bundle) -> Spent:
    """What each customer was given in the bundle's history (its customer memory), or
    nothing when the bundle keeps no memory."""
    if bundle.memory is None:
        return Spent.nothing()
    return Spent(*bundle.memory.payments())


def spent_in(history: pd.DataFrame) -> Spent:
    """What each customer was given in a normalized history frame (``read_history``):
    one payment per complaint, its ``compensation`` at its ``opened_at``."""
    return Spent(
        history["customer_id"].to_numpy(dtype=object),
        history["opened_at"].to_numpy(dtype="datetime64[ns]"),
        history["compensation"].to_numpy(dtype=float),
    )


def guardrail_columns(cut: GuardrailCut, currency: str = "USD") -> dict[str, np.ndarray]:
    """The output columns of the guardrails: ``guardrail`` (which one decided:
    ``floor``, ``floor_unreachable``, ``cap`` or empty) and ``guardrail_reason`` (the
    figures behind it, :meth:`GuardrailCut.reason`; empty where none decided)."""
    decided = np.asarray(cut.decided_by, dtype=object)
    reason = np.full(decided.size, "", dtype=object)
    for i in np.flatnonzero(decided != "").tolist():
        reason[i] = cut.reason(i, currency)
    return {"guardrail": decided, "guardrail_reason": reason}


def heard_in(complaints: pd.DataFrame) -> list[list[dict[str, str]]]:
    """Each complaint's ``customer_said`` (its intents, quoted), empty without text."""
    if "complaint_text" not in complaints.columns:
        return [[] for _ in range(len(complaints))]
    return customer_said_many(complaints["complaint_text"].tolist())


def recommendations(
    s: Scores,
    alloc: Allocation,
    budget: float,
    *,
    conservative: bool = False,
    floor_cents: bool | None = None,
    customer_said: list[list[dict[str, str]]] | None = None,
    cut: GuardrailCut | None = None,
    currency: str = "USD",
) -> Recommendations:
    """The output of an allocation of scored complaints (one batch, or one partition).

    Compensation is written to the cent; ``floor_cents`` rounds it down instead, which
    ``None`` chooses when rounding would push this batch's written total over ``budget``
    (a partition of a larger batch gets the decision made for the whole).
    ``customer_said`` (see :func:`heard_in`) rides along for the rankings. With ``cut``
    (the guardrails' answer for these rows) the frame gains :func:`guardrail_columns`.
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
    if cut is not None:
        for name, values in guardrail_columns(cut, currency).items():
            frame[name] = values
    return Recommendations(frame, alloc, s, float(budget), conservative, customer_said, cut)


def rounded(values: np.ndarray, decimals: int, missing: Any = None) -> list:
    """``values`` rounded to ``decimals`` as (nested) Python lists, with ``missing`` in
    place of every NaN or infinity (JSON has neither).

    >>> rounded(np.array([[1.23456, np.nan], [np.inf, -0.5]]), 2)
    [[1.23, None], [None, -0.5]]
    """
    r = np.round(np.asarray(values, dtype=np.float64), decimals)
    finite = np.isfinite(r)
    if finite.all():
        return r.tolist()
    out = r.astype(object)
    out[~finite] = missing
    return out.tolist()


def candidate_columns(s: Scores, missing: Any = None) -> dict[str, list]:
    """The per-candidate values a ranking shows, rounded as written, (n, K) lists each:
    the one definition behind ``<output>.rankings.jsonl`` and the service's candidates.

    Keys: ``compensation`` (2 decimals), ``expected_satisfaction`` (3),
    ``churn_probability`` (5), ``retention_lift`` (5), ``net_value``, ``net_value_lo``,
    ``net_value_hi`` (2), ``propensity`` (4), ``thin_evidence`` (bool). Non-finite
    values (e.g. satisfaction of a model trained without surveys) are ``missing``.
    """
    return {
        "compensation": rounded(s.compensation, 2, missing),
        "expected_satisfaction": rounded(s.satisfaction, 3, missing),
        "churn_probability": rounded(s.churn_prob, 5, missing),
        "retention_lift": rounded(s.retention_lift, 5, missing),
        "net_value": rounded(s.net_value, 2, missing),
        "net_value_lo": rounded(s.net_value_lo, 2, missing),
        "net_value_hi": rounded(s.net_value_hi, 2, missing),
        "propensity": rounded(s.propensity, 4, missing),
        "thin_evidence": (s.propensity < THIN_EVIDENCE).tolist(),
    }


def ranking_order(s: Scores) -> list[list[int]]:
    """Per complaint, its eligible candidates (catalog indices), best net value first
    (ties: catalog order)."""
    order = np.argsort(-np.where(s.eligible, s.net_value, -np.inf), axis=1, kind="stable")
    n_elig = s.eligible.sum(axis=1).tolist()
    return [row[:k] for row, k in zip(order.tolist(), n_elig, strict=True)]


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (nested in lists/dicts) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


_CANDIDATE_TEMPLATE = (
    '{"rank": %d, "resolution": %s, "compensation": %s, "expected_satisfaction": %s, '
    '"churn_probability": %s, "retention_lift": %s, "net_value": %s, '
    '"net_value_interval": [%s, %s], "propensity": %s, "thin_evidence": %s}'
)


def ranking_lines(
    recs: Recommendations, extra: Mapping[str, Sequence[Any]] | None = None
) -> list[str]:
    """The full ranking of each complaint as one line of strict JSON (no NaN, no
    infinity: those are ``null``), one line per complaint::

        {"complaint_id": ..., "recommended": ..., "candidates": [{"rank": 1, ...}, ...],
         "customer_said": [{"intent": ..., "quote": ...}, ...]}

    ``customer_said`` is the intents the customer voiced, quoted verbatim (empty when
    none, or when ``recs`` carries none). Under guardrails each line also has
    ``guardrail`` and ``guardrail_reason`` (as in the frame). ``extra`` adds fields per line:
    ``extra[name][i]`` (any JSON value; non-finite numbers become null) is written as
    ``name`` on complaint ``i``'s line, after the candidates. Built by formatting
    rather than via dicts (the dicts cost more than the predictions they describe on
    large batches); equal to ``json.dumps`` of the parsed line.
    """
    s = recs.scores
    ids = [json.dumps(a) for a in s.action_ids]
    cols = candidate_columns(s, missing="null")
    names = (
        "compensation",
        "expected_satisfaction",
        "churn_probability",
        "retention_lift",
        "net_value",
        "net_value_lo",
        "net_value_hi",
        "propensity",
    )
    values = [cols[name] for name in names]
    thin = cols["thin_evidence"]
    order = ranking_order(s)
    choice = recs.allocation.choice.tolist()
    extras = list((extra or {}).items())
    frame = recs.frame
    if frame is not None and "guardrail" in frame.columns:  # which guardrail decided, and why
        extras = [
            (name, frame[name].tolist()) for name in ("guardrail", "guardrail_reason")
        ] + extras
    said = recs.customer_said
    out = []
    for i in range(s.n):
        c, sa, ch, li, nv, lo, hi, pr = (col[i] for col in values)
        th = thin[i]
        cands = ", ".join(
            _CANDIDATE_TEMPLATE
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
            for r, k in enumerate(order[i])
        )
        tail = "".join(
            f", {json.dumps(name)}: {json.dumps(_json_safe(vals[i]), allow_nan=False)}"
            for name, vals in extras
        )
        heard = json.dumps(said[i]) if said is not None else "[]"
        out.append(
            '{"complaint_id": %s, "recommended": %s, "candidates": [%s], '  # noqa: UP031
            '"customer_said": %s%s}'
            % (json.dumps(str(s.complaint_ids[i])), ids[choice[i]], cands, heard, tail)
        )
    return out


def write_rankings(
    recs: Recommendations,
    path: str | Path,
    extra: Mapping[str, Sequence[Any]] | None = None,
) -> None:
    """Write :func:`ranking_lines` (one JSON object per complaint), atomically."""
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w") as fh:
        for line in ranking_lines(recs, extra):
            fh.write(line)
            fh.write("\n")
    os.replace(tmp, path)
