"""What the log supports: how far the learned policy moves from the logged one (issue 24).

On the training history itself, with the final fit's cross-fitted predictions (each row
predicted by models that never saw its customer), makegood's budgeted policy at the spend
the log shows is set beside what the agents gave:

* the share of complaints whose resolution changes;
* the doubly robust gain per complaint over the logged policy, paired per complaint:
  ``g_i = q(x_i, pi(x_i)) + 1{a_i = pi(x_i)} (r_i - q(x_i, a_i)) / e_i - r_i``
  (:func:`~makegood.modeling.evaluate.dr_terms` minus the realized reward), its mean with a
  normal 95% interval (:func:`~makegood.modeling.evaluate.mean_ci`);
* overlap: for each recommended case, the cross-fitted probability that the agents gave the
  recommended resolution to such a complaint. Below ``floor`` the log barely covers that
  choice there and its value is the outcome model's extrapolation, not evidence. A
  resolution is named in :attr:`LogSupport.warnings` when at least ``warn_share`` of all
  complaints are recommended it on such thin support.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.modeling.evaluate import Estimate, dr_terms, logged_outcomes, mean_ci
from makegood.policy.budget import allocate
from makegood.policy.value import net_value

__all__ = [
    "SUPPORT_FLOOR",
    "WARN_SHARE",
    "LogSupport",
    "ResolutionSupport",
    "log_support",
    "scored_candidates",
    "support_lines",
]

#: A recommended resolution the agents gave to fewer than 5% of such complaints is thin
#: evidence (the threshold the service's explanations use, ``predict.THIN_EVIDENCE``).
SUPPORT_FLOOR = 0.05
#: Name a resolution when this share of all complaints are recommended it on thin support.
WARN_SHARE = 0.05


@dataclass(frozen=True)
class ResolutionSupport:
    """One resolution's share of the recommended and of the logged mix, and the share of
    all complaints recommended it where the log gave it below the floor."""

    resolution: str
    recommended: float
    logged: float
    thin: float

    def as_dict(self) -> dict[str, float | str]:
        return {
            "resolution": self.resolution,
            "recommended": self.recommended,
            "logged": self.logged,
            "thin": self.thin,
        }


@dataclass(frozen=True)
class LogSupport:
    """How far the learned policy moves from the logged one on ``n`` complaints."""

    n: int
    changed: float
    gain: Estimate
    thin: float
    floor: float
    mix: tuple[ResolutionSupport, ...]
    warnings: tuple[str, ...]

    def as_dict(self) -> dict:
        return {
            "n": self.n,
            "changed": self.changed,
            "gain": self.gain.as_dict(),
            "thin": self.thin,
            "floor": self.floor,
            "mix": [m.as_dict() for m in self.mix],
            "warnings": list(self.warnings),
        }

    def metrics(self) -> dict[str, float]:
        """Flat metrics (MLflow, the bundle's metrics)."""
        return {
            "policy_changed_share": self.changed,
            "history_dr_gain": self.gain.value,
            "history_dr_gain_lo": self.gain.lo,
            "history_dr_gain_hi": self.gain.hi,
            "thin_support_share": self.thin,
        }

    def lines(self) -> list[str]:
        """The summary in words, one line each (train prints them; the report shows them)."""
        g = self.gain
        mix = ", ".join(
            f"{m.resolution} {m.recommended:.0%} (log {m.logged:.0%})" for m in self.mix
        )
        return [
            f"on the {self.n:,} logged complaints, at the logged spend, the policy changes the "
            f"resolution of {self.changed:.0%}",
            f"doubly robust gain per complaint over the logged policy {g.value:+,.2f} "
            f"(95% {g.lo:+,.2f} to {g.hi:+,.2f})",
            f"recommended mix: {mix}",
            f"{self.thin:.0%} of recommendations are resolutions the log gave to fewer than "
            f"{self.floor:.0%} of such complaints",
            *(f"warning: {w}" for w in self.warnings),
        ]

    @classmethod
    def from_dict(cls, d: dict) -> LogSupport:
        g = d["gain"]
        return cls(
            n=int(d["n"]),
            changed=float(d["changed"]),
            gain=Estimate(float(g["value"]), float(g["lo"]), float(g["hi"])),
            thin=float(d["thin"]),
            floor=float(d["floor"]),
            mix=tuple(
                ResolutionSupport(
                    str(m["resolution"]),
                    float(m["recommended"]),
                    float(m["logged"]),
                    float(m["thin"]),
                )
                for m in d["mix"]
            ),
            warnings=tuple(str(w) for w in d["warnings"]),
        )


def scored_candidates(supported: np.ndarray, eligible: np.ndarray, baseline: int) -> np.ndarray:
    """(n, K) the candidates scoring offers: ``eligible`` resolutions that the history gave
    often enough (``supported``, (K,); the baseline always counts).

    >>> scored_candidates(np.array([True, False]), np.ones((1, 2), bool), 1).tolist()
    [[True, True]]
    """
    ok = np.asarray(supported, dtype=bool).copy()
    ok[baseline] = True
    return eligible & ok[None, :]


def log_support(
    history: pd.DataFrame,
    catalog: Catalog,
    churn_prob: np.ndarray,
    propensity: np.ndarray,
    eligible: np.ndarray,
    *,
    min_propensity: float = 0.02,
    floor: float = SUPPORT_FLOOR,
    warn_share: float = WARN_SHARE,
) -> LogSupport:
    """The learned policy against the logged one on ``history`` (n rows, catalog order).

    ``churn_prob`` and ``propensity`` are (n, K) cross-fitted predictions (propensities
    over the eligible resolutions), ``eligible`` (n, K) the candidates scoring offers. The
    policy is the budgeted choice on net value at the history's total compensation; a
    row's logging propensity is used where the history records one, else the estimate,
    clipped below at ``min_propensity`` in the DR weights.
    """
    n = len(history)
    A, reward, logged_e = logged_outcomes(history, catalog)
    rows = np.arange(n)
    comp = catalog.compensation_matrix(history["disputed_amount"].to_numpy(float))
    ltv = history["lifetime_value"].to_numpy(float)
    q = net_value(ltv, churn_prob, comp, catalog.handling_costs)
    choice = allocate(q, comp, eligible, float(history["compensation"].sum())).choice
    e_obs = np.where(np.isfinite(logged_e) & (logged_e > 0), logged_e, propensity[rows, A])
    gain = mean_ci(dr_terms(reward, A, choice, e_obs, q, min_propensity=min_propensity) - reward)
    thin_rows = propensity[rows, choice] < floor
    K = len(catalog.ids)
    rec_share = np.bincount(choice, minlength=K) / n
    log_share = np.bincount(A, minlength=K) / n
    thin_share = np.bincount(choice[thin_rows], minlength=K) / n
    mix = tuple(
        ResolutionSupport(rid, float(rec_share[k]), float(log_share[k]), float(thin_share[k]))
        for k, rid in enumerate(catalog.ids)
    )
    warnings = tuple(
        f"{m.resolution} is recommended for {m.recommended:.0%} of complaints (the log gave it "
        f"to {m.logged:.0%}); for {m.thin:.0%} of all complaints the log gave it to fewer than "
        f"{floor:.0%} of such complaints, so its value there is the model's extrapolation"
        for m in mix
        if m.thin >= warn_share
    )
    return LogSupport(
        n=n,
        changed=float(np.mean(choice != A)),
        gain=gain,
        thin=float(thin_rows.mean()) if n else 0.0,
        floor=floor,
        mix=mix,
        warnings=warnings,
    )


def support_lines(meta: dict) -> list[str]:
    """What the training log supports, in words, from a bundle's metadata ([] for a bundle
    trained before it was measured)."""
    d = meta.get("log_support")
    return LogSupport.from_dict(d).lines() if d else []
