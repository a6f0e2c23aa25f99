"""Ground truth for the simulator's *history* rows (tests and benchmarks only).

:func:`makegood.sim.world.simulate` exposes the latent truth of the new complaints
(``World.truth``) but, for history rows, only the motive, true emotion, true propensity
and the expected satisfaction of the logged resolution (``World.history_truth``). The
structural equations also need the customer's latent satisfaction and churn shifts and
true digital skill, so evaluating a *new* policy on logged complaints (e.g. checking an
off-policy estimate against the truth) needs the full latent frame.

:func:`simulate_with_latent` runs :func:`~makegood.sim.world.simulate` unchanged and
records the latent frame it builds for the history (the frame handed to the historical
agents' choice model), so no equation or random draw is duplicated here. Callers should
check :func:`latent_matches` (it compares with ``history_truth``) to catch drift.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.sim import world as sim

__all__ = [
    "latent_matches",
    "policy_true_value",
    "simulate_with_latent",
    "true_outcomes",
]

_LOCK = threading.Lock()


def simulate_with_latent(n: int, **kwargs) -> tuple[sim.World, pd.DataFrame]:
    """``simulate(n, **kwargs)`` plus the latent frame of its history rows.

    The latent frame has one row per ``world.history`` row, in the same order, with the
    columns the structural equations read (motive, emotion_true, digital_skill_true,
    sat_shift, churn_shift, ...). Thread-safe (serialised), not re-entrant.
    """
    captured: list[pd.DataFrame] = []
    original = sim._logging_policy

    def spy(df: pd.DataFrame, catalog: Catalog) -> np.ndarray:
        if not captured:  # the first call is the history's (new complaints have none)
            captured.append(df.copy())
        return original(df, catalog)

    with _LOCK:
        sim._logging_policy = spy
        try:
            world = sim.simulate(n, **kwargs)
        finally:
            sim._logging_policy = original
    if not captured:
        raise RuntimeError("simulate() no longer calls _logging_policy on the history")
    lat = captured[0].set_index("complaint_id", drop=False)
    lat = lat.loc[world.history["complaint_id"].to_numpy()].reset_index(drop=True)
    return world, lat


def true_outcomes(lat: pd.DataFrame, catalog: Catalog) -> dict[str, np.ndarray]:
    """Expected satisfaction, churn probability and net value of every row x resolution.

    Returns (n, K) arrays ``satisfaction``, ``churn_prob``, ``net_value`` (LTV (1 - churn)
    - compensation - handling cost, compensation rounded to cents as the history records
    it) and the ``eligible`` mask.
    """
    sat = sim.expected_satisfaction(lat, catalog)
    churn = sim.expected_churn(lat, catalog, sat)
    comp = np.round(catalog.compensation_matrix(lat["disputed_amount"].to_numpy(float)), 2)
    ltv = lat["lifetime_value"].to_numpy(float)
    nv = ltv[:, None] * (1 - churn) - comp - catalog.handling_costs[None, :]
    elig = catalog.eligibility_matrix(lat["issue_type"].to_numpy(), lat["severity"].to_numpy())
    return {"satisfaction": sat, "churn_prob": churn, "net_value": nv, "eligible": elig}


def policy_true_value(lat: pd.DataFrame, catalog: Catalog, choice: np.ndarray) -> float:
    """True expected net value per complaint of giving ``choice`` (catalog indices) to ``lat``."""
    nv = true_outcomes(lat, catalog)["net_value"]
    return float(nv[np.arange(len(lat)), np.asarray(choice)].mean())


def latent_matches(world: sim.World, lat: pd.DataFrame) -> bool:
    """Whether ``lat`` reproduces ``world.history_truth`` (ids, motive, emotion, E[S])."""
    ht = world.history_truth
    if (
        len(ht) != len(lat)
        or not (ht["complaint_id"].to_numpy() == lat["complaint_id"].to_numpy()).all()
    ):
        return False
    if not (ht["motive"].to_numpy() == lat["motive"].to_numpy()).all():
        return False
    A = np.array([world.catalog.index(r) for r in world.history["resolution"]])
    s = sim.expected_satisfaction(lat, world.catalog)[np.arange(len(lat)), A]
    return bool(np.allclose(s, ht["expected_satisfaction"].to_numpy(float), atol=1e-9))
