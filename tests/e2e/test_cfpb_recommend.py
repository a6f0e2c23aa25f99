"""``makegood train`` and ``recommend`` on real CFPB complaints mapped to the contract.

The shared export (``../shared/data/cfpb/``; skipped where absent) carries no customer id,
amounts, tenure or survey: those contract columns get neutral values. The resolution is
the company's response; the outcome to avoid (``churned_90d``) is the customer disputing
it. The 643 rows with the customer's own words are scored, so the text layer reads real
letters inside the real command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from makegood.cli import app

CFPB = Path(
    os.environ.get(
        "MAKEGOOD_CFPB",
        Path(__file__).resolve().parents[3]
        / "shared"
        / "data"
        / "cfpb"
        / "cfpb_complaints_2011_2015.parquet",
    )
)
FAST = ["--n-estimators", "60", "--n-folds", "2", "--threads", "1", "--quiet"]
RESOLUTIONS = {
    "Closed with explanation": "explanation",
    "Closed with non-monetary relief": "non_monetary_relief",
    "Closed with monetary relief": "monetary_relief",
    "Closed with relief": "monetary_relief",
    "Closed": "closed",
    "Closed without relief": "closed",
    "Untimely response": "closed",
}
CATALOG = """\
currency: USD
baseline: explanation
resolutions:
  - id: explanation
    label: Closed with explanation
    handling_cost: 2.0
  - id: closed
    label: Closed
    handling_cost: 1.0
  - id: non_monetary_relief
    label: Closed with non-monetary relief
    handling_cost: 5.0
  - id: monetary_relief
    label: Closed with monetary relief
    handling_cost: 5.0
    compensation: {fixed: 50}
"""


def _slug(x: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(x).lower()).strip("_") or "other"


def to_contract(raw: pd.DataFrame) -> pd.DataFrame:
    """CFPB export rows as contract history rows; unknown fields at neutral values.

    271 rows of the export lack a ``Complaint ID``: they get one from their row number."""
    ids = raw["Complaint ID"].astype("string")
    ids = ids.fillna(pd.Series([f"row-{i}" for i in range(len(raw))], index=raw.index))
    out = pd.DataFrame(
        {
            "complaint_id": ids,
            "customer_id": "cfpb-" + ids,  # the export has no customer id
            "opened_at": pd.to_datetime(raw["Date received"]).dt.strftime("%Y-%m-%dT00:00:00"),
            "channel": raw["Submitted via"].fillna("web").map(_slug),
            "issue_type": raw["Issue"].map(_slug),
            "severity": 3,
            "emotion": "",
            "complaint_text": raw["Consumer complaint narrative"].fillna(""),
            "disputed_amount": 0.0,
            "tenure_months": 24,
            "annual_value": 500.0,
            "lifetime_value": 1000.0,
            "segment": raw["Product"].map(_slug),
            "prior_complaints_12m": 0,
            "resolution": raw["Company response to consumer"].map(RESOLUTIONS).fillna("closed"),
            "compensation": 0.0,
            "churned_90d": (raw["Consumer disputed?"] == "Yes").astype(int),
        }
    )
    out.loc[out["resolution"] == "monetary_relief", "compensation"] = 50.0
    return out


@pytest.fixture(scope="module")
def cfpb_files(tmp_path_factory) -> dict[str, Path]:
    if not CFPB.exists():
        pytest.skip(f"the shared CFPB export is not at {CFPB}")
    d = tmp_path_factory.mktemp("cfpb")
    history = to_contract(pd.read_parquet(CFPB))
    complaints = history[history["complaint_text"] != ""].drop(
        columns=["resolution", "compensation", "churned_90d"]
    )
    paths = {
        "history": d / "history.csv",
        "complaints": d / "complaints.csv",
        "catalog": d / "catalog.yaml",
    }
    history.to_csv(paths["history"], index=False)
    complaints.to_csv(paths["complaints"], index=False)
    paths["catalog"].write_text(CATALOG, "utf-8")
    return {"dir": d, **paths}


@pytest.mark.slow
def test_recommend_runs_end_to_end_on_real_complaints(cfpb_files):
    runner = CliRunner()
    d, models = cfpb_files["dir"], cfpb_files["dir"] / "models"
    uri = f"sqlite:///{d / 'mlruns' / 'mlflow.db'}"
    res = runner.invoke(
        app,
        [
            "train",
            "--history",
            str(cfpb_files["history"]),
            "--catalog",
            str(cfpb_files["catalog"]),
            "--models-dir",
            str(models),
            "--tracking-uri",
            uri,
            *FAST,
        ],
    )
    assert res.exit_code == 0, res.output
    out = d / "recs.csv"
    res = runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(cfpb_files["complaints"]),
            "--catalog",
            str(cfpb_files["catalog"]),
            "--budget",
            "5000",
            "--output",
            str(out),
            "--models-dir",
            str(models),
        ],
    )
    assert res.exit_code == 0, res.output
    recs = pd.read_csv(out)
    complaints = pd.read_csv(cfpb_files["complaints"])
    assert len(recs) == len(complaints) == 643
    assert set(recs["complaint_id"].astype(str)) == set(complaints["complaint_id"].astype(str))
    assert recs["compensation"].sum() <= 5000 + 1e-6
    assert recs["churn_probability"].between(0, 1).all()
    assert set(recs["resolution"]) <= {
        "explanation",
        "closed",
        "non_monetary_relief",
        "monetary_relief",
    }
