"""The emotion a complaint's words express: rules, a learned model, and filling the column.

:func:`detect_emotion_rules` reads the cues of :mod:`~makegood.features.text.cues` by
fixed rules; :func:`detect_emotion` uses a multinomial logistic regression fit on real
labelled letters for texts of at least :data:`SHORT_TEXT_WORDS` words and the rules
below that. :func:`fill_emotion` (a frame) and :func:`read_text` (arrays, the one
definition for a batch and one complaint) fill unknown emotions from the text. English
only: text in another language mostly comes out "calm".
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from makegood.features.text.cues import (
    SENTIMENT_FEATURE_NAMES,
    as_texts,
    nonempty,
    sentiment_from_cues,
    text_cues,
)

__all__ = [
    "EMOTION_LABELS",
    "detect_emotion",
    "detect_emotion_rules",
    "emotion_sample_weight",
    "fill_emotion",
    "fit_emotion_model",
    "read_emotion_letters",
    "read_external_emotions",
    "read_text",
]

EMOTION_LABELS = ("calm", "confused", "anxious", "frustrated", "angry")

# Emotion thresholds (see detect_emotion's docstring for how they combine).
POSITIVE_COMPOUND = 0.3  # VADER's own "positive" cut is 0.05; 0.3 is clearly positive
NEGATIVE_COMPOUND = -0.3
STRONG_NEGATIVE_COMPOUND = -0.6
SHOUT_UPPER_SHARE = 0.3  # share of (2+ letter) words written in capitals
SHOUT_MIN_UPPER_WORDS = 2  # so one acronym ("ATM") in a short text is not shouting
SHOUT_EXCLAIM = 2
STRONG_POSITIVE_COMPOUND = 0.6
MOSTLY_UPPER_SHARE = 0.5  # with at least MOSTLY_UPPER_MIN_WORDS capitalised words
MOSTLY_UPPER_MIN_WORDS = 3


def _emotion_from_cues(c: Mapping[str, np.ndarray]) -> np.ndarray:
    compound = c["compound"]
    upper_share = np.divide(
        c["n_upper"], c["n_words"], out=np.zeros(len(compound)), where=c["n_words"] > 0
    )
    shouting = (c["n_exclaim"] >= SHOUT_EXCLAIM) | (
        (upper_share >= SHOUT_UPPER_SHARE) & (c["n_upper"] >= SHOUT_MIN_UPPER_WORDS)
    )
    n_anger = c["n_anger"]
    not_positive = compound < POSITIVE_COMPOUND
    angry = not_positive & (
        (shouting & ((n_anger > 0) | (compound <= NEGATIVE_COMPOUND)))
        | (n_anger >= 2)
        | ((n_anger >= 1) & (compound <= STRONG_NEGATIVE_COMPOUND))
        | ((n_anger >= 1) & (c["n_exclaim"] >= 1) & (compound <= NEGATIVE_COMPOUND))
        | ((upper_share >= MOSTLY_UPPER_SHARE) & (c["n_upper"] >= MOSTLY_UPPER_MIN_WORDS))
    )
    anxious = c["n_anxiety"]
    confused = c["n_confusion"] + 0.5 * ((c["n_question"] >= 2) & (compound > NEGATIVE_COMPOUND))
    frustrated = (
        c["n_frustration"]
        + n_anger
        + (compound <= NEGATIVE_COMPOUND)
        + (compound <= STRONG_NEGATIVE_COMPOUND)
        + 0.5 * shouting
        - (compound >= POSITIVE_COMPOUND)
        - (compound >= STRONG_POSITIVE_COMPOUND)
    )
    # Ties go to the earlier column: anxious, then confused, then frustrated.
    scores = np.column_stack([anxious, confused, frustrated])
    best = scores.argmax(axis=1)
    labels = np.array(["anxious", "confused", "frustrated"], dtype=object)[best]
    labels[scores.max(axis=1) <= 0] = "calm"
    labels[angry] = "angry"
    labels[~c["nonempty"]] = None
    return labels


def detect_emotion_rules(texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Detect the emotion of each text with VADER and general English cues, offline.

    Returns an object array with one of ``calm, confused, anxious, frustrated,
    angry`` per text, or None where the text is empty (or only whitespace).

    The rules, in order of precedence (``compound`` is VADER's score in [-1, 1]):

    1. **angry** when the text is not clearly positive (compound < 0.3) and either
       shouts (>= 2 exclamation marks, or >= 30% of its words in capitals with at
       least two such words) while using an anger word or scoring compound <= -0.3;
       or has >= 2 anger words ("furious", "unacceptable", "scam", "sick of", ...);
       or one anger word with compound <= -0.6, or with an exclamation mark and
       compound <= -0.3; or is mostly capitals (>= 50%, >= 3 words).
    2. Otherwise the highest of three scores wins if it is > 0 (ties: anxious,
       confused, frustrated):

       * anxious = anxiety words ("worried", "scared", "urgent", "can't afford", ...),
       * confused = confusion words ("confused", "don't understand", "makes no sense",
         "explain", ...) + 0.5 if >= 2 question marks and compound > -0.3,
       * frustrated = frustration words ("again", "still", "fed up", "no response",
         ...) + anger words + 1 if compound <= -0.3 + 1 if compound <= -0.6 + 0.5 if
         shouting - 1 if compound >= 0.3 - 1 if compound >= 0.6.

       Word hits preceded by a negation ("not worried", "no worries") do not count
       for anxiety or confusion.
    3. **calm** otherwise.

    Identical texts are scored once. Raises nothing; non-string items count as empty.
    This was makegood's detector until it was measured on real complaints;
    :func:`detect_emotion` now uses it for short messages only.
    """
    arr = as_texts(texts)
    if arr.shape[0] == 0:
        return np.empty(0, dtype=object)
    return _emotion_from_cues(text_cues(arr))


