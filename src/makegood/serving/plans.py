"""What a recommendation carries from its plan to its answer: the request, the
:class:`Plan` (scored, chosen, not yet reserved), the typed answer (:class:`Served`) and
how it is built (:func:`answer_of`), once per choice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from makegood.explain import (
    FIGURE_LABELS,
    NET_VALUE_HELP,
    VALUE_AT_RISK_HELP,
    Explanation,
    HandoverBrief,
    explain_choice,
    handover_brief,
    value_relation,
)
from makegood.features.intents.said import customer_said
from makegood.modeling.predict import candidate_columns, ranking_order
from makegood.serving.cases import CaseChoice, case_view
from makegood.serving.customers import (
    customer_view,
    memory_of,
    open_contacts,
    profile_as_served,
)
from makegood.serving.schemas import (
    BudgetUse,
    CandidateOut,
    ExplanationOut,
    FiguresOut,
    HandoverOut,
    InputWarningOut,
    NetValueIntervalOut,
    OpenContactOut,
    PriorityOut,
    ReasonOut,
    RecommendationOut,
    SaidOut,
)
from makegood.serving.scorer import ScoredComplaint, Scorer
from makegood.serving.service import Service
from makegood.store.contacts import CustomerLive
from makegood.store.ledger import BudgetState, Decision

__all__ = [
    "Plan",
    "RecommendationRequest",
    "Replayed",
    "Served",
    "answer_of",
    "input_warnings",
    "ranking",
]

_CHECKED_CATEGORIES = ("issue_type", "channel", "segment")


@dataclass
class RecommendationRequest:
    """One ``POST /v1/recommendations`` after validation: the complaint's fields and
    the request's options (``team`` already bound to the caller's key). ``waiting``:
    the customer's other contacts waiting in the queue, when the caller (the queue)
    read them; not part of the request's fingerprint (they change while it is served)."""

    complaint: Mapping[str, Any]
    top_k: int | None = None
    period: str | None = None
    team: str | None = None
    idempotency_key: str | None = None
    case_id: str | None = None
    case_override_reason: str | None = None
    agent: str | None = None
    waiting: tuple[OpenContactOut, ...] = ()

    def fingerprint(self) -> str:
        """SHA-256 of the request as the client sent it (the key's body check)."""
        fields = {  # shallow: the fields are JSON values already (no deep copy)
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("idempotency_key", "waiting")
        }
        text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Served:
    """The answer to a recommendation request, typed, and its JSON (serialized once)."""

    answer: RecommendationOut
    json: str

    @classmethod
    def of(cls, answer: RecommendationOut) -> Served:
        return cls(answer, answer.model_dump_json())

    @property
    def replayed(self) -> bool:
        return self.answer.replayed


@dataclass(frozen=True)
class Replayed:
    """The stored answer of a request whose key was answered before (same body)."""

    served: Served


@dataclass
class Plan:
    """A recommendation worked out before its reservation (the write)."""

    scorer: Scorer
    request: RecommendationRequest
    complaint: dict[str, Any]
    live: CustomerLive
    case: CaseChoice
    cand: ScoredComplaint
    period: str
    state: BudgetState | None
    lam: float  # the budget's shadow price
    comp_cents: list[Decimal]
    cost: np.ndarray  # integer cents each candidate takes from the budget (its top-up)
    fits: np.ndarray  # (K,) bool: each candidate fits the budget as read
    policy_value: np.ndarray
    ranking: list[CandidateOut]
    warnings: list[InputWarningOut]
    request_hash: str
    now: datetime
    excluded: np.ndarray
    available: Decimal
    available_before: Decimal
    choice: int = -1
    propensity: float = 1.0
    decision_id: str = ""
    served: Served | None = None  # the answer for the current choice
    replans: int = 0  # times decided again because the customer's contacts changed


def input_warnings(scorer: Scorer, complaint: Mapping[str, Any]) -> list[InputWarningOut]:
    """The complaint's categories the model never saw in training (accepted: the
    sets are open, but the estimates extrapolate)."""
    known = scorer.engine.spec.categories
    out = []
    for name in _CHECKED_CATEGORIES:
        value = complaint.get(name)
        seen = known.get(name)
        if value is not None and seen is not None and str(value) not in seen:
            out.append(
                InputWarningOut(
                    field=f"complaint.{name}",
                    value=str(value),
                    message="not seen in training: estimates extrapolate",
                )
            )
    return out


def ranking(
    scorer: Scorer,
    c: ScoredComplaint,
    policy_value: np.ndarray,
    comp_cents: list[Decimal],
    fits: np.ndarray,
) -> list[CandidateOut]:
    """The eligible candidates by net value; ``fits_budget`` on what each takes from
    the budget (its top-up beyond the case)."""
    cols = {name: values[0] for name, values in candidate_columns(c.scores).items()}
    return [
        CandidateOut(
            rank=r + 1,
            resolution=c.ids[k],
            label=scorer.labels[c.ids[k]],
            compensation=float(comp_cents[k]),
            expected_satisfaction=cols["expected_satisfaction"][k],
            churn_probability=cols["churn_probability"][k],
            retention_lift=cols["retention_lift"][k],
            net_value=cols["net_value"][k],
            net_value_interval=(cols["net_value_lo"][k], cols["net_value_hi"][k]),
            fits_budget=bool(fits[k]),
            thin_evidence=cols["thin_evidence"][k],
            policy_value=round(float(policy_value[k]), 2),
        )
        for r, k in enumerate(ranking_order(c.scores)[0])
    ]


