"""What a contact that joins an open case may still take from the budget.

Compensation already held or given for a case (by its earlier contacts) is not held a
second time: a candidate of the new contact needs only what it adds beyond that::

    top_up(a) = max(compensation(a) - covered, 0)

unless the agent overrides with a reason (then the full compensation is held). A
candidate's cost to the budget, for fitting and for the shadow price, is its top-up.
Plain numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["top_up"]


def top_up(compensation: ArrayLike, covered: float | int) -> np.ndarray:
    """``max(compensation - covered, 0)`` per candidate, in ``compensation``'s dtype
    and unit (give integer cents for exact money).

    >>> top_up([0, 5000, 8999, 12000], 8999).tolist()
    [0, 0, 0, 3001]
    >>> top_up([2500], 0).tolist()
    [2500]
    """
    comp = np.asarray(compensation)
    return np.maximum(comp - np.asarray(covered, dtype=comp.dtype), 0)
