"""What the queue's endpoints do: queue a contact, list, hand out the next case, settle it.

A contact enters with its complaint, scored once with the serving scorer for its value
at risk (``lifetime_value x churn(baseline)``). ``next`` claims the best case the agent
may serve (:meth:`makegood.store.queue.QueueStore.claim_next`) and serves its
recommendation in the same request (:func:`makegood.serving.recommendations.recommend`,
the one entry point of a recommendation), with the case's earlier
contacts and what was given in them, so the console shows the whole case from one answer.
What the queue shows (its listing, the entries as the console sees them) is
:mod:`~makegood.serving.queue_views`'.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from makegood.contract.units import naive_utc, utc_now
from makegood.errors import ConfigError, FieldError, QueueStateError
from makegood.policy.value import value_at_risk
from makegood.serving.customers import complaint_fields, waiting_contacts
from makegood.serving.customers import handover as hand_over
from makegood.serving.decisions import decide as settle
from makegood.serving.decisions import decision_view
from makegood.serving.plans import RecommendationRequest
from makegood.serving.queue_schemas import EntryDecisionIn
from makegood.serving.queue_views import COLLEAGUE_DAYS, QueueViews
from makegood.serving.recommendations import Served, recommend
from makegood.serving.schemas import ComplaintIn, DecisionIn, HandoverIn
from makegood.serving.scorer import Scorer
from makegood.serving.service import Service
from makegood.serving.settings import Settings
from makegood.store.queue import EntryStatus, QueueEntry, QueueStore

log = logging.getLogger("makegood.serving")
MAX_CALLBACK_DAYS = 30
MAX_NOTES_CHARS = 2000  # DecisionIn.notes


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


class QueueService(QueueViews):
    """The queue's work, independent of HTTP."""

    def __init__(self, settings: Settings, store: QueueStore, service: Service) -> None:
        super().__init__(settings, store, service)
        self.skills = parse_skills(settings.queue_skills)

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
        rank = self.rank_of(entry.entry_id, team, now)
        wait = rank.expected_wait_seconds if rank else self.rules.handle_seconds
        log.info("queue entry=%s team=%s position=%s", entry.entry_id, team, rank and rank.position)
        return {
            "entry": self.entry_view(entry, now, rank),
            "callback": self.callback_offer(wait, now),
        }

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
            "callback_slots": self.slot_views(now, n=6),
        }

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
        start = naive_utc(slot_start)
        end = None if slot_end is None else naive_utc(slot_end)
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
