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


# ---------------------------------------------------------------- issue 22: my work, a
# queue that explains itself, cases opened out of turn, handover to a named colleague

ADMIN_KEY = {"X-API-Key": "admin-key"}


def test_mine_lists_the_cases_an_agent_holds_and_who_the_key_says_they_are(qclient, complaints):
    _budget(qclient)
    for c in complaints[:3]:
        _enter(qclient, c)
    empty = qclient.get("/v1/queue/mine", headers=AGENT)
    assert empty.status_code == 200, empty.text
    me = empty.json()["agent"]
    assert me["agent_id"].startswith("key:") and me["roles"] == ["agent"]
    assert me["supervisor"] is False and empty.json()["entries"] == []
    first = qclient.post("/v1/queue/next", json={"team": "care"}, headers=AGENT).json()
    second = qclient.post("/v1/queue/next", json={"team": "care"}, headers=AGENT).json()
    theirs = qclient.post("/v1/queue/next", json={"team": "care"}, headers=SECOND).json()
    mine = qclient.get("/v1/queue/mine", headers=AGENT).json()["entries"]
    assert [e["entry_id"] for e in mine] == [
        first["entry"]["entry_id"],
        second["entry"]["entry_id"],
    ]
    assert all(e["status"] == "claimed" for e in mine)
    other = qclient.get("/v1/queue/mine", headers=SECOND).json()["entries"]
    assert [e["entry_id"] for e in other] == [theirs["entry"]["entry_id"]]
    # a settled case leaves the list
    qclient.post(
        f"/v1/queue/{first['entry']['entry_id']}/decision",
        json={"action": "declined"},
        headers=AGENT,
    )
    left = qclient.get("/v1/queue/mine", headers=AGENT).json()["entries"]
    assert [e["entry_id"] for e in left] == [second["entry"]["entry_id"]]
    assert qclient.get("/v1/queue/mine", headers={"X-API-Key": "finance-key"}).status_code == 403


def test_queue_rows_say_who_what_and_why_first(qclient, complaints):
    for c in complaints[:4]:
        _enter(qclient, {**c, "emotion": None} if c.get("complaint_text") else c)
    q = qclient.get("/v1/queue", params={"team": "care"}, headers=AGENT).json()
    for e in q["entries"]:
        why = e["why_first"]
        assert why["value_at_risk"] == e["value_at_risk"]
        assert why["priority"] == pytest.approx(why["value_at_risk"] + why["ageing"], abs=0.02)
        assert why["ageing"] == pytest.approx(
            why["ageing_per_minute"] * why["waited_seconds"] / 60, abs=0.02
        )
        assert e["priority"] == pytest.approx(why["priority"], abs=0.02)
        assert len(e["snippet"]) <= 120
        words = " ".join(e["complaint_text"].split())
        assert words.startswith(e["snippet"].rstrip("\u2026").rstrip(" ,.;:"))
        if e["complaint_text"].strip():  # no emotion given: read from the text
            assert e["emotion"] in {"calm", "confused", "anxious", "frustrated", "angry"}
            assert e["emotion_from_text"] is True
        else:
            assert e["emotion"] is None and e["emotion_from_text"] is False


def test_a_case_opens_out_of_turn_only_with_its_skill_or_for_a_supervisor(qclient, complaints):
    _budget(qclient)
    outage = _enter(qclient, {**complaints[0], "issue_type": "service_outage"})["entry"]
    billing = _enter(qclient, {**complaints[1], "issue_type": "billing_error"})["entry"]
    url = f"/v1/queue/{outage['entry_id']}/open"
    refused = qclient.post(url, json={"skills": ["billing_error"]}, headers=AGENT)
    assert refused.status_code == 403 and "service_outage" in refused.json()["detail"]
    got = qclient.post(
        url, json={"skills": ["billing_error"], "backup_skills": ["service_outage"]}, headers=AGENT
    )
    assert got.status_code == 200, got.text
    got = got.json()
    assert got["entry"]["entry_id"] == outage["entry_id"] and got["entry"]["status"] == "claimed"
    assert got["recommendation"]["complaint_id"] == outage["complaint_id"]
    # opened again by its agent: the same case, nothing reserved again
    again = qclient.post(url, json={"backup_skills": ["service_outage"]}, headers=AGENT).json()
    assert again["recommendation"]["decision_id"] == got["recommendation"]["decision_id"]
    # another agent cannot take it from them; a supervisor opens any waiting case
    taken = qclient.post(url, json={}, headers=SECOND)
    assert taken.status_code == 409
    boss = qclient.post(f"/v1/queue/{billing['entry_id']}/open", json={}, headers=ADMIN_KEY)
    assert boss.status_code == 200, boss.text
    assert qclient.post("/v1/queue/nope/open", json={}, headers=AGENT).status_code == 404


