"""What a recommendation's answer says about the catalog's guardrails (CONTRACT.md 2b)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["GuardrailOut"]


class GuardrailOut(BaseModel):
    """A guardrail decided this recommendation: a floor (what is owed) or a cap per
    customer."""

    decided_by: Literal["floor", "floor_unreachable", "cap"] = Field(
        description="floor: only resolutions giving at least what is owed were eligible; "
        "floor_unreachable: none gave that much, the most generous was given; cap: the "
        "customer's compensation over the cap's days held this one back"
    )
    rule: str = Field(description="the guardrail's id in the catalog")
    reason: str = Field(description="why, in words (e.g. 'refund owed: billing error')")
    owed: float = Field(0.0, description="compensation a floor requires: given whatever the budget")
    beyond_budget: bool = Field(
        False,
        description="what is owed did not fit the budget (as read): it is given beyond it, "
        "from no budget",
    )
