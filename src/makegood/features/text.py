"""What the customer's own words say: emotion, sentiment and learned intent signals.

Two independent parts:

* **Emotion and sentiment** (:func:`detect_emotion`, :func:`fill_emotion`,
  :func:`sentiment_features`): VADER polarity scores (its lexicon ships inside the
  ``vaderSentiment`` wheel, nothing is downloaded) plus a few surface cues counted by
  our own regular expressions. The cue word lists below are plain, general English
  emotion vocabulary ("worried", "don't understand", "furious", "fed up"); none of
  them names a product, an issue type or any phrase of our simulator, so the rules
  carry over to other companies' wording. Both VADER and the cues are English-only:
  text in another language mostly comes out "calm".
* **Intent signals** (:class:`TextSignals`): what the words predict is *learned from
  the data*: one TF-IDF vocabulary and one linear model per target the trainer names
  (e.g. ``churned``, ``low_satisfaction``, ``got_money``). Threats to leave, demands
  for money, loyalty or urgency show up as the terms that move those predictions,
  whatever words a company's customers happen to use.
"""

from __future__ import annotations

import functools
import math
import re
import weakref
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, KFold

__all__ = [
    "EMOTION_LABELS",
    "detect_emotion_rules",
    "SENTIMENT_FEATURE_NAMES",
    "TextSignals",
    "detect_emotion",
    "fill_emotion",
    "sentiment_features",
]

EMOTION_LABELS = ("calm", "confused", "anxious", "frustrated", "angry")

SENTIMENT_FEATURE_NAMES = (
    "text_compound",
    "text_neg",
    "text_pos",
    "text_log_chars",
    "text_n_exclaim",
    "text_upper_share",
    "text_n_question",
)

# VADER is pure Python and roughly linear in the text length; beyond a couple of
# thousand characters its compound score has saturated anyway (it is normalised as
# s / sqrt(s^2 + 15)), so longer texts are scored on their opening.
VADER_MAX_CHARS = 2000

# ---------------------------------------------------------------------------
# Generic English cue vocabularies (lower-case regular expressions, word-bounded).
# ---------------------------------------------------------------------------
_NOT = r"(?:not|no|never|don'?t|doesn'?t|didn'?t|isn'?t|wasn'?t|aren'?t|without|nothing)"

_ANXIETY = (
    r"worr(?:y|ied|ies|ying)|anxious|anxiety|nervous|scared|afraid|frightened|terrified|"
    r"fear(?:ful)?|panic(?:king|ked)?|stress(?:ed|ful|ing)?|desperate(?:ly)?|concerned|uneasy|"
    r"urgent(?:ly)?|asap|emergency"
)
_ANXIETY_PHRASES = (
    r"can'?t afford|cannot afford|can'?t sleep|what if|what will happen|what happens if|"
    r"as soon as possible|before it'?s too late|please help|help me|i need help|"
    r"need your help|i'?m begging"
)

_CONFUSION = (
    r"confus(?:ed|ing|ion)|unclear|puzzled|baffled|bewildered|perplexed|unsure|"
    r"clarify|clarification"
)
_CONFUSION_PHRASES = (
    r"(?:don'?t|do not|doesn'?t|does not|didn'?t|did not|can'?t|cannot) understand|"
    r"(?:doesn'?t|does not|don'?t|do not) make (?:any )?sense|makes? no sense|not sure|"
    r"no idea|not clear|(?:can'?t|cannot) (?:figure|work) (?:(?:it|this|that) )?out|"
    r"(?:please )?explain|(?:none|nothing) of (?:this|it|that) makes (?:any )?sense|"
    r"(?:i'?m|i am|feel) (?:a bit |so |completely )?lost|"
    r"what does (?:this|that|it) mean|how come|don'?t know why|don'?t get (?:it|why)|"
    r"what is (?:this|that)|why (?:was|am|have|has|is|did|do|does) (?:i|my|this|it|there)"
)

_ANGER = (
    r"furious|outrag(?:ed|eous)|livid|disgust(?:ed|ing)|disgrace(?:ful)?|appall(?:ed|ing)|"
    r"unacceptable|ridiculous|pathetic|incompetent|useless|scam(?:med)?|fraud|thie(?:f|ves)|"
    r"rip-?off|liars?|lied|hate|insult(?:ed|ing)?|rude|worst"
)
_ANGER_PHRASES = r"rip off|sick of|how dare|shame on you|sick and tired"

