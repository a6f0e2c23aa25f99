"""The learning engine: cross-fitted LightGBM models of choice, response, satisfaction, churn.

Layering: ``prepare`` turns a normalized frame into model features; ``fit_engine`` fits
the models with K-fold cross-fitting grouped by customer; ``Engine.predict`` gives each
complaint's per-candidate satisfaction and churn with a jackknife spread; nothing here
knows about MLflow, files or the CLI.

Why these choices (see docs/modeling.md):

* **Outcome models** are S-learners (resolution as a categorical feature) fitted on the
  features the agents saw (structure, text signals, customer memory), so confounding by
  observed variables is adjusted for by conditioning.
* **Mediation**: churn is driven mostly by how satisfied the customer ends up, so the
  churn model also gets the cross-fitted predicted satisfaction under the resolution. It
  is a function of (x, a) only, so it cannot add confounding bias; it lends the churn
  model the much richer satisfaction signal (lower variance).
* **Survey non-response**: satisfaction is fitted on answered rows weighted by the
  inverse probability of answering given (x, a).
* **Partial pooling**: satisfaction is a ridge-pooled, low-rank linear layer (each
  resolution's slopes pulled towards the shared ones and held to a few shared directions,
  penalty and rank chosen by the folds' validation error; :mod:`makegood.modeling.pooled`)
  plus boosted trees fitted on top of it, so a resolution given a few hundred times
  borrows strength from the others.
* **Doubly robust correction**: each resolution's average effect is re-estimated by AIPW
  from the cross-fitted propensities and outcome predictions; the difference from the
  outcome model's own average effect (its bias, e.g. regularization-induced confounding)
  is added back, shrunk by its standard error.
* **Uncertainty**: the K fold models are a delete-a-group jackknife; their spread gives
  each candidate's interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import lightgbm as lgb
import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.features import memory as memory_mod
from makegood.features import text as text_mod
from makegood.features.pipeline import assemble, prepare
from makegood.features.structured import FeatureSpec
from makegood.modeling.pooled import PooledLinear, fit_pooled, predict_folds

__all__ = ["Engine", "EngineParams", "FitResult", "fit_engine", "prepare", "text_targets"]

Progress = Callable[[str], None]

MIN_SURVEYS = 100  # answered surveys needed to model satisfaction (and mediate churn by it)
MIN_ACTION_ROWS = 20  # a resolution given fewer times than this has no evidence to score


def _noop(_: str) -> None:
    pass


# Cross-fitting folds when ``n_folds`` is 0 (auto). Each fold model sees (K-1)/K of the
# rows and the K models are averaged, so on a small history more folds buy more data per
# model and a larger ensemble. Measured (issue 15, capture / observable ceiling, 4 -> 8
# folds): 5k rows +0.015 and +0.05, 10k +0.035 and +0.016, 20k -0.012; hence 8 folds
# while a 4-fold model would see fewer than ~11k rows, else 4 (fit time grows with K).
SMALL_HISTORY = 15_000
FOLDS_SMALL, FOLDS_LARGE = 8, 4
# The intent strengths (text read by the shipped detector, no history needed) are inputs
# below this many rows. Measured (issue 15, paired against the same code without them):
# 10k rows, ten worlds, capture +0.015 (se 0.007) at full budget, +0.017 (se 0.006) at 25%;
# 60k, four worlds, +0.002 on average (+0.007, +0.008, +0.008, -0.016), while a model
# reading them costs the service ~0.5-0.9 ms more per request: with a large history the
# text signals learned from it carry what they add.
INTENTS_BELOW = 30_000


@dataclass
class EngineParams:
    """Settings of the learning engine (all have sensible defaults).

    ``n_folds`` 0 means auto: :data:`FOLDS_SMALL` below :data:`SMALL_HISTORY` rows,
    else :data:`FOLDS_LARGE`; ``use_intents`` applies below :data:`INTENTS_BELOW` rows
    (see :meth:`resolved`). With ``select`` (the default),
    training a small history chooses the trees' size among a few
    candidates by cross-validated off-policy value (:mod:`makegood.modeling.selection`);
    only the settings left at their defaults are varied.
    """

    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 40
    propensity_estimators: int = 60
    n_folds: int = 0
    use_text: bool = True
    use_memory: bool = True
    use_intents: bool = True
    mediated: bool = True
    pooled: bool = True
    dr_correction: bool = True
    propensity_clip: float = 0.02
    num_threads: int = 0
    random_state: int = 0
    select: bool = True

    def resolved(self, n_rows: int) -> EngineParams:
        """These settings for a history of ``n_rows`` rows: ``n_folds`` fixed (when 0,
        auto) and the intent strengths left out from :data:`INTENTS_BELOW` rows on.

        >>> EngineParams().resolved(10_000).n_folds, EngineParams().resolved(20_000).n_folds
        (8, 4)
        >>> EngineParams(n_folds=2).resolved(10_000).n_folds
        2
        >>> EngineParams().resolved(10_000).use_intents, EngineParams().resolved(50_000).use_intents
        (True, False)
        """
        out = self
        if out.n_folds == 0:
            out = replace(out, n_folds=FOLDS_SMALL if n_rows < SMALL_HISTORY else FOLDS_LARGE)
        if out.use_intents and n_rows >= INTENTS_BELOW:
            out = replace(out, use_intents=False)
        return out

    def lgb_params(self, objective: str, **extra) -> dict:
        p = {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": 0.9,
            "bagging_fraction": 0.9,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "verbose": -1,
            "seed": self.random_state,
            "num_threads": self.num_threads,
            "max_cat_to_onehot": 16,
            "cat_smooth": 10,
        }
        p.update(extra)
        return p


# --- features -------------------------------------------------------------------------
def text_targets(df: pd.DataFrame, catalog: Catalog) -> dict[str, np.ndarray]:
    """What the text models learn to read from the customer's words (from the data itself).

    Churn, satisfaction, whether money was given, and satisfaction under each resolution
    with enough answers: the last ones let the text say *which* resolution suits the
    customer (a refund pleases someone who wrote they want their money back).
    """
    sat = df["satisfaction"].to_numpy(dtype=float)
    out = {
        "churn": df["churned_90d"].to_numpy(dtype=float),
        "sat": sat,
        "money": (df["compensation"].to_numpy(dtype=float) > 0).astype(float),
    }
    res = df["resolution"].to_numpy()
    for rid in catalog.ids:
        mask = (res == rid) & ~np.isnan(sat)
        if mask.sum() >= 150:
            out[f"sat_{rid}"] = np.where(res == rid, sat, np.nan)
    return out


# --- the fitted engine ----------------------------------------------------------------
@dataclass
class Engine:
    """Fitted models. ``predict`` gives per-candidate outcomes for a base matrix."""

    params: EngineParams
    spec: FeatureSpec
    action_ids: list[str]
    sat_models: list[lgb.Booster]
    churn_models: list[lgb.Booster]
    prop_models: list[lgb.Booster]
    churn_correction: np.ndarray  # (K,) additive, probability scale
    sat_correction: np.ndarray  # (K,)
    diagnostics: dict = field(default_factory=dict)
    action_counts: list[int] | None = None  # training rows per action
    # per fold, the satisfaction model's linear layer (empty: trees only, as bundles
    # trained before it); a fold's satisfaction is its trees plus its layer
    sat_linear: list[PooledLinear] = field(default_factory=list)

    @staticmethod
    def outcome_input(
        X: np.ndarray, action: np.ndarray | int, mediator: np.ndarray | None = None
    ) -> np.ndarray:
        """The outcome models' input: ``[X, action code, (mediator)]``, float32, C order.

        The satisfaction model reads ``[X, action]``; the churn model reads
        ``[X, action, predicted satisfaction]`` when mediated (else ``[X, action]``).
        ``action`` is one code or one per row.
        """
        n, p = X.shape
        out = np.empty((n, p + 1 + (mediator is not None)), dtype=np.float32)
        out[:, :p] = X
        out[:, p] = action
        if mediator is not None:
            out[:, p + 1] = np.asarray(mediator, dtype=np.float32).reshape(n)
        return out

    def predict_satisfaction(self, fold: int, xa: np.ndarray) -> np.ndarray:
        """Fold ``fold``'s satisfaction for outcome-model rows ``xa`` (``[X, action]``):
        its trees plus its pooled linear layer when it has one."""
        out = np.asarray(self.sat_models[fold].predict(xa), dtype=np.float64)
        if self.sat_linear:
            out = out + self.sat_linear[fold].predict(xa)
        return out

    @property
    def action_feature(self) -> int:
        """Column of the action code in :meth:`outcome_input`."""
        return len(self.spec.names)

    @property
    def mediator_feature(self) -> int | None:
        """Column of the mediator in the churn model's input (None: not mediated)."""
        return len(self.spec.names) + 1 if self.mediated else None

    @property
    def mediated(self) -> bool:
        """True when the churn model reads the predicted satisfaction."""
        return bool(self.params.mediated and self.sat_models)

    @property
    def has_satisfaction(self) -> bool:
        """False when the history had too few answered surveys to model satisfaction."""
        return bool(self.sat_models)

    def supported_actions(self) -> np.ndarray:
        """(K,) bool: actions given often enough in the history to be scored."""
        if self.action_counts is None:
            return np.ones(self.n_actions, dtype=bool)
        return np.asarray(self.action_counts) >= MIN_ACTION_ROWS

    @property
    def n_actions(self) -> int:
        return len(self.action_ids)

    def predict_propensity(self, X: np.ndarray, eligible: np.ndarray | None = None) -> np.ndarray:
        """P(historical agents chose a | x), averaged over folds, renormalized over eligible."""
        p = np.mean([m.predict(X) for m in self.prop_models], axis=0).reshape(len(X), -1)
        if eligible is not None:
            p = np.where(eligible, p, 0.0)
            p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        return p

    def predict(self, X: np.ndarray, *, corrected: bool = True) -> dict[str, np.ndarray]:
        """Per-candidate predictions for every complaint (rows of X) and every action.

        Returns arrays of shape (n, K): ``satisfaction``, ``churn_prob`` (fold means,
        with the DR correction when ``corrected``) and ``churn_sd``, ``sat_sd`` (jackknife).
        """
        n, K = X.shape[0], self.n_actions
        F = len(self.churn_models)
        p = X.shape[1]
        rows = np.repeat(X, K, axis=0)
        codes = np.tile(np.arange(K, dtype=np.float32), n)
        xa = self.outcome_input(rows, codes)  # every candidate of every complaint
        if self.sat_models:
            sat_f = np.stack([m.predict(xa) for m in self.sat_models])  # (F, n*K)
            if self.sat_linear:  # rows are (complaint, action), as the layers' (n, K)
                sat_f += predict_folds(self.sat_linear, X).reshape(F, n * K)
        else:  # no surveys to learn from: satisfaction is unknown, churn not mediated
            sat_f = np.full((F, n * K), np.nan)
        sat_mean = sat_f.mean(axis=0)
        if self.mediated:
            xc = self.outcome_input(rows, codes, sat_f[0])
            churn_list = []
            for f, m in enumerate(self.churn_models):
                xc[:, p + 1] = sat_f[f]
                churn_list.append(m.predict(xc))
            churn_f = np.stack(churn_list)
        else:
            churn_f = np.stack([m.predict(xa) for m in self.churn_models])
        churn_mean = churn_f.mean(axis=0)
        jk = (F - 1) / F if F > 1 else 0.0
        churn_sd = np.sqrt(jk * ((churn_f - churn_mean) ** 2).sum(axis=0))
        sat_sd = np.sqrt(jk * ((sat_f - sat_mean) ** 2).sum(axis=0))
        sat = sat_mean.reshape(n, K)
        churn = churn_mean.reshape(n, K)
        if corrected:
            churn = np.clip(churn + self.churn_correction[None, :], 1e-4, 1 - 1e-4)
            sat = np.clip(sat + self.sat_correction[None, :], 0.0, 10.0)
        return {
            "satisfaction": sat,
            "churn_prob": churn,
            "churn_sd": churn_sd.reshape(n, K),
            "sat_sd": sat_sd.reshape(n, K),
        }