def answer_of(
    service: Service,
    p: Plan,
    *,
    status: str,
    replayed: bool = False,
    decision: Decision | None = None,
) -> RecommendationOut:
    """The answer for the plan's choice (or ``decision``'s, for a replay whose answer
    was not stored)."""
    scorer, c = p.scorer, p.cand
    chosen = p.choice if decision is None else c.ids.index(decision.recommended_resolution)
    recommended = next(row for row in p.ranking if row.resolution == c.ids[chosen])
    said = customer_said(p.complaint.get("complaint_text"))
    labels, currency = scorer.labels, scorer.catalog.currency
    profile, recent = memory_of(service, scorer, p.live, now=p.now)
    others = open_contacts(p.live, labels, now=p.now, waiting=p.request.waiting)
    # what the memory counts as received but open contacts only hold
    held = sum(c.history_row()["compensation"] for c in p.live.contacts if not c.given)
    explanation = explain_choice(
        c.scores,
        c.values,
        chosen,
        explainer=scorer.explainer,
        labels=labels,
        currency=currency,
        fits_budget=p.fits,
        shadow_price=p.lam,
        said=said,
        held=held,
        last_given=not recent or recent[0].get("offer_status") == "given",
    )
    case = case_view(p.live, p.case, labels=labels, currency=currency, now=p.now)
    brief = handover_brief(
        p.complaint,
        c.scores,
        recommended=chosen,
        why=explanation.why,
        emotion=c.values.get("emotion"),
        recent=recent,
        said=said,
        labels=labels,
        currency=currency,
    )
    holds = status in ("reserved", "committed")
    ttl = timedelta(seconds=service.settings.reservation_ttl_seconds)
    top_k = p.request.top_k
    return RecommendationOut(
        decision_id=p.decision_id if decision is None else decision.decision_id,
        replayed=replayed,
        status=status,  # type: ignore[arg-type]
        model_version=scorer.version,
        complaint_id=p.complaint["complaint_id"],
        recommended=recommended,
        logging_propensity=p.propensity if decision is None else decision.recommended_propensity,
        candidates=p.ranking[:top_k] if top_k else p.ranking,
        explanation=_explanation_out(explanation),
        note=scorer.note,
        priority=PriorityOut(
            value_at_risk=round(c.value_at_risk, 2),
            baseline_churn_probability=round(float(c.churn_prob[c.baseline_index]), 5),
            lifetime_value=c.lifetime_value,
        ),
        customer=customer_view(
            profile_as_served(profile, p.complaint),
            recent,
            p.live.customer_id,
            case,
            now=p.now,
            others=others,
            currency=currency,
        ),  # fmt: skip
        customer_said=[SaidOut.model_validate(s) for s in said],
        handover=_handover_out(brief),
        budget=BudgetUse(
            period=p.period,
            team=p.request.team,
            available_before=float(p.available_before),
            shadow_price=p.lam,
            reserved=float(p.cost[chosen]) / 100 if holds else 0.0,
            covered_by_case=float(p.comp_cents[chosen]) - float(p.cost[chosen]) / 100,
            hold_expires_at=p.now + ttl if holds else None,
        ),
        case=case,
        input_warnings=p.warnings,
        figures=FiguresOut(
            labels=FIGURE_LABELS,
            value_at_risk_help=VALUE_AT_RISK_HELP,
            net_value_help=NET_VALUE_HELP,
            value_relation=value_relation(c.scores, chosen, labels=labels, currency=currency),
        ),
    )


def _explanation_out(e: Explanation) -> ExplanationOut:
    def out(r: Any) -> ReasonOut:
        return ReasonOut(text=r.text, favours=r.favours, amount=round(r.amount, 2), group=r.group)

    return ExplanationOut(
        recommended=e.recommended,
        runner_up=e.runner_up,
        summary=e.summary,
        say=e.say,
        why=e.why,
        value_difference=e.value_difference,
        reasons=[out(r) for r in e.reasons],
        against=[out(r) for r in e.against],
        close_call=e.close_call,
        intervals=[
            NetValueIntervalOut(
                resolution=i.resolution, net_value=i.net_value, low=i.low, high=i.high
            )
            for i in e.intervals
        ],  # fmt: skip
    )


def _handover_out(b: HandoverBrief) -> HandoverOut:
    return HandoverOut(
        issue=b.issue,
        tried=b.tried,
        customer_wants=b.customer_wants,
        recommended=b.recommended,
        summary=b.summary,
    )
