"""Choose one resolution per complaint under a compensation budget (CONTRACT.md section 3).

For ``n`` complaints and ``K`` options, with ``value`` the net value, ``cost`` the
compensation paid from the budget and ``eligible`` the candidate mask, pick ``a_i`` to

    maximise  sum_i value[i, a_i]   subject to   sum_i cost[i, a_i] <= budget,
              a_i eligible for complaint i,

a multiple-choice knapsack. It is solved by its Lagrangian relaxation, exactly up to one
complaint, with the greedy of Sinha and Zoltners (1979) over upgrade segments; see
:func:`allocate`. :func:`choose` applies a shadow price directly (the online server's rule).

This module is an edge (the CLI, API and reports call it): arrays and budgets are validated
here and every problem is a :class:`~makegood.errors.BudgetError` naming the parameter.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError

__all__ = [
    "Allocation",
    "allocate",
    "choose",
    "frontier",
    "optimal_bruteforce",
    "spend_at",
]

_EPS = float(np.finfo(np.float64).eps)
# Costs on this binary grid (whole numbers, halves, ..., 1/1024) add up exactly in float64
# in any order while totals stay below 2**52 / _EXACT_GRID, so no rounding guard is needed.
_EXACT_GRID = 1024.0
_MAX_TOL = 1e-3
_MAX_BRUTEFORCE = 1_000_000


@dataclass(frozen=True, eq=False)
class Allocation:
    """One option per complaint and what it costs.

    Attributes:
        choice: (n,) int64, the chosen option (column) for each complaint; read-only.
        spend: total cost of ``choice`` (correctly rounded sum, ``math.fsum``); <= budget.
        value: total value of ``choice`` (correctly rounded sum).
        shadow_price: value per unit of budget at the margin (the Lagrange multiplier):
            the slope of the first upgrade that did not fit, 0 when the budget does not bind.
            ``choose(value, cost, eligible, shadow_price)`` spends at most ``spend``.
        n_repaired: complaints whose choice differs from ``choose(..., shadow_price)``
            (upgrades tied at the shadow price that still fitted in the budget).
        unconstrained_spend: what the best choice would cost with no budget (``lam = 0``).
    """

    choice: np.ndarray
    spend: float
    value: float
    shadow_price: float
    n_repaired: int
    unconstrained_spend: float


# --------------------------------------------------------------------------- validation


def _matrix(name: str, x: ArrayLike) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BudgetError(
            f"{name} must be a numeric array. Got {type(x).__name__} instead."
        ) from exc
    if arr.ndim != 2:
        raise BudgetError(
            f"{name} must be a 2-D array (n_complaints, n_options). Got shape {arr.shape} instead."
        )
    return arr


def _validate_arrays(
    value: ArrayLike, cost: ArrayLike, eligible: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    val = _matrix("value", value)
    cst = _matrix("cost", cost)
    elig = np.asarray(eligible)
    if cst.shape != val.shape:
        raise BudgetError(
            f"cost must have the shape of value {val.shape}. Got {cst.shape} instead."
        )
    if elig.shape != val.shape:
        raise BudgetError(
            f"eligible must have the shape of value {val.shape}. Got {elig.shape} instead."
        )
    if elig.dtype != np.bool_:
        raise BudgetError(f"eligible must be a boolean array. Got dtype {elig.dtype} instead.")
    # Ineligible cells may hold anything (NaN, say): they are never looked at.
    none = ~elig.any(axis=1)
    if none.any():
        rows = np.flatnonzero(none)
        more = f" (and {rows.size - 1} more)" if rows.size > 1 else ""
        raise BudgetError(
            "eligible must allow at least one option for every complaint. "
            f"Got none for row {rows[0]}{more} instead."
        )
    bad = elig & ~np.isfinite(val)
    if bad.any():
        i, a = np.argwhere(bad)[0]
        raise BudgetError(f"value must be finite where eligible. Got {val[i, a]} at [{i}, {a}].")
    with np.errstate(invalid="ignore"):
        bad = elig & ~(np.isfinite(cst) & (cst >= 0))
    if bad.any():
        i, a = np.argwhere(bad)[0]
        raise BudgetError(
            f"cost must be finite and >= 0 where eligible. Got {cst[i, a]} at [{i}, {a}]."
        )
    return val, cst, elig


def _real(name: str, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise BudgetError(f"{name} must be a real number. Got {x!r} instead.")
    out = float(x)
    if not math.isfinite(out):
        raise BudgetError(f"{name} must be finite. Got {out} instead.")
    if out < 0:
        raise BudgetError(f"{name} must be >= 0. Got {out} instead.")
    return out


def _check_tol(tol: object) -> float:
    out = _real("tol", tol)
    if out > _MAX_TOL:
        raise BudgetError(f"tol must be <= {_MAX_TOL}. Got {out} instead.")
    return out


def _fsum(x: np.ndarray) -> float:
    return math.fsum(x.tolist())


def _check_feasible(cheapest: list[float], budget: float) -> None:
    min_spend = math.fsum(cheapest)
    if min_spend > budget:
        raise BudgetError(
            f"budget {budget} is below the minimum spend {min_spend} needed to give every "
            "complaint its cheapest eligible option."
        )


# ------------------------------------------------------------------------- upgrade path


@dataclass(frozen=True, eq=False)
class _UpgradePath:
    """Every complaint's concave upgrade chain, merged into one greedy order.

    ``vertex[i, t]`` is complaint i's option after its first ``t`` upgrades. The segments
    (one upgrade each) are listed in greedy order: slope dv/dc non-increasing, ties by
    complaint then position in its chain, so any prefix of the list is a valid set of
    upgrades and taking the first ``k`` gives a well-defined choice.
    """

    value: np.ndarray
    cost: np.ndarray
    vertex: np.ndarray  # (n, K) int64; column t valid for t <= number of upgrades of i
    seg_row: np.ndarray  # (m,) complaint of each segment, greedy order
    seg_slope: np.ndarray  # (m,) dv/dc, non-increasing
    cum_spend: np.ndarray  # (m + 1,) spend after the first k segments (float cumsum)
    exact: bool  # costs on the exact grid: cum_spend has no rounding error

    @property
    def n_seg(self) -> int:
        return int(self.seg_slope.size)

    def take(self, k: int) -> np.ndarray:
        """Choice after the first ``k`` segments of the greedy order."""
        n = self.vertex.shape[0]
        n_up = np.bincount(self.seg_row[:k], minlength=n)
        return self.vertex[np.arange(n), n_up]

    def n_above(self, lam: float) -> int:
        """Number of segments with slope > lam (a prefix of the greedy order)."""
        return int(np.searchsorted(-self.seg_slope, -lam, side="left"))

    def guarded_spend(self, tol: float) -> np.ndarray:
        """(m,) spend of prefixes k = 1..m, inflated to cover any summation order's rounding.

        Recursive summation of s >= 0 terms errs by at most (s - 1) * eps/2 relative;
        the cumsum here and a consumer's own sum of the chosen costs together stay under
        2 * (n + m + 2) * eps, so ``guarded_spend <= budget`` keeps every way of adding up
        the chosen costs within the budget. Exact grids need no guard.
        """
        spend = self.cum_spend[1:]
        if self.exact:
            return spend
        n = self.vertex.shape[0]
        margin = max(tol, 2.0 * (n + self.n_seg + 2) * _EPS)
        return spend * (1.0 + margin)

    def allocation(self, k: int, unconstrained_spend: float) -> Allocation:
        rows = np.arange(self.vertex.shape[0])
        choice = self.take(k).astype(np.int64, copy=False)
        choice.flags.writeable = False
        if k < self.n_seg:
            shadow = float(self.seg_slope[k])
            k_lagrange = self.n_above(shadow)
        else:
            shadow, k_lagrange = 0.0, k
        return Allocation(
            choice=choice,
            spend=_fsum(self.cost[rows, choice]),
            value=_fsum(self.value[rows, choice]),
            shadow_price=shadow,
            n_repaired=int(np.unique(self.seg_row[k_lagrange:k]).size),
            unconstrained_spend=unconstrained_spend,
        )

    def cheapest(self) -> list[float]:
        """Cost of each complaint's cheapest option (the choice before any upgrade)."""
        return self.cost[np.arange(self.vertex.shape[0]), self.vertex[:, 0]].tolist()

    def spend_of(self, k: int) -> float:
        rows = np.arange(self.vertex.shape[0])
        return _fsum(self.cost[rows, self.take(k)])


