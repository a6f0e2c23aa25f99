"""The figures of a recommendation in plain words: a label for each figure, one
explanatory text for value at risk and for net value, how the two relate for this
complaint (:func:`value_relation`), and whether the choice is a close call
(:func:`close_call`).

Value at risk is ``lifetime_value x churn(baseline)``; net value of a resolution ``a``
is ``lifetime_value x (1 - churn(a)) - compensation(a) - handling_cost(a)``
(CONTRACT.md section 3), so ``net value = lifetime value - value at risk + what a saves
of that risk - what a costs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from makegood.explain.wording import amount_text
from makegood.modeling.predict import Scores

__all__ = [
    "FIGURE_LABELS",
    "NET_VALUE_HELP",
    "VALUE_AT_RISK_HELP",
    "Interval",
    "close_call",
    "value_relation",
]

#: A plain label for each figure of a recommendation (answer field -> label).
FIGURE_LABELS: dict[str, str] = {
    "expected_satisfaction": "Expected satisfaction (0-10)",
    "churn_probability": "Chance they leave within 90 days",
    "retention_lift": "Fewer leaving than with the baseline",
    "net_value": "Net value (value kept after costs)",
    "net_value_interval": "Likely range of net value",
    "compensation": "Paid to the customer",
    "fits_budget": "Fits the budget",
    "thin_evidence": "Few past cases like this",
    "value_at_risk": "Value at risk",
    "lifetime_value": "Lifetime value",
}

VALUE_AT_RISK_HELP = (
    "Value at risk: what we expect to lose if we do only the minimum (an apology): the "
    "customer's lifetime value times the chance they leave within 90 days."
)
NET_VALUE_HELP = (
    "Net value: what we expect to keep of the customer's lifetime value with this "
    "resolution, after paying for it: lifetime value minus the value still at risk, "
    "minus compensation and handling cost. A resolution that lowers the chance of "
    "leaving wins back part of the value at risk."
)


@dataclass(frozen=True)
class Interval:
    """A candidate's net value and its likely range (the answer's ``net_value_interval``)."""

    resolution: str
    net_value: float
    low: float
    high: float


def close_call(a: Interval, b: Interval) -> bool:
    """Whether two candidates' net values lie within each other's intervals: the
    model cannot tell which is worth more.

    >>> close_call(Interval("r", 8586, 7631, 9540), Interval("u", 8406, 7450, 9360))
    True
    >>> close_call(Interval("r", 8586, 8400, 8700), Interval("u", 8000, 7900, 8100))
    False
    """
    return b.low <= a.net_value <= b.high and a.low <= b.net_value <= a.high


def interval_of(scores: Scores, k: int, row: int = 0) -> Interval:
    """Candidate ``k``'s (catalog index) net value and interval, to the cent as shown."""
    return Interval(
        scores.action_ids[k],
        round(float(scores.net_value[row, k]), 2),
        round(float(scores.net_value_lo[row, k]), 2),
        round(float(scores.net_value_hi[row, k]), 2),
    )


def value_relation(
    scores: Scores,
    r: int,
    *,
    labels: Mapping[str, str],
    currency: str,
    row: int = 0,
) -> str:
    """How the recommended candidate ``r``'s net value relates to the value at risk,
    in words, for complaint ``row`` of ``scores``.

    >>> import numpy as np
    >>> k = np.ones((1, 2))
    >>> s = Scores(complaint_ids=np.array(["c"], dtype=object), action_ids=["apology", "refund"],
    ...     eligible=k > 0, compensation=k * [0, 40], handling_cost=np.array([2.0, 3.0]),
    ...     lifetime_value=np.array([10000.0]), satisfaction=k * np.nan,
    ...     churn_prob=k * [0.261, 0.1], churn_lo=k, churn_hi=k, retention_lift=k,
    ...     net_value=k * [7388.0, 8957.0], net_value_lo=k, net_value_hi=k, propensity=k,
    ...     baseline_index=0)
    >>> print(value_relation(s, 1, labels={"apology": "Apology", "refund": "Refund"},
    ...                      currency="USD"))  # doctest: +NORMALIZE_WHITESPACE
    Of a $10,000 lifetime value, $2,610 is at risk with Apology alone. Refund wins back
    $1,610 of it for $43.00 in costs: a net value of $8,957.
    """
    m = lambda x: amount_text(x, currency)  # noqa: E731
    b = scores.baseline_index
    ltv = float(scores.lifetime_value[row])
    churn = scores.churn_prob[row]
    at_risk = ltv * float(churn[b])
    cost = float(scores.compensation[row, r] + scores.handling_cost[r])
    net = float(scores.net_value[row, r])
    head = (
        f"Of a {m(ltv)} lifetime value, {m(at_risk)} is at risk with "
        f"{labels[scores.action_ids[b]]} alone."
    )
    if r == b:
        return f"{head} Its net value, {m(net)}, is what is left after {m(cost)} in costs."
    won = ltv * float(churn[b] - churn[r])
    effect = f"wins back {m(won)} of it" if won >= 0 else f"adds {m(won)} to that risk"
    return (
        f"{head} {labels[scores.action_ids[r]]} {effect} for {m(cost)} in costs: "
        f"a net value of {m(net)}."
    )
