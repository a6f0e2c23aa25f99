"""Does the DR estimate's 95% interval cover the policy's TRUE value, as often as it claims?

On ``N_SEEDS`` independent simulated worlds: train makegood on the earlier 70% of the
history (fast settings), then on the later 30% (logged complaints it never saw) estimate
the value of its policy (at the budget the agents spent there, as ``makegood evaluate
--history`` does) by ``off_policy_table``, and compare with the true value of that same
policy on those rows from the simulator's structural equations (``makegood.sim.truth``).

The claim is statistical, so the test is too. If the interval has its nominal 95%
coverage, the number of covering seeds is Binomial(N_SEEDS, 0.95): 19 expected out of 20.
The test fails when fewer than ``MIN_COVERS`` seeds cover: the largest bound that a
calibrated interval falls below with probability <= ``FALSE_FAILURE`` (0.5%). With 20
seeds that is 16, and a calibrated interval fails the test with probability
P(X <= 15) = 0.26%. (One whose real coverage
is 80% fails it with probability 0.37; 20 seeds cannot resolve finer than that.)
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

N_SEEDS = 20
NOMINAL = 0.95
FALSE_FAILURE = 0.005  # accepted probability that a calibrated interval fails the test
# smallest k with P(X <= k) > FALSE_FAILURE: failing means X <= k - 1, probability <= it
MIN_COVERS = int(binom.ppf(FALSE_FAILURE, N_SEEDS, NOMINAL))
N_ROWS = 3000
FAST = {"n_estimators": 80, "n_folds": 2, "propensity_estimators": 40, "num_threads": 1}


def ope_check(seed: int, *, log_propensity: bool = True, n: int = N_ROWS) -> dict:
    """One seed: the DR estimate, its interval and the true value (per complaint)."""
    from makegood.api import train
    from makegood.contract.files import validate_history
    from makegood.modeling.evaluation_runner import off_policy_table
    from makegood.modeling.predict import score
    from makegood.policy.budget import allocate
    from makegood.sim.truth import latent_matches, policy_true_value, simulate_with_latent

    world, lat = simulate_with_latent(n, n_new=10, seed=seed, log_propensity=log_propensity)
    assert latent_matches(world, lat)
    cat = world.catalog
    hist = validate_history(world.history, catalog=cat)
    cutoff = hist["opened_at"].quantile(0.7)
    tr = (hist["opened_at"] <= cutoff).to_numpy()
    model = train(hist[tr].reset_index(drop=True), cat, holdout_fraction=0, **FAST)
    hold = hist[~tr].reset_index(drop=True)
    lat_h = lat[~tr].reset_index(drop=True)
    est = off_policy_table(model.bundle, hold, cat).ope
    # the same policy off_policy_table evaluated: the budget the agents spent on these rows
    s = score(model.bundle, hold)
    choice = allocate(
        s.net_value, s.compensation, s.eligible, float(hold["compensation"].sum())
    ).choice
    true_v = policy_true_value(lat_h, cat, choice)
    dr = est["dr"]
    return {
        "seed": seed,
        "true": true_v,
        "dr": dr["value"],
        "lo": dr["lo"],
        "hi": dr["hi"],
        "covered": bool(dr["lo"] <= true_v <= dr["hi"]),
        "logged": est["logged"]["value"],
    }


@pytest.mark.slow
def test_dr_interval_covers_true_policy_value_at_its_nominal_rate():
    results = [ope_check(s) for s in range(N_SEEDS)]
    k = sum(r["covered"] for r in results)
    table = "\n".join(
        f"seed {r['seed']}: true {r['true']:.2f}  DR {r['dr']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]"
        f"  {'ok' if r['covered'] else 'MISSED'}"
        for r in results
    )
    assert k >= MIN_COVERS, (
        f"DR interval covered the true value in {k}/{N_SEEDS} seeds; with nominal "
        f"{NOMINAL:.0%} coverage {NOMINAL * N_SEEDS:.0f} are expected and fewer than "
        f"{MIN_COVERS} has probability {binom.cdf(MIN_COVERS - 1, N_SEEDS, NOMINAL):.4f}:\n{table}"
    )
    # the estimate is informative, not just wide: the interval is narrower than the value
    widths = np.array([r["hi"] - r["lo"] for r in results])
    assert np.all(widths < np.abs([r["true"] for r in results]))


def test_coverage_bound_is_the_stated_binomial_quantile():
    # a calibrated interval fails with probability <= FALSE_FAILURE; one count more would not
    assert binom.cdf(MIN_COVERS - 1, N_SEEDS, NOMINAL) <= FALSE_FAILURE
    assert binom.cdf(MIN_COVERS, N_SEEDS, NOMINAL) > FALSE_FAILURE
    assert MIN_COVERS == 16  # the figure the module docstring states


if __name__ == "__main__":  # a quick report: python tests/e2e/test_ope_coverage.py [model]
    import sys
    import time

    logp = "model" not in sys.argv[1:]
    t0 = time.perf_counter()
    rs = []
    for s in range(N_SEEDS):
        r = ope_check(s, log_propensity=logp)
        rs.append(r)
        print(r, f"{time.perf_counter() - t0:.0f}s", flush=True)
    k = sum(r["covered"] for r in rs)
    print(f"covered {k}/{N_SEEDS} (logging_propensity={logp}); test bound >= {MIN_COVERS}")
