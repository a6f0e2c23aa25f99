"""The agents' queue: contacts enter, agents take the next case they can serve, settle it,
hand it over or promise a callback.

* ``POST /v1/contacts`` [agent]: a complaint arriving on a channel -> queued, with its
  expected wait and a callback offer when the wait is long.
* ``GET /v1/queue`` [agent]: the team's queue in serving order, callbacks, budget.
* ``POST /v1/queue/next`` [agent]: claim the best case for the agent's skills and serve its
  recommendation, with the case's earlier contacts.
* ``POST /v1/queue/{entry_id}/decision|handover|callback|release`` [agent].

A key that carries a team acts on that team's queue only; other keys name the team.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from makegood.serving import queue_schemas as qs
from makegood.serving.deps import Agent, ModelsDep, ScorerDep, team_of
from makegood.serving.errors import responses
from makegood.serving.queue import QueueService
from makegood.serving.security import Principal


def _responses(*codes: int, body: bool = True) -> dict[int | str, dict[str, Any]]:
    """The error answers of a queue route (400: a body that is not JSON text)."""
    return responses(*((400,) if body else ()), 401, 403, 413, 422, 503, *codes)


router = APIRouter(tags=["queue"])


async def get_queue(request: Request) -> QueueService:
    return request.app.state.queue


QueueDep = Annotated[QueueService, Depends(get_queue)]


def agent_of(principal: Principal) -> str:
    return f"key:{principal.key_id}"


@router.post(
    "/v1/contacts",
    response_model=qs.ContactOut,
    status_code=status.HTTP_201_CREATED,
    responses=_responses(),
)
def enter(body: qs.ContactIn, queue: QueueDep, scorer: ScorerDep, who: Agent) -> dict[str, Any]:
    return queue.enter(scorer, body.complaint, team=team_of(who, body.team), skill=body.skill)


@router.get("/v1/queue", response_model=qs.QueueOut, responses=_responses(body=False))
def list_queue(
    queue: QueueDep,
    who: Agent,
    team: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> dict[str, Any]:
    return queue.queue(team_of(who, team))


@router.post("/v1/queue/next", response_model=qs.NextOut, responses=_responses(409))
def take_next(body: qs.NextIn, queue: QueueDep, scorer: ScorerDep, who: Agent) -> dict[str, Any]:
    return queue.next(
        scorer,
        agent=agent_of(who),
        team=team_of(who, body.team),
        skills=body.skills,
        backup_skills=body.backup_skills,
        agent_name=body.agent_name,
    )


@router.get(
    "/v1/queue/{entry_id}", response_model=qs.NextOut, responses=_responses(404, 409, body=False)
)
def resume(entry_id: str, queue: QueueDep, scorer: ScorerDep, who: Agent) -> dict[str, Any]:
    """The case this agent has taken, answered as ``next`` answered it (its recommendation
    replayed, nothing reserved again): a reloaded console picks up where it was."""
    return queue.resume(scorer, entry_id, agent=agent_of(who))


@router.post(
    "/v1/queue/{entry_id}/decision",
    response_model=qs.EntryDecisionOut,
    responses=_responses(404, 409),
)
def decide(
    entry_id: str, body: qs.EntryDecisionIn, queue: QueueDep, models: ModelsDep, who: Agent
) -> dict[str, Any]:
    return queue.decide(models.current, entry_id, body, agent=agent_of(who))


@router.post(
    "/v1/queue/{entry_id}/handover",
    response_model=qs.QueueHandoverOut,
    responses=_responses(404, 409),
)
def handover(
    entry_id: str, body: qs.QueueHandoverIn, queue: QueueDep, scorer: ScorerDep, who: Agent
) -> dict[str, Any]:
    return queue.handover(
        scorer,
        entry_id,
        agent=agent_of(who),
        team=body.team,  # any team: handing over to another team is the point
        channel=body.channel,
        note=body.note,
        next_step=body.next_step,
    )


@router.post(
    "/v1/queue/{entry_id}/callback",
    response_model=qs.QueueEntryOut,
    responses=_responses(404, 409),
)
def callback(
    entry_id: str,
    body: qs.CallbackIn,
    queue: QueueDep,
    who: Agent,
    by_customer: Annotated[
        bool, Query(description="the customer chose the offered callback (entry not taken)")
    ] = False,
) -> dict[str, Any]:
    return queue.callback(
        entry_id,
        agent=None if by_customer else agent_of(who),
        slot_start=body.slot_start,
        slot_end=body.slot_end,
        channel=body.channel,
        note=body.note,
    )


@router.post(
    "/v1/queue/{entry_id}/release",
    response_model=qs.QueueEntryOut,
    responses=_responses(404, 409, body=False),
)
def release(entry_id: str, queue: QueueDep, who: Agent) -> dict[str, Any]:
    return queue.release(entry_id, agent=agent_of(who))
