"""Evaluation: holdout metrics, off-policy estimates, and capture against an oracle.

Off-policy estimators (obp's notation; r: reward, a: logged action, pi: evaluated
deterministic policy, e: logging propensity, q: outcome model):

* IPS   ``V = mean(w r)`` with ``w = 1{a = pi(x)} / e(a|x)``
* SNIPS ``V = sum(w r) / sum(w)``
* DR    ``V = mean(q(x, pi(x)) + w (r - q(x, a)))``

Each comes with a normal 95% interval from the per-unit terms (delta method for SNIPS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from makegood.contract.catalog import Catalog
from makegood.policy.budget import allocate
from makegood.policy.forecast import Z95


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Weighted mean |observed rate - mean predicted| over equal-width probability bins.

    >>> round(expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])), 6)
    0.0
    """
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            total += m.sum() * abs(y[m].mean() - p[m].mean())
    return float(total / len(y))


def outcome_metrics(
    y_churn: np.ndarray, p_churn: np.ndarray, y_sat: np.ndarray, p_sat: np.ndarray
) -> dict[str, float]:
    """Churn AUC, Brier and calibration error; satisfaction RMSE on answered rows."""
    answered = ~np.isnan(y_sat)
    out = {
        "churn_auc": float(roc_auc_score(y_churn, p_churn)) if len(set(y_churn)) > 1 else np.nan,
        "churn_brier": float(np.mean((p_churn - y_churn) ** 2)),
        "churn_ece": expected_calibration_error(y_churn, p_churn),
        "churn_rate": float(y_churn.mean()),
        "sat_rmse": float(np.sqrt(np.mean((p_sat[answered] - y_sat[answered]) ** 2)))
        if answered.any()
        else np.nan,
    }
    return out


@dataclass(frozen=True)
class Estimate:
    value: float
    lo: float
    hi: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "lo": self.lo, "hi": self.hi}


def mean_ci(terms: np.ndarray) -> Estimate:
    """The mean of per-unit terms with its normal 95% interval (nan bounds for one unit)."""
    m = float(terms.mean())
    se = float(terms.std(ddof=1) / np.sqrt(len(terms))) if len(terms) > 1 else np.nan
    return Estimate(m, m - Z95 * se, m + Z95 * se)


def off_policy_estimates(
    reward: np.ndarray,
    action: np.ndarray,
    policy_action: np.ndarray,
    propensity: np.ndarray,
    q_hat: np.ndarray,
    *,
    min_propensity: float = 1e-3,
) -> dict[str, Estimate]:
    """IPS, SNIPS and DR estimates (per complaint) of a deterministic policy's value.

    ``propensity`` is the logging probability of the logged action (n,), ``q_hat`` the
    outcome model's predicted reward of every action (n, K). Also returns the logged
    policy's own value (``logged``: the mean reward) for comparison, and ``dr_gain``: the
    DR value minus the logged one with a PAIRED interval (the per-complaint terms
    :func:`dr_terms` minus the reward, whose mean is the gain).
    """
    n = len(reward)
    e = np.clip(propensity, min_propensity, 1.0)
    w = (action == policy_action) / e
    ips = mean_ci(w * reward)
    sw = w.sum()
    snips_v = float((w * reward).sum() / sw) if sw > 0 else np.nan
    # delta method: terms w (r - V) / mean(w)
    mw = w.mean()
    infl = w * (reward - snips_v) / mw if mw > 0 else np.full(n, np.nan)
    se = float(infl.std(ddof=1) / np.sqrt(n))
    snips = Estimate(snips_v, snips_v - Z95 * se, snips_v + Z95 * se)
    dr = dr_terms(reward, action, policy_action, propensity, q_hat, min_propensity=min_propensity)
    return {
        "ips": ips,
        "snips": snips,
        "dr": mean_ci(dr),
        "logged": mean_ci(reward),
        "dr_gain": mean_ci(dr - reward),
    }


def dr_terms(
    reward: np.ndarray,
    action: np.ndarray,
    policy_action: np.ndarray,
    propensity: np.ndarray,
    q_hat: np.ndarray,
    *,
    min_propensity: float = 1e-3,
) -> np.ndarray:
    """Per-complaint doubly robust terms ``q(x, pi(x)) + w (r - q(x, a))`` (their mean is
    the DR value; minus ``r`` they are paired per-complaint gains over the logged policy).

    >>> dr_terms(np.array([1.0, 0.0]), np.array([0, 1]), np.array([0, 0]),
    ...          np.array([0.5, 0.5]), np.array([[0.8, 0.2], [0.4, 0.1]])).round(2).tolist()
    [1.2, 0.4]
    """
    rows = np.arange(len(reward))
    w = (action == policy_action) / np.clip(propensity, min_propensity, 1.0)
    return q_hat[rows, policy_action] + w * (reward - q_hat[rows, action])


