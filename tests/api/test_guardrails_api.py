"""The service under the catalog's guardrails (issue 26): what is owed is paid (beyond the
budget when it must be, marked owed in the answer, the ledger and the period report),
and no customer's window goes above the cap, counting the ledger's holds and commits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from apihelpers import ADMIN, AGENT, FINANCE, period_now

from guardedmodels import CAP, guarded_models_dir
from makegood.store.ledger import Ledger


@pytest.fixture(scope="module")
def guarded_models(trained, tmp_path_factory):
    return guarded_models_dir(trained["models_dir"], tmp_path_factory.mktemp("guarded"))


@pytest.fixture
def guarded(make_client, guarded_models):
    return make_client(models_dir=guarded_models)


def _budget(client, amount):
    r = client.put("/v1/budget", json={"period": period_now(), "amount": amount}, headers=ADMIN)
    assert r.status_code == 200, r.text


def _complaint(base: dict, customer: str, **fields) -> dict:
    body = {k: v for k, v in base.items() if k != "opened_at"}  # opened now
    return {**body, "complaint_id": f"c-{uuid.uuid4().hex[:10]}", "customer_id": customer, **fields}


def _post(client, body, **extra):
    r = client.post("/v1/recommendations", json={"complaint": body, **extra}, headers=AGENT)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_billing_error_gets_at_least_its_disputed_amount_marked_owed(
    guarded, complaints, settings
):
    _budget(guarded, 10_000)
    body = _complaint(complaints[0], f"cust-{uuid.uuid4().hex[:8]}", issue_type="billing_error",
                      disputed_amount=80.0, severity=2)  # fmt: skip
    out = _post(guarded, body)
    assert out["recommended"]["compensation"] >= 80.0
    assert all(c["compensation"] >= 80.0 for c in out["candidates"] if c["guardrail_allowed"])
    g = out["guardrail"]
    assert g["decided_by"] == "floor" and g["rule"] == "owed_is_refunded"
    assert g["reason"] == "refund owed: billing error (at least $80)"
    assert g["owed"] == 80.0 and out["budget"]["owed"] == 80.0 and not g["beyond_budget"]
    assert "Refund owed: billing error" in out["explanation"]["why"]
    with Ledger(settings.database_url) as ledger:
        d = ledger.get_decision(out["decision_id"])
    assert d.owed == Decimal("80.00") and d.budget_id is not None


def test_an_empty_budget_still_pays_what_is_owed_beyond_it(guarded, complaints, settings):
    _budget(guarded, 0)
    body = _complaint(complaints[1], f"cust-{uuid.uuid4().hex[:8]}", issue_type="fee_dispute",
                      disputed_amount=42.5)  # fmt: skip
    out = _post(guarded, body)
    assert out["status"] == "reserved"
    assert out["recommended"]["compensation"] == 42.5  # the cheapest that reaches the floor
    assert out["budget"]["reserved"] == 42.5 and out["budget"]["owed"] == 42.5
    assert out["guardrail"]["beyond_budget"] is True
    assert out["guardrail"]["reason"].endswith("given beyond the budget")
    with Ledger(settings.database_url) as ledger:
        d = ledger.get_decision(out["decision_id"])
        assert d.beyond_budget and d.owed == d.compensation == Decimal("42.50")
        state = ledger.get_budget(period_now())
        assert state.committed + state.reserved == 0  # no budget funds it
    # a complaint nothing is owed to is declined as before
    plain = _post(guarded, _complaint(complaints[2], f"cust-{uuid.uuid4().hex[:8]}",
                                      issue_type="rude_staff"))  # fmt: skip
    assert plain["budget"]["owed"] == 0.0 and plain["guardrail"] is None
    report = guarded.get(f"/v1/reports/period?period={period_now()}", headers=FINANCE)
    assert report.status_code == 200, report.text
    owed = report.json()["owed"]
    assert owed["held"] == 42.5 and owed["n_held"] == 1
    assert owed["beyond_budget"]["committed_and_held"] == 42.5


def test_one_customer_never_goes_above_the_cap(guarded, complaints, settings):
    _budget(guarded, 100_000)
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    answers = []
    for i in range(8):
        base = complaints[(3 * i) % len(complaints)]
        body = _complaint(base, customer, issue_type="product_defect", disputed_amount=300.0,
                          lifetime_value=20_000.0, annual_value=4_000.0)  # fmt: skip
        out = _post(guarded, body, case_override_reason="a separate matter")  # no case sharing
        answers.append(out)
        if i % 2:  # some are given, some only held: both count
            r = guarded.post(f"/v1/decisions/{out['decision_id']}", json={"action": "accepted"},
                             headers=AGENT)  # fmt: skip
            assert r.status_code == 200, r.text
    with Ledger(settings.database_url) as ledger:
        total = sum(ledger.get_decision(a["decision_id"]).compensation for a in answers)
    assert total <= CAP["amount"]
    capped = [a for a in answers if a["guardrail"] and a["guardrail"]["decided_by"] == "cap"]
    assert capped, "the cap never decided: the test does not test it"
    reason = capped[-1]["guardrail"]["reason"]
    assert reason.startswith("this customer has had $") and "in 90 days (at most $150)" in reason
