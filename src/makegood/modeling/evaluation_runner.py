"""``makegood evaluate``: capture against the oracle (simulated truth) or off-policy value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog, load_catalog
from makegood.contract.files import read_complaints, read_history
from makegood.errors import ContractError, Violation
from makegood.modeling.bundle import Bundle, load_bundle
from makegood.modeling.evaluate import (
    CaptureResult,
    PolicyComparison,
    capture,
    compare_policies,
    logged_outcomes,
    off_policy_estimates,
)
from makegood.modeling.lineage import data_hash
from makegood.modeling.predict import recommend, score
from makegood.modeling.references import NaiveSLearner, standard_formula_values
from makegood.modeling.registry import resolve_models_dir
from makegood.policy.budget import allocate


@dataclass
class TruthMatrices:
    """The simulator's truth as (n, K) arrays aligned with complaints and catalog."""

    net_value: np.ndarray
    satisfaction: np.ndarray
    churn_prob: np.ndarray
    eligible: np.ndarray


def load_truth(path: str | Path, complaints: pd.DataFrame, catalog: Catalog) -> TruthMatrices:
    """Read a simulator ``truth.csv`` (long form) into matrices; raises ContractError."""
    t = pd.read_csv(path, dtype={"complaint_id": str, "resolution": str})
    return load_truth_frame(t, complaints, catalog, source=str(path))


def load_truth_frame(
    t: pd.DataFrame, complaints: pd.DataFrame, catalog: Catalog, *, source: str = "<truth>"
) -> TruthMatrices:
    """The simulator's long-form truth frame as matrices aligned with complaints/catalog."""
    path = source
    need = {"complaint_id", "resolution", "true_net_value", "true_satisfaction", "true_churn_prob"}
    missing = need - set(t.columns)
    if missing:
        raise ContractError(
            [
                Violation(str(path), None, None, c, "required truth column is missing")
                for c in sorted(missing)
            ]
        )
    n, K = len(complaints), len(catalog.ids)
    pos = pd.Series(np.arange(n), index=complaints["complaint_id"].to_numpy())
    i = pos.reindex(t["complaint_id"]).to_numpy()
    k = pd.Series(np.arange(K), index=list(catalog.ids)).reindex(t["resolution"]).to_numpy()
    ok = ~(np.isnan(i) | np.isnan(k))
    i, k = i[ok].astype(int), k[ok].astype(int)
    nv = np.full((n, K), -np.inf)
    sat = np.full((n, K), np.nan)
    churn = np.full((n, K), np.nan)
    nv[i, k] = t["true_net_value"].to_numpy()[ok]
    sat[i, k] = t["true_satisfaction"].to_numpy()[ok]
    churn[i, k] = t["true_churn_prob"].to_numpy()[ok]
    elig = catalog.eligibility_matrix(
        complaints["issue_type"].to_numpy(), complaints["severity"].to_numpy()
    )
    elig &= np.isfinite(nv)
    return TruthMatrices(np.where(elig, nv, -1e12), sat, churn, elig)


@dataclass
class EvaluationResult:
    budget: float
    oracle_unconstrained_spend: float | None = None
    policies: dict[str, CaptureResult] = field(default_factory=dict)
    ope: dict[str, dict[str, float]] = field(default_factory=dict)
    model_version: str = ""
    in_sample: bool = False

    def as_dict(self) -> dict:
        return {
            "in_sample": self.in_sample,
            "model_version": self.model_version,
            "budget": self.budget,
            "oracle_unconstrained_spend": self.oracle_unconstrained_spend,
            "policies": {k: v.as_dict() for k, v in self.policies.items()},
            "ope": self.ope,
        }

    def render(self) -> str:
        lines = [f"model {self.model_version}; budget {self.budget:,.2f}"]
        if self.oracle_unconstrained_spend is not None:
            lines[0] += f" (oracle's unconstrained spend {self.oracle_unconstrained_spend:,.2f})"
        if self.policies:
            lines.append(f"{'policy':18s} {'capture':>8s} {'spend':>12s} {'mean sat':>9s}")
            for name, r in self.policies.items():
                lines.append(
                    f"{name:18s} {r.capture:8.3f} {r.spend:12,.2f} {r.mean_satisfaction:9.2f}"
                )
        if self.in_sample and self.ope:
            lines.append(
                "warning: these complaints are the model's own training data, so the outcome "
                "model is in-sample and the intervals optimistic; prefer the holdout figures "
                "logged at training (ope_* metrics) or newer complaints"
            )
        for name, e in self.ope.items():
            lines.append(
                f"OPE {name:8s} {e['value']:10.2f} per complaint  "
                f"95% CI [{e['lo']:.2f}, {e['hi']:.2f}]"
            )
        return "\n".join(lines)


