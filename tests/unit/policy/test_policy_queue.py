"""The queue's rule: value at risk with ageing, skill routing, expected wait, callbacks."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.policy import queue
from makegood.policy.queue import (
    QueueRules,
    callback_offered,
    expected_wait_seconds,
    next_for_agent,
    order,
    overtake_horizon_minutes,
    priority,
    servable,
)

SKILLS = ["billing", "outage", "returns", "fraud"]
money = st.floats(0, 5_000, allow_nan=False)
wait = st.floats(0, 7_200, allow_nan=False)
rate = st.floats(0.1, 50, allow_nan=False)


def test_doctests():
    assert doctest.testmod(queue).failed == 0


@st.composite
def waiting(draw, min_size=1, max_size=30):
    n = draw(st.integers(min_size, max_size))
    var = draw(st.lists(money, min_size=n, max_size=n))
    # few distinct ages, so contacts of the same age are common
    ages = draw(st.lists(st.sampled_from([0.0, 30.0, 60.0, 600.0, 3600.0]), min_size=n, max_size=n))
    skills = draw(st.lists(st.sampled_from(SKILLS), min_size=n, max_size=n))
    return np.array(var), np.array(ages), np.array(skills, dtype=object)


@given(waiting(), rate)
def test_of_two_contacts_of_the_same_age_the_higher_value_at_risk_goes_first(contacts, r):
    var, ages, _ = contacts
    pos = np.empty(len(var), int)
    pos[order(var, ages, ageing_per_minute=r)] = np.arange(len(var))
    for i in range(len(var)):
        for j in range(len(var)):
            if ages[i] == ages[j] and var[i] > var[j]:
                assert pos[i] < pos[j]


@given(
    waiting(),
    rate,
    st.lists(st.sampled_from(SKILLS), max_size=2),
    st.lists(st.sampled_from(SKILLS), max_size=2),
    st.floats(0, 900),
)
def test_an_agent_is_given_only_what_their_skills_allow_and_nothing_they_may_serve_is_lost(
    contacts, r, primary, backup, backup_after
):
    var, ages, skills = contacts
    rules = QueueRules(ageing_per_minute=r, backup_after_seconds=backup_after)
    got = next_for_agent(var, ages, skills, primary=primary, backup=backup, rules=rules)
    allowed = {
        i
        for i in range(len(var))
        if not primary or skills[i] in primary or (skills[i] in backup and ages[i] >= backup_after)
    }
    assert set(got.tolist()) == allowed
    assert len(got) == len(set(got.tolist()))
    # the same value-at-risk order holds among what this agent may serve
    pos = {int(k): n for n, k in enumerate(got)}
    for i in allowed:
        for j in allowed:
            if ages[i] == ages[j] and var[i] > var[j]:
                assert pos[i] < pos[j]


def _simulate(arrivals: list[tuple[int, float]], rules: QueueRules) -> dict[int, int]:
    """One agent serving one contact a minute; returns the minute each contact is served."""
    served: dict[int, int] = {}
    t = 0
    last = max(a for a, _ in arrivals)
    while len(served) < len(arrivals):
        open_ = [k for k, (a, _) in enumerate(arrivals) if a <= t and k not in served]
        if open_:
            var = np.array([arrivals[k][1] for k in open_])
            waited = np.array([(t - arrivals[k][0]) * 60.0 for k in open_])
            best = next_for_agent(var, waited, ["any"] * len(open_), primary=None, rules=rules)
            served[open_[int(best[0])]] = t
        t += 1
        assert t <= last + len(arrivals) + 1, "the queue did not drain"
    return served


@given(
    st.lists(st.tuples(st.integers(0, 120), money), min_size=1, max_size=40),
    st.floats(1, 50),
)
def test_every_contact_is_served_and_no_late_arrival_overtakes_it_past_the_horizon(arrivals, r):
    rules = QueueRules(ageing_per_minute=r)
    served = _simulate(arrivals, rules)
    assert set(served) == set(range(len(arrivals)))
    v_max = max(v for _, v in arrivals)
    for c, (a_c, v_c) in enumerate(arrivals):
        horizon = overtake_horizon_minutes(v_c, v_max, ageing_per_minute=r)
        for k, (a_k, _) in enumerate(arrivals):
            if a_k - a_c > horizon:
                assert served[c] < served[k], (c, k)


@given(st.floats(0, 1_000), st.floats(5, 50), st.integers(0, 10))
def test_ageing_bounds_the_wait_under_a_saturating_stream_of_high_value_contacts(v, r, n_before):
    # a contact with little at stake, then a high-value arrival every minute forever
    # (the agent serves exactly one a minute): it is still served, within the horizon.
    v_max = 1_000.0
    horizon = overtake_horizon_minutes(v, v_max, ageing_per_minute=r)
    n_stream = int(horizon) + n_before + 5
    arrivals = [(0, v)] + [(0, v_max)] * n_before + [(m, v_max) for m in range(1, n_stream)]
    served = _simulate(arrivals, QueueRules(ageing_per_minute=r))
    assert served[0] <= horizon + n_before + 2


def test_without_ageing_a_low_value_contact_would_starve():
    # the check above is only worth something if the stream starves it without ageing
    arrivals = [(0, 10.0)] + [(m, 5_000.0) for m in range(0, 30)]
    served = _simulate(arrivals, QueueRules(ageing_per_minute=0.0))
    assert served[0] == max(served.values())


def test_a_backup_agent_serves_only_after_the_wait():
    kw = {"primary": ["billing"], "backup": ["outage"], "backup_after_seconds": 120.0}
    assert servable(["outage"], [119.0], **kw).tolist() == [False]
    assert servable(["outage"], [120.0], **kw).tolist() == [True]
    assert servable(["fraud"], [1e9], **kw).tolist() == [False]
    assert servable(["fraud"], [0.0], primary=None, backup_after_seconds=0).tolist() == [True]


def test_ageing_lifts_a_contact_with_nothing_at_stake():
    p = priority([0.0, 0.0], [0.0, 60.0], ageing_per_minute=10.0)
    assert p[1] == pytest.approx(10.0) and p[0] == 0.0


@given(st.integers(0, 1000), st.integers(0, 50), st.floats(1, 3600))
def test_expected_wait_grows_with_the_queue_and_shrinks_with_agents(n_ahead, n_agents, handle):
    w = expected_wait_seconds([n_ahead, n_ahead + 1], n_agents, handle)
    assert w[1] > w[0] > 0
    more = expected_wait_seconds([n_ahead], max(n_agents, 1) + 1, handle)
    assert more[0] < w[0]


def test_callback_is_offered_above_the_threshold_only():
    rules = QueueRules(callback_after_seconds=600.0)
    assert callback_offered([599.0, 600.0, 601.0], rules=rules).tolist() == [False, False, True]