_FRUSTRATION = (
    r"again|still|repeatedly|keeps?|kept|frustrat(?:ed|ing|ion)|annoy(?:ed|ing)|irritat(?:ed|ing)|"
    r"disappoint(?:ed|ing)|unhappy|waste(?:d)?|waiting|nobody|ignored"
)
_FRUSTRATION_PHRASES = (
    r"fed up|tired of|every time|(?:second|third|fourth|fifth|several|many|multiple) times?|"
    r"no one|no response|not happy|not good enough|on hold"
)


def _words(alternatives: str) -> str:
    return rf"\b(?:{alternatives})\b"


_RE_ANXIETY = _words(f"{_ANXIETY}|{_ANXIETY_PHRASES}")
_RE_ANXIETY_NEGATED = rf"\b{_NOT}\s+(?:\w+\s+)?(?:{_ANXIETY})\b"
_RE_CONFUSION = _words(f"{_CONFUSION}|{_CONFUSION_PHRASES}")
_RE_CONFUSION_NEGATED = rf"\b{_NOT}\s+(?:\w+\s+)?(?:{_CONFUSION})\b"
_RE_ANGER = _words(f"{_ANGER}|{_ANGER_PHRASES}")
_RE_FRUSTRATION = _words(f"{_FRUSTRATION}|{_FRUSTRATION_PHRASES}")
_RE_UPPER_WORD = r"\b[A-Z]{2,}\b"
_RE_ANY_WORD = r"\b[A-Za-z]{2,}\b"

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

_analyzer: Any = None


