"""Pacing of a period budget: expected complaints and spend per day of the period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from makegood.errors import BudgetError
from makegood.reporting.numbers import report_round as _r

__all__ = ["PeriodPacing"]

_MIN_PACING_SPAN_DAYS = 7  # below this, a batch's own dates say little about daily volume
_PACING_QUANTILES = (0.1, 0.9)


@dataclass
class PeriodPacing:
    """Expected complaints per day of the period, from the data's daily volume by weekday."""

    weekday_mean: np.ndarray  # (7,) complaints per day, Monday first
    data_days: int
    period_start: pd.Timestamp
    period_days: int
    volume_source: str

    @classmethod
    def build(
        cls,
        complaints: pd.DataFrame,
        history: pd.DataFrame | None,
        period_days: int | None,
        period_start: str | datetime | pd.Timestamp | None,
    ) -> PeriodPacing:
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
        if period_days is not None and (int(period_days) != period_days or period_days < 1):
            raise BudgetError(f"period_days must be a whole number >= 1. Got {period_days!r}.")
        start = (
            pd.Timestamp(period_start).normalize()
            if period_start is not None
            else own.min().normalize()
        )
        n_days = int(period_days) if period_days is not None else int(span)
        return cls(wd, len(days), start, n_days, src)

    def expected_per_day(self) -> tuple[pd.DatetimeIndex, np.ndarray]:
        days = pd.date_range(self.period_start, periods=self.period_days, freq="D")
        return days, self.weekday_mean[days.weekday]

    def expected_complaints(self) -> float:
        return float(self.expected_per_day()[1].sum())

    def batch_budget(self, period_budget: float, n_batch: int) -> float:
        """The batch budget with the same budget per complaint as the period's."""
        n_period = self.expected_complaints()
        return period_budget * n_batch / n_period if n_period > 0 else period_budget

    def pacing(self, period_budget: float, spend_per_complaint: float) -> dict:
        from scipy.stats import poisson

        days, mu = self.expected_per_day()
        lo = poisson.ppf(_PACING_QUANTILES[0], mu)
        hi = poisson.ppf(_PACING_QUANTILES[1], mu)
        cum = np.cumsum(mu * spend_per_complaint)
        daily = [
            {
                "date": d.strftime("%Y-%m-%d"),
                "weekday": d.strftime("%a"),
                "expected_complaints": _r(m, 2),
                "expected_spend": _r(m * spend_per_complaint),
                "spend_lo": _r(l_ * spend_per_complaint),
                "spend_hi": _r(h * spend_per_complaint),
                "cumulative_spend": _r(c),
                "budget_line": _r(period_budget * (j + 1) / len(days)),
            }
            for j, (d, m, l_, h, c) in enumerate(zip(days, mu, lo, hi, cum, strict=True))
        ]
        n_exp = float(mu.sum())
        return {
            "period_budget": _r(period_budget),
            "period_start": self.period_start.strftime("%Y-%m-%d"),
            "period_days": self.period_days,
            "expected_complaints": _r(n_exp, 1),
            "spend_per_complaint": _r(spend_per_complaint, 4),
            "expected_spend_per_day": _r(n_exp * spend_per_complaint / max(len(days), 1)),
            "expected_total_spend": _r(n_exp * spend_per_complaint),
            "volume_source": self.volume_source,
            "daily": daily,
        }
