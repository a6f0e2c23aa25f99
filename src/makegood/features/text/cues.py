"""Surface cues of a complaint's words: the cue lexicon, VADER scores and sentiment features.

Owns the one reading of a text that emotion and sentiment share (:func:`text_cues`):
VADER polarity scores (its lexicon ships inside the ``vaderSentiment`` wheel, nothing is
downloaded) and counts of surface cues by our own regular expressions. The cue word
lists below are plain, general English emotion vocabulary ("worried", "don't
understand", "furious", "fed up"); none of them names a product, an issue type or any
phrase of our simulator, so the rules carry over to other companies' wording. Both VADER
and the cues are English-only. :func:`sentiment_features` turns the cues into the
model's numeric sentiment and style columns; :mod:`~makegood.features.text.emotion`
turns them into an emotion label. Also the texts' normalisation (:func:`as_texts`:
None and NaN become ``""``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CUE_NAMES",
    "SENTIMENT_FEATURE_NAMES",
    "sentiment_features",
    "text_cues",
]

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

_analyzer: Any = None


def _vader() -> Any:
    """The VADER analyser, built once on first use (loading its lexicon takes ~0.1 s)."""
    global _analyzer
    if _analyzer is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def as_texts(texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Texts as an object array of ``str``; None and NaN become ``""``."""
    arr = np.asarray(texts, dtype=object).reshape(-1)
    out = np.empty(arr.shape[0], dtype=object)
    for i, t in enumerate(arr):
        out[i] = t if isinstance(t, str) else ("" if t is None or _is_nan(t) else str(t))
    return out


def _is_nan(x: object) -> bool:
    return isinstance(x, float) and math.isnan(x)


def nonempty(texts: np.ndarray) -> np.ndarray:
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
    has_text = bool(text.strip())
    compound = neg = pos = 0.0
    if has_text:
        p = _vader().polarity_scores(text[:VADER_MAX_CHARS])
        compound, neg, pos = p["compound"], p["neg"], p["pos"]

    def count(name: str, where: str) -> int:
        return len(_PATTERNS[name].findall(where))

    return (
        float(has_text),
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


def sentiment_features(texts: Sequence[str] | pd.Series | np.ndarray) -> np.ndarray:
    """Numeric sentiment and style features, shape ``(n, len(SENTIMENT_FEATURE_NAMES))``.

    Columns, in :data:`SENTIMENT_FEATURE_NAMES` order: VADER compound, neg and pos;
    ``log1p`` of the number of characters; number of ``!``; share of (2+ letter)
    words written in capitals; number of ``?``. For an empty text the three VADER
    scores and the upper-case share are NaN (unknown, not neutral) and the counts 0.
    """
    arr = as_texts(texts)
    if arr.shape[0] == 0:
        return np.empty((0, len(SENTIMENT_FEATURE_NAMES)))
    return sentiment_from_cues(text_cues(arr))


def sentiment_from_cues(c: Mapping[str, np.ndarray]) -> np.ndarray:
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
