"""Request and response bodies of the HTTP API (separate classes, as pydantic models).

Field limits mirror CONTRACT.md section 1 and bound what one request may carry; a
violation is answered with 422 naming the field (:class:`ValidationErrorOut`).
Enumerated fields are enums in the OpenAPI document; every timestamp in a response is
an aware UTC datetime (``...Z``/``+00:00``); naive timestamps in a request are read
as UTC.
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
from makegood.serving.guardrail_schemas import GuardrailOut
from makegood.store.contacts import PROFILE_FIELDS
from makegood.store.ledger import DecisionStatus

MAX_TEXT_CHARS = 10_000
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]
# Request numbers and flags are strict: the schema says integer/number/boolean, so
# true, 2.5 or "3" are refused (422), never coerced.
Money = Annotated[float, Strict(), Field(ge=0, le=1e12, allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
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
    ``opened_at`` defaults to now.
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


class CandidateOut(BaseModel):
    rank: int
    resolution: str
    label: str
    compensation: float
    expected_satisfaction: float | None = Field(
        description="Expected survey score 0-10; null when the model was trained without "
        "enough answered surveys (see the answer's note)."
    )
    churn_probability: float
    retention_lift: float
    net_value: float
    net_value_interval: tuple[float, float]
    fits_budget: bool
    thin_evidence: bool
    policy_value: float
    guardrail_allowed: bool = Field(
        True, description="the catalog's guardrails leave it (a floor, a cap per customer)"
    )


class ReasonOut(BaseModel):
    text: str
    favours: Literal["recommended", "runner_up"]
    amount: float
    group: str


class ExplanationOut(BaseModel):
    recommended: str
    runner_up: str | None
    summary: str
    say: str = Field(
        description="What the agent can tell the customer: the resolution and why, in the "
        "customer's terms (never internal costs)."
    )
    why: str = Field(
        description="For the agent: net-value difference, costs, churn risk, thin evidence "
        "and the main reasons."
    )
    value_difference: float
    reasons: list[ReasonOut]
    against: list[ReasonOut]
    close_call: bool = Field(
        False,
        description="true when the recommended and the runner-up's net values lie within "
        "each other's intervals: the model cannot tell which is worth more (``why`` then "
        "opens with 'Close call').",
    )
    intervals: list[NetValueIntervalOut] = Field(
        default_factory=list,
        description="net value and its interval of the recommended, then of the runner-up",
    )


class NetValueIntervalOut(BaseModel):
    """A candidate's net value and its likely range."""

    resolution: str
    net_value: float
    low: float
    high: float


class FiguresOut(BaseModel):
    """The figures in plain words: a label per figure, one explanatory text each for
    value at risk and net value (a tooltip), and how they relate for this complaint."""

    labels: dict[str, str] = Field(description="answer field -> plain label")
    value_at_risk_help: str
    net_value_help: str
    value_relation: str = Field(
        description="the recommended's net value related to the value at risk, in words"
    )


class PriorityOut(BaseModel):
    value_at_risk: float
    baseline_churn_probability: float
    lifetime_value: float


class ProfileOut(BaseModel):
    """The customer's profile as of their latest stored complaint (``as_of``)."""

    tenure_months: int | None
    annual_value: float | None
    lifetime_value: float | None
    segment: str | None
    digital_skill: DigitalSkill | None
    prior_complaints_12m: int | None
    as_of: UtcDatetime | None


OfferStatus = Literal["held", "given", "released", "expired", "declined", "offered"]


class RecentComplaintOut(BaseModel):
    """One earlier complaint of the customer (text cut to its first 200 characters)."""

    complaint_id: str
    opened_at: UtcDatetime
    channel: str | None
    issue_type: str | None
    severity: int | None
    emotion: Emotion | None
    resolution: str | None
    resolution_label: str | None
    compensation: float | None
    satisfaction: float | None
    complaint_text: str | None
    source: Literal["history", "live"] = Field(
        "history", description="training history, or a contact this service recorded"
    )
    case_id: str | None = None
    offer_status: OfferStatus | None = Field(
        None,
        description="what became of the resolution: given (always, for the training "
        "history), or for a live contact held, offered, expired, released or declined; "
        "``compensation`` is then what is on the table, not given",
    )


class OpenContactOut(BaseModel):
    """Another contact of the same customer still open: waiting in the queue, or with an
    offer held or offered but not given."""

    contact_id: str = Field(description="its decision id, or its queue entry's id")
    case_id: str | None
    channel: str
    issue_type: str | None
    opened_at: UtcDatetime
    status: Literal["waiting", "held", "offered"]
    resolution: str | None = None
    resolution_label: str | None = None
    held: float = Field(default=0.0, description="compensation held for it (not given)")
    agent: str | None = None


class CustomerOut(BaseModel):
    customer_id: str
    known: bool
    profile: ProfileOut | None
    recent: list[RecentComplaintOut]
    greeting: str
    open_cases: list[CaseOut] = []
    open_contacts: list[OpenContactOut] = Field(
        default_factory=list,
        description="the customer's other contacts still open (waiting, or an offer held, "
        "not given), oldest first",
    )


class HandoverOut(BaseModel):
    issue: str
    tried: list[str]
    customer_wants: str
    recommended: str
    summary: str


class SaidOut(BaseModel):
    """One intent the customer voiced, with their own words (a substring of the text)."""

    intent: Literal["compensation", "leaving", "recognition", "urgency"]
    quote: str


class BudgetUse(BaseModel):
    period: str
    team: str | None
    available_before: float
    shadow_price: float
    reserved: float
    covered_by_case: float = Field(
        0.0, description="compensation the case already held or gave: not reserved again"
    )
    hold_expires_at: UtcDatetime | None = None
    owed: float = Field(0.0, description="of reserved, what a guardrail floor requires")


