"""Helpers the notebooks share: settings, sample data, confounding views, calibration, SHAP.

Everything a notebook would otherwise copy from another lives here (STYLE.md: notebooks
explore and explain; the package holds the code). Plotting functions take an optional
matplotlib ``ax`` and import matplotlib only when called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.sim.world import simulate, write_world

# --- settings --------------------------------------------------------------------------
# a small, quick model for notebooks run in CI (MAKEGOOD_NB_FAST=1)
FAST_TRAIN_PARAMS = {
    "n_estimators": 80,
    "n_folds": 2,
    "propensity_estimators": 40,
    "num_threads": 1,
}


@dataclass(frozen=True)
class NotebookSettings:
    """Where a notebook reads and writes, and how big its data is.

    Read from the environment by :func:`notebook_settings`: ``MAKEGOOD_NB_WORKDIR``
    (default: the repository root), ``MAKEGOOD_NB_DATA`` (default ``<workdir>/data/raw``;
    simulated there when it holds no ``history.csv``), ``MAKEGOOD_NB_N`` (simulated history
    rows, default 20000), ``MAKEGOOD_NB_SEED`` (0) and ``MAKEGOOD_NB_FAST`` (1: small,
    quick models, as in CI).
    """

    workdir: Path
    data_dir: Path
    n: int
    seed: int
    fast: bool

    @property
    def models_dir(self) -> Path:
        return self.workdir / "models"

    @property
    def registry_cache(self) -> Path:
        return self.workdir / "models" / "registry"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{(self.workdir / 'mlruns' / 'mlflow.db').resolve()}"

    @property
    def train_params(self) -> dict:
        """Training settings for :func:`makegood.train` (quick ones when ``fast``)."""
        return (
            dict(FAST_TRAIN_PARAMS, random_state=self.seed)
            if self.fast
            else {"random_state": self.seed}
        )


def _repo_root(start: Path) -> Path:
    for d in (start, *start.parents):
        if (d / "pyproject.toml").exists():
            return d
    return start


def notebook_settings() -> NotebookSettings:
    """Settings from ``MAKEGOOD_NB_*`` environment variables (see :class:`NotebookSettings`).

    Raises ValueError naming the variable when a number does not parse.
    """

    def number(var: str, default: int) -> int:
        raw = os.environ.get(var, str(default))
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{var} must be an integer. Got {raw!r} instead.") from None

    workdir = Path(os.environ.get("MAKEGOOD_NB_WORKDIR") or _repo_root(Path.cwd())).resolve()
    data = Path(os.environ.get("MAKEGOOD_NB_DATA") or workdir / "data" / "raw")
    fast = os.environ.get("MAKEGOOD_NB_FAST", "0").lower() in ("1", "true", "yes")
    return NotebookSettings(
        workdir, data, number("MAKEGOOD_NB_N", 20_000), number("MAKEGOOD_NB_SEED", 0), fast
    )


def ensure_sample_data(settings: NotebookSettings) -> dict[str, Path]:
    """Paths of the notebook's data files, simulating them first if there is no history.

    Returns ``history``, ``complaints``, ``catalog`` and, for simulated data, ``truth``
    and ``history_truth`` (absent keys: the files do not exist, e.g. real data).
    """

    d = settings.data_dir
    if not (d / "history.csv").exists():
        write_world(simulate(settings.n, seed=settings.seed), d)
    names = {
        "history": "history.csv",
        "complaints": "new_complaints.csv",
        "catalog": "catalog.yaml",
        "truth": "truth.csv",
        "history_truth": "history_truth.csv",
    }
    return {k: d / f for k, f in names.items() if (d / f).exists()}


# --- who was given what ----------------------------------------------------------------
TEXT_SIGNALS = {
    # generic wording of a customer who says they may leave, or asks for money back
    "threat_to_leave": r"\b(?:cancel|close my account|switch(?:ing)?|leav(?:e|ing)|competitor|"
    r"other (?:provider|compan(?:y|ies))|last straw)\b",
    "asks_for_money": r"\b(?:refund|money back|reimburs\w*|owed|return the charge)\b",
    "in_a_hurry": r"\b(?:today|right now|before tomorrow|no time|cannot wait|can't wait)\b",
}


def text_signal_flags(texts: pd.Series) -> pd.DataFrame:
    """One boolean column per :data:`TEXT_SIGNALS` pattern, matched in lower-cased text."""
    low = texts.fillna("").astype(str).str.lower()
    return pd.DataFrame({k: low.str.contains(p, regex=True) for k, p in TEXT_SIGNALS.items()})


def resolution_share(history: pd.DataFrame, by: str | pd.Series) -> pd.DataFrame:
    """Share of each resolution (columns) within each value of ``by`` (rows); rows sum to 1."""
    key = history[by] if isinstance(by, str) else by
    return pd.crosstab(key.fillna("(unknown)"), history["resolution"], normalize="index")


def outcome_rates(history: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Complaints, churn rate, mean satisfaction (answered) and response rate per group."""
    g = history.groupby(by, observed=True)
    return pd.DataFrame(
        {
            "n": g.size(),
            "churn_rate": g["churned_90d"].mean(),
            "mean_satisfaction": g["satisfaction"].mean(),
            "answered": g["satisfaction"].apply(lambda s: s.notna().mean()),
            "mean_compensation": g["compensation"].mean(),
        }
    )


