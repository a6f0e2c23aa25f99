"""API keys with roles: agent (recommend, decide), finance (read budgets), admin (all).

Keys come from ``MAKEGOOD_API_KEYS`` (``key:role,key:role``) and/or a file
(``--api-keys-file``): JSON ``{"key": "role"}`` (or a list of roles), or one
``key:role`` per line (``#`` comments). Only SHA-256 digests are kept in memory.
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


def _pairs(text: str, where: str) -> dict[str, frozenset[Role]]:
    out: dict[str, frozenset[Role]] = {}
    for n, item in enumerate(text.replace("\n", ",").split(","), start=1):
        item = item.split("#", 1)[0].strip()
        if not item:
            continue
        key, sep, role = item.rpartition(":")
        if not sep or not key.strip():
            raise ConfigError(f"{where}: entry {n} must be key:role. Got a malformed entry.")
        out[key.strip()] = out.get(key.strip(), frozenset()) | _roles(role, where)
    return out


class ApiKeys:
    """The configured keys; :meth:`check` turns a presented key into a Principal."""

    def __init__(self, keys: dict[str, frozenset[Role]]) -> None:
        self._by_digest = {_digest(k): roles for k, roles in keys.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def load(cls, env_value: str | None, path: Path | None) -> ApiKeys:
        """Keys from the variable's value and the file. Raises ConfigError."""
        keys: dict[str, frozenset[Role]] = {}
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
                    keys[str(k)] = keys.get(str(k), frozenset()) | _roles(v, str(path))
            else:
                for k, v in _pairs(text, str(path)).items():
                    keys[k] = keys.get(k, frozenset()) | v
        return cls(keys)

    def check(self, presented: str | None) -> Principal | None:
        """The caller's principal, or None when the key is missing or unknown."""
        if not presented:
            return None
        digest = _digest(presented)
        for known, roles in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return Principal(roles, digest[:8])
        return None
