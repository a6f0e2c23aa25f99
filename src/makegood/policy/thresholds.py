"""The distributed threshold protocol: the driver's half of ``budget.allocate`` over
batches held elsewhere (one per partition, e.g. by :mod:`makegood.scaleout`).

The driver never collects the segments: it reads each batch's
:class:`~makegood.policy.upgrades.BatchSummary`, asks every batch for cumulative extra
costs at slope-key edges (``probe``) and for the tie group at the price found
(``ties``), and hands each batch a :class:`~makegood.policy.upgrades.Threshold` to apply
(``Segments.allocate``). One batch through the same pieces is the single-process
:func:`makegood.policy.budget.allocate`, so the two agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError
from makegood.policy.upgrades import (
    EPS,
    EXACT_GRID,
    BatchSummary,
    SlopeProbe,
    Threshold,
    check_feasible,
    check_tol,
    checked_amount,
)

__all__ = ["Probe", "TieProbe", "allocate_batches", "find_thresholds"]

_N_BINS = 1024


class _Totals:
    """The global facts of several batches: minimum spend, rounding guard."""

    def __init__(self, summaries: list[BatchSummary], tol: float) -> None:
        self.n = sum(s.n for s in summaries)
        self.n_seg = sum(s.n_seg for s in summaries)
        self.base = math.fsum([p for s in summaries for p in s.base_partials])
        self.unconstrained = math.fsum([p for s in summaries for p in s.top_partials])
        max_total = math.fsum([s.max_total for s in summaries])
        exact = all(s.on_grid for s in summaries) and max_total * EXACT_GRID <= 2.0**52
        # Recursive summation of s >= 0 terms errs by at most (s - 1) * eps/2 relative;
        # the driver's sums and a consumer's own sum of the chosen costs together stay
        # under 2 * (n + m + 2) * eps, so a guarded spend <= budget keeps every way of
        # adding up the chosen costs within the budget. Exact grids need no guard.
        self.margin = 0.0 if exact else max(tol, 2.0 * (self.n + self.n_seg + 2) * EPS)
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
    """The greedy stopping point of ``allocate`` for each budget, over many batches.

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


def allocate_batches(
    summaries: list[BatchSummary],
    budgets: ArrayLike,
    probe: Probe,
    ties: TieProbe,
    *,
    tol: float = 1e-9,
) -> list[Threshold]:
    """``allocate`` for batches held elsewhere (one per partition), many budgets.

    Validates the budgets and checks that the smallest covers the minimum spend (every
    complaint's cheapest option over all batches, summed exactly), then
    :func:`find_thresholds`. Batch ``p`` then applies its part with
    ``Segments.allocate(threshold, p)``; the choices are ``allocate``'s on the
    concatenated batch, up to float rounding of the spend sums across batches (which
    can move the stop only when the budget lies within about ``(n + m) * eps`` of a
    prefix's spend; none on the exact grid of costs).

    Returns:
        One :class:`Threshold` per budget, in the order given.

    Raises:
        BudgetError: invalid budgets or tol, or a budget below the minimum spend.
    """
    tol_ = check_tol(tol)
    raw = np.asarray(budgets, dtype=object)
    if raw.ndim != 1:
        raise BudgetError(f"budgets must be a 1-D array. Got shape {raw.shape} instead.")
    checked = [checked_amount(f"budgets[{j}]", b) for j, b in enumerate(raw)]
    if checked:
        check_feasible(math.fsum(p for s in summaries for p in s.base_partials), min(checked))
    return find_thresholds(summaries, checked, probe, ties, tol=tol_)