def _vader() -> Any:
    """The VADER analyser, built once on first use (loading its lexicon takes ~0.1 s)."""
    global _analyzer
    if _analyzer is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def _as_texts(texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Texts as an object array of ``str``; None and NaN become ``""``."""
    arr = np.asarray(texts, dtype=object).reshape(-1)
    out = np.empty(arr.shape[0], dtype=object)
    for i, t in enumerate(arr):
        out[i] = t if isinstance(t, str) else ("" if t is None or _is_nan(t) else str(t))
    return out


def _is_nan(x: object) -> bool:
    return isinstance(x, float) and math.isnan(x)


def _nonempty(texts: np.ndarray) -> np.ndarray:
    return np.fromiter((bool(t.strip()) for t in texts), dtype=bool, count=texts.shape[0])


# One definition for a batch and for one text: Python's ``re`` with ASCII classes
# (``\b``, ``\w``), applied per unique text.
_PATTERNS = {
    name: re.compile(pattern, re.ASCII)
    for name, pattern in (
        ("n_upper", _RE_UPPER_WORD),
        ("n_words", _RE_ANY_WORD),
        ("anxiety", _RE_ANXIETY),
        ("anxiety_neg", _RE_ANXIETY_NEGATED),
        ("confusion", _RE_CONFUSION),
        ("confusion_neg", _RE_CONFUSION_NEGATED),
        ("anger", _RE_ANGER),
        ("frustration", _RE_FRUSTRATION),
    )
}
CUE_NAMES = (
    "nonempty",
    "compound",
    "neg",
    "pos",
    "n_chars",
    "n_exclaim",
    "n_question",
    "n_upper",
    "n_words",
    "n_anxiety",
    "n_confusion",
    "n_anger",
    "n_frustration",
)


def _cues_of(text: str) -> tuple[float, ...]:
    """The cues of one text, in :data:`CUE_NAMES` order (see :func:`text_cues`)."""
    s = text.replace("\u2019", "'")
    low = s.lower()
    nonempty = bool(text.strip())
    compound = neg = pos = 0.0
    if nonempty:
        p = _vader().polarity_scores(text[:VADER_MAX_CHARS])
        compound, neg, pos = p["compound"], p["neg"], p["pos"]

    def count(name: str, where: str) -> int:
        return len(_PATTERNS[name].findall(where))

    return (
        float(nonempty),
        compound,
        neg,
        pos,
        float(len(s)),
        float(s.count("!")),
        float(s.count("?")),
        float(count("n_upper", s)),
        float(count("n_words", s)),
        float(max(count("anxiety", low) - count("anxiety_neg", low), 0)),
        float(max(count("confusion", low) - count("confusion_neg", low), 0)),
        float(count("anger", low)),
        float(count("frustration", low)),
    )


def text_cues(texts: np.ndarray) -> dict[str, np.ndarray]:
    """VADER scores and surface cues of each text (an object array of ``str``).

    Returns one float64 array per name of :data:`CUE_NAMES` (``nonempty`` bool):
    nonempty, compound, neg, pos, n_chars, n_exclaim, n_question, n_upper, n_words,
    n_anxiety, n_confusion, n_anger, n_frustration (lexicon hits net of negations such
    as "not worried"; floored at 0). Empty texts get zeros. Identical texts are scored
    once; one text costs what it costs inside a batch.
    """
    n = texts.shape[0]
    if n == 1:
        table = np.asarray([_cues_of(texts[0])], dtype=np.float64)
    elif n == 0:
        table = np.zeros((0, len(CUE_NAMES)))
    else:
        uniques, inverse = np.unique(texts, return_inverse=True)
        table = np.asarray([_cues_of(t) for t in uniques], dtype=np.float64)[inverse]
    out: dict[str, np.ndarray] = {name: table[:, j] for j, name in enumerate(CUE_NAMES)}
    out["nonempty"] = out["nonempty"] > 0
    return out


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
    arr = _as_texts(texts)
    if arr.shape[0] == 0:
        return np.empty(0, dtype=object)
    return _emotion_from_cues(text_cues(arr))


#: Real letters labelled with their emotion (the development split of the CFPB narratives,
#: label guide in docs/text.md): EMOTION<TAB>TEXT, written by benchmarks/bench_text.py.
EMOTION_TRAINING_DATA = "emotion_real.txt"
#: Below this many words a text is read by the rules (:func:`detect_emotion_rules`): the
#: learned model was fit on letters to a regulator (median ~60 words) and has seen few
#: messages this short; chosen on the development split (cross-validated).
SHORT_TEXT_WORDS = 20
#: Inverse L2 strength of the emotion model (chosen on the development split).
EMOTION_C = 3.0


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


@functools.lru_cache(maxsize=1)
def _emotion_model() -> LogisticRegression:
    """A multinomial logistic regression fit once per process (well under a second) on the
    shipped labelled letters (:data:`EMOTION_TRAINING_DATA`)."""
    raw = resources.files("makegood.data").joinpath(EMOTION_TRAINING_DATA).read_text("utf-8")
    labels, texts = [], []
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if label not in EMOTION_LABELS or not text:
            raise ValueError(
                f"{EMOTION_TRAINING_DATA} line {lineno}: expected EMOTION<TAB>TEXT with EMOTION "
                f"one of {list(EMOTION_LABELS)}, got {line[:60]!r}"
            )
        labels.append(label)
        texts.append(text)
    arr = _as_texts(texts)
    X = _emotion_design(text_cues(arr), texts)
    return LogisticRegression(C=EMOTION_C, max_iter=2000).fit(X, labels)


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
    arr = _as_texts(texts)
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
    fill = out["emotion"].isna().to_numpy() & _nonempty(text)
    labels = detect_emotion(text[fill]) if fill.any() else None
    return _filled(out, fill, labels)


def _emotion_frame(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """A copy of ``df`` sure to have an emotion column, and its texts ("" where none)."""
    out = df.copy()
    if "emotion" not in out.columns:
        out["emotion"] = pd.Series(np.nan, index=out.index, dtype="str")
    text = (
        _as_texts(out["complaint_text"].to_numpy(dtype=object))
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


def sentiment_features(texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Numeric sentiment and style features, shape ``(n, len(SENTIMENT_FEATURE_NAMES))``.

    Columns, in :data:`SENTIMENT_FEATURE_NAMES` order: VADER compound, neg and pos;
    ``log1p`` of the number of characters; number of ``!``; share of (2+ letter)
    words written in capitals; number of ``?``. For an empty text the three VADER
    scores and the upper-case share are NaN (unknown, not neutral) and the counts 0.
    """
    arr = _as_texts(texts)
    if arr.shape[0] == 0:
        return np.empty((0, len(SENTIMENT_FEATURE_NAMES)))
    return _sentiment_from_cues(text_cues(arr))


def _sentiment_from_cues(c: Mapping[str, np.ndarray]) -> np.ndarray:
    empty = ~c["nonempty"]
    n_words = c["n_words"]
    upper_share = np.divide(c["n_upper"], n_words, out=np.zeros(len(n_words)), where=n_words > 0)
    out = np.column_stack(
        [
            c["compound"],
            c["neg"],
            c["pos"],
            np.log1p(c["n_chars"]),
            c["n_exclaim"],
            upper_share,
            c["n_question"],
        ]
    ).astype(np.float64)
    out[empty, 0:3] = np.nan
    out[empty, 5] = np.nan
    return out


# ---------------------------------------------------------------------------
# Learned intent signals
# ---------------------------------------------------------------------------


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


_ANALYZERS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _tfidf(vec: TfidfVectorizer, texts: np.ndarray) -> sp.csr_matrix:
    """``vec.transform(texts)`` for a fitted sublinear, l2-normalized TF-IDF vectorizer,
    without scikit-learn's per-call input validation (the most of its cost for one text).

    The same steps in the same precision (float32): term counts over the vectorizer's
    own analyzer, ``1 + log(count)``, times ``idf``, each row scaled to unit length.
    """
    analyze = _ANALYZERS.get(vec)
    if analyze is None:
        analyze = _ANALYZERS[vec] = vec.build_analyzer()
    vocabulary = vec.vocabulary_
    indices: list[int] = []
    counts: list[int] = []
    indptr = [0]
    for doc in texts:
        found: dict[int, int] = {}
        for term in analyze(doc):
            j = vocabulary.get(term)
            if j is not None:
                found[j] = found.get(j, 0) + 1
        for j in sorted(found):
            indices.append(j)
            counts.append(found[j])
        indptr.append(len(indices))
    data = np.asarray(counts, dtype=np.float32)
    cols = np.asarray(indices, dtype=np.int32)
    starts = np.asarray(indptr, dtype=np.int64)
    if len(data):
        np.log(data, out=data)
        data += np.float32(1.0)
        data *= vec.idf_[cols]
        lengths = np.diff(starts)
        rows = lengths > 0
        norms = np.sqrt(np.add.reduceat(np.square(data, dtype=np.float64), starts[:-1][rows]))
        data = (data / np.repeat(norms, lengths[rows])).astype(np.float32)
    return sp.csr_matrix((data, cols, starts), shape=(len(texts), len(vec.idf_)), dtype=np.float32)


class TextSignals:
    """Learned text signals: one TF-IDF vocabulary, one linear model per named target.

    For each target ``t`` (binary 0/1 or continuous; NaN = unlabelled, skipped) the
    score of a text ``x`` is

    * binary: ``sigmoid(w_t . tfidf(x) + b_t)`` (L2 logistic regression, inverse
      strength ``C``),
    * continuous: ``w_t . tfidf(x) + b_t`` (ridge regression, strength ``alpha``),

    except that a text with no known term (empty, or all words unseen in training)
    scores the target's base rate (weighted mean over its labelled training rows), so
    that missing text never looks informative.

    Parameters
    ----------
    max_features : int
        Vocabulary size of the word (1-``max_ngram``)-gram TF-IDF (and, separately,
        of the character n-gram TF-IDF when ``char_ngrams``).
    min_df : int
        A term must occur in at least this many texts.
    max_ngram : int
        Longest word n-gram.
    char_ngrams : bool
        Also use character 2-5-grams within word boundaries (robust to misspellings;
        about twice as slow).
    C : float
        Inverse L2 strength of the logistic models.
    alpha : float
        L2 strength of the ridge models.
    n_splits : int
        Folds used by :meth:`fit_transform_oof`.
    min_labelled : int
        Fewer labelled non-empty texts than this (or a single class) gives a target a
        constant base-rate model.
    random_state : int or None
        Seeds the fold assignment.
    """

    def __init__(
        self,
        *,
        max_features: int = 20_000,
        min_df: int = 2,
        max_ngram: int = 2,
        char_ngrams: bool = False,
        C: float = 1.0,
        alpha: float = 1.0,
        n_splits: int = 5,
        min_labelled: int = 20,
        random_state: int | None = 0,
    ) -> None:
        self.max_features = max_features
        self.min_df = min_df
        self.max_ngram = max_ngram
        self.char_ngrams = char_ngrams
        self.C = C
        self.alpha = alpha
        self.n_splits = n_splits
        self.min_labelled = min_labelled
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str] | pd.Series | np.ndarray,
        targets: Mapping[str, np.ndarray | Sequence[float] | pd.Series],
        sample_weight: np.ndarray | Sequence[float] | None = None,
    ) -> TextSignals:
        """Learn the vocabulary and one model per target; return ``self``.

        Raises ValueError when ``targets`` is empty, a target or ``sample_weight``
        has a different length from ``texts``, or a parameter is out of range.
        """
        arr, ys, w = self._validate(texts, targets, sample_weight)
        X = self._fit_vectorizers(arr)
        self._fit_models(X, ys, w, np.ones(arr.shape[0], dtype=bool))
        return self

    def fit_transform_oof(
        self,
        texts: Sequence[str] | pd.Series | np.ndarray,
        targets: Mapping[str, np.ndarray | Sequence[float] | pd.Series],
        groups: np.ndarray | Sequence[Any] | pd.Series | None = None,
        sample_weight: np.ndarray | Sequence[float] | None = None,
    ) -> np.ndarray:
        """Out-of-fold scores for the training rows, then fit on all rows.

        Rows are split into ``n_splits`` folds (grouped by ``groups``, e.g. the
        customer id, so one customer's other complaints never score their own); each
        fold is scored by models fitted on the other folds. The TF-IDF vocabulary and
        idf weights are fitted once on all texts: they use no target, so sharing them
        leaks no label. Afterwards the object is fitted on all rows exactly as
        :meth:`fit` would, ready for :meth:`transform`.

        Returns an array ``(n, n_targets)`` in ``feature_names_`` order. With fewer
        than two groups (or rows) no cross-fitting is possible and every row gets the
        base rate.
        """
        arr, ys, w = self._validate(texts, targets, sample_weight)
        n = arr.shape[0]
        X = self._fit_vectorizers(arr)
        all_rows = np.ones(n, dtype=bool)
        folds = self._folds(n, groups)
        if not folds:
            self._fit_models(X, ys, w, all_rows)
            return np.tile(self.base_rates_, (n, 1))
        oof = np.empty((n, len(ys)))
        for train, test in folds:
            train_rows = np.zeros(n, dtype=bool)
            train_rows[train] = True
            self._fit_models(X, ys, w, train_rows)
            oof[test] = self._score(X[test])
        self._fit_models(X, ys, w, all_rows)
        return oof

    def _validate(
        self,
        texts: Sequence[str] | pd.Series | np.ndarray,
        targets: Mapping[str, np.ndarray | Sequence[float] | pd.Series],
        sample_weight: np.ndarray | Sequence[float] | None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        for name, value, low in (
            ("max_features", self.max_features, 1),
            ("min_df", self.min_df, 1),
            ("max_ngram", self.max_ngram, 1),
            ("n_splits", self.n_splits, 2),
            ("min_labelled", self.min_labelled, 1),
        ):
            if not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}. Got {value!r} instead.")
        for name, strength in (("C", self.C), ("alpha", self.alpha)):
            if not (
                isinstance(strength, (int, float)) and strength > 0 and math.isfinite(strength)
            ):
                raise ValueError(f"{name} must be a finite number > 0. Got {strength!r} instead.")
        arr = _as_texts(texts)
        n = arr.shape[0]
        if not targets:
            raise ValueError("targets must name at least one target. Got an empty mapping.")
        ys: dict[str, np.ndarray] = {}
        for name, y in targets.items():
            y_arr = np.asarray(y, dtype=np.float64).reshape(-1)
            if y_arr.shape[0] != n:
                raise ValueError(
                    f"target {name!r} must have one value per text ({n}). "
                    f"Got {y_arr.shape[0]} instead."
                )
            ys[str(name)] = y_arr
        if sample_weight is None:
            w = np.ones(n)
        else:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            if w.shape[0] != n:
                raise ValueError(
                    f"sample_weight must have one value per text ({n}). Got {w.shape[0]} instead."
                )
            if not np.all(np.isfinite(w) & (w >= 0)):
                raise ValueError("sample_weight must be finite and >= 0. Got other values.")
        return arr, ys, w

    def _fit_vectorizers(self, texts: np.ndarray) -> sp.csr_matrix:
        """Fit the TF-IDF vectoriser(s) on the non-empty texts; return all rows' matrix."""
        self.__dict__.pop("_last_vector", None)
        specs: list[dict[str, Any]] = [
            {"analyzer": "word", "ngram_range": (1, self.max_ngram), "strip_accents": "unicode"}
        ]
        if self.char_ngrams:
            specs.append({"analyzer": "char_wb", "ngram_range": (2, 5)})
        corpus = texts[_nonempty(texts)]
        self.vectorizers_: list[TfidfVectorizer] = []
        terms: list[np.ndarray] = []
        for spec in specs:
            vec = TfidfVectorizer(
                sublinear_tf=True,
                min_df=self.min_df,
                max_features=self.max_features,
                dtype=np.float32,
                **spec,
            )
            try:
                vec.fit(corpus)
            except ValueError:  # empty vocabulary: too few or too short texts
                continue
            # The pruned terms are only kept for inspection and bloat the pickle.
            if hasattr(vec, "stop_words_"):
                del vec.stop_words_
            self.vectorizers_.append(vec)
            prefix = "" if spec["analyzer"] == "word" else "chars:"
            terms.append(np.array([prefix + t for t in vec.get_feature_names_out()], dtype=object))
        self.terms_ = np.concatenate(terms) if terms else np.empty(0, dtype=object)
        return self._vectorize(texts)

    def _vectorize(self, texts: np.ndarray) -> sp.csr_matrix:
        if not self.vectorizers_:
            return sp.csr_matrix((texts.shape[0], 0), dtype=np.float32)
        # one complaint is scored, then its words explained: vectorize its text once
        single = texts.shape[0] == 1
        last = self.__dict__.get("_last_vector")
        if single and last is not None and last[0] == texts[0]:
            return last[1]
        blocks = [_tfidf(vec, texts) for vec in self.vectorizers_]
        X = sp.csr_matrix(blocks[0] if len(blocks) == 1 else sp.hstack(blocks, format="csr"))
        if single:
            self.__dict__["_last_vector"] = (texts[0], X)
        return X

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_last_vector", None)
        return state

    def _fit_models(
        self, X: sp.csr_matrix, ys: dict[str, np.ndarray], w: np.ndarray, rows: np.ndarray
    ) -> None:
        n_terms = X.shape[1]
        has_terms = np.diff(X.indptr) > 0
        self.target_names_ = tuple(ys)
        self.feature_names_ = tuple(f"text_{name}" for name in ys)
        self.coef_ = np.zeros((n_terms, len(ys)))
        self.intercept_ = np.zeros(len(ys))
        self.base_rates_ = np.zeros(len(ys))
        self.is_binary_ = np.zeros(len(ys), dtype=bool)
        self.is_constant_ = np.zeros(len(ys), dtype=bool)
        for j, y in enumerate(ys.values()):
            labelled = rows & np.isfinite(y) & (w > 0)
            y_lab = y[labelled]
            binary = bool(np.isin(y_lab, (0.0, 1.0)).all())
            self.is_binary_[j] = binary
            base = float(np.average(y_lab, weights=w[labelled])) if labelled.any() else np.nan
            if not labelled.any():
                # Nothing to learn from; in full-data fits fall back to the global mean
                finite = y[np.isfinite(y)]
                base = float(finite.mean()) if finite.size else 0.0
            self.base_rates_[j] = base
            fit_rows = labelled & has_terms
            n_fit = int(fit_rows.sum())
            if n_fit < self.min_labelled or n_terms == 0 or np.unique(y[fit_rows]).size < 2:
                self.is_constant_[j] = True
                continue
            if binary:
                model: LogisticRegression | Ridge = LogisticRegression(C=self.C, max_iter=300)
            else:
                model = Ridge(alpha=self.alpha)
            model.fit(X[fit_rows], y[fit_rows], sample_weight=w[fit_rows])
            self.coef_[:, j] = np.ravel(model.coef_)
            self.intercept_[j] = float(np.ravel(model.intercept_)[0])
        self.n_targets_ = len(ys)

    def _folds(self, n: int, groups: Any) -> list[tuple[np.ndarray, np.ndarray]]:
        """Train/test index pairs; empty when fewer than two rows or groups."""
        if groups is None:
            if n < 2:
                return []
            splitter = KFold(
                n_splits=min(self.n_splits, n), shuffle=True, random_state=self.random_state
            )
            return list(splitter.split(np.zeros(n)))
        g = np.asarray(groups, dtype=object).reshape(-1)
        if g.shape[0] != n:
            raise ValueError(
                f"groups must have one value per text ({n}). Got {g.shape[0]} instead."
            )
        codes = pd.factorize(g, use_na_sentinel=False)[0]
        n_groups = int(codes.max()) + 1 if n else 0
        if n_groups < 2:
            return []
        gkf = GroupKFold(
            n_splits=min(self.n_splits, n_groups), shuffle=True, random_state=self.random_state
        )
        return list(gkf.split(np.zeros(n), groups=codes))

    # -- scoring -----------------------------------------------------------

    def _score(self, X: sp.csr_matrix) -> np.ndarray:
        z = np.asarray(X @ self.coef_) + self.intercept_
        out = np.where(self.is_binary_, _sigmoid(z), z)
        out[:, self.is_constant_] = self.base_rates_[self.is_constant_]
        out[np.diff(X.indptr) == 0] = self.base_rates_
        return out

    def transform(self, texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
        """Scores ``(n, n_targets)`` in ``feature_names_`` order.

        Probabilities for binary targets, predictions for continuous ones; the base
        rate for texts with no known term. Raises RuntimeError before ``fit``.
        """
        self._check_fitted()
        arr = _as_texts(texts)
        return self._score(self._vectorize(arr))

    def top_terms(self, target: str, n: int = 10) -> dict[str, list[tuple[str, float]]]:
        """The ``n`` terms that most raise and most lower a target's score.

        Returns ``{"positive": [(term, weight), ...], "negative": [...]}``, each sorted
        by decreasing strength; weights are model coefficients (log-odds per unit of
        TF-IDF for binary targets). Only non-zero weights are listed. Raises KeyError
        for an unknown target.
        """
        coef = self.coef_[:, self._target_index(target)]
        order = np.argsort(coef, kind="stable")
        pos = [(str(self.terms_[i]), float(coef[i])) for i in order[::-1][:n] if coef[i] > 0]
        neg = [(str(self.terms_[i]), float(coef[i])) for i in order[:n] if coef[i] < 0]
        return {"positive": pos, "negative": neg}

    def term_contributions(self, text: str, target: str, n: int = 5) -> list[tuple[str, float]]:
        """The terms of one text that move its score most, as ``(term, tfidf * weight)``.

        Sorted by decreasing absolute contribution; empty for a text with no known
        term. Raises KeyError for an unknown target.
        """
        j = self._target_index(target)
        x = self._vectorize(_as_texts([text]))
        contrib = x.data * self.coef_[x.indices, j]
        order = np.argsort(-np.abs(contrib), kind="stable")[:n]
        return [(str(self.terms_[x.indices[i]]), float(contrib[i])) for i in order]

    def _target_index(self, target: str) -> int:
        self._check_fitted()
        try:
            return self.target_names_.index(target)
        except ValueError:
            raise KeyError(
                f"target must be one of {list(self.target_names_)}. Got {target!r} instead."
            ) from None

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise RuntimeError("This TextSignals is not fitted yet; call fit first.")

    def __repr__(self) -> str:
        return (
            f"TextSignals(max_features={self.max_features}, min_df={self.min_df}, "
            f"max_ngram={self.max_ngram}, char_ngrams={self.char_ngrams}, C={self.C}, "
            f"alpha={self.alpha}, n_splits={self.n_splits}, "
            f"min_labelled={self.min_labelled}, random_state={self.random_state})"
        )


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
    return out, fill.astype(np.int64), _sentiment_from_cues(cues)
