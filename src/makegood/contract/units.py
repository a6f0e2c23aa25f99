"""Money and time as the contract means them, in one place.

Money is exact where it is stored or moves budget (integer cents, :class:`~decimal.Decimal`
units) and rounded only where a person reads it (:func:`money_text`). Times are naive UTC,
as :mod:`makegood.contract.files` normalizes ``opened_at``. The two numeric helpers every
layer shares live here too: an exact sum (:func:`fsum`) and the logistic function
(:func:`sigmoid`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

__all__ = [
    "CURRENCY_SYMBOLS",
    "from_cents",
    "fsum",
    "money_text",
    "naive_utc",
    "round_cents",
    "round_up_cents",
    "sigmoid",
    "to_cents",
    "utc_now",
]

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_CENT = Decimal("0.01")


def from_cents(cents: int | float | None) -> Decimal:
    """Integer cents -> currency units, exact (None counts as 0).

    >>> from_cents(5269)
    Decimal('52.69')
    """
    return Decimal(int(cents or 0)).scaleb(-2)


def to_cents(amount: float | Decimal) -> Decimal:
    """An amount rounded half-up to the cent, as a Decimal in currency units.

    >>> to_cents(52.685)
    Decimal('52.69')
    """
    return Decimal(str(float(amount))).quantize(_CENT, rounding=ROUND_HALF_UP)


def round_cents(amount: float) -> float:
    """A float rounded to the cent, never ``-0.0`` (for JSON figures).

    >>> round_cents(-0.001)
    0.0
    """
    return round(float(amount), 2) + 0.0


def round_up_cents(amount: float) -> float:
    """The least whole-cent amount >= ``amount`` (float noise below a millionth of a cent
    ignored): a budget that must cover ``amount``.

    >>> round_up_cents(76153.381), round_up_cents(0.1 + 0.2), round_up_cents(-0.001)
    (76153.39, 0.3, 0.0)
    """
    return math.ceil(round(float(amount) * 100, 6)) / 100 + 0.0


def money_text(
    amount: float,
    currency: str,
    *,
    whole_from: float | None = None,
    zero_cents: bool = False,
) -> str:
    """``amount`` as a person reads it: the currency's symbol where it has one (else the
    code after the figure), thousands separated, cents dropped when ``abs(amount) >=
    whole_from`` and, unless ``zero_cents``, when they are zero. The sign is kept.

    >>> money_text(1234.5, "USD")
    '$1,234.50'
    >>> money_text(100, "usd")
    '$100'
    >>> money_text(8586.4, "USD", whole_from=100)
    '$8,586'
    >>> money_text(-12.5, "CHF")
    '-12.50 CHF'
    >>> money_text(25, "USD", whole_from=100, zero_cents=True)
    '$25.00'
    """
    sign = "-" if amount < 0 else ""
    value = abs(float(amount))
    if whole_from is not None and value >= whole_from:
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.2f}"
        text = text if zero_cents else text.removesuffix(".00")
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without a time zone (a naive time is taken as UTC already)."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def utc_now() -> datetime:
    """Now, naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def fsum(x: Any) -> float:
    """The exact (correctly rounded) sum of every value of an array of any shape.

    >>> fsum([0.1] * 10)
    1.0
    """
    return math.fsum(np.asarray(x, dtype=float).ravel().tolist())


def sigmoid(z: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-z))``, elementwise (a float for a float).

    >>> float(sigmoid(0.0))
    0.5
    """
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
