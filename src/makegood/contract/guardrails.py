"""The catalog's guardrails (CONTRACT.md section 2b): floors, caps, and each complaint's floor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from makegood.errors import CatalogError

__all__ = [
    "LOWERCASE_COLUMNS",
    "NUMERIC_COLUMNS",
    "TEXT_COLUMNS",
    "WHEN_COLUMNS",
    "Cap",
    "Condition",
    "Floor",
    "Guardrail",
    "floor_amounts",
]

# The complaint columns (CONTRACT.md section 1, makegood.contract.files.COMPLAINT_COLUMNS)
# a guardrail may read, by how the normalized frame holds them. opened_at and
# complaint_text are left out: a list of exact times or texts is never a rule.
NUMERIC_COLUMNS = (
    "severity",
    "disputed_amount",
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "prior_complaints_12m",
)
LOWERCASE_COLUMNS = ("channel", "issue_type", "segment", "emotion", "digital_skill")
TEXT_COLUMNS = ("complaint_id", "customer_id")
WHEN_COLUMNS = NUMERIC_COLUMNS + LOWERCASE_COLUMNS + TEXT_COLUMNS


@dataclass(frozen=True)
class Condition:
    """One key of a floor's ``when:``: ``column`` holds one of ``values``, or lies strictly
    above ``gt`` and below ``lt`` (either may be None).

    Text values of the lower-cased columns (issue_type, channel, ...) are lower-case, as
    in the normalized complaint frame; unknown values (NaN) match no list and no range.
    """

    column: str
    values: tuple[str | float, ...] | None = None
    gt: float | None = None
    lt: float | None = None

    def matches(self, column_values: ArrayLike) -> np.ndarray:
        """Boolean array: does each complaint's value meet this condition?

        >>> Condition("severity", gt=3).matches(np.array([2, 4, 5])).tolist()
        [False, True, True]
        """
        if self.values is not None:
            if all(isinstance(v, float) for v in self.values):  # a numeric column
                return np.isin(np.asarray(column_values, dtype=float), self.values)
            got = pd.Series(np.asarray(column_values, dtype=object))
            return got.isin(list(self.values)).to_numpy(dtype=bool)
        number = np.asarray(column_values, dtype=float)
        ok = np.ones(number.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.gt is not None:
                ok &= number > self.gt
            if self.lt is not None:
                ok &= number < self.lt
        return ok

    def to_yaml(self) -> list[str | float] | dict[str, float]:
        """The value of this key in ``when:``: the list, or ``{gt: x, lt: y}``."""
        if self.values is not None:
            return list(self.values)
        bounds = {"gt": self.gt, "lt": self.lt}
        return {k: float(v) for k, v in bounds.items() if v is not None}


@dataclass(frozen=True)
class Floor:
    """Guardrail ``compensation_at_least``: the complaints ``when`` matches (every
    complaint when it is empty; all keys must hold) are given at least ``at_least``, a
    fixed amount or the name of a numeric complaint column (``disputed_amount``)."""

    id: str
    at_least: float | str
    when: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        # the keys of when: all must hold, so their order means nothing (YAML may sort them)
        object.__setattr__(self, "when", tuple(sorted(self.when, key=lambda c: c.column)))

    @property
    def columns(self) -> tuple[str, ...]:
        """The complaint columns this floor reads."""
        named = (self.at_least,) if isinstance(self.at_least, str) else ()
        return tuple(dict.fromkeys([c.column for c in self.when] + list(named)))

    def applies(self, complaints: pd.DataFrame) -> np.ndarray:
        """Boolean array (n,): the complaints this floor covers."""
        ok = np.ones(len(complaints), dtype=bool)
        for condition in self.when:
            ok &= condition.matches(complaints[condition.column].to_numpy())
        return ok

    def amount(self, complaints: pd.DataFrame) -> np.ndarray:
        """float64 array (n,): the floor for each complaint, NaN where it does not apply."""
        if isinstance(self.at_least, str):
            owed = complaints[self.at_least].to_numpy(dtype=float, na_value=np.nan)
        else:
            owed = np.full(len(complaints), float(self.at_least))
        return np.where(self.applies(complaints), owed, np.nan)

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this guardrail."""
        out: dict[str, Any] = {"id": self.id}
        if self.when:
            out["when"] = {c.column: c.to_yaml() for c in self.when}
        at_least = self.at_least
        out["compensation_at_least"] = at_least if isinstance(at_least, str) else float(at_least)
        return out


@dataclass(frozen=True)
class Cap:
    """Guardrail ``max_compensation_per_customer``: what one customer is given over the
    ``days`` up to and including each complaint stays within ``amount`` (floors apart)."""

    id: str
    amount: float
    days: int

    def to_dict(self) -> dict[str, Any]:
        """The YAML mapping of this guardrail."""
        block = {"amount": float(self.amount), "days": int(self.days)}
        return {"id": self.id, "max_compensation_per_customer": block}


Guardrail = Floor | Cap


def floor_amounts(
    floors: Sequence[Floor], complaints: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each complaint's floor: the largest over the floors that cover it.

    ``complaints`` is a normalized complaint frame (``read_complaints``); it needs
    the columns the floors read (:attr:`Floor.columns`).

    Returns:
        ``(floor, rule)``: float64 (n,), NaN where no floor applies; and object (n,),
        the id of the floor that set it (the first in ``floors``' order on a tie), ``""``
        where none.

    Raises:
        CatalogError: the frame lacks a column a floor reads.
    """
    n = len(complaints)
    floor = np.full(n, np.nan)
    rule = np.full(n, "", dtype=object)
    for guard in floors:
        missing = [c for c in guard.columns if c not in complaints.columns]
        if missing:
            raise CatalogError(
                f"guardrail {guard.id!r} reads column(s) {', '.join(missing)}, "
                "which the complaints lack."
            )
        owed = guard.amount(complaints)
        higher = owed > np.where(np.isnan(floor), -np.inf, floor)
        floor = np.where(higher, owed, floor)
        rule[higher] = guard.id
    return floor, rule
