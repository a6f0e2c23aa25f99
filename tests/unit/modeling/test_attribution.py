"""Contrastive attribution: the narrowed models keep the contribution difference; the
attribution adds up to the net-value difference. Each test runs on a bundle whose outcome
models read the candidates' compensation (``money``) and on one whose models do not."""

from __future__ import annotations

import numpy as np
import pytest

from makegood.modeling.attribution import (
    ACTION,
    ContrastExplainer,
    MediatorRangeModel,
    contrast_attribution,
    difference_model,
    pair_difference_models,
)


@pytest.fixture(scope="module", params=["plain", "money"])
def engine_and_rows(request, trained, trained_money):
    from makegood.modeling.predict import features_for

    models = trained_money if request.param == "money" else trained
    model = models["model"]
    X = features_for(model.bundle, models["history"].head(20))
    assert model.bundle.engine.params.money_input == (request.param == "money")
    return model.bundle.engine, X


def _paid(engine, amounts) -> np.ndarray | None:
    """The two rows' money column: ``amounts`` when the engine reads it, else None."""
    return np.asarray(amounts, dtype=float) if engine.params.money_input else None


def test_difference_model_keeps_the_contribution_difference(engine_and_rows):
    engine, X = engine_and_rows
    p = X.shape[1]
    full = engine.sat_models[0]
    small = difference_model(full, {p})
    assert small.num_trees() <= full.num_trees()
    base = np.vstack([X[:1], X[:1]])
    rows = engine.outcome_input(base, np.array([0, 3]), money=_paid(engine, [0.0, 0.0]))
    d_full = np.diff(full.predict(rows, pred_contrib=True), axis=0)
    d_small = np.diff(small.predict(rows, pred_contrib=True), axis=0)
    np.testing.assert_allclose(d_full[:, :-1], d_small[:, :-1], atol=1e-9)


def test_pair_difference_models_keep_every_pairs_contribution_difference(engine_and_rows):
    engine, X = engine_and_rows
    p = X.shape[1]
    codes = list(range(engine.n_actions))
    m = engine.money_feature
    cases = [  # (model, features that differ besides the action, mediator values, money)
        (engine.sat_models[0], set(), None, [20.0, 20.0]),
        (engine.churn_models[0], {engine.mediator_feature}, [6.5, 3.0], [20.0, 20.0]),
    ]
    if m is not None:  # the compensation differs too: its trees are kept
        cases += [
            (engine.sat_models[0], {m}, None, [0.0, 35.0]),
            (engine.churn_models[0], {engine.mediator_feature, m}, [6.5, 3.0], [12.5, 40.0]),
        ]
    for full, also, sat, amounts in cases:
        pairs = pair_difference_models(full, p, codes, also=also)
        assert set(pairs) == {(a, b) for a in codes for b in codes if a < b}
        smaller = [m for m in pairs.values() if m.num_trees() < full.num_trees()]
        assert smaller  # some pair needs fewer trees
        for (a, b), small in pairs.items():
            for i in range(3):
                base = np.vstack([X[i : i + 1], X[i : i + 1]])
                sat_in = None if sat is None else np.array(sat)
                rows = engine.outcome_input(
                    base, np.array([a, b]), sat_in, money=_paid(engine, amounts)
                )
                d_full = np.diff(full.predict(rows, pred_contrib=True), axis=0)
                d_small = np.diff(small.predict(rows, pred_contrib=True), axis=0)
                np.testing.assert_allclose(d_full[:, :-1], d_small[:, :-1], atol=1e-9)


def test_mediator_range_models_keep_the_contribution_difference(engine_and_rows):
    engine, X = engine_and_rows
    p = X.shape[1]
    full = engine.churn_models[0]
    codes = list(range(engine.n_actions))
    pairs = pair_difference_models(full, p, codes, mediator=engine.mediator_feature)
    sats = [(6.5, 3.0), (5.0, 5.1), (5.5, 5.5), (0.0, 4.0), (9.9, 0.2), (2.0, 2.0001)]
    for (a, b), small in pairs.items():
        for i in range(2):
            for sat in sats:
                base = np.vstack([X[i : i + 1], X[i : i + 1]])
                paid = _paid(engine, [30.0, 30.0])
                rows = engine.outcome_input(base, np.array([a, b]), np.array(sat), money=paid)
                d_full = np.diff(full.predict(rows, pred_contrib=True), axis=0)
                d_small = np.diff(small.predict(rows, pred_contrib=True), axis=0)
                np.testing.assert_allclose(d_full[:, :-1], d_small[:, :-1], atol=1e-9)
    assert any(isinstance(m, MediatorRangeModel) for m in pairs.values()) or not (
        engine.params.mediated
    )
    if any(isinstance(m, MediatorRangeModel) for m in pairs.values()):
        m = next(m for m in pairs.values() if isinstance(m, MediatorRangeModel))
        n = len(m.max_threshold)
        assert m.trees_for(5.0, 5.0)[1] - m.trees_for(5.0, 5.0)[0] <= n
        assert m.trees_for(0.0, 3.0) == (0, n)  # exact zero: LightGBM's missing value


