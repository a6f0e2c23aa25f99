"""Emotion detection, sentiment features and learned text signals."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from makegood.features.text.cues import SENTIMENT_FEATURE_NAMES, sentiment_features
from makegood.features.text.emotion import (
    EMOTION_LABELS,
    SHORT_TEXT_WORDS,
    detect_emotion,
    detect_emotion_rules,
    fill_emotion,
    read_text,
)
from makegood.features.text.signals import TextSignals


@pytest.mark.parametrize(
    ("text", "emotion"),
    [
        ("THIS IS ABSOLUTELY UNACCEPTABLE!!! I WANT MY MONEY BACK NOW!", "angry"),
        ("You are a disgrace and a scam, the worst company I have ever dealt with.", "angry"),
        ("Thank you so much for sorting this out, great service.", "calm"),
        ("Thanks again for the help!", "calm"),
        ("Please update my postal address.", "calm"),
        ("I'm really worried my power will be cut off, I can't afford this.", "anxious"),
        ("I don't understand this charge, can you explain what it is?", "confused"),
        ("This is the third time I've called and it's still not fixed.", "frustrated"),
        ("No worries, I am not worried, just letting you know.", "calm"),
    ],
)
def test_detect_emotion_on_plain_english(text, emotion):
    assert detect_emotion([text])[0] == emotion


def test_detect_emotion_empty_and_odd_inputs():
    got = detect_emotion(pd.Series(["", "   ", None, np.nan, "Thanks, all good now."]))
    assert got.dtype == object
    assert list(got[:4]) == [None] * 4
    assert got[4] in EMOTION_LABELS
    assert detect_emotion([]).shape == (0,)


def test_detect_emotion_same_text_same_label():
    texts = ["Why was I charged twice??", "I am fed up with waiting"] * 3
    got = detect_emotion(texts)
    assert list(got[:2]) * 3 == list(got)


def test_fill_emotion_fills_only_missing_with_text():
    df = pd.DataFrame(
        {
            "emotion": pd.Series(["calm", np.nan, np.nan, np.nan], dtype="str"),
            "complaint_text": [
                "WHERE IS MY REFUND!!! UNACCEPTABLE!!!",
                "I AM FURIOUS!!!",
                "",
                "  ",
            ],
        }
    )
    out = fill_emotion(df)
    assert out["emotion"].iloc[0] == "calm"  # given emotions are never overwritten
    assert out["emotion"].iloc[1] == "angry"
    assert out["emotion"].iloc[2:].isna().all()
    assert out["emotion_detected"].tolist() == [0, 1, 0, 0]
    assert df["emotion"].isna().sum() == 3 and "emotion_detected" not in df  # input untouched


def test_fill_emotion_without_emotion_column():
    out = fill_emotion(pd.DataFrame({"complaint_text": ["I'm worried about my bill", ""]}))
    assert out["emotion"].iloc[0] == "anxious" and pd.isna(out["emotion"].iloc[1])
    assert out["emotion_detected"].tolist() == [1, 0]


def test_sentiment_features():
    x = sentiment_features(["Great, thanks!", "WHY?? This is TERRIBLE!!!", ""])
    assert x.shape == (3, len(SENTIMENT_FEATURE_NAMES))
    f = dict(zip(SENTIMENT_FEATURE_NAMES, x.T, strict=True))
    assert f["text_compound"][0] > 0.3 > -0.3 > f["text_compound"][1]
    assert f["text_n_exclaim"].tolist() == [1, 3, 0]
    assert f["text_n_question"].tolist() == [0, 2, 0]
    assert f["text_upper_share"][1] == pytest.approx(2 / 4)
    assert np.isnan(x[2, [0, 1, 2, 5]]).all() and f["text_log_chars"][2] == 0


# ---------------------------------------------------------------------------
# TextSignals
# ---------------------------------------------------------------------------

FILLER = [
    "my bill looks wrong",
    "the service was slow today",
    "I called yesterday about it",
    "the app crashed again",
    "please help me with this",
    "the technician came late",
    "there is a fee on my account",
]


def planted(n: int = 3000, seed: int = 0):
    """Texts where 'cancel my account' means churn 0.8 (else 0.1); 10% empty texts."""
    rng = np.random.default_rng(seed)
    leave = rng.random(n) < 0.3
    money = rng.random(n) < 0.4
    texts = []
    for i in range(n):
        words = " ".join(rng.choice(FILLER, 2))
        words += " and I will cancel my account" if leave[i] else ""
        words += ", I want my money back" if money[i] else ""
        texts.append(words)
    texts = np.array(texts, dtype=object)
    texts[rng.random(n) < 0.1] = ""
    churn = (rng.random(n) < np.where(leave, 0.8, 0.1)).astype(float)
    satisfaction = np.where(money, 3.0, 7.0) + rng.normal(0, 1, n)
    satisfaction[rng.random(n) < 0.5] = np.nan  # unanswered surveys are skipped
    groups = rng.integers(0, n // 3, n)
    return texts, churn, satisfaction, groups


@pytest.fixture(scope="module")
def fitted():
    texts, churn, satisfaction, groups = planted()
    ts = TextSignals(random_state=0)
    oof = ts.fit_transform_oof(
        texts, {"churned": churn, "satisfaction": satisfaction}, groups=groups
    )
    return ts, oof, texts, churn, satisfaction


def test_text_signals_learn_a_planted_signal_out_of_fold(fitted):
    ts, oof, texts, churn, _ = fitted
    assert ts.feature_names_ == ("text_churned", "text_satisfaction")
    assert oof.shape == (len(texts), 2)
    has_text = texts != ""
    assert roc_auc_score(churn[has_text], oof[has_text, 0]) > 0.7
    terms = ts.top_terms("churned", n=10)
    assert any("cancel" in term for term, _ in terms["positive"])
    assert all(w > 0 for _, w in terms["positive"]) and all(w < 0 for _, w in terms["negative"])
    sat_terms = [t for t, _ in ts.top_terms("satisfaction", n=5)["negative"]]
    assert any("money" in t or "back" in t for t in sat_terms)


def test_text_signals_continuous_target_skips_unlabelled(fitted):
    ts, _, _, _, satisfaction = fitted
    assert ts.base_rates_[1] == pytest.approx(np.nanmean(satisfaction))
    low, high = ts.transform(["I want my money back", "the app crashed again"])[:, 1]
    assert low < 5.0 < high


def test_empty_or_unknown_text_scores_the_base_rate(fitted):
    ts, oof, texts, churn, satisfaction = fitted
    base = np.array([churn.mean(), np.nanmean(satisfaction)])
    scores = ts.transform(["", "   ", None, "zzzz qqqq"])
    np.testing.assert_allclose(scores, np.tile(base, (4, 1)))
    # Out of fold, empty rows get their training folds' base rates: close to the global one.
    np.testing.assert_allclose(oof[texts == ""].mean(axis=0), base, rtol=0.05)


def test_term_contributions_name_the_customers_words(fitted):
    ts = fitted[0]
    contrib = ts.term_contributions("please, I will cancel my account", "churned", n=3)
    assert len(contrib) == 3 and any("cancel" in t for t, _ in contrib)
    assert ts.term_contributions("", "churned") == []
    with pytest.raises(KeyError, match="target must be one of"):
        ts.top_terms("nope")


def test_text_signals_pickle_round_trip(fitted, tmp_path):
    ts, _, texts, _, _ = fitted
    joblib.dump(ts, tmp_path / "ts.joblib")
    again = joblib.load(tmp_path / "ts.joblib")
    np.testing.assert_array_equal(again.transform(texts[:50]), ts.transform(texts[:50]))
    assert pickle.loads(pickle.dumps(ts)).feature_names_ == ts.feature_names_


def test_grouped_folds_keep_a_customers_own_words_out():
    # Each customer writes the same unique text; churn is a coin flip per customer.
    # Only leakage between a customer's own complaints could make that predictable.
    rng = np.random.default_rng(1)
    n_customers = 300
    customer = np.repeat(np.arange(n_customers), 4)
    texts = np.array([f"hello account ref{c}x" for c in customer], dtype=object)
    churn = np.repeat(rng.random(n_customers) < 0.5, 4).astype(float)
    ts = TextSignals(min_df=2, C=10.0, random_state=0, min_labelled=5)
    grouped = ts.fit_transform_oof(texts, {"churned": churn}, groups=customer)[:, 0]
    ungrouped = ts.fit_transform_oof(texts, {"churned": churn})[:, 0]
    assert roc_auc_score(churn, ungrouped) > 0.9  # the leak is real
    assert roc_auc_score(churn, grouped) < 0.65


def test_degenerate_targets_fall_back_to_the_base_rate():
    texts = ["cancel now", "all fine", "cancel now", "fine fine"] * 10
    ts = TextSignals(min_df=1).fit(
        texts, {"one_class": np.zeros(40), "unlabelled": np.full(40, np.nan)}
    )
    np.testing.assert_allclose(ts.transform(["cancel now"]), [[0.0, 0.0]])
    # Too few groups to cross-fit: everyone gets the base rate.
    y = np.array([1.0, 0.0] * 20)
    oof = TextSignals(min_df=1).fit_transform_oof(texts, {"y": y}, groups=np.zeros(40))
    np.testing.assert_allclose(oof, 0.5)


def test_fit_with_sample_weight_and_no_vocabulary():
    ts = TextSignals(min_df=5).fit(["a b", "", "c"], {"y": [1, 0, 1]}, sample_weight=[1, 1, 2])
    np.testing.assert_allclose(ts.transform(["a b", ""]), 0.75)


def test_text_signals_validate_inputs():
    with pytest.raises(ValueError, match="targets must name at least one target"):
        TextSignals().fit(["a"], {})
    with pytest.raises(ValueError, match="target 'y' must have one value per text"):
        TextSignals().fit(["a", "b"], {"y": [1.0]})
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2. Got 1"):
        TextSignals(n_splits=1).fit(["a"], {"y": [1.0]})
    with pytest.raises(ValueError, match="sample_weight must have one value per text"):
        TextSignals().fit(["a"], {"y": [1.0]}, sample_weight=[1.0, 2.0])
    with pytest.raises(RuntimeError, match="not fitted"):
        TextSignals().transform(["a"])


def test_tfidf_equals_scikit_learns_transform(fitted):
    from makegood.features.text.cues import as_texts
    from makegood.features.text.signals import _tfidf

    signals = fitted[0]
    texts = as_texts(["", "  ", "refund my money now", "Très déçu!! ÇA SUFFIT", "zzz unseen"] * 3)
    for vec in signals.vectorizers_:
        want, got = vec.transform(texts), _tfidf(vec, texts)
        assert np.array_equal(want.indptr, got.indptr)
        assert np.array_equal(want.indices, got.indices)
        np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-6, atol=1e-7)


LETTER = (
    "I have called XXXX Bank on XX/XX/XXXX, XX/XX/XXXX and XX/XX/XXXX about the same "
    "late fee and every time I am told someone will call me back. Nobody ever does. I have "
    "sent the same documents three times and I am still waiting for an answer. This has "
    "gone on for months and I do n't know what else to do."
)


def test_short_messages_are_read_by_the_rules_and_letters_by_the_model():
    short = ["I AM FURIOUS!!!", "Please update my postal address.", "Why was I charged twice??"]
    assert all(len(t.split()) < SHORT_TEXT_WORDS for t in short)
    assert list(detect_emotion(short)) == list(detect_emotion_rules(short))
    assert len(LETTER.split()) >= SHORT_TEXT_WORDS
    (label,) = detect_emotion([LETTER])
    assert label in EMOTION_LABELS


def test_read_text_detects_like_detect_emotion_for_a_batch_and_for_one():
    texts = np.array([LETTER, "I'm worried about my bill", "", LETTER, "Thanks!"], dtype=object)
    given = np.array([None, None, None, "calm", None], dtype=object)
    emotion, detected, sentiment = read_text(texts, given)
    expected = detect_emotion(texts)
    assert emotion[3] == "calm" and detected.tolist() == [1, 1, 0, 0, 1]
    for i in (0, 1, 4):
        assert emotion[i] == expected[i]
        one, _, one_sentiment = read_text(texts[i : i + 1], given[i : i + 1])
        assert one[0] == emotion[i]
        np.testing.assert_allclose(one_sentiment[0], sentiment[i])
    assert emotion[2] is None


def test_emotion_letters_read_both_formats_and_name_the_bad_line():
    from makegood.features.text.emotion import read_emotion_letters, read_external_emotions

    labels, texts = read_emotion_letters("# header\n\ncalm\tFine letter.\nangry\tYou crooks.\n")
    assert labels == ["calm", "angry"] and texts == ["Fine letter.", "You crooks."]
    with pytest.raises(ValueError, match="emotion_real.txt line 2: .*'happy"):
        read_emotion_letters("calm\tok\nhappy\tnot a label\n")
    undecided = '{"text": "I am lost, what do I do?", "intents": null, "emotion": "confused"}'
    decided = '{"text": "Refund me.", "intents": ["compensation"], "emotion": "frustrated"}'
    labels, texts = read_external_emotions(f"{decided}\n\n{undecided}\n")
    assert labels == ["frustrated", "confused"]  # undecided intents still give an emotion
    assert texts == ["Refund me.", "I am lost, what do I do?"]
    for bad, why in (
        ("{not json", "not a JSON object"),
        ("[1, 2]", "list"),
        ('{"text": "x", "emotion": "sad"}', "sad"),
        ('{"text": "", "emotion": "calm"}', "emotion"),
        ('{"emotion": "calm"}', "emotion"),
    ):
        with pytest.raises(ValueError, match=rf"intents_external.jsonl line 2: .*{why}"):
            read_external_emotions(f"{decided}\n{bad}\n")


def test_emotion_sample_weight_lifts_rare_classes_half_way():
    from makegood.features.text.emotion import EMOTION_CLASS_POWER, emotion_sample_weight

    labels = ["calm"] * 90 + ["confused"] * 10
    w = emotion_sample_weight(labels)
    total = {lab: w[[x == lab for x in labels]].sum() for lab in ("calm", "confused")}
    # each class's total weight ~ n_c ** (1 - power): sqrt(90) : sqrt(10) = 3 : 1 at 0.5
    ratio = (90 / 10) ** (1 - EMOTION_CLASS_POWER)
    assert total["calm"] / total["confused"] == pytest.approx(ratio)
    assert w[0] < 1 < w[-1]


def test_shipped_emotion_model_learned_from_the_external_letters():
    from importlib import resources

    from makegood.features.intents.examples import EXTERNAL_DATA
    from makegood.features.text.emotion import _emotion_model, read_external_emotions

    raw = resources.files("makegood.data").joinpath(EXTERNAL_DATA).read_text("utf-8")
    labels, _ = read_external_emotions(raw)
    assert len(labels) > 4000 and set(labels) == set(EMOTION_LABELS)
    model = _emotion_model()
    assert list(model.classes_) == sorted(EMOTION_LABELS)
    assert model.C == 1.0 and model.n_features_in_ > 11
