"""Request bodies of the HTTP API, and the field types every body shares.

Field limits mirror CONTRACT.md section 1 and bound what one request may carry; a
violation is answered with 422 naming the field (:class:`ValidationErrorOut`).
Enumerated fields are enums in the OpenAPI document; every timestamp in a response is
an aware UTC datetime (``...Z``/``+00:00``, :data:`UtcDatetime`); naive timestamps in a
request are read as UTC. The answers: :mod:`makegood.serving.response_schemas`, the
customer and case views :mod:`makegood.serving.case_schemas`, the queue's bodies
:mod:`makegood.serving.queue_schemas`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

from makegood.contract.files import EMOTIONS, SKILLS
from makegood.store.contacts import PROFILE_FIELDS

MAX_TEXT_CHARS = 10_000
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]
# Request numbers and flags are strict: the schema says integer/number/boolean, so
# true, 2.5 or "3" are refused (422), never coerced.
Money = Annotated[float, Strict(), Field(ge=0, le=1e12, allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
FeatureName = Annotated[str, StringConstraints(min_length=1, max_length=255)]
#: A declared feature's value: a label or text (a category, a text), a number, or null.
FeatureValue = (
    Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
    | Annotated[float, Strict(), Field(allow_inf_nan=False)]
    | None
)
Flag = Annotated[bool, Strict()]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _text_timestamp(value: Any) -> Any:
    if isinstance(value, (int, float)):  # pydantic would read numbers as Unix times
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2026-11-30T14:05:00Z")
    return value


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Emotion = Annotated[Literal[EMOTIONS], BeforeValidator(_lower)]  # type: ignore[valid-type]
DigitalSkill = Annotated[Literal[SKILLS], BeforeValidator(_lower)]  # type: ignore[valid-type]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
"""A timestamp answered with its time zone (UTC); naive values are read as UTC."""
Timestamp = Annotated[datetime, BeforeValidator(_text_timestamp)]
"""A request timestamp: an ISO 8601 string (naive ones are read as UTC)."""


class ComplaintIn(BaseModel):
    """A new complaint (CONTRACT.md section 1 without outcome columns).

    For a customer the service knows, the profile fields (tenure_months, annual_value,
    lifetime_value, segment, prior_complaints_12m, digital_skill) may be left out.
    ``opened_at`` defaults to now. ``features`` carries the company's own columns the model
    was trained to read (its declared features, ``makegood.features.extra``), name ->
    value: a name it does not read is refused (422), one left out is missing.
    """

    model_config = ConfigDict(extra="forbid")

    def fields(self) -> dict[str, Any]:
        """The complaint as the service reads it: every field, with its default when left
        out, except the profile fields the request left out (filled from the customer's
        stored profile; one sent as null, ``digital_skill`` say, stays unknown)."""
        unsent = {f for f in PROFILE_FIELDS if f not in self.model_fields_set}
        return self.model_dump(exclude=unsent)

    complaint_id: Id
    customer_id: Id
    opened_at: Timestamp | None = None
    channel: Label
    issue_type: Label
    severity: Annotated[int, Strict()] = Field(ge=1, le=5)
    emotion: Emotion | None = None
    complaint_text: str = Field("", max_length=MAX_TEXT_CHARS)
    disputed_amount: Money = 0.0
    tenure_months: Count | None = None
    annual_value: Money | None = None
    lifetime_value: Money | None = None
    segment: Label | None = None
    prior_complaints_12m: Count | None = None
    digital_skill: DigitalSkill | None = None
    features: dict[FeatureName, FeatureValue] | None = Field(None, max_length=200)


_EXAMPLE_COMPLAINT: dict[str, Any] = {
    "complaint_id": "C-20261130-0001",
    "customer_id": "U-48213",
    "opened_at": "2026-11-30T14:05:00Z",
    "channel": "phone",
    "issue_type": "billing_error",
    "severity": 3,
    "emotion": "frustrated",
    "complaint_text": "I was charged twice this month and I want my money back.",
    "disputed_amount": 42.5,
    "tenure_months": 38,
    "annual_value": 540.0,
    "lifetime_value": 1800.0,
    "segment": "consumer",
    "prior_complaints_12m": 1,
    "digital_skill": "medium",
}


class RecommendationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"complaint": _EXAMPLE_COMPLAINT}]}
    )

    complaint: ComplaintIn
    top_k: Annotated[int, Strict()] | None = Field(None, ge=1, le=100)
    period: str | None = Field(None, min_length=1, max_length=32, description="default: UTC month")
    team: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="budget to spend from; a key bound to a team spends from that team's only",
    )
    case_id: str | None = Field(
        None,
        min_length=1,
        max_length=36,
        description="join this case (default: the customer's open case about the same "
        "issue type within the case window, else a new case)",
    )
    case_override_reason: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="reserve the recommendation's full compensation although the case "
        "already holds or gave some (why)",
    )
    agent: str | None = Field(None, min_length=1, max_length=128, description="who serves")


class DecisionIn(BaseModel):
    """The agent's action: ``offered`` (the customer is offered it: its compensation is
    held for longer), then ``accepted``; ``override`` with the resolution actually
    given and a reason; or ``declined`` (nothing given). ``notes`` are kept with the
    contact."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["offered", "accepted", "override", "declined"]
    resolution: Id | None = None
    reason: str | None = Field(None, min_length=1, max_length=1000)
    compensation: Money | None = None
    notes: str | None = Field(None, min_length=1, max_length=2000)
    wrap_up_code: Label | None = Field(
        None, description="how the contact closed (your wrap-up list); kept with the decision"
    )
    note: str | None = Field(
        None,
        min_length=1,
        max_length=2000,
        description="the wrap-up note, kept with the decision and exported with the history",
    )


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_id: Id
    satisfaction: Annotated[float, Strict()] | None = Field(None, ge=0, le=10, allow_inf_nan=False)
    churned_90d: Flag | None = None


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(min_length=1, max_length=32)
    amount: Money
    team: str | None = Field(None, min_length=1, max_length=128)
    period_start: Timestamp | None = None
    period_end: Timestamp | None = None


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="a bundle's version name (letters, digits, '_', '.', '-'; never a path)",
    )


class HandoverIn(BaseModel):
    """Pass a case on: from the agent or channel that served it to another team or
    channel, with a note; name the case by ``decision_id`` (a contact) or ``case_id``."""

    model_config = ConfigDict(extra="forbid")

    decision_id: str | None = Field(None, min_length=1, max_length=36)
    case_id: str | None = Field(None, min_length=1, max_length=36)
    from_agent: str | None = Field(None, min_length=1, max_length=128)
    from_channel: Label | None = None
    to_team: str | None = Field(None, min_length=1, max_length=128)
    to_channel: Label | None = None
    note: str = Field(min_length=1, max_length=2000)
    next_step: str | None = Field(None, min_length=1, max_length=1000)
