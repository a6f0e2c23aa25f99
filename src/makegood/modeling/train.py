"""Training: time-based holdout metrics, off-policy evaluation, final fit, bundle, MLflow.

Only this module (and ``modeling/registry.py``) talks to MLflow.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.contract.features import check_declared, check_feature_values
from makegood.features import memory as memory_mod
from makegood.features.pipeline import (
    assemble,
    check_extra_names,
    prepare,
)
from makegood.modeling.bundle import Bundle
from makegood.modeling.engine import Engine, EngineParams
from makegood.modeling.evaluate import off_policy_estimates, outcome_metrics, realized_reward
from makegood.modeling.fitting import FitResult, fit_engine
from makegood.modeling.lineage import data_hash, git_commit
from makegood.modeling.parameters import (  # noqa: F401 (public here too)
    check_params,
    check_protected,
    engine_params,
)
from makegood.modeling.promotion import compare_with_champion
from makegood.modeling.selection import select_params
from makegood.modeling.support import log_support, scored_candidates
from makegood.policy.budget import allocate
from makegood.policy.value import net_value

DEFAULT_TRACKING_URI = "sqlite:///mlruns/mlflow.db"
EXPERIMENT = "makegood"


@dataclass
class TrainResult:
    """What :func:`train` produced: the bundle, its metrics, where it went."""

    bundle: Bundle
    metrics: dict[str, float]
    bundle_path: Path | None
    run_id: str | None
    timings: dict[str, float] = field(default_factory=dict)


def holdout_split(df: pd.DataFrame, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, holdout): the latest ``fraction`` of complaints by opened_at."""
    if not 0 < fraction < 1:
        return np.ones(len(df), bool), np.zeros(len(df), bool)
    cutoff = df["opened_at"].quantile(1 - fraction)
    hold = (df["opened_at"] > cutoff).to_numpy()
    return ~hold, hold


def _evaluate_holdout(
    fit: FitResult,
    prep: pd.DataFrame,
    mem: pd.DataFrame | None,
    hold: np.ndarray,
    catalog: Catalog,
) -> dict[str, float]:
    eng = fit.engine
    ph = prep[hold].reset_index(drop=True)
    scores, names = None, []
    if fit.text_signals is not None:
        scores = fit.text_signals.transform(ph["complaint_text"].tolist())
        names = list(fit.text_signals.feature_names_)
    mh = mem[hold].reset_index(drop=True) if mem is not None else None
    X = assemble(ph, mh, scores, names, eng.spec).X
    comp = catalog.compensation_matrix(ph["disputed_amount"].to_numpy(float))
    pred = eng.predict(X, compensation=comp)
    A = np.array([catalog.index(r) for r in ph["resolution"]])
    rows = np.arange(len(ph))
    y_churn = ph["churned_90d"].to_numpy(float)
    y_sat = ph["satisfaction"].to_numpy(float)
    metrics = outcome_metrics(
        y_churn, pred["churn_prob"][rows, A], y_sat, pred["satisfaction"][rows, A]
    )
    eligible = catalog.eligibility_matrix(ph["issue_type"].to_numpy(), ph["severity"].to_numpy())
    prop = eng.predict_propensity(X, eligible)
    metrics["propensity_logloss"] = float(-np.mean(np.log(np.clip(prop[rows, A], 1e-6, 1))))
    # off-policy: makegood at the budget the agents actually spent, against the agents
    ltv = ph["lifetime_value"].to_numpy(float)
    hc = catalog.handling_costs
    q = net_value(ltv, pred["churn_prob"], comp, hc)
    spent = float(ph["compensation"].sum())
    alloc = allocate(q, comp, eligible, spent)
    reward = realized_reward(ltv, y_churn, ph["compensation"].to_numpy(float), hc[A])
    e_obs = ph["logging_propensity"].to_numpy(float)
    e_obs = np.where(np.isnan(e_obs), prop[rows, A], e_obs)
    est = off_policy_estimates(reward, A, alloc.choice, e_obs, q)
    for name, e in est.items():
        metrics[f"ope_{name}_value"] = e.value
        metrics[f"ope_{name}_lo"] = e.lo
        metrics[f"ope_{name}_hi"] = e.hi
    metrics["ope_dr_gain_per_complaint"] = est["dr"].value - est["logged"].value
    metrics["holdout_rows"] = float(len(ph))
    return metrics


