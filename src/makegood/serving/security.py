"""API keys with roles: agent (recommend, decide), finance (read budgets), admin (all).

Keys come from ``MAKEGOOD_API_KEYS`` (``key:role,key:role``) and/or a file
(``--api-keys-file``): JSON ``{"key": "role"}`` (or a list of roles, or an object),
or one ``key:role`` per line (``#`` comments; ``key:role@team`` binds a team). Only
SHA-256 digests are kept in memory. An object configures the agent behind the key::

    {"k-ana-7f3c": {"role": "agent", "name": "Ana", "team": "care",
                    "skills": ["billing_error", "fee_dispute"],
                    "backup_skills": ["service_outage"]}}

(``roles`` for several roles; every field but the role is optional). The console signs
in with the key alone and reads the rest from ``GET /v1/me``.

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
    """Who is calling: the roles of their key, a short, non-secret key id for logs, and
    the agent the admin configured behind the key (name, team, skills)."""

    roles: frozenset[Role]
    key_id: str
    team: str | None = None
    name: str | None = None
    skills: tuple[str, ...] = ()
    backup_skills: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class KeyEntry:
    """What the admin configured for one key."""

    roles: frozenset[Role]
    team: str | None = None
    name: str | None = None
    skills: tuple[str, ...] = ()
    backup_skills: tuple[str, ...] = ()


_FIELDS = {"role", "roles", "team", "name", "skills", "backup_skills"}


def _short_name(value: object, where: str, what: str) -> str | None:
    """A team's or an agent's name: None, or a non-empty name of at most 128 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 128:
        raise ConfigError(
            f"{where}: {what} must be a non-empty name of at most 128 characters. "
            f"Got {value!r} instead."
        )
    return value.strip()


def _team(value: object, where: str) -> str | None:
    return _short_name(value, where, "team")


def _skills(value: object, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else None
    if items is None or not all(
        isinstance(v, str) and v.strip() and len(v.strip()) <= 64 for v in items
    ):
        raise ConfigError(
            f"{where}: {what} must be a list of issue types (names of at most 64 "
            f"characters). Got {value!r} instead."
        )
    return tuple(dict.fromkeys(v.strip().lower() for v in items))


def _merge(out: dict[str, KeyEntry], key: str, entry: KeyEntry) -> None:
    """A key named twice (the variable and the file) has both's roles; the later
    configuration's other fields win where given."""
    old = out.get(key)
    if old is None:
        out[key] = entry
        return
    out[key] = KeyEntry(
        old.roles | entry.roles,
        entry.team if entry.team is not None else old.team,
        entry.name if entry.name is not None else old.name,
        entry.skills or old.skills,
        entry.backup_skills or old.backup_skills,
    )


def _pairs(text: str, where: str) -> dict[str, KeyEntry]:
    out: dict[str, KeyEntry] = {}
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
        entry = KeyEntry(_roles(role, where), _team(team, where) if at else None)
        _merge(out, key.strip(), entry)
    return out


def _json_entry(value: object, where: str) -> KeyEntry:
    if isinstance(value, dict):
        unknown = set(value) - _FIELDS
        if unknown:
            raise ConfigError(
                f"{where}: a key's object may have {sorted(_FIELDS)}. "
                f"Got {sorted(unknown)} instead."
            )
        roles = value.get("roles", value.get("role"))
        return KeyEntry(
            _roles(roles, where),
            _team(value.get("team"), where),
            _short_name(value.get("name"), where, "name"),
            _skills(value.get("skills"), where, "skills"),
            _skills(value.get("backup_skills"), where, "backup_skills"),
        )
    return KeyEntry(_roles(value, where))


class ApiKeys:
    """The configured keys; :meth:`check` turns a presented key into a Principal."""

    def __init__(
        self,
        keys: dict[str, frozenset[Role]]
        | dict[str, tuple[frozenset[Role], str | None]]
        | dict[str, KeyEntry],
    ) -> None:
        self._by_digest: dict[str, KeyEntry] = {_digest(k): _entry_of(v) for k, v in keys.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def load(cls, env_value: str | None, path: Path | None) -> ApiKeys:
        """Keys from the variable's value and the file. Raises ConfigError."""
        keys: dict[str, KeyEntry] = {}
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
                if not isinstance(data, dict):
                    raise ConfigError(
                        f"api keys file {str(path)!r}: must be a JSON object of keys. "
                        f"Got {type(data).__name__} instead."
                    )
                for k, v in data.items():
                    _merge(keys, str(k), _json_entry(v, str(path)))
            else:
                for k, entry in _pairs(text, str(path)).items():
                    _merge(keys, k, entry)
        return cls(keys)

    def check(self, presented: str | None) -> Principal | None:
        """The caller's principal, or None when the key is missing or unknown."""
        if not presented:
            return None
        digest = _digest(presented)
        for known, e in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return Principal(e.roles, digest[:8], e.team, e.name, e.skills, e.backup_skills)
        return None


def _entry_of(
    value: KeyEntry | tuple[frozenset[Role], str | None] | frozenset[Role],
) -> KeyEntry:
    """A configured key's entry from a KeyEntry, ``(roles, team)`` or a set of roles."""
    if isinstance(value, KeyEntry):
        return value
    if isinstance(value, tuple):
        roles, team = value
        return KeyEntry(frozenset(roles), team)
    return KeyEntry(frozenset(value))
