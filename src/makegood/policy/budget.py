"""Choose one resolution per complaint under a compensation budget (CONTRACT.md section 3).

For ``n`` complaints and ``K`` options, with ``value`` the net value, ``cost`` the
compensation paid from the budget and ``eligible`` the candidate mask, pick ``a_i`` to

    maximise  sum_i value[i, a_i]   subject to   sum_i cost[i, a_i] <= budget,
              a_i eligible for complaint i,

a multiple-choice knapsack. It is solved by its Lagrangian relaxation, exactly up to one
complaint, with the greedy of Sinha and Zoltners (1979) over upgrade segments; see
:func:`allocate`. :func:`choose` applies a shadow price directly (the online server's rule).

This module is an edge (the CLI, API and reports call it): arrays and budgets are validated
on entry (:mod:`makegood.policy.upgrades`) and every problem is a
:class:`~makegood.errors.BudgetError` naming the parameter. The segments and their greedy
order live in :mod:`~makegood.policy.upgrades`; the search for the stopping point, shared
with the partitioned run, in :mod:`~makegood.policy.thresholds`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError
from makegood.policy.thresholds import allocate_batches
from makegood.policy.upgrades import (
    Allocation,
    Segments,
    check_tol,
    checked_amount,
    upgrade_segments,
    validate_arrays,
)

# Allocation is defined with the segments that build it; it is part of this module's API.
__all__ = ["Allocation", "allocate", "choose", "frontier", "spend_at"]


def choose(value: ArrayLike, cost: ArrayLike, eligible: ArrayLike, lam: float) -> np.ndarray:
    """Each complaint's best option at shadow price ``lam`` (no budget constraint).

    ``choice[i] = argmax over eligible a of value[i, a] - lam * cost[i, a]``, ties broken
    toward lower cost, then lower index. Computed on the upgrade chains that
    :func:`allocate` uses, so ``choose(..., allocation.shadow_price)`` is always within
    that allocation's budget.

    Args:
        value, cost, eligible: (n, K) arrays as in :func:`allocate`.
        lam: shadow price (value per unit of cost), finite and >= 0.

    Returns:
        (n,) int64 array of option indices.

    Raises:
        BudgetError: invalid arrays or ``lam``.

    >>> choose([[0.0, 10.0, 12.0]], [[0.0, 5.0, 10.0]], [[True, True, True]], lam=1.0)
    array([1])
    """
    lam_ = checked_amount("lam", lam)
    path = upgrade_segments(*validate_arrays(value, cost, eligible))
    return path.take(path.n_above(lam_))


def spend_at(value: ArrayLike, cost: ArrayLike, eligible: ArrayLike, lam: float) -> float:
    """Total cost of :func:`choose` at shadow price ``lam`` (non-increasing in ``lam``).

    Raises:
        BudgetError: invalid arrays or ``lam``.

    >>> spend_at([[0.0, 10.0, 12.0]], [[0.0, 5.0, 10.0]], [[True, True, True]], lam=0.0)
    10.0
    """
    lam_ = checked_amount("lam", lam)
    path = upgrade_segments(*validate_arrays(value, cost, eligible))
    return path.spend_of(path.n_above(lam_))


def allocate(
    value: ArrayLike,
    cost: ArrayLike,
    eligible: ArrayLike,
    budget: float,
    *,
    tol: float = 1e-9,
) -> Allocation:
    """Best option per complaint with total cost within ``budget`` (exact up to one complaint).

    Method (Lagrangian relaxation solved by the Sinha-Zoltners greedy):

    1. For each complaint, take the upper concave hull of its eligible (cost, value)
       points, from the cheapest option up to the most valuable one. Moving from one
       hull vertex to the next is an *upgrade* with extra cost dc > 0, extra value
       dv > 0 and slope dv/dc; along a chain the slopes do not increase.
    2. Start every complaint at its cheapest option (spend ``min_spend``) and list all
       upgrades by decreasing slope (ties: complaint, then chain position).
    3. Take upgrades in that order and stop at the first that does not fit. No skipping.

    For any shadow price lam the Lagrangian choice ``argmax_a value - lam * cost`` is
    exactly "every upgrade with slope > lam", a prefix of the same list; so this is the
    Lagrangian solution at the largest feasible lam, completed by the repair that spends
    the leftover on upgrades by decreasing slope. The shadow price reported is the slope
    of the first upgrade not taken (0 if all fit), and ``value >= value of
    choose(shadow_price)`` and of the Lagrangian choice at any larger lam.

    Optimality: the LP relaxation takes this prefix plus a fraction of the next upgrade,
    so ``value >= optimum - (dv of that upgrade) >= optimum - max_i (max_a value[i, a]
    - min_a value[i, a])`` (up to the rounding guard below); it is exactly optimal when
    all upgrades fit, or when the budget is the minimum spend. Options below a
    complaint's hull are never chosen.

    Monotone in the budget: the list does not depend on the budget, and the spend of a
    prefix grows with its length, so the prefix taken for budget B only grows with B;
    every upgrade raises value, so ``value`` never falls as the budget grows (it is the
    correctly rounded sum, itself monotone). In the two-step view (bisect lam, then
    repair): at a fixed breakpoint the repaired prefix grows with the budget, and past the
    breakpoint the new Lagrangian solution is the old one plus all of its repairs, since
    both are prefixes of the same list. Skipping a non-fitting upgrade to take a later,
    cheaper one would break this, hence the stop.

    Rounding guard: for costs that are not on an exactly summable grid (multiples of
    1/1024), an upgrade fits only if the spend times ``1 + max(tol, 2 (n + m + 2) eps)``
    is <= budget (m upgrades in the list), so that any order of adding up the chosen
    costs stays <= budget (this costs at most ``tol * budget`` of headroom). The cheapest
    choice is accepted whenever its correctly rounded sum (``math.fsum``) fits: there
    is nothing cheaper to fall back on.

    Args:
        value: (n, K) net value of giving complaint i option a (any values where ineligible).
        cost: (n, K) compensation paid from the budget, finite and >= 0 where eligible.
        eligible: (n, K) bool; every complaint needs at least one eligible option.
        budget: total compensation allowed, finite and >= 0.
        tol: relative rounding guard, in [0, 1e-3].

    Returns:
        :class:`Allocation` with ``spend <= budget``.

    Raises:
        BudgetError: invalid arrays, budget or tol; or the budget is below the minimum spend.

    >>> a = allocate([[0.0, 6.0], [0.0, 5.0]], [[0.0, 2.0], [0.0, 1.0]],
    ...              [[True, True], [True, True]], budget=2.0)
    >>> a.choice.tolist(), a.spend, a.value, a.shadow_price
    ([0, 1], 1.0, 5.0, 3.0)
    """
    budget_ = checked_amount("budget", budget)
    tol_ = check_tol(tol)
    return _solve(upgrade_segments(*validate_arrays(value, cost, eligible)), [budget_], tol_)[0]


def frontier(
    value: ArrayLike,
    cost: ArrayLike,
    eligible: ArrayLike,
    budgets: ArrayLike,
    *,
    tol: float = 1e-9,
) -> list[Allocation]:
    """:func:`allocate` for many budgets, building the upgrade list once.

    Returns:
        One :class:`Allocation` per budget, in the order given; identical to calling
        :func:`allocate` for each.

    Raises:
        BudgetError: invalid arrays, budgets or tol; or a budget below the minimum spend.
    """
    tol_ = check_tol(tol)
    raw = np.asarray(budgets, dtype=object)
    if raw.ndim != 1:
        raise BudgetError(f"budgets must be a 1-D array. Got shape {raw.shape} instead.")
    checked = [checked_amount(f"budgets[{j}]", b) for j, b in enumerate(raw)]
    return _solve(upgrade_segments(*validate_arrays(value, cost, eligible)), checked, tol_)


def _solve(seg: Segments, budgets: list[float], tol: float) -> list[Allocation]:
    """One batch through the same pieces as many (:func:`allocate_batches`)."""
    found = allocate_batches(
        [seg.summary()], budgets, lambda e: [seg.probe(e)], lambda k: [seg.ties(k)], tol=tol
    )
    return [seg.allocate(t) for t in found]
