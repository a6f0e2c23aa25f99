"""policy/value.py: net value, retention lift, value at risk (CONTRACT.md section 3)."""

from __future__ import annotations

import doctest

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from makegood.policy import value as value_module
from makegood.policy.value import net_value, retention_lift, value_at_risk


def test_doctests() -> None:
    result = doctest.testmod(value_module)
    assert result.attempted > 0
    assert result.failed == 0


def test_net_value_example() -> None:
    out = net_value(
        np.array([100.0]), np.array([[0.5, 0.2]]), np.array([[0.0, 10.0]]), np.array([2.0, 3.0])
    )
    assert out.shape == (1, 2)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [[100 * 0.5 - 0 - 2, 100 * 0.8 - 10 - 3]])


def test_retention_lift_is_zero_at_baseline_and_positive_when_churn_falls() -> None:
    churn = np.array([[0.3, 0.1, 0.4], [0.2, 0.2, 0.0]])
    lift = retention_lift(churn, baseline_index=0)
    np.testing.assert_array_equal(lift[:, 0], 0.0)
    np.testing.assert_allclose(lift, [[0.0, 0.2, -0.1], [0.0, 0.0, 0.2]])


def test_value_at_risk_is_ltv_times_baseline_churn() -> None:
    np.testing.assert_allclose(value_at_risk([1000.0, 0.0], [0.25, 0.9]), [250.0, 0.0])


@st.composite
def _scored(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 6))
    k = draw(st.integers(1, 4))
    money = st.floats(0, 1e4, allow_subnormal=False)
    ltv = draw(arrays(np.float64, n, elements=money))
    churn = draw(arrays(np.float64, (n, k), elements=st.floats(0, 1)))
    comp = draw(arrays(np.float64, (n, k), elements=money))
    handling = draw(arrays(np.float64, k, elements=st.floats(0, 100)))
    return ltv, churn, comp, handling


@settings(max_examples=200, deadline=None)
@given(_scored(), st.data())
def test_net_value_and_lift_match_the_contract_formula_cell_by_cell(scored, data) -> None:
    ltv, churn, comp, handling = scored
    n, k = churn.shape
    out = net_value(ltv, churn, comp, handling)
    assert out.shape == (n, k)
    base = data.draw(st.integers(0, k - 1))
    lift = retention_lift(churn, base)
    for i in range(n):
        for a in range(k):
            assert out[i, a] == ltv[i] * (1 - churn[i, a]) - comp[i, a] - handling[a]
            assert lift[i, a] == churn[i, base] - churn[i, a]
    # More retention at the same price is worth more.
    if n:
        richer = net_value(ltv, churn * 0.5, comp, handling)
        assert np.all(richer >= out)