def test_customer_search_finds_the_open_entries_of_a_customer(qclient, complaints):
    a = _enter(qclient, complaints[0])["entry"]
    _enter(qclient, complaints[1])
    part = a["customer_id"][1:-1] if len(a["customer_id"]) > 2 else a["customer_id"]
    r = qclient.get(
        "/v1/queue/search", params={"team": "care", "customer": part.upper()}, headers=AGENT
    )
    assert r.status_code == 200, r.text
    found = r.json()["entries"]
    assert a["entry_id"] in {e["entry_id"] for e in found}
    assert all(part.lower() in e["customer_id"].lower() for e in found)
    none = qclient.get(
        "/v1/queue/search", params={"team": "care", "customer": "no-such-customer"}, headers=AGENT
    )
    assert none.json()["entries"] == []
    assert (
        qclient.get("/v1/queue/search", params={"customer": ""}, headers=AGENT).status_code == 422
    )


def test_a_case_handed_to_a_named_colleague_lands_in_their_open_cases(qclient, complaints):
    _budget(qclient)
    for c in complaints[:3]:
        _enter(qclient, c)
    # the colleague took a case of the team before: they are known by name
    theirs = qclient.post(
        "/v1/queue/next", json={"team": "care", "agent_name": "Sam"}, headers=SECOND
    ).json()
    qclient.post(
        f"/v1/queue/{theirs['entry']['entry_id']}/decision",
        json={"action": "declined"},
        headers=SECOND,
    )
    mine = qclient.post(
        "/v1/queue/next", json={"team": "care", "agent_name": "Alex"}, headers=AGENT
    ).json()
    people = qclient.get("/v1/queue/colleagues", params={"team": "care"}, headers=AGENT).json()
    sam = next(c for c in people["colleagues"] if c["name"] == "Sam")
    assert sam["you"] is False
    assert next(c for c in people["colleagues"] if c["name"] == "Alex")["you"] is True
    url = f"/v1/queue/{mine['entry']['entry_id']}/handover"
    bad = qclient.post(url, json={"note": "n", "to_agent": "key:nobody"}, headers=AGENT)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to_agent"
    note = "Promised a call back about the refund; please confirm it."
    r = qclient.post(url, json={"note": note, "to_agent": sam["agent_id"]}, headers=AGENT)
    assert r.status_code == 200, r.text
    new = r.json()["entry"]
    assert new["status"] == "claimed" and new["agent_name"] == "Sam"
    assert (new["note"], new["from_agent"]) == (note, "Alex")
    # not in the queue for anyone else; in Sam's open cases, and it opens with the case
    q = qclient.get("/v1/queue", params={"team": "care"}, headers=AGENT).json()
    assert new["entry_id"] not in {e["entry_id"] for e in q["entries"]}
    held = qclient.get("/v1/queue/mine", headers=SECOND).json()["entries"]
    assert [e["entry_id"] for e in held] == [new["entry_id"]]
    opened = qclient.get(f"/v1/queue/{new['entry_id']}", headers=SECOND)
    assert opened.status_code == 200, opened.text
    case = opened.json()["recommendation"]["case"]
    assert [h["note"] for h in case["handovers"]] == [note]
    done = qclient.post(
        f"/v1/queue/{new['entry_id']}/decision", json={"action": "accepted"}, headers=SECOND
    )
    assert done.status_code == 200, done.text


def test_accept_keeps_the_wrap_up_code_and_note_with_the_decision(qclient, complaints):
    _budget(qclient)
    entry = _enter(qclient, complaints[0])["entry"]
    got = qclient.post("/v1/queue/next", json={"team": "care"}, headers=AGENT).json()
    r = qclient.post(
        f"/v1/queue/{got['entry']['entry_id']}/decision",
        json={"action": "accepted", "wrap_up_code": "resolved", "notes": "Happy with the refund."},
        headers=AGENT,
    )
    assert r.status_code == 200, r.text
    service = qclient.app.state.service
    decision_id = got["recommendation"]["decision_id"]
    live = service.contacts.customer(entry["customer_id"])
    contact = next(c for c in live.contacts if c.contact_id == decision_id)
    # the code is stored with the decision (exported with the history), the note with the contact
    assert service.ledger.get_decision(decision_id).wrap_up_code == "resolved"
    assert "Happy with the refund." in (contact.notes or "")
    bad = qclient.post(
        f"/v1/queue/{got['entry']['entry_id']}/decision",
        json={"action": "accepted", "wrap_up_code": "not a label!"},
        headers=AGENT,
    )
    assert bad.status_code == 422


def test_customer_search_reads_wildcards_literally(qclient, complaints):
    a = _enter(qclient, {**complaints[0], "customer_id": "Cust_42"})["entry"]
    _enter(qclient, {**complaints[1], "customer_id": "custX42"})
    search = "/v1/queue/search"
    got = qclient.get(search, params={"team": "care", "customer": "T_4"}, headers=AGENT).json()
    assert [e["entry_id"] for e in got["entries"]] == [a["entry_id"]]
    none = qclient.get(search, params={"team": "care", "customer": "%"}, headers=AGENT).json()
    assert none["entries"] == []
