"""The CLI end to end on a small simulated world: train, recommend, evaluate; bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from makegood.cli import app
from makegood.contract.files import read_complaints

runner = CliRunner()
FAST = ["--n-estimators", "80", "--n-folds", "2", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def cli_trained(small_world, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    models = d / "models"
    uri = f"sqlite:///{d / 'mlruns' / 'mlflow.db'}"
    res = runner.invoke(
        app,
        [
            "train",
            "--history",
            str(small_world["history"]),
            "--catalog",
            str(small_world["catalog"]),
            "--models-dir",
            str(models),
            "--tracking-uri",
            uri,
            *FAST,
        ],
    )
    assert res.exit_code == 0, res.output
    return {"dir": d, "models": models, "uri": uri, "output": res.output}


@pytest.mark.slow
def test_train_writes_bundle_and_mlflow_run(cli_trained):
    import mlflow

    models = cli_trained["models"]
    version = (models / "LATEST").read_text().strip()
    meta = json.loads((models / version / "bundle.json").read_text())
    assert meta["metrics"]["churn_auc"] > 0.55
    assert len(meta["data_hash"]) == 64
    mlflow.set_tracking_uri(cli_trained["uri"])
    run = mlflow.get_run(meta["mlflow_run_id"])
    assert run.data.tags["data_hash"] == meta["data_hash"]
    assert run.data.tags["git_commit"]
    # the settings' choice (none here: the folds are given) is printed, kept and logged
    assert meta["selection"] == run.data.tags["selection"] == "not selected (n_folds 2 given)"
    assert "settings       not selected (n_folds 2 given)" in cli_trained["output"]
    assert {"churn_auc", "churn_brier", "churn_ece", "sat_rmse"} <= set(run.data.metrics)
    arts = {a.path for a in mlflow.artifacts.list_artifacts(run_id=run.info.run_id)}
    assert "bundle" in arts
    logged = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    assert {"churn_model", "satisfaction_model", "propensity_model"} <= {m.name for m in logged}
    churn = next(m for m in logged if m.name == "churn_model")
    model = mlflow.pyfunc.load_model(churn.model_uri)
    assert model.metadata.signature is not None


@pytest.mark.slow
def test_recommend_respects_budget_and_writes_rankings(cli_trained, small_world, tmp_path):
    out = tmp_path / "recs.csv"
    budget = 3000.0
    res = runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(small_world["complaints"]),
            "--catalog",
            str(small_world["catalog"]),
            "--budget",
            str(budget),
            "--output",
            str(out),
            "--models-dir",
            str(cli_trained["models"]),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    recs = pd.read_csv(out)
    complaints = read_complaints(small_world["complaints"])
    assert list(recs["complaint_id"].astype(str)) == list(complaints["complaint_id"])
    for col in (
        "complaint_id",
        "resolution",
        "compensation",
        "expected_satisfaction",
        "churn_probability",
        "retention_lift",
        "net_value",
    ):
        assert col in recs.columns
    assert recs["compensation"].sum() <= budget
    assert recs["churn_probability"].between(0, 1).all()
    catalog = small_world["world"].catalog
    elig = catalog.eligibility_matrix(
        complaints["issue_type"].to_numpy(), complaints["severity"].to_numpy()
    )
    idx = [catalog.index(r) for r in recs["resolution"]]
    assert all(elig[i, k] for i, k in enumerate(idx))
    lines = (tmp_path / "recs.rankings.jsonl").read_text().splitlines()
    assert len(lines) == len(recs)
    first = json.loads(lines[0])
    nv = [c["net_value"] for c in first["candidates"]]
    assert nv == sorted(nv, reverse=True)
    # every line says what the customer asked for, in their own words
    texts = dict(
        zip(complaints["complaint_id"], complaints["complaint_text"].fillna(""), strict=True)
    )
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(p["customer_said"], list) for p in parsed)
    said = [(p["complaint_id"], s) for p in parsed for s in p["customer_said"]]
    assert said, "the simulated customers voice their motives in some texts"
    for cid, s in said:
        assert s["intent"] in {"compensation", "leaving", "recognition", "urgency"}
        assert s["quote"] and s["quote"] in texts[cid]


@pytest.mark.slow
def test_evaluate_capture_beats_standard_formula(cli_trained, small_world, tmp_path):
    out = tmp_path / "eval.json"
    res = runner.invoke(
        app,
        [
            "evaluate",
            "--truth",
            str(small_world["truth"]),
            "--complaints",
            str(small_world["complaints"]),
            "--history",
            str(small_world["history"]),
            "--catalog",
            str(small_world["catalog"]),
            "--models-dir",
            str(cli_trained["models"]),
            "--budget-fraction",
            "0.25",
            "--output",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    figures = json.loads(out.read_text())
    pol = figures["policies"]
    assert pol["makegood"]["spend"] <= figures["budget"] + 1e-6
    assert pol["makegood"]["capture"] > pol["standard_formula"]["capture"] + 0.1


def test_bad_history_fails_with_one_line_reason_and_writes_nothing(small_world, tmp_path):
    bad = tmp_path / "bad.csv"
    df = pd.read_csv(small_world["history"], dtype=str, keep_default_na=False)
    df.loc[3, "severity"] = "9"
    df.loc[5, "churned_90d"] = "maybe"
    df.to_csv(bad, index=False)
    models = tmp_path / "models"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "makegood.cli",
            "train",
            "--history",
            str(bad),
            "--catalog",
            str(small_world["catalog"]),
            "--models-dir",
            str(models),
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'm.db'}",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    first = proc.stderr.strip().splitlines()[0]
    assert "bad.csv" in first and "severity" in first and "row 4" in first
    assert "churned_90d" in proc.stderr  # every violation listed
    assert not models.exists() or not any(models.iterdir())
    assert not (tmp_path / "m.db").exists()


def _recommend_without_model(small_world, tmp_path, budget: str):
    return runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(small_world["complaints"]),
            "--catalog",
            str(small_world["catalog"]),
            "--budget",
            budget,
            "--output",
            str(tmp_path / "r.csv"),
            "--models-dir",
            str(tmp_path / "none"),
        ],
    )


def test_recommend_rejects_negative_budget(small_world, tmp_path):
    res = _recommend_without_model(small_world, tmp_path, "-5")
    assert res.exit_code != 0
    assert "budget" in res.output
    assert not (tmp_path / "r.csv").exists()


def test_recommend_without_model_says_train_first(small_world, tmp_path):
    res = _recommend_without_model(small_world, tmp_path, "100")
    assert res.exit_code == 1
    assert "makegood train" in res.output
