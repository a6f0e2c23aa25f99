"""Each stage of ``phrase`` words its groups as the facts are, and ``phrase`` sends every
group to its stage."""

from __future__ import annotations

import math

import pytest

from makegood.explain.reasons import GROUPS
from makegood.explain.wording import (
    STAGES,
    Wording,
    context_fact,
    history_fact,
    manner_fact,
    model_fact,
    money_fact,
    phrase,
    words_fact,
)

FOR_REC = Wording("Refund", "Apology", amount=5.0, sat_r=7.25, sat_u=6.0)
FOR_RUNNER_UP = Wording("Refund", "Apology", amount=-5.0)


def test_the_model_stage_names_the_better_side_first():
    assert model_fact("resolution", {}, FOR_REC).endswith("after Refund than Apology")
    assert model_fact("resolution", {}, FOR_RUNNER_UP).endswith("after Apology than Refund")
    assert model_fact("satisfaction", {}, FOR_REC) == (
        "expected satisfaction 7.2/10 with Refund against 6.0/10 with Apology"
    )


def test_the_words_stage_quotes_only_what_was_said():
    heard = Wording("Refund", "Apology", amount=1.0, said={"urgency": "I need it today"})
    assert words_fact("urgency_words", {}, heard) == (
        'the customer needs this sorted quickly ("I need it today")'
    )
    assert words_fact("urgency_words", {}, FOR_REC).startswith("customers who write like this")
    assert words_fact("satisfaction_words", {}, FOR_RUNNER_UP).endswith("satisfied with Apology")


@pytest.mark.parametrize(
    ("group", "values", "expected"),
    [
        ("tone", {}, "there is no message to read the tone from"),
        ("tone", {"text_compound": -0.5}, "the message is negative in tone"),
        ("shouting", {"text_n_exclaim": 3},
         "the customer is shouting (capitals, exclamation marks)"),
        ("questions", {"text_n_question": 1}, "the customer asks 1 question"),
        ("length", {"text_log_chars": math.log1p(400)}, "a long, detailed message"),
        ("emotion", {"emotion": "angry", "emotion_detected": 1},
         "the customer is angry (read from their words)"),
    ],
)  # fmt: skip
def test_the_manner_stage(group, values, expected):
    assert manner_fact(group, values, FOR_REC) == expected


def test_the_money_stage_states_amounts_in_the_currency():
    assert money_fact("disputed", {"disputed_amount": 0}, FOR_REC) == "no money is in dispute"
    assert money_fact("value", {"lifetime_value": 1800.0}, FOR_REC) == (
        "the customer's lifetime value is $1,800"
    )
    assert money_fact("compensated_recently", {"mem_total_compensation_365d": 25.0}, FOR_REC) == (
        "already received $25.00 in the past year"
    )


@pytest.mark.parametrize(
    ("group", "values", "expected"),
    [
        ("tenure", {"tenure_months": 30}, "a customer for 2 years"),
        ("complaints_this_year", {"prior_complaints_12m": 0}, "first complaint in a year"),
        ("repeat_issue", {"mem_n_same_issue": 2, "issue_type": "billing_error"},
         "the same billing error problem came up 2 times before"),
        ("last_resolution", {}, "no earlier resolution on record"),
        ("recency", {"mem_days_since_last": 3.2}, "last complaint 3 days ago"),
        ("last_severity", {}, "no earlier complaint"),
        ("last_emotion", {"mem_last_emotion": "calm"}, "they were calm last time"),
    ],
)  # fmt: skip
def test_the_history_stage(group, values, expected):
    assert history_fact(group, values, FOR_REC) == expected


def test_the_context_stage_names_any_other_input_with_its_value():
    assert context_fact("severity", {"severity": 4}, FOR_REC) == "severity 4 of 5"
    assert context_fact("new_input", {"new_input": 3}, FOR_REC) == "new input is 3"


def test_every_named_group_has_a_stage_and_phrase_uses_it():
    unstaged = {"severity", "channel", "issue", "segment", "skill", "timing"}
    assert set(GROUPS) - set(STAGES) == unstaged
    # a group is worded only when its inputs are in the model: every input has a value
    values = {name: 1 for names in GROUPS.values() for name in names}
    for group, stage in STAGES.items():
        assert phrase(group, values, FOR_REC) == stage(group, values, FOR_REC)
    assert phrase("severity", values, FOR_REC) == context_fact("severity", values, FOR_REC)