def train(
    history: pd.DataFrame,
    catalog: Catalog,
    *,
    params: EngineParams | None = None,
    holdout_fraction: float = 0.2,
    models_dir: str | Path | None = "models",
    tracking_uri: str | None = DEFAULT_TRACKING_URI,
    experiment: str = EXPERIMENT,
    run_name: str | None = None,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
    champion_name: str | None = "makegood",
    features: Mapping[str, str] | None = None,
) -> TrainResult:
    """Fit makegood's models on a normalized history frame and save/log them.

    Returns a :class:`TrainResult`. With ``models_dir=None`` nothing is written; with
    ``tracking_uri=None`` nothing is logged to MLflow. When the store has a
    ``champion_name@champion``, the holdout model's policy is compared with the
    champion's on the holdout complaints newer than the champion's training data
    (metrics ``vs_champion_*``, tag ``champion_comparison``).

    ``params.protected`` names columns the models must never read: they and the inputs
    derived from them are left out of the design (``features.pipeline.protected_inputs``;
    ``complaint_text`` turns off the text signals and the intent strengths), and the list
    is kept in the bundle (its engine parameters) for the fairness audit. ``features``
    are the company's own columns declared as model inputs, name -> kind (a mapping's
    ``features:`` or ``--feature-columns``; :mod:`makegood.features.extra`): they join
    ``params.features``, and one that is also protected is refused.

    The final fit's cross-fitted predictions also say how far the learned policy moves
    from the logged one (:func:`~makegood.modeling.support.log_support`): in the metrics
    and in the bundle's ``log_support``.

    Raises:
        InvalidParameterError: if a parameter breaks its rule (:func:`check_params`), a
            declared feature is an outcome, a contract column or a built-in input name, or
            a protected column is unknown or declared as a feature (:func:`check_protected`).
        ContractError: a declared feature is not a column of the history, or a ``number``
            one holds something else (naming the row).
    """
    params = check_params(params or EngineParams(), holdout_fraction)
    if features:
        declared = dict(params.features) | check_declared(features)
        params = dataclasses.replace(params, features=tuple(declared.items()))
    check_extra_names([name for name, _ in params.features])
    check_protected(history, params.protected, [name for name, _ in params.features])
    check_feature_values(history, dict(params.features), source=source or "history")
    if "complaint_text" in params.protected:
        params = dataclasses.replace(params, use_text=False, use_intents=False)
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    df = history.sort_values("opened_at", kind="stable").reset_index(drop=True)
    say("preparing features (emotion from text, customer memory)")
    prep = prepare(df)
    mem = memory_mod.customer_memory(prep) if params.use_memory else None
    timings["prepare_s"] = time.perf_counter() - t0

    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    # settings (the trees' size) chosen on the whole history by cross-validated
    # off-policy value when it is small; fixed for the holdout fit and the final one
    t1 = time.perf_counter()
    selection = select_params(prep, catalog, params, mem=mem, progress=say)
    params = selection.params
    tags["selection"] = selection.reason
    metrics.update(selection.metrics())
    if selection.table:
        timings["selection_s"] = time.perf_counter() - t1
    tr, hold = holdout_split(prep, holdout_fraction)
    if hold.sum() >= 50 and tr.sum() >= 200:
        t1 = time.perf_counter()
        say(
            f"holdout fit: {int(tr.sum())} earlier rows, evaluating on {int(hold.sum())} later rows"
        )
        fit_h = fit_engine(
            prep[tr].reset_index(drop=True),
            catalog,
            params,
            mem=mem[tr].reset_index(drop=True) if mem is not None else None,
            progress=lambda m: say(f"holdout {m}"),
        )
        metrics.update(_evaluate_holdout(fit_h, prep, mem, hold, catalog))
        timings["holdout_s"] = time.perf_counter() - t1
        if tracking_uri is not None and champion_name:
            say("comparing the holdout model with the champion")
            note, vs = _compare_with_champion(
                fit_h, df, prep, tr, hold, catalog, params, champion_name, tracking_uri
            )
            tags["champion_comparison"] = note
            metrics.update(vs)

    t2 = time.perf_counter()
    if selection.fit is not None:  # the chosen candidate was fitted on all rows already
        fit = selection.fit
    else:
        say(f"final fit on all {len(prep)} rows")
        fit = fit_engine(prep, catalog, params, mem=mem, progress=lambda m: say(f"final {m}"))
    timings["final_fit_s"] = time.perf_counter() - t2
    support = log_support(
        prep,
        catalog,
        fit.oof["churn_prob"],
        fit.oof["propensity"],
        scored_candidates(
            fit.engine.supported_actions(), fit.oof["eligible"], catalog.baseline_index
        ),
        min_propensity=params.propensity_clip,
    )
    metrics.update(support.metrics())
    pooled = fit.engine.diagnostics.get("pooled")
    if pooled:  # the own slopes' penalty and rank the folds chose (see modeling/pooled.py)
        metrics["sat_pooled_penalty"] = float(pooled["penalty"])
        metrics["sat_pooled_rank"] = float(pooled["rank"])
    # the store keeps the prepared rows (emotion detected where unknown): scoring reads
    # the same earlier-complaint values training did
    memory = memory_mod.CustomerMemoryStore.from_history(prep) if params.use_memory else None
    trained_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    dhash = data_hash(history)
    meta = {
        "trained_at": trained_at,
        "data_hash": dhash,
        "git_commit": git_commit(),
        "source": source,
        "n_rows": len(df),
        "data_range": [str(df["opened_at"].min()), str(df["opened_at"].max())],
        "metrics": metrics,
        "holdout_fraction": holdout_fraction,
        "log_support": support.as_dict(),
        "selection": selection.reason,
    }
    bundle = Bundle(fit.engine, catalog, fit.text_signals, memory, meta)
    version = f"v{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{dhash[:8]}"

    run_id = None
    if tracking_uri is not None:
        say("logging to MLflow")
        t3 = time.perf_counter()
        run_id = _log_mlflow(
            bundle, fit, params, metrics, meta, tracking_uri, experiment, run_name, version, tags
        )
        bundle.meta["mlflow_run_id"] = run_id
        bundle.meta["tracking_uri"] = tracking_uri
        timings["mlflow_s"] = time.perf_counter() - t3
    bundle_path = None
    if models_dir is not None:
        bundle_path = bundle.save(models_dir, version)
        if run_id is not None and tracking_uri is not None:
            _log_bundle_artifacts(bundle_path, run_id, tracking_uri)
    timings["total_s"] = time.perf_counter() - t0
    return TrainResult(bundle, metrics, bundle_path, run_id, timings)


