"""What the customer said: the shipped intent detector and the functions that ask it.

:func:`default_detector` is trained once on the shipped labelled sentences and cached on
disk; :func:`customer_said` and :func:`customer_said_many` return each voiced intent with
its verbatim quote; :func:`intent_features` the per-intent strengths used as model inputs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from makegood.features.disk_cache import cache_path, load_or_fit
from makegood.features.intents.detector import THRESHOLDS, IntentDetector, threshold_array
from makegood.features.intents.examples import (
    EXTERNAL_DATA,
    EXTRA_TRAINING_DATA,
    INTENTS,
    REAL_TRAINING_DATA,
    TRAINING_DATA,
    training_set,
)
from makegood.features.voicing import signature as voicing_signature

__all__ = [
    "INTENT_FEATURE_NAMES",
    "customer_said",
    "customer_said_many",
    "default_detector",
    "intent_features",
]

#: Bump when the features or the choice rule change, so cached detectors are retrained
#: (4: the pickled analyzer moved to :mod:`~makegood.features.intents.segments`; a new key
#: keeps this cache apart from one written by older code).
_FORMAT = 5  # 5: the word analyzer pickled under its public name


def _cache_path(*parts: str) -> Path:
    return cache_path("intents", str(_FORMAT), voicing_signature(), *parts)


@functools.lru_cache(maxsize=1)
def default_detector() -> IntentDetector:
    """The detector trained on the shipped labelled sentences (:func:`training_set`).

    Trained once per process (a few seconds), and kept on disk (``$MAKEGOOD_CACHE_DIR``,
    default ``~/.cache/makegood``) under a key of the labelled files' content, the cue
    patterns, the thresholds and the library versions, so later processes load it in
    milliseconds. A cache that cannot be read or written is ignored (the detector is then
    trained here).
    """
    files = resources.files("makegood.data")
    data = files.joinpath(TRAINING_DATA).read_text("utf-8")
    real = files.joinpath(REAL_TRAINING_DATA).read_text("utf-8")
    extra = files.joinpath(EXTRA_TRAINING_DATA).read_text("utf-8")
    external = files.joinpath(EXTERNAL_DATA).read_text("utf-8")

    def fit() -> IntentDetector:
        examples, weights = training_set(data, real, extra, external)
        return IntentDetector().fit(examples, sample_weight=weights)

    detector = load_or_fit(_cache_path(data, real, extra, external), IntentDetector, fit)
    detector.thresholds_ = threshold_array(THRESHOLDS)  # a choice, not a fit
    return detector


#: Model inputs read by the detector: each intent's strength in the complaint's words.
INTENT_FEATURE_NAMES = tuple(f"intent_{name}" for name in INTENTS)


def intent_features(texts: Sequence[str | None]) -> np.ndarray:
    """(n, len(INTENTS)) :data:`INTENT_FEATURE_NAMES` of complaint texts (see
    :meth:`IntentDetector.probabilities_many`)."""
    return default_detector().probabilities_many(texts)


def customer_said(text: str | None) -> list[dict[str, str]]:
    """``[{"intent": ..., "quote": ...}, ...]`` for one complaint text (empty when none)."""
    return [s.as_dict() for s in default_detector().detect(text)]


def customer_said_many(texts: Sequence[str | None]) -> list[list[dict[str, str]]]:
    """:func:`customer_said` for many texts, scoring each distinct sentence once.

    Equal texts share one (read-only) list: a batch of 100,000 complaints holds a few
    thousand distinct texts.
    """
    cleaned = [t if isinstance(t, str) else "" for t in texts]
    unique = list(dict.fromkeys(cleaned))
    said = default_detector().detect_many(unique)
    by_text = {t: [s.as_dict() for s in x] for t, x in zip(unique, said, strict=True)}
    return [by_text[t] for t in cleaned]
