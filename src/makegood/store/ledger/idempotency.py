"""Idempotency keys inside a reservation's transaction: a key is claimed by the decision
that holds its compensation (a declined attempt claims nothing); a retry of the same
request gets that decision back, and a different request under the key is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from makegood.errors import IdempotencyKeyReusedError
from makegood.store.ledger.budget_rows import available_of, budget_row
from makegood.store.ledger.decision_rows import decision_from_row
from makegood.store.ledger.schema import decisions, idempotency_keys
from makegood.store.ledger.values import DecisionStatus, IdempotentRequest, ReserveResult

__all__ = ["claim_key", "replay", "stored_request"]

_REUSED = (
    "was already used with a different request body: send the same body to retry, "
    "or use a new key for a new request"
)
_IDEMPOTENT_BY_KEY = select(idempotency_keys).where(
    idempotency_keys.c.idempotency_key == bindparam("key_")
)


def stored_request(conn: Connection, key: str) -> IdempotentRequest | None:
    """What ``key`` was first used with, or None for a key never used."""
    row = conn.execute(_IDEMPOTENT_BY_KEY, {"key_": key}).first()
    if row is None:
        return None
    return IdempotentRequest(key, row.request_hash, row.decision_id, row.response)


def replay(
    conn: Connection, key: str, values: dict[str, Any], request_hash: str | None
) -> ReserveResult | None:
    """The answer to a request whose key a decision already claimed (nothing recorded or
    spent), or None when the key is unclaimed.

    Raises:
        IdempotencyKeyReusedError: if the key was claimed by another request (another
            ``request_hash``, or another complaint).
    """
    claimed = conn.execute(select(decisions).where(decisions.c.idempotency_key == key)).first()
    if claimed is None:
        return None
    stored = conn.execute(_IDEMPOTENT_BY_KEY, {"key_": key}).first()
    if request_hash is not None and stored is not None and stored.request_hash != request_hash:
        raise IdempotencyKeyReusedError(key, _REUSED)
    if claimed.complaint_id != values["complaint_id"]:
        raise IdempotencyKeyReusedError(
            key,
            f"was used for complaint {claimed.complaint_id!r}; got complaint "
            f"{values['complaint_id']!r}",
        )
    budget = budget_row(conn, claimed.budget_id) if claimed.budget_id else None
    return ReserveResult(
        ok=claimed.status in (DecisionStatus.RESERVED.value, DecisionStatus.COMMITTED.value),
        decision=decision_from_row(claimed),
        replayed=True,
        available=available_of(budget),
    )


def claim_key(
    conn: Connection,
    key: str,
    *,
    request_hash: str | None,
    decision_id: str,
    response: str | None,
    now: datetime,
) -> None:
    """Store what ``key`` is used with: the request's fingerprint and the answer to give
    a retry (the decision row carries the key itself)."""
    conn.execute(
        idempotency_keys.insert().values(
            idempotency_key=key,
            request_hash=request_hash or "",
            decision_id=decision_id,
            response=response,
            created_at=now,
        )
    )