#: Real letters labelled with their emotion (the development split of the CFPB narratives,
#: label guide in docs/text.md): EMOTION<TAB>TEXT, written by benchmarks/bench_text.py.
#: The model also learns from the ``emotion`` of every letter of the intents' external file
#: (:data:`~makegood.features.intents.examples.EXTERNAL_DATA`), read where it lives.
EMOTION_TRAINING_DATA = "emotion_real.txt"
#: Below this many words a text is read by the rules (:func:`detect_emotion_rules`): the
#: learned model was fit on letters to a regulator (median ~60 words) and has seen few
#: messages this short; chosen on the development split (cross-validated).
SHORT_TEXT_WORDS = 20
#: Inverse L2 strength of the emotion model, and the power of its class weights
#: (:func:`emotion_sample_weight`): chosen together on the development letters by grouped
#: 5-fold out-of-fold accuracy + macro-F1 (docs/text.md, "Emotion on more real letters").
EMOTION_C = 1.0
EMOTION_CLASS_POWER = 0.5
#: Bump when the model's code changes, so emotion models cached on disk are fitted again.
_FORMAT = "1"
#: Texts whose design (cues, VADER, embedding) enters the cache key: a changed lexicon,
#: embedding table or library changes their numbers and so the key.
_PROBES = (
    "I am furious and worried, why was I charged AGAIN?! Please explain, nobody calls back.",
    "Thank you, the refund arrived and all is fine now.",
)


def _emotion_design(c: Mapping[str, np.ndarray], texts: Sequence[str]) -> np.ndarray:
    """The emotion model's input: VADER scores and cue counts (log-scaled), the share of
    capitalised words, and the text's static embedding (:mod:`makegood.features.language`)."""
    from makegood.features.language import embed

    words = np.maximum(c["n_words"], 1.0)
    cues = np.column_stack(
        [
            c["compound"],
            c["neg"],
            c["pos"],
            np.log1p(c["n_chars"]),
            np.log1p(c["n_exclaim"]),
            np.log1p(c["n_question"]),
            c["n_upper"] / words,
            np.log1p(c["n_anxiety"]),
            np.log1p(c["n_confusion"]),
            np.log1p(c["n_anger"]),
            np.log1p(c["n_frustration"]),
        ]
    )
    return np.hstack([cues, embed(list(texts)).astype(np.float64)])


def emotion_sample_weight(labels: Sequence[str]) -> np.ndarray:
    """Per letter, its class's weight ``(n / (k * n_c)) ** EMOTION_CLASS_POWER`` (``n``
    letters, ``k`` classes present, ``n_c`` of the letter's class): power 1 is scikit-learn's
    "balanced", 0 no weighting; half-way lifts the rare classes (confused, anxious) without
    giving up the accuracy that frustrated and calm carry.

    >>> emotion_sample_weight(["calm", "calm", "calm", "angry"]).round(3).tolist()
    [0.816, 0.816, 0.816, 1.414]
    """
    arr = np.asarray(labels, dtype=object)
    classes, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
    return (len(arr) / (len(classes) * counts[inverse])) ** EMOTION_CLASS_POWER


