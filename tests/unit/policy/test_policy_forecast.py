"""The period-end spend forecast: its formula, and an interval that always makes sense."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import makegood.policy.forecast as forecast_module
from makegood.errors import BudgetError
from makegood.policy.forecast import forecast_spend


def test_doctests() -> None:
    result = doctest.testmod(forecast_module)
    assert result.attempted > 0 and result.failed == 0


def test_formula_by_hand() -> None:
    x, h = [10.0, 30.0], [20.0]
    f = forecast_spend(x, 4.0, 10.0, held=h, commit_rate=0.5)
    rate, remaining, m1, m2 = 0.5, 6.0, 20.0, 500.0
    expected = 40.0 + 0.5 * 20.0 + rate * remaining * m1
    var = rate * remaining * m2 + (rate * remaining * m1) ** 2 / 2 + 0.25 * 400.0
    assert f.expected == pytest.approx(expected)
    assert f.hi == pytest.approx(expected + 1.959963984540054 * math.sqrt(var))
    assert f.lo == 50.0  # clipped at committed + c * held


def test_period_over_and_nothing_yet() -> None:
    done = forecast_spend([5.0, 5.0], 10.0, 10.0)
    assert done.expected == done.lo == done.hi == 10.0
    empty = forecast_spend([], 0.0, 30.0, held=[3.0])
    assert empty.expected == 3.0 and empty.rate_per_day == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [{"amounts": [-1.0]}, {"elapsed_days": -1.0}, {"total_days": 0.0}, {"commit_rate": 1.5}],
)
def test_bad_inputs_are_named(kwargs) -> None:
    args = {"amounts": [1.0], "elapsed_days": 1.0, "total_days": 2.0} | kwargs
    commit_rate = args.pop("commit_rate", 1.0)
    with pytest.raises(BudgetError):
        forecast_spend(**args, commit_rate=commit_rate)


money = st.floats(0, 500, allow_nan=False)


@given(
    amounts=st.lists(money, max_size=40),
    held=st.lists(money, max_size=10),
    elapsed=st.floats(0, 31),
    extra_days=st.floats(0, 31),
    commit_rate=st.floats(0, 1),
    cap=st.one_of(st.none(), st.floats(0, 20_000)),
)
def test_interval_is_ordered_floored_and_capped(
    amounts, held, elapsed, extra_days, commit_rate, cap
):
    total = max(elapsed + extra_days, 1e-3)
    f = forecast_spend(amounts, elapsed, total, held=held, commit_rate=commit_rate, cap=cap)
    floor = math.fsum(amounts) + commit_rate * math.fsum(held)
    assert f.lo <= f.expected + 1e-9 and f.expected <= f.hi + 1e-9
    if cap is None:
        assert f.lo >= floor - 1e-6
    else:
        assert f.hi <= cap and f.lo >= min(floor, cap) - 1e-6
    # a longer period never forecasts less
    longer = forecast_spend(amounts, elapsed, total + 5, held=held, commit_rate=commit_rate)
    assert (
        longer.expected
        >= forecast_spend(amounts, elapsed, total, held=held, commit_rate=commit_rate).expected
        - 1e-9
    )
    assert np.isfinite([f.expected, f.lo, f.hi]).all()
