"""Fitting the engine: :func:`fit_engine`, the driver, and its named stages.

The stages, in order: :func:`~makegood.modeling.design.build_design` (features, actions,
outcomes, folds), :func:`survey_response` (whether satisfaction is modelled, and the
chance of answering), :func:`fit_pooled_layers`, :func:`fit_propensity`,
:func:`fit_satisfaction`, :func:`fit_churn` (mediated by the cross-fitted satisfaction),
:func:`normalised_propensity` and :func:`dr_corrections` (:func:`dr_correction` per
outcome). Why these models: see :mod:`makegood.modeling.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import lightgbm as lgb
import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.features.text.signals import TextSignals
from makegood.modeling.design import Design, build_design
from makegood.modeling.engine import Engine, EngineParams, Progress, no_progress
from makegood.modeling.pooled import PooledLinear, fit_pooled

__all__ = [
    "MIN_OVERFIT_Z",
    "MIN_ROUNDS",
    "FitResult",
    "best_rounds",
    "dr_correction",
    "dr_corrections",
    "fit_churn",
    "fit_engine",
    "fit_pooled_layers",
    "fit_propensity",
    "fit_satisfaction",
    "normalised_propensity",
    "overfit_z",
    "survey_response",
]

MIN_SURVEYS = 100  # answered surveys needed to model satisfaction (and mediate churn by it)
MIN_ROUNDS = 20  # the churn model keeps at least this many rounds (see fit_churn)
MIN_OVERFIT_Z = 2.0  # paired standard errors of held-out loss that cut the churn rounds


@dataclass
class FitResult:
    engine: Engine
    text_signals: TextSignals | None
    oof: dict[str, np.ndarray]  # cross-fitted per-candidate predictions on the training rows


def fit_engine(
    prep: pd.DataFrame,
    catalog: Catalog,
    params: EngineParams | None = None,
    *,
    mem: pd.DataFrame | None = None,
    progress: Progress = no_progress,
) -> FitResult:
    """Fit every model on a prepared history frame (see
    :func:`~makegood.features.pipeline.prepare`).

    ``mem`` is the customer memory of these rows (computed from the frame when None and
    memory is used); see :mod:`makegood.modeling.engine` for the models. The stages, in
    order: :func:`~makegood.modeling.design.build_design` (features, actions, outcomes,
    folds), :func:`survey_response`
    (whether satisfaction is modelled, and the chance of answering),
    :func:`fit_pooled_layers`, :func:`fit_propensity`, :func:`fit_satisfaction`,
    :func:`fit_churn` (mediated by the cross-fitted satisfaction),
    :func:`normalised_propensity` and :func:`dr_corrections`.
    """
    params = (params or EngineParams()).resolved(len(prep))
    d, signals = build_design(prep, catalog, params, mem, progress)
    has_sat, p_answer = survey_response(d, params, progress)
    if not has_sat:
        params = replace(params, mediated=False)
    layers, diag_pooled = fit_pooled_layers(d, params, p_answer, has_sat, progress)
    prop_models, oof_prop = fit_propensity(d, params, progress)
    sat_models, oof_sat = fit_satisfaction(d, params, p_answer, layers, has_sat, progress)
    churn_models, oof_churn = fit_churn(d, params, oof_sat, progress)
    prop, e_obs = normalised_propensity(oof_prop, d.eligible, d.action, params.propensity_clip)
    churn_corr, sat_corr, dr_diag = dr_corrections(
        d, params, oof_churn, oof_sat, e_obs, p_answer, has_sat, progress
    )
    diag = ({"pooled": diag_pooled} if layers else {}) | dr_diag
    engine = Engine(
        params=params,
        spec=d.spec,
        action_ids=list(catalog.ids),
        sat_models=sat_models,
        churn_models=churn_models,
        prop_models=prop_models,
        churn_correction=churn_corr,
        sat_correction=sat_corr,
        diagnostics=diag,
        action_counts=np.bincount(d.action, minlength=d.n_actions).tolist(),
        sat_linear=layers,
    )
    oof = {
        "propensity": prop,
        "satisfaction": np.clip(oof_sat + sat_corr, 0, 10),
        "churn_prob": np.clip(oof_churn + churn_corr, 1e-4, 1 - 1e-4),
        "p_answer": p_answer,
        "X": d.X,
        "action": d.action,
        "compensation_given": prep["compensation"].to_numpy(float),
        "eligible": d.eligible,
    }
    return FitResult(engine, signals, oof)


# ----------------------------------------------------------------------------- stages


def survey_response(
    d: Design, params: EngineParams, progress: Progress = no_progress
) -> tuple[bool, np.ndarray]:
    """Whether satisfaction is modelled, and each row's probability of answering the survey.

    Satisfaction is modelled when at least :data:`MIN_SURVEYS` surveys were answered and
    every fold's training part holds at least half that many. The response model (given
    features and resolution) is fitted only when some but not all rows answered; its
    probabilities are clipped at 0.05 (the inverse weights stay bounded).
    """
    answered = d.answered
    n_answered = int(answered.sum())
    fold_answers = [int((answered & (d.fold != f)).sum()) for f in range(d.n_folds)]
    has_sat = n_answered >= MIN_SURVEYS and min(fold_answers) >= MIN_SURVEYS // 2
    if not has_sat:
        progress(f"only {n_answered} answered surveys: satisfaction is not modelled")
    if not 0 < n_answered < d.n:
        return has_sat, np.ones(d.n)
    progress("survey response model")
    resp = _train(params.lgb_params("binary"), d.xa_obs, answered.astype(float), 150, d.cat_a)
    return has_sat, np.clip(resp.predict(d.xa_obs), 0.05, 1.0)


def fit_pooled_layers(
    d: Design, params: EngineParams, p_answer: np.ndarray, has_sat: bool, progress: Progress
) -> tuple[list[PooledLinear], dict]:
    """One pooled linear satisfaction layer per fold (none without satisfaction or with
    ``pooled`` off), fitted on the answered rows weighted by 1 / p(answer)."""
    if not (has_sat and params.pooled):
        return [], {}
    progress("satisfaction: pooled linear layer")
    ans = d.answered
    return fit_pooled(
        d.X[ans],
        d.action[ans],
        d.y_sat[ans],
        1.0 / p_answer[ans],
        d.fold[ans],
        d.n_folds,
        categorical=d.cat_base,
        n_levels=d.n_levels,
        n_actions=d.n_actions,
    )


def fit_propensity(
    d: Design, params: EngineParams, progress: Progress = no_progress
) -> tuple[list[lgb.Booster], np.ndarray]:
    """The agents' choice model per fold, and its cross-fitted (n, K) probabilities."""
    K = d.n_actions
    models, oof = [], np.zeros((d.n, K))
    for f in range(d.n_folds):
        progress(f"fold {f + 1}/{d.n_folds}: propensity")
        tr, te = d.fold != f, d.fold == f
        pm = _train(
            params.lgb_params("multiclass", num_class=K, learning_rate=0.1, num_leaves=15),
            d.X[tr],
            d.action[tr],
            params.propensity_estimators,
            d.cat_base,
        )
        models.append(pm)
        oof[te] = np.asarray(pm.predict(d.X[te])).reshape(-1, K)
    return models, oof