def _pop_and_push(
    sc: np.ndarray,
    sv: np.ndarray,
    se: np.ndarray,
    order: np.ndarray,
    vertex: np.ndarray,
    hc: np.ndarray,
    hv: np.ndarray,
    top: np.ndarray,
) -> None:
    """Monotone-chain upper hull of every row at once, in place, one sorted column at a time.

    ``sc, sv, se, order``: costs, values, eligibility and option index sorted per row.
    ``vertex, hc, hv``: the chains (option, cost, value); ``top``: each chain's length.
    """
    rows = np.arange(sc.shape[0])
    for j in range(1, sc.shape[1]):
        cj, vj = sc[:, j], sv[:, j]
        last = top - 1
        push = np.flatnonzero(se[:, j] & (cj > hc[rows, last]) & (vj > hv[rows, last]))
        check = push
        while check.size:
            check = check[top[check] >= 2]
            b = top[check] - 1
            a = b - 1
            # The same expressions give the stored slopes later, so the kept chain's
            # slopes are non-increasing exactly, not just up to rounding.
            s_prev = (hv[check, b] - hv[check, a]) / (hc[check, b] - hc[check, a])
            s_new = (vj[check] - hv[check, b]) / (cj[check] - hc[check, b])
            check = check[s_prev < s_new]
            top[check] -= 1
        p = top[push]
        vertex[push, p], hc[push, p], hv[push, p] = order[push, j], cj[push], vj[push]
        top[push] += 1


