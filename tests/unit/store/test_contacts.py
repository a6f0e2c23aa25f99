"""The contact book stores contacts beside their decisions (one transaction), opens and
joins cases, remembers profiles and handovers, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from dbtesting import BACKENDS, database
from makegood.store.contacts import CaseStatus, ContactAction, ContactBook, ContactRecord
from makegood.store.ledger import DecisionRecord, DecisionStatus, Ledger

T0 = datetime(2026, 11, 3, 9, 0)


@pytest.fixture(params=BACKENDS)
def book(request, tmp_path):
    with database(request.param, tmp_path, "makegood_contacts") as (url, schema):
        ledger = Ledger(url, schema=schema)
        ledger.create_all()
        yield ContactBook(ledger)
        ledger.close()


def _serve(book, complaint_id, *, at, case_id, new_case, amount=89.99, channel="chat", **prof):
    complaint = {
        "complaint_id": complaint_id,
        "customer_id": "cust-1",
        "opened_at": at.isoformat(),
        "channel": channel,
        "issue_type": "billing_error",
        "severity": 3,
        "disputed_amount": 89.99,
        "complaint_text": "charged twice",
    }
    record = DecisionRecord(
        period="2026-11",
        complaint_id=complaint_id,
        customer_id="cust-1",
        recommended_resolution="refund",
        recommended_propensity=1.0,
        model_version="v1",
        ranking=[{"resolution": "refund", "compensation": 89.99}],
        complaint=complaint,
    )
    contact = ContactRecord(
        case_id=case_id,
        new_case=new_case,
        customer_id="cust-1",
        issue_type="billing_error",
        opened_at=at,
        channel=channel,
        agent="a1",
        profile=prof,
    )
    return book.ledger.reserve(
        record,
        amount,
        now=at,
        within=lambda conn, d, now: book.record_contact(conn, d, contact, now),
    ).decision


def test_contacts_cases_profiles_and_handovers_round_trip(book):
    book.ledger.set_budget("2026-11", 500)
    case_id = str(uuid.uuid4())
    first = _serve(book, "c1", at=T0, case_id=case_id, new_case=True, tenure_months=2,
                   annual_value=300.0, lifetime_value=900.0, segment="standard")  # fmt: skip
    book.ledger.commit(
        first.decision_id,
        now=T0 + timedelta(seconds=30),
        within=lambda conn, d, now: book.set_action(
            conn, d.decision_id, ContactAction.ACCEPTED, now, notes="refund agreed"
        ),
    )
    second = _serve(book, "c2", at=T0 + timedelta(minutes=1), case_id=case_id,
                    new_case=False, amount=0, channel="phone")  # fmt: skip
    h = book.add_handover(case_id=case_id, contact_id=first.decision_id, from_agent="a1",
                          from_channel="chat", to_team="phone", to_channel="phone",
                          note="wants confirmation by phone", next_step="call back",
                          summary="s", now=T0 + timedelta(minutes=2))  # fmt: skip
    live = book.customer("cust-1")
    assert [c.contact_id for c in live.contacts] == [first.decision_id, second.decision_id]
    (case,) = live.cases
    assert case.status is CaseStatus.OPEN and case.n_contacts == 2
    assert case.next_step == "call back" and case.handovers == (h,)
    assert case.last_contact_at == T0 + timedelta(minutes=1)
    given = live.contacts[0]
    assert given.action is ContactAction.ACCEPTED and given.notes == "refund agreed"
    assert given.status is DecisionStatus.COMMITTED and given.spent() == Decimal("89.99")
    row = given.history_row()
    assert (row["resolution"], row["compensation"], row["opened_at"]) == ("refund", 89.99, T0)
    assert live.profile["tenure_months"] == 2 and live.profile["segment"] == "standard"
    assert live.open_case("billing_error", T0 + timedelta(days=13), 14) == case
    assert live.open_case("billing_error", T0 + timedelta(days=15), 14) is None
    assert live.open_case("service_outage", T0, 14) is None
    assert book.customer("nobody").contacts == ()


def test_a_failed_contact_write_rolls_back_the_reservation(book):
    book.ledger.set_budget("2026-11", 500)
    with pytest.raises(Exception, match="no case"):
        _serve(book, "c1", at=T0, case_id="missing", new_case=False)
    assert book.ledger.get_budget("2026-11").reserved == 0
    assert book.customer("cust-1").contacts == ()
