"""Explanations in words: reasons are plain and sayable, claims about the customer quote
them, and each reader gets their own message."""

from __future__ import annotations

import pytest

from makegood.explain import agent_brief, customer_message, group_of, sayable_reasons
from makegood.modeling.attribution import ACTION, Attribution


def test_reasons_are_grouped_sorted_and_sayable():
    a = Attribution(
        terms={
            "prior_complaints_12m": 30.0,
            "mem_n_prior_365d": 5.0,
            "text_money": 20.0,
            "disputed_amount": -4.0,
            "log_disputed_amount": -1.0,
            ACTION: 2.0,
        },
        compensation=-25.0,
        handling_cost=0.0,
        total=27.0,
        satisfaction_gap=1.0,
    )
    values = {"prior_complaints_12m": 2, "mem_n_prior_365d": 2, "text_money": 0.9,
              "disputed_amount": 120.0}  # fmt: skip
    reasons = sayable_reasons(
        a, values, rec="Refund", runner_up="Apology",
        said=[{"intent": "compensation", "quote": "I want my money back"}],
    )  # fmt: skip
    texts = [r.text for r in reasons]
    assert texts[0] == "third complaint in a year"
    assert 'the customer asks for something in return ("I want my money back")' in texts
    assert "Refund costs $25.00 more in compensation" in texts
    assert "$120 is in dispute" in texts
    amounts = [abs(r.amount) for r in reasons]
    assert amounts == sorted(amounts, reverse=True)
    assert next(r for r in reasons if r.group == "disputed").favours == "runner_up"


def test_group_of():
    assert group_of("log_lifetime_value") == "value"
    assert group_of("text_sat_credit_25") == "satisfaction_words"
    assert group_of("something_new") == "something_new"


# --------------------------------------------------------------------------- issue 12


def _reasons(terms, values, **kw):
    a = Attribution(terms=terms, compensation=0.0, handling_cost=0.0,
                    total=sum(terms.values()), satisfaction_gap=0.0)  # fmt: skip
    return {r.group: r.text for r in sayable_reasons(a, values, rec="Refund",
                                                     runner_up="Apology", **kw)}  # fmt: skip


def test_a_text_signal_without_a_quote_is_worded_as_inference():
    # "The outage has lasted all week. This is OUTRAGEOUS!!": the money and leave signals
    # may be high, but the customer asked for nothing: no claim about what they want
    texts = _reasons({"text_money": 9.0, "text_churn": 7.0},
                     {"text_money": 0.9, "text_churn": 0.9},
                     said=[])  # fmt: skip
    assert "money back" not in texts["money_words"]
    assert "leave" not in texts["leave_words"].replace("customers", "")
    assert texts["money_words"].startswith("customers who write like this usually")
    assert texts["leave_words"].startswith("customers who write like this usually")


def test_a_claim_about_what_the_customer_said_quotes_them():
    texts = _reasons({"text_churn": 7.0}, {"text_churn": 0.9},
                     said=[{"intent": "leaving", "quote": "I'm switching to Acme"}])  # fmt: skip
    assert texts["leave_words"] == 'the customer says they may leave ("I\'m switching to Acme")'


def test_no_positive_tone_when_the_words_ask_for_help():
    # VADER scores "None of this makes sense to me. Please help." positive
    values = {"text_compound": 0.45, "emotion": "anxious"}
    text = _reasons({"text_compound": 5.0}, values)["tone"]
    assert "positive" not in text and "anxious" in text


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"mem_n_answered": 2, "mem_mean_satisfaction": 6.0,
          "mem_last_satisfaction": float("nan")},
         "the last complaint was not rated; 2 earlier ones were rated 6.0/10 on average"),
        ({"mem_n_answered": 0, "mem_mean_satisfaction": float("nan"),
          "mem_last_satisfaction": float("nan")}, "no rating from earlier complaints"),
        ({"mem_n_answered": 1, "mem_mean_satisfaction": 7.0, "mem_last_satisfaction": 7.0},
         "last time they rated us 7/10"),
        ({"mem_n_answered": 3, "mem_mean_satisfaction": 6.0, "mem_last_satisfaction": 4.0},
         "last time they rated us 4/10 (3 ratings, 6.0/10 on average)"),
    ],
)  # fmt: skip
def test_earlier_ratings_are_stated_as_they_are(values, expected):
    assert _reasons({"mem_last_satisfaction": 3.0}, values)["last_rating"] == expected


LONG = "Replacement of the faulty device with express delivery and a follow-up call"


def _label_counts(text):
    return [s.count(LONG) for s in text.split(". ")]


def test_say_quotes_the_customer_and_never_gives_internal_costs():
    said = [{"intent": "compensation", "quote": "refund me"},
            {"intent": "urgency", "quote": "I need it today"}]  # fmt: skip
    say = customer_message(LONG, compensation=0.0, said=said, values={"tenure_months": 60})
    assert '"refund me"' in say and '"I need it today"' in say
    assert "cost" not in say.lower() and "net value" not in say.lower()
    assert max(_label_counts(say)) <= 1


def test_why_gives_value_costs_churn_and_thin_evidence_with_each_label_once_a_sentence():
    reasons = sayable_reasons(
        Attribution({ACTION: 30.0, "prior_complaints_12m": 10.0}, -5.0, 13.0, 38.0, 0.5),
        {"prior_complaints_12m": 2}, rec=LONG, runner_up="Apology", sat_r=7.0, sat_u=6.0,
    )  # fmt: skip
    why = agent_brief(
        LONG, "Apology", value_difference=38.0, churn=(0.12, 0.2), compensation=(5.0, 0.0),
        handling_cost=(2.0, 15.0), thin_evidence=True, reasons=reasons,
    )  # fmt: skip
    assert "$38.00" in why and "12%" in why and "20%" in why and "Thin evidence" in why
    assert max(_label_counts(why)) <= 1
    assert all(s.count("Apology") <= 1 for s in why.split(". "))


# --------------------------------------------------------------------------- issue 24


def test_hashed_words_of_a_declared_text_column_are_never_a_reason():
    # A declared text column "note" enters the model as 8 hashed buckets and a word count;
    # a bucket mixes unrelated words, so even as the largest term it is no sayable reason.
    from makegood.features.extra import ExtraFeatures

    inputs = ExtraFeatures({"note": "text"}).text_names("note")
    assert {group_of(name) for name in inputs} == {"hashed_words"}
    terms = dict.fromkeys(inputs, 40.0) | {"severity": 5.0}
    values = dict.fromkeys(inputs, 0.2) | {"note": "late fee again", "severity": 4}
    reasons = _reasons(terms, values)
    assert reasons == {"severity": "severity 4 of 5"}
