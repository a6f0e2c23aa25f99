"""Live customer memory through the API: cases across channels, warm handovers,
newcomers remembered, holds that follow decisions, idempotency as payment APIs define
it, team-bound keys and inputs checked against what the model knows.

The channel-switch story runs on SQLite and on PostgreSQL (MAKEGOOD_TEST_DATABASE_URL).
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from apihelpers import ADMIN, AGENT, FINANCE, KEYS, period_now, unique
from fastapi.testclient import TestClient

from dbtesting import BACKENDS, database
from makegood.serving.app import create_app
from makegood.serving.customers import complaint_fields
from makegood.store.ledger import Ledger

PROFILE = ("tenure_months", "annual_value", "lifetime_value", "segment", "prior_complaints_12m")


def _budget(client, amount, **extra):
    r = client.put(
        "/v1/budget", json={"period": period_now(), "amount": amount, **extra}, headers=ADMIN
    )
    assert r.status_code == 200, r.text


def _recommend(client, body, headers=AGENT, **extra):
    return client.post("/v1/recommendations", json={"complaint": body, **extra}, headers=headers)


@pytest.fixture(params=BACKENDS)
def db_client(request, settings, tmp_path):
    """A client on SQLite, or on PostgreSQL in a schema of its own."""
    with database(request.param, tmp_path, "makegood_mem") as (url, schema):
        changes = {"exploration": 0.0, "shadow_price": 0.0, "database_url": url}
        changes["database_schema"] = schema
        with TestClient(create_app(settings.model_copy(update=changes))) as client:
            yield client


def _costly_contact(client, complaints, **body_changes):
    """The first complaint (of a fresh customer) whose recommendation carries money."""
    for i, body in enumerate(complaints[:60]):
        body = {**unique(body), "customer_id": f"switch-{i}-{time.time_ns()}", **body_changes}
        out = _recommend(client, body).json()
        if out["recommended"]["compensation"] > 0:
            return body, out
        client.post(f"/v1/decisions/{out['decision_id']}", json={"action": "declined"},
                    headers=AGENT)  # fmt: skip
    pytest.skip("no complaint of the small world was recommended any compensation")


def test_the_channel_switch_story(db_client, complaints):
    """Chat, accept, hand over to phone; the phone call a minute later sees the case,
    the earlier offer and the handover, and nothing is reserved a second time."""
    client = db_client
    _budget(client, 5_000)
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    chat_body, chat = _costly_contact(
        client,
        complaints,
        channel="chat",
        opened_at=opened.isoformat(),
        complaint_text="You charged me twice. I want my money back.",
    )
    given = chat["recommended"]["compensation"]
    assert chat["case"]["new"] is True
    assert chat["budget"]["reserved"] == pytest.approx(given)
    accept = client.post(f"/v1/decisions/{chat['decision_id']}",
                         json={"action": "accepted", "notes": "refund agreed on chat"},
                         headers=AGENT)  # fmt: skip
    assert accept.status_code == 200 and accept.json()["status"] == "committed"
    handover = {
        "decision_id": chat["decision_id"],
        "to_channel": "phone",
        "to_team": "billing",
        "note": "wants confirmation by phone",
        "next_step": "confirm the refund by phone",
    }
    hand = client.post("/v1/handovers", headers=AGENT, json=handover)
    assert hand.status_code == 200, hand.text
    h = hand.json()
    assert h["case_id"] == chat["case"]["case_id"]
    assert h["summary"].startswith("contacted us on chat about a ")
    assert "given" in h["summary"] and h["summary"].endswith("wants confirmation by phone")
    assert h["greeting"].startswith("Welcome back") and "chat" in h["greeting"]

    before = client.get("/v1/budget", headers=FINANCE).json()
    phone_body = {  # a minute later, on the phone, no profile fields: the service knows them
        k: v for k, v in chat_body.items() if k not in PROFILE and k != "digital_skill"
    }
    phone_body.update(
        complaint_id=f"{chat_body['complaint_id']}-phone",
        channel="phone",
        opened_at=(opened + timedelta(minutes=1)).isoformat(),
        complaint_text="Calling about the double charge from the chat.",
    )
    r = _recommend(client, phone_body)
    assert r.status_code == 200, r.text
    phone = r.json()
    case = phone["case"]
    assert case["case_id"] == chat["case"]["case_id"] and case["new"] is False
    assert [c["channel"] for c in case["contacts"]] == ["chat"]
    assert case["contacts"][0]["said"].startswith("You charged me twice")
    assert case["contacts"][0]["notes"] == "refund agreed on chat"
    (offer,) = case["offers"]
    assert offer["status"] == "given" and offer["compensation"] == pytest.approx(given)
    assert offer["resolution"] == chat["recommended"]["resolution"] and offer["agent"]
    (handover,) = case["handovers"]
    assert handover["note"] == "wants confirmation by phone" and handover["to_channel"] == "phone"
    assert case["next_step"] == "confirm the refund by phone"
    assert case["compensation_given"] == pytest.approx(given)
    # nothing reserved twice: only what the new recommendation adds beyond the case
    comp = phone["recommended"]["compensation"]
    assert phone["budget"]["reserved"] == pytest.approx(max(0.0, comp - given))
    assert phone["budget"]["covered_by_case"] == pytest.approx(min(comp, given))
    after = client.get("/v1/budget", headers=FINANCE).json()
    assert after["held"] - before["held"] == pytest.approx(phone["budget"]["reserved"])
    assert after["committed"] == pytest.approx(before["committed"])
    # the customer view and the greeting know the chat of a minute ago
    assert phone["customer"]["recent"][0]["source"] == "live"
    assert phone["customer"]["recent"][0]["channel"] == "chat"
    assert "minutes ago on chat" in phone["customer"]["greeting"]
    view = client.get(f"/v1/customers/{chat_body['customer_id']}", headers=AGENT).json()
    assert view["known"] and [c["case_id"] for c in view["open_cases"]] == [case["case_id"]]
    assert {i["source"] for i in view["recent"]} == {"live"}


def test_an_override_reason_reserves_the_case_again(make_client, complaints):
    client = make_client(exploration=0.0, shadow_price=0.0)
    _budget(client, 5_000)
    body, first = _costly_contact(client, complaints)
    again = {**body, "complaint_id": body["complaint_id"] + "-2"}
    second = _recommend(client, again, case_override_reason="a second, separate charge").json()
    assert second["case"]["case_id"] == first["case"]["case_id"]
    assert second["budget"]["reserved"] == second["recommended"]["compensation"]
    assert second["case"]["compensation_held"] == pytest.approx(first["budget"]["reserved"])


def test_an_explicit_case_id_must_be_the_customers(client, complaints):
    r = _recommend(client, unique(complaints[0]), case_id="no-such-case")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "case_id"


def test_a_newcomers_second_complaint_needs_no_profile(client, complaints):
    first = {**unique(complaints[0]), "customer_id": f"newcomer-{time.time_ns()}"}
    first.update(tenure_months=1, annual_value=240.0, lifetime_value=900.0, segment="standard")
    assert _recommend(client, first).status_code == 200
    second = {k: v for k, v in first.items() if k not in PROFILE and k != "digital_skill"}
    second.update(complaint_id=first["complaint_id"] + "-2", issue_type="service_outage")
    r = _recommend(client, second)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["customer"]["profile"]["lifetime_value"] == 900.0
    assert out["customer"]["profile"]["tenure_months"] == 1
    assert out["priority"]["lifetime_value"] == 900.0  # the model was given the profile
    assert out["case"]["new"] is True  # another issue type: another case


def test_holds_are_brief_and_lapsed_holds_return_to_the_budget(make_client, complaints):
    client = make_client(reservation_ttl_seconds=1.0, offer_ttl_seconds=600.0,
                         exploration=0.0, shadow_price=0.0)  # fmt: skip
    _budget(client, 5_000)
    _, lapsing = _costly_contact(client, complaints)
    _, offered = _costly_contact(client, complaints[30:])
    r = client.post(f"/v1/decisions/{offered['decision_id']}", json={"action": "offered"},
                    headers=AGENT)  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "reserved"
    time.sleep(1.3)
    state = client.get("/v1/budget", headers=FINANCE).json()
    assert state["held"] == pytest.approx(offered["budget"]["reserved"])  # the lapsed one left
    assert state["available"] == pytest.approx(5_000 - state["held"] - state["committed"])
    assert state["by_team"][0]["team"] is None
    assert state["by_team"][0]["held"] == pytest.approx(state["held"])
    assert lapsing["budget"]["hold_expires_at"]
    accept = client.post(f"/v1/decisions/{offered['decision_id']}", json={"action": "accepted"},
                         headers=AGENT)  # fmt: skip
    assert accept.status_code == 200


def test_the_same_key_with_another_body_is_refused_and_the_same_body_replays(client, complaints):
    _budget(client, 5_000)
    body = unique(complaints[5])
    headers = {**AGENT, "Idempotency-Key": "pay-once"}
    first = _recommend(client, body, headers=headers)
    again = _recommend(client, body, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    replay = again.json()
    assert replay.pop("replayed") is True
    original = first.json()
    assert original.pop("replayed") is False
    assert replay == original  # the stored answer, exactly
    changed = _recommend(client, {**body, "disputed_amount": 400.0}, headers=headers)
    assert changed.status_code == 409
    assert "Idempotency-Key 'pay-once'" in changed.json()["detail"]
    state = client.get("/v1/budget", headers=FINANCE).json()
    assert state["held"] == pytest.approx(original["budget"]["reserved"])


def _spends_from_its_team(client, body, headers, team, *, other):
    """A team-bound key: naming ``other`` team is refused; its recommendation holds from
    ``team``'s budget, nothing from the company-wide one. Returns the recommendation."""
    refused = _recommend(client, unique(body), headers=headers, team=other)
    assert refused.status_code == 403 and "team" in refused.json()["detail"]
    out = _recommend(client, unique(body), headers=headers).json()
    assert out["budget"]["team"] == team
    teams = {b["team"]: b for b in client.get("/v1/budget", headers=FINANCE).json()["by_team"]}
    assert teams[team]["held"] == pytest.approx(out["budget"]["reserved"])
    assert teams[None]["held"] == 0
    return out


