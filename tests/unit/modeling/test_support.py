"""What the log supports: the share changed, the paired DR gain, and the overlap warning."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.modeling.evaluate import logged_outcomes
from makegood.modeling.support import SUPPORT_FLOOR, log_support


@pytest.fixture(scope="module")
def logged(trained):
    history = trained["history"].head(400).reset_index(drop=True)
    return history, trained["catalog"]


def uniform(n: int, k: int) -> np.ndarray:
    return np.full((n, k), 1.0 / k)


def test_a_policy_that_keeps_the_logged_choice_changes_nothing_and_gains_nothing(logged):
    history, catalog = logged
    n, K = len(history), len(catalog.ids)
    A, _, _ = logged_outcomes(history, catalog)
    # the logged resolution is predicted to keep everyone: the policy repeats the log
    churn = np.full((n, K), 0.9)
    churn[np.arange(n), A] = 0.0
    s = log_support(history, catalog, churn, uniform(n, K), np.ones((n, K), bool))
    # at the logged spend the budgeted choice may differ only where money is a tie-break
    assert s.changed <= 0.05
    assert not s.warnings


def test_thin_support_names_the_resolution(logged):
    history, catalog = logged
    n, K = len(history), len(catalog.ids)
    target = next(
        k for k in range(K) if k != catalog.baseline_index and catalog.handling_costs[k] < 50
    )
    churn = np.full((n, K), 0.5)
    churn[:, target] = 0.0  # everyone is predicted to stay with it ...
    prop = np.full((n, K), (1 - 0.01) / (K - 1))
    prop[:, target] = 0.01  # ... which the agents almost never gave
    eligible = np.ones((n, K), bool)
    s = log_support(history, catalog, churn, prop, eligible)
    rid = catalog.ids[target]
    mix = {m.resolution: m for m in s.mix}
    if mix[rid].recommended >= 0.05:  # the budget allowed it widely
        assert any(w.startswith(rid) for w in s.warnings)
        assert mix[rid].thin == pytest.approx(mix[rid].recommended)
    assert s.thin == pytest.approx(sum(m.thin for m in s.mix))
    assert s.floor == SUPPORT_FLOOR


@given(seed=st.integers(0, 10_000))
def test_the_gain_is_the_mean_of_paired_dr_terms(logged, seed):
    history, catalog = logged
    n, K = len(history), len(catalog.ids)
    rng = np.random.default_rng(seed)
    churn = rng.uniform(0.05, 0.95, (n, K))
    prop = rng.dirichlet(np.ones(K), n)
    s = log_support(history, catalog, churn, prop, np.ones((n, K), bool))
    assert s.gain.lo <= s.gain.value <= s.gain.hi
    assert 0 <= s.changed <= 1 and 0 <= s.thin <= 1
    assert sum(m.recommended for m in s.mix) == pytest.approx(1.0)
    assert all(m.thin <= m.recommended + 1e-12 for m in s.mix)
    # thin support is judged by the propensity of the recommended resolution
    assert s.thin == pytest.approx(sum(m.thin for m in s.mix))
