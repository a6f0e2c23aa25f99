"""API keys with roles: agent (recommend, decide), finance (read budgets), admin (all).

Keys come from ``MAKEGOOD_API_KEYS`` (``key:role,key:role``) and/or a file
(``--api-keys-file``): JSON ``{"key": "role"}`` (or a list of roles, or
``{"roles": [...], "team": "billing"}``), or one ``key:role`` per line (``#``
comments; ``key:role@team`` binds a team). Only SHA-256 digests are kept in memory.

A key bound to a **team** spends only from that team's budget: its recommendations are
made for that team whatever the request says (a request naming another team is
refused with 403).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from makegood.errors import ConfigError


class Role(StrEnum):
    AGENT = "agent"
    FINANCE = "finance"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the roles of their key and a short, non-secret key id for logs."""

    roles: frozenset[Role]
    key_id: str
    team: str | None = None

    def allows(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or any(r in self.roles for r in roles)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _roles(value: object, where: str) -> frozenset[Role]:
    items = value if isinstance(value, list) else [value]
    try:
        return frozenset(Role(str(v).strip().lower()) for v in items)
    except ValueError:
        raise ConfigError(
            f"{where}: role must be one of {[r.value for r in Role]}. Got {value!r} instead."
        ) from None


_Entry = tuple[frozenset[Role], str | None]


def _team(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 128:
        raise ConfigError(
            f"{where}: team must be a non-empty name of at most 128 characters. "
            f"Got {value!r} instead."
        )
    return value.strip()


def _merge(out: dict[str, _Entry], key: str, roles: frozenset[Role], team: str | None) -> None:
    old_roles, old_team = out.get(key, (frozenset(), None))
    out[key] = (old_roles | roles, team if team is not None else old_team)


def _pairs(text: str, where: str) -> dict[str, _Entry]:
    out: dict[str, _Entry] = {}
    for n, item in enumerate(text.replace("\n", ",").split(","), start=1):
        item = item.split("#", 1)[0].strip()
        if not item:
            continue
        key, sep, role = item.rpartition(":")
        if not sep or not key.strip():
            raise ConfigError(
                f"{where}: entry {n} must be key:role or key:role@team. Got a malformed entry."
            )
        role, at, team = role.partition("@")
        _merge(out, key.strip(), _roles(role, where), _team(team, where) if at else None)
    return out


def _json_entry(value: object, where: str) -> _Entry:
    if isinstance(value, dict):
        unknown = set(value) - {"role", "roles", "team"}
        if unknown:
            raise ConfigError(
                f"{where}: a key's object may have roles (or role) and team. "
                f"Got {sorted(unknown)} instead."
            )
        roles = value.get("roles", value.get("role"))
        return _roles(roles, where), _team(value.get("team"), where)
    return _roles(value, where), None


class ApiKeys:
    """The configured keys; :meth:`check` turns a presented key into a Principal."""

    def __init__(self, keys: dict[str, frozenset[Role]] | dict[str, _Entry]) -> None:
        self._by_digest: dict[str, _Entry] = {
            _digest(k): (v if isinstance(v, tuple) else (v, None)) for k, v in keys.items()
        }

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def load(cls, env_value: str | None, path: Path | None) -> ApiKeys:
        """Keys from the variable's value and the file. Raises ConfigError."""
        keys: dict[str, _Entry] = {}
        if env_value:
            keys.update(_pairs(env_value, "MAKEGOOD_API_KEYS"))
        if path is not None:
            try:
                text = Path(path).read_text()
            except OSError as exc:
                raise ConfigError(f"api keys file {str(path)!r} cannot be read: {exc}") from None
            if text.lstrip().startswith("{"):
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(
                        f"api keys file {str(path)!r}: invalid JSON ({exc})"
                    ) from None
                for k, v in data.items():
                    _merge(keys, str(k), *_json_entry(v, str(path)))
            else:
                for k, (roles, team) in _pairs(text, str(path)).items():
                    _merge(keys, k, roles, team)
        return cls(keys)

    def check(self, presented: str | None) -> Principal | None:
        """The caller's principal, or None when the key is missing or unknown."""
        if not presented:
            return None
        digest = _digest(presented)
        for known, (roles, team) in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return Principal(roles, digest[:8], team)
        return None