def fit_satisfaction(
    d: Design,
    params: EngineParams,
    p_answer: np.ndarray,
    layers: list[PooledLinear],
    has_sat: bool,
    progress: Progress = no_progress,
) -> tuple[list[lgb.Booster], np.ndarray]:
    """The satisfaction trees per fold (on top of the fold's pooled layer, if any), and the
    cross-fitted (n, K) satisfaction of every candidate: all NaN when not modelled."""
    oof = np.full((d.n, d.n_actions), np.nan)
    if not has_sat:
        return [], oof
    models = []
    for f in range(d.n_folds):
        progress(f"fold {f + 1}/{d.n_folds}: satisfaction")
        tr, te = d.fold != f, d.fold == f
        trs = tr & d.answered
        layer = layers[f] if layers else None
        sm = _train(
            params.lgb_params("regression"),
            d.xa_obs[trs],
            d.y_sat[trs],
            params.n_estimators,
            d.cat_a,
            weight=1.0 / p_answer[trs],
            init_score=None if layer is None else layer.predict(d.xa_obs[trs]),
        )
        models.append(sm)
        linear = 0.0 if layer is None else layer.predict_all(d.X[te])
        for k in range(d.n_actions):
            oof[te, k] = sm.predict(Engine.outcome_input(d.X[te], k, money=d.money(k, te)))
        oof[te] += linear
    return models, oof


