"""customer_said: the intents a customer voiced, each quoted verbatim from their text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.features.intents.detector import THRESHOLDS, IntentDetector
from makegood.features.intents.examples import (
    INTENTS,
    REAL_WEIGHT,
    expand,
    load_examples,
    load_external,
    load_external_examples,
    load_extra_examples,
    load_real_examples,
    narrative_examples,
    training_set,
)
from makegood.features.intents.said import (
    customer_said,
    customer_said_many,
    default_detector,
    intent_features,
)
from makegood.features.intents.segments import segments

# Hand-written complaints (not in the training sentences) with the intents they voice.
FIXED = [
    ("The outage has lasted all week. This is OUTRAGEOUS!!", set()),
    ("None of this makes sense to me. Please help.", set()),
    ("I don't want a refund, just fix it.", set()),
    ("I was billed twice this month. I want my money back.", {"compensation"}),
    ("Please refund the £30 you took by mistake.", {"compensation"}),
    ("If this isn't sorted by Friday I'm cancelling my contract.", {"leaving"}),
    ("Your competitor offered me half the price.", {"leaving"}),
    ("I've been a loyal customer for twelve years and nobody cares.", {"recognition"}),
    ("My shop can't take card payments, I'm losing sales every hour.", {"urgency"}),
    ("I need this fixed today.", {"urgency"}),
    (
        "Ten years with you. Fix my line today or refund me, otherwise I'm switching.",
        {"recognition", "urgency", "compensation", "leaving"},
    ),
    ("Thanks for your help last week, the router works fine now.", set()),
    ("I switched the router off and on again but it still drops.", set()),
    ("My loyalty points never arrived.", set()),
]


@pytest.fixture(scope="module")
def detector() -> IntentDetector:
    return default_detector()


@pytest.mark.parametrize(("text", "expected"), FIXED)
def test_hand_written_complaints_give_their_intents(detector, text, expected):
    said = detector.detect(text)
    assert {s.intent for s in said} == expected
    for s in said:
        assert s.quote and s.quote == text[s.start : s.end]


def test_anger_alone_is_no_demand_for_money_or_a_threat_to_leave(detector):
    said = customer_said("The outage has lasted all week. This is OUTRAGEOUS!!")
    assert not {s["intent"] for s in said} & {"compensation", "leaving"}


def test_the_quote_is_the_clause_that_carries_the_intent(detector):
    text = "The app is broken again, and I want a refund for the month."
    (said,) = detector.detect(text)
    assert said.intent == "compensation"
    assert said.quote == "I want a refund for the month."


def test_empty_and_missing_texts_voice_nothing(detector):
    assert detector.detect("") == []
    assert detector.detect(None) == []
    assert detector.detect("   \n ") == []
    assert customer_said_many([None, "", "ok"]) == [[], [], []]


def test_scores_equal_the_fitted_vectorizers_and_regressions(detector):
    import numpy as np
    import scipy.sparse as sp

    texts = [t for t, _ in load_examples()][::7] + ["", "zzz", "I want a REFUND!!"]
    X = sp.hstack(
        [
            detector.words_.transform(texts),
            detector.chars_.transform(texts) * detector.char_weight,
            sp.csr_matrix(detector._dense(texts)),
        ]
    )
    z = np.asarray(X @ detector.coef_) + detector.intercept_
    np.testing.assert_allclose(detector.scores(texts), 1 / (1 + np.exp(-z)), atol=1e-12)


def test_many_equals_one_at_a_time(detector):
    texts = [t for t, _ in FIXED] + [FIXED[3][0]]
    many = detector.detect_many(texts)
    assert many == [detector.detect(t) for t in texts]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "I want my money back",
                "refund me",
                "I'm leaving",
                "ten years a customer",
                "fix it NOW",
                "this is OUTRAGEOUS",
                "hello",
                "I don't want a refund",
                "?",
                "!!",
                ", ",
                ". ",
                "\n",
                " - ",
                " but ",
                " or ",
                "’",
                "é",
                "$40.50",
            ]
        )
        | st.text(max_size=12),
        max_size=12,
    ).map("".join)
)
def test_quotes_are_verbatim_substrings_and_every_intent_has_one(text):
    said = default_detector().detect(text)
    assert len({s.intent for s in said}) == len(said)
    for s in said:
        assert s.intent in INTENTS
        assert s.quote.strip(), "every claimed intent has a quote"
        assert s.quote == text[s.start : s.end]
        assert s.quote in text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_segments_are_ordered_spans_inside_the_text(text):
    last = 0
    for (s, e), clauses in segments(text):
        assert last <= s < e <= len(text)
        last = e
        for cs, ce in clauses:
            assert s <= cs < ce <= e


def test_expand_covers_every_alternative_within_the_limit():
    out = expand("{a|b|c|d|e} {1|2|3|4|5} {x|y|z}", limit=6)
    assert len(out) == 6
    assert {w[0] for w in out} == set("abcde")
    assert expand("no alternatives here") == ["no alternatives here"]


def test_a_bad_labelled_line_is_named():
    with pytest.raises(ValueError, match="line 2: unknown intent"):
        load_examples("# comment\nmoney\tI want a refund\n")
    with pytest.raises(ValueError, match="line 1: expected LABELS<TAB>TEXT"):
        load_examples("compensation I want a refund\n")


def test_the_shipped_labelled_set_covers_every_intent_and_many_negatives():
    examples = load_examples()
    for intent in INTENTS:
        assert sum(intent in labels for _, labels in examples) >= 300
    assert sum(not labels for _, labels in examples) >= 1000


# --------------------------------------------------------------------------- real phrasing
# Hand-written in the register of letters to a regulator (masks, split contractions), not
# taken from the labelled narratives: what a strict reader hears, and what they do not.
LETTERS = [
    ("I was charged a late fee of {$35.00} on XX/XX/XXXX.", set()),
    ("The representative said they would refund me within 10 days.", set()),
    ("I do n't want a refund , I want the error on my credit report fixed.", set()),
    ("Why was I charged a fee when the payment was made on time?", set()),
    ("I applied for a credit card with XXXX in XXXX 2015.", set()),
    ("I immediately called the bank and filed a dispute.", set()),
    ("Thank you for your prompt attention to this matter.", set()),
    ("I am requesting a full refund of the {$120.00} in fees.", {"compensation"}),
    ("I will be closing all of my accounts with this bank.", {"leaving"}),
    ("I have been a loyal customer of XXXX for over 15 years.", {"recognition"}),
    ("The foreclosure sale is scheduled for tomorrow and I need help.", {"urgency"}),
    # a clause read with its sentence: the body of an "if", the rest of a report
    ("XXXX agreed to lower my rate if I paid the first two years on time.", set()),
    ("On XX/XX/XXXX the rep asked me if I would like to close my account.", set()),
]


@pytest.mark.parametrize(("text", "expected"), LETTERS)
def test_letters_are_heard_strictly(detector, text, expected):
    said = detector.detect(text)
    assert {s.intent for s in said} == expected
    for s in said:
        assert s.quote == text[s.start : s.end]


def test_a_long_letter_is_read_to_its_end_and_quoted_verbatim(detector):
    filler = "On XX/XX/XXXX I called XXXX again about the escrow account and waited. " * 60
    text = filler + "I am asking that the {$45.00} late fee be waived and credited to my account."
    assert len(text) > 3500
    (said,) = detector.detect(text)
    assert said.intent == "compensation"
    assert said.quote in text and text.index(said.quote) > 3000


def test_duplicated_letters_share_one_answer(detector):
    letter = LETTERS[7][0]
    texts = [letter] * 50 + [LETTERS[0][0]] * 50
    many = customer_said_many(texts)
    assert many[0] == customer_said(letter) and many[50] == customer_said(LETTERS[0][0])
    assert all(m == many[0] for m in many[:50]) and all(m == [] for m in many[50:])
    features = intent_features(texts)
    np.testing.assert_array_equal(features[0], intent_features([letter])[0])
    assert (features[:50] == features[0]).all()


def test_thresholds_name_every_intent_with_a_cue_a_vocabulary_and_an_alone_threshold():
    assert set(THRESHOLDS) == set(INTENTS)
    for with_cue, with_vocab, alone in THRESHOLDS.values():
        # the vocabulary tier asks more of the probability than a strong cue does
        assert 0 < with_cue <= with_vocab <= 1.01 and 0 < alone <= 1.01


def test_a_detector_rejects_bad_thresholds_and_weights():
    examples = [("I want a refund", frozenset({"compensation"})), ("hello", frozenset())]
    with pytest.raises(ValueError, match="missing"):
        IntentDetector(thresholds={"compensation": (0.5, 0.8, 0.9)}).fit(examples)
    with pytest.raises(ValueError, match="sample_weight"):
        IntentDetector().fit(examples, sample_weight=[1.0])


def test_the_shipped_real_sentences_cover_every_intent():
    real = load_real_examples()
    for intent in INTENTS:
        assert sum(intent in labels for _, labels in real) >= 10
    assert sum(not labels for _, labels in real) >= 1500
    extra = load_extra_examples()
    assert sum("urgency" in labels for _, labels in extra) >= 20
    external = load_external_examples()
    examples, weights = training_set()
    assert (
        len(examples)
        == len(weights)
        == len(load_examples()) + len(real) + len(extra) + len(external)
    )
    assert (weights[len(load_examples()) :] == REAL_WEIGHT).all()
    with pytest.raises(ValueError, match="line 1: expected LABELS<TAB>SENTENCE"):
        load_real_examples("compensation I want a refund\n")
    with pytest.raises(ValueError, match="line 1: unknown intent"):
        load_real_examples("money\tI want a refund\n")


def test_the_external_narratives_are_whole_letters_with_verbatim_spans():
    rows = load_external()
    assert len(rows) >= 300
    for intent in INTENTS:
        assert sum(intent in r["intents"] for r in rows) >= 20
    assert sum(not r["intents"] for r in rows) >= 100
    for r in rows:
        assert set(r["spans"]) == set(r["intents"])
        assert all(span in r["text"] for span in r["spans"].values())
        assert r["source"].startswith("github.com/") and ("complaint_id" in r or "row" in r)
    # each letter of a source is read once (the fourth pass sampled rows outside the third's)
    keys = [(r["source"], r.get("complaint_id"), r.get("row")) for r in rows]
    assert len(set(keys)) == len(keys)
    assert sum(r.get("labelled") == "fourth pass" for r in rows) >= 300
    # every sentence is labelled, and a voiced intent lands on the sentence of its span
    examples = load_external_examples()
    assert len(examples) > 10 * len(rows) // 2
    for intent in INTENTS:
        assert sum(intent in labels for _, labels in examples) >= 20


def test_a_narrative_labels_the_sentences_its_spans_overlap():
    row = {
        "text": "I was charged twice. I want my money back, and I will close my account.",
        "spans": {"compensation": "I want my money back", "leaving": "I will close my account"},
    }
    assert narrative_examples([row]) == [
        ("I was charged twice.", frozenset()),
        (
            "I want my money back, and I will close my account.",
            frozenset({"compensation", "leaving"}),
        ),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1: not a JSON object"),
        ("[1, 2]", "line 1: expected a JSON object"),
        ('{"text": "x", "intents": []}', r"line 1: missing field\(s\) \['spans', 'emotion'\]"),
        (
            '{"text": "x", "intents": ["money"], "spans": {}, "emotion": "calm"}',
            "line 1: field intents: unknown intent",
        ),
        (
            '{"text": "x", "intents": ["leaving"], "spans": {}, "emotion": "calm"}',
            "line 1: field spans must give one quote per voiced intent",
        ),
        (
            '{"text": "I will close it", "intents": ["leaving"], '
            '"spans": {"leaving": "I will leave"}, "emotion": "calm"}',
            "line 1: field spans.leaving is not a verbatim substring of text",
        ),
    ],
)
def test_a_bad_external_record_is_named(line, message):
    with pytest.raises(ValueError, match=message):
        load_external(line)


def test_an_undecided_external_record_is_kept_out():
    line = '{"text": "x", "intents": null, "spans": {}, "emotion": "calm"}'
    assert load_external(line + "\n\n") == []
