"""Decisions from scores: what each resolution is worth, who gets what under a budget
(batch), the guardrails on both (floors owed, caps per customer), and the live rule: the
paced shadow price and the served choice.

Plain numpy, arrays in and arrays out (no pandas, LightGBM, MLflow or FastAPI; the
import contracts in pyproject.toml hold it to that). The test oracle
``makegood.policy.oracle.optimal_bruteforce`` is deliberately not exported.
"""

from makegood.policy.budget import (
    Allocation,
    allocate,
    choose,
    frontier,
    spend_at,
)
from makegood.policy.cases import top_up
from makegood.policy.choice import allowed_candidates, choice_probabilities, choose_served
from makegood.policy.guardrails import (
    Guarded,
    GuardrailCut,
    Guardrails,
    Spent,
    guarded_allocate,
    guarded_eligibility,
)
from makegood.policy.pacing import pacing_shadow_price
from makegood.policy.value import net_value, retention_lift, value_at_risk

__all__ = [
    "Allocation",
    "allocate",
    "allowed_candidates",
    "choice_probabilities",
    "choose",
    "choose_served",
    "frontier",
    "Guarded",
    "GuardrailCut",
    "Guardrails",
    "guarded_allocate",
    "guarded_eligibility",
    "net_value",
    "pacing_shadow_price",
    "retention_lift",
    "spend_at",
    "Spent",
    "top_up",
    "value_at_risk",
]