def capture_table(
    bundle: Bundle,
    history: pd.DataFrame,
    complaints: pd.DataFrame,
    truth: TruthMatrices,
    catalog: Catalog,
    *,
    budget: float | None = None,
    budget_fraction: float = 0.25,
    progress: Callable[[str], None] = lambda _m: None,
    scores=None,
) -> EvaluationResult:
    """Capture of makegood, the naive S-learner and the standard formula at one budget."""
    comp = catalog.compensation_matrix(complaints["disputed_amount"].to_numpy(float))
    base = catalog.baseline_index
    unconstrained = allocate(truth.net_value, comp, truth.eligible, float(comp.sum()) + 1.0)
    full = unconstrained.spend
    if budget is None:
        budget = budget_fraction * full
    res = EvaluationResult(budget=float(budget), oracle_unconstrained_spend=float(full))
    res.model_version = bundle.version

    def cap(choice: np.ndarray) -> CaptureResult:
        return capture(
            choice, truth.net_value, truth.satisfaction, comp, truth.eligible, base, budget
        )

    progress("makegood recommendations")
    recs = recommend(bundle, complaints, budget, scores=scores)
    res.policies["makegood"] = cap(recs.allocation.choice)
    progress("naive S-learner")
    naive = NaiveSLearner().fit(history, catalog).predict(complaints)
    res.policies["naive_s_learner"] = cap(
        allocate(naive["net_value"], comp, truth.eligible, budget).choice
    )
    progress("standard formula")
    sf = standard_formula_values(history, catalog, complaints)
    res.policies["standard_formula"] = cap(allocate(sf, comp, truth.eligible, budget).choice)
    res.policies["all_baseline"] = cap(np.full(len(complaints), base))
    return res


def off_policy_table(
    bundle: Bundle, history: pd.DataFrame, catalog: Catalog, budget: float | None = None
) -> EvaluationResult:
    """IPS / SNIPS / DR value of makegood's policy on logged complaints vs the logged one.

    The budget defaults to what the logged policy spent, so both spend the same.
    """
    s = score(bundle, history)
    A, reward, e = logged_outcomes(history, catalog)
    budget = float(history["compensation"].sum()) if budget is None else budget
    alloc = allocate(s.net_value, s.compensation, s.eligible, budget)
    e = np.where(np.isnan(e), s.propensity[np.arange(len(history)), A], e)
    est = off_policy_estimates(reward, A, alloc.choice, e, s.net_value)
    res = EvaluationResult(budget=float(budget), model_version=bundle.version)
    res.ope = {k: v.as_dict() for k, v in est.items()}
    return res


MIN_COMPARE_ROWS = 200  # held-out logged complaints needed to compare two models


def trained_until(bundle: Bundle) -> pd.Timestamp | None:
    """The latest opened_at of the complaints ``bundle`` was trained on (None if unknown)."""
    rng = bundle.meta.get("data_range")
    return pd.Timestamp(rng[1]) if rng else None


def held_out_rows(history: pd.DataFrame, *bundles: Bundle) -> np.ndarray:
    """Mask of the complaints opened after every bundle's training data (none saw them)."""
    keep = np.ones(len(history), dtype=bool)
    opened = history["opened_at"]
    for b in bundles:
        until = trained_until(b)
        if until is not None:
            keep &= (opened > until).to_numpy()
    return keep


