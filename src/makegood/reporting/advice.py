"""How the served advice fared in a period: the decisions agents overrode (and what that
cost), and the outcomes recorded so far against the predictions served (live calibration).

Both read the ranking stored with each decision (one dict per candidate resolution, as
served), so they need no model: :func:`overrides` takes the overridden decisions' rows,
:func:`calibration` the rows of decisions with an outcome (see
:func:`makegood.reporting.period.period_report` for the queries).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from makegood.contract.units import from_cents
from makegood.policy.forecast import Z95
from makegood.reporting.numbers import report_round as _r

__all__ = ["calibration", "overrides"]

_N_CALIBRATION_BINS = 5
_MAX_REASONS = 10


def _ranked(ranking: Any) -> dict[str, dict]:
    return {row["resolution"]: row for row in ranking or [] if isinstance(row, dict)}


def overrides(rows: Sequence[Any]) -> dict:
    """What the decisions agents overrode (gave another resolution than recommended) cost:
    the compensation they gave beyond what was
    recommended, and the net value the model expected to lose (recommended minus given,
    from the ranking served with the decision)."""
    n_priced, extra_cents, forgone = 0, 0, 0.0
    by_reason: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for row in rows:
        extra = (row.final_compensation_cents or 0) - row.compensation_cents
        ranked = _ranked(row.ranking)
        rec, given = ranked.get(row.recommended_resolution), ranked.get(row.final_resolution)
        loss = 0.0
        if rec is not None and given is not None:
            loss = float(rec["net_value"]) - float(given["net_value"])
            n_priced += 1
        extra_cents += extra
        forgone += loss
        for bucket in (
            by_reason[(row.override_reason or "").strip()[:200] or "(no reason)"],
            by_pair[(row.recommended_resolution, row.final_resolution)],
        ):
            bucket[0] += 1
            bucket[1] += extra
            bucket[2] += loss

    def table(d: dict, keys: tuple[str, ...]) -> list[dict]:
        items = sorted(d.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [
            {
                **dict(zip(keys, k if isinstance(k, tuple) else (k,), strict=True)),
                "n": int(v[0]),
                "extra_compensation": float(from_cents(v[1])),
                "net_value_forgone": _r(v[2]),
            }
            for k, v in items
        ]

    reasons = table(by_reason, ("reason",))
    return {
        "n": len(rows),
        "n_priced": n_priced,
        "extra_compensation": float(from_cents(extra_cents)),
        "net_value_forgone": _r(forgone),
        "by_reason": reasons[:_MAX_REASONS],
        "n_other_reasons": max(len(reasons) - _MAX_REASONS, 0),
        "by_resolution": table(by_pair, ("recommended", "given")),
    }


def _wilson(k: int, n: int) -> tuple[float | None, float | None]:
    """Wilson 95% interval of a proportion ``k / n``.

    >>> [round(x, 3) for x in _wilson(5, 10)]
    [0.237, 0.763]
    """
    if n == 0:
        return None, None
    p, z2 = k / n, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def calibration(rows: Sequence[Any]) -> dict:
    """Predicted (for the resolution given, as served) against observed churn and
    satisfaction, over the decisions with an outcome recorded."""
    p_churn, y_churn, p_sat, y_sat = [], [], [], []
    for row in rows:
        given = _ranked(row.ranking).get(row.final_resolution)
        if given is None:  # a resolution the model did not rank (not eligible)
            continue
        if row.churned_90d is not None:
            p_churn.append(float(given["churn_probability"]))
            y_churn.append(float(bool(row.churned_90d)))
        if row.satisfaction is not None:
            p_sat.append(float(given["expected_satisfaction"]))
            y_sat.append(float(row.satisfaction))
    pc, yc = np.array(p_churn), np.array(y_churn)
    ps, ys = np.array(p_sat), np.array(y_sat)
    lo, hi = _wilson(int(yc.sum()), len(yc))
    sat_half = Z95 * float(ys.std(ddof=1)) / math.sqrt(len(ys)) if len(ys) > 1 else math.nan
    bins = []
    if len(pc):
        edges = np.unique(np.quantile(pc, np.linspace(0, 1, _N_CALIBRATION_BINS + 1)))
        which = np.clip(np.searchsorted(edges, pc, side="right") - 1, 0, max(len(edges) - 2, 0))
        for b in range(max(len(edges) - 1, 1)):
            m = which == b
            if m.any():
                blo, bhi = _wilson(int(yc[m].sum()), int(m.sum()))
                bins.append(
                    {
                        "n": int(m.sum()),
                        "predicted": _r(float(pc[m].mean()), 4),
                        "observed": _r(float(yc[m].mean()), 4),
                        "observed_lo": _r(blo, 4),
                        "observed_hi": _r(bhi, 4),
                    }
                )
    return {
        "n_outcomes": len(rows),
        "n_churn": len(yc),
        "predicted_churn": _r(float(pc.mean()), 4) if len(pc) else None,
        "observed_churn": _r(float(yc.mean()), 4) if len(yc) else None,
        "observed_churn_lo": _r(lo, 4),
        "observed_churn_hi": _r(hi, 4),
        "n_satisfaction": len(ys),
        "predicted_satisfaction": _r(float(ps.mean()), 3) if len(ps) else None,
        "observed_satisfaction": _r(float(ys.mean()), 3) if len(ys) else None,
        "observed_satisfaction_lo": _r(float(ys.mean()) - sat_half, 3) if len(ys) > 1 else None,
        "observed_satisfaction_hi": _r(float(ys.mean()) + sat_half, 3) if len(ys) > 1 else None,
        "bins": bins,
    }