def _folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold id per row, whole customers per fold (their complaints do not leak)."""
    uniq, inv = np.unique(groups, return_inverse=True)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(uniq))
    return (perm % n_folds)[inv]


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


@dataclass
class FitResult:
    engine: Engine
    text_signals: text_mod.TextSignals | None
    oof: dict[str, np.ndarray]  # cross-fitted per-candidate predictions on the training rows


def fit_engine(
    prep: pd.DataFrame,
    catalog: Catalog,
    params: EngineParams | None = None,
    *,
    mem: pd.DataFrame | None = None,
    progress: Progress = _noop,
) -> FitResult:
    """Fit every model on a prepared history frame (see :func:`prepare`).

    ``mem`` is the customer memory of these rows (computed from the frame when None and
    memory is used); see the module docstring for the models.
    """
    params = (params or EngineParams()).resolved(len(prep))
    progress("features: text signals, customer memory")
    if params.use_memory and mem is None:
        mem = memory_mod.customer_memory(prep)
    if not params.use_memory:
        mem = None
    groups = prep["customer_id"].to_numpy()
    fold = _folds(groups, params.n_folds, params.random_state)
    signals = None
    scores = None
    names: list[str] = []
    if params.use_text:
        signals = text_mod.TextSignals(random_state=params.random_state, n_splits=params.n_folds)
        scores = signals.fit_transform_oof(
            prep["complaint_text"].tolist(), text_targets(prep, catalog), groups=groups
        )
        names = list(signals.feature_names_)
    feats = assemble(prep, mem, scores, names, None, with_intents=params.use_intents)
    X = feats.X
    K = len(catalog.ids)
    A = np.array([catalog.index(r) for r in prep["resolution"]])
    y_churn = prep["churned_90d"].to_numpy(dtype=float)
    y_sat = prep["satisfaction"].to_numpy(dtype=float)
    answered = ~np.isnan(y_sat)
    eligible = catalog.eligibility_matrix(
        prep["issue_type"].to_numpy(), prep["severity"].to_numpy()
    )
    n = len(prep)
    cat_base = feats.spec.categorical_indices
    cat_a = [*cat_base, X.shape[1]]

    xa_obs = Engine.outcome_input(X, A)
    fold_answers = [int((answered & (fold != f)).sum()) for f in range(params.n_folds)]
    has_sat = answered.sum() >= MIN_SURVEYS and min(fold_answers) >= MIN_SURVEYS // 2
    if not has_sat:
        progress(f"only {int(answered.sum())} answered surveys: satisfaction is not modelled")
        params = replace(params, mediated=False)
    if 0 < answered.sum() < n:
        progress("survey response model")
        resp = _train(params.lgb_params("binary"), xa_obs, answered.astype(float), 150, cat_a)
        p_answer = np.clip(resp.predict(xa_obs), 0.05, 1.0)
    else:
        p_answer = np.ones(n)

    oof_prop = np.zeros((n, K))
    oof_sat = np.zeros((n, K))
    oof_churn = np.zeros((n, K))
    sat_models, churn_models, prop_models = [], [], []
    sat_obs_oof = np.zeros(n)
    layers: list[PooledLinear] = []
    if has_sat and params.pooled:
        progress("satisfaction: pooled linear layer")
        layers, diag_pooled = fit_pooled(
            X[answered],
            A[answered],
            y_sat[answered],
            1.0 / p_answer[answered],
            fold[answered],
            params.n_folds,
            categorical=cat_base,
            n_levels={
                i: len(feats.spec.categories.get(name, []))
                for i, name in zip(cat_base, feats.spec.categorical, strict=True)
            },
            n_actions=K,
        )
    # pass 1: propensity and satisfaction, cross-fitted
    for f in range(params.n_folds):
        progress(f"fold {f + 1}/{params.n_folds}: propensity and satisfaction")
        tr, te = fold != f, fold == f
        pm = _train(
            params.lgb_params("multiclass", num_class=K, learning_rate=0.1, num_leaves=15),
            X[tr],
            A[tr],
            params.propensity_estimators,
            cat_base,
        )
        prop_models.append(pm)
        oof_prop[te] = np.asarray(pm.predict(X[te])).reshape(-1, K)
        if not has_sat:
            oof_sat[te] = np.nan
            continue
        trs = tr & answered
        layer = layers[f] if layers else None
        sm = _train(
            params.lgb_params("regression"),
            xa_obs[trs],
            y_sat[trs],
            params.n_estimators,
            cat_a,
            weight=1.0 / p_answer[trs],
            init_score=None if layer is None else layer.predict(xa_obs[trs]),
        )
        sat_models.append(sm)
        linear = 0.0 if layer is None else layer.predict_all(X[te])
        for k in range(K):
            oof_sat[te, k] = sm.predict(Engine.outcome_input(X[te], k))
        oof_sat[te] += linear
        sat_obs_oof[te] = oof_sat[te, A[te]]
    # pass 2: churn, with the cross-fitted satisfaction as mediator; a happier customer
    # never churns more (monotone in the mediator), which steadies the contrasts
    churn_params = params.lgb_params("binary")
    if params.mediated:
        churn_params["monotone_constraints"] = [0] * (X.shape[1] + 1) + [-1]
    for f in range(params.n_folds):
        progress(f"fold {f + 1}/{params.n_folds}: churn")
        tr, te = fold != f, fold == f
        extra = sat_obs_oof[tr] if params.mediated else None
        cm = _train(
            churn_params,
            Engine.outcome_input(X[tr], A[tr], extra),
            y_churn[tr],
            params.n_estimators,
            cat_a,
        )
        churn_models.append(cm)
        for k in range(K):
            ex = oof_sat[te, k] if params.mediated else None
            oof_churn[te, k] = cm.predict(Engine.outcome_input(X[te], k, ex))

    prop = np.where(eligible, oof_prop, 0.0)
    prop = prop / np.clip(prop.sum(axis=1, keepdims=True), 1e-12, None)
    e_obs = np.clip(prop[np.arange(n), A], params.propensity_clip, 1.0)
    churn_corr = np.zeros(K)
    sat_corr = np.zeros(K)
    diag: dict = {}
    if layers:
        diag["pooled"] = diag_pooled
    if params.dr_correction:
        progress("doubly robust correction")
        churn_corr, d1 = dr_correction(
            oof_churn, y_churn, A, e_obs, eligible, catalog.baseline_index
        )
        diag["churn_dr"] = d1
        if has_sat:
            w_obs = answered / np.clip(p_answer, 0.05, 1.0)
            sat_corr, d2 = dr_correction(
                oof_sat,
                np.nan_to_num(y_sat),
                A,
                e_obs,
                eligible,
                catalog.baseline_index,
                weight=w_obs,
            )
            diag["sat_dr"] = d2
    engine = Engine(
        params=params,
        spec=feats.spec,
        action_ids=list(catalog.ids),
        sat_models=sat_models,
        churn_models=churn_models,
        prop_models=prop_models,
        churn_correction=churn_corr,
        sat_correction=sat_corr,
        diagnostics=diag,
        action_counts=np.bincount(A, minlength=K).tolist(),
        sat_linear=layers,
    )
    oof = {
        "propensity": prop,
        "satisfaction": np.clip(oof_sat + sat_corr, 0, 10),
        "churn_prob": np.clip(oof_churn + churn_corr, 1e-4, 1 - 1e-4),
        "p_answer": p_answer,
        "X": X,
        "action": A,
        "eligible": eligible,
    }
    return FitResult(engine, signals, oof)


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