def compare_bundles(
    candidate: Bundle,
    champion: Bundle,
    history: pd.DataFrame,
    catalog: Catalog,
    *,
    budget: float | None = None,
    source: str = "<history>",
) -> PolicyComparison:
    """DR value of the candidate's policy minus the champion's, on the same held-out complaints.

    Only the complaints of ``history`` opened after both models' training data are used
    (a model's own training rows would flatter it). Both policies get the budget the
    agents spent on those complaints; both are scored with one outcome model, the mean
    of the two models' net values, and one propensity, the logged ``logging_propensity``
    where recorded, else the mean of the two propensity models (so the difference comes
    from the choices alone). Raises ContractError when fewer than ``MIN_COMPARE_ROWS``
    held-out complaints remain.
    """
    keep = held_out_rows(history, candidate, champion)
    if keep.sum() < MIN_COMPARE_ROWS:
        until = max(
            (t for t in (trained_until(candidate), trained_until(champion)) if t is not None),
            default=None,
        )
        raise ContractError(
            [
                Violation(
                    source,
                    None,
                    None,
                    "opened_at",
                    f"{int(keep.sum())} complaint(s) were opened after {until} (the end of "
                    f"the training data of {candidate.version} and {champion.version}); "
                    f"comparing the two needs at least {MIN_COMPARE_ROWS} logged complaints "
                    "neither model was trained on",
                )
            ]
        )
    hist = history[keep].reset_index(drop=True)
    s_c = score(candidate.with_catalog(catalog), hist)
    s_h = score(champion.with_catalog(catalog), hist)
    A, reward, e = logged_outcomes(hist, catalog)
    rows = np.arange(len(hist))
    spent = float(hist["compensation"].sum()) if budget is None else float(budget)
    choice_c = allocate(s_c.net_value, s_c.compensation, s_c.eligible, spent).choice
    choice_h = allocate(s_h.net_value, s_h.compensation, s_h.eligible, spent).choice
    e_model = 0.5 * (s_c.propensity[rows, A] + s_h.propensity[rows, A])
    e = np.where(np.isnan(e), e_model, e)
    q = 0.5 * (s_c.net_value + s_h.net_value)
    return compare_policies(reward, A, choice_c, choice_h, e, q)


def run_evaluation(
    *,
    complaints: Path,
    catalog: Path,
    history: Path,
    truth: Path | None,
    budget: float | None,
    budget_fraction: float,
    models_dir: Path,
    tracking_uri: str | None = None,
    progress: Callable[[str], None] = lambda _m: None,
) -> EvaluationResult:
    """What ``makegood evaluate`` runs; see its help."""
    cat = load_catalog(catalog)
    bundle = load_bundle(resolve_models_dir(models_dir, tracking_uri)).with_catalog(cat)
    progress(f"reading {history}")
    hist = read_history(history, catalog=cat)
    if truth is not None:
        progress(f"reading {complaints} and {truth}")
        comp = read_complaints(complaints)
        tm = load_truth(truth, comp, cat)
        result = capture_table(
            bundle,
            hist,
            comp,
            tm,
            cat,
            budget=budget,
            budget_fraction=budget_fraction,
            progress=progress,
        )
    else:
        progress("off-policy evaluation on the history")
        result = off_policy_table(bundle, hist, cat, budget)
        result.in_sample = data_hash(hist) == bundle.meta.get("data_hash")
    if tracking_uri is not None and bundle.meta.get("mlflow_run_id"):
        _log(result, bundle.meta["mlflow_run_id"], tracking_uri)
    return result


def _log(result: EvaluationResult, run_id: str, uri: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    metrics = {"eval_budget": result.budget}
    for name, r in result.policies.items():
        metrics[f"eval_{name}_capture"] = r.capture
        metrics[f"eval_{name}_spend"] = r.spend
    for name, e in result.ope.items():
        for k, v in e.items():
            metrics[f"eval_ope_{name}_{k}"] = v
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if np.isfinite(v)})
