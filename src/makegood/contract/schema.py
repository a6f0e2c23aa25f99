"""The complaint columns (CONTRACT.md section 1): all, outcomes, optional, profile, value sets."""

from __future__ import annotations

__all__ = [
    "COMPLAINT_COLUMNS",
    "EMOTIONS",
    "HISTORY_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTCOME_COLUMNS",
    "PROFILE_COLUMNS",
    "SKILLS",
]

HISTORY_COLUMNS: tuple[str, ...] = (
    "complaint_id",
    "customer_id",
    "opened_at",
    "channel",
    "issue_type",
    "severity",
    "emotion",
    "complaint_text",
    "disputed_amount",
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "prior_complaints_12m",
    "digital_skill",
    "resolution",
    "compensation",
    "logging_propensity",
    "satisfaction",
    "churned_90d",
)
OUTCOME_COLUMNS: tuple[str, ...] = (
    "resolution",
    "compensation",
    "logging_propensity",
    "satisfaction",
    "churned_90d",
)
COMPLAINT_COLUMNS: tuple[str, ...] = tuple(c for c in HISTORY_COLUMNS if c not in OUTCOME_COLUMNS)
#: The customer's profile among the complaint columns (the same for all of a customer's
#: complaints at a time; a service may remember them between complaints).
PROFILE_COLUMNS: tuple[str, ...] = (
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "prior_complaints_12m",
    "digital_skill",
)
EMOTIONS: tuple[str, ...] = ("calm", "confused", "anxious", "frustrated", "angry")
SKILLS: tuple[str, ...] = ("low", "medium", "high")

# Columns a file may leave out; they are added to the normalized frame as "unknown".
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "emotion",
    "complaint_text",
    "digital_skill",
    "logging_propensity",
    "satisfaction",
)
