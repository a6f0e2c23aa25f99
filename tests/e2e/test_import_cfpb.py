"""`makegood import`, and `train` / `recommend --mapping`, end to end: the shared CFPB export
through docs/examples/cfpb.yaml, and the command's errors on small exports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from makegood.cli import app
from makegood.contract.catalog import load_catalog
from makegood.contract.files import read_history
from makegood.contract.mapping.parsing import load_mapping
from makegood.modeling.bundle import load_bundle

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "docs" / "examples" / "cfpb.yaml"
CATALOG = ROOT / "docs" / "examples" / "cfpb_catalog.yaml"
CFPB = Path("/work/shared/data/cfpb/cfpb_complaints_2011_2015.parquet")
FAST = ["--n-estimators", "60", "--n-folds", "2", "--no-select", "--threads", "1", "--quiet"]

needs_cfpb = pytest.mark.skipif(
    not CFPB.is_file(), reason=f"the shared CFPB export is not at {CFPB} (see its README)"
)


@pytest.fixture(scope="module")
def cfpb(tmp_path_factory) -> dict[str, Path]:
    """The shared export as CSV, whole and split in time (received before 2015 / after)."""
    d = tmp_path_factory.mktemp("cfpb")
    raw = pd.read_parquet(CFPB)
    early = raw["Date received"] < "2015-01-01"
    paths = {"all": d / "cfpb.csv", "early": d / "early.csv", "late": d / "late.csv"}
    raw.to_csv(paths["all"], index=False)
    raw[early].to_csv(paths["early"], index=False)
    raw[~early].drop(columns=["Company response to consumer", "Consumer disputed?"]).to_csv(
        paths["late"], index=False
    )
    return {"dir": d, **paths}


@needs_cfpb
def test_import_writes_a_contract_file(cfpb):
    out = cfpb["dir"] / "history.csv"
    args = ["import", "--export", str(cfpb["all"]), "--mapping", str(MAPPING)]
    res = runner.invoke(app, [*args, "--catalog", str(CATALOG), "--output", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "10054  kept of 10075 read (21 dropped)" in res.output
    assert "'Closed with relief': 19, 'Untimely response': 2" in res.output
    assert "lifetime_value" in res.output and "constant 1000 *" in res.output
    history = read_history(out, catalog=load_catalog(CATALOG))
    assert len(history) == 10054 and history["complaint_id"].is_unique
    assert history["churned_90d"].mean() == pytest.approx(0.213, abs=0.005)
    assert {"product", "issue", "company", "state"} <= set(history.columns)
    assert (history["complaint_text"] != "").sum() == 643


@needs_cfpb
def test_dry_run_shows_rows_and_writes_nothing(cfpb):
    out = cfpb["dir"] / "dry.csv"
    args = ["import", "--export", str(cfpb["all"]), "--mapping", str(MAPPING), "--dry-run"]
    res = runner.invoke(app, [*args, "--rows", "2", "--output", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "first 2 rows mapped" in res.output and "2011-12-02T17:00:00Z" in res.output
    assert "every mapped row meets the contract; nothing written" in res.output
    assert not out.exists()


@pytest.mark.slow
@needs_cfpb
def test_train_and_recommend_read_the_export_through_the_mapping(cfpb, tmp_path):
    models = tmp_path / "models"
    res = runner.invoke(
        app,
        [
            "train",
            "--history",
            str(cfpb["early"]),
            "--mapping",
            str(MAPPING),
            "--catalog",
            str(CATALOG),
            "--models-dir",
            str(models),
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}",
            *FAST,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "churn_auc" in res.output
    # the export's own columns (the mapping's features:) are model inputs, pooled
    assert "what the log supports" in res.output and "changes the resolution of" in res.output
    assert "doubly robust gain per complaint over the logged policy" in res.output
    spec = load_bundle(models).engine.spec
    assert spec.extras is not None and set(spec.extras.kinds) == set(load_mapping(MAPPING).features)
    assert spec.categories["company"][-2:] == ["(other)", "(missing)"]
    recs_path = tmp_path / "recs.csv"
    res = runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(cfpb["late"]),
            "--mapping",
            str(MAPPING),
            "--catalog",
            str(CATALOG),
            "--budget",
            "2000",
            "--models-dir",
            str(models),
            "--output",
            str(recs_path),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    recs = pd.read_csv(recs_path, dtype={"complaint_id": str})
    late = pd.read_csv(cfpb["late"], dtype={"Complaint ID": str})
    assert len(recs) == len(late) == 772
    assert set(recs["resolution"]) <= set(load_catalog(CATALOG).ids)
    assert recs["compensation"].sum() <= 2000 + 1e-6
    assert recs["churn_probability"].between(0, 1).all()
    out = tmp_path / "report"
    args = ["report", "budget", "--history", str(cfpb["early"]), "--mapping", str(MAPPING)]
    res = runner.invoke(
        app, [*args, "--models-dir", str(models), "--budgets", "2000", "--out", str(out), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    html = (out / "budget_report.html").read_text()
    assert "What the training log supports" in html and "changes the resolution of" in html


# --------------------------------------------------------------------------- errors

SMALL_MAPPING = """
columns:
  complaint_id: {from: Ref}
  customer_id: {generate: row_number}
  opened_at: {from: Date, date: {timezone: Europe/London, time_of_day: "09:00"}}
  channel: {constant: web}
  issue_type: {from: Topic}
  severity: {constant: 3}
  disputed_amount: {constant: 0}
  tenure_months: {constant: 0}
  annual_value: {constant: 0}
  lifetime_value: {constant: 100}
  segment: {constant: consumer}
  prior_complaints_12m: {constant: 0}
  resolution: {from: Answer, map: {Explained: apology}, unmapped: drop}
  compensation: {constant: 0}
