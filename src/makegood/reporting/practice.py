"""Current practice: the logged policy of a history, and makegood's value on the same
complaints estimated off-policy (IPS, SNIPS, doubly robust) with paired intervals."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from makegood.contract.units import fsum
from makegood.errors import BudgetError
from makegood.modeling.bundle import Bundle
from makegood.modeling.evaluate import dr_terms, off_policy_estimates, realized_reward
from makegood.modeling.predict import Scores, score
from makegood.policy.guardrails import Guardrails
from makegood.reporting.numbers import report_round as _r
from makegood.reporting.numbers import sum_ci
from makegood.reporting.outcomes import CandidateOutcomes

__all__ = ["VERSUS_PRACTICE_METHOD", "CurrentPractice", "estimate_total"]

VERSUS_PRACTICE_METHOD = (
    "doubly robust off-policy estimate on the history; 95% intervals from paired "
    "per-complaint terms (makegood's estimate minus the realized outcome, normal approximation)"
)


def estimate_total(est, n: float) -> dict:
    """A per-complaint estimate with its interval, as totals over ``n`` complaints."""
    return {"value": _r(est.value * n), "lo": _r(est.lo * n), "hi": _r(est.hi * n)}


@dataclass
class CurrentPractice:
    """The logged policy of a history, and what OPE needs to value other policies on it."""

    history: pd.DataFrame
    scores: Scores
    action: np.ndarray
    reward: np.ndarray
    propensity: np.ndarray
    n_missing_propensity: int
    # makegood's allocations on the history are guarded by these (the catalog's, with the
    # history's own complaints in the caps' windows), as on the complaint set
    guardrails: Guardrails | None = None

    @classmethod
    def build(
        cls,
        bundle: Bundle,
        history: pd.DataFrame,
        s: Scores | None,
        guardrails: Guardrails | None = None,
    ) -> CurrentPractice:
        cat = bundle.catalog
        unknown = sorted(set(history["resolution"]) - set(cat.ids))
        if unknown:
            raise BudgetError(
                f"history resolution(s) {unknown} are not in the catalog {list(cat.ids)}: "
                "pass the catalog the history was logged with"
            )
        s = s if s is not None else score(bundle, history)
        action = np.array([cat.index(r) for r in history["resolution"]], dtype=np.int64)
        reward = realized_reward(
            s.lifetime_value,
            history["churned_90d"].to_numpy(float),
            history["compensation"].to_numpy(float),
            cat.handling_costs[action],
        )
        rows = np.arange(len(history))
        if "logging_propensity" in history.columns:
            e = history["logging_propensity"].to_numpy(float)
        else:
            e = np.full(len(history), np.nan)
        missing = int(np.isnan(e).sum())
        e = np.where(np.isnan(e), s.propensity[rows, action], e)
        return cls(history, s, action, reward, e, missing, guardrails)

    @property
    def n(self) -> int:
        return len(self.history)

    @property
    def spend(self) -> float:
        return fsum(self.history["compensation"].to_numpy(float))

    @cached_property
    def cands(self) -> CandidateOutcomes:
        return CandidateOutcomes.from_scores(self.scores).with_guardrails(self.guardrails)

    def versus(self, choice: np.ndarray, n_batch: float) -> dict:
        """makegood's ``choice`` on this history against what was logged, as totals over
        ``n_batch`` complaints, with paired intervals.

        Per complaint i (w_i = 1{a_i = pi_i} / e_i), the doubly robust term of a reward
        ``y`` with model ``q`` is ``q(i, pi_i) + w_i (y_i - q(i, a_i))``; the gain is that
        term minus ``y_i`` (the realized outcome) and its total interval is normal on the
        per-complaint gains (:func:`sum_ci`), so the two policies' common noise cancels.
        Rewards: net value, retained value ``LTV (1 - churned)`` and churn (``churned``).
        """
        s = self.scores
        churned = self.history["churned_90d"].to_numpy(float)
        kept = s.lifetime_value * (1.0 - churned)
        args = (self.action, choice, self.propensity)
        net = dr_terms(self.reward, *args, s.net_value)
        ret = dr_terms(kept, *args, s.lifetime_value[:, None] * (1.0 - s.churn_prob))
        churn = dr_terms(churned, *args, s.churn_prob)
        comp = s.compensation[np.arange(self.n), choice]
        hist_comp = self.history["compensation"].to_numpy(float)
        return {
            "practice": {
                "spend": _r(float(hist_comp.mean()) * n_batch),
                "retained_value": _r(float(kept.mean()) * n_batch),
                "churners": _r(float(churned.mean()) * n_batch, 2),
                "net_value": _r(float(self.reward.mean()) * n_batch),
            },
            "makegood": {
                "spend": _r(float(comp.mean()) * n_batch),
                "retained_value": sum_ci(ret, n_batch),
                "churners": sum_ci(churn, n_batch),
                "net_value": sum_ci(net, n_batch),
            },
            "gain": {
                "retained_value": sum_ci(ret - kept, n_batch),
                "churn_avoided": sum_ci(churned - churn, n_batch),
                "net_value": sum_ci(net - self.reward, n_batch),
            },
        }

    def same_spend_budget(self, n_batch: float) -> float:
        """The batch budget with the historical spend per complaint."""
        return self.spend * n_batch / self.n

    def _estimates(self, choice: np.ndarray) -> dict:
        return off_policy_estimates(
            self.reward, self.action, choice, self.propensity, self.scores.net_value
        )

    def ope_of(self, choice: np.ndarray, n_batch: float) -> dict:
        """DR value of ``choice`` on this history (the complaint set itself), as totals
        over ``n_batch`` complaints (one period's)."""
        est = self._estimates(choice)["dr"]
        return estimate_total(est, n_batch)

    def summary(self, n_batch: float, replay: bool) -> dict:
        cands = self.cands
        n = self.n
        # makegood on the history itself at the historical spend (with guardrails, at
        # least what they require of it: below that no allocation pays what is owed)
        budget = max(self.spend, cands.min_spend)
        mg = cands.allocations([budget])[budget]
        est = self._estimates(mg.choice)
        logged_model = cands.totals(self.action)
        mg_model = cands.totals(mg.choice)
        sat = self.history.get("satisfaction")
        scale = n_batch / n
        paired = self.versus(mg.choice, n)

        out = {
            "source": "the complaint set (replayed)" if replay else "the separate history",
            "n_complaints": n,
            "date_from": str(pd.to_datetime(self.history["opened_at"]).min()),
            "date_to": str(pd.to_datetime(self.history["opened_at"]).max()),
            "spend": _r(self.spend),
            "spend_per_complaint": _r(self.spend / n, 4),
            "observed_churners": int(self.history["churned_90d"].sum()),
            "observed_mean_satisfaction": _r(float(np.nanmean(sat)), 3)
            if sat is not None and sat.notna().any()
            else None,
            "n_missing_propensity": self.n_missing_propensity,
            "logged": {
                "realized_net_value": estimate_total(est["logged"], n),
                "model_net_value": _r(logged_model["net_value"]),
                "model_retained_value": _r(logged_model["retained_value"]),
                "model_expected_churners": _r(logged_model["expected_churners"], 2),
            },
            "makegood_same_spend": {
                "budget": _r(budget),
                "spend": _r(mg.spend),
                "saving": _r(self.spend - mg.spend),
                "ips": estimate_total(est["ips"], n),
                "snips": estimate_total(est["snips"], n),
                "dr": estimate_total(est["dr"], n),
                "model_net_value": _r(mg_model["net_value"]),
                "model_retained_value": _r(mg_model["retained_value"]),
                "model_expected_churners": _r(mg_model["expected_churners"], 2),
                "dr_gain": _r((est["dr"].value - est["logged"].value) * n),
                "dr_gain_lo": paired["gain"]["net_value"]["lo"],
                "dr_gain_hi": paired["gain"]["net_value"]["hi"],
                "dr_churn_avoided": paired["gain"]["churn_avoided"],
                "model_churn_avoided": _r(
                    logged_model["expected_churners"] - mg_model["expected_churners"], 2
                ),
            },
            "batch_scale": _r(scale, 6),
            "batch_same_spend_budget": _r(self.same_spend_budget(n_batch)),
        }
        return out
