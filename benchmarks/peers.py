"""The peer panel of ``bench_quality``: what a data scientist would otherwise use.

Every peer learns the churn probability of each candidate resolution of the new
complaints from the same history rows and makegood's own inputs (structured fields,
detected emotion, cross-fitted text signals, customer memory, the intent strengths below
30k rows: ``_common.training_features``), categorical inputs one-hot encoded.
``bench_quality`` turns the (n_new, K) churn matrix into net value with the catalog's
compensation and handling cost and allocates it with makegood's own allocator
(``makegood.policy.budget.allocate``) under the same budget: only the effect estimates
differ. Satisfaction surveys are not an input of any peer (none of these libraries has a
place for a mediator); that is part of what makegood brings.

Peers (b the baseline resolution; a CATE learner's churn is ``churn(x, b) + tau_k(x)``,
``churn(x, b)`` from the shared baseline model below; the allocator compares candidates
of a complaint and slopes between complaints, so that level hardly matters):

* ``econml_causal_forest``  EconML ``CausalForestDML``, the resolution as one multi-valued
  treatment (baseline = control), LightGBM nuisances, folds by customer;
* ``econml_drlearner``      EconML ``DRLearner``, LightGBM propensity, outcome and final
  stage (the final stage has been LightGBM since the first benchmark; no linear stage);
* ``causalml_xlearner``     causalml ``BaseXClassifier`` with LightGBM outcome and effect
  learners, one binary fit per resolution against the baseline;
* ``causalml_rlearner``     causalml ``BaseRClassifier``, the same learners;
* ``lgbm_t_learner``        one LightGBM churn classifier per resolution (T-learner).

The binary causalml fits use only the rows where the resolution was eligible and either
it or the baseline was given, with the propensity ``p_k / (p_k + p_b)`` of a shared
cross-fitted multiclass LightGBM (renormalized over the eligible resolutions, clipped to
[0.02, 0.98] like makegood's). The EconML estimators are multi-valued natively and fit
their own nuisances (propensities clipped at 0.01 by ``min_propensity``).

Settings (``PeerSettings``): LightGBM outcome models as makegood's engine defaults
(300 trees, learning rate 0.05, 31 leaves, 40 rows per leaf); propensities 60 trees,
learning rate 0.1, 15 leaves; effect / final stages 200 trees, learning rate 0.05,
15 leaves, 100 rows per leaf; 4 cross-fitting folds; the causal forest 100 honest trees,
40 rows per leaf, 30% of the inputs per split, 45% subsamples, no inference (a forest with
seven treatment dimensions costs about 0.5 s of CPU per tree at 10k rows). ``quick``
halves the trees and folds.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from _common import customer_folds

PROPENSITY_CLIP = 0.02


@dataclass(frozen=True)
class PeerSettings:
    """Sizes of the peers' models; ``threads`` is every library's thread count."""

    threads: int = 1
    seed: int = 0
    n_estimators: int = 300
    effect_estimators: int = 200
    propensity_estimators: int = 60
    n_folds: int = 4
    forest_trees: int = 100
    forest_min_leaf: int = 40
    forest_max_features: float = 0.3

    @classmethod
    def quick(cls, threads: int = 1) -> PeerSettings:
        return cls(
            threads=threads,
            n_estimators=120,
            effect_estimators=100,
            n_folds=2,
            forest_trees=48,
        )

    def _lightgbm(self, kind: str, n_estimators: int, **params):
        import lightgbm

        model = lightgbm.LGBMClassifier if kind == "classifier" else lightgbm.LGBMRegressor
        return model(
            n_estimators=n_estimators,
            n_jobs=self.threads,
            random_state=self.seed,
            verbose=-1,
            **{"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 40, **params},
        )

    def outcome_classifier(self):
        return self._lightgbm("classifier", self.n_estimators)

    def outcome_regressor(self):
        return self._lightgbm("regressor", self.n_estimators)

    def effect_regressor(self):
        return self._lightgbm(
            "regressor", self.effect_estimators, num_leaves=15, min_child_samples=100
        )

    def propensity_classifier(self):
        return self._lightgbm(
            "classifier", self.propensity_estimators, learning_rate=0.1, num_leaves=15
        )


@dataclass
class PeerData:
    """One world's training rows and new complaints, as the peers read them.

    ``X`` keeps missing values (LightGBM reads them), ``X_filled`` has them replaced by a
    value below the column's training minimum (the causal forest cannot read them).
    """

    X: np.ndarray  # (n, p') training rows, categoricals one-hot
    X_filled: np.ndarray
    action: np.ndarray  # (n,) catalog index of the resolution given
    churn: np.ndarray  # (n,) 0/1
    customer: np.ndarray  # (n,) for folds that keep a customer's complaints together
    eligible: np.ndarray  # (n, K) bool
    X_new: np.ndarray  # (m, p')
    X_new_filled: np.ndarray
    eligible_new: np.ndarray  # (m, K) bool
    baseline: int

    @property
    def n_actions(self) -> int:
        return self.eligible.shape[1]

    @property
    def others(self) -> list[int]:
        return [k for k in range(self.n_actions) if k != self.baseline]


def peer_data(tr: dict, X_new: np.ndarray, eligible_new: np.ndarray, baseline: int) -> PeerData:
    """``PeerData`` from ``_common.training_features`` output and the new rows' matrix."""
    cat = list(tr["categorical"])
    X_tr, X_nw = _one_hot(tr["X"], X_new, cat)
    fill = np.nan_to_num(np.nanmin(X_tr, axis=0), nan=0.0) - 1.0
    return PeerData(
        X=X_tr,
        X_filled=np.where(np.isnan(X_tr), fill, X_tr),
        action=tr["action"],
        churn=tr["churn"],
        customer=tr["customer"],
        eligible=tr["eligible"],
        X_new=X_nw,
        X_new_filled=np.where(np.isnan(X_nw), fill, X_nw),
        eligible_new=eligible_new,
        baseline=baseline,
    )


