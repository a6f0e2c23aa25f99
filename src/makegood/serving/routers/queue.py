"""The agents' queue: contacts enter, agents take the next case they can serve, settle it,
hand it over or promise a callback.

* ``POST /v1/contacts`` [agent]: a complaint arriving on a channel -> queued, with its
  expected wait and a callback offer when the wait is long.
* ``GET /v1/queue`` [agent]: the team's queue in serving order, callbacks, budget.
* ``POST /v1/queue/next`` [agent]: claim the best case for the agent's skills and serve its
  recommendation, with the case's earlier contacts.
* ``GET /v1/queue/mine`` [agent]: who the key says the agent is, and the cases they hold.
* ``GET /v1/queue/search?customer=`` [agent]: open entries of matching customers.
* ``GET /v1/queue/colleagues`` [agent]: agents a case can be handed to by name.
* ``POST /v1/queue/{entry_id}/open`` [agent]: take a case out of turn (a supervisor, or
  an agent with its skill as a primary or backup skill).
* ``POST /v1/queue/{entry_id}/decision|handover|callback|release`` [agent].

A key that carries a team acts on that team's queue only; other keys name the team. A
key that carries skills (set by the admin) routes by them, whatever the request says.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from makegood.policy.queue import may_open
from makegood.serving import queue_schemas as qs
from makegood.serving.deps import Agent, ModelsDep, ScorerDep, team_of
from makegood.serving.errors import responses
from makegood.serving.queue import QueueService
from makegood.serving.security import Principal, Role


def _responses(*codes: int, body: bool = True) -> dict[int | str, dict[str, Any]]:
    """The error answers of a queue route (400: a body that is not JSON text)."""
    return responses(*((400,) if body else ()), 401, 403, 413, 422, 503, *codes)


router = APIRouter(tags=["queue"])


async def get_queue(request: Request) -> QueueService:
    return request.app.state.queue


QueueDep = Annotated[QueueService, Depends(get_queue)]


def agent_of(principal: Principal) -> str:
    return f"key:{principal.key_id}"


def _key_list(principal: Principal, name: str) -> list[str]:
    # name, skills and backup skills come with keys configured by the admin; a key
    # without them leaves the request to say (an older keys file)
    return [str(x).lower() for x in (getattr(principal, name, None) or ())]


def profile_of(principal: Principal) -> dict[str, Any]:
    """The agent as their key describes them."""
    return {
        "agent_id": agent_of(principal),
        "name": getattr(principal, "name", None),
        "team": principal.team,
        "roles": sorted(r.value for r in principal.roles),
        "skills": _key_list(principal, "skills"),
        "backup_skills": _key_list(principal, "backup_skills"),
        "supervisor": Role.ADMIN in principal.roles,
    }


def skills_of(
    principal: Principal, skills: list[str] | None, backup: list[str]
) -> tuple[list[str] | None, list[str]]:
    """(primary, backup) skills: the key's when it carries some, else the request's."""
    key_skills = _key_list(principal, "skills")
    if key_skills:
        return key_skills, _key_list(principal, "backup_skills")
    return skills, backup


def name_of(principal: Principal, requested: str | None) -> str | None:
    return getattr(principal, "name", None) or requested


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
    skills, backup = skills_of(who, body.skills, body.backup_skills)
    return queue.next(
        scorer,
        agent=agent_of(who),
        team=team_of(who, body.team),
        skills=skills,
        backup_skills=backup,
        agent_name=name_of(who, body.agent_name),
    )


@router.get("/v1/queue/mine", response_model=qs.MineOut, responses=_responses(body=False))
def mine(queue: QueueDep, who: Agent) -> dict[str, Any]:
    """Who the key says the calling agent is (name, team, skills as the admin set them)
    and the cases they hold now: a console signing in lists them, so none is forgotten."""
    return {"agent": profile_of(who), "entries": queue.mine(agent_of(who))}


@router.get("/v1/queue/search", response_model=qs.SearchOut, responses=_responses(body=False))
def search(
    queue: QueueDep,
    who: Agent,
    customer: Annotated[str, Query(min_length=1, max_length=255, description="part of an id")],
    team: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> dict[str, Any]:
    """The team's open entries (waiting, taken, scheduled) of customers whose id contains
    ``customer``."""
    return {"entries": queue.search(team_of(who, team), customer.strip())}


@router.get(
    "/v1/queue/colleagues", response_model=qs.ColleaguesOut, responses=_responses(body=False)
)
def colleagues(
    queue: QueueDep,
    who: Agent,
    team: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> dict[str, Any]:
    """Agents who took a case of the team's queue in the last day: a case can be handed
    to one of them by name (``to_agent`` of a handover)."""
    team = team if team is not None else who.team
    return {"team": team, "colleagues": queue.colleagues(team, agent=agent_of(who))}


@router.post("/v1/queue/{entry_id}/open", response_model=qs.NextOut, responses=_responses(404, 409))
def open_case(
    entry_id: str, body: qs.OpenIn, queue: QueueDep, scorer: ScorerDep, who: Agent
) -> dict[str, Any]:
    """Take this case out of turn (a row clicked in the queue). A supervisor may open any
    case of their team's queue; an agent one of their primary or backup skills."""
    entry = queue.store.get(entry_id)
    team_of(who, entry.team)  # 403 for another team's case
    primary, backup = skills_of(who, body.skills, body.backup_skills)
    supervisor = Role.ADMIN in who.roles
    if not may_open(entry.skill, primary=primary, backup=backup, supervisor=supervisor):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"entry_id: this case needs the skill {entry.skill!r} (primary or backup) or a "
            "supervisor; take next for the cases your skills serve",
        )
    return queue.open(
        scorer, entry_id, agent=agent_of(who), agent_name=name_of(who, body.agent_name)
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
        to_agent=body.to_agent,
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
