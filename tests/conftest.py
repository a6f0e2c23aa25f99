"""Shared fixtures: a small simulated world and a model trained on it, once per session.

Hypothesis profiles: ``dev`` (default, quick) and ``ci`` (more examples), chosen by the
environment variable ``HYPOTHESIS_PROFILE`` (``.ci/run`` sets ``ci``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SMALL_N = 3000
FAST_PARAMS = {"n_estimators": 80, "n_folds": 2, "propensity_estimators": 40, "num_threads": 1}


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> dict:
    """A simulated world of ~3,000 history rows written in contract form.

    Returns the file paths (history, complaints, catalog, truth, ...) and the World.
    """
    from makegood.sim.world import simulate, write_world

    out = tmp_path_factory.mktemp("world")
    world = simulate(SMALL_N, n_new=600, seed=7)
    paths = write_world(world, out)
    return {"dir": out, "world": world, **paths}


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory) -> str:
    """One local MLflow SQLite store per test session (creating one costs ~2.5 s)."""
    d = tmp_path_factory.mktemp("mlruns")
    return f"sqlite:///{d / 'mlflow.db'}"


@pytest.fixture(scope="session")
def trained(small_world, tracking_uri, tmp_path_factory) -> dict:
    """A model bundle trained (fast settings) on ``small_world``, logged to MLflow."""
    from makegood.api import load_catalog, load_history, train

    models = tmp_path_factory.mktemp("models")
    catalog = load_catalog(small_world["catalog"])
    history = load_history(small_world["history"], catalog=catalog)
    model = train(history, catalog, models_dir=models, tracking_uri=tracking_uri, **FAST_PARAMS)
    return {"models_dir": Path(models), "model": model, "catalog": catalog, "history": history}


@pytest.fixture(scope="session")
def trained_money(small_world, tracking_uri, tmp_path_factory) -> dict:
    """A bundle trained (fast settings, logged to MLflow) on ``small_world`` whose outcome
    models read each candidate's compensation (``money_input``)."""
    from makegood.api import load_catalog, load_history, train

    models = tmp_path_factory.mktemp("models_money")
    catalog = load_catalog(small_world["catalog"])
    history = load_history(small_world["history"], catalog=catalog)
    model = train(
        history, catalog, models_dir=models, tracking_uri=tracking_uri, money_input=True,
        **FAST_PARAMS,
    )  # fmt: skip
    return {"models_dir": Path(models), "model": model, "catalog": catalog, "history": history}


RARE_RESOLUTION = "credit_75"  # given RARE_TIMES times in ``trained_no_surveys``' history
RARE_TIMES = 12


@pytest.fixture(scope="session")
def trained_no_surveys(small_world, tmp_path_factory) -> dict:
    """A bundle trained (fast settings, no MLflow) on ``small_world``'s history with every
    survey answer removed and ``RARE_RESOLUTION`` given only ``RARE_TIMES`` times (fewer
    than ``MIN_ACTION_ROWS``: not a candidate)."""
    import numpy as np

    from makegood.api import load_catalog, load_history, train

    models = tmp_path_factory.mktemp("models_no_surveys")
    catalog = load_catalog(small_world["catalog"])
    history = load_history(small_world["history"], catalog=catalog)
    rare = np.flatnonzero((history["resolution"] == RARE_RESOLUTION).to_numpy())
    history = history.drop(index=history.index[rare[RARE_TIMES:]]).reset_index(drop=True)
    history = history.assign(satisfaction=np.nan)
    model = train(history, catalog, models_dir=models, holdout_fraction=0.0, **FAST_PARAMS)
    return {"models_dir": Path(models), "model": model, "catalog": catalog, "history": history}


@pytest.fixture(scope="session")
def trained_extras(small_world, tmp_path_factory) -> dict:
    """A bundle trained (fast settings, no MLflow) on ``small_world``'s history with the
    declared extra columns of ``extra_columns.EXTRA_KINDS`` (see ``with_extras`` there)."""
    from extra_columns import EXTRA_KINDS, with_extras
    from makegood.api import load_catalog, load_history, train

    models = tmp_path_factory.mktemp("models_extras")
    catalog = load_catalog(small_world["catalog"])
    history = with_extras(load_history(small_world["history"], catalog=catalog))
    model = train(
        history,
        catalog,
        models_dir=models,
        holdout_fraction=0.0,
        features=EXTRA_KINDS,
        **FAST_PARAMS,
    )
    return {"models_dir": Path(models), "model": model, "catalog": catalog, "history": history}
