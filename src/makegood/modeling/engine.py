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
from makegood.features.pipeline import assemble, prepare
from makegood.features.structured import FeatureSpec
from makegood.features.text.signals import TextSignals
from makegood.modeling.pooled import PooledLinear, fit_pooled, predict_folds

__all__ = [
    "Design",
    "Engine",
    "EngineParams",
    "FitResult",
    "build_design",
    "dr_corrections",
    "fit_churn",
    "fit_engine",
    "fit_pooled_layers",
    "fit_propensity",
    "fit_satisfaction",
    "normalised_propensity",
    "prepare",
    "survey_response",
    "text_targets",
]

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
    #: complaint columns the models must never read (``features.pipeline.PROTECTED_DERIVED``)
    protected: tuple[str, ...] = ()

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
    text_signals: TextSignals | None
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
    memory is used); see the module docstring for the models. The stages, in order:
    :func:`build_design` (features, actions, outcomes, folds), :func:`survey_response`
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
        "eligible": d.eligible,
    }
    return FitResult(engine, signals, oof)


# ----------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class Design:
    """What every model of :func:`fit_engine` is fitted on (n rows, K resolutions).

    ``X`` the (n, p) base features; ``action`` (n,) the resolution given (catalog index);
    ``y_churn``, ``y_sat`` (NaN where the survey went unanswered) the outcomes;
    ``eligible`` (n, K); ``fold`` (n,) the cross-fitting fold, whole customers per fold;
    ``baseline`` the catalog's baseline resolution (effects are measured against it);
    ``cat_base`` the categorical columns of ``X``, ``cat_a`` those of the outcome input
    (``X`` plus the resolution); ``xa_obs`` the outcome input at the resolution given.
    """

    X: np.ndarray
    spec: FeatureSpec
    action: np.ndarray
    y_churn: np.ndarray
    y_sat: np.ndarray
    eligible: np.ndarray
    fold: np.ndarray
    n_folds: int
    cat_base: list[int]
    cat_a: list[int]
    xa_obs: np.ndarray
    n_levels: dict[int, int]
    baseline: int

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.eligible.shape[1])

    @property
    def answered(self) -> np.ndarray:
        return ~np.isnan(self.y_sat)


def build_design(
    prep: pd.DataFrame,
    catalog: Catalog,
    params: EngineParams,
    mem: pd.DataFrame | None = None,
    progress: Progress = _noop,
) -> tuple[Design, TextSignals | None]:
    """The features (text signals cross-fitted on the same folds, customer memory), the
    actions, outcomes and folds of a prepared history; and the fitted text signals."""
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
        signals = TextSignals(random_state=params.random_state, n_splits=params.n_folds)
        scores = signals.fit_transform_oof(
            prep["complaint_text"].tolist(), text_targets(prep, catalog), groups=groups
        )
        names = list(signals.feature_names_)
    feats = assemble(
        prep, mem, scores, names, None, with_intents=params.use_intents, protected=params.protected
    )
    X = feats.X
    A = np.array([catalog.index(r) for r in prep["resolution"]])
    cat_base = feats.spec.categorical_indices
    design = Design(
        X=X,
        spec=feats.spec,
        action=A,
        y_churn=prep["churned_90d"].to_numpy(dtype=float),
        y_sat=prep["satisfaction"].to_numpy(dtype=float),
        eligible=catalog.eligibility_matrix(
            prep["issue_type"].to_numpy(), prep["severity"].to_numpy()
        ),
        fold=fold,
        n_folds=params.n_folds,
        cat_base=cat_base,
        cat_a=[*cat_base, X.shape[1]],
        xa_obs=Engine.outcome_input(X, A),
        n_levels={
            i: len(feats.spec.categories.get(name, []))
            for i, name in zip(cat_base, feats.spec.categorical, strict=True)
        },
        baseline=catalog.baseline_index,
    )
    return design, signals


def survey_response(
    d: Design, params: EngineParams, progress: Progress = _noop
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
    d: Design, params: EngineParams, progress: Progress = _noop
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
    progress: Progress = _noop,
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
            oof[te, k] = sm.predict(Engine.outcome_input(d.X[te], k))
        oof[te] += linear
    return models, oof


def fit_churn(
    d: Design, params: EngineParams, oof_sat: np.ndarray, progress: Progress = _noop
) -> tuple[list[lgb.Booster], np.ndarray]:
    """The churn model per fold and its cross-fitted (n, K) probabilities.

    With ``mediated``, the churn model also reads the cross-fitted satisfaction under the
    resolution (the observed one when training), and a happier customer never churns
    more (monotone in that input), which steadies the contrasts.
    """
    churn_params = params.lgb_params("binary")
    if params.mediated:
        churn_params["monotone_constraints"] = [0] * (d.X.shape[1] + 1) + [-1]
    sat_obs = oof_sat[np.arange(d.n), d.action]
    models, oof = [], np.zeros((d.n, d.n_actions))
    for f in range(d.n_folds):
        progress(f"fold {f + 1}/{d.n_folds}: churn")
        tr, te = d.fold != f, d.fold == f
        extra = sat_obs[tr] if params.mediated else None
        cm = _train(
            churn_params,
            Engine.outcome_input(d.X[tr], d.action[tr], extra),
            d.y_churn[tr],
            params.n_estimators,
            d.cat_a,
        )
        models.append(cm)
        for k in range(d.n_actions):
            ex = oof_sat[te, k] if params.mediated else None
            oof[te, k] = cm.predict(Engine.outcome_input(d.X[te], k, ex))
    return models, oof


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
    progress: Progress = _noop,
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