class InputWarningOut(BaseModel):
    """An input the model has not seen in training (accepted; the sets are open)."""

    field: str = Field(description="dotted path, e.g. complaint.issue_type")
    value: str
    message: str


class CaseOfferOut(BaseModel):
    """What a contact of the case offered or gave, by whom and when."""

    contact_id: str
    resolution: str
    resolution_label: str
    compensation: float
    status: OfferStatus
    agent: str | None
    channel: str
    at: UtcDatetime


class CaseContactOut(BaseModel):
    """One earlier contact of the case: what the customer said, where and when."""

    contact_id: str
    channel: str
    opened_at: UtcDatetime
    said: str
    action: Literal["offered", "accepted", "override", "declined"] | None
    notes: str | None


class CaseHandoverOut(BaseModel):
    handover_id: str
    from_channel: str | None
    to_channel: str | None
    to_team: str | None
    note: str
    next_step: str | None
    summary: str
    at: UtcDatetime


class CaseOut(BaseModel):
    """The case a contact belongs to, as the next agent needs it."""

    case_id: str
    new: bool = Field(description="true when this contact opened the case")
    status: Literal["open", "closed"]
    issue_type: str
    opened_at: UtcDatetime
    n_contacts: int
    contacts: list[CaseContactOut] = Field(description="earlier contacts, oldest first")
    offers: list[CaseOfferOut]
    handovers: list[CaseHandoverOut]
    next_step: str | None
    compensation_held: float = Field(description="held for the case by earlier contacts now")
    compensation_given: float = Field(description="given (committed) for the case")
    summary: str


class RecommendationOut(BaseModel):
    decision_id: str
    replayed: bool
    status: DecisionStatus
    model_version: str
    complaint_id: str
    recommended: CandidateOut
    logging_propensity: float
    candidates: list[CandidateOut]
    explanation: ExplanationOut
    note: str | None = Field(
        default=None,
        description="What the answer cannot say, e.g. that the model predicts no "
        "satisfaction (trained on a history without enough survey answers).",
    )
    priority: PriorityOut
    customer: CustomerOut
    customer_said: list[SaidOut] = Field(
        default_factory=list,
        description="The intents the customer voiced in complaint_text, each quoted "
        "verbatim; empty when none.",
    )
    handover: HandoverOut
    budget: BudgetUse
    case: CaseOut | None = None
    input_warnings: list[InputWarningOut] = []
    figures: FiguresOut | None = Field(
        None, description="plain labels and explanatory texts for the figures"
    )
    guardrail: GuardrailOut | None = Field(
        None, description="the catalog's guardrail that decided this recommendation, if any"
    )


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


class MeOut(BaseModel):
    """The caller's key as the admin configured it: what the console fills in at sign-in."""

    key_id: str = Field(description="a short, non-secret id of the key (for logs)")
    name: str | None = Field(description="the agent's name")
    role: str = Field(description="the key's role (admin when it has it, else agent, finance)")
    roles: list[str]
    team: str | None = Field(description="the team whose queue and budget the key acts for")
    skills: list[str] = Field(description="issue types the agent serves first")
    backup_skills: list[str] = Field(description="issue types the agent serves as backup")


class DecisionOut(BaseModel):
    decision_id: str
    status: DecisionStatus
    recommended_resolution: str
    final_resolution: str | None
    compensation: float
    final_compensation: float | None
    override_reason: str | None
    model_version: str
    logging_propensity: float
    wrap_up_code: str | None = None
    note: str | None = Field(None, description="the wrap-up note")


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_id: Id
    satisfaction: Annotated[float, Strict()] | None = Field(None, ge=0, le=10, allow_inf_nan=False)
    churned_90d: Flag | None = None


class OutcomeOut(BaseModel):
    decision_id: str
    satisfaction: float | None
    churned_90d: bool | None
    recorded_at: UtcDatetime


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(min_length=1, max_length=32)
    amount: Money
    team: str | None = Field(None, min_length=1, max_length=128)
    period_start: Timestamp | None = None
    period_end: Timestamp | None = None


class TeamBudgetOut(BaseModel):
    """One budget of the period: what is committed, held (live reservations) and left."""

    team: str | None
    amount: float
    committed: float
    held: float
    available: float


class BudgetOut(BaseModel):
    period: str
    team: str | None
    amount: float
    committed: float
    reserved: float
    held: float = Field(description="live reservations (lapsed holds returned); = reserved")
    available: float
    spent_fraction: float
    elapsed_fraction: float
    shadow_price: float
    base_shadow_price: float
    period_start: UtcDatetime
    period_end: UtcDatetime
    by_team: list[TeamBudgetOut] = Field(
        [], description="every budget of the period (company-wide first, team null)"
    )


class ModelOut(BaseModel):
    version: str
    trained_at: str | None
    metrics: dict[str, Any]
    resolutions: list[str]
    loaded_at: UtcDatetime
    has_satisfaction: bool


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="a bundle's version name (letters, digits, '_', '.', '-'; never a path)",
    )


class LedgerHealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    reason: str | None


class HealthOut(BaseModel):
    status: Literal["ok", "no model", "degraded"]
    model_version: str | None
    ledger: LedgerHealthOut | None = None


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


class HandoverRecordOut(BaseModel):
    handover_id: str
    case_id: str
    customer_id: str
    summary: str = Field(description="what the next agent needs, in one sentence")
    greeting: str = Field(description="how to greet the customer (tenure and history)")
    next_step: str | None
    created_at: UtcDatetime
    case: CaseOut
