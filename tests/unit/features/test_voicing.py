"""Voicing cues: intent vocabulary counts only when no guard cancels it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.features.voicing import (
    VOICING_FEATURE_NAMES,
    ambiguous,
    cancelled_by_context,
    normalise,
    signature,
    vocabulary_voiced,
    voiced,
    voicing_features,
)


@pytest.mark.parametrize(
    ("span", "intent"),
    [
        ("I want my money back.", "compensation"),
        ("Please refund the {$25.00} fee charged on XX/XX/XXXX.", "compensation"),
        ("I asked them to waive the late fees.", "compensation"),
        ("I will close my account with them.", "leaving"),
        ("I paid off my balance and cancelled my card.", "leaving"),
        ("I will never do business with them again.", "leaving"),
        ("I have been a loyal customer for 12 years.", "recognition"),
        ("I have never missed a payment.", "recognition"),
        ("I need this removed immediately.", "urgency"),
        ("The foreclosure sale is scheduled for XXXX XXXX, 2015.", "urgency"),
        ("We are trying to purchase a home and this is in the way.", "urgency"),
        ("I closed the account because of the way they handled this.", "leaving"),
        ("I want to cancel my card and be done with them.", "leaving"),
        ("It needs to be removed at once.", "urgency"),
        ("Now I have a sale date for XX/XX/2015.", "urgency"),
        ("Currently trying to purchase a home and noticed errors.", "urgency"),
        # third pass: the same voicing in the other grammatical forms real letters use
        ("They still have not refunded me the {$90.00}.", "compensation"),
        ("Please have them put the {$40.00} back in my checking account.", "compensation"),
        ("I am demanding to be reimbursed for the overdraft fees.", "compensation"),
        ("At that point I closed my savings account with them.", "leaving"),
        ("I spent two hours on the phone trying to close my account.", "leaving"),
        ("After this I will have to find another bank.", "leaving"),
        ("I switched to a different lender last month.", "leaving"),
        ("I will no longer do any business with this company.", "leaving"),
        ("I have been an excellent customer for 9 years.", "recognition"),
        ("We have been card holders for more than 25 straight years.", "recognition"),
        ("I've been paying this mortgage for 14 years.", "recognition"),
        ("They are treating us like criminals.", "recognition"),
        ("I urge you to correct my report immediately.", "urgency"),
        ("We are about to be evicted because of this.", "urgency"),
        ("This error is the only thing stopping me from getting a home loan.", "urgency"),
        ("The foreclosure hearing is set for XX/XX/XXXX.", "urgency"),
        # fourth pass: more grammatical forms of the same voicing
        ("I 'd like Citi to refund our foreign transaction fees.", "compensation"),
        ("I have also requested my refund for this service.", "compensation"),
        ("I feel that I am at least due a refund for the yearly fee.", "compensation"),
        ("I filed a dispute with my bank over the unauthorized charges.", "compensation"),
        ("As of today I still have not received my money back.", "compensation"),
        ("I told them to cancel my account.", "leaving"),
        ("I am thinking about closing my account because of this.", "leaving"),
        ("I decided to transfer my loan to another company.", "leaving"),
        ("I 'm currently looking into refinancing with another company.", "leaving"),
        ("I will be changing banks asap.", "leaving"),
        ("I 've had my checking account with them since 1999.", "recognition"),
        ("I have had a savings account with Wells Fargo for at least XXXX years.", "recognition"),
        ("I have been making my payments on time every month.", "recognition"),
        ("I 'm a long time Chase bank customer.", "recognition"),
        ("Remove this immediately!", "urgency"),
        ("My servicer has scheduled a foreclosure sale for XXXX/XXXX/2015.", "urgency"),
        ("It still remains on my report and refinancing my home is on hold.", "urgency"),
        ("Our mortgage payment is due tomorrow and we do n't know what to do.", "urgency"),
        ("I ca n't access my own money to make payments.", "urgency"),
        ("Ocwen wo n't give me my money back.", "compensation"),
        ("I called Macy 's to have them reverse the {$27.00}.", "compensation"),
        ("They are refusing to give partial reimbursement of my down payment.", "compensation"),
        ("The funds still have not been credited back.", "compensation"),
        ("I believe the servicer owes me money for the misapplied payments.", "compensation"),
        ("I am asking that OCWEN reduce the amount of late charges!", "compensation"),
        (
            "The sale was held in May and now another sale is scheduled for XX/XX/XXXX.",
            "urgency",
        ),
    ],
)
def test_a_voiced_cue_is_heard(span, intent):
    assert voiced(span, intent)


@pytest.mark.parametrize(
    ("span", "intent"),
    [
        # negation
        ("I don't want a refund, I want it fixed.", "compensation"),
        ("I did not ask to waive it, just to postpone it.", "compensation"),
        # reported speech: the company said it
        ("The agent said they would refund me.", "compensation"),
        ("I was told the fee would be reversed.", "compensation"),
        ("They stated they would close my account.", "leaving"),
        # policy questions
        ("Why was I charged a late fee and not refunded?", "compensation"),
        ("Is it legal to close my account without notice?", "leaving"),
        # hypothesis
        ("If they had refunded me I would not be writing.", "compensation"),
        # a formulaic closing is no time pressure
        ("Thank you for your immediate attention to this matter.", "urgency"),
        # describing a charge is not asking for money back
        ("They charged me a {$35.00} fee on XX/XX/XXXX.", "compensation"),
        ("I immediately filed a claim with my bank.", "urgency"),
        # a closure made by someone else, reported, unexplained, or over card trouble
        ("I was informed they will close my account.", "leaving"),
        ("Around XXXX of 2009 I had cancelled service with XXXX wireless.", "leaving"),
        ("I had to cancel my debit card because of fraud.", "leaving"),
        ("I called to cancel the payment plan.", "leaving"),
        # speed wanted by someone else, or a past act done quickly
        ("They moved the funds so they could get paid immediately.", "urgency"),
        ("I sent the money I desperately needed as soon as possible.", "urgency"),
        ("They were saying that I owe {$18000.00} and respond us back urgent.", "urgency"),
        # a sale date or home purchase that is not the customer's pressing deadline
        ("Instead of helping us they are trying to set a sale date.", "urgency"),
        ("Tomorrow will be a week since they received all the funds.", "urgency"),
        ("My savings for buying a home are all gone.", "urgency"),
        ("We did not need the credit support to qualify for a mortgage.", "urgency"),
        # one payment made on time is a disputed fact, not a record; an if-clause's subject
        ("I made the XX/XX/XXXX payment on time.", "recognition"),
        ("They agreed to lower the rate if I paid the first year on time.", "recognition"),
        ("The rep asked if I would like to close my account.", "leaving"),
        ("I was asked to close the account and open a new one.", "leaving"),
        # calls are not money; checks and towns are not accounts
        ("They refuse to return my calls.", "compensation"),
        ("Please cancel those checks.", "leaving"),
        ("We are now moved out of the house.", "leaving"),
        # a past counterfactual and a thank-you are no present time pressure
        ("The contract should have been rewritten immediately.", "urgency"),
        ("Thank you for your attention to this urgent matter.", "urgency"),
        # fourth pass: the hard negatives of the new forms
        ("Both of them should reverse the negative scores on my credit.", "compensation"),
        ("They went over the check date and the funds showed as available.", "compensation"),
        ("I disputed the amount with the credit bureau.", "compensation"),
        ("They will not put it in writing.", "compensation"),
        ("I asked them to reduce my interest rate.", "compensation"),
        ("They decided to cancel my account.", "leaving"),
        ("I requested to cancel a dispute.", "leaving"),
        ("It shows the debt was transferred to another lender.", "leaving"),
        ("The money is going to be transferred to another bank.", "leaving"),
        ("It will stay positive in good standing section.", "recognition"),
        ("They sent letters stating we must pay right away.", "urgency"),
        ("I could n't make the full payment of my loan that month.", "urgency"),
        ("We were unable to qualify for FHA home lending back then.", "urgency"),
        ("I paid on time until I got separated from my ex.", "recognition"),
        ("The credit bureaus keep disrespecting the laws.", "recognition"),
        # urgency's known false claims: a sale already held, "as of today", an office's words
        ("They sold the house at the foreclosure sale on XX/XX/XXXX.", "urgency"),
        ("I need them to know that as of today the account is paid.", "urgency"),
        ("I called and he transferred me immediately to another department.", "urgency"),
        ("Their office sent a letter stating: remove this account immediately.", "urgency"),
    ],
)
def test_a_guarded_or_missing_cue_is_not_heard(span, intent):
    assert not voiced(span, intent)


def test_a_clause_is_cancelled_by_the_if_or_the_report_before_it():
    assert cancelled_by_context("They said they would lower my rate if ", "I paid on time")
    assert cancelled_by_context("The agent told me the fee was wrong and ", "it would be refunded")
    # a clause with its own first-person subject starts a main clause of its own
    assert not cancelled_by_context("They said it was fixed, but ", "I want my money back")
    assert not cancelled_by_context("I called twice and ", "my account is in good standing")


def test_normalise_joins_the_exports_split_contractions_and_masks():
    assert normalise("I do n't want it , I 'm done") == "i don't want it , i'm done"
    assert normalise("Paid {$1,200.00} on XX/XX/XXXX to XXXX") == "paid xxxx on xxxx to xxxx"
    assert normalise("It\u2019s MINE") == "it's mine"


def test_features_have_their_names_and_are_zero_one():
    x = voicing_features(["I want my money back", "", "hello", "Why? XXXX"])
    assert x.shape == (4, len(VOICING_FEATURE_NAMES))
    assert set(np.unique(x)) <= {0.0, 1.0}
    row = dict(zip(VOICING_FEATURE_NAMES, x[0], strict=True))
    assert row["compensation_strong"] == 1 and row["leaving_cue"] == 0
    assert voicing_features([]).shape == (0, len(VOICING_FEATURE_NAMES))


def test_signature_is_stable_within_a_process():
    assert signature() == signature() and "refund" in signature()


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_finite_zero_one_features(text):
    x = voicing_features([text])
    assert x.shape == (1, len(VOICING_FEATURE_NAMES))
    assert set(np.unique(x)) <= {0.0, 1.0}


def test_a_dispute_that_names_no_money_is_too_open_to_be_heard_without_a_cue():
    spans = [
        "I immediately called the bank and filed a dispute.",
        "I disputed the {$50.00} charge with my card issuer.",
        "I wish to claim back the excess amount.",
        "I want a refund.",
    ]
    flags = ambiguous(spans)
    assert flags.shape == (4, 4)
    assert flags[:, 0].tolist() == [True, False, False, False]
    assert not flags[:, 1:].any()


@pytest.mark.parametrize(
    ("span", "intent", "expected"),
    [
        ("I disputed the charge with my bank.", "compensation", True),
        ("The fees they owe me are still on the account.", "compensation", True),
        ("I want out of BOA.", "leaving", True),
        ("We are moving our accounts elsewhere.", "leaving", True),
        ("I have never missed a payment in 12 years.", "recognition", True),
        ("Our eviction date is XX/XX/XXXX.", "urgency", True),
        # guarded, vetoed or absent
        ("I do not want a refund.", "compensation", False),
        ("The agent said they would refund the fee.", "compensation", False),
        ("Why was I charged a fee?", "compensation", False),
        ("If they had closed the account, none of this would matter.", "leaving", False),
        ("They cancelled my card because of fraud.", "leaving", False),
        ("I paid on time until I lost my job.", "recognition", False),
        ("Thank you for your prompt attention to this urgent matter.", "urgency", False),
        ("I called the bank about a letter.", "urgency", False),
    ],
)
def test_an_intents_vocabulary_is_voiced_unless_guarded_vetoed_or_absent(span, intent, expected):
    j = ("compensation", "leaving", "recognition", "urgency").index(intent)
    assert vocabulary_voiced([span])[0, j] == expected
