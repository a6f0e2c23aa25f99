"""The company's declared columns through training, the bundle and batch scoring; bundles
trained before them keep loading and scoring; what the log supports."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from extra_columns import EXTRA_KINDS, with_extras
from makegood.api import train
from makegood.errors import ContractError, InvalidParameterError
from makegood.features.extra import MISSING, OTHER
from makegood.modeling.bundle import FORMAT_VERSION, load_bundle
from makegood.modeling.predict import score
from makegood.modeling.support import LogSupport


def test_the_bundle_records_the_declared_columns(trained_extras):
    bundle = load_bundle(trained_extras["models_dir"])
    spec = bundle.engine.spec
    assert spec.extras is not None and spec.extras.kinds == EXTRA_KINDS
    assert dict(bundle.engine.params.features) == EXTRA_KINDS
    # the rare regions (r0..r96, a few rows each) are pooled; the big ones kept
    assert spec.categories["region"][:2] == ["north", "south"]
    assert spec.categories["region"][-2:] == [OTHER, MISSING]
    assert len(spec.categories["region"]) == 4  # ~100 regions in, two kept
    assert {"plan_price", "agent_note__n_words"} <= set(spec.numeric)
    meta = json.loads((bundle.path / "bundle.json").read_text())
    assert meta["format_version"] == FORMAT_VERSION == 2
    assert meta["feature_spec"]["extras"]["kinds"] == EXTRA_KINDS


def test_batch_scoring_reads_the_declared_columns(trained_extras):
    bundle = load_bundle(trained_extras["models_dir"])
    frame = trained_extras["history"].head(50)
    spec = bundle.engine.spec
    j = spec.names.index("region")
    X = score(bundle, frame).X
    assert X is not None
    north = X[(frame["region"] == "north").to_numpy(), j]
    assert (north == spec.categories["region"].index("north")).all()
    # an unseen region is the pooled level; an absent column is missing for every row
    unseen = score(bundle, frame.assign(region="atlantis")).X
    assert unseen is not None and (unseen[:, j] == spec.categories["region"].index(OTHER)).all()
    absent = score(bundle, frame.drop(columns=["region", "plan_price", "agent_note"])).X
    assert absent is not None
    assert (absent[:, j] == spec.categories["region"].index(MISSING)).all()
    assert np.isnan(absent[:, spec.names.index("plan_price")]).all()


def test_a_bundle_trained_before_extras_loads_and_scores(trained, tmp_path):
    """A format-1 bundle (no extras in its spec, no features in its parameters) scores as
    the current code scores the same models."""
    old = tmp_path / "old"
    shutil.copytree(load_bundle(trained["models_dir"]).path, old)
    meta = json.loads((old / "bundle.json").read_text())
    meta["format_version"] = 1
    meta["feature_spec"].pop("extras", None)
    meta["engine_params"].pop("features", None)
    (old / "bundle.json").write_text(json.dumps(meta))
    frame = with_extras(trained["history"].head(40))  # extra columns are ignored
    then = score(load_bundle(old), frame)
    now = score(load_bundle(trained["models_dir"]), frame)
    np.testing.assert_array_equal(then.churn_prob, now.churn_prob)
    np.testing.assert_array_equal(then.net_value, now.net_value)
    assert load_bundle(old).engine.spec.extras is None


@pytest.mark.parametrize(
    ("features", "error", "match"),
    [
        ({"churned_90d": "number"}, InvalidParameterError, "'churned_90d'.*outcome column"),
        ({"satisfaction": "number"}, InvalidParameterError, "'satisfaction'.*outcome column"),
        ({"segment": "category"}, InvalidParameterError, "'segment'.*already a model input"),
        ({"mem_n_prior": "number"}, InvalidParameterError, "built-in model input"),
        ({"region": "colour"}, InvalidParameterError, "kind must be one of"),
        ({"nowhere": "category"}, ContractError, "nowhere.*declared model input"),
        ({"region": "number"}, ContractError, "region.*must be a number"),
    ],
)
def test_train_refuses_a_bad_declaration(trained_extras, features, error, match):
    with pytest.raises(error, match=match):
        train(trained_extras["history"], trained_extras["catalog"], features=features)


def test_a_declared_column_cannot_be_protected(trained_extras):
    with pytest.raises(InvalidParameterError, match="protected"):
        train(
            trained_extras["history"],
            trained_extras["catalog"],
            features={"region": "category"},
            protected=("region",),
        )


def test_train_says_what_the_log_supports(trained_extras):
    model = trained_extras["model"]
    support = LogSupport.from_dict(model.bundle.meta["log_support"])
    assert support.n == len(trained_extras["history"])
    assert 0.0 <= support.changed <= 1.0 and 0.0 <= support.thin <= 1.0
    g = support.gain
    assert g.lo <= g.value <= g.hi
    assert model.metrics["history_dr_gain"] == g.value
    assert sum(m.recommended for m in support.mix) == pytest.approx(1.0)
    assert sum(m.logged for m in support.mix) == pytest.approx(1.0)
    lines = support.lines()
    assert "changes the resolution of" in lines[0] and "95%" in lines[1]
