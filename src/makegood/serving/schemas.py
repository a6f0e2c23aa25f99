"""Request and response bodies of the HTTP API (separate classes, as pydantic models).

Field limits mirror CONTRACT.md section 1 and bound what one request may carry; a
violation is answered with 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from makegood.contract import EMOTIONS, SKILLS

MAX_TEXT_CHARS = 10_000
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]
Money = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class ComplaintIn(BaseModel):
    """A new complaint (CONTRACT.md section 1 without outcome columns).

    For a customer the service knows, the profile fields (tenure_months, annual_value,
    lifetime_value, segment, prior_complaints_12m, digital_skill) may be left out.
    ``opened_at`` defaults to now.
    """

    model_config = ConfigDict(extra="forbid")

    complaint_id: Id
    customer_id: Id
    opened_at: datetime | None = None
    channel: Label
    issue_type: Label
    severity: int = Field(ge=1, le=5)
    emotion: Label | None = None
    complaint_text: str = Field("", max_length=MAX_TEXT_CHARS)
    disputed_amount: Money = 0.0
    tenure_months: Count | None = None
    annual_value: Money | None = None
    lifetime_value: Money | None = None
    segment: Label | None = None
    prior_complaints_12m: Count | None = None
    digital_skill: Label | None = None

    @field_validator("emotion")
    @classmethod
    def _emotion(cls, v: str | None) -> str | None:
        if v is not None and v not in EMOTIONS:
            raise ValueError(f"must be one of {list(EMOTIONS)} or null")
        return v

    @field_validator("digital_skill")
    @classmethod
    def _skill(cls, v: str | None) -> str | None:
        if v is not None and v not in SKILLS:
            raise ValueError(f"must be one of {list(SKILLS)} or null")
        return v


class RecommendationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complaint: ComplaintIn
    top_k: int | None = Field(None, ge=1, le=100)
    period: str | None = Field(None, min_length=1, max_length=32, description="default: UTC month")
    team: str | None = Field(None, min_length=1, max_length=128)


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


class PriorityOut(BaseModel):
    value_at_risk: float
    baseline_churn_probability: float
    lifetime_value: float


class CustomerOut(BaseModel):
    customer_id: str
    known: bool
    profile: dict[str, Any] | None
    recent: list[dict[str, Any]]
    greeting: str


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


class RecommendationOut(BaseModel):
    decision_id: str
    replayed: bool
    status: str
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


class DecisionIn(BaseModel):
    """The agent's final action: ``accepted``; ``override`` with the resolution actually
    given and a reason; or ``declined`` (nothing given)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["accepted", "override", "declined"]
    resolution: Id | None = None
    reason: str | None = Field(None, min_length=1, max_length=1000)
    compensation: Money | None = None


class DecisionOut(BaseModel):
    decision_id: str
    status: str
    recommended_resolution: str
    final_resolution: str | None
    compensation: float
    final_compensation: float | None
    override_reason: str | None
    model_version: str
    logging_propensity: float


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_id: Id
    satisfaction: float | None = Field(None, ge=0, le=10, allow_inf_nan=False)
    churned_90d: bool | None = None


class OutcomeOut(BaseModel):
    decision_id: str
    satisfaction: float | None
    churned_90d: bool | None
    recorded_at: datetime


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(min_length=1, max_length=32)
    amount: Money
    team: str | None = Field(None, min_length=1, max_length=128)
    period_start: datetime | None = None
    period_end: datetime | None = None


class BudgetOut(BaseModel):
    period: str
    team: str | None
    amount: float
    committed: float
    reserved: float
    available: float
    spent_fraction: float
    elapsed_fraction: float
    shadow_price: float
    base_shadow_price: float
    period_start: datetime
    period_end: datetime


class ModelOut(BaseModel):
    version: str
    trained_at: str | None
    metrics: dict[str, Any]
    resolutions: list[str]
    loaded_at: datetime
    has_satisfaction: bool


class ReloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(None, min_length=1, max_length=128)
