"""Request and response bodies of the agents' queue (``/v1/contacts``, ``/v1/queue``).

Timestamps in answers carry the UTC time zone; naive ones in requests are read as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from makegood.serving.response_schemas import BudgetOut, DecisionOut, RecommendationOut
from makegood.serving.schemas import ComplaintIn, DecisionIn, Label

# a short code a report can group by: letters, digits, "_" and "-"
WrapUpCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9_-]{1,64}$"),
]


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


class WhyFirstOut(BaseModel):
    """Why a contact stands where it does: its priority is the value at risk plus what it
    earned by waiting (:func:`makegood.policy.queue.priority`)."""

    value_at_risk: float = Field(description="lifetime value x churn risk if nothing is done")
    waited_seconds: float = Field(description="since the customer's first arrival")
    ageing: float = Field(description="priority earned by waiting (ageing per minute x minutes)")
    ageing_per_minute: float
    priority: float = Field(description="value_at_risk + ageing")


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
    snippet: str = Field(description="the complaint's first words, for a queue row")
    emotion: str | None = Field(
        description="as given with the complaint, else read from its text; null: unknown"
    )
    emotion_from_text: bool = Field(description="true when the emotion was read from the text")
    why_first: WhyFirstOut
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
    """The agent's action on the case's recommendation (closes the queue entry), with the
    agent's optional wrap-up code (what the contact came to) and ``notes``."""

    wrap_up_code: WrapUpCode | None = Field(
        None, description="e.g. resolved, refund_promised, needs_follow_up (optional)"
    )


class AgentOut(BaseModel):
    """The calling agent as their key describes them (name, team and skills are set by
    the admin in the keys file; null or empty where the key does not say)."""

    agent_id: str = Field(description="the key's short id, as the queue records the agent")
    name: str | None
    team: str | None
    roles: list[str]
    skills: list[str] = Field(description="primary skills; empty: every skill")
    backup_skills: list[str]
    supervisor: bool = Field(description="may open any case of the team's queue")


class MineOut(BaseModel):
    agent: AgentOut
    entries: list[QueueEntryOut] = Field(description="the cases this agent holds, oldest first")


class OpenIn(BaseModel):
    """Open a case out of turn (a queue row clicked): allowed to a supervisor, or to an
    agent with the case's skill as a primary or backup skill."""

    model_config = ConfigDict(extra="forbid")

    skills: list[Label] | None = Field(
        None, max_length=50, description="used when the key carries no skills"
    )
    backup_skills: list[Label] = Field(default_factory=list, max_length=50)
    agent_name: str | None = Field(None, min_length=1, max_length=128)


class SearchOut(BaseModel):
    entries: list[QueueEntryOut] = Field(
        description="open entries (waiting, taken, scheduled) of matching customers"
    )


class ColleagueOut(BaseModel):
    agent_id: str
    name: str | None
    you: bool


class ColleaguesOut(BaseModel):
    team: str | None
    colleagues: list[ColleagueOut] = Field(
        description="agents who took a case of this team's queue in the last day"
    )


class EntryDecisionOut(BaseModel):
    entry: QueueEntryOut
    decision: DecisionOut
    budget: AgentBudgetOut | None


class QueueHandoverIn(BaseModel):
    """Pass the case on to another team's queue (or this one) and channel, with a note."""

    model_config = ConfigDict(extra="forbid")

    team: str | None = Field(None, min_length=1, max_length=128, description="default: same")
    to_agent: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="a colleague's agent_id (GET /v1/queue/colleagues): the case goes to "
        "their open cases instead of the queue",
    )
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
