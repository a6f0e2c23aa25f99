"""The company's own declared columns as model inputs (issue 24).

A declared column (``contract.features``: a mapping's ``features:`` or ``train
--feature-columns``) becomes model inputs by its kind, on arrays that work the same for one
complaint and for a million:

* ``category``: the value as a label, pooled. Levels seen on at least ``min_count`` training
  rows are kept (the ``max_levels`` most frequent); every other value, and at scoring every
  value training never saw, is :data:`OTHER`; a missing (empty) value is its own level,
  :data:`MISSING`. The learned levels are stored (in the bundle's feature spec), and the
  models read the level's position as a LightGBM categorical. Pooling keeps a 1,000-company
  column to the companies with evidence: fast to fit, and a company seen twice borrows the
  pooled level's estimate instead of fitting its own noise.
* ``number``: a float; missing or empty is NaN (LightGBM's missing value).
* ``text``: the words hashed into :data:`TEXT_DIMS` signed buckets (a fixed random
  projection of the bag of words: ``h_j = sum over tokens t with crc32(t) mod D = j of
  sign(t) / sqrt(n_tokens)``) and ``log(1 + n_tokens)``. Nothing is learned, so it is
  deterministic and cheap; the trees find what the buckets carry.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from makegood.contract.features import number_or_nan

__all__ = [
    "MAX_LEVELS",
    "MIN_LEVEL_ROWS",
    "MISSING",
    "OTHER",
    "TEXT_DIMS",
    "ExtraFeatures",
    "category_labels",
    "hashed_text",
    "numbers",
    "text_input_column",
]

MISSING = "(missing)"
OTHER = "(other)"
#: A level needs this many training rows to be its own (else it is pooled into OTHER).
MIN_LEVEL_ROWS = 20
#: At most this many levels of one column are kept (the most frequent).
MAX_LEVELS = 200
TEXT_DIMS = 8
_TOKEN = re.compile(r"\w+")


def _label(value: Any) -> str | None:
    """One value as a category label (None when missing): text stripped, whole numbers
    without a decimal point (``5.0`` and ``"5"`` are the same level)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    return text or None


def category_labels(values: Any) -> np.ndarray:
    """(n,) object array of labels (None where missing) of any array-like of values.

    >>> category_labels([" Acme ", "", None, 5.0, "5", float("nan")]).tolist()
    ['Acme', None, None, '5', '5', None]
    """
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    arr = np.asarray(arr, dtype=object).reshape(-1)
    return np.fromiter((_label(v) for v in arr), dtype=object, count=len(arr))


def numbers(values: Any) -> np.ndarray:
    """(n,) float64 of a declared number column: NaN where missing or not a number (the
    edges refuse those, :func:`makegood.contract.features.check_feature_values`).

    >>> numbers(["1.5", "", None, 3]).tolist()
    [1.5, nan, nan, 3.0]
    """
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.dtype.kind in "fiu":
        return arr.astype(np.float64).reshape(-1)
    out = [number_or_nan(v) for v in arr.reshape(-1)]
    return np.array([math.nan if v is None else v for v in out], dtype=np.float64)


def hashed_text(values: Any, dims: int = TEXT_DIMS) -> np.ndarray:
    """(n, dims + 1) float64: the signed hashed bag of words scaled by 1/sqrt(n_tokens),
    then log(1 + n_tokens). Missing and empty text give zeros.

    >>> hashed_text(["", None]).tolist() == [[0.0] * 9, [0.0] * 9]
    True
    >>> bool((hashed_text(["late fee"]) == hashed_text(["LATE  fee!"])).all())
    True
    """
    labels = category_labels(values)
    out = np.zeros((len(labels), dims + 1))
    for i, text in enumerate(labels):
        if text is None:
            continue
        tokens = _TOKEN.findall(text.lower())
        if not tokens:
            continue
        for token in tokens:
            h = zlib.crc32(token.encode("utf-8"))
            out[i, h % dims] += 1.0 if (h >> 16) & 1 else -1.0
        out[i, :dims] /= math.sqrt(len(tokens))
        out[i, dims] = math.log1p(len(tokens))
    return out


