"""What the endpoints do: score, choose within the budget, reserve, explain, settle.

The served choice rule (exploration among near-ties and its logging propensity) is
:mod:`makegood.policy.choice`, the paced shadow price :mod:`makegood.policy.pacing`.
If the reservation is declined (the budget moved since it was read), the choice is made
again among what still fits.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
import numpy as np

from makegood.contract.files import COMPLAINT_COLUMNS
from makegood.contract.units import from_cents, naive_utc, to_cents, utc_now
from makegood.errors import (
    BudgetNotFoundError,
    CaseNotFoundError,
    ContactsChangedError,
    DecisionNotFoundError,
    FieldError,
    IdempotencyKeyReusedError,
)
from makegood.explain import Reason, agent_brief, customer_message, sayable_reasons
from makegood.features.intents import customer_said
from makegood.modeling.predict import candidate_columns, ranking_order
from makegood.policy.cases import top_up
from makegood.policy.choice import allowed_candidates, choose_served
from makegood.policy.pacing import pacing_shadow_price
from makegood.serving.cases import (
    CaseChoice,
    case_view,
    choose_case,
    greeting,
    handover_summary,
    merged_profile,
    merged_recent,
)
from makegood.serving.schemas import RecommendationOut
from makegood.serving.scorer import Candidates, Scorer
from makegood.serving.settings import Settings
from makegood.serving.writes import WriteQueue
from makegood.store.contacts import (
    PROFILE_FIELDS,
    Case,
    ContactAction,
    ContactBook,
    ContactRecord,
    CustomerLive,
)
from makegood.store.ledger import BudgetState, Decision, DecisionRecord, Ledger

log = logging.getLogger("makegood.serving")

#: times a recommendation is decided again when the customer's contacts changed meanwhile
MAX_REPLANS = 3

_REQUIRED_PROFILE = PROFILE_FIELDS[:-1]


def current_period(now: datetime) -> str:
    return f"{now.year:04d}-{now.month:02d}"


@dataclass
class RecommendationRequest:
    """One ``POST /v1/recommendations`` after validation: the complaint's fields and
    the request's options (``team`` already bound to the caller's key)."""

    complaint: Mapping[str, Any]
    top_k: int | None = None
    period: str | None = None
    team: str | None = None
    idempotency_key: str | None = None
    case_id: str | None = None
    case_override_reason: str | None = None
    agent: str | None = None

    def fingerprint(self) -> str:
        """SHA-256 of the request as the client sent it (the key's body check)."""
        fields = {  # shallow: the fields are JSON values already (no deep copy)
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "idempotency_key"
        }
        text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _Plan:
    """A recommendation worked out before its reservation (the write)."""

    scorer: Scorer
    request: RecommendationRequest
    complaint: dict[str, Any]
    live: CustomerLive
    case: CaseChoice
    cand: Candidates
    period: str
    state: BudgetState | None
    lam: float
    comp_cents: list[Decimal]
    cost: np.ndarray  # integer cents each candidate takes from the budget (its top-up)
    policy_value: np.ndarray
    ranking: list[dict[str, Any]]
    warnings: list[dict[str, str]]
    request_hash: str
    now: datetime
    excluded: np.ndarray
    available: Decimal
    available_before: Decimal
    choice: int = -1
    propensity: float = 1.0
    decision_id: str = ""
    answer: dict[str, Any] = dataclasses.field(default_factory=dict)
    answer_json: str = ""  # the answer validated and serialized (stored with the key)
    replans: int = 0  # times decided again because the customer's contacts changed


class Service:
    """The service's work, independent of HTTP (the routes are thin).

    Writes to the ledger go through :attr:`writes` (a bounded queue on threads of its
    own, :class:`~makegood.serving.writes.WriteQueue`); reads and scoring never wait
    for them.
    """

    def __init__(self, settings: Settings, ledger: Ledger, *, writes: WriteQueue | None = None):
        self.settings = settings
        self.ledger = ledger
        self._writes = writes
        self._scoring: anyio.CapacityLimiter | None = None
        self.rng = np.random.default_rng()

    @functools.cached_property
    def contacts(self) -> ContactBook:
        """The live memory in the ledger's database (made at first use)."""
        return ContactBook(self.ledger)

    @property
    def writes(self) -> WriteQueue:
        """The ledger's write queue (made at first use)."""
        if self._writes is None:
            self._writes = WriteQueue(
                self.ledger,
                wait_seconds=self.settings.lock_timeout_seconds,
                max_pending=self.settings.write_queue_size,
            )
        return self._writes

    def close(self) -> None:
        if self._writes is not None:
            self._writes.close()

    def scoring_limiter(self) -> anyio.CapacityLimiter:
        """The event loop's bound on recommendations scored at once (made in the loop)."""
        if self._scoring is None:
            self._scoring = anyio.CapacityLimiter(self.settings.scoring_concurrency)
        return self._scoring

    # ------------------------------------------------------------------ complaint
    def complaint(
        self,
        scorer: Scorer,
        body: Mapping[str, Any],
        live: CustomerLive | None = None,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """The normalized contract fields of a request's complaint, the profile filled
        in from the trained memory and the profile the customer gave the service.

        A profile field left out of the request is filled from the customer's stored
        profile; so is a required one sent as null. ``digital_skill`` sent as null means
        unknown (as an empty cell in a contract file) and stays unknown.

        Raises:
            FieldError: ``complaint.opened_at`` more than a day in the future, or a
                profile field missing for a customer the service does not know.
        """
        now = now or utc_now()
        c = dict(body)
        c["opened_at"] = naive_utc(c["opened_at"]) if c.get("opened_at") else now
        if c["opened_at"] > now + MAX_FUTURE:
            raise FieldError(
                "complaint.opened_at",
                f"must be at most a day in the future (now {now.isoformat()}Z). "
                f"Got {c['opened_at'].isoformat()} instead.",
            )
        c["complaint_text"] = c.get("complaint_text") or ""
        missing = [
            f for f in PROFILE_FIELDS if c.get(f) is None and (f in _REQUIRED_PROFILE or f not in c)
        ]
        if missing:
            trained = scorer.customer_memory(c["customer_id"], self.settings.history_items)[0]
            profile = merged_profile(trained, live or CustomerLive(c["customer_id"]))
            for f in missing:
                if profile is not None and profile.get(f) is not None:
                    c[f] = profile[f]
        for f in _REQUIRED_PROFILE:
            if c.get(f) is None:
                raise FieldError(
                    f"complaint.{f}",
                    "required for a customer the service has no profile of (field missing)",
                )
        c["digital_skill"] = c.get("digital_skill")
        return c

    def input_warnings(self, scorer: Scorer, complaint: Mapping[str, Any]) -> list[dict[str, str]]:
        """The complaint's categories the model never saw in training (accepted: the
        sets are open, but the estimates extrapolate)."""
        known = scorer.engine.spec.categories
        out = []
        for name in _CHECKED_CATEGORIES:
            value = complaint.get(name)
            seen = known.get(name)
            if value is not None and seen is not None and str(value) not in seen:
                out.append(
                    {
                        "field": f"complaint.{name}",
                        "value": str(value),
                        "message": "not seen in training: estimates extrapolate",
                    }
                )
        return out

    # ------------------------------------------------------------------ recommend
    def recommend(
        self,
        scorer: Scorer,
        body: Mapping[str, Any],
        *,
        top_k: int | None = None,
        period: str | None = None,
        team: str | None = None,
        idempotency_key: str | None = None,
        case_id: str | None = None,
        case_override_reason: str | None = None,
        agent: str | None = None,
    ) -> dict[str, Any]:
        """Score, choose within the budget, reserve and explain one complaint (from a
        worker thread; the route uses :meth:`plan` and :meth:`reserve` directly)."""
        request = RecommendationRequest(
            body, top_k, period, team, idempotency_key, case_id, case_override_reason, agent
        )
        plan = self.plan(scorer, request)
        if isinstance(plan, dict):
            return plan
        return self.writes.run(self.reserve, plan)

    def plan(self, scorer: Scorer, request: RecommendationRequest) -> _Plan | dict[str, Any]:
        """Everything before the write: a replayed answer (same key, same body), or the
        scored, chosen and explained recommendation ready to reserve.

        Raises:
            IdempotencyKeyReusedError: the key was used with another request body.
            FieldError: a field is invalid (see :meth:`complaint`, ``case_id``).
        """
        request_hash = request.fingerprint()
        key = request.idempotency_key
        if key is not None:
            replay = self._replay(key, request_hash)
            if replay is not None:
                return replay
        now = utc_now()
        customer_id = str(request.complaint["customer_id"])
        live = self.contacts.customer(customer_id)  # the one read of live memory
        complaint = self.complaint(scorer, request.complaint, live, now=now)
        case = choose_case(
            live,
            issue_type=complaint["issue_type"],
            opened_at=complaint["opened_at"],
            window_days=self.settings.case_window_days,
            case_id=request.case_id,
            now=now,
        )
        period = request.period or current_period(now)
        cand = scorer.score(complaint, earlier=live.history_rows())
        state = self._budget_state(period, request.team, now)
        available = state.available if state is not None else Decimal(0)
        lam = self._price(state, now)
        comp_cents = [to_cents(x) for x in cand.compensation]
        cents = np.array([int(c * 100) for c in comp_cents], dtype=np.int64)
        covered = 0 if request.case_override_reason else int(case.covered * 100)
        cost = top_up(cents, covered)
        policy_value = cand.net_value - lam * cost / 100.0
        ranking = self._ranking(scorer, cand, policy_value, comp_cents, available, cost)
        plan = _Plan(
            scorer=scorer,
            request=request,
            complaint=complaint,
            live=live,
            case=case,
            cand=cand,
            period=period,
            state=state,
            lam=lam,
            comp_cents=comp_cents,
            cost=cost,
            policy_value=policy_value,
            ranking=ranking,
            warnings=self.input_warnings(scorer, complaint),
            request_hash=request_hash,
            now=now,
            excluded=np.zeros_like(cand.eligible),
            available=available,
            available_before=available,
        )
        self._choose(plan)
        return plan

    def _replay(self, key: str, request_hash: str) -> dict[str, Any] | None:
        stored = self.ledger.idempotent_request(key)
        if stored is None:
            return None
        if stored.request_hash and stored.request_hash != request_hash:
            raise IdempotencyKeyReusedError(key, _KEY_REUSED)
        if stored.response is None:
            return None  # claimed by a decision served before answers were stored
        answer = json.loads(stored.response)
        answer["replayed"] = True
        return answer

    def _choose(self, plan: _Plan) -> None:
        cand = plan.cand
        avail_cents = int(plan.available * 100)
        allowed = allowed_candidates(cand.eligible & ~plan.excluded, plan.cost, avail_cents)
        choice, propensity = choose_served(
            plan.policy_value,
            plan.cost.astype(np.float64),
            allowed,
            epsilon=self.settings.exploration,
            temperature=self.settings.exploration_temperature,
            rng=self.rng,
        )
        plan.choice, plan.propensity = choice, propensity
        plan.decision_id = str(uuid.uuid4())
        plan.answer = self._answer(plan, status="reserved")
        plan.answer_json = RecommendationOut.model_validate(plan.answer).model_dump_json()

    def reserve(self, plan: _Plan) -> dict[str, Any]:
        """Reserve the planned choice (on a writer thread); when the budget moved and it
        no longer fits, choose again among what still does. When the customer's contacts
        changed since the plan read them (a concurrent contact, which may have opened the
        case this one joins or hold what it would reserve again), plan again from what is
        stored now. Returns the answer.

        Raises:
            ContactsChangedError: the contacts kept changing (:data:`MAX_REPLANS` times).
        """
        cand = plan.cand
        while True:
            record = DecisionRecord(
                period=plan.period,
                team=plan.request.team,
                complaint_id=plan.complaint["complaint_id"],
                customer_id=plan.complaint["customer_id"],
                recommended_resolution=cand.ids[plan.choice],
                recommended_propensity=plan.propensity,
                model_version=plan.scorer.version,
                ranking=plan.ranking,
                complaint={k: plan.complaint.get(k) for k in _CONTRACT_FIELDS},
                decision_id=plan.decision_id,
            )
            contact = ContactRecord(
                case_id=plan.case.case_id,
                new_case=plan.case.new,
                customer_id=record.customer_id,
                issue_type=plan.complaint["issue_type"],
                opened_at=plan.complaint["opened_at"],
                channel=plan.complaint["channel"],
                agent=plan.request.agent,
                covered=plan.comp_cents[plan.choice] - from_cents(plan.cost[plan.choice]),
                case_override_reason=plan.request.case_override_reason,
                profile=_new_profile(plan.request.complaint, plan.live),
                contacts_read=len(plan.live.contacts),
            )
            amount = from_cents(plan.cost[plan.choice])
            try:
                result = self.ledger.reserve(
                    record,
                    amount,
                    idempotency_key=plan.request.idempotency_key,
                    request_hash=plan.request_hash,
                    response=plan.answer_json,
                    ttl_seconds=self.settings.reservation_ttl_seconds,
                    within=functools.partial(_record_contact, self.contacts, contact),
                )
            except ContactsChangedError:
                if plan.replans >= MAX_REPLANS:
                    raise
                log.info("contacts of customer %s changed meanwhile: deciding again",
                         record.customer_id)  # fmt: skip
                again = self.plan(plan.scorer, plan.request)
                if isinstance(again, dict):  # the concurrent request had the same key
                    return again
                again.replans = plan.replans + 1
                plan, cand = again, again.cand
                continue
            if result.replayed:
                key = plan.request.idempotency_key
                assert key is not None
                replay = self._replay(key, plan.request_hash)
                if replay is not None:
                    return replay
                return self._answer(plan, status=result.decision.status.value, replayed=True,
                                    decision=result.decision)  # fmt: skip
            if result.ok:
                break
            avail_cents = int(plan.available * 100)
            if plan.cost[plan.choice] > avail_cents:  # nothing fitted: the cheapest declined
                self.contacts.record_alone(result.decision, contact)
                return self._answer(plan, status="declined")
            plan.excluded[plan.choice] = True
            plan.available = result.available
            if not (cand.eligible & ~plan.excluded).any():
                self.contacts.record_alone(result.decision, contact)
                return self._answer(plan, status="declined")
            self._choose(plan)
        log.info(
            "recommendation decision=%s resolution=%s propensity=%.3f model=%s case=%s",
            plan.decision_id,
            cand.ids[plan.choice],
            plan.propensity,
            plan.scorer.version,
            "new" if plan.case.new else "joined",
        )
        return plan.answer

    def _budget_state(self, period: str, team: str | None, now: datetime) -> BudgetState | None:
        try:
            return self.ledger.get_budget(period, team, now=now)
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
        cost: np.ndarray,
    ) -> list[dict[str, Any]]:
        """The eligible candidates by net value; ``fits_budget`` on what each takes
        from the budget (``cost``, integer cents: its top-up beyond the case)."""
        avail_cents = int(available * 100)
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
                "fits_budget": bool(cost[k] == 0 or cost[k] <= avail_cents),
                "thin_evidence": cols["thin_evidence"][k],
                "policy_value": round(float(policy_value[k]), 2),
            }
            for r, k in enumerate(ranking_order(c.scores)[0])
        ]

    # ------------------------------------------------------------------ response
    def _answer(
        self,
        plan: _Plan,
        *,
        status: str,
        replayed: bool = False,
        decision: Decision | None = None,
    ) -> dict[str, Any]:
        """The answer (``RecommendationOut``) for the plan's choice (or ``decision``'s)."""
        scorer, c = plan.scorer, plan.cand
        chosen = plan.choice if decision is None else c.ids.index(decision.recommended_resolution)
        by_id = {row["resolution"]: row for row in plan.ranking}
        recommended = by_id[c.ids[chosen]]
        said = customer_said(plan.complaint.get("complaint_text"))
        explanation = self._explain(scorer, c, chosen, by_id, plan.lam, said)
        case = case_view(
            plan.live,
            plan.case,
            labels=scorer.labels,
            currency=scorer.catalog.currency,
            now=plan.now,
        )
        customer = self.customer_view(scorer, plan.live, case, now=plan.now)
        holds = status in ("reserved", "committed")
        top_k = plan.request.top_k
        return {
            "decision_id": plan.decision_id if decision is None else decision.decision_id,
            "replayed": replayed,
            "status": status,
            "model_version": scorer.version,
            "complaint_id": plan.complaint["complaint_id"],
            "recommended": recommended,
            "logging_propensity": plan.propensity
            if decision is None
            else decision.recommended_propensity,
            "candidates": plan.ranking[:top_k] if top_k else plan.ranking,
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
                scorer, c, plan.complaint, customer, recommended, explanation, said
            ),
            "budget": {
                "period": plan.period,
                "team": plan.request.team,
                "available_before": float(plan.available_before),
                "shadow_price": plan.lam,
                "reserved": float(plan.cost[chosen]) / 100 if holds else 0.0,
                "covered_by_case": float(plan.comp_cents[chosen]) - float(plan.cost[chosen]) / 100,
                "hold_expires_at": plan.now
                + timedelta(seconds=self.settings.reservation_ttl_seconds)
                if holds
                else None,
            },
            "case": case,
            "input_warnings": plan.warnings,
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
        """``GET /v1/customers/{id}``: the trained memory and the live contacts together,
        with the customer's open cases."""
        now = utc_now()
        live = self.contacts.customer(customer_id)
        cases = [
            case_view(
                live,
                _case_choice(live, case, now),
                labels=scorer.labels,
                currency=scorer.catalog.currency,
                now=now,
            )
            for case in live.cases
            if case.status.value == "open"
        ]
        view = self.customer_view(scorer, live, cases[-1] if cases else None, now=now)
        view["open_cases"] = cases
        return view

    def customer_view(
        self,
        scorer: Scorer,
        live: CustomerLive,
        case: Mapping[str, Any] | None,
        *,
        now: datetime,
    ) -> dict[str, Any]:
        """Profile, recent complaints and greeting of a customer (``CustomerOut``)."""
        n = self.settings.history_items
        trained_profile, trained_recent = scorer.customer_memory(live.customer_id, n)
        recent = merged_recent(trained_recent, live, n, scorer.labels)
        profile = merged_profile(trained_profile, live)
        return {
            "customer_id": live.customer_id,
            "known": profile is not None or bool(recent),
            "profile": None if profile is None else _jsonable(profile),
            "recent": recent,
            "greeting": greeting(profile, recent, case, now=now),
            "open_cases": [],
        }

    # ------------------------------------------------------------------ decisions
    def decide(self, scorer: Scorer | None, decision_id: str, body: Mapping[str, Any]) -> Decision:
        """The agent's action on a decision, stored with its contact in one transaction:
        ``offered`` holds the compensation for ``offer_ttl_seconds`` more; ``accepted``
        commits it; ``declined`` releases it; ``override`` releases it and commits the
        override's compensation. Run on a writer thread (see :attr:`writes`).

        Raises FieldError, and the ledger's DecisionNotFoundError, DecisionStateError,
        BudgetExceededError.
        """
        action = ContactAction(body["action"])
        notes = body.get("notes")

        def noted(conn: Any, d: Decision, now: datetime) -> None:
            self.contacts.set_action(conn, d.decision_id, action, now, notes=notes)

        if action is ContactAction.OFFERED:
            return self.ledger.hold(
                decision_id, ttl_seconds=self.settings.offer_ttl_seconds, within=noted
            )
        if action is ContactAction.ACCEPTED:
            return self.ledger.commit(decision_id, within=noted)
        reason = body.get("reason")
        if action is ContactAction.DECLINED:
            return self.ledger.release(
                decision_id, reason or "declined by the customer", within=noted
            )
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
            final_compensation=to_cents(compensation),
            within=noted,
        )

    def record_outcome(self, decision_id: str, **outcome: Any) -> Any:
        """Record satisfaction and churn (run on a writer thread)."""
        return self.ledger.record_outcome(decision_id, **outcome)

    # ------------------------------------------------------------------ handovers
    def handover(self, scorer: Scorer, body: Mapping[str, Any]) -> dict[str, Any]:
        """A warm handover: store the note and next step on the case, and answer the
        summary and greeting the next agent needs (``HandoverRecordOut``).

        Raises:
            FieldError: neither ``decision_id`` nor ``case_id``, or they disagree.
            DecisionNotFoundError, CaseNotFoundError: the contact or case is unknown.
        """
        decision_id, case_id = body.get("decision_id"), body.get("case_id")
        if decision_id is None and case_id is None:
            raise FieldError("decision_id", "name the case by decision_id or case_id (missing)")
        contact = None
        if decision_id is not None:
            contact = self.contacts.contact(decision_id)
            if contact is None:
                raise DecisionNotFoundError(
                    f"no contact with decision_id {decision_id!r} (a decision served before "
                    "contacts were recorded has no case)"
                )
            if case_id is not None and case_id != contact.case_id:
                raise FieldError("case_id", f"decision {decision_id!r} is not in this case")
            case_id = contact.case_id
        assert case_id is not None
        found = self.contacts.find_case(case_id)
        if found is None:
            raise CaseNotFoundError(f"no case with case_id {case_id!r}")
        now = utc_now()
        live = self.contacts.customer(found.customer_id)
        case_contacts = live.case_contacts(found.case_id)
        if not case_contacts:
            raise FieldError("case_id", f"case {case_id!r} has no contact yet")
        last = contact or case_contacts[-1]
        summary = handover_summary(
            case_contacts,
            labels=scorer.labels,
            currency=scorer.catalog.currency,
            now=now,
            note=body["note"],
        )
        stored = self.writes.run(
            self.contacts.add_handover,
            case_id=found.case_id,
            contact_id=last.contact_id,
            from_agent=body.get("from_agent") or last.agent,
            from_channel=body.get("from_channel") or str(last.complaint.get("channel")),
            to_team=body.get("to_team"),
            to_channel=body.get("to_channel"),
            note=body["note"],
            next_step=body.get("next_step"),
            summary=summary,
            now=now,
        )
        live = self.contacts.customer(found.customer_id)
        case = live.case(found.case_id)
        assert case is not None
        view = case_view(
            live,
            _case_choice(live, case, now),
            labels=scorer.labels,
            currency=scorer.catalog.currency,
            now=now,
        )
        customer = self.customer_view(scorer, live, view, now=now)
        return {
            "handover_id": stored.handover_id,
            "case_id": found.case_id,
            "customer_id": found.customer_id,
            "summary": summary,
            "greeting": customer["greeting"],
            "next_step": case.next_step,
            "created_at": stored.created_at,
            "case": view,
        }

    def get_decision(self, decision_id: str) -> Decision:
        """The stored decision. Raises DecisionNotFoundError."""
        return self.ledger.get_decision(decision_id)

    def budget(self, period: str | None, team: str | None) -> dict[str, Any]:
        """The budget of ``period`` (default: this UTC month). Raises BudgetNotFoundError."""
        now = utc_now()
        period = period or current_period(now)
        state = self.ledger.get_budget(period, team, now=now)
        view = self.budget_view(state)
        view["by_team"] = [
            {
                "team": b.team,
                "amount": float(b.amount),
                "committed": float(b.committed),
                "held": float(b.reserved),
                "available": float(b.available),
            }
            for b in self.ledger.budgets(period, now=now)
        ]
        return view

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
        state = self.writes.run(
            functools.partial(
                self.ledger.set_budget,
                period,
                amount,
                team=team,
                period_start=period_start,
                period_end=period_end,
            )
        )
        return self.budget_view(state)

    def budget_view(self, state: BudgetState) -> dict[str, Any]:
        now = utc_now()
        return {
            "period": state.period,
            "team": state.team,
            "amount": float(state.amount),
            "committed": float(state.committed),
            "reserved": float(state.reserved),
            "held": float(state.reserved),
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


MAX_FUTURE = timedelta(days=1)  # an opened_at later than now + this is refused
_CHECKED_CATEGORIES = ("issue_type", "channel", "segment")
_KEY_REUSED = (
    "was already used with a different request body: send the same body to retry, "
    "or use a new key for a new request"
)


def _new_profile(body: Mapping[str, Any], live: CustomerLive) -> dict[str, Any]:
    """The profile fields the request gave, when they differ from what is stored."""
    given = {f: body.get(f) for f in PROFILE_FIELDS if body.get(f) is not None}
    stored = live.profile or {}
    return given if any(stored.get(f) != v for f, v in given.items()) else {}


def _record_contact(
    book: ContactBook, record: ContactRecord, conn: Any, decision: Decision, now: datetime
) -> None:
    book.record_contact(conn, decision, record, now)


def _case_choice(live: CustomerLive, case: Case, now: datetime) -> CaseChoice:
    contacts = live.case_contacts(case.case_id)
    return CaseChoice(
        case.case_id,
        False,
        case,
        sum((c.holding(now) for c in contacts), Decimal(0)),
        sum((c.spent() for c in contacts), Decimal(0)),
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
