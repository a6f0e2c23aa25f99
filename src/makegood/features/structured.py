"""The model matrix: numeric float32 columns from a normalized complaint frame.

Categorical columns become integer codes over categories fixed at training time
(unknown values become NaN, which LightGBM routes like a missing value), so the same
:class:`FeatureSpec` turns a batch of 100k complaints or a single request into the same
columns in the same order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from makegood.features.extra import ExtraFeatures

NUMERIC_BASE = (
    "severity",
    "disputed_amount",
    "log_disputed_amount",
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "log_lifetime_value",
    "prior_complaints_12m",
    "hour_of_day",
    "day_of_week",
)
CATEGORICAL_BASE = ("channel", "issue_type", "segment", "emotion", "digital_skill")
MAX_CATEGORIES = 50


@dataclass
class FeatureSpec:
    """Which columns make the model matrix, and the category lists of categorical ones.

    ``extras`` are the company's declared columns (:mod:`makegood.features.extra`): their
    inputs close each list (numeric, categorical) and their categories are the pooled
    levels learned at training. None in specs trained without them.
    """

    numeric: list[str]
    categorical: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    extras: ExtraFeatures | None = None

    @property
    def extra_columns(self) -> list[str]:
        """The declared columns this spec reads ([] without extras)."""
        return [] if self.extras is None else list(self.extras.kinds)

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def categorical_indices(self) -> list[int]:
        return list(range(len(self.numeric), len(self.numeric) + len(self.categorical)))

    def to_dict(self) -> dict:
        out: dict[str, Any] = {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "categories": self.categories,
        }
        if self.extras is not None:
            out["extras"] = self.extras.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> FeatureSpec:
        extras = d.get("extras")
        return cls(
            list(d["numeric"]),
            list(d["categorical"]),
            {k: list(v) for k, v in d["categories"].items()},
            None if extras is None else ExtraFeatures.from_dict(extras),
        )

    @classmethod
    def fit(
        cls,
        frame: Mapping[str, Any],
        numeric: Sequence[str],
        categorical: Sequence[str],
        extras: ExtraFeatures | None = None,
    ) -> FeatureSpec:
        """Fix the category lists from training columns (a frame or a mapping of arrays;
        most frequent first, capped); ``extras``' inputs are appended, with their levels."""
        cats = {}
        for col in categorical:
            s = pd.Series(frame[col]) if col in frame else pd.Series([], dtype="str")
            vc = s.dropna().astype(str).value_counts()
            cats[col] = [str(v) for v in vc.index[:MAX_CATEGORIES]]
        numeric, categorical = list(numeric), list(categorical)
        if extras is not None:
            numeric += extras.numeric
            categorical += extras.categorical
            cats.update({col: list(extras.levels[col]) for col in extras.categorical})
        return cls(numeric, categorical, cats, extras)

    def matrix(self, columns: Mapping[str, Any], n: int | None = None) -> np.ndarray:
        """The (n, n_features) float32 matrix of ``columns`` (a frame, or a mapping of
        equal-length arrays with ``n`` given); absent columns are NaN.

        Categorical values are coded by their position in :attr:`categories`; a value
        not seen in training (or missing) becomes NaN.
        """
        n = len(columns) if n is None else n
        out = np.full((n, len(self.names)), np.nan, dtype=np.float32)
        for j, col in enumerate(self.numeric):
            if col in columns:
                out[:, j] = _numeric(columns[col])
        off = len(self.numeric)
        for j, col in enumerate(self.categorical):
            if col in columns:
                out[:, off + j] = _codes(self.category_codes[col], columns[col])
        return out

    @functools.cached_property
    def category_codes(self) -> dict[str, dict[str, int]]:
        """Per categorical column, ``{category: code}``."""
        return {c: {v: i for i, v in enumerate(self.categories[c])} for c in self.categorical}

    def labels(self, row: np.ndarray) -> dict[str, Any]:
        """The named inputs of one model row: numbers, and categories as labels (None
        when missing or unseen)."""
        out: dict[str, Any] = {}
        for j, name in enumerate(self.names):
            x = float(row[j])
            if j >= len(self.numeric):
                out[name] = None if math.isnan(x) else self.categories[name][int(x)]
            else:
                out[name] = x
        return out


def _numeric(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.float64)


def _codes(codes: Mapping[str, int], values: Any) -> np.ndarray:
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    return np.fromiter(
        (codes.get(v, np.nan) if isinstance(v, str) else np.nan for v in arr),
        dtype=np.float64,
        count=len(arr),
    )


def structured_columns(columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Derived structured columns (logs, time of day) of complaints given as arrays.

    ``opened_at`` is a datetime64 array (naive UTC); the others numbers. Works the same
    for one complaint and for a million.
    """
    t = np.asarray(columns["opened_at"]).astype("datetime64[ns]").view(np.int64)
    seconds = t // 10**9
    days = seconds // 86_400
    return {
        "log_disputed_amount": np.log1p(np.asarray(columns["disputed_amount"], dtype=float)),
        "log_lifetime_value": np.log1p(np.asarray(columns["lifetime_value"], dtype=float)),
        "hour_of_day": ((seconds // 3600) % 24).astype(float),
        "day_of_week": ((days + 3) % 7).astype(float),  # 1970-01-01 was a Thursday
    }


def base_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Derived structured columns (logs, time of day) added to a normalized frame copy."""
    out = df.copy()
    cols = {c: df[c].to_numpy() for c in ("disputed_amount", "lifetime_value")}
    cols["opened_at"] = pd.to_datetime(df["opened_at"]).to_numpy(dtype="datetime64[ns]")
    for name, values in structured_columns(cols).items():
        out[name] = values
    return out
