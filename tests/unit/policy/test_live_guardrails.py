"""The guardrails for one complaint decided live (makegood.policy.live_guardrails), and
the cap's reason worded from what fills the window (the "has had $0" bug).

The property builds a customer's payments at random times around the complaint (some
after it: contacts opened later), lets the complaint take any option the guardrails
leave, and checks every window of every cap, each computed here in exact fractions from
the contract's words.
"""

from __future__ import annotations

import doctest
from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import makegood.policy.live_guardrails as live_module
from makegood.contract.catalog import Cap
from makegood.explain.guardrails import cap_text
from makegood.policy.guardrails import CAP, Guardrails, Spent, guarded_allocate
from makegood.policy.live_guardrails import live_eligibility

T0 = np.datetime64("2024-01-01T00:00:00", "ns")
CAP_150 = Cap("per_customer_cap", 150.0, 90)


def days(*offsets: float) -> np.ndarray:
    return T0 + (np.asarray(offsets, dtype=float) * 86_400e9).astype("timedelta64[ns]")


def test_module_doctests() -> None:
    assert doctest.testmod(live_module).failed == 0


def windows_within(times: list[float], amounts: list[float], owed: list[float], cap: Cap) -> bool:
    """Every window [t - days, t] (t a payment's time) holds at most
    max(cap, what its payments require), in exact arithmetic."""
    for t in times:
        inside = [i for i, s in enumerate(times) if t - cap.days <= s <= t]
        total = sum(Fraction(str(amounts[i])) for i in inside)
        need = sum(Fraction(str(owed[i])) for i in inside)
        if total > max(Fraction(str(cap.amount)), need):
            return False
    return True


money = st.sampled_from([0.0, 10.0, 25.0, 40.0, 75.0, 100.0, 0.1, 0.2])


@given(
    past=st.lists(st.tuples(st.floats(-200, 200, allow_nan=False), money), max_size=6),
    options=st.lists(money, min_size=1, max_size=5),
    floor=st.one_of(st.none(), money),
    caps=st.lists(
        st.builds(Cap, st.just("cap"), st.sampled_from([30.0, 150.0]), st.sampled_from([7, 90])),
        min_size=1,
        max_size=2,
    ),
    pick=st.integers(0, 10),
)
def test_any_option_left_keeps_every_window_of_the_customer(past, options, floor, caps, pick):
    # the customer's payments before and after the complaint (at day 0) already keep the
    # caps: they were decided under them (here: drop the ones that would not)
    times, amounts = [], []
    for t, x in sorted(past):
        if all(
            windows_within([*times, t], [*amounts, x], [0.0] * (len(times) + 1), c) for c in caps
        ):
            times.append(t)
            amounts.append(x)
    comp = np.array([sorted(options)])
    rails = Guardrails(
        floor=[np.nan if floor is None else floor],
        floor_rule=["owed"],
        caps=caps,
        customer=["ann"],
        opened_at=days(0),
        spent=Spent(["ann"] * len(times) + ["bob"], days(*times, 0), [*amounts, 500.0]),
    )
    cut = live_eligibility(comp, np.ones_like(comp, dtype=bool), rails)
    left = np.flatnonzero(cut.eligible[0])
    assert left.size >= 1
    k = int(left[pick % left.size])
    required = float(cut.required[0])
    if floor is not None and comp[0].max() >= floor:
        assert comp[0, k] >= floor  # the floor is met when it is reachable
    # what the complaint requires: its cheapest option, or the cheapest reaching its floor
    # (the most generous when none does)
    reach = [x for x in options if floor is None or x >= floor] or [max(options)]
    assert required == min(reach)
    owed_now = required
    for c in caps:
        # what was given is as recorded: a window requires it, and this complaint's need
        assert windows_within([*times, 0.0], [*amounts, float(comp[0, k])], [*amounts, owed_now], c)


def test_a_later_payment_takes_its_room_from_a_complaint_opened_before_it() -> None:
    later = Spent(["ann", "ann"], days(-200, 30), [150.0, 120.0])
    comp = np.array([[0.0, 25.0, 40.0]])
    rails = Guardrails(caps=[CAP_150], customer=["ann"], opened_at=days(0), spent=later)
    cut = live_eligibility(comp, np.ones_like(comp, dtype=bool), rails)
    assert cut.eligible.tolist() == [[True, True, False]]  # 150 - 120 = 30
    assert (cut.decided_by[0], cut.cap_had[0], cut.cap_later[0]) == (CAP, 0.0, 120.0)
    assert cut.floor_spend == 0.0 and cut.required.tolist() == [0.0]


def test_a_cap_reason_says_what_fills_the_window_not_zero() -> None:
    # the later complaint is owed 150: the earlier one gets nothing above its cheapest,
    # and its customer "had" nothing before it: the room went to the refund owed later
    value = np.array([[0.0, 50.0, 90.0], [0.0, 10.0, 20.0]])
    comp = np.array([[0.0, 40.0, 100.0], [0.0, 150.0, 300.0]])
    out = guarded_allocate(
        value,
        comp,
        np.ones_like(comp, dtype=bool),
        1000.0,
        Guardrails(
            floor=[np.nan, 150.0],
            floor_rule=["", "owed"],
            caps=[CAP_150],
            customer=["ann", "ann"],
            opened_at=days(10, 40),
        ),
    )
    assert out.choice.tolist() == [0, 1]
    cut = out.cut
    assert (cut.decided_by[0], cut.cap_had[0], cut.cap_later[0]) == (CAP, 0.0, 150.0)
    assert cut.reason(0) == "per_customer_cap: $150 to later complaints in 90 days (at most $150)"
    words = cap_text(had=cut.cap_had[0], later=cut.cap_later[0], days=90, cap=150.0, currency="USD")
    assert words == "$150 of this customer's 90 days goes to later complaints (at most $150)"
