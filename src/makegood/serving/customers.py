"""Customers and handovers: what the service knows of a customer (the trained memory and
the live contacts together), how to greet them, the complaint of a request with the
customer's profile filled in, and the warm handover of a case.

``GET /v1/customers/{id}`` answers :func:`customer`; ``POST /v1/handovers``
:func:`handover`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from makegood.contract.features import number_or_nan
from makegood.contract.units import money_text, naive_utc, utc_now
from makegood.errors import CaseNotFoundError, DecisionNotFoundError, FieldError
from makegood.explain import OFFER_STATE, case_summary, tenure_text
from makegood.features.memory import RECENT_TEXT_CHARS
from makegood.serving.case_schemas import CaseOut, CustomerOut, HandoverRecordOut, OpenContactOut
from makegood.serving.cases import case_facts, case_view, joined, offer_status
from makegood.serving.schemas import HandoverIn
from makegood.serving.scorer import Scorer
from makegood.serving.service import Service
from makegood.store.contacts import PROFILE_FIELDS, CustomerLive
from makegood.store.queue import QueueEntry

__all__ = [
    "MAX_FUTURE",
    "complaint_fields",
    "customer",
    "customer_view",
    "greeting",
    "handover",
    "memory_of",
    "merged_profile",
    "merged_recent",
    "open_contacts",
    "profile_as_served",
    "waiting_contacts",
]

MAX_FUTURE = timedelta(days=1)  # an opened_at later than now + this is refused
_REQUIRED_PROFILE = PROFILE_FIELDS[:-1]


def complaint_fields(
    service: Service,
    scorer: Scorer,
    body: Mapping[str, Any],
    live: CustomerLive | None = None,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The normalized contract fields of a request's complaint, the profile filled
    in from the trained memory and the profile the customer gave the service.

    A profile field left out of the request is filled from the customer's stored
    profile; so is a required one sent as null. ``digital_skill`` sent as null means
    unknown (as an empty cell in a contract file) and stays unknown.

    Raises:
        FieldError: ``complaint.opened_at`` more than a day in the future, or a
            profile field missing for a customer the service does not know.
    """
    now = now or utc_now()
    c = dict(body)
    c["opened_at"] = naive_utc(c["opened_at"]) if c.get("opened_at") else now
    if c["opened_at"] > now + MAX_FUTURE:
        raise FieldError(
            "complaint.opened_at",
            f"must be at most a day in the future (now {now.isoformat()}Z). "
            f"Got {c['opened_at'].isoformat()} instead.",
        )
    c["complaint_text"] = c.get("complaint_text") or ""
    missing = [
        f for f in PROFILE_FIELDS if c.get(f) is None and (f in _REQUIRED_PROFILE or f not in c)
    ]
    if missing:
        trained = scorer.customer_memory(c["customer_id"], service.settings.history_items)[0]
        profile = merged_profile(trained, live or CustomerLive(c["customer_id"]))
        for f in missing:
            if profile is not None and profile.get(f) is not None:
                c[f] = profile[f]
    for f in _REQUIRED_PROFILE:
        if c.get(f) is None:
            raise FieldError(
                f"complaint.{f}",
                "required for a customer the service has no profile of (field missing)",
            )
    c["digital_skill"] = c.get("digital_skill")
    c["features"] = declared_features(scorer, c.get("features"))
    return c


