"""One resolution on offer: its handling cost, compensation rule and eligibility limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SEVERITIES", "Resolution"]

#: The lowest and highest complaint severity (CONTRACT.md section 1).
SEVERITIES = (1, 5)


@dataclass(frozen=True)
class Resolution:
    """One resolution the company can offer.

    ``eligible_issue_types`` None means every issue type; ``max_severity`` None means
    every severity. Issue types are lower-case, as in the normalized complaint frame.
    """

    id: str
    label: str
    handling_cost: float
    comp_fixed: float = 0.0
    comp_fraction: float = 0.0
    comp_max: float | None = None
    eligible_issue_types: frozenset[str] | None = None
    max_severity: int | None = None

    @property
    def is_unrestricted(self) -> bool:
        """True when the resolution is eligible for every complaint."""
        return self.eligible_issue_types is None and (
            self.max_severity is None or self.max_severity >= SEVERITIES[1]
        )

    def compensation(self, disputed_amount: np.ndarray) -> np.ndarray:
        """Money paid out for each complaint's disputed amount.

        compensation = min(comp_max, comp_fixed + comp_fraction * disputed_amount)

        >>> r = Resolution("refund", "Refund", 3.0, comp_fraction=1.0, comp_max=500.0)
        >>> r.compensation(np.array([0.0, 120.0, 900.0])).tolist()
        [0.0, 120.0, 500.0]

        Returns:
            float64 array shaped like ``disputed_amount``.
        """
        amount = self.comp_fixed + self.comp_fraction * np.asarray(disputed_amount, dtype=float)
        if self.comp_max is not None:
            amount = np.minimum(amount, self.comp_max)
        return amount

    def eligible(self, issue_type: np.ndarray, severity: np.ndarray) -> np.ndarray:
        """Boolean array: may this resolution be offered for each complaint?"""
        n_rows = len(issue_type)
        ok = np.ones(n_rows, dtype=bool)
        if self.eligible_issue_types is not None:
            allowed = sorted(self.eligible_issue_types)
            ok &= pd.Series(np.asarray(issue_type, dtype=object)).isin(allowed).to_numpy()
        if self.max_severity is not None:
            ok &= np.asarray(severity) <= self.max_severity
        return ok

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping for this resolution (optional keys only when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "handling_cost": float(self.handling_cost),
        }
        if self.comp_fixed or self.comp_fraction or self.comp_max is not None:
            block: dict[str, float] = {
                "fixed": float(self.comp_fixed),
                "fraction_of_disputed": float(self.comp_fraction),
            }
            if self.comp_max is not None:
                block["max"] = float(self.comp_max)
            out["compensation"] = block
        if self.eligible_issue_types is not None:
            out["eligible_issue_types"] = sorted(self.eligible_issue_types)
        if self.max_severity is not None:
            out["max_severity"] = int(self.max_severity)
        return out