def test_a_key_bound_to_a_team_spends_from_that_teams_budget_only(make_client, complaints):
    client = make_client(api_keys=",".join([*(f"{k}:{r}" for k, r in KEYS.items()),
                                            "billing-key:agent@billing"]))  # fmt: skip
    _budget(client, 5_000)
    _budget(client, 300, team="billing")
    billing = {"X-API-Key": "billing-key"}
    out = _spends_from_its_team(client, complaints[6], billing, "billing", other="retention")
    # a decision of no team (an unbound key's) is not the billing key's to read or settle
    theirs = _recommend(client, unique(complaints[7])).json()["decision_id"]
    path = f"/v1/decisions/{theirs}"
    for r in (
        client.get(path, headers=billing),
        client.post(path, json={"action": "accepted"}, headers=billing),
        client.post(
            "/v1/outcomes", json={"decision_id": theirs, "churned_90d": True}, headers=billing
        ),  # fmt: skip
    ):
        assert r.status_code == 403, r.text
        assert "decision_id" in r.json()["detail"] and "billing" in r.json()["detail"]
    assert client.get(path, headers=AGENT).json()["status"] == "reserved"  # untouched
    mine = client.post(f"/v1/decisions/{out['decision_id']}", json={"action": "accepted"},
                       headers=billing)  # fmt: skip
    assert mine.status_code == 200 and mine.json()["status"] == "committed"