def resolve_tracking_uri(uri: str) -> str:
    """Make sure a local SQLite store's folder exists (MLflow does not create it)."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
    return uri


def artifact_location(uri: str) -> str | None:
    """Artifacts beside a local SQLite store: ``<store folder>/artifacts``."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///") :]).resolve()
        return (path.parent / "artifacts").as_uri()
    return None


def get_or_create_experiment(mlflow, name: str, uri: str) -> str:
    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location(uri))


def _compare_with_champion(
    fit_h: FitResult,
    df: pd.DataFrame,
    prep: pd.DataFrame,
    tr: np.ndarray,
    hold: np.ndarray,
    catalog: Catalog,
    params: EngineParams,
    name: str,
    uri: str,
) -> tuple[str, dict[str, float]]:
    """The holdout model against ``name@champion`` on the holdout rows (see ``train``)."""
    earlier = prep[tr]  # the store keeps prepared rows, as the final bundle's does
    memory = memory_mod.CustomerMemoryStore.from_history(earlier) if params.use_memory else None
    meta = {
        "version": "holdout model",
        "data_range": [str(earlier["opened_at"].min()), str(earlier["opened_at"].max())],
    }
    candidate = Bundle(fit_h.engine, catalog, fit_h.text_signals, memory, meta)
    held = df[hold].reset_index(drop=True)
    _, comp, note = compare_with_champion(candidate, held, catalog, name=name, tracking_uri=uri)
    if comp is None:
        return note, {}
    return note, {
        "vs_champion_gain": comp.gain.value,
        "vs_champion_gain_lo": comp.gain.lo,
        "vs_champion_gain_hi": comp.gain.hi,
        "vs_champion_candidate_dr": comp.candidate.value,
        "vs_champion_champion_dr": comp.champion.value,
        "vs_champion_rows": float(comp.n),
    }


