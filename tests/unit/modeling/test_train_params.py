"""Training parameters are validated at the edge, with scikit-learn's wording: the CLI
exits 2 with one line naming the parameter, the Python API raises InvalidParameterError,
both before any work is done."""

from __future__ import annotations

import doctest

import pytest
from typer.testing import CliRunner

import makegood.modeling.train as train_module
from makegood.errors import ConfigError, InvalidParameterError
from makegood.modeling.engine import EngineParams
from makegood.modeling.train import check_params, engine_params

BAD = [
    ({"n_folds": 1}, "n_folds must be >= 2 (or 0: auto). Got 1 instead."),
    ({"n_folds": -1}, "n_folds must be >= 2 (or 0: auto). Got -1 instead."),
    ({"n_estimators": 0}, "n_estimators must be >= 1. Got 0 instead."),
    ({"n_estimators": -3}, "n_estimators must be >= 1. Got -3 instead."),
    ({"n_estimators": 2.5}, "n_estimators must be an integer >= 1. Got 2.5 instead."),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0. Got 0.0 instead."),
    ({"learning_rate": -0.1}, "learning_rate must be a finite number > 0. Got -0.1 instead."),
    ({"learning_rate": float("nan")}, "learning_rate must be a finite number > 0. Got nan"),
    ({"num_leaves": 1}, "num_leaves must be >= 2. Got 1 instead."),
    ({"min_child_samples": 0}, "min_child_samples must be >= 1. Got 0 instead."),
    ({"propensity_estimators": 0}, "propensity_estimators must be >= 1. Got 0 instead."),
    ({"propensity_clip": 0.5}, "propensity_clip must be a finite number in (0, 0.5). Got 0.5"),
    ({"num_threads": -1}, "num_threads must be >= 0. Got -1 instead."),
    ({"random_state": -1}, "random_state must be >= 0. Got -1 instead."),
    ({"use_text": "yes"}, "use_text must be True or False. Got 'yes' instead."),
]


def test_module_doctests():
    assert doctest.testmod(train_module).failed == 0


@pytest.mark.parametrize("values, message", BAD)
def test_each_broken_rule_is_named(values, message):
    with pytest.raises(InvalidParameterError) as info:
        check_params(EngineParams(**values))
    assert str(info.value).startswith(message)
    assert info.value.name == next(iter(values))
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, float("inf")])
def test_holdout_fraction_must_be_in_0_1(fraction):
    with pytest.raises(InvalidParameterError, match=r"holdout_fraction must be a finite number"):
        check_params(EngineParams(), fraction)


def test_defaults_and_edges_pass():
    assert check_params(EngineParams(), 0.0) == EngineParams()
    assert check_params(EngineParams(n_folds=2, num_leaves=2, n_estimators=1), 0.99)
    assert check_params(EngineParams(n_folds=0)).n_folds == 0  # auto: resolved by size


def test_an_unknown_parameter_is_named():
    with pytest.raises(InvalidParameterError, match="n_fold must be one of the training"):
        engine_params(n_fold=3)


def test_the_python_api_refuses_before_training(trained):
    import makegood

    with pytest.raises(InvalidParameterError, match=r"n_folds must be >= 2 \(or 0: auto\). Got 1"):
        makegood.train(trained["history"], trained["catalog"], n_folds=1)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--n-folds", "1", "n_folds must be >= 2 (or 0: auto). Got 1 instead."),
        ("--n-estimators", "0", "n_estimators must be >= 1. Got 0 instead."),
        ("--learning-rate", "-0.5", "learning_rate must be a finite number > 0. Got -0.5"),
        ("--num-leaves", "1", "num_leaves must be >= 2. Got 1 instead."),
        ("--holdout-fraction", "1", "holdout_fraction must be a finite number in [0, 1)"),
    ],
)
def test_the_cli_exits_2_with_one_line(tmp_path, option, value, message):
    from makegood.cli import app

    res = CliRunner().invoke(
        app,
        ["train", "--history", str(tmp_path / "never-read.csv"), "--catalog",
         str(tmp_path / "never-read.yaml"), "--models-dir", str(tmp_path / "m"), "--quiet",
         option, value],
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert lines == [f"makegood: error: {lines[0].split('error: ', 1)[1]}"]
    assert message in lines[0]
    assert "Traceback" not in res.output
    assert not (tmp_path / "m").exists()