def _one_hot(X: np.ndarray, X_new: np.ndarray, categorical: list[int]):
    """Numeric columns as they are, each categorical code as 0/1 columns (missing: all 0).

    The levels are the training rows' codes; a code only the new rows have gets all 0.
    """
    numeric = [j for j in range(X.shape[1]) if j not in set(categorical)]
    parts, parts_new = [X[:, numeric]], [X_new[:, numeric]]
    for j in categorical:
        levels = np.unique(X[:, j][~np.isnan(X[:, j])])
        parts.append((X[:, j, None] == levels).astype(np.float32))
        parts_new.append((X_new[:, j, None] == levels).astype(np.float32))
    return np.hstack(parts).astype(np.float64), np.hstack(parts_new).astype(np.float64)


@dataclass
class Shared:
    """Nuisance models several peers use, fitted once per world and timed.

    A peer's fit time includes the shared models it used, as if it had fitted them alone.
    """

    data: PeerData
    settings: PeerSettings
    _cache: dict = field(default_factory=dict)
    used: dict = field(default_factory=dict)

    def _get(self, name: str, fit: Callable[[], object]):
        if name not in self._cache:
            t0, c0 = time.perf_counter(), time.process_time()
            value = fit()
            self._cache[name] = (value, time.perf_counter() - t0, time.process_time() - c0)
        value, wall, cpu = self._cache[name]
        self.used[name] = (wall, cpu)
        return value

    def baseline_churn(self) -> np.ndarray:
        """Churn under the baseline for the new rows: LightGBM on the baseline's rows."""
        d = self.data

        def fit():
            m = d.action == d.baseline
            model = self.settings.outcome_classifier().fit(d.X[m], d.churn[m])
            return model.predict_proba(d.X_new)[:, 1]

        return self._get("baseline_churn", fit)

    def pair_propensity(self) -> tuple[np.ndarray, np.ndarray]:
        """``P(k | x, k or baseline)`` for the training rows (out of fold) and new rows.

        From a multiclass LightGBM cross-fitted by customer, renormalized over each row's
        eligible resolutions; (n, K) and (m, K), clipped to [0.02, 0.98].
        """
        d, s = self.data, self.settings

        def fit():
            K = d.n_actions
            fold = customer_folds(d.customer, s.n_folds, s.seed)
            p_tr = np.zeros((len(d.action), K))
            p_new = np.zeros((len(d.X_new), K))
            for f in range(s.n_folds):
                tr, te = fold != f, fold == f
                model = s.propensity_classifier().fit(d.X[tr], d.action[tr])
                cols = model.classes_
                p_tr[np.ix_(te, cols)] = model.predict_proba(d.X[te])
                p_new[:, cols] += model.predict_proba(d.X_new) / s.n_folds
            return _pairwise(p_tr, d.eligible, d.baseline), _pairwise(
                p_new, d.eligible_new, d.baseline
            )

        return self._get("pair_propensity", fit)