def observed_vs_true_churn(
    history: pd.DataFrame, truth: pd.DataFrame, catalog: Catalog
) -> pd.DataFrame:
    """Observed churn by resolution next to its true effect (simulated data only).

    ``truth`` is the simulator's truth table (new complaints x eligible resolutions).
    Columns: ``observed_churn`` (history, who was given it), ``observed_vs_baseline``,
    ``true_effect_vs_baseline`` (mean over new complaints where both are eligible of
    true churn under the resolution minus under the baseline). A resolution that looks
    harmful while truly helping is confounding: agents gave it to customers at risk.
    """
    base = catalog.baseline
    obs = history.groupby("resolution")["churned_90d"].agg(["mean", "size"])
    wide = truth.pivot(index="complaint_id", columns="resolution", values="true_churn_prob")
    effect = {
        r: float((wide[r] - wide[base]).dropna().mean()) if r in wide else np.nan
        for r in catalog.ids
    }
    out = pd.DataFrame(
        {
            "n_history": obs["size"].reindex(list(catalog.ids)).fillna(0).astype(int),
            "observed_churn": obs["mean"].reindex(list(catalog.ids)),
        }
    )
    out["observed_vs_baseline"] = out["observed_churn"] - out.loc[base, "observed_churn"]
    out["true_effect_vs_baseline"] = pd.Series(effect)
    return out


def cross_fitted_propensity(
    history: pd.DataFrame,
    catalog: Catalog,
    *,
    n_folds: int = 4,
    n_estimators: int = 120,
    random_state: int = 0,
) -> np.ndarray:
    """Out-of-fold P(agents chose each resolution | what they could see), shape (n, K).

    A diagnostic of overlap, independent of the training engine: LightGBM multiclass on
    the contract's structured columns and :func:`text_signal_flags`, folds grouped by
    customer, each row predicted by a model that never saw it, renormalized over the
    resolutions eligible for the complaint. Columns in catalog order.
    """
    import lightgbm as lgb
    from sklearn.model_selection import GroupKFold

    X = _propensity_features(history)
    y = np.array([catalog.index(r) for r in history["resolution"]])
    K = len(catalog.ids)
    out = np.zeros((len(history), K))
    params = {
        "objective": "multiclass",
        "num_class": K,
        "learning_rate": 0.08,
        "num_leaves": 15,
        "min_child_samples": 30,
        "verbose": -1,
        "seed": random_state,
        "num_threads": 1,
    }
    groups = history["customer_id"].to_numpy()
    for tr, te in GroupKFold(n_splits=n_folds).split(X, y, groups):
        m = lgb.train(params, lgb.Dataset(X.iloc[tr], y[tr]), num_boost_round=n_estimators)
        out[te] = np.asarray(m.predict(X.iloc[te])).reshape(-1, K)
    eligible = catalog.eligibility_matrix(
        history["issue_type"].to_numpy(), history["severity"].to_numpy()
    )
    out = np.where(eligible, out, 0.0)
    return out / np.clip(out.sum(axis=1, keepdims=True), 1e-12, None)


def _propensity_features(history: pd.DataFrame) -> pd.DataFrame:
    num = [
        "severity",
        "disputed_amount",
        "annual_value",
        "lifetime_value",
        "tenure_months",
        "prior_complaints_12m",
    ]
    cat = ["channel", "issue_type", "segment", "emotion", "digital_skill"]
    X = history[[c for c in num if c in history]].astype(float).copy()
    for c in cat:
        if c in history:
            X[c] = history[c].fillna("(unknown)").astype("category")
    flags = text_signal_flags(history["complaint_text"]).astype(float)
    return pd.concat([X, flags.set_axis(X.index)], axis=1)


