"""Tests of makegood.policy.guardrails: floors owed and caps per customer (CONTRACT.md 2b).

The properties check the answers against oracles written here from the contract's words
(what each complaint requires, every window's total in exact arithmetic), not against
the module's own helpers.
"""

from __future__ import annotations

import doctest
import math
import pickle
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import makegood.policy.guardrails as guardrails_module
from makegood.contract.catalog import Cap, parse_catalog
from makegood.errors import BudgetError, GuardrailBudgetError
from makegood.policy import allocate
from makegood.policy.guardrails import (
    CAP,
    FLOOR,
    FLOOR_UNREACHABLE,
    Guardrails,
    Spent,
    apply_floors,
    guarded_allocate,
    guarded_eligibility,
)

try:  # helper C moves the oracle out of budget.py
    from makegood.policy.oracle import optimal_bruteforce  # type: ignore[import-not-found]
except ImportError:
    from makegood.policy.budget import optimal_bruteforce

T0 = np.datetime64("2024-01-01T00:00:00", "ns")
DAY = np.timedelta64(1, "D")


def days(*offsets: float) -> np.ndarray:
    return T0 + (np.asarray(offsets, dtype=float) * 86_400e9).astype("timedelta64[ns]")


def test_module_doctests() -> None:
    assert doctest.testmod(guardrails_module).failed == 0


# --------------------------------------------------------------------------- oracles


