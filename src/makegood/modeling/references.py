"""Reference policies makegood is compared with.

* **naive S-learner**: one LightGBM per outcome with the resolution as a plain feature,
  structured columns only: no text, no customer memory, no propensities, no correction.
  It learns the historical correlations, confounding included.
* **standard formula**: one size for all: each issue type's resolutions valued by their
  average realized net value in the history (what a company's formula encodes).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.features.structured import CATEGORICAL_BASE, NUMERIC_BASE, FeatureSpec, base_columns
from makegood.modeling.engine import Engine
from makegood.modeling.evaluate import logged_outcomes
from makegood.policy.value import net_value


class NaiveSLearner:
    """One LightGBM per outcome on [structured features, resolution]; see module doc."""

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.05, random_state: int = 0):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _params(self, objective: str) -> dict:
        return {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": 31,
            "min_child_samples": 40,
            "verbose": -1,
            "seed": self.random_state,
        }

    def fit(self, history: pd.DataFrame, catalog: Catalog) -> NaiveSLearner:
        df = base_columns(history)
        self.spec_ = FeatureSpec.fit(df, NUMERIC_BASE, CATEGORICAL_BASE)
        X = self.spec_.matrix(df)
        A = np.array([catalog.index(r) for r in df["resolution"]])
        xa = Engine.outcome_input(X, A)
        cat = [*self.spec_.categorical_indices, X.shape[1]]
        y_c = df["churned_90d"].to_numpy(float)
        self.churn_ = lgb.train(
            self._params("binary"),
            lgb.Dataset(xa, y_c, categorical_feature=cat),
            self.n_estimators,
        )
        y_s = df["satisfaction"].to_numpy(float)
        m = ~np.isnan(y_s)
        self.sat_ = lgb.train(
            self._params("regression"),
            lgb.Dataset(xa[m], y_s[m], categorical_feature=cat),
            self.n_estimators,
        )
        self.catalog_ = catalog
        return self

    def predict(self, complaints: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per-candidate ``churn_prob``, ``satisfaction`` and ``net_value``, each (n, K)."""
        df = base_columns(complaints)
        X = self.spec_.matrix(df)
        n, K = len(df), len(self.catalog_.ids)
        churn = np.column_stack([self.churn_.predict(Engine.outcome_input(X, k)) for k in range(K)])
        sat = np.column_stack([self.sat_.predict(Engine.outcome_input(X, k)) for k in range(K)])
        comp = self.catalog_.compensation_matrix(df["disputed_amount"].to_numpy(float))
        nv = net_value(
            df["lifetime_value"].to_numpy(float), churn, comp, self.catalog_.handling_costs
        )
        return {"churn_prob": churn.reshape(n, K), "satisfaction": sat, "net_value": nv}


def standard_formula_values(
    history: pd.DataFrame, catalog: Catalog, complaints: pd.DataFrame
) -> np.ndarray:
    """Value of each resolution for each new complaint under the one-size formula, (n, K).

    The value of resolution a for issue type t is the mean realized net value of the
    history's complaints of type t given a (the overall mean of a where t never got a).
    """
    K = len(catalog.ids)
    A, r, _ = logged_outcomes(history, catalog)
    h = pd.DataFrame({"issue": history["issue_type"].to_numpy(), "a": A, "r": r})
    by = h.groupby(["issue", "a"])["r"].agg(["mean", "size"])
    overall = h.groupby("a")["r"].mean()
    issues = complaints["issue_type"].to_numpy()
    out = np.full((len(complaints), K), np.nan)
    for k in range(K):
        base = overall.get(k, np.nan)
        col = np.full(len(complaints), base)
        for t in np.unique(issues):
            key = (t, k)
            if key in by.index and by.loc[key, "size"] >= 20:
                col[issues == t] = by.loc[key, "mean"]
        out[:, k] = col
    return np.nan_to_num(out, nan=-1e9)
