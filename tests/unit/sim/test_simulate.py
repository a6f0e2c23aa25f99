"""The simulator: contract form, determinism, truth, and the confounding it promises."""

from __future__ import annotations

import numpy as np

from makegood.contract.files import validate_complaints, validate_history
from makegood.sim.world import default_catalog, oracle_unconstrained_spend, simulate


def test_frames_pass_the_contract_and_seed_is_deterministic():
    w1 = simulate(600, n_new=100, seed=3)
    w2 = simulate(600, n_new=100, seed=3)
    h = validate_history(w1.history, source="sim", catalog=w1.catalog)
    c = validate_complaints(w1.complaints, source="sim")
    assert len(h) == 600 and len(c) == 100
    assert w1.history.equals(w2.history)
    assert h["opened_at"].max() < c["opened_at"].min()


def test_truth_covers_every_eligible_candidate_and_is_consistent():
    w = simulate(500, n_new=200, seed=1)
    cat = w.catalog
    elig = cat.eligibility_matrix(
        w.complaints["issue_type"].to_numpy(), w.complaints["severity"].to_numpy()
    )
    assert len(w.truth) == elig.sum()
    t = w.truth
    assert t["true_churn_prob"].between(0, 1).all()
    assert t["true_satisfaction"].between(0, 10).all()
    nv = t["lifetime_value"] * (1 - t["true_churn_prob"]) - t["compensation"] - t["handling_cost"]
    assert np.allclose(nv, t["true_net_value"])
    assert oracle_unconstrained_spend(w) > 0


def test_history_is_confounded_retention_offers_look_harmful_but_help():
    w = simulate(20000, n_new=4000, seed=0)
    h = w.history
    observed = h.groupby("resolution")["churned_90d"].mean()
    # naive reading: retention offers go with more churn than apologies ...
    assert observed["retention_offer"] > observed["apology"] - 0.01
    # ... yet in truth they lower churn on average
    t = w.truth.groupby("resolution")["true_churn_prob"].mean()
    assert t["retention_offer"] < t["apology"] - 0.02


def test_surveys_missing_more_for_some_customers():
    w = simulate(8000, n_new=10, seed=2)
    h = w.history
    answered = h["satisfaction"].notna()
    by_skill = answered.groupby(h["digital_skill"]).mean()
    assert by_skill["low"] < by_skill["high"] - 0.1


def test_repeat_customers_exist():
    w = simulate(5000, n_new=10, seed=4)
    counts = w.history["customer_id"].value_counts()
    assert (counts > 1).mean() > 0.3


def test_default_catalog_baseline():
    cat = default_catalog()
    assert cat.baseline == "apology" and len(cat.ids) == 8