def required_by_contract(comp: np.ndarray, elig: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Per complaint, the least compensation the floors allow (the cheapest option when
    there is no floor; the most any option gives when none reaches the floor)."""
    out = []
    for i in range(comp.shape[0]):
        options = [comp[i, a] for a in range(comp.shape[1]) if elig[i, a]]
        if math.isnan(floor[i]):
            out.append(min(options))
        elif max(options) >= floor[i]:
            out.append(min(c for c in options if c >= floor[i]))
        else:
            out.append(max(options))
    return np.array(out)


def dec(amount: float) -> Fraction:
    """Money as the decimal it prints as (50.1, not the binary float near it)."""
    return Fraction(repr(float(amount)))


def window_breaks(
    given: np.ndarray,
    required: np.ndarray,
    caps: list[Cap],
    customer: np.ndarray,
    at: np.ndarray,
    spent: Spent,
) -> list[str]:
    """Every window (cap, complaint) whose exact total exceeds max(cap, what it requires)."""
    broken = []
    for cap in caps:
        span = np.timedelta64(cap.days, "D")
        for k in range(given.size):
            start, end = at[k] - span, at[k]
            batch = [j for j in range(given.size) if customer[j] == customer[k]]
            batch = [j for j in batch if start <= at[j] <= end]
            hist = [
                dec(a)
                for c, t, a in zip(spent.customer, spent.at, spent.amount, strict=True)
                if c == customer[k] and start <= t <= end
            ]
            had = sum(hist, Fraction(0))
            total = had + sum((dec(given[j]) for j in batch), Fraction(0))
            owed = had + sum((dec(required[j]) for j in batch), Fraction(0))
            if total > max(dec(cap.amount), owed):
                broken.append(f"{cap.id} at complaint {k}: {float(total)} > {cap.amount}")
    return broken


# --------------------------------------------------------------------------- problems


@dataclass
class Problem:
    value: np.ndarray
    comp: np.ndarray
    elig: np.ndarray
    floor: np.ndarray
    caps: list[Cap]
    customer: np.ndarray
    at: np.ndarray
    spent: Spent
    budget: float

    @property
    def guardrails(self) -> Guardrails:
        return Guardrails(self.floor, None, self.caps, self.customer, self.at, self.spent)

    def run(self, guardrails: Guardrails | None = None) -> guardrails_module.Guarded:
        rails = self.guardrails if guardrails is None else guardrails
        return guarded_allocate(self.value, self.comp, self.elig, self.budget, rails)


@st.composite
def problems(draw: st.DrawFn, max_n: int = 6) -> Problem:
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(2, 4))
    # money in fives: sums are exact, and the smallest breach is 5
    cells = st.lists(st.integers(0, 24), min_size=n * k, max_size=n * k)
    comp = np.array(draw(cells), dtype=float).reshape(n, k) * 5.0
    comp[:, 0] = 0.0  # the baseline gives nothing and is eligible everywhere
    values = st.lists(st.integers(-50, 150), min_size=n * k, max_size=n * k)
    value = np.array(draw(values), dtype=float).reshape(n, k)
    elig = np.array(draw(st.lists(st.booleans(), min_size=n * k, max_size=n * k)))
    elig = elig.reshape(n, k)
    elig[:, 0] = True
    floors = st.lists(st.none() | st.integers(0, 26), min_size=n, max_size=n)
    floor = np.array([np.nan if f is None else f * 5.0 for f in draw(floors)])
    customer = np.array(
        [f"c{c}" for c in draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))]
    )
    at = days(*draw(st.lists(st.integers(0, 150), min_size=n, max_size=n)))
    caps = [
        Cap(f"cap{i}", draw(st.integers(0, 40)) * 5.0, draw(st.integers(1, 120)))
        for i in range(draw(st.integers(0, 2)))
    ]
    m = draw(st.integers(0, 4))
    spent = Spent(
        np.array([f"c{c}" for c in draw(st.lists(st.integers(0, 2), min_size=m, max_size=m))]),
        days(*draw(st.lists(st.integers(-150, 150), min_size=m, max_size=m))),
        np.array(draw(st.lists(st.integers(0, 20), min_size=m, max_size=m)), dtype=float) * 5,
    )
    budget = float(draw(st.integers(0, 120)) * 5)
    return Problem(value, comp, elig, floor, caps, customer, at, spent, budget)


# --------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(problems())
def test_floors_met_caps_kept_budget_kept(p: Problem) -> None:
    required = required_by_contract(p.comp, p.elig, p.floor)
    if math.fsum(required.tolist()) > p.budget:
        with pytest.raises(BudgetError) as caught:
            p.run()
        assert (
            caught.type is GuardrailBudgetError
            or math.fsum(np.where(p.elig, p.comp, np.inf).min(axis=1).tolist()) > p.budget
        )
        return
    out = p.run()
    rows = np.arange(p.comp.shape[0])
    choice = out.allocation.choice
    given = p.comp[rows, choice]
    assert p.elig[rows, choice].all()
    # floors are met when reachable; the most generous option where not
    for i in np.flatnonzero(~np.isnan(p.floor)):
        most = p.comp[i, p.elig[i]].max()
        assert given[i] >= p.floor[i] if most >= p.floor[i] else given[i] == most
    # caps are never exceeded, except by what the floors require
    assert window_breaks(given, required, p.caps, p.customer, p.at, p.spent) == []
    assert math.fsum(given.tolist()) == out.allocation.spend <= p.budget
    np.testing.assert_array_equal(out.cut.required, required)


@settings(max_examples=100, deadline=None)
@given(problems(max_n=5))
def test_guardrails_never_raise_net_value(p: Problem) -> None:
    try:
        out = p.run()
    except BudgetError:
        assume(False)
    # the exact optimum without guardrails bounds every guarded answer, and allocate's
    # answer without them is within one complaint's spread of that optimum
    best = optimal_bruteforce(p.value, p.comp, p.elig, p.budget)
    assert out.allocation.value <= best.value
    free = allocate(p.value, p.comp, p.elig, p.budget)
    spread = np.where(p.elig, p.value, -np.inf).max(1) - np.where(p.elig, p.value, np.inf).min(1)
    assert out.allocation.value <= free.value + spread.max()


@settings(max_examples=200, deadline=None)
@given(problems(), st.integers(0, 120))
def test_more_budget_never_buys_less(p: Problem, extra: int) -> None:
    # a budget is a ceiling: at B + extra the answer at B is still affordable, so the
    # guarded value never falls (exactly: the caps are settled whatever the budget)
    try:
        low = p.run()
    except BudgetError:
        assume(False)
    high = guarded_allocate(p.value, p.comp, p.elig, p.budget + 5.0 * extra, p.guardrails)
    assert high.allocation.value >= low.allocation.value
    required = required_by_contract(p.comp, p.elig, p.floor)
    given = p.comp[np.arange(p.comp.shape[0]), high.choice]
    assert window_breaks(given, required, p.caps, p.customer, p.at, p.spent) == []
    assert high.allocation.spend <= p.budget + 5.0 * extra


def test_a_larger_budget_does_not_lose_room_to_a_first_round() -> None:
    # One customer, a cap of 100 in 90 days. At 50 the second and third complaints'
    # cheap upgrades are funded (284). With more money, the hold-back of old (allocate
    # everything, hold back the later complaints, allocate again) had removed the options
    # the cap later had room for, and ended at 231: more budget bought less.
    comp = np.array([[0, 0, 75], [0, 0, 25], [0, 0, 50], [0, 75, 100]], dtype=float)
    value = np.array([[35, 38, 42], [95, 11, 44], [-5, 36, 93], [58, 28, 99]], dtype=float)
    rails = Guardrails(
        caps=[Cap("cap", 100.0, 90)], customer=["a"] * 4, opened_at=days(0, 27, 36, 56)
    )
    elig = np.ones_like(comp, dtype=bool)
    values = [guarded_allocate(value, comp, elig, b, rails).allocation.value for b in (50.0, 150.0)]
    assert values[0] == 284.0 and values[1] >= values[0]


@settings(max_examples=100, deadline=None)
@given(problems())
def test_no_guardrails_is_exactly_allocate(p: Problem) -> None:
    try:
        free = allocate(p.value, p.comp, p.elig, p.budget)
    except BudgetError:
        with pytest.raises(BudgetError):
            p.run(Guardrails())
        return
    out = p.run(Guardrails())
    np.testing.assert_array_equal(out.allocation.choice, free.choice)
    assert (out.allocation.spend, out.allocation.value) == (free.spend, free.value)
    assert out.allocation.shadow_price == free.shadow_price
    assert (out.cut.decided_by == "").all()
    np.testing.assert_array_equal(out.cut.eligible, p.elig)


@settings(max_examples=100, deadline=None)
@given(problems())
def test_guardrails_only_remove_options(p: Problem) -> None:
    try:
        out = p.run()
    except BudgetError:
        assume(False)
    left = apply_floors(p.comp, p.elig, p.floor).eligible
    assert (out.cut.eligible <= left).all()  # only ever removes options
    held = out.cut.decided_by == CAP
    assert (~np.isnan(out.cut.cap_had[held])).all() and (out.cut.cap_rule[held] != "").all()


@settings(max_examples=150, deadline=None)
@given(problems(), st.randoms(use_true_random=False))
def test_any_choice_the_service_leaves_keeps_every_cap(p: Problem, rnd: random.Random) -> None:
    cut = guarded_eligibility(p.comp, p.elig, p.guardrails)
    required = required_by_contract(p.comp, p.elig, p.floor)
    np.testing.assert_array_equal(cut.required, required)
    for _ in range(3):
        choice = np.array([rnd.choice(np.flatnonzero(row).tolist()) for row in cut.eligible])
        given = p.comp[np.arange(choice.size), choice]
        assert window_breaks(given, required, p.caps, p.customer, p.at, p.spent) == []
        for i in np.flatnonzero(~np.isnan(p.floor)):
            most = p.comp[i, p.elig[i]].max()
            assert given[i] >= p.floor[i] if most >= p.floor[i] else given[i] == most


# --------------------------------------------------------------------------- examples

#            apology  credit_25  refund (all of the disputed amount, at most 500)
HANDLING = np.array([2.0, 2.0, 3.0])


def demo(
    disputed: list[float], gain: list[list[float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """value, compensation, eligible for complaints with these disputed amounts and
    these retained values per option."""
    d = np.asarray(disputed)
    comp = np.column_stack([np.zeros_like(d), np.full_like(d, 25.0), np.minimum(d, 500.0)])
    value = np.asarray(gain) - comp - HANDLING
    return value, comp, np.ones(comp.shape, dtype=bool)


def test_a_floor_overrules_a_model_that_finds_the_refund_not_worth_it() -> None:
    value, comp, elig = demo([120.0, 60.0], [[100, 101, 102], [100, 101, 102]])
    assert allocate(value, comp, elig, 1000.0).choice.tolist() == [0, 0]
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(floor=[120.0, np.nan], floor_rule=["owed_is_refunded", ""]),
    )
    assert out.choice.tolist() == [2, 0]
    assert out.cut.decided_by.tolist() == [FLOOR, ""]
    assert out.cut.floor_spend == 120.0
    assert out.cut.reason(0) == "owed_is_refunded: at least $120 owed"
    assert out.cut.reason(1) == ""


def test_no_option_reaches_the_floor_the_most_generous_is_given() -> None:
    value, comp, elig = demo([900.0, 10.0], [[100, 101, 102], [100, 101, 102]])
    out = guarded_allocate(
        value, comp, elig, 1000.0, Guardrails(floor=[900.0, 30.0], floor_rule=["owed"] * 2)
    )
    # 900 owed, the refund stops at 500; 30 owed on 10 disputed: the credit of 25 is the most
    assert out.choice.tolist() == [2, 1]
    assert out.cut.decided_by.tolist() == [FLOOR_UNREACHABLE, FLOOR_UNREACHABLE]
    np.testing.assert_array_equal(out.cut.required, [500.0, 25.0])
    assert out.cut.reason(0) == (
        "owed: $900 owed but no eligible resolution gives that much; the most, $500, is given"
    )


def test_ties_at_the_most_generous_option_all_stay() -> None:
    cut = apply_floors([[0.0, 25.0, 25.0]], [[True, True, True]], [40.0])
    assert cut.eligible.tolist() == [[False, True, True]] and cut.unreachable.tolist() == [True]


def test_a_floor_of_zero_or_one_every_option_meets_decides_nothing() -> None:
    value, comp, elig = demo([0.0, 50.0], [[100, 90, 90], [100, 90, 90]])
    out = guarded_allocate(value, comp, elig, 100.0, Guardrails(floor=[0.0, np.nan]))
    assert out.cut.decided_by.tolist() == ["", ""] and out.choice.tolist() == [0, 0]


def test_budget_below_the_floors_names_the_amount_needed() -> None:
    value, comp, elig = demo([120.0, 60.0, 30.0], [[100, 101, 102]] * 3)
    with pytest.raises(GuardrailBudgetError) as caught:
        guarded_allocate(value, comp, elig, 100.0, Guardrails(floor=[120.0, 60.0, np.nan]))
    err = caught.value
    assert (err.needed, err.budget) == (180.0, 100.0)
    assert "budget 100.00 cannot fund what the guardrails require" in str(err)
    assert "the floors of 2 complaint(s) need 180.00" in str(err)
    assert "at least 180.00" in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), str(again), again.needed) == (GuardrailBudgetError, str(err), 180.0)
    # exactly enough is enough
    assert guarded_allocate(
        value, comp, elig, 180.0, Guardrails(floor=[120.0, 60.0, np.nan])
    ).choice[:2].tolist() == [2, 2]


def test_a_budget_short_even_without_floors_is_allocates_own_error() -> None:
    value, comp, elig = demo([120.0], [[100, 101, 102]])
    elig[0, 0] = False  # the cheapest option left costs 25
    with pytest.raises(BudgetError) as caught:
        guarded_allocate(value, comp, elig, 10.0, Guardrails(floor=[120.0]))
    assert caught.type is BudgetError and "minimum spend" in str(caught.value)


CAP_150 = Cap("per_customer_cap", 150.0, 90)


def test_two_complaints_of_one_customer_in_one_batch_under_a_cap() -> None:
    # both want the refund of 100; together 200 > 150: the later one is held to 50,
    # which only the credit of 25 (or nothing) fits
    value, comp, elig = demo([100.0, 100.0], [[0, 40, 300], [0, 40, 300]])
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150], customer=["ann", "ann"], opened_at=days(10, 40)),
    )
    assert out.choice.tolist() == [2, 1]
    assert out.cut.decided_by.tolist() == ["", CAP]
    assert (out.cut.cap_had[1], out.cut.cap_left[1], out.cut.cap_days[1]) == (100.0, 50.0, 90)
    assert out.cut.reason(1) == "per_customer_cap: had $100 in 90 days (at most $150)"
    # the same complaints of two customers are both refunded
    free = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150], customer=["ann", "bob"], opened_at=days(10, 40)),
    )
    assert free.choice.tolist() == [2, 2]


def test_the_earlier_complaint_keeps_its_room_whatever_the_row_order() -> None:
    value, comp, elig = demo([100.0, 100.0], [[0, 40, 300], [0, 40, 300]])
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150], customer=["ann", "ann"], opened_at=days(40, 10)),
    )
    assert out.choice.tolist() == [1, 2]


@pytest.mark.parametrize(
    ("age_days", "counts"),
    [(90.0, True), (90.0 + 1e-9 / 86_400, False), (0.0, True), (-1.0, False)],
)
def test_window_boundaries_are_inclusive(age_days: float, counts: bool) -> None:
    # 100 paid age_days before the complaint: within [t - 90 days, t] it leaves 50
    value, comp, elig = demo([100.0], [[0, 40, 300]])
    spent = Spent(["ann"], days(100.0 - age_days), [100.0])
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150], customer=["ann"], opened_at=days(100.0), spent=spent),
    )
    assert out.choice.tolist() == ([1] if counts else [2])


@pytest.mark.parametrize(("had", "fits"), [(0.10, True), (0.11, False)])
def test_caps_add_money_as_decimals_exactly(had: float, fits: bool) -> None:
    # 0.10 + 0.20 is 0.30 to the cent; in floats it is a hair above
    assert 0.1 + 0.2 > 0.3
    value = np.array([[0.0, 50.0]])
    comp = np.array([[0.0, 0.20]])
    out = guarded_allocate(
        value,
        comp,
        np.ones((1, 2), dtype=bool),
        1000.0,
        Guardrails(
            caps=[Cap("tiny", 0.3, 90)],
            customer=["ann"],
            opened_at=days(1),
            spent=Spent(["ann"], days(0), [had]),
        ),
    )
    assert out.choice.tolist() == ([1] if fits else [0])


def test_same_time_complaints_share_their_window() -> None:
    value, comp, elig = demo([100.0, 100.0], [[0, 40, 300], [0, 40, 300]])
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150], customer=["ann", "ann"], opened_at=days(5, 5)),
    )
    assert out.choice.tolist() == [2, 1]  # a tie in time goes by row order


def test_a_floor_wins_over_the_cap() -> None:
    # the customer already had 150 in the window: the refund owed is still paid, nothing more
    value, comp, elig = demo([80.0, 80.0], [[0, 40, 300], [0, 40, 300]])
    spent = Spent(["ann"], days(0), [150.0])
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(
            floor=[80.0, np.nan],
            floor_rule=["owed_is_refunded", ""],
            caps=[CAP_150],
            customer=["ann", "ann"],
            opened_at=days(10, 20),
            spent=spent,
        ),
    )
    assert out.choice.tolist() == [2, 0]
    assert out.cut.decided_by.tolist() == [FLOOR, CAP]
    assert out.cut.cap_had[1] == 230.0


def test_a_later_floor_is_reserved_in_an_earlier_complaints_room() -> None:
    # the later complaint is owed 100; the earlier one may have only 150 - 100 = 50
    value, comp, elig = demo([100.0, 100.0], [[0, 40, 300], [0, 40, 300]])
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(
            floor=[np.nan, 100.0], caps=[CAP_150], customer=["ann", "ann"], opened_at=days(10, 40)
        ),
    )
    assert out.choice.tolist() == [1, 2]
    assert out.cut.decided_by.tolist() == [CAP, FLOOR]
    assert out.cut.cap_left[0] == 50.0


def test_caps_count_a_rolling_window_not_a_calendar() -> None:
    # 100 at day 0 and day 100: each window of 90 days holds one; day 50 sees both
    value, comp, elig = demo([100.0] * 3, [[0, 40, 300]] * 3)
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150], customer=["ann"] * 3, opened_at=days(0, 100, 50)),
    )
    assert out.choice.tolist() == [2, 2, 1]


def test_several_caps_all_hold() -> None:
    value, comp, elig = demo([100.0, 100.0], [[0, 40, 300], [0, 40, 300]])
    weekly = Cap("weekly", 30.0, 7)
    out = guarded_allocate(
        value,
        comp,
        elig,
        1000.0,
        Guardrails(caps=[CAP_150, weekly], customer=["ann", "ann"], opened_at=days(10, 100)),
    )
    # each alone is above the weekly 30: only the credit fits; 90 days apart is one window
    assert out.choice.tolist() == [1, 1]
    assert out.cut.cap_rule.tolist() == ["weekly", "weekly"]


def test_the_service_one_complaint_with_its_ledger() -> None:
    value, comp, elig = demo([100.0], [[0, 40, 300]])
    ledger = Spent(["ann", "ann", "bob"], days(-30, -1, -1), [60.0, 40.0, 500.0])
    cut = guarded_eligibility(
        comp, elig, Guardrails(caps=[CAP_150], customer=["ann"], opened_at=days(0), spent=ledger)
    )
    assert cut.eligible.tolist() == [[True, True, False]]
    assert (cut.decided_by[0], cut.cap_had[0], cut.cap_left[0]) == (CAP, 100.0, 50.0)
    assert cut.reason(0) == "per_customer_cap: had $100 in 90 days (at most $150)"


def test_caps_need_customers_and_times() -> None:
    value, comp, elig = demo([100.0], [[0, 40, 300]])
    with pytest.raises(BudgetError, match="customer and opened_at are needed"):
        guarded_allocate(value, comp, elig, 100.0, Guardrails(caps=[CAP_150]))
    with pytest.raises(BudgetError, match=r"one entry per complaint \(1\). Got 2 and 1"):
        guarded_allocate(
            value,
            comp,
            elig,
            100.0,
            Guardrails(caps=[CAP_150], customer=["a", "b"], opened_at=days(0)),
        )
    with pytest.raises(BudgetError, match="spent customer, at and amount must have the same"):
        Spent(["a"], days(0, 1), [1.0])


def test_eligible_arrays_are_checked() -> None:
    with pytest.raises(
        BudgetError, match="at least one option for every complaint. Got none for row 1"
    ):
        apply_floors([[0.0, 1.0], [0.0, 1.0]], [[True, False], [False, False]], None)
    with pytest.raises(BudgetError, match="eligible must be a boolean array of shape"):
        apply_floors([[0.0, 1.0]], [[1, 0]], None)
    with pytest.raises(BudgetError, match=r"floor must have shape \(1,\)"):
        apply_floors([[0.0, 1.0]], [[True, True]], [1.0, 2.0])


def test_the_catalog_drives_the_guardrails_end_to_end() -> None:
    catalog = parse_catalog(
        yaml.safe_load(
            """
            baseline: apology
            resolutions:
              - {id: apology, handling_cost: 2}
              - {id: credit_25, handling_cost: 2, compensation: {fixed: 25}}
              - id: refund_disputed
                handling_cost: 3
                compensation: {fraction_of_disputed: 1.0, max: 500}
                eligible_issue_types: [billing_error, fee_dispute, product_defect]
            guardrails:
              - id: owed_is_refunded
                when: {issue_type: [billing_error, fee_dispute]}
                compensation_at_least: disputed_amount
              - id: per_customer_cap
                max_compensation_per_customer: {amount: 150, days: 90}
            """
        )
    )
    complaints = pd.DataFrame(
        {
            "customer_id": ["ann", "ann", "bob", "cat"],
            "opened_at": days(0, 30, 0, 0),
            "issue_type": ["billing_error", "service_outage", "fee_dispute", "product_defect"],
            "severity": [3, 3, 3, 3],
            "disputed_amount": [120.0, 0.0, 900.0, 80.0],
        }
    )
    comp = catalog.compensation_matrix(complaints["disputed_amount"].to_numpy())
    elig = catalog.eligibility_matrix(
        complaints["issue_type"].to_numpy(), complaints["severity"].to_numpy()
    )
    value = np.full(comp.shape, 100.0) - comp - catalog.handling_costs  # the model: nothing helps
    out = guarded_allocate(value, comp, elig, 2000.0, Guardrails.of(catalog, complaints))
    assert [catalog.ids[a] for a in out.choice] == [
        "refund_disputed",
        "apology",
        "refund_disputed",
        "apology",
    ]
    assert out.cut.decided_by.tolist() == [FLOOR, "", FLOOR_UNREACHABLE, ""]
    assert out.allocation.spend == 620.0
    # without caps the frame needs no customers or times
    floors_only = Guardrails.of(
        parse_catalog(catalog.to_dict() | {"guardrails": [catalog.floors[0].to_dict()]}),
        complaints[["issue_type", "disputed_amount"]],
    )
    assert floors_only.caps == () and floors_only.customer is None
    again = guarded_allocate(value, comp, elig, 2000.0, floors_only)
    assert again.cut.decided_by.tolist() == [FLOOR, "", FLOOR_UNREACHABLE, ""]