def plot_propensity_overlap(
    propensity: np.ndarray, resolution: pd.Series, catalog: Catalog, *, bins: int = 25
):
    """One histogram per resolution of P(given it): complaints that got it vs the rest.

    Mass near 0 among those who did not get it and near 1 among those who did is poor
    overlap: for such customers the data say little about the other choice. Returns the
    figure.
    """
    import matplotlib.pyplot as plt

    K = len(catalog.ids)
    cols = 4
    rows = int(np.ceil(K / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    got = resolution.to_numpy()
    edges = np.linspace(0, 1, bins + 1)
    for k, rid in enumerate(catalog.ids):
        ax = axes[k // cols][k % cols]
        p = propensity[:, k]
        ax.hist(p[got != rid], bins=edges, density=True, alpha=0.5, label="others")
        ax.hist(p[got == rid], bins=edges, density=True, alpha=0.5, label=f"got {rid}")
        ax.set_title(rid, fontsize=9)
        ax.set_yticks([])
    for k in range(K, rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("cross-fitted propensity of each resolution")
    fig.tight_layout()
    return fig


# --- calibration -----------------------------------------------------------------------
def reliability_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Mean prediction and mean outcome per equal-width bin of ``p`` (non-empty bins).

    ``y`` may be 0/1 outcomes or true probabilities (simulated data).

    >>> reliability_table(np.array([0, 1]), np.array([0.05, 0.95]), n_bins=2)["observed"].tolist()
    [0.0, 1.0]
    """
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    b = np.minimum((p * n_bins).astype(int), n_bins - 1)
    df = pd.DataFrame({"bin": b, "p": p, "y": y})
    g = df.groupby("bin")
    return pd.DataFrame(
        {"predicted": g["p"].mean(), "observed": g["y"].mean(), "n": g.size()}
    ).reset_index(drop=True)


def plot_reliability(tables: dict[str, pd.DataFrame], ax=None, title: str = "churn calibration"):
    """Reliability curves (one per table of :func:`reliability_table`) on the diagonal."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    hi = max(max(t["predicted"].max(), t["observed"].max()) for t in tables.values())
    ax.plot([0, hi], [0, hi], color="grey", lw=1, ls="--")
    for label, t in tables.items():
        ax.plot(t["predicted"], t["observed"], marker="o", label=label)
    ax.set_xlabel("predicted churn probability")
    ax.set_ylabel("observed / true")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_estimates(estimates: dict[str, dict[str, float]], ax=None, title: str = ""):
    """Point estimates with 95% intervals (``{"ips": {"value", "lo", "hi"}, ...}``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 2.8))
    names = list(estimates)
    v = np.array([estimates[n]["value"] for n in names])
    lo = np.array([estimates[n]["lo"] for n in names])
    hi = np.array([estimates[n]["hi"] for n in names])
    ax.errorbar(v, np.arange(len(names)), xerr=[v - lo, hi - v], fmt="o", capsize=4)
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_xlabel("net value per complaint")
    ax.set_title(title)
    return ax


# --- SHAP-style attributions of the churn model ----------------------------------------
def churn_contributions(
    bundle, complaints: pd.DataFrame, resolution: np.ndarray | list[str] | None = None
) -> pd.DataFrame:
    """LightGBM ``pred_contrib`` (exact TreeSHAP) of the churn model, in log-odds.

    One row per complaint, one column per model input plus ``bias``; a row sums to the
    churn model's log-odds for that complaint under ``resolution`` (default: the
    baseline), averaged over the cross-fitting folds. With a mediated model the input
    ``expected_satisfaction`` is the fold's own satisfaction prediction, as in scoring;
    with the money input, ``compensation`` is the resolution's, by the catalog's rule.
    The doubly robust correction (added on the probability scale) is not attributed.
    """
    from makegood.modeling.predict import features_for

    eng = bundle.engine
    X = features_for(bundle, complaints)
    if resolution is None:
        resolution = [bundle.catalog.baseline] * len(X)
    action = np.array([eng.action_ids.index(r) for r in resolution], dtype=np.float32)
    names = [*eng.spec.names, "resolution_code"]
    money = None
    if eng.params.money_input:
        cat = bundle.catalog
        comp = cat.compensation_matrix(complaints["disputed_amount"].to_numpy(float))
        money = comp[np.arange(len(X)), [cat.index(r) for r in resolution]]
        names.append("compensation")
    if eng.mediated:
        names.append("expected_satisfaction")
    total = np.zeros((len(X), len(names) + 1))
    for f, churn_model in enumerate(eng.churn_models):
        xa = eng.outcome_input(X, action, money=money)
        sat = eng.predict_satisfaction(f, xa) if eng.mediated else None
        xc = eng.outcome_input(X, action, sat, money=money)
        total += churn_model.predict(xc, pred_contrib=True)
    return pd.DataFrame(total / len(eng.churn_models), columns=[*names, "bias"])


def mean_abs_contribution(contrib: pd.DataFrame, top: int | None = 15) -> pd.Series:
    """Mean |contribution| per input (bias excluded), largest first."""
    s = contrib.drop(columns="bias").abs().mean().sort_values(ascending=False)
    return s.head(top) if top else s


def plot_importance(importance: pd.Series, ax=None, title: str = "churn model: mean |SHAP|"):
    """Horizontal bar chart of :func:`mean_abs_contribution`."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(importance) + 1))
    s = importance[::-1]
    ax.barh(s.index, s.to_numpy())
    ax.set_xlabel("mean |contribution| (log-odds of churn)")
    ax.set_title(title)
    return ax


def ranking_frame(ranking: dict) -> pd.DataFrame:
    """One complaint's ranking (an item of ``Recommendations.rankings()``) as a table."""
    df = pd.DataFrame(ranking["candidates"]).set_index("rank")
    df["chosen"] = df["resolution"] == ranking["recommended"]
    return df


def top_reasons(contrib: pd.DataFrame, i: int, n: int = 5) -> pd.Series:
    """The ``n`` inputs that moved complaint ``i``'s churn log-odds most (signed)."""
    row = contrib.iloc[i].drop("bias")
    return row.reindex(row.abs().sort_values(ascending=False).index).head(n)
