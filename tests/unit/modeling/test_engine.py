"""Engine pieces: DR correction, jackknife intervals, bundle round trip, catalog override."""

from __future__ import annotations

import numpy as np
import pytest

from makegood.errors import CatalogError, ModelNotFoundError
from makegood.modeling.bundle import load_bundle
from makegood.modeling.evaluate import expected_calibration_error, off_policy_estimates
from makegood.modeling.fitting import dr_correction
from makegood.modeling.predict import recommend, score


def test_dr_correction_recovers_a_planted_bias():
    rng = np.random.default_rng(0)
    n, K = 40000, 2
    A = rng.integers(0, 2, n)
    y = rng.random(n) < np.where(A == 1, 0.2, 0.3)
    mu = np.column_stack([np.full(n, 0.3), np.full(n, 0.3)])  # model misses the effect
    corr, info = dr_correction(mu, y.astype(float), A, np.full(n, 0.5), np.ones((n, K), bool), 0)
    assert corr[0] == 0
    assert corr[1] == pytest.approx(-0.1, abs=0.015)


def test_dr_correction_shrinks_noise_to_zero():
    rng = np.random.default_rng(1)
    n = 200
    A = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3).astype(float)
    mu = np.full((n, 2), 0.3)
    corr, _ = dr_correction(mu, y, A, np.full(n, 0.5), np.ones((n, 2), bool), 0)
    assert abs(corr[1]) < 0.05


def test_off_policy_estimates_unbiased_on_random_logging():
    rng = np.random.default_rng(2)
    n, K = 50000, 3
    A = rng.integers(0, K, n)
    true_means = np.array([1.0, 2.0, 3.0])
    r = true_means[A] + rng.normal(0, 1, n)
    pi = np.full(n, 2)
    q = np.tile(true_means, (n, 1)) + 0.5  # a biased outcome model
    est = off_policy_estimates(r, A, pi, np.full(n, 1 / K), q)
    for name in ("ips", "snips", "dr"):
        se = (est[name].hi - est[name].lo) / (2 * 1.96)
        assert abs(est[name].value - 3.0) < 3.5 * se  # unbiased: within a few standard errors
        assert se < 0.05


def test_calibration_error_zero_for_perfect():
    y = np.array([0, 0, 1, 1])
    assert expected_calibration_error(y, y.astype(float)) == 0.0


def test_bundle_round_trip_scores_identically(trained, small_world):
    from makegood.contract.files import read_complaints

    model = trained["model"]
    complaints = read_complaints(small_world["complaints"]).head(50)
    s1 = score(model.bundle, complaints)
    b2 = load_bundle(trained["models_dir"])
    s2 = score(b2, complaints)
    assert np.allclose(s1.net_value, s2.net_value)
    assert np.all(s2.net_value_lo <= s2.net_value + 1e-9)
    assert np.all(s2.net_value <= s2.net_value_hi + 1e-9)
    assert np.allclose(s2.propensity.sum(axis=1), 1)


def test_money_input_bundle_reads_the_candidates_compensation(trained_money, tmp_path):
    """A bundle whose models read the compensation keeps the flag on disk, scores as the
    fitted engine does, and its churn moves with the amount a candidate pays."""
    import json
    import shutil

    bundle = load_bundle(trained_money["models_dir"])
    eng = bundle.engine
    assert eng.params.money_input and eng.money_feature == len(eng.spec.names) + 1
    assert eng.mediator_feature == eng.money_feature + 1
    frame = trained_money["history"].head(40)
    s = score(bundle, frame)
    again = score(trained_money["model"].bundle, frame)
    np.testing.assert_array_equal(s.churn_prob, again.churn_prob)
    assert s.X is not None
    paid = s.compensation[:, np.argsort(bundle.action_index)]  # in the engine's order
    with pytest.raises(ValueError, match="compensation"):
        eng.predict(s.X)
    more = eng.predict(s.X, compensation=paid + 80.0)["churn_prob"]
    assert not np.allclose(more, eng.predict(s.X, compensation=paid)["churn_prob"])
    # the diagnostics read the same layout: the contributions add up to the folds' churn
    from makegood.notebooks.diagnostics import churn_contributions

    given = frame["resolution"].tolist()
    contrib = churn_contributions(bundle, frame, given)
    assert list(contrib.columns[-4:]) == [
        "resolution_code",
        "compensation",
        "expected_satisfaction",
        "bias",
    ]
    k = [bundle.catalog.index(r) for r in given]
    folds = eng.predict(s.X, compensation=paid, folds=True)["churn_folds"]
    logit = np.log(folds) - np.log1p(-folds)  # (n, K, F) per fold, as the contributions
    expected = logit[np.arange(len(frame)), bundle.action_index[k]].mean(axis=-1)
    np.testing.assert_allclose(contrib.sum(axis=1), expected, atol=1e-6)
    # the same models saved without the flag (as before it existed) would not load as on
    old = tmp_path / "old"
    shutil.copytree(bundle.path, old)
    meta = json.loads((old / "bundle.json").read_text())
    meta["engine_params"].pop("money_input")
    (old / "bundle.json").write_text(json.dumps(meta))
    assert not load_bundle(old).engine.params.money_input


