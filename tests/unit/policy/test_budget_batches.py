"""policy/budget.py in pieces: batches (partitions) solved together equal one batch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_policy_budget import instances

from makegood.errors import BudgetError
from makegood.policy.budget import allocate, frontier
from makegood.policy.thresholds import allocate_batches
from makegood.policy.upgrades import segments


def _split(n: int, cuts: list[int]) -> list[slice]:
    edges = sorted({0, n, *[c % (n + 1) for c in cuts]})
    return [slice(a, b) for a, b in zip(edges, edges[1:], strict=False)]


def _batched(value, cost, eligible, budgets, parts):
    segs = [segments(value[p], cost[p], eligible[p]) for p in parts]
    found = allocate_batches(
        [s.summary() for s in segs],
        budgets,
        lambda e: [s.probe(e) for s in segs],
        lambda k: [s.ties(k) for s in segs],
    )
    out = []
    for t in found:
        pieces = [s.allocate(t, j) for j, s in enumerate(segs)]
        choice = np.concatenate([a.choice for a in pieces])
        out.append((t, choice, pieces))
    return out


@settings(max_examples=150, deadline=None)
@given(instances(max_n=12, max_k=4), st.lists(st.integers(0, 12), max_size=4), st.data())
def test_batches_equal_one_batch(case, cuts, data) -> None:
    value, cost, eligible = case
    n = value.shape[0]
    low = math.fsum(np.where(eligible, cost, np.inf).min(axis=1).tolist())
    high = float(np.where(eligible, cost, 0.0).max(axis=1).sum())
    fracs = data.draw(st.lists(st.floats(0, 1.2), min_size=1, max_size=4))
    budgets = [max(low, low + f * (high - low)) for f in fracs]
    whole = frontier(value, cost, eligible, budgets)
    for w, (t, choice, pieces) in zip(
        whole, _batched(value, cost, eligible, budgets, _split(n, cuts)), strict=True
    ):
        assert t.shadow_price == w.shadow_price
        assert t.unconstrained_spend == w.unconstrained_spend
        # sums across batches may round differently: at most the repair's one complaint
        assert int(np.sum(choice != w.choice)) <= 1
        spend = math.fsum(cost[np.arange(n), choice].tolist())
        assert spend <= t.budget
        assert sum(a.n_repaired for a in pieces) <= w.n_repaired + 1


def test_large_batches_equal_one_batch_exactly() -> None:
    rng = np.random.default_rng(7)
    n, k = 20_000, 6
    value = np.round(rng.normal(100, 80, (n, k)), 1)  # rounded: many exact ties
    cost = np.round(rng.uniform(0, 50, (n, k)) * rng.integers(0, 2, (n, k)), 2)
    eligible = rng.random((n, k)) < 0.6
    eligible[:, 0] = True
    budgets = [float(b) for b in np.linspace(25_000, 400_000, 9)]
    whole = frontier(value, cost, eligible, budgets)
    parts = [slice(a, min(a + 3_000, n)) for a in range(0, n, 3_000)]
    for w, (t, choice, _) in zip(
        whole, _batched(value, cost, eligible, budgets, parts), strict=True
    ):
        assert t.shadow_price == w.shadow_price
        assert np.array_equal(choice, w.choice)


def test_budget_below_the_minimum_spend_over_all_batches() -> None:
    segs = [segments([[0.0, 1.0]], [[2.0, 3.0]], [[True, True]]) for _ in range(3)]
    with pytest.raises(BudgetError, match="minimum spend 6.0"):
        allocate_batches(
            [s.summary() for s in segs],
            [5.0],
            lambda e: [s.probe(e) for s in segs],
            lambda k: [s.ties(k) for s in segs],
        )


def test_one_batch_is_allocate() -> None:
    value = [[0.0, 6.0], [0.0, 5.0]]
    cost = [[0.0, 2.0], [0.0, 1.0]]
    eligible = [[True, True], [True, True]]
    a = allocate(value, cost, eligible, 2.0)
    ((t, choice, _),) = _batched(
        np.asarray(value), np.asarray(cost), np.asarray(eligible), [2.0], [slice(0, 2)]
    )
    assert choice.tolist() == a.choice.tolist() and t.shadow_price == a.shadow_price == 3.0