def _log_mlflow(
    bundle, fit, params, metrics, meta, uri, experiment, run_name, version, tags=None
) -> str:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    import mlflow.lightgbm
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(resolve_tracking_uri(uri))
    exp_id = get_or_create_experiment(mlflow, experiment, uri)
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name or version) as run:
        mlflow.log_params({f"engine.{k}": v for k, v in vars(params).items()})
        mlflow.log_params({"holdout_fraction": meta["holdout_fraction"], "n_rows": meta["n_rows"]})
        mlflow.set_tags(
            {
                "data_hash": meta["data_hash"],
                "git_commit": meta["git_commit"],
                "bundle_version": version,
                "source": str(meta.get("source")),
                "data_range": " .. ".join(meta["data_range"]),
                **(tags or {}),
            }
        )
        finite = {k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)}
        if finite:
            mlflow.log_metrics(finite)
        # pinned from what is installed: MLflow's own inference costs ~3 s per model
        reqs = _pip_requirements()
        X = fit.oof["X"]
        A = fit.oof["action"]
        n_ex = min(5, len(X))
        eng = fit.engine
        # the fold-0 models, as MLflow LightGBM models with signature and input example
        money = fit.oof["compensation_given"][:200] if eng.params.money_input else None
        xa = Engine.outcome_input(X[:200], A[:200], money=money)
        names = [*eng.spec.names, "resolution_code"]
        if money is not None:
            names.append("compensation")
        mediated = eng.mediated  # off when the history had too few surveys
        xc = (
            Engine.outcome_input(X[:200], A[:200], eng.predict_satisfaction(0, xa), money=money)
            if mediated
            else xa
        )
        cnames = [*names, "expected_satisfaction"] if mediated else names
        logged = [
            ("churn_model", eng.churn_models[0], xc, cnames),
            ("propensity_model", eng.prop_models[0], X, eng.spec.names),
        ]
        if eng.sat_models:
            logged.insert(0, ("satisfaction_model", eng.sat_models[0], xa, names))
        for name, model, inputs, columns in logged:
            example = pd.DataFrame(inputs[:n_ex], columns=columns)
            mlflow.lightgbm.log_model(
                model,
                name=name,
                signature=infer_signature(example, model.predict(inputs[:n_ex])),
                input_example=example,
                pip_requirements=reqs,
            )
        if eng.sat_linear:  # the satisfaction trees above are fitted on top of this layer
            mlflow.log_dict(eng.sat_linear[0].to_dict(), "satisfaction_model_linear.json")
        return run.info.run_id


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{p}=={version(p)}" for p in ("lightgbm", "numpy", "pandas", "scikit-learn")]


def _log_bundle_artifacts(bundle_path: Path, run_id: str, uri: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(run_id=run_id):
        mlflow.log_artifacts(str(bundle_path), artifact_path="bundle")
