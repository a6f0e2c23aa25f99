"""Files written by other tools, exactly as the contract allows, through train + recommend.

The product is judged on data it has never seen: optional columns absent, Parquet,
other resolution ids, time zones, true/false flags, extra columns, unseen issue types.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from makegood.cli import app

runner = CliRunner()
FAST = ["--n-estimators", "40", "--n-folds", "2", "--threads", "1", "--quiet"]


def _variants(h: pd.DataFrame, c: pd.DataFrame, cat: dict) -> dict:
    ids = {r["id"]: f"option_{i}" for i, r in enumerate(cat["resolutions"])}
    renamed = yaml.safe_load(yaml.safe_dump(cat))
    renamed["baseline"] = ids[cat["baseline"]]
    for r in renamed["resolutions"]:
        r["id"] = ids[r["id"]]
    optional = ["emotion", "complaint_text", "digital_skill"]
    return {
        "optional_columns_absent": (
            h.drop(columns=[*optional, "logging_propensity", "satisfaction"]),
            c.drop(columns=optional),
            cat,
        ),
        "parquet": (h, c, cat),
        "other_resolution_ids": (h.assign(resolution=h["resolution"].map(ids)), c, renamed),
        "time_zone_offsets": (
            h.assign(
                opened_at=pd.to_datetime(h["opened_at"]).dt.strftime("%Y-%m-%d %H:%M:%S+02:00")
            ),
            c,
            cat,
        ),
        "true_false_churn": (
            h.assign(churned_90d=h["churned_90d"].map({"0": "false", "1": "TRUE"})),
            c,
            cat,
        ),
        "extra_columns_and_new_issue": (
            h.assign(region="north", loyalty_tier="2"),
            c.assign(region="south", issue_type="brand_new_issue"),
            cat,
        ),
    }


@pytest.fixture(scope="module")
def raw(small_world):
    h = pd.read_csv(small_world["history"], dtype=str, keep_default_na=False)
    c = pd.read_csv(small_world["complaints"], dtype=str, keep_default_na=False)
    cat = yaml.safe_load(small_world["catalog"].read_text())
    return _variants(h.head(1500), c.head(200), cat)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "optional_columns_absent",
        "parquet",
        "other_resolution_ids",
        "time_zone_offsets",
        "true_false_churn",
        "extra_columns_and_new_issue",
    ],
)
def test_train_and_recommend_accept_contract_variants(raw, name, tmp_path):
    h, c, cat = raw[name]
    ext = "parquet" if name == "parquet" else "csv"
    hp, cp = tmp_path / f"history.{ext}", tmp_path / f"complaints.{ext}"
    if ext == "parquet":
        h.to_parquet(hp)
        c.to_parquet(cp)
    else:
        h.to_csv(hp, index=False)
        c.to_csv(cp, index=False)
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(cat))
    models = tmp_path / "models"
    res = runner.invoke(
        app,
        [
            "train",
            "--history",
            str(hp),
            "--catalog",
            str(tmp_path / "catalog.yaml"),
            "--models-dir",
            str(models),
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}",
            *FAST,
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "recs.csv"
    budget = 1500.0
    res = runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(cp),
            "--catalog",
            str(tmp_path / "catalog.yaml"),
            "--budget",
            str(budget),
            "--output",
            str(out),
            "--models-dir",
            str(models),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    recs = pd.read_csv(out)
    assert len(recs) == len(c)
    assert recs["compensation"].sum() <= budget
    assert set(recs["resolution"]) <= {r["id"] for r in cat["resolutions"]}
    assert recs["churn_probability"].between(0, 1).all()
