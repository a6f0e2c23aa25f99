"""The ledger's inputs checked and converted before any transaction starts: money to
integer cents, names, budget periods, time-to-live, and a decision record to the row it
becomes (its complaint and ranking made JSON-able). Errors name the field and the rule.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from makegood.errors import BudgetError, LedgerError
from makegood.store.db import moment
from makegood.store.ledger.values import DecisionRecord

__all__ = [
    "CENTS_PER_UNIT",
    "check_bounds",
    "check_outcome",
    "check_text",
    "check_ttl",
    "jsonable",
    "month_bounds",
    "parse_cents",
    "record_values",
    "team_key",
]

CENTS_PER_UNIT = 100


def parse_cents(amount: Any, name: str) -> int:
    """Money in currency units -> integer cents, rounding half up.

    Raises:
        BudgetError: if ``amount`` is not a finite number >= 0 (``name`` says which).
    """
    if isinstance(amount, bool):
        raise BudgetError(f"{name} must be a number >= 0. Got {amount!r} instead.")
    try:
        # str() of a float is its shortest round-tripping repr: 0.1 -> Decimal("0.1").
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except (InvalidOperation, ValueError) as exc:
        raise BudgetError(f"{name} must be a number >= 0. Got {amount!r} instead.") from exc
    if not value.is_finite() or value < 0:
        raise BudgetError(f"{name} must be a finite number >= 0. Got {amount!r} instead.")
    return int((value * CENTS_PER_UNIT).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def check_text(value: Any, name: str, max_length: int | None) -> str:
    """``value`` stripped; it must be a non-empty string of at most ``max_length``."""
    if not isinstance(value, str) or not value.strip():
        raise LedgerError(f"{name} must be a non-empty string. Got {value!r} instead.")
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise LedgerError(
            f"{name} must be at most {max_length} characters. Got {len(value)} characters."
        )
    return value


def check_ttl(ttl_seconds: float) -> None:
    """A hold's time-to-live must be a finite number of seconds > 0."""
    if not (math.isfinite(ttl_seconds) and ttl_seconds > 0):
        raise LedgerError(f"ttl_seconds must be > 0. Got {ttl_seconds!r} instead.")


def team_key(team: str | None) -> str:
    """The ``budgets.team`` key of ``team``: "" for company-wide (None or blank)."""
    return "" if team is None or not team.strip() else check_text(team, "team", 128)


def month_bounds(
    period: str, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime]:
    """``start``/``end``, each defaulting to the bounds of the month a ``YYYY-MM``
    period names (end exclusive)."""
    try:
        first = datetime.strptime(period, "%Y-%m")
    except ValueError:
        raise BudgetError(
            f"period_start and period_end are required for a new budget whose period is not "
            f"a month (YYYY-MM). Got period {period!r}."
        ) from None
    following = datetime(first.year + first.month // 12, first.month % 12 + 1, 1)
    return start or first, end or following


def check_bounds(start: datetime, end: datetime) -> None:
    if end <= start:
        raise BudgetError(
            f"period_end must be after period_start. Got {start.isoformat()} .. {end.isoformat()}."
        )


def check_outcome(
    satisfaction: float | None, churned_90d: bool | int | None
) -> tuple[float | None, bool | None]:
    """An outcome's fields as stored (None: not given).

    Raises:
        LedgerError: if ``satisfaction`` is outside 0..10 or ``churned_90d`` not 0/1.
    """
    if satisfaction is not None:
        satisfaction = float(satisfaction)
        if not (math.isfinite(satisfaction) and 0 <= satisfaction <= 10):
            raise LedgerError(
                f"satisfaction must be a number in 0..10. Got {satisfaction!r} instead."
            )
    if churned_90d is not None:
        if churned_90d not in (0, 1):  # True/False compare equal to 1/0
            raise LedgerError(f"churned_90d must be 0/1 or bool. Got {churned_90d!r} instead.")
        churned_90d = bool(churned_90d)
    return satisfaction, churned_90d


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: NaN and NaT become None, datetimes ISO strings,
    ``Decimal`` and numpy scalars plain numbers, mappings and sequences recursively.

    Raises:
        LedgerError: for a value JSON cannot hold.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, datetime | date):
        return None if value != value else value.isoformat()  # NaT != NaT
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    for method in ("item", "tolist"):  # numpy scalars and arrays
        convert = getattr(value, method, None)
        if callable(convert):
            return jsonable(convert())
    raise LedgerError(f"cannot store a {type(value).__name__} as JSON: {value!r}")


def record_values(record: DecisionRecord) -> dict[str, Any]:
    """The ``decisions`` columns a record fills (a new id when it has none).

    Raises:
        LedgerError: if a field is missing, too long, or the propensity not in (0, 1].
    """
    propensity = record.recommended_propensity
    if not (isinstance(propensity, int | float) and 0 < float(propensity) <= 1):
        raise LedgerError(
            f"recommended_propensity must be a probability in (0, 1]. Got {propensity!r} instead."
        )
    decision_id = record.decision_id or str(uuid.uuid4())
    return {
        "decision_id": check_text(decision_id, "decision_id", 36),
        "period": check_text(record.period, "period", 32),
        "team": None if team_key(record.team) == "" else team_key(record.team),
        "complaint_id": check_text(record.complaint_id, "complaint_id", 255),
        "customer_id": check_text(record.customer_id, "customer_id", 255),
        "complaint": jsonable(dict(record.complaint)),
        "ranking": jsonable(list(record.ranking)),
        "recommended_resolution": check_text(
            record.recommended_resolution, "recommended_resolution", 128
        ),
        "recommended_propensity": float(propensity),
        "model_version": check_text(record.model_version, "model_version", 128),
        "decided_at": moment(record.decided_at),
        "owed_cents": parse_cents(record.owed, "owed"),
    }
