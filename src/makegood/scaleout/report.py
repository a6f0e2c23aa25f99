"""The finance report's efficient frontier on a Dask cluster, from one scoring pass.

Every partition is scored once (``engine.score_all``); every frontier budget's shadow
price is then found together from the partitions' slope summaries
(``policy.thresholds.allocate_batches`` with all the budgets at once), and each partition
adds up the report's totals of its part of each allocation (the report's own
``reporting.outcomes.CandidateOutcomes.totals``). The rows are built by
``reporting.frontier.frontier_table``, as in the single-process report.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from makegood.contract.catalog import Catalog
from makegood.contract.files import write_frame
from makegood.errors import BudgetError
from makegood.reporting.budget import EXTRA_BUDGET
from makegood.reporting.frontier import (
    N_FRONTIER,
    default_budgets,
    frontier_grid,
    frontier_table,
)
from makegood.scaleout import tasks
from makegood.scaleout.engine import DEFAULT_PARTITION_ROWS, Say, no_progress, score_all, thresholds

__all__ = ["DaskFrontier", "frontier_dask", "write_frontier"]

_MEAN_KEYS = ("mean_satisfaction",)


@dataclass
class DaskFrontier:
    """The frontier rows, the thresholds and the chosen budgets of a Dask report run."""

    frontier: list[dict]
    thresholds: dict
    chosen: list[float]
    budgets: list[float]  # every frontier budget, unrounded (the first is the minimum spend)
    n_complaints: int
    n_partitions: int

    def to_dict(self) -> dict:
        return {
            "n_complaints": self.n_complaints,
            "n_partitions": self.n_partitions,
            "thresholds": self.thresholds,
            "chosen": self.chosen,
            "frontier": self.frontier,
        }


def _combine(parts: list[dict[str, Any]], j: int) -> dict[str, float]:
    """Totals of budget ``j`` over partitions: sums, and means weighted by size."""
    n = sum(p["n"] for p in parts)
    keys = parts[0]["totals"][j].keys()
    out = {}
    for k in keys:
        vals = [p["totals"][j][k] for p in parts]
        if k in _MEAN_KEYS:
            out[k] = math.fsum(v * p["n"] for v, p in zip(vals, parts, strict=True)) / n
        else:
            out[k] = math.fsum(vals)
    return out


def frontier_dask(
    client: Any,
    complaints: str | os.PathLike[str],
    catalog: Catalog,
    bundle_dir: str | os.PathLike[str],
    budgets: list[float] | None = None,
    *,
    work_dir: str | os.PathLike[str],
    n_frontier: int = N_FRONTIER,
    extra_budget: float = EXTRA_BUDGET,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
    say: Say = no_progress,
    show_progress: bool = False,
) -> DaskFrontier:
    """The efficient frontier of ``complaints`` (as ``reporting.frontier.frontier_rows``),
    at ``n_frontier`` budgets from the minimum to the unconstrained spend plus the chosen
    budgets and each chosen budget + ``extra_budget``.

    Raises:
        BudgetError: a chosen budget below the minimum spend.
        ContractError: bad input (file and row).
    """
    tmp = Path(work_dir) / f".frontier.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(parents=True)
    try:
        parts, job, scored = score_all(
            client,
            complaints,
            catalog,
            bundle_dir,
            tmp,
            partition_rows=partition_rows,
            say=say,
            show_progress=show_progress,
        )
        summaries = [r.summary for r in scored]
        min_spend = tasks.fsum_partials([s.base_partials for s in summaries])
        u_spend = tasks.fsum_partials([s.top_partials for s in summaries])
        chosen = sorted(
            {round(float(b), 2) for b in (budgets or default_budgets(min_spend, u_spend))}
        )
        low = [b for b in chosen if b < min_spend - 1e-9]
        if low:
            raise BudgetError(
                f"budget {low[0]:.2f} is below the minimum spend {min_spend:.2f} (every "
                "complaint's cheapest eligible resolution). Choose budgets >= the minimum spend."
            )
        extras = [round(b + extra_budget, 2) for b in chosen]
        grid = frontier_grid(min_spend, u_spend, n_frontier)
        points = sorted({*grid, *chosen, *extras})
        say(f"finding {len(points)} shadow prices from {len(parts)} partitions' slopes")
        found = thresholds(client, job, summaries, points)
        say("adding up each partition's totals at every budget")
        per_part = client.gather(
            [client.submit(tasks.totals_part, j, job, found, pure=False) for j in range(len(parts))]
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for j, (b, t) in enumerate(zip(points, found, strict=True)):
        rows.append((b, _combine(per_part, j), t.shadow_price))
    table = frontier_table(rows, math.fsum(p["base_churners"] for p in per_part))
    chosen_set = {round(b, 2) for b in chosen}
    for row in table:
        row["chosen"] = row["budget"] in chosen_set
    spend_one = tasks.fsum_partials([p["spend_at_one"] for p in per_part])
    return DaskFrontier(
        frontier=table,
        thresholds={
            "min_spend": round(min_spend, 2),
            "shadow_price_below_one_budget": round(spend_one, 2),
            "unconstrained_spend": round(u_spend, 2),
        },
        chosen=chosen,
        budgets=points,
        n_complaints=sum(s.n for s in summaries),
        n_partitions=len(parts),
    )


def write_frontier(result: DaskFrontier, out: str | os.PathLike[str]) -> dict[str, Path]:
    """``budget_frontier.csv`` and ``budget_frontier.json`` in ``out``, each atomically."""
    import pandas as pd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = write_frame(pd.DataFrame(result.frontier), out / "budget_frontier.csv")
    js = out / "budget_frontier.json"
    tmp = out / f".budget_frontier.json.{uuid.uuid4().hex}.tmp"
    try:
        tmp.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        os.replace(tmp, js)
    finally:
        tmp.unlink(missing_ok=True)
    return {"frontier_csv": csv, "frontier_json": js}
