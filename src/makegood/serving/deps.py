"""Dependencies of the routes, as ``Annotated`` aliases that tests can override.

They are ``async def`` on purpose: they only read attributes and hash a key, and FastAPI
runs every plain ``def`` dependency through the thread pool (a hand-off each, about as
costly as the work of several of them together).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from makegood.errors import ModelNotLoadedError
from makegood.serving.models import ModelHolder
from makegood.serving.scorer import Scorer
from makegood.serving.security import ApiKeys, Principal, Role
from makegood.serving.service import Service
from makegood.serving.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_service(request: Request) -> Service:
    return request.app.state.service


async def get_models(request: Request) -> ModelHolder:
    return request.app.state.models


async def get_api_keys(request: Request) -> ApiKeys:
    return request.app.state.api_keys


async def get_scorer(models: Annotated[ModelHolder, Depends(get_models)]) -> Scorer:
    """The model this request is served with, taken once (a reload cannot change it)."""
    scorer = models.current
    if scorer is None:
        raise ModelNotLoadedError("no model is loaded")
    return scorer


# Declared as security schemes, so the OpenAPI document says how to authenticate.
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key with its role."
)
bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


async def get_principal(
    keys: Annotated[ApiKeys, Depends(get_api_keys)],
    x_api_key: Annotated[str | None, Depends(api_key_header)] = None,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal:
    presented = x_api_key
    if presented is None and authorization is not None:
        presented = authorization.credentials.strip()
    principal = keys.check(presented)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required (header X-API-Key or Authorization: Bearer)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(*roles: Role):
    """A dependency admitting callers whose key has one of ``roles`` (or admin)."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.allows(*roles):
            needed = " or ".join(r.value for r in (*roles, Role.ADMIN))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {needed}")
        return principal

    return check


def team_of(principal: Principal, requested: str | None) -> str | None:
    """The team a caller acts for: their key's team, else the one the request names.

    Raises:
        HTTPException: 403 when a key bound to a team names another one.
    """
    if principal.team is None:
        return requested
    if requested is not None and requested != principal.team:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"team: this key acts for team {principal.team!r} only (its budget and queue); "
            f"got team {requested!r}",
        )
    return principal.team


def check_team(principal: Principal, team: str | None, what: str) -> None:
    """A key bound to a team acts on that team's decisions only.

    Raises:
        HTTPException: 403 naming ``what`` (e.g. ``decision_id``) when the key's team is
            not ``team``.
    """
    if principal.team is not None and team != principal.team:
        whose = f"of team {team!r}" if team else "of no team"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{what}: this key acts for team {principal.team!r} only; the decision is {whose}",
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[Service, Depends(get_service)]
ModelsDep = Annotated[ModelHolder, Depends(get_models)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
AnyRole = Annotated[Principal, Depends(require(Role.AGENT, Role.FINANCE))]
Agent = Annotated[Principal, Depends(require(Role.AGENT))]
Finance = Annotated[Principal, Depends(require(Role.FINANCE))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
