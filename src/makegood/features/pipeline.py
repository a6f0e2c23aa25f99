"""One definition of every model input, for a batch frame and for one complaint.

A :class:`FeaturePipeline` (fitted at training: the feature spec, the text-signal
models, the customer memory) turns complaints into the base model matrix:

* :meth:`FeaturePipeline.transform` takes a normalized complaints frame (any size);
* :meth:`FeaturePipeline.transform_one` takes one complaint as a mapping (a request)
  and also returns the named inputs (for explanations).

Both take the complaints' columns as arrays and run the same array functions in the
same order: :func:`~makegood.features.structured.structured_columns` (logs, time of
day), :func:`~makegood.features.text.emotion.read_text` (detected emotion, sentiment),
:meth:`~makegood.features.memory.CustomerMemoryStore.features` (memory as of
``opened_at``, optionally with earlier contacts the store has not seen), the text
signals, and :meth:`FeatureSpec.matrix`. A single complaint is a batch of one, so the
two entry points cannot drift apart (a property test checks they agree).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from makegood.features.intents.said import INTENT_FEATURE_NAMES, intent_features
from makegood.features.memory import (
    MEMORY_CATEGORICAL_FEATURES,
    MEMORY_FEATURE_NAMES,
    CustomerMemoryStore,
    EarlierRows,
)
from makegood.features.structured import (
    CATEGORICAL_BASE,
    NUMERIC_BASE,
    FeatureSpec,
    structured_columns,
)
from makegood.features.text.cues import SENTIMENT_FEATURE_NAMES, _as_texts
from makegood.features.text.emotion import read_text
from makegood.features.text.signals import TextSignals

__all__ = [
    "Features",
    "FeaturePipeline",
    "PROTECTED_DERIVED",
    "assemble",
    "derived_columns",
    "prepare",
    "protected_inputs",
    "raw_columns",
]

#: The complaint columns the features read (all of the contract's scoring input).
RAW_NUMERIC = (
    "severity",
    "disputed_amount",
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "prior_complaints_12m",
)
RAW_LABELS = (
    "complaint_id",
    "customer_id",
    "channel",
    "issue_type",
    "segment",
    "emotion",
    "digital_skill",
)


def raw_columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The columns of a normalized complaints frame as the arrays the features read.

    ``opened_at`` datetime64[ns], numbers float64, labels object, ``complaint_text``
    object ``str`` ("" when missing or absent); an absent label column is all-missing.
    """
    n = len(frame)
    cols: dict[str, np.ndarray] = {
        "opened_at": pd.to_datetime(frame["opened_at"]).to_numpy(dtype="datetime64[ns]")
    }
    for name in RAW_NUMERIC:
        cols[name] = frame[name].to_numpy(dtype=np.float64)
    for name in RAW_LABELS:
        cols[name] = (
            frame[name].to_numpy(dtype=object)
            if name in frame.columns
            else np.full(n, None, dtype=object)
        )
    texts = frame["complaint_text"] if "complaint_text" in frame.columns else np.full(n, "")
    cols["complaint_text"] = _as_texts(texts)
    return cols