def fit_churn(
    d: Design, params: EngineParams, oof_sat: np.ndarray, progress: Progress = no_progress
) -> tuple[list[lgb.Booster], np.ndarray]:
    """The churn model per fold and its cross-fitted (n, K) probabilities.

    With ``mediated``, the churn model also reads the cross-fitted satisfaction under the
    resolution (the observed one when training), and a happier customer never churns
    more (monotone in that input), which steadies the contrasts. With ``money_input`` a
    training row reads the compensation given, a candidate its catalog compensation.

    With ``cut_rounds``, ``n_estimators`` is the most rounds: every fold's model is cut to
    the rounds with the lowest held-out log loss over the folds (:func:`best_rounds`), only
    when the loss at all rounds is worse by at least :data:`MIN_OVERFIT_Z` paired standard
    errors (:func:`overfit_z`, over the held-out rows): more rounds than a history supports only
    sharpen noise (on the CFPB export's 2014-10-01 split, 150 rounds instead of 300 gave an
    AUC 0.008 higher on the later complaints, paired 95% +0.004 to +0.013), but a loss
    curve that merely flattens keeps every round. Not on its own by default: on a simulated
    10k world the cut (its overfit test passed there too) lowered the capture of the
    oracle's uplift from 0.874 to 0.830; the resolutions' contrasts need the rounds that the
    log loss of the resolution given does not. Selection turns it on only for a history
    whose log bears out no contrast between resolutions (:mod:`makegood.modeling.selection`).
    """
    churn_params = params.lgb_params("binary", metric="binary_logloss")
    given = None if d.compensation is None else d.xa_obs[:, d.X.shape[1] + 1]
    if params.mediated:
        n_before = d.X.shape[1] + 1 + (given is not None)
        churn_params["monotone_constraints"] = [0] * n_before + [-1]
    sat_obs = oof_sat[np.arange(d.n), d.action]

    def logged(rows: np.ndarray) -> np.ndarray:
        """The churn model's input for ``rows`` (a mask) at the resolution given."""
        return Engine.outcome_input(
            d.X[rows],
            d.action[rows],
            sat_obs[rows] if params.mediated else None,
            money=None if given is None else given[rows],
        )

    models, losses, held_out = [], np.zeros(params.n_estimators), []
    for f in range(d.n_folds):
        progress(f"fold {f + 1}/{d.n_folds}: churn")
        tr, te = d.fold != f, d.fold == f
        if not params.cut_rounds:  # the held-out loss curve is read only to cut rounds
            models.append(
                _train(churn_params, logged(tr), d.y_churn[tr], params.n_estimators, d.cat_a)
            )
            continue
        held_out.append(logged(te))
        cm, curve = _train_curve(
            churn_params,
            logged(tr),
            d.y_churn[tr],
            held_out[f],
            d.y_churn[te],
            params.n_estimators,
            d.cat_a,
        )
        models.append(cm)
        losses[: len(curve)] += curve * te.sum()
    rounds = best_rounds(losses / d.n) if params.cut_rounds else params.n_estimators
    if rounds < params.n_estimators:
        p_all, p_best = np.zeros(d.n), np.zeros(d.n)
        for f, cm in enumerate(models):
            te, xo = d.fold == f, held_out[f]
            p_all[te], p_best[te] = cm.predict(xo), cm.predict(xo, num_iteration=rounds)
        z = overfit_z(d.y_churn, p_all, p_best)
        if z >= MIN_OVERFIT_Z:
            progress(f"churn: {rounds} of {params.n_estimators} rounds (held-out loss, z {z:.1f})")
            models = [
                lgb.Booster(model_str=m.model_to_string(num_iteration=rounds)) for m in models
            ]
    oof = np.zeros((d.n, d.n_actions))
    for f, cm in enumerate(models):
        te = d.fold == f
        for k in range(d.n_actions):
            ex = oof_sat[te, k] if params.mediated else None
            oof[te, k] = cm.predict(Engine.outcome_input(d.X[te], k, ex, money=d.money(k, te)))
    return models, oof


def best_rounds(loss: np.ndarray, min_rounds: int = MIN_ROUNDS) -> int:
    """The number of rounds (1-based) with the lowest held-out loss, at least
    ``min_rounds`` (or all of them when there are fewer).

    >>> best_rounds(np.array([0.7, 0.6, 0.55, 0.56, 0.58]), min_rounds=1)
    3
    >>> best_rounds(np.array([0.7, 0.6, 0.55, 0.56, 0.58]), min_rounds=4)
    4
    """
    low = min(min_rounds, len(loss)) - 1
    return int(low + np.argmin(loss[low:]) + 1)


def overfit_z(y: np.ndarray, p_all: np.ndarray, p_best: np.ndarray) -> float:
    """How many paired standard errors the log loss of ``p_all`` exceeds that of ``p_best``
    on the same rows: ``mean(l_all - l_best) / (sd(l_all - l_best) / sqrt(n))``.

    >>> y = np.array([1.0, 0.0, 1.0, 0.0])
    >>> round(overfit_z(y, np.array([0.3, 0.8, 0.4, 0.6]), np.full(4, 0.5)), 1)
    2.9
    """
    eps = 1e-12

    def loss(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, eps, 1 - eps)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    diff = loss(p_all) - loss(p_best)
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
    if se == 0:
        return float(np.sign(diff.mean()) * np.inf) if diff.mean() != 0 else 0.0
    return float(diff.mean() / se)


