"""Protected columns (issue 26): the models never read them nor what is derived from
them, the bundle records them, and training refuses a protected column that is unknown
or declared as a model input."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from makegood.api import load_model, train
from makegood.cli import app
from makegood.errors import InvalidParameterError
from makegood.features.pipeline import feature_lists

QUICK = {
    "n_estimators": 30,
    "n_folds": 2,
    "propensity_estimators": 20,
    "num_threads": 1,
    "use_text": False,
    "select": False,
}


def test_feature_lists_drop_protected_columns_and_their_derivations():
    numeric, categorical = feature_lists([], True, False, ["segment", "channel", "lifetime_value"])
    names = set(numeric) | set(categorical)
    assert not names & {
        "segment",
        "channel",
        "mem_last_channel",
        "mem_n_channels",
        "lifetime_value",
        "log_lifetime_value",
    }
    assert {"issue_type", "severity", "annual_value"} <= names
    text_numeric, _ = feature_lists(["tfidf_0"], False, True, ["complaint_text"])
    assert "tfidf_0" not in text_numeric and "text_compound" not in text_numeric


def test_trained_models_never_read_protected_columns(trained, tmp_path):
    history = trained["history"]
    model = train(
        history,
        trained["catalog"],
        models_dir=tmp_path,
        holdout_fraction=0.0,
        protected=["segment", "lifetime_value"],
        **QUICK,
    )
    for bundle in (model.bundle, load_model(tmp_path).bundle):
        names = bundle.engine.spec.names
        assert "segment" not in names and "lifetime_value" not in names
        assert "log_lifetime_value" not in names and "tenure_months" in names
        assert tuple(bundle.engine.params.protected) == ("segment", "lifetime_value")
    recs = model.recommend(history.head(50).drop(columns=["resolution"]), budget=500)
    assert len(recs.frame) == 50


def test_an_unknown_protected_column_is_refused(trained):
    with pytest.raises(InvalidParameterError, match="protected must be columns of the history"):
        train(trained["history"].head(300), trained["catalog"], protected=["age"], **QUICK)


def test_a_protected_column_declared_as_a_feature_is_refused(trained):
    from makegood.modeling.train import check_protected

    with pytest.raises(InvalidParameterError, match="declared as model inputs") as e:
        check_protected(trained["history"], ["segment"], features=["region", "segment"])
    assert e.value.value == "segment"


def test_cli_train_protected_unknown_column_fails_in_one_line(small_world, tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "train",
            "--history",
            str(small_world["history"]),
            "--catalog",
            str(small_world["catalog"]),
            "--models-dir",
            str(tmp_path / "m"),
            "--protected",
            "segment,age_band",
            "--quiet",
        ],
    )
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "protected must be columns of the history" in lines[0]
    assert "'age_band'" in lines[0]
