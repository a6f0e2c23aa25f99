"""Plain reasons: an :class:`~makegood.modeling.attribution.Attribution` grouped into
facts an agent can say ("third complaint in a year", "the customer asks for something in
return ("I want my money back")").

Model inputs are grouped (:data:`GROUPS`); each group's fact is worded by one stage of
:func:`~makegood.explain.wording.phrase` (what the model compares, what the words show,
money, the customer's history, the complaint's context). What the customer said or wants
is claimed only from ``said`` (intent -> the customer's own words, from
:mod:`makegood.features.intents`) and quotes it; what the text signals only suggest is
worded as what customers like this usually do. Here: which groups are reasons (an
argument, moving enough money, not contradicted by the figures), and in what order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from makegood.explain.wording import HEARD, STAGES, Wording, amount_text, phrase
from makegood.features.extra import text_input_column
from makegood.modeling.attribution import ACTION, MEDIATOR, Attribution

__all__ = [
    "GROUPS",
    "HASHED_WORDS",
    "INTERNAL_GROUPS",
    "NOT_ARGUMENTS",
    "Reason",
    "claim_holds",
    "group_of",
    "sayable_reasons",
]

#: Inputs that make one reason together (e.g. an amount and its logarithm).
GROUPS: dict[str, tuple[str, ...]] = {
    "resolution": (ACTION,),
    "satisfaction": (MEDIATOR,),
    "money_words": ("text_money", "intent_compensation"),
    "leave_words": ("text_churn", "intent_leaving"),
    "recognition_words": ("intent_recognition",),
    "urgency_words": ("intent_urgency",),
    "tone": ("text_compound", "text_neg", "text_pos"),
    "shouting": ("text_n_exclaim", "text_upper_share"),
    "questions": ("text_n_question",),
    "length": ("text_log_chars",),
    "emotion": ("emotion", "emotion_detected"),
    "disputed": ("disputed_amount", "log_disputed_amount"),
    "value": ("lifetime_value", "log_lifetime_value", "annual_value"),
    "tenure": ("tenure_months",),
    "severity": ("severity",),
    "complaints_this_year": ("prior_complaints_12m", "mem_n_prior_365d", "mem_n_prior"),
    "repeat_issue": ("mem_repeat_issue", "mem_n_same_issue"),
    "last_rating": ("mem_last_satisfaction", "mem_mean_satisfaction", "mem_n_answered"),
    "last_resolution": ("mem_last_resolution", "mem_last_compensation"),
    "compensated_recently": ("mem_total_compensation_365d",),
    "recency": ("mem_days_since_last",),
    "channel": ("channel", "mem_last_channel", "mem_n_channels"),
    "issue": ("issue_type",),
    "segment": ("segment",),
    "skill": ("digital_skill",),
    "timing": ("hour_of_day", "day_of_week"),
    "last_severity": ("mem_last_severity",),
    "last_emotion": ("mem_last_emotion",),
}
_GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}


#: The group of every hashed-word input of a declared ``text`` column (``note__h3``,
#: ``note__n_words``: :func:`~makegood.features.extra.text_input_column`).
HASHED_WORDS = "hashed_words"


def group_of(feature: str) -> str:
    """The reason group of a model input (``text_sat*`` inputs read the words' wishes; the
    hashed words of a declared text column are :data:`HASHED_WORDS`).

    >>> group_of("log_lifetime_value"), group_of("note__h3"), group_of("company")
    ('value', 'hashed_words', 'company')
    """
    if feature in _GROUP_OF:
        return _GROUP_OF[feature]
    if feature.startswith("text_sat"):
        return "satisfaction_words"
    if text_input_column(feature) is not None:
        return HASHED_WORDS
    return feature


#: Reason groups only the agent may hear: the company's money and the model's workings.
INTERNAL_GROUPS = frozenset(
    {"compensation", "handling_cost", "value", "budget", "pacing", "exploration", "satisfaction"}
)

#: Model inputs that weigh in the model but are no argument an agent can say or weigh
#: ("the time of contact", "contacted us by phone", "medium digital skill"): never a reason.
#: Nor are the hashed words of a declared text column: a bucket mixes unrelated words by
#: their hash, so "note h3 is 0.2" names nothing the customer said.
NOT_ARGUMENTS = frozenset({"timing", "channel", "skill", HASHED_WORDS})


@dataclass(frozen=True)
class Reason:
    """One plain reason: ``amount`` (money) > 0 favours the recommended resolution.

    ``claim`` names the figure on which the text says the favoured side does better
    ("satisfaction": expected satisfaction, "retention": churn risk), None when the text
    compares nothing (see :func:`claim_holds`).
    """

    group: str
    text: str
    amount: float
    features: tuple[str, ...] = field(default_factory=tuple)
    claim: str | None = None

    @property
    def favours(self) -> str:
        return "recommended" if self.amount >= 0 else "runner_up"

    @property
    def internal(self) -> bool:
        """True when the reason is for the agent only (costs, value, the model's numbers)."""
        return self.group in INTERNAL_GROUPS


#: Context groups :func:`~makegood.explain.wording.context_fact` words as arguments (any
#: other input is no reason).
_CONTEXT = frozenset({"severity", "issue", "segment"})


def _is_argument(group: str, values: Mapping[str, Any]) -> bool:
    """Whether a group's fact is something an agent can say or weigh: a worded group
    that is not a bare input (:data:`NOT_ARGUMENTS`) nor a mood nobody knows."""
    if group in NOT_ARGUMENTS or (group not in STAGES and group not in _CONTEXT):
        return False
    if group == "emotion":
        return bool(values.get("emotion"))
    if group == "last_emotion":
        return bool(values.get("mem_last_emotion"))
    return True


def _claim_of(group: str, w: Wording) -> str | None:
    """The figure a group's wording says the favoured side does better on."""
    if group in ("satisfaction", "satisfaction_words"):
        return "satisfaction"
    if group == "resolution" or (group in HEARD and HEARD[group][0] not in w.said):
        return "retention"  # "... stay more often after X"
    return None


def claim_holds(claim: str | None, w: Wording) -> bool:
    """Whether the candidates' figures, as the cards show them (satisfaction to 0.1,
    churn risk to 0.1%), agree with a reason claiming the side ``w.amount`` favours
    does better on ``claim``; a figure not known contradicts nothing.

    >>> w = Wording("Refund", "Apology", sat_r=6.2, sat_u=5.9, amount=-3.0)
    >>> claim_holds("satisfaction", w), claim_holds(None, w)
    (False, True)
    """
    if claim is None:
        return True
    if claim == "satisfaction":
        gap = round(w.sat_r, 1) - round(w.sat_u, 1)
    else:  # retention: a lower churn risk is better
        gap = round(w.churn_u, 3) - round(w.churn_r, 3)
    if math.isnan(gap):
        return True
    return gap > 0 if w.amount >= 0 else gap < 0


def sayable_reasons(
    attribution: Attribution,
    values: Mapping[str, Any],
    *,
    rec: str,
    runner_up: str,
    currency: str = "USD",
    labels: Mapping[str, str] | None = None,
    sat_r: float = math.nan,
    sat_u: float = math.nan,
    churn_r: float = math.nan,
    churn_u: float = math.nan,
    said: Sequence[Mapping[str, str]] = (),
    held: float = 0.0,
    last_given: bool = True,
    min_amount: float = 0.01,
) -> list[Reason]:
    """Plain reasons for ``rec`` over ``runner_up``, largest money effect first.

    Model inputs are grouped (:data:`GROUPS`), compensation and handling cost are
    reasons of their own; groups moving less than ``min_amount`` are dropped, and so are
    inputs that are no argument (:data:`NOT_ARGUMENTS`, unknown inputs, an unknown
    mood) and every comparison the candidates' figures (``sat_*``: expected
    satisfaction, ``churn_*``: churn risk, of ``rec`` and ``runner_up``) contradict
    (:func:`claim_holds`). ``said`` is the complaint's ``customer_said`` (``[{"intent",
    "quote"}, ...]``): the only ground for a reason that says what the customer asked
    for. ``held`` and ``last_given``: see :class:`Wording`. Each resolution label
    appears at most once in a reason.
    """
    heard = {s["intent"]: s["quote"] for s in said}
    by_group: dict[str, list[str]] = {}
    amounts: dict[str, float] = {}
    for name, amount in attribution.terms.items():
        g = group_of(name)
        amounts[g] = amounts.get(g, 0.0) + amount
        by_group.setdefault(g, []).append(name)
    out = []
    for g, amount in amounts.items():
        if abs(amount) < min_amount or not _is_argument(g, values):
            continue
        wording = Wording(
            rec, runner_up, currency, labels or {}, sat_r, sat_u, amount, heard, churn_r,
            churn_u, held, last_given,
        )  # fmt: skip
        claim = _claim_of(g, wording)
        if claim_holds(claim, wording):
            out.append(Reason(g, phrase(g, values, wording), amount, tuple(by_group[g]), claim))
    comp = attribution.compensation
    if abs(comp) >= min_amount:
        text = (
            f"{rec} costs {amount_text(-comp, currency)} more in compensation"
            if comp < 0
            else f"{rec} saves {amount_text(comp, currency)} in compensation"
        )
        out.append(Reason("compensation", text, comp, ()))
    hc = attribution.handling_cost
    if abs(hc) >= min_amount:
        text = (
            f"{rec} costs {amount_text(-hc, currency)} more to carry out"
            if hc < 0
            else f"{rec} costs {amount_text(hc, currency)} less to carry out"
        )
        out.append(Reason("handling_cost", text, hc, ()))
    out.sort(key=lambda r: -abs(r.amount))
    return out
