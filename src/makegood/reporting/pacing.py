"""The budget period of the finance report: its length, how the complaint set converts to
one period, and the pacing of a period's budget day by day.

A budget is read as an amount per period (a month by default). The complaint set covers
``data_days`` days; at the set's daily volume (or the history's, when the set spans under
a week) one period holds ``complaints_per_period`` complaints, and the set stands for
``periods_in_data`` periods. Every total of the report is the set's total times
``scale = complaints_per_period / n`` (:meth:`PeriodPacing.scale`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from makegood.errors import BudgetError
from makegood.reporting.numbers import report_round as _r

__all__ = ["PERIOD_NAMES", "BudgetPeriod", "PeriodPacing"]

_MIN_PACING_SPAN_DAYS = 7  # below this, a batch's own dates say little about daily volume
_PACING_QUANTILES = (0.1, 0.9)
_DAYS_PER_YEAR = 365.25
PERIOD_NAMES = ("month", "quarter", "year", "days:N")
_FIXED = {"month": _DAYS_PER_YEAR / 12, "quarter": _DAYS_PER_YEAR / 4, "year": _DAYS_PER_YEAR}
_DAYS = re.compile(r"^days:(\d{1,4})$")
_MAX_DAYS = 3660


@dataclass(frozen=True)
class BudgetPeriod:
    """The period a budget is for: ``month`` (365.25 / 12 days), ``quarter``, ``year`` or
    ``days:N``.

    >>> BudgetPeriod.parse("quarter").days, BudgetPeriod.parse("days:7").noun
    (91.3125, '7 days')
    """

    name: str
    days: float

    @classmethod
    def parse(cls, text: str | BudgetPeriod) -> BudgetPeriod:
        """Raises BudgetError naming ``period`` and the forms it takes."""
        if isinstance(text, BudgetPeriod):
            return text
        key = str(text).strip().lower()
        if key in _FIXED:
            return cls(key, _FIXED[key])
        m = _DAYS.match(key)
        if m and 1 <= int(m.group(1)) <= _MAX_DAYS:
            return cls(key, float(m.group(1)))
        raise BudgetError(
            f"period must be month, quarter, year or days:N (N a whole number of days, "
            f"1..{_MAX_DAYS}). Got {text!r} instead."
        )

    @property
    def noun(self) -> str:
        """``month``, ``quarter``, ``year`` or ``N days``."""
        return f"{int(self.days)} days" if self.name.startswith("days:") else self.name

    @property
    def per(self) -> str:
        """How an amount per period is said: ``a month``, ``per 7 days``."""
        return f"per {self.noun}" if self.name.startswith("days:") else f"a {self.noun}"

    @property
    def per_word(self) -> str:
        """``per month``, ``per 7 days``."""
        return f"per {self.noun}"

    @property
    def pacing_days(self) -> int:
        """Whole days of the period, for its day-by-day plan."""
        return max(1, round(self.days))


@dataclass
class PeriodPacing:
    """Complaint volume by weekday, the budget period, and how the set converts to it."""

    weekday_mean: np.ndarray  # (7,) complaints per day, Monday first
    data_days: int
    period_start: pd.Timestamp
    period_days: int
    volume_source: str
    per_day: float = 0.0  # mean complaints per day over the volume source's span
    period: BudgetPeriod | None = None
    data_from: str = ""
    data_to: str = ""

    @classmethod
    def build(
        cls,
        complaints: pd.DataFrame,
        history: pd.DataFrame | None,
        period: str | BudgetPeriod = "month",
        period_start: str | datetime | pd.Timestamp | None = None,
    ) -> PeriodPacing:
        """Volume from the complaint set (the history when the set spans under a week).

        The period starts at ``period_start``, else the day after a replayed history ends,
        else a batch's first day.

        Raises:
            BudgetError: an unknown period.
        """
        p = BudgetPeriod.parse(period)
        own = pd.to_datetime(complaints["opened_at"])
        src, when = "the complaint set", own
        span = (own.max().normalize() - own.min().normalize()).days + 1
        if span < _MIN_PACING_SPAN_DAYS and history is not None:
            src, when = "the history", pd.to_datetime(history["opened_at"])
        days = pd.date_range(when.min().normalize(), when.max().normalize(), freq="D")
        counts = when.dt.normalize().value_counts().reindex(days, fill_value=0)
        wd = np.zeros(7)
        for d in range(7):
            on = counts[counts.index.weekday == d]
            # a weekday missing from a short span gets the overall daily mean
            wd[d] = on.mean() if len(on) else counts.mean()
        if period_start is not None:
            start = pd.Timestamp(period_start).normalize()
        elif history is None and "churned_90d" in complaints.columns:
            start = own.max().normalize() + pd.Timedelta(days=1)
        else:
            start = own.min().normalize()
        return cls(
            weekday_mean=wd,
            data_days=int(span),
            period_start=start,
            period_days=p.pacing_days,
            volume_source=src,
            per_day=float(counts.mean()),
            period=p,
            data_from=own.min().strftime("%Y-%m-%d"),
            data_to=own.max().strftime("%Y-%m-%d"),
        )

    def complaints_per_period(self) -> float:
        """Complaints in one period at the volume source's mean daily volume."""
        days = self.period.days if self.period is not None else float(self.period_days)
        return self.per_day * days

    def scale(self, n: int) -> float:
        """What the set's totals are multiplied by to give one period's: complaints per
        period over the ``n`` complaints of the set."""
        per = self.complaints_per_period()
        return per / n if n and per > 0 else 1.0

    def summary(self, n: int) -> dict:
        """The period as page one says it: the set's span and what one period holds."""
        p = self.period or BudgetPeriod(f"days:{self.period_days}", float(self.period_days))
        per = self.complaints_per_period()
        return {
            "name": p.name,
            "noun": p.noun,
            "per": p.per,
            "per_word": p.per_word,
            "days": _r(p.days, 4),
            "data_from": self.data_from,
            "data_to": self.data_to,
            "data_days": self.data_days,
            "n_complaints": n,
            "volume_source": self.volume_source,
            "complaints_per_day": _r(self.per_day, 2),
            "complaints_per_period": _r(per, 1),
            "periods_in_data": _r(n / per if per > 0 else None, 2),
            "scale": _r(self.scale(n), 8),
        }

    def expected_per_day(self) -> tuple[pd.DatetimeIndex, np.ndarray]:
        days = pd.date_range(self.period_start, periods=self.period_days, freq="D")
        return days, self.weekday_mean[days.weekday]

    def pacing(self, period_budget: float, period_spend: float) -> dict:
        """The period's expected complaints and ``period_spend`` spread over its days by
        weekday, with a Poisson 10%-90% band on each day's count."""
        from scipy.stats import poisson

        days, pattern = self.expected_per_day()
        n_exp = self.complaints_per_period()
        mu = pattern * (n_exp / pattern.sum()) if pattern.sum() > 0 else pattern
        per_complaint = period_spend / n_exp if n_exp > 0 else 0.0
        lo = poisson.ppf(_PACING_QUANTILES[0], mu)
        hi = poisson.ppf(_PACING_QUANTILES[1], mu)
        cum = np.cumsum(mu * per_complaint)
        daily = [
            {
                "date": d.strftime("%Y-%m-%d"),
                "weekday": d.strftime("%a"),
                "expected_complaints": _r(m, 2),
                "expected_spend": _r(m * per_complaint),
                "spend_lo": _r(l_ * per_complaint),
                "spend_hi": _r(h * per_complaint),
                "cumulative_spend": _r(c),
                "budget_line": _r(period_budget * (j + 1) / len(days)),
            }
            for j, (d, m, l_, h, c) in enumerate(zip(days, mu, lo, hi, cum, strict=True))
        ]
        return {
            "period_budget": _r(period_budget),
            "period_start": self.period_start.strftime("%Y-%m-%d"),
            "period_days": self.period_days,
            "expected_complaints": _r(n_exp, 1),
            "spend_per_complaint": _r(per_complaint, 4),
            "expected_spend_per_day": _r(period_spend / max(len(days), 1)),
            "expected_total_spend": _r(period_spend),
            "volume_source": self.volume_source,
            "daily": daily,
        }
