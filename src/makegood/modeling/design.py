"""What every model of the engine is fitted on: the design of a prepared history.

:func:`build_design` reads the features (text signals cross-fitted on the same folds,
customer memory), the resolutions given, the outcomes and the cross-fitting folds (whole
customers per fold) into a :class:`Design`; :func:`text_targets` says what the text
models learn to read. The models themselves are fitted by
:func:`makegood.modeling.fitting.fit_engine`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.features import memory as memory_mod
from makegood.features.pipeline import assemble
from makegood.features.structured import FeatureSpec
from makegood.features.text.signals import TextSignals
from makegood.modeling.engine import Engine, EngineParams, Progress, no_progress

__all__ = ["Design", "build_design", "text_targets"]


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


@dataclass(frozen=True)
class Design:
    """What every model of :func:`~makegood.modeling.fitting.fit_engine` is fitted on (n
    rows, K resolutions).

    ``X`` the (n, p) base features; ``action`` (n,) the resolution given (catalog index);
    ``y_churn``, ``y_sat`` (NaN where the survey went unanswered) the outcomes;
    ``eligible`` (n, K); ``fold`` (n,) the cross-fitting fold, whole customers per fold;
    ``baseline`` the catalog's baseline resolution (effects are measured against it);
    ``cat_base`` the categorical columns of ``X``, ``cat_a`` those of the outcome input
    (``X`` plus the resolution); ``xa_obs`` the outcome input at the resolution given.
    With ``money_input``, ``compensation`` (n, K) is each candidate's compensation by the
    catalog's rule and ``xa_obs`` reads the compensation actually given; else None.
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
    compensation: np.ndarray | None = None

    def money(self, k: int, rows: np.ndarray) -> np.ndarray | None:
        """The outcome input's money column for candidate ``k`` of ``rows`` (a mask or
        indices): None when the models do not read compensation."""
        return None if self.compensation is None else self.compensation[rows, k]

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
    progress: Progress = no_progress,
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
        prep,
        mem,
        scores,
        names,
        None,
        with_intents=params.use_intents,
        protected=params.protected,
        extras=dict(params.features),
    )
    X = feats.X
    A = np.array([catalog.index(r) for r in prep["resolution"]])
    cat_base = feats.spec.categorical_indices
    comp = given = None
    if params.money_input:
        comp = catalog.compensation_matrix(prep["disputed_amount"].to_numpy(float))
        given = prep["compensation"].to_numpy(float)
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
        xa_obs=Engine.outcome_input(X, A, money=given),
        n_levels={
            i: len(feats.spec.categories.get(name, []))
            for i, name in zip(cat_base, feats.spec.categorical, strict=True)
        },
        baseline=catalog.baseline_index,
        compensation=comp,
    )
    return design, signals


def _folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold id per row, whole customers per fold (their complaints do not leak)."""
    uniq, inv = np.unique(groups, return_inverse=True)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(uniq))
    return (perm % n_folds)[inv]
