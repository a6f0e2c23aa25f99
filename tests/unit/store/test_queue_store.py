"""The queue's storage: claims are atomic, states move as documented, callbacks come back."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from dbtesting import BACKENDS, PG_URL, drop_schema, fresh_schema
from makegood.errors import QueueEntryNotFoundError, QueueStateError
from makegood.policy.queue import QueueRules
from makegood.store.queue import EntryStatus, QueueStore

T0 = datetime(2026, 3, 2, 9, 0)
RULES = QueueRules(ageing_per_minute=10.0, backup_after_seconds=120.0)


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "sqlite":
        s = QueueStore(f"sqlite:///{tmp_path / 'q.db'}")
        s.create_all()
        yield s
        s.close()
    else:
        schema = fresh_schema("queue_test")
        s = QueueStore(PG_URL, schema=schema)
        s.create_all()
        yield s
        s.close()
        drop_schema(PG_URL, schema)


def _complaint(n: int, issue: str = "billing_error", channel: str = "chat") -> dict:
    return {
        "complaint_id": f"Q{n}",
        "customer_id": f"C{n}",
        "channel": channel,
        "issue_type": issue,
        "severity": 3,
        "complaint_text": "charged twice",
    }


def _add(store, n, var, *, at=T0, skill="billing_error", team="care", **kw):
    return store.add(
        _complaint(n, skill),
        value_at_risk=var,
        lifetime_value=var * 4,
        baseline_churn=0.25,
        skill=skill,
        team=team,
        now=at,
        **kw,
    )


def _claim(store, agent="a", at=T0, primary=None, backup=(), team="care"):
    return store.claim_next(
        team=team, agent=agent, primary=primary, backup=backup, rules=RULES, now=at
    )


def test_claims_follow_the_rule_and_never_repeat(store):
    low = _add(store, 1, 50.0, at=T0 - timedelta(minutes=20))  # 50 + 200 of ageing
    high = _add(store, 2, 400.0)
    mid = _add(store, 3, 220.0)
    got = [_claim(store, agent=f"a{i}") for i in range(4)]
    assert [g.entry_id if g else None for g in got] == [
        high.entry_id,
        low.entry_id,
        mid.entry_id,
        None,
    ]
    assert all(g.status == EntryStatus.CLAIMED for g in got[:3])
    assert {g.claimed_by for g in got[:3]} == {"a0", "a1", "a2"}


def test_skills_and_backup_after_the_wait(store):
    outage = _add(store, 1, 900.0, skill="service_outage")
    billing = _add(store, 2, 10.0)
    assert _claim(store, primary=["billing_error"], backup=["service_outage"]).entry_id == (
        billing.entry_id
    )
    assert _claim(store, agent="b", primary=["billing_error"], backup=["service_outage"]) is None
    later = T0 + timedelta(seconds=RULES.backup_after_seconds)
    got = _claim(store, agent="b", primary=["billing_error"], backup=["service_outage"], at=later)
    assert got.entry_id == outage.entry_id


def test_teams_have_their_own_queues(store):
    _add(store, 1, 100.0, team="care")
    assert _claim(store, team="billing") is None
    assert _claim(store, team="care") is not None


def test_two_agents_racing_never_get_the_same_case(store):
    for n in range(12):
        _add(store, n, float(n))
    got: list = []
    lock = threading.Lock()

    def agent(name):
        for _ in range(4):
            e = _claim(store, agent=name)
            with lock:
                got.append(e and e.entry_id)

    threads = [threading.Thread(target=agent, args=(f"a{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [g for g in got if g]
    assert len(taken) == 12 and len(set(taken)) == 12


def test_handover_keeps_the_place_and_carries_the_note(store):
    first = _add(store, 1, 100.0, at=T0 - timedelta(minutes=30))
    _claim(store, agent="a")
    new = store.handover(
        first.entry_id, agent="a", to_team="billing", channel="phone", note="wants a call", now=T0
    )
    assert store.get(first.entry_id).status == EntryStatus.HANDED_OVER
    assert (new.team, new.channel, new.note, new.case_id) == (
        "billing",
        "phone",
        "wants a call",
        first.case_id,
    )
    assert new.arrived_at == first.arrived_at and new.complaint["channel"] == "phone"
    assert [e.entry_id for e in store.case(first.case_id)] == [first.entry_id, new.entry_id]
    assert _claim(store, agent="b", team="billing").entry_id == new.entry_id


def test_only_the_claiming_agent_settles(store):
    e = _add(store, 1, 100.0)
    with pytest.raises(QueueStateError, match="not claimed"):
        store.finish(e.entry_id, agent="a", outcome="accepted")
    _claim(store, agent="a")
    with pytest.raises(QueueStateError, match="another agent"):
        store.finish(e.entry_id, agent="b", outcome="accepted")
    assert store.finish(e.entry_id, agent="a", outcome="accepted").status == EntryStatus.CLOSED
    with pytest.raises(QueueEntryNotFoundError):
        store.get("nope")


def test_a_callback_leaves_the_queue_and_comes_back_when_due(store):
    e = _add(store, 1, 100.0)
    _claim(store, agent="a")
    slot = T0 + timedelta(hours=1)
    store.schedule_callback(
        e.entry_id, agent="a", slot_start=slot, slot_end=None, channel="phone", note="n", now=T0
    )
    ranked, later, _ = store.ranked("care", rules=RULES, now=T0 + timedelta(minutes=59))
    assert ranked == [] and [x.entry_id for x in later] == [e.entry_id]
    assert _claim(store, agent="b", at=T0 + timedelta(minutes=59)) is None
    ranked, later, _ = store.ranked("care", rules=RULES, now=slot)
    assert [r.entry.entry_id for r in ranked] == [e.entry_id] and later == []
    assert ranked[0].entry.callback_due(slot)
    back = _claim(store, agent="b", at=slot)
    assert back.entry_id == e.entry_id and back.channel == "phone"


def test_an_abandoned_claim_returns_after_claim_seconds(store):
    e = _add(store, 1, 100.0)
    _claim(store, agent="a")
    assert _claim(store, agent="b", at=T0 + timedelta(seconds=store.claim_seconds - 1)) is None
    late = T0 + timedelta(seconds=store.claim_seconds)
    assert _claim(store, agent="b", at=late).entry_id == e.entry_id


def test_expected_wait_counts_the_same_skill_ahead(store):
    for n in range(3):
        _add(store, n, 100.0 - n)
    _add(store, 9, 5.0, skill="service_outage")
    ranked, _, capacity = store.ranked("care", rules=RULES, now=T0)
    h = RULES.handle_seconds
    assert capacity == {"n_agents": 1.0, "handle_seconds": h}
    assert [r.expected_wait_seconds for r in ranked] == [h, 2 * h, 3 * h, h]
    assert [r.position for r in ranked] == [1, 2, 3, 4]
