"""fit_engine's stages, one rule each: the design keeps customers whole, satisfaction is
modelled only with enough surveys, propensities are renormalised over the eligible
resolutions, and the doubly robust correction runs iff ``dr_correction`` is on."""

from __future__ import annotations

import doctest
from dataclasses import replace

import numpy as np
import pytest

from makegood.modeling import engine as engine_module
from makegood.modeling import fitting as fitting_module
from makegood.modeling.design import Design, build_design
from makegood.modeling.engine import EngineParams
from makegood.modeling.fitting import (
    MIN_SURVEYS,
    dr_corrections,
    fit_pooled_layers,
    fit_satisfaction,
    normalised_propensity,
    survey_response,
)


def _design(n: int = 400, k: int = 3, n_answered: int | None = None, seed: int = 0) -> Design:
    """A synthetic design: the resolution given at random, churn and satisfaction noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    action = rng.integers(0, k, n)
    y_sat = rng.uniform(0, 10, n)
    if n_answered is not None:
        y_sat[n_answered:] = np.nan
    return Design(
        X=X,
        spec=None,  # type: ignore[arg-type]  # the stages under test do not read the spec
        action=action,
        y_churn=(rng.random(n) < 0.3).astype(float),
        y_sat=y_sat,
        eligible=np.ones((n, k), dtype=bool),
        fold=np.arange(n) % 2,
        n_folds=2,
        cat_base=[],
        cat_a=[4],
        xa_obs=np.column_stack([X, action]).astype(np.float32),
        n_levels={},
        baseline=0,
    )


@pytest.mark.parametrize("module", [engine_module, fitting_module])
def test_module_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_the_design_keeps_each_customer_in_one_fold(small_world):
    from makegood.api import load_catalog, load_history
    from makegood.features.pipeline import prepare

    catalog = load_catalog(small_world["catalog"])
    prep = prepare(load_history(small_world["history"], catalog=catalog).head(600))
    params = EngineParams(n_folds=3, use_text=False).resolved(len(prep))
    d, signals = build_design(prep, catalog, params)
    assert signals is None and d.n == len(prep) and d.n_actions == len(catalog.ids)
    folds_of = prep.assign(fold=d.fold).groupby("customer_id")["fold"].nunique()
    assert (folds_of == 1).all()
    assert set(d.fold.tolist()) == {0, 1, 2}
    assert (d.xa_obs[:, -1] == d.action).all()  # the outcome input at the resolution given
    assert d.baseline == catalog.baseline_index


@pytest.mark.parametrize(
    ("n_answered", "modelled"), [(0, False), (MIN_SURVEYS - 1, False), (400, True)]
)
def test_satisfaction_is_modelled_only_with_enough_surveys(n_answered, modelled):
    d = _design(n_answered=n_answered)
    has_sat, p_answer = survey_response(d, EngineParams(num_threads=1))
    assert has_sat is modelled
    if n_answered in (0, d.n):  # nobody or everybody answered: no response model
        assert (p_answer == 1.0).all()


def test_the_response_model_bounds_the_inverse_weights():
    d = _design(n_answered=300)
    has_sat, p_answer = survey_response(d, EngineParams(num_threads=1))
    assert has_sat and p_answer.shape == (d.n,)
    assert (p_answer >= 0.05).all() and (p_answer <= 1.0).all()


def test_no_satisfaction_means_no_pooled_layer_and_no_trees():
    d = _design(n_answered=0)
    p = EngineParams(num_threads=1)
    assert fit_pooled_layers(d, p, np.ones(d.n), False, lambda _m: None) == ([], {})
    models, oof = fit_satisfaction(d, p, np.ones(d.n), [], False)
    assert models == [] and oof.shape == (d.n, d.n_actions) and np.isnan(oof).all()
    off = EngineParams(num_threads=1, pooled=False)
    assert fit_pooled_layers(_design(), off, np.ones(400), True, lambda _m: None) == ([], {})


def test_propensity_is_renormalised_over_the_eligible_resolutions():
    rng = np.random.default_rng(1)
    raw = rng.dirichlet(np.ones(4), size=50)
    eligible = rng.random((50, 4)) < 0.6
    eligible[:, 0] = True
    action = np.array([rng.choice(np.flatnonzero(row)) for row in eligible])
    prop, e_obs = normalised_propensity(raw, eligible, action, clip=0.2)
    assert np.allclose(prop.sum(axis=1), 1.0)
    assert (prop[~eligible] == 0).all()
    assert (e_obs >= 0.2).all()
    assert np.allclose(e_obs, np.clip(prop[np.arange(50), action], 0.2, 1.0))


@pytest.mark.parametrize("has_sat", [True, False])
def test_the_dr_correction_runs_iff_it_is_on(has_sat):
    d = _design(n=2000)
    rng = np.random.default_rng(2)
    # an outcome model biased by +0.2 for resolution 2: the correction has work to do
    oof_churn = np.full((d.n, 3), 0.3) + np.array([0.0, 0.0, 0.2])
    oof_sat = rng.uniform(0, 10, (d.n, 3))
    e_obs = np.full(d.n, 1 / 3)
    p_answer = np.ones(d.n)
    on = dr_corrections(d, EngineParams(), oof_churn, oof_sat, e_obs, p_answer, has_sat)
    churn_corr, sat_corr, diag = on
    assert "churn_dr" in diag and ("sat_dr" in diag) is has_sat
    assert churn_corr[2] < -0.1  # the planted bias is taken back
    assert churn_corr[0] == 0.0  # the baseline is never corrected
    if not has_sat:
        assert not sat_corr.any()
    off = dr_corrections(
        d, EngineParams(dr_correction=False), oof_churn, oof_sat, e_obs, p_answer, has_sat
    )
    assert not off[0].any() and not off[1].any() and off[2] == {}


def test_the_churn_model_keeps_the_rounds_with_the_lowest_held_out_loss():
    # Churn is noise here: every round past the first few only fits it, so the folds'
    # models are cut well below n_estimators, all to the same count, and the cut models
    # give the cross-fitted predictions.
    d = _design(n=600)
    params = EngineParams(num_threads=1, n_estimators=150, mediated=False, cut_rounds=True)
    models, oof = fitting_module.fit_churn(d, params, np.full((d.n, d.n_actions), np.nan))
    rounds = {m.num_trees() for m in models}
    assert len(rounds) == 1 and fitting_module.MIN_ROUNDS <= rounds.pop() < 150
    kept, _ = fitting_module.fit_churn(d, replace(params, cut_rounds=False), oof * np.nan)
    assert {m.num_trees() for m in kept} == {150}  # off (the default): every round
    te = d.fold == 1
    xa = engine_module.Engine.outcome_input(d.X[te], 2)
    assert np.allclose(oof[te, 2], models[1].predict(xa))


def test_the_churn_model_keeps_every_round_while_held_out_loss_falls():
    d = _design(n=600)
    d.y_churn[:] = (d.X[:, 0] + 0.3 * d.X[:, 1] > 0).astype(float)  # learnable, no noise
    params = EngineParams(num_threads=1, n_estimators=40, mediated=False, cut_rounds=True)
    models, _ = fitting_module.fit_churn(d, params, np.full((d.n, d.n_actions), np.nan))
    assert {m.num_trees() for m in models} == {40}