def test_unseen_categories_are_flagged_and_the_far_future_refused(client, complaints):
    body = {**unique(complaints[7]), "issue_type": "alien_invasion", "channel": "pigeon"}
    r = _recommend(client, body)
    assert r.status_code == 200, r.text
    flagged = {w["field"]: w for w in r.json()["input_warnings"]}
    assert set(flagged) >= {"complaint.issue_type", "complaint.channel"}
    assert (
        flagged["complaint.issue_type"]["message"] == "not seen in training: estimates extrapolate"
    )
    assert not _recommend(client, unique(complaints[7])).json()["input_warnings"]
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = _recommend(client, {**unique(complaints[7]), "opened_at": future})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "complaint.opened_at"
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()  # clocks differ a little
    assert _recommend(client, {**unique(complaints[7]), "opened_at": soon}).status_code == 200


def test_a_version_is_a_name_and_a_vanished_pin_falls_back(make_client, trained, caplog):
    client = make_client()
    for bad in ("../models", "a/b", ".."):
        r = client.post("/v1/model/reload", json={"version": bad}, headers=ADMIN)
        assert r.status_code == 422, (bad, r.text)
    version = client.get("/v1/model", headers=ADMIN).json()["version"]
    ledger_url = client.app.state.settings.database_url
    with Ledger(ledger_url) as ledger, ledger._engine.begin() as conn:
        conn.exec_driver_sql("UPDATE serving_model SET version = 'gone-1'")
        if not conn.exec_driver_sql("SELECT count(*) FROM serving_model").scalar():
            conn.exec_driver_sql(
                "INSERT INTO serving_model VALUES (1, 'gone-1', '2026-01-01 00:00:00')"
            )
    restarted = make_client()  # the pin names a folder that is gone: serve the latest
    assert restarted.get("/v1/model", headers=ADMIN).json()["version"] == version
    assert any("gone-1" in rec.getMessage() for rec in caplog.records)