def _upgrade_path(value: np.ndarray, cost: np.ndarray, eligible: np.ndarray) -> _UpgradePath:
    """Upper concave hulls of each complaint's eligible (cost, value) points, merged.

    Per complaint: sort eligible options by cost, then value descending, then index; the
    chain starts at the first (cheapest; best among the cheapest; lowest index among
    those) and keeps only points that raise the value, popping any point strictly below
    the line from its predecessor to the new point (collinear points stay, so upgrades
    are as fine-grained as possible). Vectorised over complaints, looping over K.
    """
    n, n_opt = value.shape
    c_all = np.where(eligible, cost, np.inf)
    v_all = np.where(eligible, value, -np.inf)
    idx = np.broadcast_to(np.arange(n_opt), (n, n_opt))
    order = np.lexsort((idx, -v_all, c_all), axis=1)
    sc = np.take_along_axis(c_all, order, axis=1)
    sv = np.take_along_axis(v_all, order, axis=1)
    se = np.take_along_axis(eligible, order, axis=1)

    vertex = np.zeros((n, max(n_opt, 1)), dtype=np.int64)
    hc = np.zeros((n, max(n_opt, 1)))
    hv = np.zeros((n, max(n_opt, 1)))
    if n_opt:
        vertex[:, 0], hc[:, 0], hv[:, 0] = order[:, 0], sc[:, 0], sv[:, 0]
    top = np.ones(n, dtype=np.int64)  # chain length

    # A slope can overflow to inf (a huge value gain for a tiny cost): it then simply
    # comes first, which is right.
    with np.errstate(over="ignore"):
        _pop_and_push(sc, sv, se, order, vertex, hc, hv, top)
        has_seg = np.arange(max(n_opt - 1, 0))[None, :] < (top - 1)[:, None]
        seg_row = np.nonzero(has_seg)[0]  # row-major: complaint, then position in its chain
        dc = np.diff(hc, axis=1)[has_seg]
        slope = np.diff(hv, axis=1)[has_seg] / dc
    greedy = np.argsort(-slope, kind="stable")

    cum_spend = np.empty(slope.size + 1)
    cum_spend[0] = _fsum(hc[:, 0])
    cum_spend[1:] = cum_spend[0] + np.cumsum(dc[greedy])

    with np.errstate(over="ignore"):
        scaled = cost[eligible] * _EXACT_GRID
        max_total = float(np.max(np.where(eligible, cost, 0.0), axis=1, initial=0.0).sum())
        on_grid = bool(np.all(scaled == np.floor(scaled)))
        exact = on_grid and max_total * _EXACT_GRID <= 2.0**52
    return _UpgradePath(
        value=value,
        cost=cost,
        vertex=vertex,
        seg_row=seg_row[greedy],
        seg_slope=slope[greedy],
        cum_spend=cum_spend,
        exact=exact,
    )


