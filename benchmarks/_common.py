"""Shared helpers for the benchmarks: simulated world -> normalized frames, truth, budgets.

Truth matrices reuse ``makegood.modeling.evaluation_runner.load_truth`` (the code behind
``makegood evaluate --truth``), so a benchmark scores capture exactly as the CLI does.
"""

from __future__ import annotations

import io
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from makegood.contract.catalog import Catalog
from makegood.contract.files import validate_complaints, validate_history
from makegood.modeling.evaluate import CaptureResult, capture
from makegood.modeling.evaluation_runner import TruthMatrices, load_truth
from makegood.sim.world import World, oracle_unconstrained_spend, simulate


@dataclass
class Bench:
    """One simulated world ready for benchmarking."""

    world: World
    history: pd.DataFrame  # normalized (contract.validate_history)
    complaints: pd.DataFrame  # normalized new complaints
    truth: TruthMatrices
    compensation: np.ndarray  # (n_new, K)
    oracle_spend: float  # the oracle's unconstrained spend on the new complaints

    @property
    def catalog(self) -> Catalog:
        return self.world.catalog

    def budgets(self, fractions) -> dict[float, float]:
        """Budgets as shares of the oracle's unconstrained spend."""
        return {float(f): float(f) * self.oracle_spend for f in fractions}

    def capture(self, choice: np.ndarray, budget: float) -> CaptureResult:
        """Capture of ``choice`` against the oracle at ``budget`` (evaluate.capture)."""
        return capture(
            choice,
            self.truth.net_value,
            self.truth.satisfaction,
            self.compensation,
            self.truth.eligible,
            self.catalog.baseline_index,
            budget,
        )


def truth_matrices(world: World, complaints: pd.DataFrame) -> TruthMatrices:
    """The world's long-form truth as (n, K) matrices, through ``load_truth``."""
    buf = io.StringIO()
    world.truth.to_csv(buf, index=False)
    buf.seek(0)
    return load_truth(buf, complaints, world.catalog)


def make_bench(n: int, seed: int, **kwargs) -> Bench:
    """Simulate ``n`` history rows (new complaints: n // 5) and prepare everything."""
    world = simulate(n, seed=seed, **kwargs)
    history = validate_history(world.history, catalog=world.catalog)
    complaints = validate_complaints(world.complaints)
    truth = truth_matrices(world, complaints)
    comp = world.catalog.compensation_matrix(complaints["disputed_amount"].to_numpy(float))
    return Bench(world, history, complaints, truth, comp, oracle_unconstrained_spend(world))


def training_features(history: pd.DataFrame, catalog: Catalog, bundle) -> dict[str, np.ndarray]:
    """makegood's own training matrix for ``history`` (the rows ``bundle`` was fitted on).

    Rebuilt the way ``modeling.train`` / ``engine.fit_engine`` build it: rows sorted by
    opened_at, emotion filled from text, customer memory as of each complaint, text
    signals cross-fitted by customer (same folds and seed), assembled with the bundle's
    feature spec. Returns ``X``, ``action`` (catalog codes), ``churn``, ``customer``,
    ``eligible`` ((n, K) bool) and ``categorical`` (the column indices of ``X`` that hold
    category codes).
    """
    from makegood.features import memory as memory_mod
    from makegood.features.pipeline import assemble, prepare
    from makegood.features.text.signals import TextSignals
    from makegood.modeling.engine import text_targets

    params = bundle.engine.params
    df = history.sort_values("opened_at", kind="stable").reset_index(drop=True)
    prep = prepare(df)
    mem = memory_mod.customer_memory(prep) if params.use_memory else None
    scores, names = None, []
    if params.use_text:
        signals = TextSignals(random_state=params.random_state, n_splits=params.n_folds)
        scores = signals.fit_transform_oof(
            prep["complaint_text"].tolist(),
            text_targets(prep, catalog),
            groups=prep["customer_id"].to_numpy(),
        )
        names = list(signals.feature_names_)
    X = assemble(prep, mem, scores, names, bundle.engine.spec).X
    return {
        "X": X,
        "action": np.array([catalog.index(r) for r in prep["resolution"]]),
        "churn": prep["churned_90d"].to_numpy(float),
        "customer": prep["customer_id"].to_numpy(),
        "eligible": catalog.eligibility_matrix(
            prep["issue_type"].to_numpy(), prep["severity"].to_numpy()
        ),
        "categorical": np.asarray(bundle.engine.spec.categorical_indices, dtype=int),
    }


def customer_folds(customers: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold id per row with whole customers per fold."""
    uniq, inv = np.unique(customers, return_inverse=True)
    perm = np.random.default_rng(seed).permutation(len(uniq))
    return (perm % n_folds)[inv]


@contextmanager
def timed(into: dict, key: str, cpu_key: str | None = None):
    """Add the wall time of the block (seconds) to ``into[key]``.

    With ``cpu_key``, also the process's CPU seconds to ``into[cpu_key]``: on a shared
    machine they stay near what the block costs alone, where the wall time does not.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        into[key] = into.get(key, 0.0) + time.perf_counter() - t0
        if cpu_key is not None:
            into[cpu_key] = into.get(cpu_key, 0.0) + time.process_time() - c0