def test_export_history_writes_live_contacts_in_contract_form(client, complaints, tmp_path):
    from makegood.contract.files import read_history
    from makegood.serving.export import export_history

    _budget(client, 5_000)
    out = _recommend(client, unique(complaints[8])).json()
    wrap_up = {"wrap_up_code": "Resolved", "note": "refund confirmed, customer happy"}
    done = client.post(f"/v1/decisions/{out['decision_id']}",
                       json={"action": "accepted", **wrap_up}, headers=AGENT)  # fmt: skip
    assert done.status_code == 200, done.text
    assert (done.json()["wrap_up_code"], done.json()["note"]) == ("resolved", wrap_up["note"])
    client.post("/v1/outcomes", json={"decision_id": out["decision_id"], "satisfaction": 7,
                                      "churned_90d": False}, headers=AGENT)  # fmt: skip
    url = client.app.state.settings.database_url
    n, _ = export_history(url, tmp_path / "served.csv")
    frame = read_history(tmp_path / "served.csv")
    assert n == 1 and frame["complaint_id"].tolist() == [out["complaint_id"]]
    assert Decimal(str(frame["compensation"].iloc[0])) == Decimal(
        str(out["recommended"]["compensation"])
    )
    assert frame["wrap_up_code"].tolist() == ["resolved"]
    assert frame["wrap_up_note"].tolist() == [wrap_up["note"]]


def test_a_contact_a_minute_ago_counts_in_the_models_memory(client, complaints):
    """The next contact's customer-memory features include the live contact (CORE's
    memory function with the contacts as extra earlier rows)."""
    _budget(client, 5_000)
    opened = datetime.now(UTC).replace(microsecond=0, tzinfo=None) - timedelta(minutes=2)
    body = {**unique(complaints[9]), "customer_id": f"mem-{time.time_ns()}",
            "opened_at": opened.isoformat()}  # fmt: skip
    first = _recommend(client, body).json()
    client.post(f"/v1/decisions/{first['decision_id']}", json={"action": "accepted"},
                headers=AGENT)  # fmt: skip
    service, scorer = client.app.state.service, client.app.state.models.current
    live = service.contacts.customer(body["customer_id"])
    nxt = complaint_fields(
        service,
        scorer,
        {**body, "complaint_id": "next", "opened_at": opened + timedelta(minutes=1)},
        live,
    )
    cold = scorer.score(nxt).values
    warm = scorer.score(nxt, earlier=live.history_rows()).values
    assert (cold["mem_n_prior"], warm["mem_n_prior"]) == (0, 1)
    assert warm["mem_days_since_last"] == pytest.approx(1 / 1440)
    assert warm["mem_last_resolution"] == first["recommended"]["resolution"]
    assert warm["mem_last_compensation"] == pytest.approx(first["recommended"]["compensation"])
    assert warm["mem_repeat_issue"] == 1