def normalised_propensity(
    oof_prop: np.ndarray, eligible: np.ndarray, action: np.ndarray, clip: float
) -> tuple[np.ndarray, np.ndarray]:
    """Propensities restricted to the eligible resolutions (rows sum to 1), and the
    propensity of the resolution given, clipped below at ``clip``.

    >>> p, e = normalised_propensity(
    ...     np.array([[0.5, 0.3, 0.2]]), np.array([[True, True, False]]), np.array([1]), 0.5
    ... )
    >>> p.round(3).tolist(), e.tolist()
    ([[0.625, 0.375, 0.0]], [0.5])
    """
    prop = np.where(eligible, oof_prop, 0.0)
    prop = prop / np.clip(prop.sum(axis=1, keepdims=True), 1e-12, None)
    e_obs = np.clip(prop[np.arange(len(action)), action], clip, 1.0)
    return prop, e_obs


def dr_corrections(
    d: Design,
    params: EngineParams,
    oof_churn: np.ndarray,
    oof_sat: np.ndarray,
    e_obs: np.ndarray,
    p_answer: np.ndarray,
    has_sat: bool,
    progress: Progress = no_progress,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The (K,) doubly robust corrections of churn and satisfaction (:func:`dr_correction`)
    and their diagnostics: applied iff ``params.dr_correction`` (zeros and no diagnostics
    otherwise); satisfaction's only when it is modelled, weighted by 1 / p(answer)."""
    K = d.n_actions
    churn_corr, sat_corr = np.zeros(K), np.zeros(K)
    diag: dict = {}
    if not params.dr_correction:
        return churn_corr, sat_corr, diag
    progress("doubly robust correction")
    churn_corr, diag["churn_dr"] = dr_correction(
        oof_churn, d.y_churn, d.action, e_obs, d.eligible, d.baseline
    )
    if has_sat:
        w_obs = d.answered / np.clip(p_answer, 0.05, 1.0)
        sat_corr, diag["sat_dr"] = dr_correction(
            oof_sat, np.nan_to_num(d.y_sat), d.action, e_obs, d.eligible, d.baseline, weight=w_obs
        )
    return churn_corr, sat_corr, diag


def dr_correction(
    mu: np.ndarray,
    y: np.ndarray,
    action: np.ndarray,
    e_obs: np.ndarray,
    eligible: np.ndarray,
    baseline: int,
    *,
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray, dict]:
    """Per-action additive correction of an outcome model by AIPW.

    For action k the AIPW score of unit i is
    ``psi_ik = mu_ik + 1{A_i = k} w_i (y_i - mu_ik) / e_i`` (w: response weight, 1 if none).
    The bias of the model's mean effect of k against the baseline, over units where k is
    eligible, is ``d_k = mean(psi_k - psi_b) - mean(mu_k - mu_b)``; the correction is
    ``d_k * max(0, 1 - se_k^2 / d_k^2)`` (shrunk to 0 when not distinguishable from noise).
    Returns the (K,) corrections and a diagnostic dict.
    """
    n, K = mu.shape
    w = np.ones(n) if weight is None else weight
    rows = np.arange(n)
    resid = w * (y - mu[rows, action]) / e_obs
    corr = np.zeros(K)
    info = {}
    for k in range(K):
        if k == baseline:
            continue
        m = eligible[:, k]
        if m.sum() < 50:
            continue
        term = np.where(action == k, resid, 0.0) - np.where(action == baseline, resid, 0.0)
        t = term[m]
        d = float(t.mean())
        se = float(t.std(ddof=1) / np.sqrt(len(t)))
        shrink = max(0.0, 1.0 - (se * se) / (d * d)) if d != 0 else 0.0
        corr[k] = d * shrink
        info[str(k)] = {"bias": d, "se": se, "applied": corr[k]}
    return corr, info


def _train_curve(
    params: dict, X, y, X_valid, y_valid, n_rounds: int, cat_idx
) -> tuple[lgb.Booster, np.ndarray]:
    """A booster of ``n_rounds`` and its (n_rounds,) loss on the held-out rows per round."""
    options = {"max_bin": 127, "verbose": -1}
    ds = lgb.Dataset(X, label=y, categorical_feature=cat_idx, params=options)
    valid = lgb.Dataset(
        X_valid, label=y_valid, categorical_feature=cat_idx, reference=ds, params=options
    )
    record: dict = {}
    booster = lgb.train(
        params,
        ds,
        num_boost_round=n_rounds,
        valid_sets=[valid],
        valid_names=["held_out"],
        callbacks=[lgb.record_evaluation(record)],
    )
    return booster, np.asarray(record["held_out"][params["metric"]], dtype=np.float64)


def _train(params: dict, X, y, n_rounds: int, cat_idx, weight=None, init_score=None) -> lgb.Booster:
    ds = lgb.Dataset(
        X,
        label=y,
        weight=weight,
        init_score=init_score,
        categorical_feature=cat_idx,
        free_raw_data=True,
        params={"max_bin": 127, "verbose": -1},
    )
    return lgb.train(params, ds, num_boost_round=n_rounds)
