"""The agents' queue over HTTP: contacts in, next case out, settle, hand over, call back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apihelpers import ADMIN, KEYS, period_now, unique

SECOND = {"X-API-Key": "agent-two"}
AGENT = {"X-API-Key": "agent-key"}


@pytest.fixture
def qclient(make_client):
    keys = {**KEYS, "agent-two": "agent"}
    return make_client(
        api_keys=",".join(f"{k}:{r}" for k, r in keys.items()), shadow_price=0.0, exploration=0.0
    )


def _enter(client, body, team="care", headers=AGENT, **extra):
    r = client.post(
        "/v1/contacts", json={"complaint": unique(body), "team": team, **extra}, headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def _budget(client, amount=10_000.0, team="care"):
    r = client.post(
        "/v1/budget", json={"period": period_now(), "amount": amount, "team": team}, headers=ADMIN
    )
    assert r.status_code == 200, r.text


def test_contacts_are_queued_by_value_at_risk_across_channels(qclient, complaints):
    entered = [_enter(qclient, c)["entry"] for c in complaints[:6]]
    assert len({e["channel"] for e in entered}) > 1
    q = qclient.get("/v1/queue", params={"team": "care"}, headers=AGENT).json()
    assert q["n_waiting"] == 6 and [e["position"] for e in q["entries"]] == list(range(1, 7))
    var = [e["value_at_risk"] for e in q["entries"]]
    assert var == sorted(var, reverse=True)  # same age (give or take a second): by VaR
    assert all(e["value_at_risk"] >= 0 and e["expected_wait_seconds"] > 0 for e in q["entries"])
    # value at risk is lifetime value x churn under the baseline, from the scorer
    e = q["entries"][0]
    assert e["value_at_risk"] == pytest.approx(
        e["lifetime_value"] * e["baseline_churn_probability"], abs=0.02
    )


def test_next_claims_serves_and_settles_and_the_budget_follows(qclient, complaints):
    _budget(qclient)
    for c in complaints[:3]:
        _enter(qclient, c)
    top = qclient.get("/v1/queue", params={"team": "care"}, headers=AGENT).json()["entries"][0]
    out = qclient.post("/v1/queue/next", json={"team": "care"}, headers=AGENT)
    assert out.status_code == 200, out.text
    out = out.json()
    assert out["entry"]["entry_id"] == top["entry_id"] and out["entry"]["status"] == "claimed"
    rec = out["recommendation"]
    assert rec["complaint_id"] == top["complaint_id"] and rec["candidates"]
    assert out["budget"]["team"] == "care" and len(out["callback_slots"]) == 6
    assert rec["case"]["new"] is True
    other = qclient.post("/v1/queue/next", json={"team": "care"}, headers=SECOND).json()
    assert other["entry"]["entry_id"] != top["entry_id"]
    # the second agent may not settle the first one's case
    r = qclient.post(
        f"/v1/queue/{top['entry_id']}/decision", json={"action": "accepted"}, headers=SECOND
    )
    assert r.status_code == 409 and "another agent" in r.json()["detail"]
    done = qclient.post(
        f"/v1/queue/{top['entry_id']}/decision", json={"action": "accepted"}, headers=AGENT
    )
    assert done.status_code == 200, done.text
    done = done.json()
    assert done["entry"]["status"] == "closed" and done["decision"]["status"] == "committed"
    paid = rec["recommended"]["compensation"]
    assert done["budget"]["committed"] == pytest.approx(paid)
    assert done["budget"]["remaining"] == pytest.approx(10_000.0 - paid)
    q = qclient.get("/v1/queue", params={"team": "care"}, headers=AGENT).json()
    assert top["entry_id"] not in {e["entry_id"] for e in q["entries"]}


def test_handover_reaches_the_other_team_with_the_note_and_the_case(qclient, complaints):
    _budget(qclient, team="care")
    _budget(qclient, team="billing")
    _enter(qclient, complaints[0])
    first = qclient.post(
        "/v1/queue/next", json={"team": "care", "agent_name": "Alex"}, headers=AGENT
    ).json()
    rec = first["recommendation"]
    note = "refund offered; wants a call"
    r = qclient.post(
        f"/v1/queue/{first['entry']['entry_id']}/handover",
        json={"team": "billing", "channel": "phone", "note": note, "next_step": "confirm by phone"},
        headers=AGENT,
    )
    assert r.status_code == 200, r.text
    q = qclient.get("/v1/queue", params={"team": "billing"}, headers=SECOND).json()
    assert [e["note"] for e in q["entries"]] == [note]
    nxt = qclient.post("/v1/queue/next", json={"team": "billing"}, headers=SECOND).json()
    entry = nxt["entry"]
    assert entry["note"] == note and entry["channel"] == "phone"
    assert (entry["from_team"], entry["from_agent"]) == ("care", "Alex")
    # the service's case: the earlier contact, what it offered, the handover note
    case = nxt["recommendation"]["case"]
    assert case["case_id"] == rec["case"]["case_id"] == entry["case_id"]
    assert [h["note"] for h in case["handovers"]] == [note]
    assert case["next_step"] == "confirm by phone"
    assert [o["resolution"] for o in case["offers"]] == [rec["recommended"]["resolution"]]
    assert len(case["contacts"]) == 1 and case["contacts"][0]["channel"] == rec_channel(first)


def rec_channel(answer: dict) -> str:
    return answer["entry"]["channel"]


def test_skills_route_cases_and_nothing_servable_answers_empty(qclient, complaints):
    body = {**complaints[0], "issue_type": "fee_dispute"}
    _enter(qclient, body)
    none = qclient.post(
        "/v1/queue/next", json={"team": "care", "skills": ["service_outage"]}, headers=AGENT
    )
    assert none.status_code == 200 and none.json()["entry"] is None
    assert none.json()["n_waiting"] == 1
    got = qclient.post(
        "/v1/queue/next", json={"team": "care", "skills": ["fee_dispute"]}, headers=AGENT
    ).json()
    assert got["entry"]["skill"] == "fee_dispute"


def test_a_long_wait_offers_a_callback_and_the_callback_is_stored(make_client, complaints):
    client = make_client(queue_callback_after_seconds=500.0, queue_handle_seconds=300.0)
    first = _enter(client, complaints[0])
    assert first["callback"]["offered"] is False  # one ahead of nobody: 300 s
    same = {**complaints[1], "issue_type": complaints[0]["issue_type"]}
    second = _enter(client, same)
    third = _enter(client, same)
    offers = [x["callback"] for x in (second, third)]
    assert any(o["offered"] for o in offers)
    offer = next(o for o in offers if o["offered"])
    assert offer["expected_wait_seconds"] > 500 and len(offer["slots"]) == 3
    slot = offer["slots"][0]
    entry_id = (second if second["callback"]["offered"] else third)["entry"]["entry_id"]
    r = client.post(
        f"/v1/queue/{entry_id}/callback",
        params={"by_customer": True},
        json={"slot_start": slot["start"], "slot_end": slot["end"]},
        headers=AGENT,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "scheduled" and r.json()["channel"] == "phone"
    q = client.get("/v1/queue", params={"team": "care"}, headers=AGENT).json()
    assert entry_id in {e["entry_id"] for e in q["callbacks"]}
    assert entry_id not in {e["entry_id"] for e in q["entries"]}


def test_callback_slots_are_checked(qclient, complaints):
    _enter(qclient, complaints[0])
    got = qclient.post("/v1/queue/next", json={"team": "care"}, headers=AGENT).json()
    url = f"/v1/queue/{got['entry']['entry_id']}/callback"
    now = datetime.now(UTC)
    r = qclient.post(url, json={"slot_start": (now - timedelta(days=1)).isoformat()}, headers=AGENT)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "slot_start"
    r = qclient.post(
        url,
        json={
            "slot_start": (now + timedelta(hours=2)).isoformat(),
            "slot_end": (now + timedelta(hours=1)).isoformat(),
        },
        headers=AGENT,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "slot_end"


def test_unknown_entries_and_keys(qclient):
    r = qclient.post("/v1/queue/nope/release", headers=AGENT)
    assert r.status_code == 404
    assert qclient.get("/v1/queue", headers={"X-API-Key": "wrong"}).status_code == 401
    assert qclient.get("/v1/queue", headers={"X-API-Key": "finance-key"}).status_code == 403


def test_console_page_and_assets_come_from_the_server_only(qclient):
    page = qclient.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("console.js", "console.css"):
        r = qclient.get(f"/console/static/{asset}")
        assert r.status_code == 200 and len(r.text) > 1000
        assert "http://" not in r.text and "https://" not in r.text
    assert "/console" not in qclient.get("/openapi.json").json()["paths"]


def test_a_taken_case_can_be_reopened_by_its_agent_only(qclient, complaints):
    _budget(qclient)
    _enter(qclient, complaints[0])
    got = qclient.post("/v1/queue/next", json={"team": "care"}, headers=AGENT).json()
    entry_id = got["entry"]["entry_id"]
    again = qclient.get(f"/v1/queue/{entry_id}", headers=AGENT)
    assert again.status_code == 200, again.text
    rec = again.json()["recommendation"]
    assert rec["decision_id"] == got["recommendation"]["decision_id"] and rec["replayed"]
    assert again.json()["budget"]["reserved"] == got["budget"]["reserved"]  # nothing more held
    assert qclient.get(f"/v1/queue/{entry_id}", headers=SECOND).status_code == 409
    assert qclient.get("/v1/queue/nope", headers=AGENT).status_code == 404