def test_a_bundle_saved_before_the_money_input_scores_as_before(trained, small_world, tmp_path):
    import json
    import shutil

    old = tmp_path / "old"
    shutil.copytree(load_bundle(trained["models_dir"]).path, old)
    meta = json.loads((old / "bundle.json").read_text())
    meta["engine_params"].pop("money_input")
    (old / "bundle.json").write_text(json.dumps(meta))
    frame = trained["history"].head(40)
    then, now = score(load_bundle(old), frame), score(load_bundle(trained["models_dir"]), frame)
    assert not load_bundle(old).engine.params.money_input
    np.testing.assert_array_equal(then.churn_prob, now.churn_prob)


def test_catalog_override_subset_and_unknown(trained, small_world):
    from makegood.contract.catalog import parse_catalog
    from makegood.contract.files import read_complaints

    b = load_bundle(trained["models_dir"])
    d = b.catalog.to_dict()
    d["resolutions"] = [r for r in d["resolutions"] if r["id"] != "credit_75"]
    sub = b.with_catalog(parse_catalog(d))
    complaints = read_complaints(small_world["complaints"]).head(30)
    recs = recommend(sub, complaints, budget=200.0)
    assert "credit_75" not in set(recs.frame["resolution"])
    assert recs.frame["compensation"].sum() <= 200.0
    d["resolutions"].append({"id": "voucher", "label": "Voucher", "handling_cost": 1.0})
    with pytest.raises(CatalogError, match="voucher"):
        b.with_catalog(parse_catalog(d))


def test_conservative_mode_ranks_by_lower_bound(trained, small_world):
    from makegood.contract.files import read_complaints

    b = load_bundle(trained["models_dir"])
    complaints = read_complaints(small_world["complaints"]).head(100)
    r = recommend(b, complaints, budget=1e9, conservative=True)
    s = r.scores
    rows = np.arange(s.n)
    best_lo = np.where(s.eligible, s.net_value_lo, -np.inf).max(axis=1)
    assert np.allclose(s.net_value_lo[rows, r.allocation.choice], best_lo)


def test_missing_bundle_raises(tmp_path):
    with pytest.raises(ModelNotFoundError, match="makegood train"):
        load_bundle(tmp_path)


def test_ranking_lines_equal_json_of_rankings(trained, small_world):
    import json

    from makegood.contract.files import read_complaints
    from makegood.modeling.predict import ranking_lines

    b = load_bundle(trained["models_dir"])
    complaints = read_complaints(small_world["complaints"]).head(200)
    recs = recommend(b, complaints, budget=2000.0)
    assert ranking_lines(recs) == [json.dumps(r) for r in recs.rankings()]


def _small_history(seed: int = 21):
    from makegood.contract.files import validate_complaints, validate_history
    from makegood.sim.world import simulate

    w = simulate(1500, n_new=120, seed=seed)
    return w, validate_history(w.history, catalog=w.catalog), validate_complaints(w.complaints)


FAST = {"n_estimators": 30, "n_folds": 2, "propensity_estimators": 15, "num_threads": 1}


def test_history_without_surveys_trains_and_recommends_without_satisfaction(tmp_path):
    from makegood.api import train

    w, hist, comp = _small_history()
    hist = hist.assign(satisfaction=np.nan)
    model = train(hist, w.catalog, models_dir=tmp_path, **FAST)
    assert not model.bundle.engine.has_satisfaction
    assert model.bundle.engine.params.mediated is False
    recs = load_bundle(tmp_path)
    out = recommend(recs, comp, budget=500.0)
    assert out.frame["expected_satisfaction"].isna().all()
    assert out.frame["churn_probability"].between(0, 1).all()
    assert out.frame["compensation"].sum() <= 500.0


def test_resolution_never_given_is_not_a_candidate(tmp_path):
    from makegood.api import train

    w, hist, comp = _small_history(22)
    hist = hist[hist["resolution"] != "credit_75"].reset_index(drop=True)
    model = train(hist, w.catalog, models_dir=None, **FAST)
    k = w.catalog.index("credit_75")
    assert not model.bundle.engine.supported_actions()[k]
    s = score(model.bundle, comp)
    assert not s.eligible[:, k].any()
    assert s.eligible[:, w.catalog.baseline_index].all()
    recs = recommend(model.bundle, comp, budget=1e6, scores=s)
    assert "credit_75" not in set(recs.frame["resolution"])


def test_the_dr_correction_follows_its_setting_with_or_without_the_pooled_layer(
    trained, trained_no_surveys, small_world
):
    """The doubly robust correction is applied whenever ``dr_correction`` is on, also when
    satisfaction has no pooled layer (no surveys), and never when it is off."""
    from makegood.api import load_catalog, load_history
    from makegood.api import train as api_train

    assert "churn_dr" in trained["model"].bundle.engine.diagnostics
    no_surveys = trained_no_surveys["model"].bundle.engine
    assert not no_surveys.sat_linear and "churn_dr" in no_surveys.diagnostics
    catalog = load_catalog(small_world["catalog"])
    history = load_history(small_world["history"], catalog=catalog).head(1500)
    off = api_train(
        history,
        catalog,
        holdout_fraction=0,
        dr_correction=False,
        n_estimators=20,
        n_folds=2,
        propensity_estimators=5,
        num_threads=1,
        select=False,
    ).bundle.engine
    assert off.sat_linear and "churn_dr" not in off.diagnostics
    assert not off.churn_correction.any() and not off.sat_correction.any()
