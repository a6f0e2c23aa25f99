"""The satisfaction model's pooled linear layer (issue 15): planted effects recovered, the
penalty following the evidence, exact per-input contrasts, persistence, the engine and the
bundle carrying it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from makegood.modeling.engine import Engine
from makegood.modeling.pooled import PENALTIES, RANKS, PooledLinear, fit_pooled

K = 3


def _world(n: int, own: float, seed: int = 0):
    """Inputs [x0, x1 (with gaps), category (3 levels)] and satisfaction whose slope on x0
    differs by resolution by ``own`` (0: every resolution shares it)."""
    rng = np.random.default_rng(seed)
    x0 = rng.normal(0, 1, n)
    x1 = rng.normal(5, 2, n)
    x1[rng.random(n) < 0.1] = np.nan
    cat = rng.integers(0, 3, n).astype(float)
    X = np.column_stack([x0, x1, cat]).astype(np.float32)
    A = rng.integers(0, K, n)
    slope = 1.0 + own * (A - 1)  # resolution 0: 1 - own, 1: 1, 2: 1 + own
    y = (
        5.0
        + 0.5 * A
        + slope * x0
        + 0.3 * np.nan_to_num(x1 - 5)
        + 0.8 * (cat == 2)
        + rng.normal(0, 1.0, n)
    )
    fold = rng.integers(0, 4, n)
    return X, A, y, fold


def _fit(X, A, y, fold, **kw):
    return fit_pooled(
        X, A, y, np.ones(len(y)), fold, 4, categorical=[2], n_levels={2: 3}, n_actions=K, **kw
    )


def test_planted_own_slopes_are_recovered_with_little_pull():
    X, A, y, fold = _world(20_000, own=0.8)
    layers, info = _fit(X, A, y, fold)
    assert len(layers) == 4 and info["penalty"] <= 50
    layer = layers[0]
    x = np.zeros((1, 3), dtype=np.float32)
    x[0, 1] = 5.0
    x1 = x.copy()
    x1[0, 0] = 1.0
    slopes = layer.predict_all(x1)[0] - layer.predict_all(x)[0]  # per resolution, d sat / d x0
    assert slopes == pytest.approx([0.2, 1.0, 1.8], abs=0.1)


def test_shared_slopes_get_the_strongest_pull():
    X, A, y, fold = _world(3_000, own=0.0, seed=1)
    _, info = _fit(X, A, y, fold)
    assert info["penalty"] >= 500  # nothing of their own to learn: pooled all the way
    assert set(info["cv_mse"]) == {f"{p:g}/{r}" for p in PENALTIES for r in RANKS}


def test_effects_along_one_direction_are_held_to_a_low_rank():
    """Eight resolutions whose own slopes on six inputs are multiples of one direction:
    the folds choose a low rank, and the fitted own slopes are close to the planted ones."""
    rng = np.random.default_rng(9)
    n, p, k = 8000, 6, 8
    X = rng.normal(0, 1, (n, p)).astype(np.float32)
    A = rng.integers(0, k, n)
    direction = np.array([1.0, -0.5, 0.5, 0.0, 0.0, 0.0])
    amount = np.linspace(-1, 1, k)  # how far each resolution moves along it
    y = X @ np.full(p, 0.3) + amount[A] * (X @ direction) + rng.normal(0, 1.5, n)
    layers, info = fit_pooled(
        X, A, y, np.ones(n), rng.integers(0, 4, n), 4, categorical=[], n_levels={}, n_actions=k
    )
    assert info["rank"] in (1, 2)
    own = layers[0].coef - layers[0].coef.mean(axis=1, keepdims=True)  # (p, k), scaled by sd
    planted = np.outer(direction, amount - amount.mean()) * X.std(axis=0)[:, None]
    assert np.abs(own - planted).max() < 0.15


def test_the_folds_are_cross_fitted():
    """Each fold's layer is fitted without its own rows: changing a fold's outcomes
    leaves its layer unchanged and moves the others."""
    X, A, y, fold = _world(4_000, own=0.5, seed=2)
    y2 = np.where(fold == 0, y + 3.0 * X[:, 0], y)
    a = _fit(X, A, y, fold, penalties=(20.0,))[0]
    b = _fit(X, A, y2, fold, penalties=(20.0,))[0]
    assert np.allclose(a[0].coef, b[0].coef) and np.allclose(a[0].intercept, b[0].intercept)
    assert not np.allclose(a[1].coef, b[1].coef)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-3, 3), min_size=2, max_size=2),
    st.sampled_from([0.0, 1.0, 2.0, float("nan")]),
    st.integers(0, K - 1),
    st.integers(0, K - 1),
)
def test_a_contrast_splits_the_difference_exactly(xs, cat, a, b):
    layer = _LAYER
    x = np.array([[xs[0], np.nan if xs[1] > 2 else 5 + xs[1], cat]], dtype=np.float32)
    parts = layer.contrast(x, a, b)
    assert parts.shape == (4,)  # three inputs and the resolution
    full = layer.predict_all(x)[0]
    assert parts.sum() == pytest.approx(full[a] - full[b], abs=1e-9)
    xa_a = Engine.outcome_input(x, a)
    xa_b = Engine.outcome_input(x, b)
    assert layer.predict(xa_a)[0] - layer.predict(xa_b)[0] == pytest.approx(
        full[a] - full[b], abs=1e-9
    )


def test_predict_reads_the_outcome_input_layout():
    X, A, y, fold = _world(500, own=0.5, seed=3)
    layer = _LAYER
    xa = Engine.outcome_input(X, A, np.zeros(len(X)))  # a mediator column after the action
    assert np.allclose(layer.predict(xa), layer.predict_all(X)[np.arange(len(X)), A])


def test_round_trip_through_json():
    back = PooledLinear.from_dict(json.loads(json.dumps(_LAYER.to_dict())))
    X = _world(200, own=0.5, seed=4)[0]
    assert np.allclose(back.predict_all(X), _LAYER.predict_all(X))
    assert back.penalty == _LAYER.penalty and back.categorical == _LAYER.categorical
    assert back.rank == _LAYER.rank


def test_the_engine_and_the_bundle_carry_the_layer(trained):
    from makegood.modeling.bundle import load_bundle

    eng = trained["model"].bundle.engine
    assert len(eng.sat_linear) == len(eng.sat_models)
    X = np.zeros((4, len(eng.spec.names)), dtype=np.float32)
    A = np.arange(4) % eng.n_actions
    xa = Engine.outcome_input(X, A)
    trees = eng.sat_models[0].predict(xa)
    assert np.allclose(eng.predict_satisfaction(0, xa), trees + eng.sat_linear[0].predict(xa))
    loaded = load_bundle(trained["models_dir"]).engine
    assert np.allclose(loaded.predict_satisfaction(0, xa), eng.predict_satisfaction(0, xa))
    assert eng.diagnostics["pooled"]["penalty"] in PENALTIES
    assert trained["model"].metrics["sat_pooled_penalty"] in PENALTIES
    assert trained["model"].metrics["sat_pooled_rank"] in RANKS
    assert all(layer.rank == eng.diagnostics["pooled"]["rank"] for layer in eng.sat_linear)


def test_without_pooling_satisfaction_is_the_trees(small_world):
    from makegood.api import load_catalog, load_history, train

    catalog = load_catalog(small_world["catalog"])
    history = load_history(small_world["history"], catalog=catalog).head(1500)
    model = train(
        history,
        catalog,
        holdout_fraction=0,
        pooled=False,
        n_estimators=20,
        n_folds=2,
        propensity_estimators=5,
        num_threads=1,
        select=False,
    )
    assert model.bundle.engine.sat_linear == []
    assert "pooled" not in model.bundle.engine.diagnostics


_LAYER = _fit(*_world(3_000, own=0.5, seed=5), penalties=(20.0,))[0][0]


def test_a_row_alone_gets_the_same_bits_as_in_a_batch():
    """The service scores one complaint, the batch many: the one scoring core gives both
    the same values to the last bit (issue 9)."""
    from makegood.modeling.pooled import predict_folds

    X = _world(3_000, own=0.5, seed=6)[0]
    layers = _fit(*_world(3_000, own=0.5, seed=7))[0]
    batch = predict_folds(layers, X)
    for i in range(0, len(X), 7):
        assert np.array_equal(predict_folds(layers, X[i : i + 1])[:, 0], batch[:, i])