def record_columns(record: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """One complaint (a mapping of contract fields) as arrays of length 1.

    ``opened_at`` is a naive UTC :class:`datetime` (or anything numpy reads as one);
    absent optional fields are missing.
    """
    opened = record["opened_at"]
    if isinstance(opened, datetime) and opened.tzinfo is not None:
        raise ValueError("opened_at must be naive UTC. Got a time zone instead.")
    cols: dict[str, np.ndarray] = {
        "opened_at": np.array([np.datetime64(opened, "ns")], dtype="datetime64[ns]")
    }
    for name in RAW_NUMERIC:
        cols[name] = np.array([float(record[name])], dtype=np.float64)
    for name in RAW_LABELS:
        cols[name] = np.array([record.get(name)], dtype=object)
    cols["complaint_text"] = _as_texts([record.get("complaint_text")])
    return cols


def derived_columns(
    cols: Mapping[str, np.ndarray], *, intents: bool = True
) -> dict[str, np.ndarray]:
    """Structured and text-read columns of complaints given as arrays (see
    :func:`raw_columns`): logs, hour and weekday, the emotion with unknown ones detected
    from the text, ``emotion_detected``, the sentiment features and how strongly the
    words voice each intent (:data:`~makegood.features.intents.said.INTENT_FEATURE_NAMES`,
    read by the shipped intent detector: they need no history to learn from, which is
    what a small history lacks; ``intents`` False leaves them out, for a model that does
    not read them)."""
    out = structured_columns(cols)
    emotion, detected, sentiment = read_text(cols["complaint_text"], cols["emotion"])
    out["emotion"] = emotion
    out["emotion_detected"] = detected
    for j, name in enumerate(SENTIMENT_FEATURE_NAMES):
        out[name] = sentiment[:, j]
    if intents:
        strengths = intent_features(list(cols["complaint_text"]))
        for j, name in enumerate(INTENT_FEATURE_NAMES):
            out[name] = strengths[:, j]
    return out


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """A normalized frame with the :func:`derived_columns` added (a copy)."""
    out = df.copy()
    for name, values in derived_columns(raw_columns(df)).items():
        out[name] = pd.Series(values, index=df.index, dtype="str" if name == "emotion" else None)
    return out


@dataclass
class Features:
    """The base model matrix of a batch plus what built it."""

    X: np.ndarray  # (n, p) float32
    spec: FeatureSpec
    columns: dict[str, Any]


#: Model inputs derived from a complaint column: protecting the column drops them too
#: (a column the pipeline needs, e.g. ``segment`` for the customer memory's profile, is
#: still read there, but no model input carries it). ``complaint_text`` drops every
#: input read from the words, the emotion among them (unknown emotions are detected
#: from the text).
PROTECTED_DERIVED: dict[str, tuple[str, ...]] = {
    "disputed_amount": ("log_disputed_amount",),
    "lifetime_value": ("log_lifetime_value",),
    "opened_at": ("hour_of_day", "day_of_week"),
    "channel": ("mem_last_channel", "mem_n_channels"),
    "issue_type": ("mem_repeat_issue", "mem_n_same_issue"),
    "severity": ("mem_last_severity",),
    "emotion": ("emotion_detected", "mem_last_emotion"),
    "complaint_text": (
        *SENTIMENT_FEATURE_NAMES,
        *INTENT_FEATURE_NAMES,
        "emotion",
        "emotion_detected",
        "mem_last_emotion",
    ),
}


def protected_inputs(protected: Sequence[str]) -> set[str]:
    """Every model input name that ``protected`` columns forbid: the columns themselves
    and what is derived from them (:data:`PROTECTED_DERIVED`).

    >>> sorted(protected_inputs(["segment", "lifetime_value"]))
    ['lifetime_value', 'log_lifetime_value', 'segment']
    """
    out = set(protected)
    for col in protected:
        out.update(PROTECTED_DERIVED.get(col, ()))
    return out


def feature_lists(
    text_names: list[str],
    with_memory: bool,
    with_intents: bool = True,
    protected: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(numeric, categorical) input names in model order, without the ``protected``
    columns and what is derived from them (:func:`protected_inputs`)."""
    numeric = [
        *NUMERIC_BASE,
        *SENTIMENT_FEATURE_NAMES,
        *(INTENT_FEATURE_NAMES if with_intents else ()),
        *text_names,
        "emotion_detected",
    ]
    categorical = list(CATEGORICAL_BASE)
    if with_memory:
        numeric += [m for m in MEMORY_FEATURE_NAMES if m not in MEMORY_CATEGORICAL_FEATURES]
        categorical += list(MEMORY_CATEGORICAL_FEATURES)
    drop = protected_inputs(protected)
    if "complaint_text" in protected:
        drop.update(text_names)
    return [c for c in numeric if c not in drop], [c for c in categorical if c not in drop]


def assemble(
    prepared: Mapping[str, Any],
    mem: Mapping[str, Any] | None,
    text_scores: np.ndarray | None,
    text_names: list[str],
    spec: FeatureSpec | None,
    n: int | None = None,
    *,
    with_intents: bool = True,
    protected: Sequence[str] = (),
) -> Features:
    """Join structured, sentiment, memory and text-signal columns into one matrix.

    ``prepared`` holds the raw and derived columns (a prepared frame, or arrays),
    ``mem`` the memory features, ``text_scores`` the (n, len(text_names)) text signals.
    With ``spec`` None the spec is fitted on these columns (training; ``with_intents``
    says whether the intent strengths are inputs, ``protected`` the columns no input
    may carry); a fitted spec reads only its own inputs.
    """
    n = len(prepared) if n is None else n
    cols: dict[str, Any] = {name: prepared[name] for name in prepared}
    if text_scores is not None:
        for j, name in enumerate(text_names):
            cols[name] = text_scores[:, j]
    if mem is not None:
        cols.update({name: mem[name] for name in MEMORY_FEATURE_NAMES})
    if spec is None:
        numeric, categorical = feature_lists(text_names, mem is not None, with_intents, protected)
        spec = FeatureSpec.fit(cols, numeric, categorical)
    return Features(spec.matrix(cols, n), spec, cols)


@dataclass
class FeaturePipeline:
    """The fitted feature pipeline: spec, text signals and customer memory.

    ``memory`` None means the models read no memory (or none is stored).
    """

    spec: FeatureSpec
    text_signals: TextSignals | None = None
    memory: CustomerMemoryStore | None = None

    @property
    def reads_intents(self) -> bool:
        """True when the models read the intent strengths (see :func:`derived_columns`)."""
        return any(name in self.spec.names for name in INTENT_FEATURE_NAMES)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The (n, p) float32 base model matrix of a normalized complaints frame."""
        return self._features(raw_columns(frame), len(frame), None).X

    def transform_one(
        self, record: Mapping[str, Any], *, earlier: EarlierRows | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """The (1, p) model row of one complaint and its named inputs.

        ``record`` maps the contract's complaint fields to values (``opened_at`` a naive
        UTC datetime; ``emotion``, ``digital_skill``, ``complaint_text`` may be None or
        absent). ``earlier`` adds earlier contacts of the customer that the stored
        memory does not hold. The named inputs are the raw fields, the derived and
        memory features and the text signals (labels None when unknown).
        """
        feats = self._features(record_columns(record), 1, earlier)
        return feats.X, {name: _scalar(v[0]) for name, v in feats.columns.items()}

    def _features(
        self, cols: dict[str, np.ndarray], n: int, earlier: EarlierRows | None
    ) -> Features:
        cols.update(derived_columns(cols, intents=self.reads_intents))
        mem = None
        if self.memory is not None:
            mem = self.memory.features(
                cols["customer_id"], cols["opened_at"], cols["issue_type"], extra=earlier
            )
        scores, names = None, []
        if self.text_signals is not None:
            scores = self.text_signals.transform(cols["complaint_text"])
            names = list(self.text_signals.feature_names_)
        return assemble(cols, mem, scores, names, self.spec, n)


def _scalar(value: Any) -> Any:
    """A plain Python value: None for missing labels, builtin numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return math.nan
    return value
