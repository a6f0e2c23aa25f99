"""How a report adds up, stores and prints a number (shared by every report).

Stored: rounded and JSON-safe (:func:`report_round`); summed exactly (:func:`fsum`), with a
normal interval on totals (:func:`sum_ci`); printed one way only (:func:`fmt`). The figures
and the HTML page both read :func:`currency_symbol` here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from makegood.policy.forecast import Z95

__all__ = ["KINDS", "currency_symbol", "fmt", "report_round", "sum_ci"]

KINDS = ("money", "money_c", "count", "churners", "ratio", "sat", "prob", "yesno", "text")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


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


def sum_ci(terms: np.ndarray, n_total: float, nd: int = 2) -> dict:
    """Total over ``n_total`` units of per-unit ``terms``, with a normal 95% interval.

    ``value = n_total * mean(terms)``, ``half = Z95 * n_total * sd(terms) / sqrt(n)``.

    >>> sum_ci(np.array([1.0, 2.0, 3.0]), 3)
    {'value': 6.0, 'lo': 2.61, 'hi': 9.39}
    """
    t = np.asarray(terms, dtype=float)
    m = float(t.mean()) if len(t) else math.nan
    half = Z95 * float(t.std(ddof=1)) / math.sqrt(len(t)) if len(t) > 1 else math.nan
    return {
        "value": report_round(m * n_total, nd),
        "lo": report_round((m - half) * n_total, nd),
        "hi": report_round((m + half) * n_total, nd),
    }


def currency_symbol(currency: str) -> str:
    """The prefix money is printed with: ``$`` for USD, else the code and a space."""
    return _SYMBOLS.get(currency, currency + " ")


def fmt(value: Any, kind: str, currency: str = "USD") -> str:
    """The one way a report number is printed.

    ``money`` whole units with thousands separators, ``money_c`` with cents, ``count``
    an integer, ``churners`` expected customers (whole customers), ``ratio`` per-dollar figures
    (2 decimals), ``sat`` satisfaction (2 decimals), ``prob`` a probability as a percentage
    (1 decimal), ``yesno`` a flag, ``text`` as is; None prints "n/a".

    >>> fmt(12345.678, "money"), fmt(-3.5, "money_c"), fmt(1.81437, "ratio"), fmt(0.1234, "prob")
    ('$12,346', '-$3.50', '1.81', '12.3%')
    """
    if value is None:
        return "n/a"
    if kind == "text":
        return str(value)
    if kind == "yesno":
        return "yes" if value else "no"
    x = float(value)
    if kind in ("money", "money_c"):
        sym = currency_symbol(currency)
        body = f"{abs(x):,.0f}" if kind == "money" else f"{abs(x):,.2f}"
        sign = "-" if x < 0 and body.strip("0.,") else ""
        return f"{sign}{sym}{body}"
    if kind == "count":
        return f"{int(round(x)):,}"
    if kind == "churners":  # customers are people: whole numbers
        return f"{int(round(x)):,}"
    if kind in ("ratio", "sat"):
        return f"{x:,.2f}"
    if kind == "prob":
        return f"{100 * x:.1f}%"
    raise ValueError(f"kind must be one of {KINDS}. Got {kind!r} instead.")