def test_simultaneous_first_contacts_open_one_case_and_hold_once(db_client, complaints):
    """Two contacts of a new customer about one problem, decided at once (both read an
    empty memory): the second to reserve finds the first's contact, decides again, joins
    its case and holds nothing twice."""
    from makegood.serving.plans import RecommendationRequest
    from makegood.serving.recommendations import plan, reserve
    from makegood.serving.schemas import RecommendationIn

    client = db_client
    _budget(client, 5_000)
    service = client.app.state.service
    scorer = client.app.state.models.current
    for i, base in enumerate(complaints[:60]):
        customer = f"race-{i}-{time.time_ns()}"
        bodies = [
            {**unique(base), "customer_id": customer, "channel": channel}
            for channel in ("chat", "phone")
        ]
        plans = [
            plan(
                service,
                scorer,
                RecommendationRequest(
                    complaint=RecommendationIn.model_validate({"complaint": b}).complaint.fields()
                ),
            )
            for b in bodies
        ]
        if all(p.cand.compensation[p.choice] > 0 for p in plans):
            break
    else:
        pytest.skip("no complaint of the small world was recommended any compensation")
    assert all(p.case.new for p in plans)  # neither saw the other
    first, second = (service.writes.run(reserve, service, p).answer for p in plans)
    assert first.case.new is True and first.budget.reserved > 0
    assert second.case.new is False
    assert second.case.case_id == first.case.case_id
    # the case holds its larger resolution once: the second holds only what exceeds the
    # first's hold (nothing when its re-decided choice costs no more)
    held = first.budget.reserved
    assert second.budget.covered_by_case == pytest.approx(held)
    assert second.budget.reserved == pytest.approx(max(0.0, second.recommended.compensation - held))
    seen = client.get(f"/v1/customers/{customer}", headers=AGENT).json()
    assert [c["case_id"] for c in seen["open_cases"]] == [first.case.case_id]


def test_a_contact_that_keeps_changing_answers_409(client, complaints, monkeypatch):
    """A customer whose contacts change on every attempt: decided again a bounded number
    of times, then 409 naming the concurrent contact, and nothing recorded."""
    from makegood.store.contacts import ContactBook

    body = {**unique(complaints[0]), "customer_id": f"busy-{time.time_ns()}"}
    real = ContactBook.record_contact
    calls = []

    def changing(self, conn, decision, record, now):
        calls.append(record.contacts_read)
        record = dataclasses.replace(record, contacts_read=-1)
        return real(self, conn, decision, record, now)

    monkeypatch.setattr(ContactBook, "record_contact", changing)
    r = _recommend(client, body)
    assert r.status_code == 409, r.text
    assert "concurrent contact" in r.json()["detail"], r.text
    monkeypatch.undo()
    seen = client.get(f"/v1/customers/{body['customer_id']}", headers=AGENT).json()
    assert seen["open_cases"] == [] and seen["recent"] == [] and len(calls) == 4


# --------------------------------------------------------------------------- issue 22


def test_a_customer_on_chat_and_phone_at_once_sees_the_other_contact_as_open(
    make_client, complaints
):
    """Chat and phone of one customer in the queue at once: the first case taken names
    the other contact waiting (never "first contact"); the second lists the first's
    offer as held, not given, in its open contacts, its timeline and its greeting."""
    keys = {**KEYS, "agent-two": "agent"}
    client = make_client(api_keys=",".join(f"{k}:{r}" for k, r in keys.items()),
                         exploration=0.0, shadow_price=0.0)  # fmt: skip
    team = f"k3-{time.time_ns()}"
    client.put("/v1/budget", json={"period": period_now(), "amount": 5_000, "team": team},
               headers=ADMIN)  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    customer = f"both-{time.time_ns()}"
    bodies = []
    for i, channel in enumerate(("chat", "phone")):
        body = {**unique(complaints[i]), "customer_id": customer, "channel": channel,
                "opened_at": (now - timedelta(minutes=2 - i)).isoformat()}  # fmt: skip
        r = client.post("/v1/contacts", json={"complaint": body, "team": team}, headers=AGENT)
        assert r.status_code == 201, r.text
        bodies.append(body)
    first = client.post("/v1/queue/next", json={"team": team}, headers=AGENT).json()
    rec = first["recommendation"]
    other = next(b for b in bodies if b["complaint_id"] != rec["complaint_id"])
    (waiting,) = rec["customer"]["open_contacts"]
    assert waiting["status"] == "waiting" and waiting["channel"] == other["channel"]
    assert "first contact" not in rec["customer"]["greeting"]
    assert f"a {other['channel']} contact" in rec["customer"]["greeting"]

    second = client.post("/v1/queue/next", json={"team": team},
                         headers={"X-API-Key": "agent-two"}).json()  # fmt: skip
    rec2 = second["recommendation"]
    assert rec2["complaint_id"] == other["complaint_id"]
    (held,) = rec2["customer"]["open_contacts"]
    assert held["status"] == "held" and held["contact_id"] == rec["decision_id"]
    assert held["resolution"] == rec["recommended"]["resolution"]
    assert held["held"] == pytest.approx(rec["budget"]["reserved"])
    (live,) = [i for i in rec2["customer"]["recent"] if i["source"] == "live"]
    assert live["offer_status"] == "held"
    assert "given" not in rec2["customer"]["greeting"].replace("not given", "")
    assert "not given" in rec2["customer"]["greeting"]
    for offer in (rec2["case"] or {}).get("offers", []):
        assert offer["status"] == "held"