def fit_emotion_model(X: np.ndarray, labels: Sequence[str]) -> LogisticRegression:
    """The emotion model fit on design rows ``X`` (:func:`_emotion_design`) and their
    ``labels``: a multinomial logistic regression with :data:`EMOTION_C` and
    :func:`emotion_sample_weight`. The one fit for the shipped model and for benchmarks."""
    return LogisticRegression(C=EMOTION_C, max_iter=2000).fit(
        X, list(labels), sample_weight=emotion_sample_weight(labels)
    )


def _label_error(name: str, lineno: int, expected: str, got: object) -> ValueError:
    return ValueError(
        f"{name} line {lineno}: expected {expected} with EMOTION one of "
        f"{list(EMOTION_LABELS)}, got {str(got)[:60]!r}"
    )


def read_emotion_letters(raw: str) -> tuple[list[str], list[str]]:
    """``(labels, texts)`` of :data:`EMOTION_TRAINING_DATA`'s format (EMOTION<TAB>TEXT
    lines; blank and ``#`` lines skipped).

    Raises:
        ValueError: naming the line, when a line is not EMOTION<TAB>TEXT with a known emotion.
    """
    labels, texts = [], []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if label not in EMOTION_LABELS or not text:
            raise _label_error(EMOTION_TRAINING_DATA, lineno, "EMOTION<TAB>TEXT", line)
        labels.append(label)
        texts.append(text)
    return labels, texts


def read_external_emotions(raw: str) -> tuple[list[str], list[str]]:
    """``(labels, texts)`` of every letter of the intents' external file (JSON lines with
    ``emotion`` and ``text``), undecided intents included: a letter whose intents the guide
    could not decide still has an emotion.

    Raises:
        ValueError: naming the line, when a record is not a JSON object with a known
            ``emotion`` and a non-empty ``text``.
    """
    from makegood.features.intents.examples import EXTERNAL_DATA, external_records

    labels, texts = [], []
    expected = 'a JSON object with "emotion": EMOTION and a non-empty "text"'
    for lineno, row in external_records(raw, EXTERNAL_DATA):
        text = row.get("text")
        if row.get("emotion") not in EMOTION_LABELS or not isinstance(text, str) or not text:
            raise _label_error(EXTERNAL_DATA, lineno, expected, json.dumps(row))
        labels.append(row["emotion"])
        texts.append(text)
    return labels, texts


@functools.lru_cache(maxsize=1)
def _emotion_model() -> LogisticRegression:
    """The model fit on the shipped labelled letters (:data:`EMOTION_TRAINING_DATA` and the
    external file's emotions, about 5,000), once: a fit takes ~10 s of CPU (mostly VADER on
    the letters), so it is kept on disk (:mod:`makegood.features.disk_cache`) under a key of
    both files, the model's settings and the design of :data:`_PROBES`; later processes
    load it in milliseconds."""
    import inspect

    from makegood.features.disk_cache import cache_path, load_or_fit
    from makegood.features.intents.examples import EXTERNAL_DATA
    from makegood.features.text import cues

    files = resources.files("makegood.data")
    dev = files.joinpath(EMOTION_TRAINING_DATA).read_text("utf-8")
    external = files.joinpath(EXTERNAL_DATA).read_text("utf-8")
    probe = _emotion_design(text_cues(as_texts(list(_PROBES))), _PROBES)

    def fit() -> LogisticRegression:
        labels, texts = read_emotion_letters(dev)
        more_labels, more_texts = read_external_emotions(external)
        texts += more_texts
        X = _emotion_design(text_cues(as_texts(texts)), texts)
        return fit_emotion_model(X, labels + more_labels)

    settings = (
        f"{EMOTION_C}|{EMOTION_CLASS_POWER}|{SHORT_TEXT_WORDS}|{probe.round(6).tobytes().hex()}"
    )
    path = cache_path("emotion", _FORMAT, settings, inspect.getsource(cues), dev, external)
    return load_or_fit(path, LogisticRegression, fit)


