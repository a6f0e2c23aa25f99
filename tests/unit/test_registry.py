"""The MLflow registry round trip: register a trained run, promote it, resolve it to a bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from makegood.errors import ModelNotFoundError
from makegood.modeling import registry

NAME = "makegood-test-registry"


@pytest.fixture(scope="module")
def registered(trained, tracking_uri) -> dict:
    version = registry.register_bundle(trained["model"].run_id, tracking_uri, name=NAME)
    registry.promote(NAME, version, tracking_uri=tracking_uri)
    return {"version": version, **trained}


@pytest.mark.slow
def test_register_promote_champion_info(registered, tracking_uri):
    info = registry.champion_info(NAME, tracking_uri=tracking_uri)
    assert info.version == registered["version"]
    assert info.run_id == registered["model"].run_id
    assert info.bundle_version == registered["model"].version
    assert "champion" in info.aliases
    assert "churn_auc" in info.metrics


@pytest.mark.slow
def test_list_versions_shows_the_alias(registered, tracking_uri):
    versions = registry.list_versions(NAME, tracking_uri)
    champ = [v for v in versions if v.version == registered["version"]]
    assert champ and champ[0].aliases == ("champion",)


@pytest.mark.slow
def test_resolve_models_dir_downloads_the_champion_bundle(registered, tracking_uri, tmp_path):
    from makegood.modeling.bundle import load_bundle

    cache = tmp_path / "registry"
    # what `makegood recommend --models-dir models:/...` and the server receive: a Path
    arg = Path(f"models:/{NAME}@champion")
    folder = registry.resolve_models_dir(arg, tracking_uri, cache_dir=cache)
    assert folder == cache / NAME / registered["version"]
    bundle = load_bundle(folder)
    assert bundle.version == registered["model"].version
    assert bundle.meta["mlflow_run_id"] == registered["model"].run_id
    # a second call uses the cache (same folder, nothing downloaded again)
    stamp = (folder / "bundle.json").stat().st_mtime_ns
    assert registry.resolve_models_dir(str(arg), tracking_uri, cache_dir=cache) == folder
    assert (folder / "bundle.json").stat().st_mtime_ns == stamp
    # by version number too
    by_version = registry.resolve_model_uri(
        f"models:/{NAME}/{registered['version']}", tracking_uri, cache_dir=cache
    )
    assert by_version == folder


@pytest.mark.slow
def test_resolved_champion_recommends_like_the_trained_model(
    registered, tracking_uri, tmp_path, small_world
):
    from makegood.api import load_complaints, load_model

    folder = registry.resolve_models_dir(
        f"models:/{NAME}@champion", tracking_uri, cache_dir=tmp_path
    )
    champion = load_model(folder)
    complaints = load_complaints(small_world["complaints"]).head(50)
    got = champion.recommend(complaints, budget=500.0).frame
    want = registered["model"].recommend(complaints, budget=500.0).frame
    assert got["resolution"].tolist() == want["resolution"].tolist()


def test_plain_path_passes_through(tmp_path):
    assert registry.resolve_models_dir(tmp_path / "models") == tmp_path / "models"
    assert registry.resolve_models_dir("models") == Path("models")


@pytest.mark.slow
def test_unknown_alias_and_version_name_the_problem(registered, tracking_uri, tmp_path):
    with pytest.raises(ModelNotFoundError, match="alias 'nope'"):
        registry.resolve_models_dir(f"models:/{NAME}@nope", tracking_uri, cache_dir=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no version '999'"):
        registry.promote(NAME, 999, tracking_uri=tracking_uri)


@pytest.mark.slow
def test_register_unknown_run_raises(tracking_uri):
    with pytest.raises(ModelNotFoundError, match="not found"):
        registry.register_bundle("0" * 32, tracking_uri, name=NAME)


@pytest.mark.parametrize(
    "spec", ["models:/makegood", "models:/makegood/latest", "runs:/abc/bundle", "models:/a@b/c"]
)
def test_parse_model_uri_rejects(spec):
    with pytest.raises(ModelNotFoundError, match="models:/<name>@<alias>"):
        registry.parse_model_uri(spec)


@pytest.mark.slow
def test_cli_models_list_register_promote(registered, tracking_uri):
    from typer.testing import CliRunner

    from makegood.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["models", "list", "--name", NAME, "--tracking-uri", tracking_uri])
    assert out.exit_code == 0, out.output
    assert "champion" in out.output
    out = runner.invoke(
        app,
        [
            "models",
            "register",
            "--models-dir",
            str(registered["models_dir"]),
            "--name",
            NAME,
            "--tracking-uri",
            tracking_uri,
        ],
    )
    assert out.exit_code == 0, out.output
    new = out.output.split("version ")[1].split()[0]
    out = runner.invoke(
        app,
        [
            "models",
            "promote",
            "--version",
            new,
            "--name",
            NAME,
            "--alias",
            "challenger",
            "--tracking-uri",
            tracking_uri,
        ],
    )
    assert out.exit_code == 0, out.output
    assert registry.champion_info(NAME, "challenger", tracking_uri).version == new
    assert registry.champion_info(NAME, tracking_uri=tracking_uri).version == registered["version"]
    out = runner.invoke(
        app,
        ["models", "promote", "--version", "999", "--name", NAME, "--tracking-uri", tracking_uri],
    )
    assert out.exit_code == 1


@pytest.mark.slow
def test_registered_pyfunc_recommends_under_a_budget(registered, tracking_uri, small_world):
    import mlflow
    import pandas as pd

    mlflow.set_tracking_uri(tracking_uri)
    policy = mlflow.pyfunc.load_model(f"models:/{NAME}/{registered['version']}")
    raw = pd.read_csv(small_world["complaints"], dtype=str, keep_default_na=False).head(40)
    out = policy.predict(raw, params={"budget": 100.0})
    assert len(out) == 40
    assert out["compensation"].sum() <= 100.0
    assert set(out["resolution"]) <= set(registered["catalog"].ids)
