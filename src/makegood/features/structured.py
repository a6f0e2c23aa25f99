"""The model matrix: numeric float32 columns from a normalized complaint frame.

Categorical columns become integer codes over categories fixed at training time
(unknown values become NaN, which LightGBM routes like a missing value), so the same
:class:`FeatureSpec` turns a batch of 100k complaints or a single request into the same
columns in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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
    """Which columns make the model matrix, and the category lists of categorical ones."""

    numeric: list[str]
    categorical: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def categorical_indices(self) -> list[int]:
        return list(range(len(self.numeric), len(self.numeric) + len(self.categorical)))

    def to_dict(self) -> dict:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "categories": self.categories,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> FeatureSpec:
        return cls(
            list(d["numeric"]),
            list(d["categorical"]),
            {k: list(v) for k, v in d["categories"].items()},
        )

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
    ) -> FeatureSpec:
        """Fix the category lists from a training frame (most frequent first, capped)."""
        cats = {}
        for col in categorical:
            s = frame[col] if col in frame else pd.Series([], dtype="str")
            vc = s.dropna().astype(str).value_counts()
            cats[col] = [str(v) for v in vc.index[:MAX_CATEGORIES]]
        return cls(list(numeric), list(categorical), cats)

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The (n, n_features) float32 matrix of ``frame``; absent columns are NaN."""
        n = len(frame)
        out = np.full((n, len(self.names)), np.nan, dtype=np.float32)
        for j, col in enumerate(self.numeric):
            if col in frame:
                out[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
        off = len(self.numeric)
        for j, col in enumerate(self.categorical):
            if col in frame:
                cats = pd.Index(self.categories[col])
                codes = cats.get_indexer(frame[col].astype(object).where(frame[col].notna(), None))
                out[:, off + j] = np.where(codes >= 0, codes, np.nan)
        return out


def base_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Derived structured columns (logs, time of day) added to a normalized frame copy."""
    out = df.copy()
    out["log_disputed_amount"] = np.log1p(df["disputed_amount"].astype(float))
    out["log_lifetime_value"] = np.log1p(df["lifetime_value"].astype(float))
    ts = pd.to_datetime(df["opened_at"])
    out["hour_of_day"] = ts.dt.hour.astype(float)
    out["day_of_week"] = ts.dt.dayofweek.astype(float)
    return out