@dataclass(frozen=True)
class PolicyComparison:
    """Two policies' DR values on the same logged complaints and their paired difference."""

    candidate: Estimate
    champion: Estimate
    gain: Estimate  # candidate minus champion, per complaint, paired 95% interval
    n: int
    agreement: float  # share of complaints where both policies choose the same

    def as_dict(self) -> dict:
        return {
            "candidate": self.candidate.as_dict(),
            "champion": self.champion.as_dict(),
            "gain": self.gain.as_dict(),
            "n": self.n,
            "agreement": self.agreement,
        }


def compare_policies(
    reward: np.ndarray,
    action: np.ndarray,
    candidate_action: np.ndarray,
    champion_action: np.ndarray,
    propensity: np.ndarray,
    q_hat: np.ndarray,
    *,
    min_propensity: float = 1e-3,
) -> PolicyComparison:
    """DR values of two deterministic policies and a PAIRED interval of their difference.

    Both use the same rewards, propensities and outcome model, so on complaint i the
    difference of the DR terms is
    ``d_i = q(x_i, c_i) - q(x_i, h_i) + (1{a_i = c_i} - 1{a_i = h_i}) (r_i - q(x_i, a_i)) / e_i``
    (c: candidate's choice, h: champion's). The gain is ``mean(d)`` with a normal 95%
    interval from ``sd(d) / sqrt(n)``: complaints where both choose alike contribute 0,
    so the interval is much narrower than the two separate intervals suggest.

    >>> r = compare_policies(np.array([5.0, 1.0]), np.array([1, 0]), np.array([1, 1]),
    ...                      np.array([0, 0]), np.array([0.5, 0.5]),
    ...                      np.array([[1.0, 3.0], [1.0, 2.0]]))
    >>> round(r.gain.value, 6), r.agreement
    (3.5, 0.0)
    """
    e = np.clip(propensity, min_propensity, 1.0)
    t_c = dr_terms(reward, action, candidate_action, e, q_hat)
    t_h = dr_terms(reward, action, champion_action, e, q_hat)
    return PolicyComparison(
        candidate=mean_ci(t_c),
        champion=mean_ci(t_h),
        gain=mean_ci(t_c - t_h),
        n=len(reward),
        agreement=float(np.mean(candidate_action == champion_action)),
    )


def realized_reward(
    lifetime_value: np.ndarray,
    churned: np.ndarray,
    compensation: np.ndarray,
    handling_cost: np.ndarray,
) -> np.ndarray:
    """Realized net value of a logged complaint: ltv * (1 - churned) - comp - handling."""
    return lifetime_value * (1 - churned) - compensation - handling_cost