def _pairwise(p: np.ndarray, eligible: np.ndarray, baseline: int) -> np.ndarray:
    p = np.where(eligible, p, 0.0)
    pair = p / np.maximum(p + p[:, [baseline]], 1e-12)
    return np.clip(pair, PROPENSITY_CLIP, 1 - PROPENSITY_CLIP)


def _churn_from_cate(d: PeerData, p0: np.ndarray, cate: np.ndarray) -> np.ndarray:
    """(m, K) churn: ``p0`` for the baseline, ``p0 + cate[:, j]`` for the j-th other."""
    churn = np.empty((len(p0), d.n_actions))
    churn[:, d.baseline] = p0
    churn[:, d.others] = p0[:, None] + cate
    return np.clip(churn, 1e-4, 1 - 1e-4)


def _categories(d: PeerData) -> list[int]:
    """EconML's treatment order: the first category is the control."""
    return [d.baseline, *d.others]


def econml_causal_forest(d: PeerData, sh: Shared) -> np.ndarray:
    from econml.dml import CausalForestDML

    s = sh.settings
    cf = CausalForestDML(
        model_y=s.outcome_regressor(),
        model_t=s.propensity_classifier(),
        discrete_treatment=True,
        categories=_categories(d),
        cv=s.n_folds,
        n_estimators=s.forest_trees,
        min_samples_leaf=s.forest_min_leaf,
        max_features=s.forest_max_features,
        max_samples=0.45,
        honest=True,
        inference=False,
        n_jobs=s.threads,
        random_state=s.seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cf.fit(d.churn, d.action, X=d.X_filled, groups=d.customer)
        cate = np.asarray(cf.const_marginal_effect(d.X_new_filled))
    return _churn_from_cate(d, sh.baseline_churn(), cate.reshape(len(d.X_new), -1))


def econml_drlearner(d: PeerData, sh: Shared) -> np.ndarray:
    from econml.dr import DRLearner

    s = sh.settings
    dr = DRLearner(
        model_propensity=s.propensity_classifier(),
        model_regression=s.outcome_regressor(),
        model_final=s.effect_regressor(),
        categories=_categories(d),
        cv=s.n_folds,
        min_propensity=0.01,
        allow_missing=True,
        random_state=s.seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dr.fit(d.churn, d.action, X=d.X, groups=d.customer)
        cate = np.asarray(dr.const_marginal_effect(d.X_new))
    return _churn_from_cate(d, sh.baseline_churn(), cate.reshape(len(d.X_new), -1))


def _per_resolution(d: PeerData, sh: Shared, fit_one: Callable) -> np.ndarray:
    """CATE of each resolution against the baseline from one binary fit each, (m, K-1).

    ``fit_one(X, treated, churn, p, X_new, p_new)`` returns the new rows' effects.
    """
    import joblib

    p_tr, p_new = sh.pair_propensity()
    cate = np.zeros((len(d.X_new), len(d.others)))
    logging.getLogger("causalml").setLevel(logging.WARNING)
    # causalml's R-learner cross-fits with n_jobs=-1 (processes on every core): keep it
    # to the threads LightGBM is given
    with warnings.catch_warnings(), joblib.parallel_config(backend="sequential"):
        warnings.simplefilter("ignore")
        for j, k in enumerate(d.others):
            m = d.eligible[:, k] & ((d.action == k) | (d.action == d.baseline))
            treated = (d.action[m] == k).astype(int)
            if treated.sum() < 2 or (1 - treated).sum() < 2:
                continue  # no evidence either way: no effect
            cate[:, j] = fit_one(
                d.X[m], treated, d.churn[m], p_tr[m, k], d.X_new, p_new[:, k]
            ).ravel()
    return cate


def causalml_xlearner(d: PeerData, sh: Shared) -> np.ndarray:
    from causalml.inference.meta import BaseXClassifier

    s = sh.settings

    def fit_one(X, treated, y, p, X_new, p_new):
        xl = BaseXClassifier(
            outcome_learner=s.outcome_classifier(),
            effect_learner=s.effect_regressor(),
            control_name=0,
        )
        xl.fit(X, treated, y, p=p)
        return xl.predict(X_new, p=p_new, verbose=False)

    return _churn_from_cate(d, sh.baseline_churn(), _per_resolution(d, sh, fit_one))


def causalml_rlearner(d: PeerData, sh: Shared) -> np.ndarray:
    from causalml.inference.meta import BaseRClassifier

    s = sh.settings

    def fit_one(X, treated, y, p, X_new, p_new):
        rl = BaseRClassifier(
            outcome_learner=s.outcome_classifier(),
            effect_learner=s.effect_regressor(),
            control_name=0,
            n_fold=s.n_folds,
            random_state=s.seed,
        )
        rl.fit(X, treated, y, p=p, verbose=False)
        return rl.predict(X_new)

    return _churn_from_cate(d, sh.baseline_churn(), _per_resolution(d, sh, fit_one))


def lgbm_t_learner(d: PeerData, sh: Shared) -> np.ndarray:
    churn = np.empty((len(d.X_new), d.n_actions))
    for k in range(d.n_actions):
        if k == d.baseline:
            churn[:, k] = sh.baseline_churn()
            continue
        m = d.action == k
        if len(np.unique(d.churn[m])) < 2:
            churn[:, k] = d.churn[m].mean() if m.any() else sh.baseline_churn()
            continue
        model = sh.settings.outcome_classifier().fit(d.X[m], d.churn[m])
        churn[:, k] = model.predict_proba(d.X_new)[:, 1]
    return np.clip(churn, 1e-4, 1 - 1e-4)


PEERS: dict[str, Callable[[PeerData, Shared], np.ndarray]] = {
    "econml_causal_forest": econml_causal_forest,
    "econml_drlearner": econml_drlearner,
    "causalml_xlearner": causalml_xlearner,
    "causalml_rlearner": causalml_rlearner,
    "lgbm_t_learner": lgbm_t_learner,
}


def run_peer(name: str, d: PeerData, sh: Shared) -> tuple[np.ndarray, float, float]:
    """(m, K) churn of peer ``name``, its fit wall and CPU seconds.

    The seconds include the shared models it used (``Shared``), whoever fitted them first.
    """
    before = set(sh._cache)
    sh.used = {}
    t0, c0 = time.perf_counter(), time.process_time()
    churn = PEERS[name](d, sh)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for key, (_, w, c) in sh._cache.items():
        if key not in before:  # fitted during this call: counted below, once
            wall, cpu = wall - w, cpu - c
    for w, c in sh.used.values():
        wall, cpu = wall + w, cpu + c
    return churn, wall, cpu
