"""The wording of reasons: :func:`phrase` words the fact behind one reason group by one
named stage (:data:`STAGES`): what the model compares (:func:`model_fact`), what the
words show (:func:`words_fact`), how the customer writes (:func:`manner_fact`), money
(:func:`money_fact`), the customer's history (:func:`history_fact`), the complaint's
context (:func:`context_fact`).

What the customer said or wants is claimed only from ``Wording.said`` (intent -> the
customer's own words, from :mod:`makegood.features.intents`) and quotes it
(:data:`HEARD`); what the text signals only suggest is worded as what customers like this
usually do. Which groups become reasons, and in what order: :mod:`makegood.explain.reasons`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from makegood.contract.units import money_text

__all__ = [
    "HEARD",
    "STAGES",
    "Wording",
    "amount_text",
    "complaints_fact",
    "context_fact",
    "history_fact",
    "manner_fact",
    "model_fact",
    "money_fact",
    "number_in",
    "phrase",
    "ratings_fact",
    "tenure_span",
    "tenure_text",
    "words_fact",
]

#: Word groups whose reason quotes the customer when ``customer_said`` heard the intent:
#: group -> (intent, what the customer does)
HEARD = {
    "money_words": ("compensation", "the customer asks for something in return"),
    "leave_words": ("leaving", "the customer says they may leave"),
    "recognition_words": ("recognition", "the customer wants to be recognised"),
    "urgency_words": ("urgency", "the customer needs this sorted quickly"),
}

#: Emotions under which a lexicon's "positive" score is not a positive tone: "None of
#: this makes sense to me. Please help." scores positive on its polite words.
_UNSETTLED = frozenset({"anxious", "confused", "frustrated", "angry"})


def amount_text(amount: float, currency: str) -> str:
    """The size of an amount in the explanations' wording (whole units from 100).

    >>> amount_text(-25, "USD"), amount_text(120.0, "USD")
    ('$25.00', '$120')
    """
    return money_text(abs(amount), currency, whole_from=100, zero_cents=True)


def tenure_span(months: float) -> str:
    """How long someone has been a customer, the one wording everywhere (reasons, the
    greeting, ``say``): whole years from two years on, else months.

    >>> tenure_span(0), tenure_span(1), tenure_span(18), tenure_span(30)
    ('less than a month', '1 month', '18 months', '2 years')
    """
    m = int(months)
    if m >= 24:
        return f"{m // 12} years"
    if m < 1:
        return "less than a month"
    return f"{m} month{'s' if m != 1 else ''}"


def tenure_text(months: float) -> str:
    """The customer's tenure as a fact about them (see :func:`tenure_span`).

    >>> tenure_text(0), tenure_text(30)
    ('a new customer (joined this month)', 'a customer for 2 years')
    """
    if int(months) < 1:
        return "a new customer (joined this month)"
    return f"a customer for {tenure_span(months)}"


def _ordinal(n: int) -> str:
    words = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
    if n in words:
        return words[n]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def number_in(values: Mapping[str, Any], name: str) -> float:
    """``values[name]`` as a float; NaN when missing or not a number."""
    v = values.get(name)
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return f


@dataclass(frozen=True)
class Wording:
    """What a reason's wording knows beyond the complaint's values: the two
    resolutions' labels, the currency, the catalog's labels, the two expected
    satisfactions, the reason's money (its sign says which side it favours), what
    the customer said (intent -> quote), the two churn risks, and what of the
    customer's history is only held for an open contact, not given (``held``: its
    compensation; ``last_given``: False when the last resolution on record is held)."""

    rec: str
    runner_up: str
    currency: str = "USD"
    labels: Mapping[str, str] = field(default_factory=dict)
    sat_r: float = math.nan
    sat_u: float = math.nan
    amount: float = 0.0
    said: Mapping[str, str] = field(default_factory=dict)
    churn_r: float = math.nan
    churn_u: float = math.nan
    held: float = 0.0
    last_given: bool = True

    @property
    def better(self) -> str:
        return self.rec if self.amount >= 0 else self.runner_up

    @property
    def worse(self) -> str:
        return self.runner_up if self.amount >= 0 else self.rec


# ----------------------------------------------------------------- the stages of phrase


def model_fact(group: str, v: Mapping[str, Any], w: Wording) -> str:
    """What the model compares: the resolution itself, and the expected satisfaction."""
    if group == "resolution":
        return (
            f"customers in this situation tend to stay more often after {w.better} than {w.worse}"
        )
    return (
        f"expected satisfaction {w.sat_r:.1f}/10 with {w.rec} "
        f"against {w.sat_u:.1f}/10 with {w.runner_up}"
    )


def words_fact(group: str, v: Mapping[str, Any], w: Wording) -> str:
    """What the customer's words show: a quoted wish, or what such words usually mean."""
    if group in HEARD:
        intent, heard = HEARD[group]
        if intent in w.said:  # the customer's own words, quoted
            return f'{heard} ("{w.said[intent]}")'
        return f"customers who write like this usually stay more often after {w.better}"
    return f"customers who write like this are usually more satisfied with {w.better}"