def test_the_explainers_narrowed_models_give_the_full_models_attribution(trained_money):
    """The service's explainer (pairs narrowed, per request, to the trees that can tell
    the two candidates apart, money trees only when their compensation differs) gives
    the attribution of the whole models, for equal and for different compensation."""
    from makegood.modeling.predict import score

    bundle = trained_money["model"].bundle
    engine = bundle.engine
    explainer = ContrastExplainer(engine, bundle.action_index)
    assert explainer.money_pair_models is not None
    s = score(bundle, trained_money["history"].head(8))
    K = len(s.action_ids)
    seen = set()
    for i in range(8):
        for r, u in ((0, 1), (1, 2), (K - 1, 0), (2, K - 2)):
            comp, churn = s.compensation[i], s.churn_prob[i]
            seen.add(bool(comp[r] != comp[u]))
            narrowed = explainer.contrast(s, r, u, row=i)
            whole = contrast_attribution(
                engine, s.X[i : i + 1], int(bundle.action_index[r]), int(bundle.action_index[u]),
                lifetime_value=float(s.lifetime_value[i]), churn_r=churn[r], churn_u=churn[u],
                compensation_r=comp[r], compensation_u=comp[u],
                handling_cost_r=s.handling_cost[r], handling_cost_u=s.handling_cost[u],
            )  # fmt: skip
            for k in narrowed.terms.keys() | whole.terms.keys():
                v = whole.terms.get(k, 0.0)
                assert narrowed.terms.get(k, 0.0) == pytest.approx(v, rel=1e-6, abs=1e-6), k
            assert narrowed.total == pytest.approx(whole.total)
    assert seen == {True, False}  # both kinds of pair were explained


def test_attribution_adds_up_to_the_net_value_difference(engine_and_rows):
    engine, X = engine_and_rows
    paid = np.tile(np.arange(engine.n_actions, dtype=float) * 10.0, (5, 1))
    pred = engine.predict(X[:5], compensation=paid)
    for i in range(5):
        churn = pred["churn_prob"][i]
        a = contrast_attribution(
            engine, X[i : i + 1], 1, 0,
            lifetime_value=800.0, churn_r=churn[1], churn_u=churn[0],
            compensation_r=10.0, compensation_u=0.0, handling_cost_r=5.0, handling_cost_u=2.0,
        )  # fmt: skip
        expected = 800.0 * (churn[0] - churn[1]) - 10.0 - 3.0
        assert a.total == pytest.approx(expected)
        assert sum(a.terms.values()) + a.compensation + a.handling_cost == pytest.approx(expected)
        assert ACTION in a.terms


def test_scoring_fold_predictions_give_the_same_attribution(engine_and_rows):
    """The service passes the folds' predictions scoring already made instead of
    predicting the two candidates again: the attribution must not move."""
    engine, X = engine_and_rows
    paid = np.tile(np.array([0.0, 10.0, 0.0, *[25.0] * (engine.n_actions - 3)]), (6, 1))
    pred = engine.predict(X[:6], compensation=paid, folds=True)
    F = len(engine.churn_models)
    assert pred["sat_folds"].shape == pred["churn_folds"].shape == (6, engine.n_actions, F)
    plain = engine.predict(X[:6], compensation=paid, corrected=False)
    assert np.allclose(pred["churn_folds"].mean(axis=-1), plain["churn_prob"])
    for i in range(6):
        churn = pred["churn_prob"][i]
        for r, u in ((1, 0), (2, 1)):
            kwargs = dict(
                lifetime_value=650.0, churn_r=churn[r], churn_u=churn[u],
                compensation_r=paid[i, r], compensation_u=paid[i, u],
                handling_cost_r=5.0, handling_cost_u=2.0, n_folds=F,
            )  # fmt: skip
            again = contrast_attribution(engine, X[i : i + 1], r, u, **kwargs)
            reused = contrast_attribution(
                engine, X[i : i + 1], r, u, **kwargs,
                fold_predictions=(pred["sat_folds"][i, [r, u]], pred["churn_folds"][i, [r, u]]),
            )  # fmt: skip
            assert reused.terms.keys() == again.terms.keys()
            for k, v in again.terms.items():
                assert reused.terms[k] == pytest.approx(v, rel=1e-6, abs=1e-6), k
            assert reused.total == pytest.approx(again.total)
            if not np.isnan(again.satisfaction_gap):
                assert reused.satisfaction_gap == pytest.approx(
                    again.satisfaction_gap, rel=1e-6, abs=1e-9
                )
