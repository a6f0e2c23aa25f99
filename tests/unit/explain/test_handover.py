"""The case summary says what the last offer became; the handover brief quotes only
what the customer said."""

from __future__ import annotations

import numpy as np
import pytest

from makegood.explain import CaseContact, case_summary, handover_brief
from makegood.modeling.predict import Scores

LABELS = {"apology": "Apology", "refund": "Refund"}


@pytest.mark.parametrize(
    ("offer", "worded"),
    [("given", "given"), ("held", "offered"), ("offered", "offered"), ("released", "declined"),
     ("expired", "offered (hold lapsed)"), ("declined", "not affordable")],
)  # fmt: skip
def test_the_summary_says_what_the_last_offer_became(offer, worded):
    first = CaseContact("chat", "billing_error", 89.99, "apology", "released")
    last = CaseContact("phone", "billing_error", 0.0, "refund", offer)
    text = case_summary([first, last], labels=LABELS, currency="USD", note=" call back. ")
    assert text == (
        f"contacted us on chat then phone about a billing error of $89.99; Refund {worded}; "
        "call back"
    )


def test_an_unknown_resolution_is_named_by_its_id():
    c = CaseContact("email", None, 0.0, "store_credit", "held")
    assert case_summary([c], labels=LABELS, currency="USD") == (
        "contacted us on email about a an issue; store credit offered"
    )


def _scores(satisfaction):
    k = np.array([[1.0, 1.0]])
    return Scores(
        complaint_ids=np.array(["c1"], dtype=object), action_ids=["apology", "refund"],
        eligible=np.array([[True, True]]), compensation=k * [0, 40], handling_cost=np.ones(2),
        lifetime_value=np.array([900.0]), satisfaction=np.array([satisfaction]),
        churn_prob=k * 0.2, churn_lo=k * 0.1, churn_hi=k * 0.3, retention_lift=k * 0,
        net_value=k, net_value_lo=k, net_value_hi=k, propensity=k * 0.5, baseline_index=0,
    )  # fmt: skip


def test_the_brief_quotes_the_customer_and_words_estimates_as_estimates():
    complaint = {"issue_type": "billing_error", "disputed_amount": 40.0, "severity": 3,
                 "channel": "chat"}  # fmt: skip
    recent = [{"opened_at": "2026-01-05T10:00:00", "resolution": "apology", "satisfaction": 3.0}]
    said = [{"intent": "compensation", "quote": "I want my money back"}]
    brief = handover_brief(
        complaint, _scores([6.0, 8.0]), recommended=1, why="Refund is worth more.",
        emotion="angry", recent=recent, said=said, labels=LABELS, currency="USD",
    )  # fmt: skip
    assert brief.issue == "billing error, severity 3 of 5, via chat, 40.00 USD in dispute"
    assert brief.tried == ["2026-01-05: Apology (rated 3/10)"]
    wants = 'something in return ("I want my money back") (customer is angry)'
    assert brief.customer_wants == wants
    assert "usually most satisfied by Refund" in brief.summary
    assert brief.recommended == "refund" and brief.summary.endswith("Refund is worth more.")
    silent = handover_brief(
        complaint, _scores([np.nan, np.nan]), recommended=0, why="", emotion=None, recent=[],
        said=[], labels=LABELS, currency="USD",
    )  # fmt: skip
    assert silent.customer_wants == "nothing specific said"
    assert "usually" not in silent.summary and "nothing (first complaint)" in silent.summary