# ----------------------------------------------------------------------------- public


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
    lam_ = _real("lam", lam)
    path = _upgrade_path(*_validate_arrays(value, cost, eligible))
    return path.take(path.n_above(lam_))


def spend_at(value: ArrayLike, cost: ArrayLike, eligible: ArrayLike, lam: float) -> float:
    """Total cost of :func:`choose` at shadow price ``lam`` (non-increasing in ``lam``).

    Raises:
        BudgetError: invalid arrays or ``lam``.

    >>> spend_at([[0.0, 10.0, 12.0]], [[0.0, 5.0, 10.0]], [[True, True, True]], lam=0.0)
    10.0
    """
    lam_ = _real("lam", lam)
    path = _upgrade_path(*_validate_arrays(value, cost, eligible))
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
    budget_ = _real("budget", budget)
    tol_ = _check_tol(tol)
    path = _upgrade_path(*_validate_arrays(value, cost, eligible))
    _check_feasible(path.cheapest(), budget_)
    k = int(np.searchsorted(path.guarded_spend(tol_), budget_, side="right"))
    return path.allocation(k, path.spend_of(path.n_seg))


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
    tol_ = _check_tol(tol)
    raw = np.asarray(budgets, dtype=object)
    if raw.ndim != 1:
        raise BudgetError(f"budgets must be a 1-D array. Got shape {raw.shape} instead.")
    checked = [_real(f"budgets[{j}]", b) for j, b in enumerate(raw)]
    path = _upgrade_path(*_validate_arrays(value, cost, eligible))
    cheapest = path.cheapest()
    _check_feasible(cheapest, min(checked, default=math.inf))
    guarded = path.guarded_spend(tol_)
    unconstrained = path.spend_of(path.n_seg)
    ks = np.searchsorted(guarded, np.asarray(checked, dtype=np.float64), side="right")
    return [path.allocation(int(k), unconstrained) for k in ks]


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
    budget_ = _real("budget", budget)
    val, cst, elig = _validate_arrays(value, cost, eligible)
    n = val.shape[0]
    options = [np.flatnonzero(elig[i]).tolist() for i in range(n)]
    n_comb = math.prod(len(o) for o in options)
    if n_comb > _MAX_BRUTEFORCE:
        raise ValueError(f"{n_comb} combinations is too many for brute force.")
    _check_feasible([float(np.min(cst[i, o])) for i, o in enumerate(options)], budget_)

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
    path = _upgrade_path(val, cst, elig)
    return Allocation(
        choice=choice,
        spend=_fsum(cst[np.arange(n), choice]),
        value=_fsum(val[np.arange(n), choice]),
        shadow_price=math.nan,
        n_repaired=0,
        unconstrained_spend=path.spend_of(path.n_seg),
    )
