"""The model row of one complaint, built without pandas on the request path.

:func:`makegood.modeling.predict.features_for` builds the base model matrix of a batch
through pandas; for one complaint that costs several milliseconds, most of it fixed
overhead (frame construction, vectorised string ops on one string). :class:`RowFeatures`
reproduces it for a single complaint with plain Python and numpy on the same inputs:
the bundle's feature spec, VADER, the fitted text signals and the customer memory.

It is an optimisation, not a second definition: :meth:`RowFeatures.self_check` compares
it with ``features_for`` on rows built from the bundle's own memory, and the server falls
back to the exact batch path (per request) when they disagree or when a text is not
ASCII (pandas' regex engine and Python's may differ on non-ASCII word boundaries).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from makegood.features import text as text_mod
from makegood.features.memory import MEMORY_FEATURE_NAMES, WINDOW_DAYS

__all__ = ["RowFeatures", "complaint_frame"]

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1)
_NS_PER_DAY = 86_400 * 10**9
_FLAGS = re.ASCII
_RE = {
    "n_upper": re.compile(text_mod._RE_UPPER_WORD, _FLAGS),
    "n_words": re.compile(text_mod._RE_ANY_WORD, _FLAGS),
    "anxiety": re.compile(text_mod._RE_ANXIETY, _FLAGS),
    "anxiety_neg": re.compile(text_mod._RE_ANXIETY_NEGATED, _FLAGS),
    "confusion": re.compile(text_mod._RE_CONFUSION, _FLAGS),
    "confusion_neg": re.compile(text_mod._RE_CONFUSION_NEGATED, _FLAGS),
    "anger": re.compile(text_mod._RE_ANGER, _FLAGS),
    "frustration": re.compile(text_mod._RE_FRUSTRATION, _FLAGS),
}


def _ns(moment: datetime) -> int:
    """Naive UTC datetime -> int64 nanoseconds since the epoch (as pandas stores it)."""
    return ((moment - _EPOCH) // timedelta(microseconds=1)) * 1000


def _count(name: str, text: str) -> float:
    return float(len(_RE[name].findall(text)))


def text_cues(text: str) -> dict[str, float] | None:
    """The cues of ``makegood.features.text._text_cues`` for one text; None if not ASCII."""
    s = text.replace("\u2019", "'")
    if not s.isascii():
        return None
    low = s.lower()
    nonempty = bool(text.strip())
    compound = neg = pos = 0.0
    if nonempty:
        p = text_mod._vader().polarity_scores(text[: text_mod.VADER_MAX_CHARS])
        compound, neg, pos = p["compound"], p["neg"], p["pos"]
    return {
        "nonempty": nonempty,
        "compound": compound,
        "neg": neg,
        "pos": pos,
        "n_chars": float(len(s)),
        "n_exclaim": float(s.count("!")),
        "n_question": float(s.count("?")),
        "n_upper": _count("n_upper", s),
        "n_words": _count("n_words", s),
        "n_anxiety": max(_count("anxiety", low) - _count("anxiety_neg", low), 0.0),
        "n_confusion": max(_count("confusion", low) - _count("confusion_neg", low), 0.0),
        "n_anger": _count("anger", low),
        "n_frustration": _count("frustration", low),
    }


def sentiment_row(cues: Mapping[str, float]) -> list[float]:
    """``sentiment_features`` of one text from its cues (SENTIMENT_FEATURE_NAMES order)."""
    n_words = cues["n_words"]
    upper_share = cues["n_upper"] / n_words if n_words > 0 else 0.0
    out = [
        cues["compound"],
        cues["neg"],
        cues["pos"],
        float(np.log1p(cues["n_chars"])),
        cues["n_exclaim"],
        upper_share,
        cues["n_question"],
    ]
    if not cues["nonempty"]:
        out[0] = out[1] = out[2] = out[5] = math.nan
    return out


def complaint_frame(complaint: Mapping[str, Any]) -> pd.DataFrame:
    """A one-row normalized complaints frame (the exact, slow path's input)."""
    row = dict(complaint)
    for col in ("emotion", "digital_skill"):
        if row.get(col) is None:
            row[col] = np.nan
    frame = pd.DataFrame([row])
    frame["opened_at"] = pd.to_datetime(frame["opened_at"]).astype("datetime64[ns]")
    for col in ("severity", "tenure_months", "prior_complaints_12m"):
        frame[col] = frame[col].astype(np.int64)
    for col in ("disputed_amount", "annual_value", "lifetime_value"):
        frame[col] = frame[col].astype(np.float64)
    for col in ("emotion", "digital_skill"):
        frame[col] = frame[col].astype("str")
    return frame


class _Column(np.ndarray):
    """A one-value column that answers ``to_numpy()`` like a pandas Series."""

    def to_numpy(self) -> np.ndarray:
        return np.asarray(self)


class _OneRow:
    """The one-row cues frame ``text._emotion_from_cues`` reads (``c[name]``, ``len``),
    without building a DataFrame (about 1 ms); same dtypes, same function."""

    def __init__(self, cues: Mapping[str, Any]) -> None:
        self._cues = cues

    def __len__(self) -> int:
        return 1

    def __getitem__(self, name: str) -> _Column:
        return np.asarray([self._cues[name]]).view(_Column)


@dataclass
class _Customer:
    """One customer's stored complaints in store order (time, complaint_id)."""

    t: np.ndarray  # int64 ns
    issue: list[str]
    channel: list[str]
    resolution: list[Any]
    compensation: np.ndarray
    satisfaction: np.ndarray
    severity: np.ndarray
    emotion: list[Any]
    cum_compensation: np.ndarray
    cum_satisfaction: np.ndarray
    cum_answered: np.ndarray
    cum_channels: np.ndarray


class RowFeatures:
    """Builds the base model row of one normalized complaint, as ``features_for`` does.

    Parameters:
        bundle: a loaded :class:`~makegood.modeling.bundle.Bundle`.
    """

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle
        spec = bundle.engine.spec
        self.names: list[str] = spec.names
        self.numeric: list[str] = list(spec.numeric)
        self.categorical: list[str] = list(spec.categorical)
        self.codes = {c: {v: i for i, v in enumerate(spec.categories[c])} for c in spec.categorical}
        self.use_memory = bool(bundle.engine.params.use_memory and bundle.memory is not None)
        self.signals = bundle.text_signals
        self.signal_names = list(self.signals.feature_names_) if self.signals is not None else []
        # the text signals' vectorization is shared by the row and the reasons (one
        # sklearn transform per request instead of three); the public methods otherwise
        self._vectors: dict[str, Any] = {}
        self._fast_signals = all(
            hasattr(self.signals, name) for name in ("_vectorize", "_score", "_target_index")
        )
        self._customers: dict[str, tuple[int, int]] = {}
        self._rows: pd.DataFrame | None = None
        if self.use_memory:
            self._index_memory(bundle.memory)
        self.exact_only = False

    # ------------------------------------------------------------------ memory
    def _index_memory(self, store: Any) -> None:
        rows = getattr(store, "_rows", None)
        if rows is None:  # the store changed shape: use the exact path
            self.exact_only = True
            return
        self._rows = rows
        customer = rows["customer_id"].astype(object).to_numpy()
        if len(customer):
            starts = np.flatnonzero(np.r_[True, customer[1:] != customer[:-1]])
            ends = np.r_[starts[1:], len(customer)]
            self._customers = {
                str(customer[s]): (int(s), int(e)) for s, e in zip(starts, ends, strict=True)
            }
        self._t = rows["opened_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
        self._cache: dict[str, _Customer] = {}

    def _customer(self, customer_id: str) -> _Customer | None:
        hit = self._cache.get(customer_id)
        if hit is not None:
            return hit
        span = self._customers.get(customer_id)
        if span is None or self._rows is None:
            return None
        part = self._rows.iloc[span[0] : span[1]]
        comp = part["compensation"].to_numpy(dtype=np.float64)
        sat = part["satisfaction"].to_numpy(dtype=np.float64)
        answered = np.isfinite(sat)
        channel = [str(v) for v in part["channel"].astype(object)]
        seen: set[str] = set()
        new_channel = []
        for ch in channel:
            new_channel.append(ch not in seen)
            seen.add(ch)
        c = _Customer(
            t=self._t[span[0] : span[1]],
            issue=[str(v) for v in part["issue_type"].astype(object)],
            channel=channel,
            resolution=list(part["resolution"].astype(object)),
            compensation=comp,
            satisfaction=sat,
            severity=part["severity"].to_numpy(dtype=np.float64),
            emotion=list(part["emotion"].astype(object)),
            cum_compensation=np.cumsum(np.nan_to_num(comp)),
            cum_satisfaction=np.cumsum(np.where(answered, sat, 0.0)),
            cum_answered=np.cumsum(answered.astype(np.float64)),
            cum_channels=np.cumsum(np.asarray(new_channel, dtype=np.float64)),
        )
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[customer_id] = c
        return c

    def memory_row(self, customer_id: str, issue_type: str, t_ns: int) -> dict[str, Any]:
        """The memory features of one complaint (``customer_memory``'s definitions)."""
        c = self._customer(customer_id)
        n_prior = 0 if c is None else int(np.searchsorted(c.t, t_ns, side="left"))
        if c is None or n_prior == 0:
            return {
                "mem_n_prior": 0,
                "mem_n_prior_365d": 0,
                "mem_days_since_last": math.nan,
                "mem_last_resolution": None,
                "mem_last_compensation": math.nan,
                "mem_total_compensation_365d": 0.0,
                "mem_last_satisfaction": math.nan,
                "mem_mean_satisfaction": math.nan,
                "mem_n_answered": 0,
                "mem_repeat_issue": 0,
                "mem_n_same_issue": 0,
                "mem_last_severity": math.nan,
                "mem_last_channel": None,
                "mem_n_channels": 0,
                "mem_last_emotion": None,
            }
        last = n_prior - 1
        n_before = int(np.searchsorted(c.t, t_ns - WINDOW_DAYS * _NS_PER_DAY, side="left"))
        comp_window = c.cum_compensation[n_before - 1] if n_before else 0.0
        n_answered = float(c.cum_answered[last])
        n_same = sum(1 for issue in c.issue[:n_prior] if issue == issue_type)

        def label(values: list[Any]) -> str | None:
            v = values[last]
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

        return {
            "mem_n_prior": n_prior,
            "mem_n_prior_365d": n_prior - n_before,
            "mem_days_since_last": float(t_ns - int(c.t[last])) / float(_NS_PER_DAY),
            "mem_last_resolution": label(c.resolution),
            "mem_last_compensation": float(c.compensation[last]),
            "mem_total_compensation_365d": float(
                np.round(c.cum_compensation[last] - comp_window, 6) + 0.0
            ),
            "mem_last_satisfaction": float(c.satisfaction[last]),
            "mem_mean_satisfaction": (
                float(c.cum_satisfaction[last] / n_answered) if n_answered > 0 else math.nan
            ),
            "mem_n_answered": int(n_answered),
            "mem_repeat_issue": int(n_same > 0),
            "mem_n_same_issue": n_same,
            "mem_last_severity": float(c.severity[last]),
            "mem_last_channel": label(c.channel),
            "mem_n_channels": int(c.cum_channels[last]),
            "mem_last_emotion": label(c.emotion),
        }

    # ------------------------------------------------------------------ text
    def _vector(self, text: str) -> Any:
        """The text signals' TF-IDF row of ``text`` (sparse), vectorized once per text."""
        hit = self._vectors.get(text)
        if hit is None:
            hit = self.signals._vectorize(text_mod._as_texts([text]))
            if len(self._vectors) >= 256:
                self._vectors.clear()
            self._vectors[text] = hit
        return hit

    def signal_scores(self, text: str) -> np.ndarray:
        """``signals.transform([text])[0]`` (shares the vectorization with the reasons)."""
        if not self._fast_signals:
            return self.signals.transform([text])[0]
        return self.signals._score(self._vector(text))[0]

    def term_contributions(self, text: str, target: str, n: int) -> list[tuple[str, float]]:
        """``signals.term_contributions(text, target, n)`` on the shared vectorization."""
        signals = self.signals
        if not self._fast_signals:
            return signals.term_contributions(text, target, n=n)
        j = signals._target_index(target)
        x = self._vector(text)
        contrib = x.data * signals.coef_[x.indices, j]
        order = np.argsort(-np.abs(contrib), kind="stable")[:n]
        return [(str(signals.terms_[x.indices[i]]), float(contrib[i])) for i in order]

    # ------------------------------------------------------------------ rows
    def values(self, complaint: Mapping[str, Any]) -> dict[str, Any] | None:
        """Every named input of the model row, or None when only the exact path applies."""
        if self.exact_only:
            return None
        text = complaint.get("complaint_text") or ""
        cues = text_cues(text)
        if cues is None:
            return None
        emotion = complaint.get("emotion")
        detected = 0
        if emotion is None and cues["nonempty"]:
            emotion = text_mod._emotion_from_cues(_OneRow(cues))[0]
            detected = 1
        opened: datetime = complaint["opened_at"]
        t_ns = _ns(opened)
        v: dict[str, Any] = {
            "severity": float(complaint["severity"]),
            "disputed_amount": float(complaint["disputed_amount"]),
            "log_disputed_amount": float(np.log1p(float(complaint["disputed_amount"]))),
            "tenure_months": float(complaint["tenure_months"]),
            "annual_value": float(complaint["annual_value"]),
            "lifetime_value": float(complaint["lifetime_value"]),
            "log_lifetime_value": float(np.log1p(float(complaint["lifetime_value"]))),
            "prior_complaints_12m": float(complaint["prior_complaints_12m"]),
            "hour_of_day": float(opened.hour),
            "day_of_week": float(opened.weekday()),
            "channel": complaint["channel"],
            "issue_type": complaint["issue_type"],
            "segment": complaint["segment"],
            "emotion": emotion,
            "digital_skill": complaint.get("digital_skill"),
            "emotion_detected": detected,
        }
        v.update(zip(text_mod.SENTIMENT_FEATURE_NAMES, sentiment_row(cues), strict=True))
        if self.signals is not None:
            scores = self.signal_scores(text)
            v.update(zip(self.signal_names, scores.tolist(), strict=True))
        if self.use_memory:
            v.update(self.memory_row(str(complaint["customer_id"]), complaint["issue_type"], t_ns))
        return v

    def row(self, complaint: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """The (1, n_features) float32 row of ``complaint`` and the named values behind it.

        ``complaint`` holds the normalized contract fields (``opened_at`` a naive UTC
        datetime, ``emotion``/``digital_skill`` None when unknown, text "" when empty).
        """
        v = self.values(complaint)
        if v is None:
            return self.exact(complaint)
        out = np.full((1, len(self.names)), np.nan, dtype=np.float32)
        for j, name in enumerate(self.numeric):
            if name in v and v[name] is not None:
                out[0, j] = v[name]
        off = len(self.numeric)
        for j, name in enumerate(self.categorical):
            code = self.codes[name].get(v.get(name))  # type: ignore[arg-type]
            if code is not None:
                out[0, off + j] = code
        return out, v

    def exact(self, complaint: Mapping[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """The batch path (``features_for``) on a one-row frame; values from the row."""
        from makegood.modeling.predict import features_for

        X = features_for(self.bundle, complaint_frame(complaint))
        v: dict[str, Any] = dict(complaint)
        for j, name in enumerate(self.names):
            x = float(X[0, j])
            if name in self.codes:
                cats = self.bundle.engine.spec.categories[name]
                v[name] = None if math.isnan(x) else cats[int(x)]
            else:
                v[name] = x
        return X, v

    def self_check(self, complaints: Sequence[Mapping[str, Any]]) -> bool:
        """True when the fast rows equal ``features_for``'s on ``complaints``; otherwise
        (or on any error) the builder switches to the exact path and returns False."""
        from makegood.modeling.predict import features_for

        if self.exact_only or not complaints:
            return not self.exact_only
        try:
            frame = pd.concat([complaint_frame(c) for c in complaints], ignore_index=True)
            X = features_for(self.bundle, frame)
            fast = np.vstack([self.row(c)[0] for c in complaints])
            same = X.shape == fast.shape and np.array_equal(X, fast, equal_nan=True)
        except Exception:  # noqa: BLE001 - any failure means: do not trust the fast path
            log.exception("fast feature builder failed its self-check")
            same = False
        if not same:
            log.warning("fast feature builder disagrees with features_for: using the exact path")
            self.exact_only = True
        return same


def store_complaints(bundle: Any, n: int = 32) -> list[dict[str, Any]]:
    """Up to ``n`` realistic complaints (customers, texts) from the bundle's memory, each
    opened a day after the customer's latest stored one: inputs for a self-check."""
    rows = getattr(bundle.memory, "_rows", None)
    if rows is None or rows.empty:
        return []
    step = max(1, len(rows) // n)
    out = []
    for i, rec in enumerate(rows.iloc[::step].head(n).to_dict("records")):
        emotion = None if pd.isna(rec["emotion"]) or i % 2 else str(rec["emotion"])
        out.append(
            {
                "complaint_id": f"selfcheck-{rec['complaint_id']}",
                "customer_id": str(rec["customer_id"]),
                "opened_at": pd.Timestamp(rec["opened_at"]).to_pydatetime() + timedelta(days=1),
                "channel": str(rec["channel"]),
                "issue_type": str(rec["issue_type"]),
                "severity": int(rec["severity"]),
                "emotion": emotion,
                "complaint_text": rec["complaint_text"] or "",
                "disputed_amount": float(rec["compensation"] or 0.0) + 10.0,
                "tenure_months": int(rec["tenure_months"]),
                "annual_value": float(rec["annual_value"]),
                "lifetime_value": float(rec["lifetime_value"]),
                "segment": str(rec["segment"]),
                "prior_complaints_12m": int(rec["prior_complaints_12m"]),
                "digital_skill": None
                if pd.isna(rec["digital_skill"])
                else str(rec["digital_skill"]),
            }
        )
    return out


__all__ += ["MEMORY_FEATURE_NAMES", "store_complaints", "text_cues"]
