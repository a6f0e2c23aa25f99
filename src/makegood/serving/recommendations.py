"""Recommendations: score one complaint, choose within the budget, reserve and explain.

:func:`recommend` (a worker thread: the queue) and :func:`recommend_async` (the event
loop: ``POST /v1/recommendations``) are the one entry point; both :func:`plan` (read and
score, off the writer threads) and then :func:`reserve` (the write). A plan is a
:class:`Replayed` answer when the idempotency key was answered before with the same
body, else a :class:`Plan` with its typed answer (:class:`Served`) built and serialized
once. The served choice rule (exploration among near-ties and its logging propensity)
is :mod:`makegood.policy.choice`; the paced shadow price
:func:`makegood.serving.budget.shadow_price`. If the reservation is declined (the
budget moved since it was read), the choice is made again among what still fits; if
the customer's contacts changed meanwhile, the plan is made again.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import anyio
import numpy as np

from makegood.contract.files import COMPLAINT_COLUMNS
from makegood.contract.units import from_cents, to_cents, utc_now
from makegood.errors import ContactsChangedError, IdempotencyKeyReusedError
from makegood.policy.cases import top_up
from makegood.policy.choice import allowed_candidates, choose_served
from makegood.serving.budget import budget_state, current_period, shadow_price
from makegood.serving.cases import choose_case
from makegood.serving.customers import complaint_fields
from makegood.serving.guardrails import live_guard
from makegood.serving.plans import (
    Plan,
    RecommendationRequest,
    Replayed,
    Served,
    answer_of,
    input_warnings,
    ranking,
)
from makegood.serving.response_schemas import RecommendationOut
from makegood.serving.scorer import Scorer
from makegood.serving.service import Service
from makegood.store.contacts import PROFILE_FIELDS, ContactBook, ContactRecord, CustomerLive
from makegood.store.ledger import Decision, DecisionRecord

__all__ = [
    "MAX_REPLANS",
    "Plan",
    "RecommendationRequest",
    "Replayed",
    "Served",
    "input_warnings",
    "plan",
    "recommend",
    "recommend_async",
    "reserve",
]

log = logging.getLogger("makegood.serving")

#: times a recommendation is decided again when the customer's contacts changed meanwhile
MAX_REPLANS = 3
_CHECKED_CATEGORIES = ("issue_type", "channel", "segment")
_KEY_REUSED = (
    "was already used with a different request body: send the same body to retry, "
    "or use a new key for a new request"
)


# ------------------------------------------------------------------ the entry point


def recommend(service: Service, scorer: Scorer, request: RecommendationRequest) -> Served:
    """Score, choose within the budget, reserve and explain one complaint, from a
    worker thread (the reservation waits for the ledger's writer threads)."""
    match plan(service, scorer, request):
        case Replayed(served):
            return served
        case Plan() as planned:
            return service.writes.run(reserve, service, planned)
    raise AssertionError("plan answers a Plan or a Replayed")


async def recommend_async(
    service: Service, scorer: Scorer, request: RecommendationRequest, *, deadline: float
) -> Served:
    """:func:`recommend` from the event loop: the plan on a worker thread (at most
    ``scoring_concurrency`` at once), the reservation on the writer threads, waiting
    for the ledger's lock until ``deadline`` (``time.monotonic()``) at the latest."""
    # more threads scoring would only take the GIL from the event loop (and the reads
    # it serves), not add throughput
    step = await anyio.to_thread.run_sync(
        plan, service, scorer, request, limiter=service.scoring_limiter()
    )
    match step:
        case Replayed(served):
            return served
        case Plan() as planned:
            return await service.writes.run_async(reserve, service, planned, deadline=deadline)
    raise AssertionError("plan answers a Plan or a Replayed")


# ------------------------------------------------------------------ plan


def plan(service: Service, scorer: Scorer, request: RecommendationRequest) -> Plan | Replayed:
    """Everything before the write: a replayed answer (same key, same body), or the
    scored, chosen and explained recommendation ready to reserve.

    Raises:
        IdempotencyKeyReusedError: the key was used with another request body.
        FieldError: a field is invalid (see :func:`~makegood.serving.customers.complaint_fields`,
            ``case_id``).
    """
    request_hash = request.fingerprint()
    key = request.idempotency_key
    if key is not None:
        replay = _replay(service, key, request_hash)
        if replay is not None:
            return Replayed(replay)
    now = utc_now()
    customer_id = str(request.complaint["customer_id"])
    live = service.contacts.customer(customer_id)  # the one read of live memory
    complaint = complaint_fields(service, scorer, request.complaint, live, now=now)
    case = choose_case(
        live,
        issue_type=complaint["issue_type"],
        opened_at=complaint["opened_at"],
        window_days=service.settings.case_window_days,
        case_id=request.case_id,
        now=now,
    )
    period = request.period or current_period(now)
    cand = scorer.score(complaint, earlier=live.history_rows())
    state = budget_state(service, period, request.team, now)
    available = state.available if state is not None else Decimal(0)
    lam = shadow_price(service.settings, state, now)
    comp_cents = [to_cents(x) for x in cand.compensation]
    cents = np.array([int(c * 100) for c in comp_cents], dtype=np.int64)
    covered = 0 if request.case_override_reason else int(case.covered * 100)
    cost = top_up(cents, covered)
    fits = (cost == 0) | (cost <= int(available * 100))
    guard = live_guard(scorer, complaint, live, comp_cents, cand.eligible, cost, now)
    policy_value = cand.net_value - lam * cost / 100.0
    planned = Plan(
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
        fits=fits,
        policy_value=policy_value,
        ranking=ranking(
            scorer, cand, policy_value, comp_cents, fits, None if guard is None else guard.eligible
        ),
        warnings=input_warnings(scorer, complaint),
        request_hash=request_hash,
        now=now,
        # what the guardrails leave out is never chosen
        excluded=np.zeros_like(cand.eligible) if guard is None else ~guard.eligible,
        available=available,
        available_before=available,
        guard=guard,
    )
    _choose(service, planned)
    return planned


def _replay(service: Service, key: str, request_hash: str) -> Served | None:
    stored = service.ledger.idempotent_request(key)
    if stored is None:
        return None
    if stored.request_hash and stored.request_hash != request_hash:
        raise IdempotencyKeyReusedError(key, _KEY_REUSED)
    if stored.response is None:
        return None  # claimed by a decision served before answers were stored
    answer = RecommendationOut.model_validate_json(stored.response)
    return Served.of(answer.model_copy(update={"replayed": True}))


def _choose(service: Service, p: Plan) -> None:
    """Choose among what is eligible, not excluded and fits; the answer for it."""
    cand = p.cand
    avail_cents = int(p.available * 100)
    allowed = allowed_candidates(cand.eligible & ~p.excluded, p.cost, avail_cents)
    p.choice, p.propensity = choose_served(
        p.policy_value,
        p.cost.astype(np.float64),
        allowed,
        epsilon=service.settings.exploration,
        temperature=service.settings.exploration_temperature,
        rng=service.rng,
    )
    p.decision_id = str(uuid.uuid4())
    p.served = Served.of(answer_of(service, p, status="reserved"))


# ------------------------------------------------------------------ reserve


def reserve(service: Service, p: Plan) -> Served:
    """Reserve the planned choice (on a writer thread); when the budget moved and it
    no longer fits, choose again among what still does. When the customer's contacts
    changed since the plan read them (a concurrent contact, which may have opened the
    case this one joins or hold what it would reserve again), plan again from what is
    stored now.

    Raises:
        ContactsChangedError: the contacts kept changing (:data:`MAX_REPLANS` times).
    """
    while True:
        contact = _contact_record(p)
        assert p.served is not None
        try:
            result = service.ledger.reserve(
                _decision_record(p),
                from_cents(p.cost[p.choice]),
                idempotency_key=p.request.idempotency_key,
                request_hash=p.request_hash,
                response=p.served.json,
                ttl_seconds=service.settings.reservation_ttl_seconds,
                within=functools.partial(_record_contact, service.contacts, contact),
            )
        except ContactsChangedError:
            if p.replans >= MAX_REPLANS:
                raise
            log.info("contacts of customer %s changed meanwhile: deciding again",
                     p.live.customer_id)  # fmt: skip
            again = plan(service, p.scorer, p.request)
            if isinstance(again, Replayed):  # the concurrent request had the same key
                return again.served
            again.replans = p.replans + 1
            p = again
            continue
        if result.replayed:
            key = p.request.idempotency_key
            assert key is not None
            replay = _replay(service, key, p.request_hash)
            if replay is not None:
                return replay
            return Served.of(answer_of(service, p, status=result.decision.status.value,
                                       replayed=True, decision=result.decision))  # fmt: skip
        if result.ok:
            break
        # nothing fitted: the cheapest was declined (what a floor requires never is: a
        # choice above it is dropped and the floor's reserved, beyond the budget if need be)
        if not p.owed_cents(p.choice) and p.cost[p.choice] > int(p.available * 100):
            return _declined(service, p, result.decision, contact)
        p.excluded[p.choice] = True
        p.available = result.available
        if not (p.cand.eligible & ~p.excluded).any():
            return _declined(service, p, result.decision, contact)
        _choose(service, p)
    log.info(
        "recommendation decision=%s resolution=%s propensity=%.3f model=%s case=%s",
        p.decision_id,
        p.cand.ids[p.choice],
        p.propensity,
        p.scorer.version,
        "new" if p.case.new else "joined",
    )
    assert p.served is not None
    return p.served


def _declined(service: Service, p: Plan, decision: Decision, contact: ContactRecord) -> Served:
    service.contacts.record_alone(decision, contact)
    return Served.of(answer_of(service, p, status="declined"))


def _decision_record(p: Plan) -> DecisionRecord:
    return DecisionRecord(
        period=p.period,
        team=p.request.team,
        complaint_id=p.complaint["complaint_id"],
        customer_id=p.complaint["customer_id"],
        recommended_resolution=p.cand.ids[p.choice],
        recommended_propensity=p.propensity,
        model_version=p.scorer.version,
        owed=from_cents(p.owed_cents(p.choice)),
        ranking=[row.model_dump() for row in p.ranking],
        complaint={k: p.complaint.get(k) for k in COMPLAINT_COLUMNS},
        decision_id=p.decision_id,
    )


def _contact_record(p: Plan) -> ContactRecord:
    return ContactRecord(
        case_id=p.case.case_id,
        new_case=p.case.new,
        customer_id=p.complaint["customer_id"],
        issue_type=p.complaint["issue_type"],
        opened_at=p.complaint["opened_at"],
        channel=p.complaint["channel"],
        agent=p.request.agent,
        covered=p.comp_cents[p.choice] - from_cents(p.cost[p.choice]),
        case_override_reason=p.request.case_override_reason,
        profile=_new_profile(p.request.complaint, p.live),
        contacts_read=len(p.live.contacts),
        money_read=None if p.guard is None else p.guard.money_read,
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
