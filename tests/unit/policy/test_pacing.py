"""The paced shadow price: on pace it is the base price, bounded by exp(gain) either
way, and monotone in how far spend runs ahead of time."""

from __future__ import annotations

import doctest
import math
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import makegood.policy.pacing as pacing_module
from makegood.errors import ConfigError
from makegood.policy.pacing import pacing_shadow_price
from makegood.store.ledger import BudgetState

NOV_START, NOV_END = datetime(2026, 11, 1), datetime(2026, 12, 1)
fractions = st.floats(0, 1)
prices = st.floats(0, 100)
gains = st.floats(0, 8)


def test_module_doctests():
    assert doctest.testmod(pacing_module).failed == 0


@given(base=prices, spent=fractions, elapsed=fractions, gain=gains)
def test_price_equals_base_on_pace_and_stays_bounded(base, spent, elapsed, gain):
    price = pacing_shadow_price(base, spent, elapsed, gain=gain)
    effective = max(base, 1e-3)
    assert effective * math.exp(-gain) * (1 - 1e-9) <= price
    assert price <= effective * math.exp(gain) * (1 + 1e-9)
    assert pacing_shadow_price(base, spent, spent, gain=gain) == pytest.approx(effective)


@given(
    base=prices, a=st.tuples(fractions, fractions), b=st.tuples(fractions, fractions), gain=gains
)
def test_price_is_monotone_in_how_far_spend_runs_ahead_of_time(base, a, b, gain):
    (s1, e1), (s2, e2) = sorted((a, b), key=lambda se: se[0] - se[1])
    assert pacing_shadow_price(base, s1, e1, gain=gain) <= pacing_shadow_price(
        base, s2, e2, gain=gain
    ) * (1 + 1e-12)


@given(base=prices, a=fractions, b=fractions, elapsed=fractions)
def test_price_rises_with_spend(base, a, b, elapsed):
    low, high = sorted((a, b))
    assert pacing_shadow_price(base, low, elapsed) <= pacing_shadow_price(base, high, elapsed)


@given(base=prices, spent=fractions, a=fractions, b=fractions)
def test_price_falls_as_the_period_goes_by(base, spent, a, b):
    early, late = sorted((a, b))
    assert pacing_shadow_price(base, spent, early) >= pacing_shadow_price(base, spent, late)


def _state(amount: float, spent: float) -> BudgetState:
    return BudgetState(
        "2026-11", None, Decimal(str(amount)), Decimal(str(spent)), Decimal(0), NOV_START, NOV_END
    )


def _price(base: float, state: BudgetState, now: datetime, **kw: float) -> float:
    """What the service asks: the fractions of a stored budget at ``now``."""
    return pacing_shadow_price(base, state.spent_fraction, state.elapsed_fraction(now), **kw)


def test_examples_on_stored_budgets():
    mid = datetime(2026, 11, 16)
    assert _price(0.5, _state(1000, 500), mid) == pytest.approx(0.5)
    assert _price(0.5, _state(1000, 800), mid) > 0.5  # ahead of time
    assert _price(0.5, _state(1000, 100), mid) < 0.5  # lagging
    assert _price(0.0, _state(1000, 800), mid) > 1e-3  # the floor can rise
    assert _price(0.5, _state(0, 0), mid) > 0.5  # nothing to spend
    after = datetime(2027, 3, 1)  # the period is over: elapsed is clipped to 1
    assert _price(0.5, _state(1000, 0), after) == pytest.approx(0.5 * math.exp(-3))
    assert pacing_shadow_price(0.5, -0.5, 2.0) == pacing_shadow_price(0.5, 0.0, 1.0)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"gain": -1}, "gain must be a finite number >= 0. Got -1 instead."),
        ({"gain": math.inf}, "gain must be a finite number >= 0. Got inf instead."),
        ({"floor": -0.1}, "floor must be a finite number >= 0. Got -0.1 instead."),
    ],
)
def test_invalid_gain_or_floor_is_named(kw, match):
    with pytest.raises(ConfigError, match=match):
        pacing_shadow_price(0.5, 0.5, 0.5, **kw)