def manner_fact(group: str, v: Mapping[str, Any], w: Wording) -> str:
    """How the customer writes: tone, shouting, questions, length, emotion."""
    if group == "tone":
        c = number_in(v, "text_compound")
        if math.isnan(c):
            return "there is no message to read the tone from"
        emotion = v.get("emotion")
        if c >= 0.3 and emotion in _UNSETTLED:
            return f"the customer sounds {emotion}, though their words are polite"
        tone = "negative" if c <= -0.3 else "positive" if c >= 0.3 else "neutral"
        return f"the message is {tone} in tone"
    if group == "shouting":
        loud = number_in(v, "text_n_exclaim") >= 2 or number_in(v, "text_upper_share") >= 0.3
        return (
            "the customer is shouting (capitals, exclamation marks)"
            if loud
            else "the customer writes calmly"
        )
    if group == "questions":
        n = int(number_in(v, "text_n_question") or 0)
        return (
            f"the customer asks {n} question{'s' if n != 1 else ''}"
            if n
            else "the customer asks no questions"
        )
    if group == "length":
        long = number_in(v, "text_log_chars") >= math.log1p(300)
        return "a long, detailed message" if long else "a short message"
    e = v.get("emotion")
    if not e:
        return "the customer's mood is unknown"
    return f"the customer is {e}" + (
        " (read from their words)" if v.get("emotion_detected") else ""
    )


def money_fact(group: str, v: Mapping[str, Any], w: Wording) -> str:
    """Money: in dispute, the customer's lifetime value, compensation already received."""
    if group == "disputed":
        d = number_in(v, "disputed_amount")
        return f"{amount_text(d, w.currency)} is in dispute" if d > 0 else "no money is in dispute"
    if group == "value":
        value = number_in(v, "lifetime_value")
        return f"the customer's lifetime value is {amount_text(value, w.currency)}"
    # the memory counts an open contact's held compensation as given: it is not, yet
    c = number_in(v, "mem_total_compensation_365d") - w.held
    held = f" ({amount_text(w.held, w.currency)} held for an open contact)" if w.held > 0 else ""
    return (
        f"already received {amount_text(c, w.currency)} in the past year{held}"
        if c >= 0.005
        else f"no compensation in the past year{held}"
    )


def history_fact(group: str, v: Mapping[str, Any], w: Wording) -> str:
    """The customer's history: tenure, earlier complaints, ratings, resolutions, mood."""
    if group == "tenure":
        return tenure_text(number_in(v, "tenure_months"))
    if group == "complaints_this_year":
        return complaints_fact(v)
    if group == "repeat_issue":
        n = int(number_in(v, "mem_n_same_issue") or 0)
        issue = str(v.get("issue_type", "")).replace("_", " ")
        if n > 0:
            return f"the same {issue} problem came up {n} time{'s' if n > 1 else ''} before"
        return f"a first {issue} problem for this customer"
    if group == "last_rating":
        return ratings_fact(v)
    if group == "last_resolution":
        last = v.get("mem_last_resolution")
        if not last:
            return "no earlier resolution on record"
        if not w.last_given:
            return f"{w.labels.get(last, last)} is held for their open contact, not given yet"
        return f"last time they were given {w.labels.get(last, last)}"
    if group == "recency":
        d = number_in(v, "mem_days_since_last")
        return f"last complaint {d:.0f} days ago" if not math.isnan(d) else "no earlier complaint"
    if group == "last_severity":
        s = number_in(v, "mem_last_severity")
        if math.isnan(s):
            return "no earlier complaint"
        return f"the last complaint had severity {s:.0f}"
    e = v.get("mem_last_emotion")
    return f"they were {e} last time" if e else "their mood last time is unknown"


