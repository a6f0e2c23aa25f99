"""Decisions from scores: what each resolution is worth, and who gets what under a budget.

Plain numpy, arrays in and arrays out (no pandas, LightGBM or MLflow).
"""

from makegood.policy.budget import (
    Allocation,
    allocate,
    choose,
    frontier,
    optimal_bruteforce,
    spend_at,
)
from makegood.policy.value import net_value, retention_lift, value_at_risk

__all__ = [
    "Allocation",
    "allocate",
    "choose",
    "frontier",
    "net_value",
    "optimal_bruteforce",
    "retention_lift",
    "spend_at",
    "value_at_risk",
]
