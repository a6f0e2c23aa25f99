"""Promotion gated by off-policy value: a worse model is refused, --force is recorded."""

from __future__ import annotations

import numpy as np
import pytest

from makegood.errors import ConfigError
from makegood.modeling.evaluate import compare_policies

NAME = "makegood-test-promotion"
FAST = {"n_estimators": 80, "n_folds": 2, "propensity_estimators": 40, "num_threads": 1}
N_WORLD, N_TRAIN, SEED = 9000, 2500, 2  # both models learn from the first 2,500 rows


def test_paired_interval_of_identical_policies_is_zero():
    rng = np.random.default_rng(0)
    n, K = 500, 3
    q = rng.normal(100, 10, (n, K))
    a = rng.integers(0, K, n)
    r = q[np.arange(n), a] + rng.normal(0, 20, n)
    pi = rng.integers(0, K, n)
    c = compare_policies(r, a, pi, pi, np.full(n, 1 / K), q)
    assert c.gain.value == 0 and c.gain.lo == 0 and c.gain.hi == 0
    assert c.agreement == 1.0
    assert c.candidate.hi - c.candidate.lo > 1.0  # each value alone is uncertain


def test_paired_interval_is_narrower_than_the_separate_ones():
    rng = np.random.default_rng(1)
    n, K = 2000, 3
    q = rng.normal(100, 30, (n, K))
    a = rng.integers(0, K, n)
    r = q[np.arange(n), a] + rng.normal(0, 50, n)
    best = q.argmax(axis=1)
    other = np.where(rng.random(n) < 0.2, rng.integers(0, K, n), best)  # differs on ~13%
    c = compare_policies(r, a, best, other, np.full(n, 1 / K), q)
    unpaired = np.hypot(c.candidate.hi - c.candidate.lo, c.champion.hi - c.champion.lo)
    assert c.gain.hi - c.gain.lo < 0.5 * unpaired  # what two separate intervals would give
    assert c.gain.value == pytest.approx(c.candidate.value - c.champion.value)


@pytest.fixture(scope="module")
def two_models(tracking_uri, tmp_path_factory) -> dict:
    """A sound model and a broken one (outcome labels inverted: a label bug), registered.

    Both learn from the earliest 2,500 complaints of a 9,000-row world; the later 6,500
    are the held-out logged complaints the promotion compares them on (the DR interval of
    a difference needs thousands of complaints to be narrow). The simulator's truth gives
    each policy's real value there, so the test knows which model is worse.
    """
    from makegood.api import train
    from makegood.contract.files import validate_history
    from makegood.modeling import registry
    from makegood.modeling.predict import score
    from makegood.policy.budget import allocate
    from makegood.sim.truth import policy_true_value, simulate_with_latent
    from makegood.sim.world import write_world

    world, latent = simulate_with_latent(N_WORLD, n_new=10, seed=SEED)
    folder = tmp_path_factory.mktemp("promotion-world")
    paths = write_world(world, folder)
    catalog = world.catalog
    history = validate_history(world.history, catalog=catalog)
    first = np.zeros(len(history), dtype=bool)
    first[np.argsort(history["opened_at"].to_numpy(), kind="stable")[:N_TRAIN]] = True
    earlier = history[first].reset_index(drop=True)
    later = history[~first].reset_index(drop=True)
    broken = earlier.copy()
    broken["churned_90d"] = 1 - broken["churned_90d"]
    broken["satisfaction"] = 10 - broken["satisfaction"]
    versions, true_value = {}, {}
    for label, data in (("good", earlier), ("broken", broken)):
        model = train(
            data,
            catalog,
            models_dir=tmp_path_factory.mktemp(f"models-{label}"),
            tracking_uri=tracking_uri,
            holdout_fraction=0,
            **FAST,
        )
        versions[label] = registry.register_bundle(model.run_id, tracking_uri, name=NAME)
        s = score(model.bundle, later)
        budget = float(later["compensation"].sum())
        choice = allocate(s.net_value, s.compensation, s.eligible, budget).choice
        true_value[label] = policy_true_value(
            latent[~first].reset_index(drop=True), catalog, choice
        )
    return {
        "versions": versions,
        "true_value": true_value,
        "later": later,
        "history": history,
        "catalog": catalog,
        "paths": paths,
    }


def _version(tracking_uri, version):
    from makegood.modeling.registry import mlflow_at

    _, client = mlflow_at(tracking_uri)
    mv = client.get_model_version(NAME, version)
    return mv, client.get_run(mv.run_id)


