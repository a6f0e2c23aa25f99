"""Online pacing of the budget's shadow price (the price the served choice rule charges
for a unit of compensation), so a period's budget lasts the period.

Pure arithmetic on two fractions; the ledger stores the budget, the service reads it and
calls :func:`pacing_shadow_price`.
"""

from __future__ import annotations

import math

from makegood.errors import ConfigError

__all__ = ["pacing_shadow_price"]


def pacing_shadow_price(
    base_price: float,
    spent_fraction: float,
    elapsed_fraction: float,
    *,
    gain: float = 3.0,
    floor: float = 1e-3,
) -> float:
    """Shadow price of compensation, paced so the budget lasts the period.

    With ``s`` the share of the budget spent or held (committed plus reserved over the
    amount; 1 for a zero budget) and ``e`` the share of the period gone by::

        price = max(base_price, floor) * exp(gain * (clip(s, 0, 1) - clip(e, 0, 1)))

    It equals the base price on pace (``s == e``), rises when spend runs ahead of the
    time gone and falls when it lags, staying within a factor ``exp(gain)`` of the base
    either way; it is monotone non-decreasing in ``s - e``. ``floor`` lets a zero base
    price still rise.

    >>> pacing_shadow_price(0.2, 0.5, 0.5)  # half spent, half the period gone
    0.2
    >>> round(pacing_shadow_price(0.2, 0.5, 0.1), 4)  # spend ahead of time: dearer
    0.664

    Raises:
        ConfigError: if ``gain`` or ``floor`` is negative or not finite.
    """
    if not (math.isfinite(gain) and gain >= 0):
        raise ConfigError(f"gain must be a finite number >= 0. Got {gain!r} instead.")
    if not (math.isfinite(floor) and floor >= 0):
        raise ConfigError(f"floor must be a finite number >= 0. Got {floor!r} instead.")
    spent = min(1.0, max(0.0, float(spent_fraction)))
    elapsed = min(1.0, max(0.0, float(elapsed_fraction)))
    return max(base_price, floor) * math.exp(gain * (spent - elapsed))