def test_the_greeting_and_the_reasons_say_one_tenure(db_client, complaints):
    """The view's profile is the one the served complaint states: a tenure sent with the
    request is the greeting's, as it is the reasons'."""
    body = {**unique(complaints[3]), "customer_id": f"tenure-{time.time_ns()}",
            "tenure_months": 18}  # fmt: skip
    first = _recommend(db_client, body).json()
    assert "a customer for 18 months" in first["customer"]["greeting"]
    again = {**unique(body), "tenure_months": 30}
    out = _recommend(db_client, again).json()
    assert out["customer"]["profile"]["tenure_months"] == 30
    assert "a customer for 2 years" in out["customer"]["greeting"]
    texts = [r["text"] for r in out["explanation"]["reasons"] + out["explanation"]["against"]]
    assert not [t for t in texts if "a customer for" in t and "2 years" not in t]


AGENT_KEYS = {
    "k-ana": {"role": "agent", "name": "Ana", "team": "care",
              "skills": ["Billing_Error", "fee_dispute"], "backup_skills": ["service_outage"]},
    "k-old-team": {"roles": ["agent"], "team": "billing"},
    "k-list": ["agent", "finance"],
    "k-plain": "finance",
}  # fmt: skip


def test_keys_carry_the_agent_the_admin_configured(tmp_path):
    from makegood.errors import ConfigError
    from makegood.serving.security import ApiKeys, Role

    path = tmp_path / "keys.json"
    path.write_text(json.dumps(AGENT_KEYS))
    keys = ApiKeys.load("k-env:agent@retention,k-ana:finance", path)
    ana = keys.check("k-ana")
    assert ana is not None and ana.roles == {Role.AGENT, Role.FINANCE}  # both sources
    assert (ana.name, ana.team) == ("Ana", "care")
    assert ana.skills == ("billing_error", "fee_dispute")
    assert ana.backup_skills == ("service_outage",)
    old = keys.check("k-old-team")
    assert old is not None and (old.team, old.name, old.skills) == ("billing", None, ())
    assert keys.check("k-list").roles == {Role.AGENT, Role.FINANCE}
    assert keys.check("k-plain").roles == {Role.FINANCE}
    assert keys.check("k-env").team == "retention"
    assert keys.check("k-unknown") is None
    for bad, field in [
        ({"k": {"role": "agent", "skill": ["x"]}}, "skill"),
        ({"k": {"role": "agent", "skills": "billing_error"}}, "skills must be a list"),
        ({"k": {"role": "agent", "name": ""}}, "name must be"),
        ({"k": {"role": "boss"}}, "role must be one of"),
    ]:
        path.write_text(json.dumps(bad))
        with pytest.raises(ConfigError, match=field) as raised:
            ApiKeys.load(None, path)
        assert str(path) in str(raised.value)


def test_me_answers_the_key_and_a_team_bound_key_spends_from_its_team(
    make_client, complaints, tmp_path
):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({**AGENT_KEYS, **KEYS}))
    client = make_client(api_keys=None, api_keys_file=path, exploration=0.0, shadow_price=0.0)
    ana = {"X-API-Key": "k-ana"}
    me = client.get("/v1/me", headers=ana)
    assert me.status_code == 200, me.text
    assert {k: v for k, v in me.json().items() if k != "key_id"} == {
        "name": "Ana",
        "role": "agent",
        "roles": ["agent"],
        "team": "care",
        "skills": ["billing_error", "fee_dispute"],
        "backup_skills": ["service_outage"],
    }
    plain = client.get("/v1/me", headers={"X-API-Key": "k-plain"}).json()
    assert (plain["role"], plain["name"], plain["team"], plain["skills"]) == (
        "finance", None, None, [],
    )  # fmt: skip
    assert client.get("/v1/me", headers=ADMIN).json()["role"] == "admin"
    assert client.get("/v1/me").status_code == 401
    assert client.get("/v1/me", headers={"X-API-Key": "nope"}).status_code == 401
    _budget(client, 5_000)
    _budget(client, 300, team="care")
    _spends_from_its_team(client, complaints[6], ana, "care", other="billing")
