"""Response bodies of the HTTP API: the recommendation's answer and its parts, the
decision, outcome, budget, model, health and caller answers (separate classes from the
requests of :mod:`makegood.serving.schemas`).

Every timestamp is an aware UTC datetime (:data:`~makegood.serving.schemas.UtcDatetime`);
the customer and case views are :mod:`makegood.serving.case_schemas`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from makegood.serving.case_schemas import CaseOut, CustomerOut
from makegood.serving.guardrail_schemas import GuardrailOut
from makegood.serving.schemas import UtcDatetime
from makegood.store.ledger import DecisionStatus


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


class OutcomeOut(BaseModel):
    decision_id: str
    satisfaction: float | None
    churned_90d: bool | None
    recorded_at: UtcDatetime


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


class LedgerHealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    reason: str | None


class HealthOut(BaseModel):
    status: Literal["ok", "no model", "degraded"]
    model_version: str | None
    ledger: LedgerHealthOut | None = None
