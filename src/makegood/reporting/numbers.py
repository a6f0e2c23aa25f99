"""How a report stores a number: rounded, JSON-safe (shared by every report)."""

from __future__ import annotations

import math


def report_round(x: float | None, nd: int = 2) -> float | None:
    """Round for the report; non-finite numbers become None (JSON null).

    >>> report_round(2.345), report_round(float("nan")), report_round(-0.001)
    (2.35, None, 0.0)
    """
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return round(x, nd) + 0.0  # + 0.0 turns -0.0 into 0.0
