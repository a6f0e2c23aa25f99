"""The served choice rule: probabilities sum to 1 over allowed near-ties; the chosen
resolution is eligible and fits the budget whenever one does; its logged propensity is
the probability it had."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import makegood.policy.choice as choice_module
from makegood.errors import BudgetError
from makegood.policy.choice import allowed_candidates, choice_probabilities, choose_served


def test_module_doctests():
    assert doctest.testmod(choice_module).failed == 0


@st.composite
def menus(draw):
    """A candidate menu: values, compensation in cents, eligibility and what is left."""
    k = draw(st.integers(1, 10))
    value = draw(arrays(float, k, elements=st.floats(-500, 500)))
    cents = draw(arrays(np.int64, k, elements=st.sampled_from([0, 500, 1_000, 2_500, 7_500])))
    cents |= draw(arrays(np.int64, k, elements=st.integers(0, 99_999))) * draw(st.booleans())
    eligible = draw(arrays(bool, k))
    eligible[draw(st.integers(0, k - 1))] = True  # every complaint has an eligible option
    available = draw(st.integers(0, 20_000))
    lam = draw(st.floats(0, 5))
    return value, cents, eligible, available, lam


rules = st.fixed_dictionaries(
    {"epsilon": st.sampled_from([0.0, 0.5, 2.0, 50.0]), "temperature": st.floats(0.05, 10)}
)


@given(menu=menus(), rule=rules)
def test_probabilities_sum_to_one_over_allowed_candidates(menu, rule):
    value, cents, eligible, available, lam = menu
    allowed = allowed_candidates(eligible, cents, available)
    p = choice_probabilities(value - lam * cents / 100, cents, allowed, **rule)
    assert p.sum() == pytest.approx(1.0)
    assert (p >= 0).all() and (p[~allowed] == 0).all()
    # the best allowed candidate (ties in value to the cheaper, then the lower index, as
    # the module's rule says) is never the less likely
    policy_value = value - lam * cents / 100
    idx = np.flatnonzero(allowed)
    best = min(idx, key=lambda k: (-policy_value[k], cents[k], k))
    assert p[best] == p.max()


@given(menu=menus(), rule=rules, seed=st.integers(0, 2**32 - 1))
def test_the_chosen_resolution_is_eligible_and_fits_the_budget(menu, rule, seed):
    value, cents, eligible, available, lam = menu
    allowed = allowed_candidates(eligible, cents, available)
    policy_value = value - lam * cents / 100
    k, propensity = choose_served(
        policy_value, cents, allowed, rng=np.random.default_rng(seed), **rule
    )
    assert eligible[k]
    fits = eligible & ((cents <= available) | (cents == 0))
    if fits.any():
        assert fits[k]
    else:  # nothing fits: the cheapest eligible is tried (and the ledger declines it)
        assert cents[k] == cents[eligible].min()
    p = choice_probabilities(policy_value, cents, allowed, **rule)
    assert propensity == pytest.approx(p[k]) and 0 < propensity <= 1


def test_draws_follow_the_probabilities():
    value = np.array([10.0, 9.5, 9.0, 3.0])
    allowed = np.ones(4, bool)
    p = choice_probabilities(value, np.zeros(4), allowed, epsilon=2.0, temperature=1.0)
    assert p[3] == 0 and p[0] > p[1] > p[2] > 0
    rng = np.random.default_rng(0)
    draws = [
        choose_served(value, np.zeros(4), allowed, epsilon=2.0, temperature=1.0, rng=rng)[0]
        for _ in range(4_000)
    ]
    freq = np.bincount(draws, minlength=4) / len(draws)
    assert np.abs(freq - p).max() < 0.03


def test_ties_go_to_the_cheaper_then_the_lower_index():
    value = np.array([5.0, 5.0, 5.0])
    cost = np.array([3.0, 1.0, 1.0])
    p = choice_probabilities(value, cost, np.ones(3, bool), epsilon=0.0, temperature=1.0)
    assert p.tolist() == [0.0, 1.0, 0.0]


def test_no_allowed_candidate_is_a_named_error():
    with pytest.raises(BudgetError, match="allowed must mark at least one candidate"):
        choice_probabilities([1.0], [0.0], [False], epsilon=0.0, temperature=1.0)
