"""Request and response bodies of the agents' queue (``/v1/contacts``, ``/v1/queue``).

Timestamps in answers carry the UTC time zone; naive ones in requests are read as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from makegood.serving.schemas import (
    BudgetOut,
    ComplaintIn,
    DecisionIn,
    DecisionOut,
    Label,
    RecommendationOut,
)


class ContactIn(BaseModel):
    """A complaint arriving on a channel: scored for value at risk and queued."""

    model_config = ConfigDict(extra="forbid")

    complaint: ComplaintIn
    team: str | None = Field(
        None, min_length=1, max_length=128, description="the queue (default: the key's team)"
    )
    skill: Label | None = Field(None, description="default: from the issue type")


class SlotOut(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class CallbackOffer(BaseModel):
    offered: bool
    expected_wait_seconds: float
    threshold_seconds: float
    slots: list[SlotOut]


class QueueEntryOut(BaseModel):
    entry_id: str
    case_id: str
    complaint_id: str
    customer_id: str
    team: str | None
    channel: str
    skill: str
    issue_type: str
    severity: int
    complaint_text: str
    value_at_risk: float
    lifetime_value: float
    baseline_churn_probability: float
    status: Literal["waiting", "claimed", "scheduled", "closed", "handed_over"]
    arrived_at: AwareDatetime
    waited_seconds: float
    priority: float | None
    position: int | None
    expected_wait_seconds: float | None
    callback_due: bool
    due_at: AwareDatetime | None
    slot_end: AwareDatetime | None
    note: str | None
    from_team: str | None
    from_agent: str | None
    agent_name: str | None
    outcome: str | None


class ContactOut(BaseModel):
    entry: QueueEntryOut
    callback: CallbackOffer


class AgentBudgetOut(BudgetOut):
    """The budget the agent's team spends from (``by_team`` is left empty for agents);
    ``remaining`` is amount - committed (what is held is not spent yet)."""

    remaining: float


class QueueOut(BaseModel):
    team: str | None
    entries: list[QueueEntryOut]
    callbacks: list[QueueEntryOut] = Field(description="callbacks scheduled for later")
    n_waiting: int
    n_callbacks_due: int
    n_agents: int
    handle_seconds: float
    budget: AgentBudgetOut | None


class NextIn(BaseModel):
    """The agent asking for work: their skills (none: every skill) and backup skills."""

    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(None, min_length=1, max_length=128)
    skills: list[Label] | None = Field(None, max_length=50)
    backup_skills: list[Label] = Field(default_factory=list, max_length=50)
    agent_name: str | None = Field(None, min_length=1, max_length=128)


class NextOut(BaseModel):
    entry: QueueEntryOut | None
    recommendation: RecommendationOut | None = Field(
        description="the case's recommendation; its `case` has the earlier contacts, offers "
        "and handovers"
    )
    budget: AgentBudgetOut | None
    n_waiting: int
    callback_slots: list[SlotOut] = Field(description="slots a callback may be booked in")


class EntryDecisionIn(DecisionIn):
    """The agent's action on the case's recommendation (closes the queue entry)."""


class EntryDecisionOut(BaseModel):
    entry: QueueEntryOut
    decision: DecisionOut
    budget: AgentBudgetOut | None


class QueueHandoverIn(BaseModel):
    """Pass the case on to another team's queue (or this one) and channel, with a note."""

    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(None, min_length=1, max_length=128, description="default: same")
    channel: Label | None = None
    note: str = Field(min_length=1, max_length=2000)
    next_step: str | None = Field(None, min_length=1, max_length=1000)


class QueueHandoverOut(BaseModel):
    entry: QueueEntryOut = Field(description="the new waiting entry of the case")
    closed_entry_id: str


class CallbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slot_start: datetime
    slot_end: datetime | None = None
    channel: Label | None = Field("phone", description="how the customer is called back")
    note: str | None = Field(None, min_length=1, max_length=2000)
