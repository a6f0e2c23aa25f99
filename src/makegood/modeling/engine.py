"""The learning engine: the fitted models of choice, response, satisfaction, churn, and
their settings.

Layering: ``features.pipeline.prepare`` turns a normalized frame into model features;
:mod:`makegood.modeling.design` builds what the models are fitted on;
:func:`makegood.modeling.fitting.fit_engine` fits the models with K-fold cross-fitting
grouped by customer; :meth:`Engine.predict` gives each complaint's per-candidate
satisfaction and churn with a jackknife spread; nothing here knows about MLflow, files or
the CLI.

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
* **Money as a shared effect** (``money_input``): the outcome models also read each
  candidate's compensation (the catalog's rule for the complaint; the amount actually
  given on a logged row), so what money does is learned across resolutions. Off by
  default: on five paired 10,000-row worlds it cost capture (docs/modeling.md).
* **Uncertainty**: the K fold models are a delete-a-group jackknife; their spread gives
  each candidate's interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import lightgbm as lgb
import numpy as np

from makegood.features.structured import FeatureSpec
from makegood.modeling.pooled import PooledLinear, predict_folds

__all__ = [
    "Engine",
    "EngineParams",
    "Progress",
    "no_progress",
]

#: Reports a fitting stage's progress (one line of text per step).
Progress = Callable[[str], None]

MIN_ACTION_ROWS = 20  # a resolution given fewer times than this has no evidence to score


def no_progress(_: str) -> None:
    """The :data:`Progress` that reports nothing."""


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
    only the settings left at their defaults are varied. With ``cut_rounds``,
    ``n_estimators`` is the churn model's most rounds: cross-fitting cuts them to the count
    with the lowest held-out log loss when the overfit is evident
    (:func:`~makegood.modeling.fitting.fit_churn`). Off as a setting, but selection turns it
    on for a history whose log bears out no contrast between resolutions (on the CFPB
    export it sharpens the predicted outcome of the resolution given; where the
    resolutions' effects differ, as on the simulated worlds, it costs decision quality:
    capture 0.874 -> 0.830 on a 10k world).
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
    #: the outcome models read each candidate's compensation (bundles without it: off)
    money_input: bool = False
    #: cut the churn model to its held-out best rounds when it overfits (see fitting.fit_churn;
    #: left off, selection decides it per history)
    cut_rounds: bool = False
    #: complaint columns the models must never read (``features.pipeline.PROTECTED_DERIVED``)
    protected: tuple[str, ...] = ()
    #: the company's own columns declared as model inputs, (name, kind) pairs
    #: (:mod:`makegood.features.extra`)
    features: tuple[tuple[str, str], ...] = ()

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
        X: np.ndarray,
        action: np.ndarray | int,
        mediator: np.ndarray | None = None,
        *,
        money: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """The outcome models' input: ``[X, action code, (money), (mediator)]``, float32,
        C order.

        The satisfaction model reads ``[X, action, (money)]``; the churn model reads
        ``[X, action, (money), predicted satisfaction]`` when mediated (else without the
        last column). ``money`` is the candidate's compensation, present iff the engine's
        ``money_input``; ``action`` and ``money`` are one value or one per row.

        >>> Engine.outcome_input(np.zeros((1, 2)), 3, np.array([7.0]), money=5.0).tolist()
        [[0.0, 0.0, 3.0, 5.0, 7.0]]
        """
        n, p = X.shape
        has_money = money is not None
        out = np.empty((n, p + 1 + has_money + (mediator is not None)), dtype=np.float32)
        out[:, :p] = X
        out[:, p] = action
        if has_money:
            out[:, p + 1] = money
        if mediator is not None:
            out[:, p + 1 + has_money] = np.asarray(mediator, dtype=np.float32).reshape(n)
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
    def money_feature(self) -> int | None:
        """Column of the candidate's compensation in :meth:`outcome_input` (None: the
        models do not read it)."""
        return len(self.spec.names) + 1 if self.params.money_input else None

    @property
    def mediator_feature(self) -> int | None:
        """Column of the mediator in the churn model's input (None: not mediated)."""
        return len(self.spec.names) + 1 + self.params.money_input if self.mediated else None

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

    def predict(
        self,
        X: np.ndarray,
        *,
        compensation: np.ndarray | None = None,
        corrected: bool = True,
        folds: bool = False,
    ) -> dict[str, np.ndarray]:
        """Per-candidate predictions for every complaint (rows of X) and every action.

        ``compensation`` (n, K) is each candidate's compensation in the engine's action
        order, required when the models read it (``money_input``), else ignored.

        Returns arrays of shape (n, K): ``satisfaction``, ``churn_prob`` (fold means,
        with the DR correction when ``corrected``) and ``churn_sd``, ``sat_sd`` (jackknife).
        With ``folds``, also each fold's own uncorrected predictions, (n, K, F):
        ``sat_folds`` and ``churn_folds`` (what an explanation of one complaint reads
        instead of predicting its two candidates again; off for batches, F times the size).
        """
        n, K = X.shape[0], self.n_actions
        F = len(self.churn_models)
        p = X.shape[1]
        rows = np.repeat(X, K, axis=0)
        codes = np.tile(np.arange(K, dtype=np.float32), n)
        money = None
        if self.params.money_input:
            if compensation is None:
                raise ValueError("this engine reads each candidate's compensation: pass it")
            money = np.asarray(compensation, dtype=np.float64).reshape(n * K)
        # every candidate of every complaint
        xa = self.outcome_input(rows, codes, money=money)
        if self.sat_models:
            sat_f = np.stack([m.predict(xa) for m in self.sat_models])  # (F, n*K)
            if self.sat_linear:  # rows are (complaint, action), as the layers' (n, K)
                sat_f += predict_folds(self.sat_linear, X).reshape(F, n * K)
        else:  # no surveys to learn from: satisfaction is unknown, churn not mediated
            sat_f = np.full((F, n * K), np.nan)
        sat_mean = sat_f.mean(axis=0)
        if self.mediated:
            xc = self.outcome_input(rows, codes, sat_f[0], money=money)
            churn_list = []
            for f, m in enumerate(self.churn_models):
                xc[:, p + 1 + (money is not None)] = sat_f[f]
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
        out = {
            "satisfaction": sat,
            "churn_prob": churn,
            "churn_sd": churn_sd.reshape(n, K),
            "sat_sd": sat_sd.reshape(n, K),
        }
        if folds:
            out["sat_folds"] = np.moveaxis(sat_f.reshape(F, n, K), 0, -1)
            out["churn_folds"] = np.moveaxis(churn_f.reshape(F, n, K), 0, -1)
        return out
