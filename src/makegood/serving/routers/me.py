"""``GET /v1/me`` [any role]: the caller's key as the admin configured it (the agent's
name, team, skills and backup skills), so signing in needs only the key."""

from __future__ import annotations

from fastapi import APIRouter

from makegood.serving.deps import AnyRole
from makegood.serving.errors import responses
from makegood.serving.response_schemas import MeOut
from makegood.serving.security import Role

router = APIRouter(prefix="/v1", tags=["keys"])

_ORDER = (Role.ADMIN, Role.AGENT, Role.FINANCE)


@router.get("/me", response_model=MeOut, responses=responses(401, 403))
def me(principal: AnyRole) -> MeOut:
    """Who the key is: name, role, team, skills and backup skills (a key configured
    without them answers nulls and empty lists)."""
    roles = [r for r in _ORDER if r in principal.roles]
    return MeOut(
        key_id=principal.key_id,
        name=principal.name,
        role=roles[0].value,
        roles=[r.value for r in roles],
        team=principal.team,
        skills=list(principal.skills),
        backup_skills=list(principal.backup_skills),
    )