def declared_features(scorer: Scorer, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """A request's ``features`` (the company's own columns) checked against the ones the
    model reads (its declared columns): a left-out name is missing.

    Raises:
        FieldError: ``complaint.features.NAME`` for a name the model does not read, or a
            ``number`` feature that is not a number.
    """
    extras = scorer.pipeline.spec.extras
    kinds = {} if extras is None else extras.kinds
    out: dict[str, Any] = {}
    for name, value in (given or {}).items():
        where = f"complaint.features.{name}"
        if name not in kinds:
            reads = ", ".join(kinds) or "none"
            raise FieldError(where, f"not a feature this model reads (it reads: {reads})")
        if kinds[name] == "number" and number_or_nan(value) is None:
            raise FieldError(where, f"must be a number or null. Got {value!r} instead.")
        out[name] = value
    return out


# ------------------------------------------------------------------ the customer's memory


def merged_recent(
    trained: Sequence[Mapping[str, Any]],
    live: CustomerLive,
    n: int,
    labels: Mapping[str, str],
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The customer's ``n`` most recent complaints, newest first, from the trained
    history and the live contacts together (a complaint in both counts once, live),
    each with its ``offer_status`` at ``now`` (the history's were given)."""
    now = now or utc_now()
    items: dict[str, dict[str, Any]] = {}
    for h in trained:
        item = {k: (None if isinstance(v, float) and v != v else v) for k, v in h.items()}
        item["source"] = "history"
        item.setdefault("case_id", None)
        item["offer_status"] = "given"
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
            "offer_status": offer_status(c, now),
        }
    ordered = sorted(items.values(), key=lambda i: _naive(i["opened_at"]), reverse=True)[:n]
    for item in ordered:
        res = item.get("resolution")
        item["resolution_label"] = None if res is None else labels.get(res, res)
    return ordered


def _naive(moment: Any) -> datetime:
    """A stored moment (a datetime, or its ISO text) in naive UTC."""
    if not isinstance(moment, datetime):
        moment = datetime.fromisoformat(str(moment))
    return naive_utc(moment)


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
    open_case: CaseOut | None,
    *,
    now: datetime,
    open_contacts: Sequence[OpenContactOut] = (),
    currency: str = "USD",
) -> str:
    """How to greet the customer, reflecting tenure and history, an open case and the
    customer's other open contacts (never "first contact" while one is open)."""
    tenure = None if profile is None else profile.get("tenure_months")
    who = "" if tenure is None else tenure_text(tenure)
    also = _open_text(open_contacts, currency)
    if not recent:
        if open_contacts:
            return "Welcome" + (f": {who}" if who else "") + f". {also}"
        return "Welcome" + (f": {who}" if who else "") + "; this is their first contact with us."
    last = recent[0]
    ago = _ago(now - _naive(last["opened_at"]))
    issue = str(last.get("issue_type") or "an issue").replace("_", " ")
    label = last.get("resolution_label")
    status = last.get("offer_status")
    if label and status not in (None, "given"):
        label = f"{label} {OFFER_STATE[status]}, not given"
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
    if open_case is not None and not open_case.new:
        step = open_case.next_step
        text += " Their case is open" + (f": next step {step}." if step else ".")
    return text + (f" {also}" if also else "")


def _open_text(contacts: Sequence[OpenContactOut], currency: str) -> str:
    """One sentence on the customer's other open contacts: waiting, or held (not given)."""
    parts = []
    for c in contacts:
        about = str(c.issue_type or "an issue").replace("_", " ")
        part = f"a {c.channel} contact about {about}"
        if c.status == "waiting":
            part += " waiting in the queue"
        else:
            held = f" ({money_text(c.held, currency)})" if c.held > 0 else ""
            part += f", {c.resolution_label or c.resolution} {c.status}{held}, not given yet"
        parts.append(part)
    return f"Also open: {'; '.join(parts)}." if parts else ""


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


def _jsonable(d: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, datetime):
            v = v.isoformat()
        out[k] = v
    return out


def memory_of(
    service: Service, scorer: Scorer, live: CustomerLive, *, now: datetime | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """``(profile, recent complaints)`` of a customer: the trained memory and the live
    contacts together (``history_items`` most recent)."""
    n = service.settings.history_items
    trained_profile, trained_recent = scorer.customer_memory(live.customer_id, n)
    recent = merged_recent(trained_recent, live, n, scorer.labels, now=now)
    return merged_profile(trained_profile, live), recent


def profile_as_served(
    profile: Mapping[str, Any] | None, complaint: Mapping[str, Any]
) -> dict[str, Any]:
    """The profile as a served complaint states it: its profile fields (the ones the
    model read, and the explanation words) over the stored profile, as of its opening
    when they differ, so the greeting and the reasons say the same tenure."""
    out: dict[str, Any] = {f: None for f in PROFILE_FIELDS}
    out["as_of"] = None
    out.update(profile or {})
    given = {f: complaint.get(f) for f in PROFILE_FIELDS if complaint.get(f) is not None}
    if any(out.get(f) != v for f, v in given.items()):
        out.update(given, as_of=complaint.get("opened_at"))
    return out


def open_contacts(
    live: CustomerLive,
    labels: Mapping[str, str],
    *,
    now: datetime,
    waiting: Sequence[OpenContactOut] = (),
) -> list[OpenContactOut]:
    """The customer's contacts still open at ``now``: ``waiting`` ones (in the queue,
    read by the caller), then those whose offer is held or offered, not given."""
    out = list(waiting)
    for c in live.contacts:
        status = offer_status(c, now)
        if status not in ("held", "offered"):
            continue
        out.append(
            OpenContactOut(
                contact_id=c.contact_id,
                case_id=c.case_id,
                channel=str(c.complaint.get("channel")),
                issue_type=c.complaint.get("issue_type"),
                opened_at=c.opened_at,
                status=status,  # type: ignore[arg-type]
                resolution=c.recommended_resolution,
                resolution_label=labels.get(c.recommended_resolution, c.recommended_resolution),
                held=float(c.holding(now)),
                agent=c.agent,
            )
        )
    return sorted(out, key=lambda c: c.opened_at)


def waiting_contacts(entries: Sequence[QueueEntry], *, but: str) -> list[OpenContactOut]:
    """Queue entries of a customer waiting (or due a callback), as open contacts, all
    but the entry ``but`` (the one being served)."""
    return [
        OpenContactOut(
            contact_id=e.entry_id,
            case_id=e.case_id,
            channel=e.channel,
            issue_type=e.complaint.get("issue_type"),
            opened_at=e.arrived_at,
            status="waiting",
        )
        for e in entries
        if e.entry_id != but
    ]


def customer_view(
    profile: Mapping[str, Any] | None,
    recent: list[dict[str, Any]],
    customer_id: str,
    case: CaseOut | None,
    *,
    now: datetime,
    open_cases: Sequence[CaseOut] = (),
    others: Sequence[OpenContactOut] = (),
    currency: str = "USD",
) -> CustomerOut:
    """Profile, recent complaints, other open contacts (``others``) and greeting of a
    customer."""
    return CustomerOut.model_validate(
        {
            "customer_id": customer_id,
            "known": profile is not None or bool(recent),
            "profile": None if profile is None else _jsonable(profile),
            "recent": recent,
            "greeting": greeting(
                profile, recent, case, now=now, open_contacts=others, currency=currency
            ),
            "open_cases": list(open_cases),
            "open_contacts": list(others),
        }
    )


def customer(service: Service, scorer: Scorer, customer_id: str) -> CustomerOut:
    """``GET /v1/customers/{id}``: the trained memory and the live contacts together,
    with the customer's open cases."""
    now = utc_now()
    live = service.contacts.customer(customer_id)
    cases = [
        case_view(
            live,
            joined(live, case, now),
            labels=scorer.labels,
            currency=scorer.catalog.currency,
            now=now,
        )
        for case in live.cases
        if case.status.value == "open"
    ]
    profile, recent = memory_of(service, scorer, live, now=now)
    last = cases[-1] if cases else None
    others = open_contacts(live, scorer.labels, now=now)
    return customer_view(
        profile, recent, customer_id, last, now=now, open_cases=cases, others=others,
        currency=scorer.catalog.currency,
    )  # fmt: skip


# ------------------------------------------------------------------ handovers


def handover(
    service: Service, scorer: Scorer, body: HandoverIn, *, from_agent: str | None = None
) -> HandoverRecordOut:
    """A warm handover: store the note and next step on the case, and answer the
    summary and greeting the next agent needs. ``from_agent`` stands in for the
    body's when it names none.

    Raises:
        FieldError: neither ``decision_id`` nor ``case_id``, or they disagree.
        DecisionNotFoundError, CaseNotFoundError: the contact or case is unknown.
    """
    book = service.contacts
    decision_id, case_id = body.decision_id, body.case_id
    if decision_id is None and case_id is None:
        raise FieldError("decision_id", "name the case by decision_id or case_id (missing)")
    contact = None
    if decision_id is not None:
        contact = book.contact(decision_id)
        if contact is None:
            raise DecisionNotFoundError(
                f"no contact with decision_id {decision_id!r} (a decision served before "
                "contacts were recorded has no case)"
            )
        if case_id is not None and case_id != contact.case_id:
            raise FieldError("case_id", f"decision {decision_id!r} is not in this case")
        case_id = contact.case_id
    assert case_id is not None
    found = book.find_case(case_id)
    if found is None:
        raise CaseNotFoundError(f"no case with case_id {case_id!r}")
    now = utc_now()
    live = book.customer(found.customer_id)
    case_contacts = live.case_contacts(found.case_id)
    if not case_contacts:
        raise FieldError("case_id", f"case {case_id!r} has no contact yet")
    last = contact or case_contacts[-1]
    labels, currency = scorer.labels, scorer.catalog.currency
    summary = case_summary(
        case_facts(case_contacts, now), labels=labels, currency=currency, note=body.note
    )
    stored = service.writes.run(
        book.add_handover,
        case_id=found.case_id,
        contact_id=last.contact_id,
        from_agent=body.from_agent or from_agent or last.agent,
        from_channel=body.from_channel or str(last.complaint.get("channel")),
        to_team=body.to_team,
        to_channel=body.to_channel,
        note=body.note,
        next_step=body.next_step,
        summary=summary,
        now=now,
        hold_seconds=service.settings.offer_ttl_seconds,  # the case's holds wait with it
    )
    live = book.customer(found.customer_id)
    case = live.case(found.case_id)
    assert case is not None
    view = case_view(live, joined(live, case, now), labels=labels, currency=currency, now=now)
    profile, recent = memory_of(service, scorer, live, now=now)
    others = open_contacts(live, labels, now=now)
    return HandoverRecordOut(
        handover_id=stored.handover_id,
        case_id=found.case_id,
        customer_id=found.customer_id,
        summary=summary,
        greeting=greeting(profile, recent, view, now=now, open_contacts=others, currency=currency),
        next_step=case.next_step,
        created_at=stored.created_at,
        case=view,
    )