def _emotion_of(c: Mapping[str, np.ndarray], texts: np.ndarray) -> np.ndarray:
    """Emotion labels from cues ``c`` of ``texts``: the learned model for texts of at least
    :data:`SHORT_TEXT_WORDS` words, the rules below that; None for empty texts."""
    out = _emotion_from_cues(c)
    long_ = np.flatnonzero(c["nonempty"] & (c["n_words"] >= SHORT_TEXT_WORDS))
    if long_.size:
        # each distinct text once: a batch repeats a few thousand texts many times
        _, first, inverse = np.unique(texts[long_], return_index=True, return_inverse=True)
        rows = long_[first]
        sub = {k: v[rows] for k, v in c.items()}
        out[long_] = _emotion_model().predict(_emotion_design(sub, list(texts[rows])))[inverse]
    return out


def detect_emotion(texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Detect the emotion of each text, offline, as measured best on real complaints.

    Returns an object array with one of ``calm, confused, anxious, frustrated, angry``
    per text, or None where the text is empty (or only whitespace).

    Texts of at least :data:`SHORT_TEXT_WORDS` words are read by a multinomial logistic
    regression over VADER scores, cue counts and the text's static embedding, fit on real
    letters labelled by the rules in ``docs/text.md``; shorter texts by
    :func:`detect_emotion_rules`. On the held-out real narratives the model's accuracy and
    macro-F1 beat the rules' (``make bench-text``). Raises nothing; non-string items
    count as empty.
    """
    arr = as_texts(texts)
    if arr.shape[0] == 0:
        return np.empty(0, dtype=object)
    return _emotion_of(text_cues(arr), arr)


def fill_emotion(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of a normalized frame with missing emotions detected from the text.

    Rows whose ``emotion`` is NaN and whose ``complaint_text`` is non-empty get
    :func:`detect_emotion`'s label; the new column ``emotion_detected`` is 1 for
    those rows and 0 elsewhere. Rows with neither keep NaN. A frame without an
    ``emotion`` (or ``complaint_text``) column is treated as all-unknown (all-empty).
    """
    out, text = _emotion_frame(df)
    fill = out["emotion"].isna().to_numpy() & nonempty(text)
    labels = detect_emotion(text[fill]) if fill.any() else None
    return _filled(out, fill, labels)


def _emotion_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``df`` sure to have an emotion column, and its texts ("" where none)."""
    out = df.copy()
    if "emotion" not in out.columns:
        out["emotion"] = pd.Series(np.nan, index=out.index, dtype="str")
    text = (
        as_texts(out["complaint_text"].to_numpy(dtype=object))
        if "complaint_text" in out.columns
        else np.full(len(out), "", dtype=object)
    )
    return out, text


def _filled(out: pd.DataFrame, fill: np.ndarray, labels: np.ndarray | None) -> pd.DataFrame:
    """``out`` with ``labels`` written where ``fill`` and the ``emotion_detected`` flag."""
    if labels is not None and fill.any():
        emotion = np.array(out["emotion"].astype(object), dtype=object)
        emotion[fill] = labels
        out["emotion"] = pd.Series(emotion, index=out.index).astype("str")
    out["emotion_detected"] = fill.astype(np.int64)
    return out


def read_text(texts: np.ndarray, emotion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the words say, for arrays of texts (``str``) and given emotions (None/NaN: unknown).

    Returns ``(emotion, emotion_detected, sentiment)``: the emotion with unknown ones
    detected from non-empty texts (object array, None where still unknown), 1 where it
    was detected (int64), and :func:`sentiment_features` (n, 7). The one definition used
    for a batch and for a single complaint.
    """
    n = texts.shape[0]
    if n == 0:
        return (
            np.empty(0, dtype=object),
            np.zeros(0, dtype=np.int64),
            np.empty((0, len(SENTIMENT_FEATURE_NAMES))),
        )
    cues = text_cues(texts)
    known = np.array([isinstance(e, str) for e in emotion], dtype=bool)
    out = np.empty(n, dtype=object)
    out[known] = emotion[known]
    fill = ~known & cues["nonempty"]
    if fill.any():
        out[fill] = _emotion_of({k: v[fill] for k, v in cues.items()}, texts[fill])
    return out, fill.astype(np.int64), sentiment_from_cues(cues)
