"""When a guardrail decided: the sentence an agent (and finance) reads.

The figures are :class:`~makegood.policy.guardrails.GuardrailCut`'s; the words are here:

* a floor: "refund owed: billing error (at least $120)", from the complaint's values
  that the floor's ``when:`` matched; where no resolution reaches the floor, what is
  given instead;
* a cap: worded from what actually fills the customer's window. What they *had*
  (history and earlier complaints) and what goes to the window's *later* complaints
  (what the allocation gives them, owed refunds first): "this customer has had $150 in
  90 days", or "$150 of this customer's 90 days goes to later complaints", never "has
  had $0" when a later complaint is what took the room. "Owed" is said of floors only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from makegood.contract.catalog import Catalog
from makegood.contract.guardrails import Condition, Floor
from makegood.contract.units import money_text
from makegood.policy.guardrails import CAP, FLOOR, FLOOR_UNREACHABLE, GuardrailCut

__all__ = ["cap_text", "floor_text", "guardrail_text", "matched_text"]


def guardrail_text(
    cut: GuardrailCut,
    i: int,
    complaint: Mapping[str, Any],
    catalog: Catalog,
    *,
    beyond_budget: bool = False,
) -> str:
    """Why a guardrail decided complaint ``i`` of ``cut``, in words ("" when none did).

    ``complaint`` holds the complaint's normalized fields (what the floor's ``when:``
    matched); ``beyond_budget``: the owed amount was given beyond the budget.
    """
    decided = str(cut.decided_by[i])
    currency = catalog.currency
    if decided in (FLOOR, FLOOR_UNREACHABLE):
        floor = _floor(catalog, str(cut.floor_rule[i]))
        text = floor_text(
            matched_text(floor, complaint),
            float(cut.floor[i]),
            float(cut.required[i]),
            currency,
            reachable=decided == FLOOR,
        )
        return text + (", given beyond the budget" if beyond_budget else "")
    if decided == CAP:
        return cap_text(
            had=float(cut.cap_had[i]),
            later=float(cut.cap_later[i]),
            days=int(cut.cap_days[i]),
            cap=float(cut.cap_amount[i]),
            currency=currency,
        )
    return ""


def floor_text(matched: str, floor: float, given: float, currency: str, *, reachable: bool) -> str:
    """The sentence of a floor.

    >>> floor_text("billing error", 120.0, 120.0, "USD", reachable=True)
    'refund owed: billing error (at least $120)'
    >>> floor_text("", 600.0, 500.0, "USD", reachable=False)
    'refund owed ($600): no resolution gives that much, so the most, $500, is given'
    """
    why = f": {matched}" if matched else ""
    if reachable:
        return f"refund owed{why} (at least {money_text(floor, currency)})"
    return (
        f"refund owed{why} ({money_text(floor, currency)}): no resolution gives that "
        f"much, so the most, {money_text(given, currency)}, is given"
    )


def cap_text(*, had: float, later: float, days: int, cap: float, currency: str) -> str:
    """The sentence of a cap, from what fills the window: ``had`` before this complaint
    and ``later`` given to the window's later complaints.

    >>> cap_text(had=150.0, later=0.0, days=90, cap=150.0, currency="USD")
    'this customer has had $150 in 90 days (at most $150)'
    >>> cap_text(had=0.0, later=150.0, days=90, cap=150.0, currency="USD")
    "$150 of this customer's 90 days goes to later complaints (at most $150)"
    >>> cap_text(had=40.0, later=100.0, days=90, cap=150.0, currency="USD")
    'this customer has had $40 in 90 days and $100 more goes to later complaints (at most $150)'
    """

    def money(x: float) -> str:
        return money_text(x, currency)

    had = 0.0 if math.isnan(had) else had
    later = 0.0 if math.isnan(later) else later
    most = f"(at most {money(cap)})"
    if later > 0 and had <= 0:
        return f"{money(later)} of this customer's {days} days goes to later complaints {most}"
    if later > 0:
        return (
            f"this customer has had {money(had)} in {days} days and {money(later)} more "
            f"goes to later complaints {most}"
        )
    return f"this customer has had {money(had)} in {days} days {most}"


def matched_text(floor: Floor | None, complaint: Mapping[str, Any]) -> str:
    """The complaint's values that the floor's ``when:`` matched, in words ("billing
    error"; "severity 4"), joined by commas; "" for a floor on every complaint.

    >>> f = Floor("owed", "disputed_amount", (Condition("issue_type", ("billing_error",)),))
    >>> matched_text(f, {"issue_type": "billing_error"})
    'billing error'
    """
    if floor is None:
        return ""
    return ", ".join(_condition_text(c, complaint.get(c.column)) for c in floor.when)


def _condition_text(condition: Condition, value: Any) -> str:
    if condition.values is not None and isinstance(value, str):
        return value.replace("_", " ")
    shown = f"{value:g}" if isinstance(value, int | float) else str(value)
    return f"{condition.column.replace('_', ' ')} {shown}"


def _floor(catalog: Catalog, rule: str) -> Floor | None:
    return next((f for f in catalog.floors if f.id == rule), None)
