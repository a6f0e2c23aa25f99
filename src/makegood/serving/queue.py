"""What the queue's endpoints do: queue a contact, list, hand out the next case, settle it.

A contact enters with its complaint, scored once with the serving scorer for its value
at risk (``lifetime_value x churn(baseline)``). ``next`` claims the best case the agent
may serve (:meth:`makegood.store.queue.QueueStore.claim_next`) and serves its
recommendation in the same request (:func:`makegood.serving.recommendations.recommend`,
the one entry point of a recommendation), with the case's earlier
contacts and what was given in them, so the console shows the whole case from one answer.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from makegood.contract.units import utc_now
from makegood.errors import (
    BudgetError,
    ConfigError,
    FieldError,
    QueueStateError,
)
from makegood.features.text.emotion import detect_emotion
from makegood.policy.queue import QueueRules, ageing, callback_offered, callback_slots
from makegood.policy.value import value_at_risk
from makegood.serving import budget as budgets
from makegood.serving.customers import complaint_fields, waiting_contacts
from makegood.serving.customers import handover as hand_over
from makegood.serving.decisions import decide as settle
from makegood.serving.decisions import decision_view
from makegood.serving.plans import RecommendationRequest
from makegood.serving.queue_schemas import AgentBudgetOut, EntryDecisionIn
from makegood.serving.recommendations import Served, recommend
from makegood.serving.schemas import ComplaintIn, DecisionIn, HandoverIn
from makegood.serving.scorer import Scorer
from makegood.serving.service import Service
from makegood.serving.settings import Settings
from makegood.store.queue import EntryStatus, QueueEntry, QueueStore, Ranked

log = logging.getLogger("makegood.serving")
MAX_CALLBACK_DAYS = 30
SNIPPET_CHARS = 120
MAX_NOTES_CHARS = 2000  # DecisionIn.notes
COLLEAGUE_DAYS = 1
_EMOTION_CACHE_SIZE = 20_000


def snippet(text: str, n: int = SNIPPET_CHARS) -> str:
    """The first words of ``text`` within ``n`` characters (whitespace folded), with an
    ellipsis when cut.

    >>> snippet("My   bill is wrong again and nobody answers", 20)
    'My bill is wrong…'
    """
    flat = " ".join(str(text or "").split())
    if len(flat) <= n:
        return flat
    cut = flat[: n - 1].rsplit(" ", 1)[0] or flat[: n - 1]
    return cut.rstrip(" ,.;:") + "\u2026"


def parse_skills(text: str | None) -> dict[str, str]:
    """``issue_type:skill,...`` as a mapping (lower-cased). Raises ConfigError."""
    out: dict[str, str] = {}
    for n, item in enumerate((text or "").split(","), start=1):
        item = item.strip()
        if not item:
            continue
        issue, sep, skill = item.partition(":")
        if not sep or not issue.strip() or not skill.strip():
            raise ConfigError(
                f"MAKEGOOD_QUEUE_SKILLS: entry {n} must be issue_type:skill. Got {item!r}."
            )
        out[issue.strip().lower()] = skill.strip().lower()
    return out


def decision_body(body: EntryDecisionIn) -> DecisionIn:
    """The decision as the ledger takes it. The wrap-up code travels in its own field when
    the decision has one, else it leads the notes (``wrap-up: <code>``), so it is stored
    and exported with the decision either way."""
    fields = body.model_dump(exclude_unset=True)
    code = fields.pop("wrap_up_code", None)
    if code is not None:
        if "wrap_up_code" in DecisionIn.model_fields:
            fields["wrap_up_code"] = code
        else:
            notes = f"wrap-up: {code}" + (f"; {fields['notes']}" if fields.get("notes") else "")
            if len(notes) > MAX_NOTES_CHARS:
                raise FieldError(
                    "notes", f"with the wrap-up code must be at most {MAX_NOTES_CHARS} characters"
                )
            fields["notes"] = notes
    return DecisionIn.model_validate(fields)


def rules_from(settings: Settings) -> QueueRules:
    return QueueRules(
        ageing_per_minute=settings.queue_ageing_per_minute,
        backup_after_seconds=settings.queue_backup_after_seconds,
        callback_after_seconds=settings.queue_callback_after_seconds,
        handle_seconds=settings.queue_handle_seconds,
    )


def _naive(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


class QueueService:
    """The queue's work, independent of HTTP."""

    def __init__(self, settings: Settings, store: QueueStore, service: Service) -> None:
        self.settings = settings
        self.store = store
        self.service = service
        self.rules = rules_from(settings)
        self.skills = parse_skills(settings.queue_skills)
        # emotions read from complaint texts, by complaint id: read once, not per listing
        self._emotions: dict[str, str | None] = {}

    # ------------------------------------------------------------------ views
    def _read_emotions(self, entries: list[QueueEntry]) -> None:
        """Read, in one batch, the emotion of the entries whose complaint gives none."""
        todo = {
            e.complaint_id: str(e.complaint.get("complaint_text") or "")
            for e in entries
            if not e.complaint.get("emotion") and e.complaint_id not in self._emotions
        }
        if not todo:
            return
        if len(self._emotions) + len(todo) > _EMOTION_CACHE_SIZE:
            self._emotions.clear()
        labels = detect_emotion(list(todo.values()))
        self._emotions.update(
            zip(todo, (None if x is None else str(x) for x in labels), strict=True)
        )

    def _emotion(self, e: QueueEntry) -> tuple[str | None, bool]:
        given = e.complaint.get("emotion")
        if given:
            return str(given), False
        self._read_emotions([e])
        read = self._emotions.get(e.complaint_id)
        return read, read is not None

    def entry_view(self, e: QueueEntry, now: datetime, rank: Ranked | None = None) -> dict:
        c = e.complaint
        waited = e.waited_seconds(now)
        aged = float(ageing([waited], ageing_per_minute=self.rules.ageing_per_minute)[0])
        emotion, from_text = self._emotion(e)
        return {
            "entry_id": e.entry_id,
            "case_id": e.case_id,
            "complaint_id": e.complaint_id,
            "customer_id": e.customer_id,
            "team": e.team,
            "channel": e.channel,
            "skill": e.skill,
            "issue_type": str(c.get("issue_type", "")),
            "severity": int(c.get("severity", 1)),
            "complaint_text": str(c.get("complaint_text") or ""),
            "snippet": snippet(str(c.get("complaint_text") or "")),
            "emotion": emotion,
            "emotion_from_text": from_text,
            "why_first": {
                "value_at_risk": round(e.value_at_risk, 2),
                "waited_seconds": round(waited, 1),
                "ageing": round(aged, 2),
                "ageing_per_minute": self.rules.ageing_per_minute,
                "priority": round(e.value_at_risk + aged, 2),
            },
            "value_at_risk": round(e.value_at_risk, 2),
            "lifetime_value": round(e.lifetime_value, 2),
            "baseline_churn_probability": round(e.baseline_churn, 5),
            "status": e.status.value,
            "arrived_at": _aware(e.arrived_at),
            "waited_seconds": round(waited, 1),
            "priority": None if rank is None else round(rank.priority, 2),
            "position": None if rank is None else rank.position,
            "expected_wait_seconds": None if rank is None else round(rank.expected_wait_seconds, 1),
            "callback_due": e.callback_due(now),
            "due_at": _aware(e.due_at),
            "slot_end": _aware(e.slot_end),
            "note": e.note,
            "from_team": e.from_team,
            "from_agent": e.from_agent,
            "agent_name": e.agent_name,
            "outcome": e.outcome,
        }

    def budget_view(self, team: str | None) -> AgentBudgetOut | None:
        """The budget this team spends from this month, as finance sees it without the
        other teams' budgets, and what is left to spend (None when there is none)."""
        now = utc_now()
        try:
            state = self.service.ledger.get_budget(budgets.current_period(now), team, now=now)
        except BudgetError:
            return None
        view = budgets.budget_view(self.settings, state)
        return AgentBudgetOut(**dict(view), remaining=float(state.amount - state.committed))

    def _callback(self, wait: float, now: datetime) -> dict[str, Any]:
        offered = bool(callback_offered([wait], rules=self.rules)[0])
        # the first slot no sooner than the customer would have been served (within 4 h)
        slots = self._slots(now, n=3, lead_seconds=min(wait, 4 * 3600.0)) if offered else []
        return {
            "offered": offered,
            "expected_wait_seconds": round(wait, 1),
            "threshold_seconds": self.rules.callback_after_seconds,
            "slots": slots,
        }

    # ------------------------------------------------------------------ contacts
    def enter(
        self, scorer: Scorer, complaint: ComplaintIn, *, team: str | None, skill: str | None
    ) -> dict[str, Any]:
        """Queue a contact: score it for value at risk, store it, say how long it waits."""
        body = complaint.fields()
        # the customer as the service knows them now: trained history and live contacts
        live = self.service.contacts.customer(str(body["customer_id"]))
        normal = complaint_fields(self.service, scorer, body, live)
        cand = scorer.score(normal, earlier=live.history_rows())
        churn0 = float(cand.churn_prob[cand.baseline_index])
        var = float(value_at_risk([cand.lifetime_value], [churn0])[0])
        stored = ComplaintIn.model_validate(
            {k: normal.get(k) for k in ComplaintIn.model_fields}
        ).model_dump(mode="json")
        issue = str(normal["issue_type"])
        entry = self.service.writes.run(
            self.store.add,
            stored,
            value_at_risk=var,
            lifetime_value=float(cand.lifetime_value),
            baseline_churn=churn0,
            skill=skill or self.skills.get(issue, issue),
            team=team,
        )
        now = utc_now()
        rank = self._rank_of(entry.entry_id, team, now)
        wait = rank.expected_wait_seconds if rank else self.rules.handle_seconds
        log.info("queue entry=%s team=%s position=%s", entry.entry_id, team, rank and rank.position)
        return {"entry": self.entry_view(entry, now, rank), "callback": self._callback(wait, now)}

    def _rank_of(self, entry_id: str, team: str | None, now: datetime) -> Ranked | None:
        ranked, _, _ = self.store.ranked(team, rules=self.rules, now=now)
        return next((r for r in ranked if r.entry.entry_id == entry_id), None)

    def queue(self, team: str | None) -> dict[str, Any]:
        now = utc_now()
        ranked, later, capacity = self.store.ranked(team, rules=self.rules, now=now)
        self._read_emotions([r.entry for r in ranked] + later)
        return {
            "team": team,
            "entries": [self.entry_view(r.entry, now, r) for r in ranked],
            "callbacks": [self.entry_view(e, now) for e in later],
            "n_waiting": len(ranked),
            "n_callbacks_due": sum(r.entry.callback_due(now) for r in ranked),
            "n_agents": int(capacity["n_agents"]),
            "handle_seconds": round(capacity["handle_seconds"], 1),
            "budget": self.budget_view(team),
        }

    # ------------------------------------------------------------------ next
    def next(
        self,
        scorer: Scorer,
        *,
        agent: str,
        team: str | None,
        skills: list[str] | None,
        backup_skills: list[str],
        agent_name: str | None,
    ) -> dict[str, Any]:
        entry = self.service.writes.run(
            self.store.claim_next,
            team=team,
            agent=agent,
            agent_name=agent_name,
            primary=skills,
            backup=backup_skills,
            rules=self.rules,
        )
        now = utc_now()
        if entry is None:
            ranked, _, _ = self.store.ranked(team, rules=self.rules, now=now)
            return {
                "entry": None,
                "recommendation": None,
                "budget": self.budget_view(team),
                "n_waiting": len(ranked),
                "callback_slots": [],
            }
        return self._serve(scorer, entry, agent=agent, team=team, now=now)

    def _serve(
        self, scorer: Scorer, entry: QueueEntry, *, agent: str, team: str | None, now: datetime
    ) -> dict[str, Any]:
        """Recommend for an entry this agent just claimed and attach the decision to it."""
        try:
            recommendation = self._recommend(scorer, entry, agent=agent)
            answer = recommendation.answer
            entry = self.service.writes.run(
                self.store.set_decision,
                entry.entry_id,
                answer.decision_id,
                agent=agent,
                case_id=None if answer.case is None else answer.case.case_id,
            )
        except Exception:
            # the case goes back to the queue, in its place, for the next agent
            self.service.writes.run(self.store.release, entry.entry_id, agent=agent)
            raise
        log.info("queue entry=%s claimed decision=%s", entry.entry_id, entry.decision_id)
        return self._case_answer(entry, recommendation, team, now)

    def resume(self, scorer: Scorer, entry_id: str, *, agent: str) -> dict[str, Any]:
        """The case this agent holds, as ``next`` answered it (a reloaded console): the
        recommendation is replayed from its idempotency key, nothing is reserved again. A
        case handed to this agent by name has no recommendation yet: it is made now."""
        entry = self._own(entry_id, agent)
        if entry.decision_id is None:
            return self._serve(scorer, entry, agent=agent, team=entry.team, now=utc_now())
        recommendation = self._recommend(scorer, entry, agent=agent)
        return self._case_answer(entry, recommendation, entry.team, utc_now())

    def open(
        self, scorer: Scorer, entry_id: str, *, agent: str, agent_name: str | None
    ) -> dict[str, Any]:
        """Take this case out of turn (the caller checked the agent may open it); the
        agent's own case is resumed instead."""
        entry = self.store.get(entry_id)
        if entry.claimed_by == agent and entry.status == EntryStatus.CLAIMED:
            return self.resume(scorer, entry_id, agent=agent)
        entry = self.service.writes.run(
            self.store.claim, entry_id, agent=agent, agent_name=agent_name
        )
        log.info("queue entry=%s opened out of turn by %s", entry_id, agent)
        return self._serve(scorer, entry, agent=agent, team=entry.team, now=utc_now())

    def mine(self, agent: str) -> list[dict[str, Any]]:
        """The cases this agent holds now, oldest claim first."""
        now = utc_now()
        entries = self.store.claimed_by(agent, now=now)
        self._read_emotions(entries)
        return [self.entry_view(e, now) for e in entries]

    def search(self, team: str | None, customer: str) -> list[dict[str, Any]]:
        now = utc_now()
        entries = self.store.find_open(team, customer)
        self._read_emotions(entries)
        return [self.entry_view(e, now) for e in entries]

    def colleagues(self, team: str | None, *, agent: str) -> list[dict[str, Any]]:
        """Agents who took a case of the team's queue in the last day (a case can be
        handed to one of them by name)."""
        since = utc_now() - timedelta(days=COLLEAGUE_DAYS)
        return [
            {"agent_id": a, "name": name, "you": a == agent}
            for a, name in self.store.agents(team, since=since)
        ]

    def _recommend(self, scorer: Scorer, entry: QueueEntry, *, agent: str) -> Served:
        # the customer's other contacts waiting meanwhile (a phone call during a chat)
        ranked, later, _ = self.store.ranked(entry.team, rules=self.rules)
        mine = [e for e in [r.entry for r in ranked] + later if e.customer_id == entry.customer_id]
        # one key per claim: a retry or a resume replays the same answer
        request = RecommendationRequest(
            ComplaintIn.model_validate(entry.complaint).model_dump(),
            team=entry.team,
            idempotency_key=f"queue:{entry.entry_id}:{entry.n_claims}",
            agent=entry.agent_name or agent,
            waiting=tuple(waiting_contacts(mine, but=entry.entry_id)),
        )
        return recommend(self.service, scorer, request)

    def _case_answer(
        self, entry: QueueEntry, recommendation: Served, team: str | None, now: datetime
    ) -> dict[str, Any]:
        ranked, _, _ = self.store.ranked(team, rules=self.rules, now=now)
        return {
            "entry": self.entry_view(entry, now),
            "recommendation": recommendation.answer,
            "budget": self.budget_view(team),
            "n_waiting": len(ranked),
            "callback_slots": self._slots(now, n=6),
        }

    def _slots(self, now: datetime, *, n: int, lead_seconds: float = 0.0) -> list[dict]:
        slots = callback_slots(
            now,
            lead_seconds=lead_seconds,
            slot_minutes=self.settings.queue_callback_slot_minutes,
            n=n,
        )
        return [{"start": _aware(a), "end": _aware(b)} for a, b in slots]

    # ------------------------------------------------------------------ settle
    def decide(
        self, scorer: Scorer | None, entry_id: str, body: EntryDecisionIn, *, agent: str
    ) -> dict[str, Any]:
        """Settle the case's recommendation (accept, override, decline) and close the entry."""
        entry = self._own(entry_id, agent)
        decision = self.service.writes.run(
            settle, self.service, scorer, entry.decision_id or "", decision_body(body)
        )
        closed = self.service.writes.run(
            self.store.finish, entry_id, agent=agent, outcome=str(body.action)
        )
        return {
            "entry": self.entry_view(closed, utc_now()),
            "decision": decision_view(decision),
            "budget": self.budget_view(entry.team),
        }

    def handover(
        self,
        scorer: Scorer,
        entry_id: str,
        *,
        agent: str,
        team: str | None,
        channel: str | None,
        note: str,
        next_step: str | None,
        to_agent: str | None = None,
    ) -> dict[str, Any]:
        """Pass a taken case on: the note and next step go on the case (the warm handover
        the next agent's recommendation shows) and the case waits in ``team``'s queue,
        in its place, or, handed to ``to_agent`` by name, in that colleague's open cases.
        What the recommendation holds stays held for the case.

        Raises:
            FieldError: ``to_agent`` is not a colleague of the target team, or is the
                agent handing over.
        """
        entry = self._own(entry_id, agent)
        target = team if team is not None else entry.team
        colleague_name = None
        if to_agent is not None:
            known = {c["agent_id"]: c["name"] for c in self.colleagues(target, agent=agent)}
            if to_agent == agent:
                raise FieldError("to_agent", "must be a colleague, not the agent handing over")
            if to_agent not in known:
                raise FieldError(
                    "to_agent",
                    f"must be an agent who took a case of team {target!r} in the last "
                    f"{COLLEAGUE_DAYS} day(s) (GET /v1/queue/colleagues). Got {to_agent!r}.",
                )
            colleague_name = known[to_agent]
        if entry.decision_id:
            # the queue's fields are validated already (QueueHandoverIn, the stored entry)
            body = HandoverIn.model_construct(
                decision_id=entry.decision_id,
                case_id=None,
                from_agent=entry.agent_name or agent,
                from_channel=entry.channel,
                to_team=target,
                to_channel=channel,
                note=note,
                next_step=next_step,
            )
            hand_over(self.service, scorer, body)
        new = self.service.writes.run(
            self.store.handover, entry_id, agent=agent, to_team=target, channel=channel, note=note
        )
        if to_agent is not None:
            # the colleague holds it at once: it is theirs, listed in their open cases (a
            # claim they leave alone lapses back to the queue after the claim timeout)
            new = self.service.writes.run(
                self.store.claim, new.entry_id, agent=to_agent, agent_name=colleague_name
            )
        log.info("queue entry=%s handed over as entry=%s", entry_id, new.entry_id)
        return {"entry": self.entry_view(new, utc_now()), "closed_entry_id": entry_id}

    def callback(
        self,
        entry_id: str,
        *,
        agent: str | None,
        slot_start: datetime,
        slot_end: datetime | None,
        channel: str | None,
        note: str | None,
    ) -> dict[str, Any]:
        self.store.get(entry_id)  # an unknown entry is a 404 before any field is judged
        now = utc_now()
        start = _naive(slot_start)
        end = None if slot_end is None else _naive(slot_end)
        if start < now - timedelta(minutes=5):
            raise FieldError("slot_start", "must not be in the past")
        if start > now + timedelta(days=MAX_CALLBACK_DAYS):
            raise FieldError("slot_start", f"must be within {MAX_CALLBACK_DAYS} days")
        if end is not None and end <= start:
            raise FieldError("slot_end", "must be after slot_start")
        if agent is not None:
            self._own(entry_id, agent)
        entry = self.service.writes.run(
            self.store.schedule_callback,
            entry_id,
            agent=agent,
            slot_start=start,
            slot_end=end,
            channel=channel,
            note=note,
        )
        return self.entry_view(entry, now)

    def release(self, entry_id: str, *, agent: str) -> dict[str, Any]:
        self._own(entry_id, agent)
        entry = self.service.writes.run(self.store.release, entry_id, agent=agent)
        return self.entry_view(entry, utc_now())

    def _own(self, entry_id: str, agent: str) -> QueueEntry:
        entry = self.store.get(entry_id)
        if entry.claimed_by != agent:
            raise QueueStateError(
                f"queue entry {entry_id} is {entry.status.value}"
                + (" and handled by another agent" if entry.claimed_by else "")
                + ": take it from the queue first"
            )
        return entry
