"""What each candidate resolution is worth (CONTRACT.md section 3).

Plain numpy, arrays in and arrays out. Shapes: ``n`` complaints, ``K`` catalog resolutions.
These are core math: the callers (modeling, CLI, API) validate their inputs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["net_value", "retention_lift", "value_at_risk"]


def net_value(
    lifetime_value: ArrayLike,
    churn_prob: ArrayLike,
    compensation: ArrayLike,
    handling_cost: ArrayLike,
) -> np.ndarray:
    """Expected net value of giving complaint i resolution a.

    ``net_value[i, a] = lifetime_value[i] * (1 - churn_prob[i, a])
    - compensation[i, a] - handling_cost[a]``

    Args:
        lifetime_value: (n,) margin kept if the customer stays.
        churn_prob: (n, K) probability of churn within 90 days under each resolution.
        compensation: (n, K) money or credit paid from the budget.
        handling_cost: (K,) internal cost of carrying out each resolution.

    Returns:
        (n, K) float64 array.

    >>> net_value([100.0, 50.0], [[0.5, 0.2], [0.1, 0.1]], [[0.0, 10.0], [0.0, 5.0]], [2.0, 3.0])
    array([[48., 67.],
           [43., 37.]])
    """
    ltv = np.asarray(lifetime_value, dtype=np.float64)
    churn = np.asarray(churn_prob, dtype=np.float64)
    comp = np.asarray(compensation, dtype=np.float64)
    handling = np.asarray(handling_cost, dtype=np.float64)
    return ltv[:, None] * (1.0 - churn) - comp - handling[None, :]


def retention_lift(churn_prob: ArrayLike, baseline_index: int) -> np.ndarray:
    """Churn avoided relative to the baseline resolution.

    ``retention_lift[i, a] = churn_prob[i, baseline_index] - churn_prob[i, a]``
    (positive: resolution ``a`` keeps the customer more often than the baseline).

    Returns:
        (n, K) float64 array; the baseline column is 0.

    >>> retention_lift([[0.30, 0.25, 0.40]], baseline_index=0)
    array([[ 0.  ,  0.05, -0.1 ]])
    """
    churn = np.asarray(churn_prob, dtype=np.float64)
    return churn[:, [baseline_index]] - churn


def value_at_risk(lifetime_value: ArrayLike, churn_prob_baseline: ArrayLike) -> np.ndarray:
    """Lifetime value expected to walk away if the complaint gets only the baseline.

    ``value_at_risk[i] = lifetime_value[i] * churn_prob_baseline[i]``; used to order queues.

    Returns:
        (n,) float64 array.

    >>> value_at_risk([1000.0, 200.0], [0.1, 0.5])
    array([100., 100.])
    """
    ltv = np.asarray(lifetime_value, dtype=np.float64)
    return ltv * np.asarray(churn_prob_baseline, dtype=np.float64)
