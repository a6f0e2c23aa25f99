"""Upgrade segments: the data structure of the budgeted allocation, and one batch's half
of the distributed threshold protocol.

For ``n`` complaints and ``K`` options (``value`` the net value, ``cost`` the compensation
paid from the budget, ``eligible`` the candidate mask), each complaint's eligible (cost,
value) points are reduced to their upper concave hull; moving from one hull vertex to the
next is an *upgrade*. :class:`Segments` lists every upgrade of a batch in greedy order.
The single-process allocator (:mod:`makegood.policy.budget`) and the driver of many
partitions (:mod:`makegood.policy.thresholds`) both work on it: a batch answers
:meth:`Segments.summary`, :meth:`Segments.probe` and :meth:`Segments.ties`, and applies the
driver's :class:`Threshold` with :meth:`Segments.allocate`.

Arrays and amounts are validated here (:func:`validate_arrays`, :func:`checked_amount`):
every problem is a :class:`~makegood.errors.BudgetError` naming the parameter.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from makegood.contract.units import fsum
from makegood.errors import BudgetError

__all__ = [
    "EPS",
    "EXACT_GRID",
    "Allocation",
    "BatchSummary",
    "Segments",
    "SlopeProbe",
    "Threshold",
    "check_feasible",
    "check_tol",
    "checked_amount",
    "exact_partials",
    "fsum",
    "segments",
    "slope_keys",
    "upgrade_segments",
    "validate_arrays",
]

EPS = float(np.finfo(np.float64).eps)
# Costs on this binary grid (whole numbers, halves, ..., 1/1024) add up exactly in float64
# in any order while totals stay below 2**52 / EXACT_GRID, so no rounding guard is needed.
EXACT_GRID = 1024.0
_MAX_TOL = 1e-3


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


def validate_arrays(
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


def checked_amount(name: str, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise BudgetError(f"{name} must be a real number. Got {x!r} instead.")
    out = float(x)
    if not math.isfinite(out):
        raise BudgetError(f"{name} must be finite. Got {out} instead.")
    if out < 0:
        raise BudgetError(f"{name} must be >= 0. Got {out} instead.")
    return out


def check_tol(tol: object) -> float:
    out = checked_amount("tol", tol)
    if out > _MAX_TOL:
        raise BudgetError(f"tol must be <= {_MAX_TOL}. Got {out} instead.")
    return out


def check_feasible(min_spend: float, budget: float) -> None:
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
    on_grid: bool  # every eligible cost a multiple of 1/EXACT_GRID
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
        return fsum(self.cost[np.arange(self.n), self.take(k)])

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
            spend=fsum(self.cost[rows, choice]),
            value=fsum(self.value[rows, choice]),
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


def upgrade_segments(value: np.ndarray, cost: np.ndarray, eligible: np.ndarray) -> Segments:
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
        scaled = cost[eligible] * EXACT_GRID
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


def segments(value: ArrayLike, cost: ArrayLike, eligible: ArrayLike) -> Segments:
    """One batch's upgrade segments (validated): the per-partition piece of :func:`allocate`.

    Raises:
        BudgetError: invalid arrays.
    """
    return upgrade_segments(*validate_arrays(value, cost, eligible))
