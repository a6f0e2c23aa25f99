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
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError

__all__ = [
    "Allocation",
    "BatchSummary",
    "Segments",
    "SlopeProbe",
    "Threshold",
    "allocate",
    "allocate_batches",
    "exact_partials",
    "find_thresholds",
    "segments",
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


def _check_feasible(min_spend: float, budget: float) -> None:
    if min_spend > budget:
        raise BudgetError(
            f"budget {budget} is below the minimum spend {min_spend} needed to give every "
            "complaint its cheapest eligible option."
        )


# ----------------------------------------------------------------------------- segments


def _partials(values: list[float]) -> list[float]:
    """Non-overlapping floats whose exact sum is the exact sum of ``values`` (Shewchuk).

    ``math.fsum`` of the partials of several batches, concatenated, is the correctly
    rounded sum of all their values: how batches add up a total exactly.

    >>> math.fsum(_partials([0.1] * 10) + _partials([0.2] * 5)) == math.fsum([0.1] * 10 + [0.2] * 5)
    True
    """
    partials: list[float] = []
    for x in values:
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                partials[i] = lo
                i += 1
            x = hi
        partials[i:] = [x]
    return partials


def exact_partials(x: np.ndarray) -> tuple[float, ...]:
    """:func:`_partials` of an array, summed per distinct value first (fast on money)."""
    vals, counts = np.unique(np.asarray(x, dtype=np.float64), return_counts=True)
    if vals.size * 4 > x.size:
        return tuple(_partials(x.tolist()))
    # v * c is not exact in general: split c into powers of two, each product exact
    # (a float times 2**j), then add those up exactly.
    terms: list[float] = []
    for v, c in zip(vals.tolist(), counts.tolist(), strict=True):
        bit = 0
        while c:
            if c & 1:
                terms.append(math.ldexp(v, bit))
            c >>= 1
            bit += 1
    return tuple(_partials(terms))


def slope_keys(slope: np.ndarray) -> np.ndarray:
    """Integer keys ordered like the slopes (slopes are >= 0: the float bits as int64)."""
    return np.ascontiguousarray(slope, dtype=np.float64).view(np.int64)


@dataclass(frozen=True, eq=False)
class Segments:
    """One batch's upgrade segments: every complaint's concave upgrade chain, merged.

    ``vertex[i, t]`` is complaint i's option after its first ``t`` upgrades. The segments
    (one upgrade each: ``row``, ``slope`` dv/dc, ``extra_cost`` dc > 0, ``extra_value``
    dv > 0) are listed in greedy order: slope non-increasing, ties by complaint then
    position in its chain, so any prefix of the list is a valid set of upgrades and
    taking the first ``k`` gives a well-defined choice. ``cum_cost[k]`` is the float
    cumulative sum of the first ``k`` extra costs (``cum_cost[0] = 0``).

    A batch is a whole problem (:func:`allocate`) or one partition of a larger one: the
    greedy order of several batches, in batch order, is the greedy order of their
    concatenation, so the driver needs only each batch's :class:`BatchSummary` and its
    answers to :meth:`probe` and :meth:`ties` (see :func:`find_thresholds`).
    """

    value: np.ndarray
    cost: np.ndarray
    vertex: np.ndarray  # (n, K) int64; column t valid for t <= number of upgrades of i
    row: np.ndarray  # (m,) complaint of each segment, greedy order
    slope: np.ndarray  # (m,) dv/dc, non-increasing
    extra_cost: np.ndarray  # (m,)
    extra_value: np.ndarray  # (m,)
    cum_cost: np.ndarray  # (m + 1,)
    on_grid: bool  # every eligible cost a multiple of 1/_EXACT_GRID
    max_total: float  # sum over complaints of their largest eligible cost

    @property
    def n(self) -> int:
        return int(self.vertex.shape[0])

    @property
    def n_seg(self) -> int:
        return int(self.slope.size)

    def take(self, k: int) -> np.ndarray:
        """Choice after the first ``k`` segments of the greedy order."""
        n_up = np.bincount(self.row[:k], minlength=self.n)
        return self.vertex[np.arange(self.n), n_up]

    def n_above(self, lam: float) -> int:
        """Number of segments with slope > lam (a prefix of the greedy order)."""
        return int(np.searchsorted(-self.slope, -lam, side="left"))

    def cheapest(self) -> np.ndarray:
        """Cost of each complaint's cheapest option (the choice before any upgrade)."""
        return self.cost[np.arange(self.n), self.vertex[:, 0]]

    def spend_of(self, k: int) -> float:
        return _fsum(self.cost[np.arange(self.n), self.take(k)])

    def summary(self) -> BatchSummary:
        """What the driver needs of this batch to find the global threshold (small)."""
        keys = slope_keys(self.slope)
        full = self.cost[np.arange(self.n), self.take(self.n_seg)]
        return BatchSummary(
            n=self.n,
            n_seg=self.n_seg,
            base_partials=exact_partials(self.cheapest()),
            top_partials=exact_partials(full),
            on_grid=self.on_grid,
            max_total=self.max_total,
            key_lo=int(keys[-1]) if keys.size else None,
            key_hi=int(keys[0]) if keys.size else None,
        )

    def probe(self, edges: np.ndarray) -> SlopeProbe:
        """Taking every segment with slope key >= each edge: how many, their cumulative
        extra cost, and the nearest slope keys on either side of the edge."""
        keys = slope_keys(self.slope)
        edges = np.asarray(edges, dtype=np.int64)
        count = np.searchsorted(-keys, -edges, side="right")  # keys >= edge
        m = keys.size
        none = np.iinfo(np.int64)
        ge = np.where(count > 0, keys[np.clip(count - 1, 0, None)] if m else 0, none.max)
        lt = np.where(count < m, keys[np.clip(count, 0, m - 1)] if m else 0, -1)
        return SlopeProbe(count.astype(np.int64), self.cum_cost[count], ge, lt)

    def ties(self, key: int) -> tuple[int, np.ndarray]:
        """Segments at slope key ``key``: the number above them and the cumulative extra
        cost from just before the first tie to just after the last."""
        keys = slope_keys(self.slope)
        a = int(np.searchsorted(-keys, -key, side="left"))
        b = int(np.searchsorted(-keys, -key, side="right"))
        return a, self.cum_cost[a : b + 1]

    def allocate(self, threshold: Threshold, batch: int = 0) -> Allocation:
        """This batch's part of an allocation found by :func:`find_thresholds`.

        ``spend`` and ``value`` are this batch's totals; ``shadow_price`` the global one.
        """
        k, k_lagrange = threshold.take[batch], threshold.above[batch]
        choice = self.take(k).astype(np.int64, copy=False)
        choice.flags.writeable = False
        rows = np.arange(self.n)
        return Allocation(
            choice=choice,
            spend=_fsum(self.cost[rows, choice]),
            value=_fsum(self.value[rows, choice]),
            shadow_price=threshold.shadow_price,
            n_repaired=int(np.unique(self.row[k_lagrange:k]).size),
            unconstrained_spend=threshold.unconstrained_spend,
        )


@dataclass(frozen=True)
class BatchSummary:
    """A batch's size, exact partial sums of its cheapest and its unconstrained spend,
    rounding facts and slope range: all the driver collects before searching."""

    n: int
    n_seg: int
    base_partials: tuple[float, ...]
    top_partials: tuple[float, ...]
    on_grid: bool
    max_total: float
    key_lo: int | None
    key_hi: int | None


@dataclass(frozen=True)
class SlopeProbe:
    """A batch's answer to :meth:`Segments.probe` for a vector of slope-key edges."""

    count: np.ndarray  # segments with key >= edge
    cum_cost: np.ndarray  # their cumulative extra cost (float, greedy order)
    key_ge: np.ndarray  # the smallest key >= edge (int64 max if none)
    key_lt: np.ndarray  # the largest key < edge (-1 if none)


@dataclass(frozen=True)
class Threshold:
    """Where the greedy prefix stops for one budget, across batches.

    ``take[p]``: segments of batch p's greedy order taken; ``above[p]``: how many of them
    lie strictly above the shadow price (the rest are the repair).
    """

    budget: float
    shadow_price: float
    take: tuple[int, ...]
    above: tuple[int, ...]
    spend_bound: float  # float spend of the prefix (what was compared with the budget)
    unconstrained_spend: float


_N_BINS = 1024


class _Totals:
    """The global facts of several batches: minimum spend, rounding guard."""

    def __init__(self, summaries: list[BatchSummary], tol: float) -> None:
        self.n = sum(s.n for s in summaries)
        self.n_seg = sum(s.n_seg for s in summaries)
        self.base = math.fsum([p for s in summaries for p in s.base_partials])
        self.unconstrained = math.fsum([p for s in summaries for p in s.top_partials])
        max_total = math.fsum([s.max_total for s in summaries])
        exact = all(s.on_grid for s in summaries) and max_total * _EXACT_GRID <= 2.0**52
        # Recursive summation of s >= 0 terms errs by at most (s - 1) * eps/2 relative;
        # the driver's sums and a consumer's own sum of the chosen costs together stay
        # under 2 * (n + m + 2) * eps, so a guarded spend <= budget keeps every way of
        # adding up the chosen costs within the budget. Exact grids need no guard.
        self.margin = 0.0 if exact else max(tol, 2.0 * (self.n + self.n_seg + 2) * _EPS)
        self.exact = exact

    def fits(self, total: float, count: int, budget: float) -> bool:
        """Whether a prefix of ``count`` segments with cumulative cost ``total`` fits.

        The empty prefix always does (the cheapest choice passed the feasibility check).
        """
        if count == 0:
            return True
        spend = self.base + total
        if not self.exact:
            spend = spend * (1.0 + self.margin)
        return spend <= budget


Probe = Callable[[np.ndarray], list[SlopeProbe]]
TieProbe = Callable[[int], list[tuple[int, np.ndarray]]]


def _edges(lo: int, hi: int, n_bins: int) -> list[int]:
    width = hi - lo + 1
    if width <= n_bins:
        return list(range(lo, hi + 1))
    return sorted({lo + (j * width) // n_bins for j in range(n_bins)})


def find_thresholds(
    summaries: list[BatchSummary],
    budgets: list[float],
    probe: Probe,
    ties: TieProbe,
    *,
    tol: float = 1e-9,
) -> list[Threshold]:
    """The greedy stopping point of :func:`allocate` for each budget, over many batches.

    With ``F(v)`` the spend of taking every segment whose slope is >= v, the shadow
    price is the largest slope s with ``F(s)`` over the budget (after the rounding
    guard); every segment steeper than s is taken, and of those at exactly s (the tie
    group, in batch then complaint order) the longest prefix that fits: the repair.
    ``s`` is found by a histogram search on the slopes' integer keys: each round asks
    every batch, through ``probe(edges)``, for its cumulative extra cost at ``_N_BINS``
    edges and narrows to one bin, snapping to the slopes present, so a few rounds reach
    the exact value without collecting the segments; ``ties(key)`` then gathers only
    the tie group's cumulative costs. Sums over batches are taken in batch order, so
    one batch gives exactly the float arithmetic of a single sequential pass.

    Args:
        summaries: one :meth:`Segments.summary` per batch, in batch order.
        budgets: budgets (each >= the minimum spend; not validated here).
        probe: ``edges -> [Segments.probe(edges) for each batch]``.
        ties: ``key -> [Segments.ties(key) for each batch]``.
        tol: the relative rounding guard.

    Returns:
        One :class:`Threshold` per budget, in the order given.
    """
    g = _Totals(summaries, tol)
    n_b = len(summaries)
    keys_lo = [s.key_lo for s in summaries if s.key_lo is not None]
    keys_hi = [s.key_hi for s in summaries if s.key_hi is not None]
    all_take = tuple(s.n_seg for s in summaries)
    out: list[Threshold | None] = [None] * len(budgets)
    if not keys_lo:
        return [Threshold(b, 0.0, all_take, all_take, g.base, g.unconstrained) for b in budgets]
    # interval [lo, hi] of keys holding the shadow price, per open budget; None until the
    # first round shows the budget binds
    open_: dict[int, tuple[int, int, bool]] = {
        j: (min(keys_lo), max(keys_hi), False) for j in range(len(budgets))
    }
    n_bins = max(16, _N_BINS // max(len(budgets), 1))
    while open_:
        plan = {j: _edges(lo, hi, n_bins) for j, (lo, hi, _) in open_.items()}
        flat = np.fromiter((e for es in plan.values() for e in es), dtype=np.int64)
        answers = probe(flat)
        total = np.zeros(flat.size)
        count = np.zeros(flat.size, dtype=np.int64)
        for a in answers:  # batch order: the same float sums as one sequential pass
            total = total + a.cum_cost
            count = count + a.count
        key_ge = np.min([a.key_ge for a in answers], axis=0)
        key_lt = np.max([a.key_lt for a in answers], axis=0)
        at = 0
        for j, es in plan.items():
            sl = slice(at, at + len(es))
            at += len(es)
            b = budgets[j]
            fit = [g.fits(float(t), int(c), b) for t, c in zip(total[sl], count[sl], strict=True)]
            lo, hi, binds = open_[j]
            if not binds and fit[0]:  # everything fits
                out[j] = Threshold(
                    b, 0.0, all_take, all_take, g.base + float(total[sl][0]), g.unconstrained
                )
                del open_[j]
                continue
            last = max(i for i, f in enumerate(fit) if not f)
            new_lo = int(key_ge[sl][last])
            new_hi = hi if last + 1 == len(es) else min(hi, int(key_lt[sl][last + 1]))
            if new_lo >= new_hi:
                out[j] = _repair(g, b, new_lo, ties(new_lo), n_b)
                del open_[j]
            else:
                open_[j] = (new_lo, new_hi, True)
    return [t for t in out if t is not None]


def _repair(
    g: _Totals, budget: float, key: int, tie_runs: list[tuple[int, np.ndarray]], n_b: int
) -> Threshold:
    """Take the tie group at ``key`` in batch order while it fits (the prefix repair)."""
    above = tuple(a for a, _ in tie_runs)
    take = list(above)
    low = [float(c[0]) for _, c in tie_runs]
    high = [float(c[-1]) for _, c in tie_runs]
    count_above = sum(above)
    done = 0
    for p, (a, cum) in enumerate(tie_runs):
        n_ties = cum.size - 1
        if n_ties == 0:
            continue
        prefix = 0.0
        for q in range(p):
            prefix = prefix + high[q]
        totals = prefix + cum[1:]
        for q in range(p + 1, n_b):
            totals = totals + low[q]
        counts = count_above + done + np.arange(1, n_ties + 1)
        fit = np.array(
            [g.fits(float(t), int(c), budget) for t, c in zip(totals, counts, strict=True)]
        )
        n_fit = int(np.argmin(fit)) if not fit.all() else n_ties
        take[p] = a + n_fit
        done += n_fit
        if n_fit < n_ties:
            break
    total = 0.0
    for p, (a, cum) in enumerate(tie_runs):
        total = total + float(cum[take[p] - a])
    spend = g.base + total
    shadow = float(np.array([key], dtype=np.int64).view(np.float64)[0])
    return Threshold(budget, shadow, tuple(take), above, spend, g.unconstrained)


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


def _segments(value: np.ndarray, cost: np.ndarray, eligible: np.ndarray) -> Segments:
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
        dv = np.diff(hv, axis=1)[has_seg]
        slope = dv / dc
    greedy = np.argsort(-slope, kind="stable")
    extra_cost = dc[greedy]
    cum_cost = np.empty(slope.size + 1)
    cum_cost[0] = 0.0
    np.cumsum(extra_cost, out=cum_cost[1:])

    with np.errstate(over="ignore"):
        scaled = cost[eligible] * _EXACT_GRID
        max_total = float(np.max(np.where(eligible, cost, 0.0), axis=1, initial=0.0).sum())
        on_grid = bool(np.all(scaled == np.floor(scaled)))
    return Segments(
        value=value,
        cost=cost,
        vertex=vertex,
        row=seg_row[greedy],
        slope=slope[greedy],
        extra_cost=extra_cost,
        extra_value=dv[greedy],
        cum_cost=cum_cost,
        on_grid=on_grid,
        max_total=max_total,
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
    path = _segments(*_validate_arrays(value, cost, eligible))
    return path.take(path.n_above(lam_))


def spend_at(value: ArrayLike, cost: ArrayLike, eligible: ArrayLike, lam: float) -> float:
    """Total cost of :func:`choose` at shadow price ``lam`` (non-increasing in ``lam``).

    Raises:
        BudgetError: invalid arrays or ``lam``.

    >>> spend_at([[0.0, 10.0, 12.0]], [[0.0, 5.0, 10.0]], [[True, True, True]], lam=0.0)
    10.0
    """
    lam_ = _real("lam", lam)
    path = _segments(*_validate_arrays(value, cost, eligible))
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
    return _solve(_segments(*_validate_arrays(value, cost, eligible)), [budget_], tol_)[0]


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
    return _solve(_segments(*_validate_arrays(value, cost, eligible)), checked, tol_)


def segments(value: ArrayLike, cost: ArrayLike, eligible: ArrayLike) -> Segments:
    """One batch's upgrade segments (validated): the per-partition piece of :func:`allocate`.

    Raises:
        BudgetError: invalid arrays.
    """
    return _segments(*_validate_arrays(value, cost, eligible))


def allocate_batches(
    summaries: list[BatchSummary],
    budgets: ArrayLike,
    probe: Probe,
    ties: TieProbe,
    *,
    tol: float = 1e-9,
) -> list[Threshold]:
    """:func:`allocate` for batches held elsewhere (one per partition), many budgets.

    Validates the budgets and checks that the smallest covers the minimum spend (every
    complaint's cheapest option over all batches, summed exactly), then
    :func:`find_thresholds`. Batch ``p`` then applies its part with
    ``Segments.allocate(threshold, p)``; the choices are :func:`allocate`'s on the
    concatenated batch, up to float rounding of the spend sums across batches (which
    can move the stop only when the budget lies within about ``(n + m) * eps`` of a
    prefix's spend; none on the exact grid of costs).

    Returns:
        One :class:`Threshold` per budget, in the order given.

    Raises:
        BudgetError: invalid budgets or tol, or a budget below the minimum spend.
    """
    tol_ = _check_tol(tol)
    raw = np.asarray(budgets, dtype=object)
    if raw.ndim != 1:
        raise BudgetError(f"budgets must be a 1-D array. Got shape {raw.shape} instead.")
    checked = [_real(f"budgets[{j}]", b) for j, b in enumerate(raw)]
    if checked:
        _check_feasible(math.fsum(p for s in summaries for p in s.base_partials), min(checked))
    return find_thresholds(summaries, checked, probe, ties, tol=tol_)


def _solve(seg: Segments, budgets: list[float], tol: float) -> list[Allocation]:
    """One batch through the same pieces as many (:func:`allocate_batches`)."""
    found = allocate_batches(
        [seg.summary()], budgets, lambda e: [seg.probe(e)], lambda k: [seg.ties(k)], tol=tol
    )
    return [seg.allocate(t) for t in found]


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
    _check_feasible(math.fsum(float(np.min(cst[i, o])) for i, o in enumerate(options)), budget_)

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
    path = _segments(val, cst, elig)
    return Allocation(
        choice=choice,
        spend=_fsum(cst[np.arange(n), choice]),
        value=_fsum(val[np.arange(n), choice]),
        shadow_price=math.nan,
        n_repaired=0,
        unconstrained_spend=path.spend_of(path.n_seg),
    )
