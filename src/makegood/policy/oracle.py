"""A test oracle: the exact optimum of the budgeted choice by enumeration.

Tests and benchmarks compare :func:`makegood.policy.budget.allocate` with it on tiny
instances; nothing in the product calls it (it is not in ``makegood.policy.__all__``).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from makegood.contract.units import fsum
from makegood.policy.upgrades import (
    Allocation,
    check_feasible,
    checked_amount,
    upgrade_segments,
    validate_arrays,
)

__all__ = ["optimal_bruteforce"]

_MAX_BRUTEFORCE = 1_000_000


def optimal_bruteforce(
    value: ArrayLike, cost: ArrayLike, eligible: ArrayLike, budget: float
) -> Allocation:
    """Reference: the exact optimum by enumerating every combination (tiny instances only).

    Feasible means ``math.fsum`` of the chosen costs <= budget (no rounding guard). Values
    are compared exactly (as fractions); ties go to the lower spend, then to the
    lexicographically first choice. ``shadow_price`` is
    NaN (there is none) and ``n_repaired`` 0.

    Raises:
        BudgetError: as :func:`allocate`.
        ValueError: more than 1,000,000 combinations.
    """
    budget_ = checked_amount("budget", budget)
    val, cst, elig = validate_arrays(value, cost, eligible)
    n = val.shape[0]
    options = [np.flatnonzero(elig[i]).tolist() for i in range(n)]
    n_comb = math.prod(len(o) for o in options)
    if n_comb > _MAX_BRUTEFORCE:
        raise ValueError(f"{n_comb} combinations is too many for brute force.")
    check_feasible(math.fsum(float(np.min(cst[i, o])) for i, o in enumerate(options)), budget_)

    # Exact rational totals: a rounded sum could hide a tiny difference in value.
    val_q = [[Fraction(x) for x in row] for row in np.where(elig, val, 0.0).tolist()]
    cst_q = [[Fraction(x) for x in row] for row in np.where(elig, cst, 0.0).tolist()]
    best: tuple[Fraction, Fraction] | None = None
    best_combo: tuple[int, ...] = ()
    for combo in itertools.product(*options):
        if math.fsum(cst[i, a] for i, a in enumerate(combo)) > budget_:
            continue
        total = sum((val_q[i][a] for i, a in enumerate(combo)), Fraction(0))
        spend = sum((cst_q[i][a] for i, a in enumerate(combo)), Fraction(0))
        if best is None or (total, -spend) > best:
            best, best_combo = (total, -spend), combo
    assert best is not None  # the all-cheapest combination is feasible
    choice = np.asarray(best_combo, dtype=np.int64).reshape(n)
    choice.flags.writeable = False
    path = upgrade_segments(val, cst, elig)
    return Allocation(
        choice=choice,
        spend=fsum(cst[np.arange(n), choice]),
        value=fsum(val[np.arange(n), choice]),
        shadow_price=math.nan,
        n_repaired=0,
        unconstrained_spend=path.spend_of(path.n_seg),
    )
