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
from makegood.policy.queue import QueueRules, callback_offered, callback_slots
from makegood.policy.value import value_at_risk
from makegood.serving import budget as budgets
from makegood.serving.customers import complaint_fields, waiting_contacts
from makegood.serving.customers import handover as hand_over
from makegood.serving.decisions import decide as settle
from makegood.serving.decisions import decision_view
from makegood.serving.plans import RecommendationRequest
from makegood.serving.queue_schemas import AgentBudgetOut
from makegood.serving.recommendations import Served, recommend
from makegood.serving.schemas import ComplaintIn, DecisionIn, HandoverIn
from makegood.serving.scorer import Scorer
from makegood.serving.service import Service
from makegood.serving.settings import Settings
from makegood.store.queue import QueueEntry, QueueStore, Ranked

log = logging.getLogger("makegood.serving")
MAX_CALLBACK_DAYS = 30


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

    # ------------------------------------------------------------------ views
    def entry_view(self, e: QueueEntry, now: datetime, rank: Ranked | None = None) -> dict:
        c = e.complaint
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
            "value_at_risk": round(e.value_at_risk, 2),
            "lifetime_value": round(e.lifetime_value, 2),
            "baseline_churn_probability": round(e.baseline_churn, 5),
            "status": e.status.value,
            "arrived_at": _aware(e.arrived_at),
            "waited_seconds": round(e.waited_seconds(now), 1),
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
        recommendation is replayed from its idempotency key, nothing is reserved again."""
        entry = self._own(entry_id, agent)
        recommendation = self._recommend(scorer, entry, agent=agent)
        return self._case_answer(entry, recommendation, entry.team, utc_now())

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
        self, scorer: Scorer | None, entry_id: str, body: DecisionIn, *, agent: str
    ) -> dict[str, Any]:
        """Settle the case's recommendation (accept, override, decline) and close the entry."""
        entry = self._own(entry_id, agent)
        decision = self.service.writes.run(
            settle, self.service, scorer, entry.decision_id or "", body
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
    ) -> dict[str, Any]:
        """Pass a taken case on: the note and next step go on the case (the warm handover
        the next agent's recommendation shows) and the case waits in ``team``'s queue,
        in its place. What the recommendation holds stays held for the case."""
        entry = self._own(entry_id, agent)
        target = team if team is not None else entry.team
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
