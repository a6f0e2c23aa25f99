"""Contrastive explanations: the attribution adds up; reasons are plain and sayable."""

from __future__ import annotations

import numpy as np
import pytest

from makegood.explain import (
    ACTION,
    Attribution,
    MediatorRangeModel,
    agent_brief,
    contrast_attribution,
    customer_message,
    difference_model,
    group_of,
    pair_difference_models,
    sayable_reasons,
)


@pytest.fixture(scope="module")
def engine_and_rows(trained):
    from makegood.modeling.predict import features_for

    model = trained["model"]
    X = features_for(model.bundle, trained["history"].head(20))
    return model.bundle.engine, X


def test_difference_model_keeps_the_contribution_difference(engine_and_rows):
    engine, X = engine_and_rows
    p = X.shape[1]
    full = engine.sat_models[0]
    small = difference_model(full, {p})
    assert small.num_trees() <= full.num_trees()
    rows = engine.outcome_input(np.vstack([X[:1], X[:1]]), np.array([0, 3]))
    d_full = np.diff(full.predict(rows, pred_contrib=True), axis=0)
    d_small = np.diff(small.predict(rows, pred_contrib=True), axis=0)
    np.testing.assert_allclose(d_full[:, :-1], d_small[:, :-1], atol=1e-9)


def test_pair_difference_models_keep_every_pairs_contribution_difference(engine_and_rows):
    engine, X = engine_and_rows
    p = X.shape[1]
    codes = list(range(engine.n_actions))
    for full, also in ((engine.sat_models[0], set()), (engine.churn_models[0], {p + 1})):
        pairs = pair_difference_models(full, p, codes, also=also)
        assert set(pairs) == {(a, b) for a in codes for b in codes if a < b}
        smaller = [m for m in pairs.values() if m.num_trees() < full.num_trees()]
        assert smaller  # some pair needs fewer trees
        for (a, b), small in pairs.items():
            for i in range(3):
                base = np.vstack([X[i : i + 1], X[i : i + 1]])
                sat = np.array([6.5, 3.0]) if also else None  # the mediator differs too
                rows = engine.outcome_input(base, np.array([a, b]), sat)
                d_full = np.diff(full.predict(rows, pred_contrib=True), axis=0)
                d_small = np.diff(small.predict(rows, pred_contrib=True), axis=0)
                np.testing.assert_allclose(d_full[:, :-1], d_small[:, :-1], atol=1e-9)


def test_mediator_range_models_keep_the_contribution_difference(engine_and_rows):
    engine, X = engine_and_rows
    p = X.shape[1]
    full = engine.churn_models[0]
    codes = list(range(engine.n_actions))
    pairs = pair_difference_models(full, p, codes, mediator=p + 1)
    sats = [(6.5, 3.0), (5.0, 5.1), (5.5, 5.5), (0.0, 4.0), (9.9, 0.2), (2.0, 2.0001)]
    for (a, b), small in pairs.items():
        for i in range(2):
            for sat in sats:
                base = np.vstack([X[i : i + 1], X[i : i + 1]])
                rows = engine.outcome_input(base, np.array([a, b]), np.array(sat))
                d_full = np.diff(full.predict(rows, pred_contrib=True), axis=0)
                d_small = np.diff(small.predict(rows, pred_contrib=True), axis=0)
                np.testing.assert_allclose(d_full[:, :-1], d_small[:, :-1], atol=1e-9)
    assert any(isinstance(m, MediatorRangeModel) for m in pairs.values()) or not (
        engine.params.mediated
    )
    if any(isinstance(m, MediatorRangeModel) for m in pairs.values()):
        m = next(m for m in pairs.values() if isinstance(m, MediatorRangeModel))
        n = len(m.max_threshold)
        assert m.trees_for(5.0, 5.0)[1] - m.trees_for(5.0, 5.0)[0] <= n
        assert m.trees_for(0.0, 3.0) == (0, n)  # exact zero: LightGBM's missing value


def test_attribution_adds_up_to_the_net_value_difference(engine_and_rows):
    engine, X = engine_and_rows
    pred = engine.predict(X[:5])
    for i in range(5):
        churn = pred["churn_prob"][i]
        a = contrast_attribution(
            engine, X[i : i + 1], 1, 0,
            lifetime_value=800.0, churn_r=churn[1], churn_u=churn[0],
            compensation_r=0.0, compensation_u=0.0, handling_cost_r=5.0, handling_cost_u=2.0,
        )  # fmt: skip
        expected = 800.0 * (churn[0] - churn[1]) - 3.0
        assert a.total == pytest.approx(expected)
        assert sum(a.terms.values()) + a.compensation + a.handling_cost == pytest.approx(expected)
        assert ACTION in a.terms


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
    values = {"prior_complaints_12m": 2, "mem_n_prior_365d": 1, "text_money": 0.9,
              "disputed_amount": 120.0}  # fmt: skip
    reasons = sayable_reasons(
        a, values, rec="Refund", runner_up="Apology", base_rates={"text_money": 0.3},
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
                     base_rates={"text_money": 0.3, "text_churn": 0.3}, said=[])  # fmt: skip
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
