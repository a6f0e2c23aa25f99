"""Who is served next: the queue's priority, skill routing, expected wait and callbacks.

Plain numpy, arrays in and arrays out; the caller (the queue store) validates inputs.
Shapes: ``n`` waiting contacts.

Priority is the value at risk (``lifetime_value x churn_prob(baseline)``, see
:func:`makegood.policy.value.value_at_risk`) plus a fixed amount for every minute waited::

    priority_i(t) = value_at_risk_i + ageing_per_minute * waited_minutes_i(t)

Additive ageing (rather than ``VaR x (1 + age / half_time)``) moves every contact up as it
waits, one with no value at risk too, and gives a hard bound: a contact with value at risk
``v`` is never overtaken by one that arrived more than ``(v_max - v) / ageing_per_minute``
minutes after it (``v_max``: the largest value at risk that arrives), so it waits at most
for the contacts that arrived before that horizon (:func:`overtake_horizon_minutes`).
Between contacts of the same age the one with more at stake always goes first. Ties go to
the longer wait, then to the higher value at risk, then to the earlier position.

Routing: an agent serves the contacts whose skill is one of their primary skills at once,
and those matching a backup skill once they have waited ``backup_after_seconds`` (the
ideal agents had that long to take them). An agent with no skills listed is a generalist
(every skill is primary).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "QueueRules",
    "ageing",
    "callback_offered",
    "callback_slots",
    "expected_wait_seconds",
    "may_open",
    "next_for_agent",
    "order",
    "overtake_horizon_minutes",
    "priority",
    "servable",
]


@dataclass(frozen=True)
class QueueRules:
    """The queue's parameters (``MAKEGOOD_QUEUE_*`` settings in the service).

    Attributes:
        ageing_per_minute: value at risk (currency) a contact gains per minute waited.
        backup_after_seconds: wait after which an agent's backup skills also serve it.
        callback_after_seconds: expected wait above which a callback is offered.
        handle_seconds: an agent's handling time per case when none was measured yet.
    """

    ageing_per_minute: float = 10.0
    backup_after_seconds: float = 120.0
    callback_after_seconds: float = 600.0
    handle_seconds: float = 360.0


def priority(
    value_at_risk: ArrayLike, waited_seconds: ArrayLike, *, ageing_per_minute: float
) -> np.ndarray:
    """``value_at_risk + ageing_per_minute * waited_seconds / 60`` (negative waits count 0).

    >>> priority([500.0, 100.0, 0.0], [0.0, 1800.0, 3600.0], ageing_per_minute=10.0)
    array([500., 400., 600.])
    """
    var = np.asarray(value_at_risk, dtype=float)
    return var + ageing(waited_seconds, ageing_per_minute=ageing_per_minute)


def ageing(waited_seconds: ArrayLike, *, ageing_per_minute: float) -> np.ndarray:
    """The part of the priority a contact earned by waiting:
    ``ageing_per_minute * waited_seconds / 60`` (negative waits count 0). With the value
    at risk it is the whole of the "why first" (:func:`priority` is their sum).

    >>> ageing([0.0, 90.0, -5.0], ageing_per_minute=10.0).tolist()
    [0.0, 15.0, 0.0]
    """
    waited = np.maximum(np.asarray(waited_seconds, dtype=float), 0.0)
    return ageing_per_minute * waited / 60.0


def order(
    value_at_risk: ArrayLike, waited_seconds: ArrayLike, *, ageing_per_minute: float
) -> np.ndarray:
    """Positions of the contacts in serving order: highest priority first, then the longer
    wait, the higher value at risk, the earlier position.

    >>> order([100.0, 300.0, 100.0], [60.0, 0.0, 120.0], ageing_per_minute=10.0).tolist()
    [1, 2, 0]
    """
    var = np.asarray(value_at_risk, dtype=float)
    waited = np.asarray(waited_seconds, dtype=float)
    p = priority(var, waited, ageing_per_minute=ageing_per_minute)
    idx = np.arange(len(p))
    # value at risk breaks what rounding made a tie (1e-28 + 30 == 30 in floats)
    return np.lexsort((idx, -var, -waited, -p))


def servable(
    skills: ArrayLike,
    waited_seconds: ArrayLike,
    *,
    primary: Collection[str] | None,
    backup: Collection[str] = (),
    backup_after_seconds: float,
) -> np.ndarray:
    """Boolean mask of the contacts an agent may serve now.

    ``primary`` None or empty: a generalist, who serves every skill.

    >>> servable(["billing", "outage", "outage", "returns"], [0, 0, 300, 999],
    ...          primary=["billing"], backup=["outage"], backup_after_seconds=120).tolist()
    [True, False, True, False]
    """
    skill = np.asarray(skills, dtype=object)
    if not primary:
        return np.ones(len(skill), dtype=bool)
    waited = np.asarray(waited_seconds, dtype=float)
    is_primary = np.isin(skill, list(primary))
    is_backup = np.isin(skill, list(backup)) & (waited >= backup_after_seconds)
    return is_primary | is_backup


def may_open(
    skill: str, *, primary: Collection[str] | None, backup: Collection[str] = (), supervisor: bool
) -> bool:
    """Whether an agent may open this case out of turn (a row clicked in the queue).

    A supervisor opens any case; an agent one of their primary or backup skills at any
    wait (opening it is their choice to help, unlike ``next``, which hands backup work
    out only after ``backup_after_seconds``); a generalist (no skills) any case.

    >>> may_open("outage", primary=["billing"], backup=["outage"], supervisor=False)
    True
    >>> may_open("returns", primary=["billing"], backup=["outage"], supervisor=False)
    False
    """
    if supervisor:
        return True
    ok = servable([skill], [0.0], primary=primary, backup=backup, backup_after_seconds=0.0)
    return bool(ok[0])


def next_for_agent(
    value_at_risk: ArrayLike,
    waited_seconds: ArrayLike,
    skills: ArrayLike,
    *,
    primary: Collection[str] | None,
    backup: Collection[str] = (),
    rules: QueueRules,
) -> np.ndarray:
    """Positions of the contacts this agent may serve now, best first (the first is served).

    >>> rules = QueueRules(ageing_per_minute=10.0, backup_after_seconds=120.0)
    >>> next_for_agent([900.0, 50.0, 400.0], [0.0, 600.0, 0.0], ["outage", "billing", "billing"],
    ...                primary=["billing"], backup=["outage"], rules=rules).tolist()
    [2, 1]
    """
    waited = np.asarray(waited_seconds, dtype=float)
    ok = servable(
        skills,
        waited,
        primary=primary,
        backup=backup,
        backup_after_seconds=rules.backup_after_seconds,
    )
    ranked = order(value_at_risk, waited, ageing_per_minute=rules.ageing_per_minute)
    return ranked[ok[ranked]]


def overtake_horizon_minutes(
    value_at_risk: float, max_value_at_risk: float, *, ageing_per_minute: float
) -> float:
    """Minutes after a contact's arrival beyond which no later arrival can overtake it.

    A contact arriving ``d`` minutes later with value at risk ``u`` is ahead of it only
    while ``u - v > ageing_per_minute * d``, so never once ``d > (v_max - v) / rate``.

    >>> overtake_horizon_minutes(200.0, 1200.0, ageing_per_minute=10.0)
    100.0
    """
    if ageing_per_minute <= 0:
        return float("inf")
    return max(max_value_at_risk - value_at_risk, 0.0) / ageing_per_minute


def expected_wait_seconds(n_ahead: ArrayLike, n_agents: int, handle_seconds: float) -> np.ndarray:
    """Expected wait of a contact with ``n_ahead`` contacts before it:
    ``(n_ahead + 1) * handle_seconds / n_agents``, with at least one agent.

    Each of ``n_agents`` agents frees up every ``handle_seconds`` on average; the contact
    is served when the ``n_ahead + 1``-th agent frees up.

    >>> expected_wait_seconds([0, 3], n_agents=2, handle_seconds=300.0).tolist()
    [150.0, 600.0]
    """
    ahead = np.asarray(n_ahead, dtype=float)
    return (ahead + 1.0) * float(handle_seconds) / max(int(n_agents), 1)


def callback_offered(expected_wait: ArrayLike, *, rules: QueueRules) -> np.ndarray:
    """Whether to offer a callback: the expected wait exceeds ``callback_after_seconds``.

    >>> callback_offered([300.0, 900.0], rules=QueueRules(callback_after_seconds=600.0)).tolist()
    [False, True]
    """
    return np.asarray(expected_wait, dtype=float) > rules.callback_after_seconds


def callback_slots(
    now: datetime, *, lead_seconds: float, slot_minutes: int, n: int = 3
) -> list[tuple[datetime, datetime]]:
    """``n`` consecutive callback slots of ``slot_minutes``, the first starting on the
    first slot boundary (whole multiples of ``slot_minutes`` since midnight) at least
    ``lead_seconds`` from ``now``.

    >>> [(a.strftime("%H:%M"), b.strftime("%H:%M")) for a, b in callback_slots(
    ...     datetime(2026, 1, 5, 9, 7), lead_seconds=600, slot_minutes=30, n=2)]
    [('09:30', '10:00'), ('10:00', '10:30')]
    """
    earliest = now + timedelta(seconds=lead_seconds)
    midnight = earliest.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(minutes=slot_minutes)
    k = -(-(earliest - midnight) // step)  # ceiling division of timedeltas
    first = midnight + k * step
    return [(first + i * step, first + (i + 1) * step) for i in range(n)]