@pytest.mark.slow
def test_promotion_refuses_a_worse_model_and_force_records_the_reason(
    two_models, tracking_uri, tmp_path
):
    from makegood.modeling.promotion import PromotionRefusedError, promote_if_not_worse
    from makegood.modeling.registry import champion_info

    good, bad = two_models["versions"]["good"], two_models["versions"]["broken"]
    later = two_models["later"]
    truth = two_models["true_value"]
    assert truth["broken"] < truth["good"] - 20  # the broken model IS worse, per complaint
    kw = {"name": NAME, "tracking_uri": tracking_uri, "cache_dir": tmp_path}
    first = promote_if_not_worse(good, history=later, **kw)
    assert first.outcome == "first_champion"
    assert champion_info(NAME, tracking_uri=tracking_uri).version == good

    with pytest.raises(PromotionRefusedError, match="refused") as err:
        promote_if_not_worse(bad, history=later, **kw)
    d = err.value.decision
    assert d.comparison is not None and d.comparison.n == len(later)
    assert d.comparison.gain.value < 0, d.summary()
    assert d.comparison.gain.hi < 0, d.summary()  # and clearly so (deterministic world)
    assert champion_info(NAME, tracking_uri=tracking_uri).version == good  # unchanged
    mv, run = _version(tracking_uri, bad)
    assert mv.tags["promotion.outcome"] == "refused"
    assert mv.tags["promotion.champion_version"] == good
    assert run.data.metrics["promotion_gain"] == pytest.approx(d.comparison.gain.value)

    with pytest.raises(ConfigError, match="--reason"):
        promote_if_not_worse(bad, history=later, force=True, **kw)
    forced = promote_if_not_worse(
        bad, history=later, force=True, reason="test: override on purpose", **kw
    )
    assert forced.outcome == "forced" and forced.comparison is not None
    assert champion_info(NAME, tracking_uri=tracking_uri).version == bad
    mv, run = _version(tracking_uri, bad)
    assert mv.tags["promotion.forced_reason"] == "test: override on purpose"
    assert run.data.tags["promotion.forced_reason"] == "test: override on purpose"

    back = promote_if_not_worse(good, history=later, **kw)  # the better one is not worse
    assert back.outcome == "promoted" and back.comparison.gain.value > 0
    assert champion_info(NAME, tracking_uri=tracking_uri).version == good


@pytest.mark.slow
def test_comparison_needs_held_out_complaints(two_models, tracking_uri, tmp_path):
    from makegood.errors import ContractError
    from makegood.modeling.promotion import promote_if_not_worse

    kw = {"name": NAME, "tracking_uri": tracking_uri, "cache_dir": tmp_path}
    promote_if_not_worse(two_models["versions"]["good"], history=two_models["later"], **kw)
    bad = two_models["versions"]["broken"]
    with pytest.raises(ConfigError, match="--history"):
        promote_if_not_worse(bad, history=None, **kw)
    earlier = two_models["history"].head(500)  # the models' own training rows
    with pytest.raises(ContractError, match="opened_at.*neither model was trained on"):
        promote_if_not_worse(bad, history=earlier, **kw)


@pytest.mark.slow
def test_cli_promote_exits_1_on_refusal(two_models, tracking_uri, tmp_path):
    from typer.testing import CliRunner

    from makegood.cli import app
    from makegood.modeling.promotion import promote_if_not_worse

    kw = {"name": NAME, "tracking_uri": tracking_uri, "cache_dir": tmp_path}
    promote_if_not_worse(two_models["versions"]["good"], history=two_models["later"], **kw)
    import pandas as pd

    later = tmp_path / "later.csv"  # the held-out rows as the user's file has them
    raw = pd.read_csv(two_models["paths"]["history"], dtype=str, keep_default_na=False)
    raw[raw["complaint_id"].isin(two_models["later"]["complaint_id"])].to_csv(later, index=False)
    args = ["models", "promote", "--version", two_models["versions"]["broken"]]
    args += ["--history", str(later), "--catalog", str(two_models["paths"]["catalog"])]
    args += ["--name", NAME, "--tracking-uri", tracking_uri]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 1, out.output
    assert "refused" in out.output and "paired 95% CI" in out.output


@pytest.mark.slow
def test_training_logs_the_comparison_with_the_champion(two_models, tracking_uri, tmp_path):
    from makegood.modeling.promotion import promote_if_not_worse
    from makegood.modeling.train import train

    kw = {"name": NAME, "tracking_uri": tracking_uri, "cache_dir": tmp_path}
    promote_if_not_worse(two_models["versions"]["good"], history=two_models["later"], **kw)
    from makegood.modeling.engine import EngineParams

    history = two_models["history"].sort_values("opened_at").head(5000)  # holdout: newer rows
    res = train(
        history,
        two_models["catalog"],
        params=EngineParams(**FAST),
        models_dir=None,
        tracking_uri=tracking_uri,
        champion_name=NAME,
    )
    assert res.metrics["vs_champion_rows"] >= 200
    assert res.metrics["vs_champion_gain_lo"] <= res.metrics["vs_champion_gain"]
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    run = mlflow.get_run(res.run_id)
    assert "compared with" in run.data.tags["champion_comparison"]
    assert "vs_champion_gain" in run.data.metrics
