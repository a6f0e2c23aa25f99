"""What the queue shows: a team's queue in serving order with why each case is first, an
agent's cases, a customer's open entries, the colleagues a case can be handed to, and
the callback a long wait offers. :class:`QueueViews` is the base of
:class:`~makegood.serving.queue.QueueService`, whose actions answer with these views.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from makegood.contract.units import utc_now
from makegood.errors import BudgetError
from makegood.features.text.emotion import detect_emotion
from makegood.policy.queue import QueueRules, ageing, callback_offered, callback_slots
from makegood.serving import budget as budgets
from makegood.serving.queue_schemas import AgentBudgetOut
from makegood.serving.service import Service
from makegood.serving.settings import Settings
from makegood.store.queue import QueueEntry, QueueStore, Ranked

SNIPPET_CHARS = 120
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


def rules_from(settings: Settings) -> QueueRules:
    """The queue's rules as the settings give them."""
    return QueueRules(
        ageing_per_minute=settings.queue_ageing_per_minute,
        backup_after_seconds=settings.queue_backup_after_seconds,
        callback_after_seconds=settings.queue_callback_after_seconds,
        handle_seconds=settings.queue_handle_seconds,
    )


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


class QueueViews:
    """The queue's views, independent of HTTP: entries as the console shows them."""

    def __init__(self, settings: Settings, store: QueueStore, service: Service) -> None:
        self.settings = settings
        self.store = store
        self.service = service
        self.rules = rules_from(settings)
        # emotions read from complaint texts, by complaint id: read once, not per listing
        self._emotions: dict[str, str | None] = {}

    def read_emotions(self, entries: list[QueueEntry]) -> None:
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
        self.read_emotions([e])
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

    def callback_offer(self, wait: float, now: datetime) -> dict[str, Any]:
        """Whether a wait of ``wait`` seconds offers a callback, with its first slots."""
        offered = bool(callback_offered([wait], rules=self.rules)[0])
        # the first slot no sooner than the customer would have been served (within 4 h)
        slots = self.slot_views(now, n=3, lead_seconds=min(wait, 4 * 3600.0)) if offered else []
        return {
            "offered": offered,
            "expected_wait_seconds": round(wait, 1),
            "threshold_seconds": self.rules.callback_after_seconds,
            "slots": slots,
        }

    def slot_views(self, now: datetime, *, n: int, lead_seconds: float = 0.0) -> list[dict]:
        """The next ``n`` callback slots from ``now + lead_seconds``, as aware UTC times."""
        slots = callback_slots(
            now,
            lead_seconds=lead_seconds,
            slot_minutes=self.settings.queue_callback_slot_minutes,
            n=n,
        )
        return [{"start": _aware(a), "end": _aware(b)} for a, b in slots]

    def rank_of(self, entry_id: str, team: str | None, now: datetime) -> Ranked | None:
        """The entry's place in the team's queue at ``now`` (None when not claimable)."""
        ranked, _, _ = self.store.ranked(team, rules=self.rules, now=now)
        return next((r for r in ranked if r.entry.entry_id == entry_id), None)

    def queue(self, team: str | None) -> dict[str, Any]:
        now = utc_now()
        ranked, later, capacity = self.store.ranked(team, rules=self.rules, now=now)
        self.read_emotions([r.entry for r in ranked] + later)
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

    def mine(self, agent: str) -> list[dict[str, Any]]:
        """The cases this agent holds now, oldest claim first."""
        now = utc_now()
        entries = self.store.claimed_by(agent, now=now)
        self.read_emotions(entries)
        return [self.entry_view(e, now) for e in entries]

    def search(self, team: str | None, customer: str) -> list[dict[str, Any]]:
        now = utc_now()
        entries = self.store.find_open(team, customer)
        self.read_emotions(entries)
        return [self.entry_view(e, now) for e in entries]

    def colleagues(self, team: str | None, *, agent: str) -> list[dict[str, Any]]:
        """Agents who took a case of the team's queue in the last day (a case can be
        handed to one of them by name)."""
        since = utc_now() - timedelta(days=COLLEAGUE_DAYS)
        return [
            {"agent_id": a, "name": name, "you": a == agent}
            for a, name in self.store.agents(team, since=since)
        ]