def context_fact(group: str, v: Mapping[str, Any], w: Wording) -> str:
    """The complaint's context: severity, issue, segment; any other input is named
    with its value (:func:`~makegood.explain.reasons.sayable_reasons` words only the
    groups that are arguments)."""
    if group == "severity":
        return f"severity {int(number_in(v, 'severity'))} of 5"
    if group == "issue":
        return f"a {str(v.get('issue_type', '')).replace('_', ' ')} issue"
    if group == "segment":
        return f"a {str(v.get('segment', '')).replace('_', ' ')} customer"
    return f"{group.replace('_', ' ')} is {v.get(group)}"


Stage = Callable[[str, Mapping[str, Any], Wording], str]

#: The stage that words each reason group (any other group: :func:`context_fact`).
STAGES: dict[str, Stage] = {
    **dict.fromkeys(("resolution", "satisfaction"), model_fact),
    **dict.fromkeys((*HEARD, "satisfaction_words"), words_fact),
    **dict.fromkeys(("tone", "shouting", "questions", "length", "emotion"), manner_fact),
    **dict.fromkeys(("disputed", "value", "compensated_recently"), money_fact),
    **dict.fromkeys(
        (
            "tenure",
            "complaints_this_year",
            "repeat_issue",
            "last_rating",
            "last_resolution",
            "recency",
            "last_severity",
            "last_emotion",
        ),
        history_fact,
    ),  # fmt: skip
}


def phrase(group: str, values: Mapping[str, Any], wording: Wording) -> str:
    """The fact behind one reason group (neutral: the caller says which side), worded
    by the group's stage (:data:`STAGES`).

    >>> phrase("severity", {"severity": 4}, Wording("Refund", "Apology"))
    'severity 4 of 5'
    """
    return STAGES.get(group, context_fact)(group, values, wording)


def complaints_fact(v: Mapping[str, Any]) -> str:
    """How many complaints in a year this is, counted in the customer's history as the
    timeline shows it (the trained history and the live contacts: ``mem_n_prior_365d``);
    the count the account lists (``prior_complaints_12m``) only when the model has no
    memory, or beside ours when it lists more.

    >>> complaints_fact({"mem_n_prior_365d": 0, "prior_complaints_12m": 2})
    'first complaint in a year on our record (their account lists 2 earlier)'
    >>> complaints_fact({"prior_complaints_12m": 2})
    'third complaint in a year'
    """
    ours = number_in(v, "mem_n_prior_365d")
    listed = number_in(v, "prior_complaints_12m")
    if math.isnan(ours):
        return f"{_ordinal(int(0 if math.isnan(listed) else listed) + 1)} complaint in a year"
    text = f"{_ordinal(int(ours) + 1)} complaint in a year"
    if not math.isnan(listed) and listed > ours:
        text += f" on our record (their account lists {int(listed)} earlier)"
    return text


def ratings_fact(v: Mapping[str, Any]) -> str:
    """What the customer's earlier survey answers were, as they are.

    "No rating" only when none of the earlier complaints was rated; an unrated last
    complaint does not hide the earlier ratings.

    >>> ratings_fact({"mem_n_answered": 2, "mem_mean_satisfaction": 6.0,
    ...               "mem_last_satisfaction": float("nan")})
    'the last complaint was not rated; 2 earlier ones were rated 6.0/10 on average'
    >>> ratings_fact({"mem_n_answered": 0})
    'no rating from earlier complaints'
    """
    n = number_in(v, "mem_n_answered")
    last = number_in(v, "mem_last_satisfaction")
    mean = number_in(v, "mem_mean_satisfaction")
    if math.isnan(n):  # an older model without the count: judge by what is there
        n = 0.0 if math.isnan(last) and math.isnan(mean) else 1.0
    if n <= 0:
        return "no rating from earlier complaints"
    if math.isnan(last):
        ones = "one was" if n == 1 else "ones were"
        return f"the last complaint was not rated; {int(n)} earlier {ones} rated {mean:.1f}/10" + (
            " on average" if n > 1 else ""
        )
    if n > 1 and not math.isnan(mean):
        return f"last time they rated us {last:.0f}/10 ({int(n)} ratings, {mean:.1f}/10 on average)"
    return f"last time they rated us {last:.0f}/10"
