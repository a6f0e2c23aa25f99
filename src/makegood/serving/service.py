"""What the endpoints do: score, choose within the budget, reserve, explain, settle.

The served choice rule (exploration among near-ties and its logging propensity) is
:mod:`makegood.policy.choice`, the paced shadow price :mod:`makegood.policy.pacing`.
If the reservation is declined (the budget moved since it was read), the choice is made
again among what still fits.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from makegood.contract import COMPLAINT_COLUMNS
from makegood.errors import BudgetNotFoundError, FieldError
from makegood.explain import Reason, agent_brief, customer_message, sayable_reasons
from makegood.features.intents import customer_said
from makegood.ledger import BudgetState, Decision, DecisionRecord, Ledger
from makegood.modeling.predict import candidate_columns, ranking_order
from makegood.policy.choice import allowed_candidates, choose_served
from makegood.policy.pacing import pacing_shadow_price
from makegood.serving.scorer import Candidates, Scorer
from makegood.serving.settings import Settings

log = logging.getLogger("makegood.serving")

PROFILE_FIELDS = (
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "prior_complaints_12m",
    "digital_skill",
)
_REQUIRED_PROFILE = PROFILE_FIELDS[:-1]
_CENT = Decimal("0.01")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _cents(amount: float) -> Decimal:
    return Decimal(str(float(amount))).quantize(_CENT, rounding=ROUND_HALF_UP)


def current_period(now: datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


class Service:
    """The service's work, independent of HTTP (the routes are thin)."""

    def __init__(self, settings: Settings, ledger: Ledger) -> None:
        self.settings = settings
        self.ledger = ledger
        self.rng = np.random.default_rng()
        # SQLite has one writer at a time and its busy handler polls with sleeps of up
        # to 100 ms; queueing this process's writers on a lock instead keeps the tail
        # short (other processes still wait on the database lock).
        sqlite = str(getattr(ledger, "url", "")).startswith("sqlite")
        self._writes = threading.Lock() if sqlite else contextlib.nullcontext()

    # ------------------------------------------------------------------ complaint
    def complaint(self, scorer: Scorer, body: Mapping[str, Any]) -> dict[str, Any]:
        """The normalized contract fields of a request's complaint (profile filled in).

        Raises:
            FieldError: a profile field is missing for a customer the store does not know.
        """
        c = dict(body)
        c["opened_at"] = _naive_utc(c["opened_at"]) if c.get("opened_at") else _now()
        c["complaint_text"] = c.get("complaint_text") or ""
        missing = [f for f in PROFILE_FIELDS if c.get(f) is None]
        if missing:
            profile = scorer.customer_memory(c["customer_id"], self.settings.history_items)[0]
            for f in missing:
                if profile is not None and profile.get(f) is not None:
                    c[f] = profile[f]
        for f in _REQUIRED_PROFILE:
            if c.get(f) is None:
                raise FieldError(
                    f"complaint.{f}",
                    "required for a customer without stored history (field missing)",
                )
        c["digital_skill"] = c.get("digital_skill")
        return c

    # ------------------------------------------------------------------ recommend
    def recommend(
        self,
        scorer: Scorer,
        body: Mapping[str, Any],
        *,
        top_k: int | None,
        period: str | None,
        team: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        t0 = time.perf_counter()
        complaint = self.complaint(scorer, body)
        now = _now()
        period = period or current_period(now)
        cand = scorer.score(complaint)
        state = self._budget_state(period, team)
        available = state.available if state is not None else Decimal(0)
        lam = self._price(state, now)
        comp_cents = [_cents(x) for x in cand.compensation]
        cents = np.array([int(c * 100) for c in comp_cents], dtype=np.int64)
        policy_value = cand.net_value - lam * cand.compensation
        eligible = cand.eligible.copy()
        ranking = self._ranking(scorer, cand, policy_value, comp_cents, available)
        stored_complaint = {k: complaint.get(k) for k in _CONTRACT_FIELDS}
        excluded = np.zeros_like(eligible)
        avail_now = available
        while True:
            avail_cents = int(avail_now * 100)
            allowed = allowed_candidates(eligible & ~excluded, cents, avail_cents)
            choice, propensity = choose_served(
                policy_value,
                cand.compensation,
                allowed,
                epsilon=self.settings.exploration,
                temperature=self.settings.exploration_temperature,
                rng=self.rng,
            )
            record = DecisionRecord(
                period=period,
                team=team,
                complaint_id=complaint["complaint_id"],
                customer_id=complaint["customer_id"],
                recommended_resolution=cand.ids[choice],
                recommended_propensity=propensity,
                model_version=scorer.version,
                ranking=ranking,
                complaint=stored_complaint,
            )
            with self._writes:
                result = self.ledger.reserve(
                    record,
                    comp_cents[choice],
                    idempotency_key=idempotency_key,
                    ttl_seconds=self.settings.reservation_ttl_seconds,
                )
            if result.ok or result.replayed or cents[choice] > avail_cents:
                # served, replayed, or nothing fitted: the cheapest was tried and declined
                break
            excluded[choice] = True
            avail_now = result.available
            if not (eligible & ~excluded).any():
                break
        decision = result.decision
        chosen = cand.ids.index(decision.recommended_resolution)
        out = self._response(
            scorer,
            cand,
            complaint,
            decision,
            chosen,
            ranking,
            available=avail_now,
            lam=lam,
            top_k=top_k,
            replayed=result.replayed,
            period=period,
            team=team,
            available_before=available,
        )
        log.info(
            "recommendation decision=%s status=%s resolution=%s propensity=%.3f model=%s "
            "replayed=%s ms=%.1f",
            decision.decision_id,
            decision.status.value,
            decision.recommended_resolution,
            decision.recommended_propensity,
            scorer.version,
            result.replayed,
            (time.perf_counter() - t0) * 1e3,
        )
        return out

    def _budget_state(self, period: str, team: str | None) -> BudgetState | None:
        try:
            return self.ledger.get_budget(period, team)
        except BudgetNotFoundError:
            return None

    def _price(self, state: BudgetState | None, now: datetime) -> float:
        if state is None:
            return self.settings.shadow_price
        return pacing_shadow_price(
            self.settings.shadow_price,
            state.spent_fraction,
            state.elapsed_fraction(now),
            gain=self.settings.pacing_gain,
        )

    def _ranking(
        self,
        scorer: Scorer,
        c: Candidates,
        policy_value: np.ndarray,
        comp_cents: list[Decimal],
        available: Decimal,
    ) -> list[dict[str, Any]]:
        cols = {name: values[0] for name, values in candidate_columns(c.scores).items()}
        return [
            {
                "rank": r + 1,
                "resolution": c.ids[k],
                "label": scorer.labels[c.ids[k]],
                "compensation": float(comp_cents[k]),
                "expected_satisfaction": cols["expected_satisfaction"][k],
                "churn_probability": cols["churn_probability"][k],
                "retention_lift": cols["retention_lift"][k],
                "net_value": cols["net_value"][k],
                "net_value_interval": (cols["net_value_lo"][k], cols["net_value_hi"][k]),
                "fits_budget": bool(comp_cents[k] == 0 or comp_cents[k] <= available),
                "thin_evidence": cols["thin_evidence"][k],
                "policy_value": round(float(policy_value[k]), 2),
            }
            for r, k in enumerate(ranking_order(c.scores)[0])
        ]

    # ------------------------------------------------------------------ response
    def _response(
        self,
        scorer: Scorer,
        c: Candidates,
        complaint: Mapping[str, Any],
        decision: Decision,
        chosen: int,
        ranking: list[dict[str, Any]],
        *,
        available: Decimal,
        lam: float,
        top_k: int | None,
        replayed: bool,
        period: str,
        team: str | None,
        available_before: Decimal,
    ) -> dict[str, Any]:
        by_id = {row["resolution"]: row for row in ranking}
        recommended = by_id[c.ids[chosen]]
        said = customer_said(complaint.get("complaint_text"))
        explanation = self._explain(scorer, c, chosen, by_id, lam, said)
        customer = self.customer(scorer, complaint["customer_id"])
        return {
            "decision_id": decision.decision_id,
            "replayed": replayed,
            "status": decision.status.value,
            "model_version": decision.model_version,
            "complaint_id": complaint["complaint_id"],
            "recommended": recommended,
            "logging_propensity": decision.recommended_propensity,
            "candidates": ranking[:top_k] if top_k else ranking,
            "explanation": explanation,
            "note": scorer.note,
            "priority": {
                "value_at_risk": round(c.value_at_risk, 2),
                "baseline_churn_probability": round(float(c.churn_prob[c.baseline_index]), 5),
                "lifetime_value": c.lifetime_value,
            },
            "customer": customer,
            "customer_said": said,
            "handover": self._handover(
                scorer, c, complaint, customer, recommended, explanation, said
            ),
            "budget": {
                "period": period,
                "team": team,
                "available_before": float(available_before),
                "shadow_price": lam,
                "reserved": float(decision.compensation)
                if decision.status.value in ("reserved", "committed")
                else 0.0,
            },
        }

    def _explain(
        self,
        scorer: Scorer,
        c: Candidates,
        r: int,
        by_id: Mapping[str, Mapping[str, Any]],
        lam: float,
        said: Sequence[Mapping[str, str]],
    ) -> dict[str, Any]:
        rec_id = c.ids[r]
        rec_label = scorer.labels[rec_id]
        currency = scorer.catalog.currency
        say = customer_message(
            rec_label,
            compensation=float(c.compensation[r]),
            said=said,
            values=c.values,
            currency=currency,
        )
        others = [k for k in np.flatnonzero(c.eligible) if k != r]
        if not others:
            return {
                "recommended": rec_id,
                "runner_up": None,
                "summary": f"Offer {rec_label}: the only resolution available for this complaint.",
                "say": say,
                "why": _brief(scorer, c, r, None, 0.0, by_id, []),
                "value_difference": 0.0,
                "reasons": [],
                "against": [],
            }
        u = int(max(others, key=lambda k: (c.net_value[k], -k)))
        ru_id = c.ids[u]
        ru_label = scorer.labels[ru_id]
        attribution = scorer.contrast(c, r, u)
        reasons = sayable_reasons(
            attribution,
            c.values,
            rec=rec_label,
            runner_up=ru_label,
            currency=currency,
            labels=scorer.labels,
            base_rates=scorer.base_rates,
            sat_r=float(c.satisfaction[r]),
            sat_u=float(c.satisfaction[u]),
            said=said,
        )
        total = attribution.total
        why_not: list[Reason] = []
        if not by_id[ru_id]["fits_budget"]:
            why_not.append(
                Reason("budget", f"{ru_label} does not fit the remaining budget", -total, ())
            )
        elif total < 0 and lam > 0 and c.compensation[u] > c.compensation[r]:
            why_not.append(
                Reason(
                    "pacing",
                    f"the budget is priced at {lam:.2f} per unit of compensation to last the "
                    f"period, which makes {ru_label} too dear",
                    -total,
                    (),
                )
            )
        elif total < 0:
            why_not.append(
                Reason("exploration", "a close call between near-equal options", -total, ())
            )
        # the customer-facing reasons first: an internal cost is no reason to give a customer
        pro = why_not + sorted(
            (x for x in reasons if x.amount > 0), key=lambda x: (x.internal, -x.amount)
        )
        con = [x for x in reasons if x.amount < 0]
        summary = " ".join(
            [f"Offer {rec_label} rather than {ru_label}."]
            + [x.text[0].upper() + x.text[1:] + "." for x in pro[:2]]
        )
        return {
            "recommended": rec_id,
            "runner_up": ru_id,
            "summary": summary,
            "say": say,
            "why": _brief(scorer, c, r, u, total, by_id, why_not + reasons),
            "value_difference": round(total, 2),
            "reasons": [_reason(x) for x in pro[:5]],
            "against": [_reason(x) for x in con[:3]],
        }

    def _handover(
        self,
        scorer: Scorer,
        c: Candidates,
        complaint: Mapping[str, Any],
        customer: Mapping[str, Any],
        recommended: Mapping[str, Any],
        explanation: Mapping[str, Any],
        said: Sequence[Mapping[str, str]],
    ) -> dict[str, Any]:
        issue_name = str(complaint["issue_type"]).replace("_", " ")
        disputed = float(complaint["disputed_amount"])
        issue = (
            f"{issue_name}, severity {complaint['severity']} of 5, via {complaint['channel']}"
            + (f", {disputed:,.2f} {scorer.catalog.currency} in dispute" if disputed > 0 else "")
        )
        tried = [
            f"{str(h['opened_at'])[:10]}: {scorer.labels.get(h['resolution'], h['resolution'])}"
            + (f" (rated {h['satisfaction']:.0f}/10)" if h.get("satisfaction") is not None else "")
            for h in customer["recent"]
        ]
        # what the customer wants is only what they said (customer_said), quoted
        wants = [f'{_WANTS[s["intent"]]} ("{s["quote"]}")' for s in said if s["intent"] in _WANTS]
        emotion = c.values.get("emotion")
        customer_wants = ("; ".join(wants) or "nothing specific said") + (
            f" (customer is {emotion})" if emotion else ""
        )
        likely = ""
        if c.has_satisfaction:  # the model's estimate, worded as one
            best_sat = int(np.argmax(np.where(c.eligible, c.satisfaction, -np.inf)))
            likely = (
                "Customers like this are usually most satisfied by "
                f"{scorer.labels[c.ids[best_sat]]}. "
            )
        summary = (
            f"Issue: {issue}. "
            f"Tried before: {'; '.join(tried) if tried else 'nothing (first complaint)'}. "
            f"Customer wants: {customer_wants}. {likely}"
            f"Recommended: {recommended['label']}. {explanation['why']}"
        )
        return {
            "issue": issue,
            "tried": tried,
            "customer_wants": customer_wants,
            "recommended": recommended["resolution"],
            "summary": summary,
        }

    # ------------------------------------------------------------------ customers
    def customer(self, scorer: Scorer, customer_id: str) -> dict[str, Any]:
        profile, recent = scorer.customer_memory(customer_id, self.settings.history_items)
        items = [_plain_item(h, scorer) for h in recent]
        if items:
            last = items[0]
            greeting = (
                f"Returning customer: {len(items)} recent complaint(s); the last on "
                f"{str(last['opened_at'])[:10]} about {str(last['issue_type']).replace('_', ' ')}, "
                f"resolved with {last['resolution_label']}"
                + (
                    f" and rated {last['satisfaction']:.0f}/10."
                    if last.get("satisfaction") is not None
                    else "."
                )
            )
        else:
            greeting = "No earlier complaints on record."
        return {
            "customer_id": customer_id,
            "known": profile is not None,
            "profile": None if profile is None else _jsonable(profile),
            "recent": items,
            "greeting": greeting,
        }

    # ------------------------------------------------------------------ decisions
    def decide(self, scorer: Scorer | None, decision_id: str, body: Mapping[str, Any]) -> Decision:
        """Settle a decision: commit (accepted), release (declined), or an override
        (release, committing the override's compensation). Raises FieldError, and the
        ledger's DecisionNotFoundError, DecisionStateError, BudgetExceededError."""
        with self._writes:
            return self._decide(scorer, decision_id, body)

    def record_outcome(self, decision_id: str, **outcome: Any) -> Any:
        with self._writes:
            return self.ledger.record_outcome(decision_id, **outcome)

    def _decide(self, scorer: Scorer | None, decision_id: str, body: Mapping[str, Any]) -> Decision:
        action = body["action"]
        if action == "accepted":
            return self.ledger.commit(decision_id)
        reason = body.get("reason")
        if action == "declined":
            return self.ledger.release(decision_id, reason or "declined by the customer")
        resolution = body.get("resolution")
        if not resolution:
            raise FieldError("resolution", "required for an override")
        if not reason:
            raise FieldError("reason", "required for an override")
        compensation = body.get("compensation")
        if compensation is None:
            if scorer is None or resolution not in scorer.catalog.ids:
                raise FieldError(
                    "resolution",
                    "must be a resolution id of the catalog"
                    + (f" ({list(scorer.catalog.ids)})" if scorer is not None else ""),
                )
            stored = self.ledger.get_decision(decision_id)
            disputed = float(stored.complaint.get("disputed_amount") or 0.0)
            k = scorer.catalog.index(resolution)
            compensation = float(scorer.catalog.compensation_matrix(np.array([disputed]))[0, k])
        elif scorer is not None and resolution not in scorer.catalog.ids:
            raise FieldError("resolution", "must be a resolution id of the catalog")
        return self.ledger.release(
            decision_id,
            reason,
            final_resolution=resolution,
            final_compensation=_cents(compensation),
        )

    def get_decision(self, decision_id: str) -> Decision:
        """The stored decision. Raises DecisionNotFoundError."""
        return self.ledger.get_decision(decision_id)

    def budget(self, period: str | None, team: str | None) -> dict[str, Any]:
        """The budget of ``period`` (default: this UTC month). Raises BudgetNotFoundError."""
        state = self.ledger.get_budget(period or current_period(_now()), team)
        return self.budget_view(state)

    def set_budget(
        self,
        period: str,
        amount: float,
        *,
        team: str | None = None,
        period_start: datetime | None = None,
        period_end: datetime | None = None,
    ) -> dict[str, Any]:
        """Create or change a budget; its view. Raises BudgetError."""
        with self._writes:
            state = self.ledger.set_budget(
                period, amount, team=team, period_start=period_start, period_end=period_end
            )
        return self.budget_view(state)

    def budget_view(self, state: BudgetState) -> dict[str, Any]:
        now = _now()
        return {
            "period": state.period,
            "team": state.team,
            "amount": float(state.amount),
            "committed": float(state.committed),
            "reserved": float(state.reserved),
            "available": float(state.available),
            "spent_fraction": state.spent_fraction,
            "elapsed_fraction": state.elapsed_fraction(now),
            "shadow_price": self._price(state, now),
            "base_shadow_price": self.settings.shadow_price,
            "period_start": state.period_start,
            "period_end": state.period_end,
        }


_CONTRACT_FIELDS = COMPLAINT_COLUMNS


#: How the handover names each intent the customer voiced.
_WANTS = {
    "compensation": "something in return",
    "leaving": "a reason to stay (they mention leaving)",
    "recognition": "recognition (they feel unvalued or mention their loyalty)",
    "urgency": "a quick fix",
}


def _brief(
    scorer: Scorer,
    c: Candidates,
    r: int,
    u: int | None,
    value_difference: float,
    by_id: Mapping[str, Mapping[str, Any]],
    reasons: Sequence[Reason],
) -> str:
    """The agent's ``why`` for candidate ``r`` against runner-up ``u`` (None: no other)."""
    k = r if u is None else u

    def pair(values: np.ndarray) -> tuple[float, float]:
        return float(values[r]), float(values[k])

    return agent_brief(
        scorer.labels[c.ids[r]],
        None if u is None else scorer.labels[c.ids[u]],
        value_difference=value_difference,
        churn=pair(c.churn_prob),
        compensation=pair(c.compensation),
        handling_cost=pair(c.handling_cost),
        thin_evidence=bool(by_id[c.ids[r]]["thin_evidence"]),
        reasons=reasons,
        currency=scorer.catalog.currency,
    )


def _reason(r: Reason) -> dict[str, Any]:
    return {"text": r.text, "favours": r.favours, "amount": round(r.amount, 2), "group": r.group}


def _jsonable(d: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, datetime):
            v = v.isoformat()
        out[k] = v
    return out


def _plain_item(h: Mapping[str, Any], scorer: Scorer) -> dict[str, Any]:
    item = _jsonable(h)
    item["resolution_label"] = scorer.labels.get(item.get("resolution"), item.get("resolution"))
    return item


def decision_view(d: Decision) -> dict[str, Any]:
    return {
        "decision_id": d.decision_id,
        "status": d.status.value,
        "recommended_resolution": d.recommended_resolution,
        "final_resolution": d.final_resolution,
        "compensation": float(d.compensation),
        "final_compensation": None if d.final_compensation is None else float(d.final_compensation),
        "override_reason": d.override_reason,
        "model_version": d.model_version,
        "logging_propensity": d.recommended_propensity,
    }
