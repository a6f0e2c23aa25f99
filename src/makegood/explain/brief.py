"""Two readers of one choice: ``say`` for the customer, ``why`` for the agent, and the
explanation of the recommended resolution against its runner-up (:func:`explain_choice`).

The runner-up is the eligible candidate of highest net value other than the choice;
the difference is attributed by :class:`~makegood.modeling.attribution.ContrastExplainer`
and worded by :func:`~makegood.explain.reasons.sayable_reasons`. Why the choice beat a
runner-up of higher value is said first: it does not fit the budget, the budget's price
makes it too dear, or a close call was explored. When the two net values lie within
each other's intervals (:func:`~makegood.explain.figures.close_call`), ``why`` opens
with "Close call" and the intervals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from makegood.explain.figures import Interval, close_call, interval_of
from makegood.explain.reasons import Reason, sayable_reasons
from makegood.explain.wording import amount_text, number_in, tenure_span
from makegood.modeling.attribution import ContrastExplainer
from makegood.modeling.predict import THIN_EVIDENCE, Scores

__all__ = ["Explanation", "agent_brief", "customer_message", "explain_choice"]


def _sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def customer_message(
    rec: str,
    *,
    compensation: float,
    said: Sequence[Mapping[str, str]],
    values: Mapping[str, Any],
    currency: str = "USD",
) -> str:
    """``say``: what the agent can tell the customer, in the customer's terms.

    The resolution ``rec`` (with the money the customer receives, ``compensation``) and
    why, from what the customer said (``said``: their ``customer_said``, quoted back).
    Never the company's costs, values or model numbers. Each label once per sentence.

    >>> said = [{"intent": "compensation", "quote": "I want my money back"}]
    >>> print(customer_message("Refund", compensation=40.0, values={}, said=said))
    ... # doctest: +NORMALIZE_WHITESPACE
    We would like to offer you Refund, with $40.00 for you. You asked for something in
    return ("I want my money back"), and this includes money for you.
    """
    heard = {s["intent"]: s["quote"] for s in said}
    offer = f"we would like to offer you {rec}" + (
        f", with {amount_text(compensation, currency)} for you" if compensation > 0 else ""
    )
    out = [_sentence(offer)]
    if "compensation" in heard:
        q = heard["compensation"]
        out.append(
            f'You asked for something in return ("{q}"), and this includes money for you.'
            if compensation > 0
            else f'You asked for something in return ("{q}"); this is what we can do for you.'
        )
    if "recognition" in heard:
        months = number_in(values, "tenure_months")
        q = heard["recognition"]
        out.append(
            f'You have been with us for {tenure_span(months)} ("{q}"), and that matters to us.'
            if months >= 24
            else f'You told us how this made you feel ("{q}"), and we are sorry.'
        )
    if "leaving" in heard:
        out.append(
            f'You mentioned leaving ("{heard["leaving"]}"); we would like to keep you '
            "and put this right."
        )
    if "urgency" in heard:
        out.append(f'You need this sorted quickly ("{heard["urgency"]}"), so we are on it now.')
    if len(out) == 1:
        out.append("We are sorry for the trouble and want to put it right.")
    return " ".join(out)


def agent_brief(
    rec: str,
    runner_up: str | None,
    *,
    value_difference: float,
    churn: tuple[float, float],
    compensation: tuple[float, float],
    handling_cost: tuple[float, float],
    thin_evidence: bool,
    reasons: Sequence[Reason],
    currency: str = "USD",
    n_reasons: int = 3,
    close: tuple[Interval, Interval] | None = None,
) -> str:
    """``why``: for the agent: net-value difference, costs, churn risk, thin evidence.

    ``churn``, ``compensation`` and ``handling_cost`` are ``(recommended, runner-up)``
    pairs (the runner-up's ignored when ``runner_up`` is None). ``close``: the two net
    value intervals when the choice is a close call (said first). Then the
    ``n_reasons`` largest reasons favouring ``rec``, one sentence each, so that each
    resolution label appears at most once per sentence.
    """
    churn_r, churn_u = churn
    compensation_r, compensation_u = compensation
    handling_cost_r, handling_cost_u = handling_cost
    m = lambda x: amount_text(x, currency)  # noqa: E731
    out = []
    if runner_up is None:
        out.append(f"{rec} is the only resolution available for this complaint.")
        out.append(
            f"Churn risk {churn_r:.0%}; it costs {m(compensation_r)} in compensation and "
            f"{m(handling_cost_r)} to carry out."
        )
    else:
        if close is not None:
            r, u = close
            out.append(
                f"Close call: {rec} ({m(r.low)}-{m(r.high)}) and {runner_up} "
                f"({m(u.low)}-{m(u.high)}) are within each other's range of net value."
            )
        lead = "more" if value_difference >= 0 else "less"
        out.append(
            f"{rec} is worth {m(value_difference)} {lead} in expected net value than {runner_up}."
        )
        out.append(f"Churn risk {churn_r:.0%} with {rec} against {churn_u:.0%} with {runner_up}.")
        out.append(
            f"Cost: {m(compensation_r)} compensation and {m(handling_cost_r)} handling for {rec}; "
            f"{m(compensation_u)} and {m(handling_cost_u)} for {runner_up}."
        )
    if thin_evidence:
        out.append(
            f"Thin evidence: few past customers like this were given {rec}, "
            "so its estimate is uncertain."
        )
    out.extend(_sentence(r.text) for r in [r for r in reasons if r.amount > 0][:n_reasons])
    return " ".join(out)


@dataclass(frozen=True)
class Explanation:
    """Why the recommended resolution rather than the runner-up (None: the only one).

    ``reasons`` favour the recommendation (customer-facing ones first, at most five),
    ``against`` favour the runner-up (at most three); ``value_difference`` is
    ``NV_r - NV_u``; ``close_call`` when the two net values lie within each other's
    ``intervals`` (the recommended's, then the runner-up's).
    """

    recommended: str
    runner_up: str | None
    summary: str
    say: str
    why: str
    value_difference: float
    reasons: list[Reason]
    against: list[Reason]
    close_call: bool = False
    intervals: tuple[Interval, ...] = ()


def explain_choice(
    scores: Scores,
    values: Mapping[str, Any],
    r: int,
    *,
    explainer: ContrastExplainer,
    labels: Mapping[str, str],
    currency: str,
    fits_budget: np.ndarray,
    shadow_price: float,
    said: Sequence[Mapping[str, str]],
    row: int = 0,
    held: float = 0.0,
    last_given: bool = True,
    allowed: np.ndarray | None = None,
    guardrail: str = "",
) -> Explanation:
    """The explanation of candidate ``r`` (catalog index) of complaint ``row`` of
    ``scores``: ``values`` are its named model inputs, ``fits_budget`` (K,) whether each
    candidate fits what is left of the budget, ``shadow_price`` the budget's price per
    unit of compensation, ``said`` the complaint's ``customer_said``; ``held`` and
    ``last_given``: what of the customer's history is only held for an open contact
    (see :class:`~makegood.explain.wording.Wording`); ``allowed`` (K,) the candidates
    the catalog's guardrails leave (the runner-up is among them) and ``guardrail`` why
    one decided (:func:`~makegood.explain.guardrails.guardrail_text`): it leads the
    summary and the agent's brief."""
    ids = scores.action_ids
    eligible, net_value = scores.eligible[row], scores.net_value[row]
    if allowed is not None:
        eligible = eligible & allowed
    compensation, churn = scores.compensation[row], scores.churn_prob[row]
    rec_label = labels[ids[r]]
    say = customer_message(
        rec_label, compensation=float(compensation[r]), said=said, values=values, currency=currency
    )
    others = [k for k in np.flatnonzero(eligible) if k != r]
    u = None if not others else int(max(others, key=lambda k: (net_value[k], -k)))

    intervals = tuple(interval_of(scores, k, row) for k in ([r] if u is None else [r, u]))
    close = None if u is None or not close_call(*intervals) else (intervals[0], intervals[1])

    def why(value_difference: float, reasons: Sequence[Reason]) -> str:
        k = r if u is None else u
        return agent_brief(
            rec_label,
            None if u is None else labels[ids[u]],
            value_difference=value_difference,
            churn=(float(churn[r]), float(churn[k])),
            compensation=(float(compensation[r]), float(compensation[k])),
            handling_cost=(float(scores.handling_cost[r]), float(scores.handling_cost[k])),
            thin_evidence=bool(scores.propensity[row, r] < THIN_EVIDENCE),
            reasons=reasons,
            currency=currency,
            close=close,
        )

    if u is None:
        only = Explanation(
            ids[r],
            None,
            f"Offer {rec_label}: the only resolution available for this complaint.",
            say,
            why(0.0, []),
            0.0,
            [],
            [],
            intervals=intervals,
        )
        return with_guardrail(only, guardrail)
    ru_label = labels[ids[u]]
    attribution = explainer.contrast(scores, r, u, row=row)
    satisfaction = scores.satisfaction[row]
    reasons = sayable_reasons(
        attribution,
        values,
        rec=rec_label,
        runner_up=ru_label,
        currency=currency,
        labels=labels,
        sat_r=float(satisfaction[r]),
        sat_u=float(satisfaction[u]),
        churn_r=float(churn[r]),
        churn_u=float(churn[u]),
        said=said,
        held=held,
        last_given=last_given,
    )
    total = attribution.total
    why_not = _why_not_runner_up(
        ru_label,
        total,
        fits=bool(fits_budget[u]),
        dearer=bool(compensation[u] > compensation[r]),
        shadow_price=shadow_price,
    )
    # the customer-facing reasons first: an internal cost is no reason to give a customer
    pro = why_not + sorted(
        (x for x in reasons if x.amount > 0), key=lambda x: (x.internal, -x.amount)
    )
    con = [x for x in reasons if x.amount < 0]
    summary = " ".join(
        [f"Offer {rec_label} rather than {ru_label}{' (a close call)' if close else ''}."]
        + [x.text[0].upper() + x.text[1:] + "." for x in pro[:2]]
    )
    return with_guardrail(Explanation(
        ids[r], ids[u], summary, say, why(total, why_not + reasons), round(total, 2), pro[:5],
        con[:3], close is not None, intervals,
    ), guardrail)  # fmt: skip


def _why_not_runner_up(
    label: str, total: float, *, fits: bool, dearer: bool, shadow_price: float
) -> list[Reason]:
    """Why a runner-up of higher value (``total < 0``) was not chosen, or why one that
    does not fit the budget was not: none when the choice is worth more anyway."""
    if not fits:
        return [Reason("budget", f"{label} does not fit the remaining budget", -total, ())]
    if total < 0 and shadow_price > 0 and dearer:
        text = (
            f"the budget is priced at {shadow_price:.2f} per unit of compensation to last the "
            f"period, which makes {label} too dear"
        )
        return [Reason("pacing", text, -total, ())]
    if total < 0:
        return [Reason("exploration", "a close call between near-equal options", -total, ())]
    return []


def with_guardrail(explanation: Explanation, text: str) -> Explanation:
    """The explanation with the guardrail's sentence first in its summary and the
    agent's brief (unchanged without one)."""
    if not text:
        return explanation
    lead = text[0].upper() + text[1:] + "."
    return replace(
        explanation, summary=f"{lead} {explanation.summary}", why=f"{lead} {explanation.why}"
    )
