"""What the stored contacts mean for the next agent: the case a contact joins, what the
case already holds or gave, the customer's memory (trained history and live contacts
together), the greeting and the handover summary.

Pure functions over what :class:`makegood.store.contacts.ContactBook` read; no database
access here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from makegood.contract.units import money_text
from makegood.errors import FieldError
from makegood.features.memory import RECENT_TEXT_CHARS
from makegood.store.contacts import PROFILE_FIELDS, Case, CustomerLive, LiveContact
from makegood.store.ledger import DecisionStatus

__all__ = [
    "CaseChoice",
    "case_view",
    "choose_case",
    "greeting",
    "handover_summary",
    "merged_profile",
    "merged_recent",
]


@dataclass(frozen=True)
class CaseChoice:
    """The case a new contact belongs to and what the case already covers."""

    case_id: str
    new: bool
    case: Case | None
    held: Decimal  # held now by earlier contacts of the case
    given: Decimal  # committed for the case

    @property
    def covered(self) -> Decimal:
        return self.held + self.given


def choose_case(
    live: CustomerLive,
    *,
    issue_type: str,
    opened_at: datetime,
    window_days: float,
    case_id: str | None,
    now: datetime,
) -> CaseChoice:
    """The case of a new contact: ``case_id`` when given (it must be the customer's),
    else the customer's open case about ``issue_type`` whose last contact is at most
    ``window_days`` before ``opened_at``, else a new case.

    Raises:
        FieldError: ``case_id`` names no case of this customer.
    """
    case = None
    if case_id is not None:
        case = live.case(case_id)
        if case is None:
            raise FieldError(
                "case_id", f"no case {case_id!r} of customer {live.customer_id!r} (case unknown)"
            )
    else:
        case = live.open_case(issue_type, opened_at, window_days)
    if case is None:
        return CaseChoice(str(uuid.uuid4()), True, None, Decimal(0), Decimal(0))
    contacts = live.case_contacts(case.case_id)
    held = sum((c.holding(now) for c in contacts), Decimal(0))
    given = sum((c.spent() for c in contacts), Decimal(0))
    return CaseChoice(case.case_id, False, case, held, given)


def _offer_status(c: LiveContact, now: datetime) -> str:
    if c.status is DecisionStatus.COMMITTED:
        return "given"
    if c.status is DecisionStatus.RESERVED:
        lapsed = c.expires_at is not None and c.expires_at <= now
        if lapsed:
            return "expired"
        return "offered" if c.action is not None and c.action.value == "offered" else "held"
    return c.status.value  # released, expired, declined


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def case_view(
    live: CustomerLive,
    choice: CaseChoice,
    *,
    labels: Mapping[str, str],
    currency: str,
    now: datetime,
    exclude: str | None = None,
) -> dict[str, Any]:
    """The case as the next agent needs it (``CaseOut``): earlier contacts (what the
    customer said), offers (what, by whom, when), handovers, next step and the
    compensation held or given; ``exclude`` leaves one contact out (the current)."""
    case = choice.case
    contacts = [
        c for c in (live.case_contacts(choice.case_id) if case else []) if c.contact_id != exclude
    ]
    offers = []
    for c in contacts:
        resolution = c.final_resolution if c.given else c.recommended_resolution
        amount = c.final_compensation if c.given else c.offered_compensation
        offers.append(
            {
                "contact_id": c.contact_id,
                "resolution": resolution,
                "resolution_label": labels.get(str(resolution), str(resolution)),
                "compensation": float(amount or 0),
                "status": _offer_status(c, now),
                "agent": c.agent,
                "channel": str(c.complaint.get("channel")),
                "at": _aware(c.decided_at or c.created_at),
            }
        )
    handovers = [
        {
            "handover_id": h.handover_id,
            "from_channel": h.from_channel,
            "to_channel": h.to_channel,
            "to_team": h.to_team,
            "note": h.note,
            "next_step": h.next_step,
            "summary": h.summary,
            "at": _aware(h.created_at),
        }
        for h in (case.handovers if case else ())
    ]
    view = {
        "case_id": choice.case_id,
        "new": choice.new,
        "status": case.status.value if case else "open",
        "issue_type": case.issue_type if case else "",
        "opened_at": _aware(case.opened_at if case else now),
        "n_contacts": (case.n_contacts if case else 0),
        "contacts": [
            {
                "contact_id": c.contact_id,
                "channel": str(c.complaint.get("channel")),
                "opened_at": _aware(c.opened_at),
                "said": str(c.complaint.get("complaint_text") or "")[:RECENT_TEXT_CHARS],
                "action": None if c.action is None else c.action.value,
                "notes": c.notes,
            }
            for c in contacts
        ],
        "offers": offers,
        "handovers": handovers,
        "next_step": case.next_step if case else None,
        "compensation_held": float(choice.held),
        "compensation_given": float(choice.given),
        "summary": "",
    }
    view["summary"] = (
        handover_summary(contacts, labels=labels, currency=currency, now=now)
        if contacts
        else "first contact about this issue"
    )
    return view


def handover_summary(
    contacts: Sequence[LiveContact],
    *,
    labels: Mapping[str, str],
    currency: str,
    now: datetime,
    note: str | None = None,
) -> str:
    """One sentence for the next agent, e.g. "contacted us on chat about a billing
    error of $89.99; refund offered; wants confirmation by phone" (the note last)."""
    first = contacts[0].complaint
    channels = list(dict.fromkeys(str(c.complaint.get("channel")) for c in contacts))
    issue = str(first.get("issue_type") or "an issue").replace("_", " ")
    disputed = float(first.get("disputed_amount") or 0)
    about = f"a {issue}" + (f" of {money_text(disputed, currency)}" if disputed > 0 else "")
    parts = [f"contacted us on {' then '.join(channels)} about {about}"]
    last = contacts[-1]
    resolution = last.final_resolution if last.given else last.recommended_resolution
    label = labels.get(str(resolution), str(resolution).replace("_", " "))
    state = {
        "given": "given",
        "held": "offered",
        "offered": "offered",
        "released": "declined",
        "expired": "offered (hold lapsed)",
        "declined": "not affordable",
    }[_offer_status(last, now)]
    parts.append(f"{label} {state}")
    if note:
        parts.append(note.strip().rstrip("."))
    return "; ".join(parts)


def merged_recent(
    trained: Sequence[Mapping[str, Any]],
    live: CustomerLive,
    n: int,
    labels: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The customer's ``n`` most recent complaints, newest first, from the trained
    history and the live contacts together (a complaint in both counts once, live)."""
    items: dict[str, dict[str, Any]] = {}
    for h in trained:
        item = {k: (None if isinstance(v, float) and v != v else v) for k, v in h.items()}
        item["source"] = "history"
        item.setdefault("case_id", None)
        items[str(item["complaint_id"])] = item
    for c in live.contacts:
        row = c.history_row()
        items[str(row["complaint_id"])] = {
            "complaint_id": row["complaint_id"],
            "opened_at": row["opened_at"],
            "channel": row.get("channel"),
            "issue_type": row.get("issue_type"),
            "severity": row.get("severity"),
            "emotion": row.get("emotion"),
            "resolution": row.get("resolution"),
            "compensation": row.get("compensation"),
            "satisfaction": row.get("satisfaction"),
            "complaint_text": str(row.get("complaint_text") or "")[:RECENT_TEXT_CHARS],
            "source": "live",
            "case_id": c.case_id,
        }
    ordered = sorted(items.values(), key=lambda i: _naive(i["opened_at"]), reverse=True)[:n]
    for item in ordered:
        res = item.get("resolution")
        item["resolution_label"] = None if res is None else labels.get(res, res)
    return ordered


def _naive(moment: Any) -> datetime:
    if not isinstance(moment, datetime):
        moment = datetime.fromisoformat(str(moment))
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def merged_profile(trained: Mapping[str, Any] | None, live: CustomerLive) -> dict[str, Any] | None:
    """The customer's profile: the trained one, with the fields the customer gave the
    service since (a newcomer's profile, given once) laid over it when newer."""
    if trained is None and live.profile is None:
        return None
    out: dict[str, Any] = {f: None for f in PROFILE_FIELDS}
    out["as_of"] = None
    if trained is not None:
        out.update({k: trained.get(k) for k in (*PROFILE_FIELDS, "as_of")})
    if live.profile is not None and live.profile_updated_at is not None:
        as_of = out["as_of"]
        newer = as_of is None or _naive(as_of) <= live.profile_updated_at
        for f in PROFILE_FIELDS:
            value = live.profile.get(f)
            if value is not None and (newer or out[f] is None):
                out[f] = value
        if newer:
            out["as_of"] = live.profile_updated_at
    return out


def greeting(
    profile: Mapping[str, Any] | None,
    recent: Sequence[Mapping[str, Any]],
    open_case: Mapping[str, Any] | None,
    *,
    now: datetime,
) -> str:
    """How to greet the customer, reflecting tenure and history (and an open case)."""
    tenure = None if profile is None else profile.get("tenure_months")
    if tenure is None:
        who = ""
    elif tenure < 1:
        who = "a new customer (joined this month)"
    elif tenure < 24:
        who = f"a customer for {int(tenure)} month{'s' if int(tenure) != 1 else ''}"
    else:
        who = f"a customer for {int(tenure) // 12} years"
    if not recent:
        text = "Welcome" + (f": {who}" if who else "") + "; this is their first contact with us."
        return text
    last = recent[0]
    ago = _ago(now - _naive(last["opened_at"]))
    issue = str(last.get("issue_type") or "an issue").replace("_", " ")
    label = last.get("resolution_label")
    text = (
        "Welcome back"
        + (f", {who}" if who else "")
        + f": {len(recent)} recent contact(s); the last {ago} on {last.get('channel')} about "
        + f"{issue}"
        + (f" ({label})" if label else "")
    )
    sat = last.get("satisfaction")
    if sat is not None:
        text += f", rated {float(sat):.0f}/10"
    text += "."
    if open_case is not None and not open_case.get("new"):
        step = open_case.get("next_step")
        text += " Their case is open" + (f": next step {step}." if step else ".")
    return text


def _ago(delta: Any) -> str:
    seconds = max(0.0, delta.total_seconds())
    if seconds < 120:
        return "a minute ago" if seconds >= 30 else "moments ago"
    if seconds < 7200:
        return f"{int(seconds // 60)} minutes ago"
    if seconds < 172_800:
        return f"{int(seconds // 3600)} hours ago"
    days = int(seconds // 86_400)
    return f"{days} days ago" if days < 60 else f"{days // 30} months ago"
