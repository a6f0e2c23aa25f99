"""Where a budget period's spend will end, from the spend so far (plain numpy).

The spend still to come is a compound Poisson process fitted to the period so far:
decisions arrive at ``rate = n / elapsed_days`` a day and each spends an amount drawn
from those committed so far. Reservations still held commit with the share of settled
holds that ended committed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from makegood.errors import BudgetError

__all__ = ["SpendForecast", "forecast_spend"]

Z95 = 1.959963984540054
# The arrival rate is measured over at least an hour: a few decisions in the first
# seconds of a period must not extrapolate to an absurd rate.
MIN_RATE_WINDOW_DAYS = 1.0 / 24.0


@dataclass(frozen=True)
class SpendForecast:
    """Spend at period end: ``expected`` with a 95% interval ``[lo, hi]``."""

    expected: float
    lo: float
    hi: float
    rate_per_day: float  # committed decisions per day so far
    remaining_days: float
    commit_rate: float
    capped: bool  # the budget capped the forecast (the ledger refuses to spend beyond it)


def forecast_spend(
    amounts: ArrayLike,
    elapsed_days: float,
    total_days: float,
    *,
    held: ArrayLike = (),
    commit_rate: float = 1.0,
    cap: float | None = None,
) -> SpendForecast:
    """Forecast the spend at the end of a period from the ``amounts`` committed so far.

    With ``n`` committed amounts ``x`` over ``elapsed_days``, ``rate = n / max(elapsed_days,
    1 hour)``,
    ``R = total_days - elapsed_days`` days to go, ``m1 = mean(x)``, ``m2 = mean(x**2)``,
    holds ``h`` committing with probability ``c = commit_rate``::

        expected = sum(x) + c * sum(h) + rate * R * m1
        var      = rate * R * m2                 (compound Poisson: the days to come)
                 + (rate * R * m1) ** 2 / n      (the rate itself is estimated)
                 + c * (1 - c) * sum(h ** 2)     (which holds commit)

    and the interval is ``expected -/+ 1.96 sqrt(var)``, never below what is committed
    plus held times ``c`` nor, with ``cap`` (the budget), above it.

    >>> f = forecast_spend([10.0, 10.0, 20.0, 0.0], elapsed_days=2, total_days=4)
    >>> f.expected, round(f.lo, 2), round(f.hi, 2)
    (80.0, 40.0, 141.98)
    >>> forecast_spend([10.0] * 4, 2, 4, cap=60.0).expected
    60.0

    Raises:
        BudgetError: negative amounts or days, or a commit rate outside [0, 1].
    """
    x = np.asarray(amounts, dtype=float).ravel()
    h = np.asarray(held, dtype=float).ravel()
    if (x < 0).any() or (h < 0).any():
        raise BudgetError("amounts and held must be >= 0")
    if not (math.isfinite(elapsed_days) and elapsed_days >= 0):
        raise BudgetError(f"elapsed_days must be >= 0. Got {elapsed_days!r} instead.")
    if not (math.isfinite(total_days) and total_days > 0):
        raise BudgetError(f"total_days must be > 0. Got {total_days!r} instead.")
    if not 0.0 <= commit_rate <= 1.0:
        raise BudgetError(f"commit_rate must be in [0, 1]. Got {commit_rate!r} instead.")
    committed = math.fsum(x.tolist())
    n = len(x)
    remaining = max(total_days - elapsed_days, 0.0)
    rate = n / max(elapsed_days, MIN_RATE_WINDOW_DAYS) if n else 0.0
    m1 = float(x.mean()) if n else 0.0
    m2 = float((x**2).mean()) if n else 0.0
    to_come = rate * remaining * m1
    var = rate * remaining * m2 + (to_come**2 / n if n else 0.0)
    var += commit_rate * (1.0 - commit_rate) * float((h**2).sum())
    floor = committed + commit_rate * float(h.sum())
    expected = floor + to_come
    half = Z95 * math.sqrt(var)
    lo, hi = max(expected - half, floor), expected + half
    capped = cap is not None and hi > cap
    if cap is not None:
        expected, lo, hi = min(expected, cap), min(lo, cap), min(hi, cap)
    return SpendForecast(expected, lo, hi, rate, remaining, commit_rate, capped)