outcome: {from: Disputed, map: {Yes: 1, No: 0}}
"""


def small_export(tmp_path: Path, dates: list[str]) -> Path:
    n = len(dates)
    path = tmp_path / "export.csv"
    pd.DataFrame(
        {
            "Ref": [f"r{i}" for i in range(n)],
            "Date": dates,
            "Topic": ["card"] * n,
            "Answer": ["Explained", "Pending", *["Explained"] * (n - 2)],
            "Disputed": ["No"] * n,
        }
    ).to_csv(path, index=False)
    return path


def invoke_import(tmp_path: Path, export: Path, mapping_text: str, *extra: str):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_text)
    args = ["import", "--export", str(export), "--mapping", str(mapping), "--quiet", *extra]
    return runner.invoke(app, args)


def test_import_writes_parquet_and_csv_that_read_back(tmp_path):
    export = small_export(tmp_path, ["2015-01-01", "2015-01-02", "2015-06-03"])
    for name in ("out.csv", "out.parquet"):
        res = invoke_import(tmp_path, export, SMALL_MAPPING, "--output", str(tmp_path / name))
        assert res.exit_code == 0, res.output
        h = read_history(tmp_path / name)
        # 09:00 in London: GMT in January, BST (UTC+1) in June
        assert h["opened_at"].tolist() == [
            pd.Timestamp("2015-01-01 09:00"),
            pd.Timestamp("2015-06-03 08:00"),
        ]
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically: no temporary left


def test_a_bad_mapping_fails_naming_the_key(tmp_path):
    export = small_export(tmp_path, ["2015-01-01", "2015-01-02"])
    bad = SMALL_MAPPING.replace("unmapped: drop", "unmapped: ignore")
    res = invoke_import(tmp_path, export, bad, "--output", str(tmp_path / "out.csv"))
    assert res.exit_code == 2
    assert "columns.resolution.unmapped: must be one of error, drop, keep" in res.output
    assert not (tmp_path / "out.csv").exists()


def test_a_bad_row_fails_naming_the_export_row_and_column(tmp_path):
    export = small_export(tmp_path, ["2015-01-01", "2015-01-02", "not a date"])
    res = invoke_import(tmp_path, export, SMALL_MAPPING, "--output", str(tmp_path / "out.csv"))
    assert res.exit_code == 2
    assert f"{export}, row 3, complaint_id 'r2', column 'Date -> opened_at'" in res.output
    assert not (tmp_path / "out.csv").exists()
    res = invoke_import(tmp_path, export, SMALL_MAPPING, "--dry-run")
    assert res.exit_code == 2 and "the contract rejects the mapped rows" in res.output


def test_quarantine_keeps_the_good_rows(tmp_path):
    export = small_export(tmp_path, ["2015-01-01", "2015-01-02", "not a date"])
    out, aside = tmp_path / "out.csv", tmp_path / "aside.csv"
    res = invoke_import(
        tmp_path, export, SMALL_MAPPING, "--output", str(out), "--quarantine", str(aside)
    )
    assert res.exit_code == 0, res.output
    assert "1 rows broke the contract" in res.output
    assert len(read_history(out)) == 1 and pd.read_csv(aside)["export_row"].tolist() == [3]


def test_output_or_dry_run_is_required(tmp_path):
    export = small_export(tmp_path, ["2015-01-01", "2015-01-02"])
    res = invoke_import(tmp_path, export, SMALL_MAPPING)
    assert res.exit_code == 2 and "--output is required" in res.output


def test_dask_engine_refuses_a_mapping(tmp_path):
    args = ["recommend", "--complaints", "x.csv", "--catalog", "c.yaml", "--budget", "1"]
    res = runner.invoke(
        app, [*args, "--output", "o.csv", "--engine", "dask", "--mapping", "m.yaml"]
    )
    assert res.exit_code == 2 and "--mapping is not supported with --engine dask" in res.output