def logged_outcomes(
    history: pd.DataFrame, catalog: Catalog
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(logged action codes, realized net value, logging propensity or NaN) of each row."""
    A = np.array([catalog.index(r) for r in history["resolution"]])
    reward = realized_reward(
        history["lifetime_value"].to_numpy(float),
        history["churned_90d"].to_numpy(float),
        history["compensation"].to_numpy(float),
        catalog.handling_costs[A],
    )
    return A, reward, history["logging_propensity"].to_numpy(float)


@dataclass(frozen=True)
class CaptureResult:
    capture: float
    spend: float
    value: float
    mean_satisfaction: float

    def as_dict(self) -> dict[str, float]:
        return {
            "capture": self.capture,
            "spend": self.spend,
            "value": self.value,
            "mean_satisfaction": self.mean_satisfaction,
        }


def capture(
    choice: np.ndarray,
    true_value: np.ndarray,
    true_satisfaction: np.ndarray,
    compensation: np.ndarray,
    eligible: np.ndarray,
    baseline_index: int,
    budget: float,
) -> CaptureResult:
    """Share of the oracle's uplift over the all-baseline policy that ``choice`` captures.

    capture = (V(choice) - V(baseline)) / (V(oracle) - V(baseline)), V the true total net
    value; the oracle solves the same budgeted choice with the true values.
    """
    rows = np.arange(len(choice))
    oracle = allocate(true_value, compensation, eligible, budget)
    v_base = true_value[:, baseline_index].sum()
    v_pol = true_value[rows, choice].sum()
    v_orc = true_value[rows, oracle.choice].sum()
    denom = v_orc - v_base
    cap = float((v_pol - v_base) / denom) if denom > 0 else np.nan
    return CaptureResult(
        capture=cap,
        spend=float(compensation[rows, choice].sum()),
        value=float(v_pol),
        mean_satisfaction=float(true_satisfaction[rows, choice].mean()),
    )


@dataclass(frozen=True)
class ContrastSignal:
    """How far the logged outcomes bear out a model's predicted contrasts between
    resolutions (:func:`contrast_signal`): the slope, its standard error and their ratio."""

    slope: float
    se: float
    n_pairs: int

    @property
    def z(self) -> float:
        return self.slope / self.se if self.se > 0 else 0.0


def contrast_signal(
    y: np.ndarray,
    action: np.ndarray,
    propensity: np.ndarray,
    mu: np.ndarray,
    predicted: np.ndarray,
    eligible: np.ndarray,
    baseline: int,
    *,
    min_propensity: float = 1e-3,
    min_rows: int = 50,
) -> ContrastSignal:
    """The best-linear-predictor test of heterogeneous effects (Chernozhukov, Demirer, Duflo
    and Fernandez-Val): do the logged outcomes bear out the differences between complaints
    in a model's predicted contrasts of each resolution against ``baseline``?

    For every resolution k (not the baseline) eligible with the baseline on at least
    ``min_rows`` complaints, the AIPW pseudo-outcome contrast of complaint i is
    ``D_ik = G_ik - G_ib`` with ``G_ik = mu_ik + 1{a_i = k} (y_i - mu_ik) / e_i`` (``mu``: an
    outcome model of every resolution, cross-fitted; ``e_i``: the propensity of the logged
    resolution, clipped at ``min_propensity``), and the model's contrast is
    ``t_ik = predicted_ik - predicted_ib``. Both are centred within each k (each
    resolution's average effect is not what is tested), and the slope of ``D`` on ``t`` is
    ``sum(t D) / sum(t^2)``, its standard error clustered by complaint. A slope near 1 says
    the predicted differences are real; near 0, that they are noise the log does not bear
    out (its ``z`` below 2: no evidence of signal). Returns slope 0 and se 0 when no
    resolution qualifies or the predicted contrasts do not vary (sd below 1e-9).

    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> x = rng.uniform(-1, 1, n)
    >>> a = rng.integers(0, 2, n)  # randomised: e = 1/2
    >>> p = np.stack([np.full(n, 0.5), 0.5 + 0.4 * x], axis=1)  # resolution 1 helps when x < 0
    >>> y = (rng.uniform(size=n) < p[np.arange(n), a]).astype(float)
    >>> both = np.ones((n, 2), bool)
    >>> real = contrast_signal(y, a, np.full(n, 0.5), p, p, both, 0)
    >>> round(real.slope, 1), real.z > 5
    (1.0, True)
    >>> noise = np.stack([np.full(n, 0.5), 0.5 + 0.4 * rng.uniform(-1, 1, n)], axis=1)
    >>> abs(contrast_signal(y, a, np.full(n, 0.5), p, noise, both, 0).z) < 2
    True
    """
    n = len(y)
    rows = np.arange(n)
    e = np.clip(propensity, min_propensity, 1.0)
    resid = (y - mu[rows, action]) / e
    g_base = mu[:, baseline] + np.where(action == baseline, resid, 0.0)
    score = np.zeros(n)  # per complaint, sum over k of t_ik (D_ik - slope t_ik): the cluster
    td, tt, n_pairs = 0.0, 0.0, 0
    parts = []
    for k in range(mu.shape[1]):
        m = eligible[:, k] & eligible[:, baseline]
        if k == baseline or m.sum() < min_rows:
            continue
        d = (mu[m, k] + np.where(action[m] == k, resid[m], 0.0)) - g_base[m]
        t = predicted[m, k] - predicted[m, baseline]
        d, t = d - d.mean(), t - t.mean()
        td, tt, n_pairs = td + float(t @ d), tt + float(t @ t), n_pairs + int(m.sum())
        parts.append((m, t, d))
    if tt <= n_pairs * 1e-18:  # constant up to rounding
        return ContrastSignal(0.0, 0.0, n_pairs)
    slope = td / tt
    for m, t, d in parts:
        score[m] += t * (d - slope * t)
    se = float(np.sqrt(np.sum(score**2)) / tt)
    return ContrastSignal(float(slope), se, n_pairs)