_TEXT_INPUT = re.compile(r"^(?P<column>.+)__(?:h\d+|n_words)$")


def text_input_column(feature: str) -> str | None:
    """The declared text column whose hashed words ``feature`` holds (one of
    :meth:`ExtraFeatures.text_names`), None for any other input.

    >>> text_input_column("note__h3"), text_input_column("note__n_words"), text_input_column("note")
    ('note', 'note', None)
    """
    m = _TEXT_INPUT.match(feature)
    return m.group("column") if m else None


@dataclass
class ExtraFeatures:
    """Declared extra columns (name -> kind, in declaration order) and the category
    levels learned at training (:meth:`fit`); :meth:`transform` gives the model inputs.

    ``levels[name]`` lists the kept levels, most frequent first, then :data:`OTHER` and
    :data:`MISSING`: a category input's code is its label's position there.
    """

    kinds: dict[str, str]
    levels: dict[str, list[str]] = field(default_factory=dict)
    text_dims: int = TEXT_DIMS

    @classmethod
    def fit(
        cls,
        columns: Mapping[str, Any],
        kinds: Mapping[str, str],
        *,
        min_count: int = MIN_LEVEL_ROWS,
        max_levels: int = MAX_LEVELS,
    ) -> ExtraFeatures:
        """Learn the kept levels of the category columns from training ``columns``."""
        levels: dict[str, list[str]] = {}
        for name, kind in kinds.items():
            if kind != "category":
                continue
            labels = pd.Series(category_labels(columns[name]), dtype=object).dropna()
            counts = labels.value_counts(sort=True)
            kept = [
                str(v) for v, c in counts.items() if c >= min_count and v not in (OTHER, MISSING)
            ]
            levels[name] = [*kept[:max_levels], OTHER, MISSING]
        return cls(dict(kinds), levels)

    def text_names(self, name: str) -> list[str]:
        """The inputs of a text column: its hashed buckets and its token count."""
        return [*(f"{name}__h{j}" for j in range(self.text_dims)), f"{name}__n_words"]

    @property
    def numeric(self) -> list[str]:
        """Numeric input names, in declaration order."""
        out: list[str] = []
        for name, kind in self.kinds.items():
            if kind == "number":
                out.append(name)
            elif kind == "text":
                out += self.text_names(name)
        return out

    @property
    def categorical(self) -> list[str]:
        """Categorical input names (the columns' own names), in declaration order."""
        return [name for name, kind in self.kinds.items() if kind == "category"]

    def transform(self, columns: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
        """The inputs of ``columns`` (a frame or a mapping of length-``n`` arrays; an absent
        declared column is all missing): categories as pooled labels, numbers float64."""
        out: dict[str, np.ndarray] = {}
        for name, kind in self.kinds.items():
            values = columns[name] if name in columns else np.full(n, None, dtype=object)
            if kind == "category":
                out[name] = self.pool(name, values)
            elif kind == "number":
                out[name] = numbers(values)
            else:
                hashed = hashed_text(values, self.text_dims)
                for j, col in enumerate(self.text_names(name)):
                    out[col] = hashed[:, j]
        return out

    def pool(self, name: str, values: Any) -> np.ndarray:
        """(n,) object labels of a category column: kept levels, OTHER or MISSING."""
        labels = category_labels(values)
        kept = set(self.levels[name][:-2])
        return np.array(
            [MISSING if v is None else (v if v in kept else OTHER) for v in labels], dtype=object
        )

    def to_dict(self) -> dict:
        return {"kinds": dict(self.kinds), "levels": self.levels, "text_dims": self.text_dims}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExtraFeatures:
        return cls(
            {str(k): str(v) for k, v in d["kinds"].items()},
            {str(k): [str(x) for x in v] for k, v in d.get("levels", {}).items()},
            int(d.get("text_dims", TEXT_DIMS)),
        )

    def request_names(self) -> Sequence[str]:
        """The names a request's ``features`` may carry (the declared columns)."""
        return list(self.kinds)
