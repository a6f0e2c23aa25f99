"""What the next agent reads: the handover brief of a recommendation (the issue, what was
tried, what the customer wants, what is recommended and why) and the one-sentence summary
of a case ("contacted us on chat about a billing error of $89.99; refund offered; wants
confirmation by phone").

What the customer wants is only what they said (``customer_said``), quoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from makegood.contract.units import money_text
from makegood.modeling.predict import Scores

__all__ = ["OFFER_STATE", "WANTS", "CaseContact", "HandoverBrief", "case_summary", "handover_brief"]

#: How the handover names each intent the customer voiced.
WANTS = {
    "compensation": "something in return",
    "leaving": "a reason to stay (they mention leaving)",
    "recognition": "recognition (they feel unvalued or mention their loyalty)",
    "urgency": "a quick fix",
}

#: How the summary and the handover word the state of an offer (never "given" unless it was).
OFFER_STATE = {
    "given": "given",
    "held": "offered",
    "offered": "offered",
    "released": "declined",
    "expired": "offered (hold lapsed)",
    "declined": "not affordable",
}


@dataclass(frozen=True)
class HandoverBrief:
    issue: str
    tried: list[str]
    customer_wants: str
    recommended: str
    summary: str


def handover_brief(
    complaint: Mapping[str, Any],
    scores: Scores,
    *,
    recommended: int,
    why: str,
    emotion: str | None,
    recent: Sequence[Mapping[str, Any]],
    said: Sequence[Mapping[str, str]],
    labels: Mapping[str, str],
    currency: str,
    row: int = 0,
) -> HandoverBrief:
    """The brief for the agent who takes complaint ``row`` of ``scores``: the issue,
    the customer's ``recent`` complaints (an ``offer_status`` other than given is said:
    held is not given) and how they rated them, what they said they
    want (``said``) and their ``emotion``, the resolution customers like this are
    usually most satisfied by (when the model predicts satisfaction) and the
    ``recommended`` candidate (catalog index) with its ``why``."""
    issue_name = str(complaint["issue_type"]).replace("_", " ")
    disputed = float(complaint["disputed_amount"])
    issue = f"{issue_name}, severity {complaint['severity']} of 5, via {complaint['channel']}" + (
        f", {disputed:,.2f} {currency} in dispute" if disputed > 0 else ""
    )
    tried = [
        f"{str(h['opened_at'])[:10]}: {labels.get(h['resolution'], h['resolution'])}"
        + (f" ({OFFER_STATE[h['offer_status']]}, not given)" if _not_given(h) else "")
        + (f" (rated {h['satisfaction']:.0f}/10)" if h.get("satisfaction") is not None else "")
        for h in recent
        if h.get("resolution") is not None
    ]
    wants = [f'{WANTS[s["intent"]]} ("{s["quote"]}")' for s in said if s["intent"] in WANTS]
    customer_wants = ("; ".join(wants) or "nothing specific said") + (
        f" (customer is {emotion})" if emotion else ""
    )
    likely = ""
    satisfaction = scores.satisfaction[row]
    if np.isfinite(satisfaction).any():  # the model's estimate, worded as one
        best = int(np.argmax(np.where(scores.eligible[row], satisfaction, -np.inf)))
        likely = (
            f"Customers like this are usually most satisfied by {labels[scores.action_ids[best]]}. "
        )
    rec_id = scores.action_ids[recommended]
    summary = (
        f"Issue: {issue}. "
        f"Tried before: {'; '.join(tried) if tried else 'nothing (first complaint)'}. "
        f"Customer wants: {customer_wants}. {likely}"
        f"Recommended: {labels[rec_id]}. {why}"
    )
    return HandoverBrief(issue, tried, customer_wants, rec_id, summary)


def _not_given(item: Mapping[str, Any]) -> bool:
    return item.get("offer_status") not in (None, "given")


@dataclass(frozen=True)
class CaseContact:
    """What the case summary says of one contact: where it came from, what it was
    about, the resolution on the table (or given) and the state of that offer (one of
    given, held, offered, released, expired, declined)."""

    channel: str
    issue_type: str | None
    disputed_amount: float
    resolution: str | None
    offer: str


def case_summary(
    contacts: Sequence[CaseContact],
    *,
    labels: Mapping[str, str],
    currency: str,
    note: str | None = None,
) -> str:
    """One sentence for the next agent about a case's ``contacts`` (oldest first), e.g.
    "contacted us on chat about a billing error of $89.99; refund offered; wants
    confirmation by phone" (the ``note`` last).

    >>> c = CaseContact("chat", "billing_error", 89.99, "refund", "held")
    >>> case_summary([c], labels={"refund": "refund"}, currency="USD", note="by phone.")
    'contacted us on chat about a billing error of $89.99; refund offered; by phone'
    """
    first = contacts[0]
    channels = list(dict.fromkeys(c.channel for c in contacts))
    issue = str(first.issue_type or "an issue").replace("_", " ")
    about = f"a {issue}" + (
        f" of {money_text(first.disputed_amount, currency)}" if first.disputed_amount > 0 else ""
    )
    parts = [f"contacted us on {' then '.join(channels)} about {about}"]
    last = contacts[-1]
    label = labels.get(str(last.resolution), str(last.resolution).replace("_", " "))
    parts.append(f"{label} {OFFER_STATE[last.offer]}")
    if note:
        parts.append(note.strip().rstrip("."))
    return "; ".join(parts)
