"""``makegood report budget`` and the finance API router."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from makegood.cli.report import parse_budgets
from makegood.errors import BudgetError


def test_parse_budgets():
    assert parse_budgets("10000, 20_000", None) == [10000.0, 20000.0]
    assert parse_budgets(None, "0:50000:25000") == [0.0, 25000.0, 50000.0]
    assert parse_budgets(None, None) is None
    with pytest.raises(BudgetError, match="--budgets"):
        parse_budgets("1,x", None)
    with pytest.raises(BudgetError, match="START:STOP:STEP"):
        parse_budgets(None, "0:10")
    with pytest.raises(BudgetError, match="STEP > 0"):
        parse_budgets(None, "0:10:0")


def test_help_stays_quick_and_lists_report():
    heavy = ["matplotlib", "jinja2", "lightgbm", "mlflow", "makegood.reporting.budget"]
    code = f"import sys, makegood.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    from typer.testing import CliRunner

    from makegood.cli import app

    res = CliRunner().invoke(app, ["report", "budget", "--help"])
    assert res.exit_code == 0 and "--budget-range" in res.output


@pytest.mark.slow
def test_cli_writes_html_json_csv_and_pdf(trained, small_world, tmp_path):
    from typer.testing import CliRunner

    from makegood.cli import app

    out = tmp_path / "reports"
    args = ["report", "budget", "--history", str(small_world["history"]),
            "--catalog", str(small_world["catalog"]), "--models-dir", str(trained["models_dir"]),
            "--budgets", "5000", "--budget-range", "10000:20000:10000", "--period", "days:30",
            "--out", str(out), "--pdf", "--quiet"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    d = json.loads((out / "budget_report.json").read_text())
    assert [c["budget"] for c in d["chosen"]] == [5000.0, 10000.0, 20000.0]
    assert d["meta"]["pdf_method"] in ("chromium", "matplotlib")
    assert (out / "budget_report.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "budget_report.html").stat().st_size > 10_000
    assert (out / "budget_report.frontier.csv").read_text().startswith("budget,spend,")
    assert "another 10,000 buys" in res.output and "amounts per 30 days" in res.output
    assert d["headline"]["period"]["name"] == "days:30"
    res = CliRunner().invoke(app, [*args[:-6], "--period", "fortnight", "--out", str(out)])
    assert res.exit_code == 1 and "--period must be month, quarter, year or days:N" in res.output


@pytest.mark.slow
def test_cli_fails_with_one_line_reason(trained, small_world, tmp_path):
    from typer.testing import CliRunner

    from makegood.cli import app

    res = CliRunner().invoke(app, ["report", "budget", "--models-dir", str(trained["models_dir"]),
                                   "--history", str(small_world["history"]), "--budgets", "-5",
                                   "--out", str(tmp_path), "--quiet"])  # fmt: skip
    assert res.exit_code == 1
    assert "budgets must be finite amounts >= 0" in res.output
    assert not (tmp_path / "budget_report.json").exists()


def test_pdf_falls_back_to_matplotlib(tmp_path, monkeypatch):
    from makegood.reporting import export

    monkeypatch.setenv("MAKEGOOD_CHROMIUM", str(tmp_path / "no-such-chromium"))
    d = _tiny_report_dict()
    html = tmp_path / "r.html"
    html.write_text("<html></html>")
    assert export.write_pdf(html, tmp_path / "r.pdf", d) == "matplotlib"
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"


def _tiny_report_dict() -> dict:
    ci = {"value": 1.0, "lo": 0.0, "hi": 2.0}
    gain = {"retained_value": ci, "customers_kept": ci, "net_value": ci}
    row = {"budget": 0.0, "spend": 0.0, "retained_value": 10.0, "retained_value_lo": 9.0,
           "retained_value_hi": 11.0, "net_value": 8.0, "net_value_lo": 7.0, "net_value_hi": 9.0,
           "mean_satisfaction": 5.0, "expected_churners": 1.0, "shadow_price": 0.0,
           "marginal_net_per_dollar": None, "marginal_retained_per_dollar": None,
           "chosen": True, "vs_today": gain}  # fmt: skip
    pacing = {
        "period_start": "2025-01-01",
        "daily": [{"cumulative_spend": 0.0, "budget_line": 0.0}],
    }
    extra = {"amount": 10000.0, "extra_retained_value": 0.0, "churners_avoided": 0.0,
             "extra_net_value": 0.0}  # fmt: skip
    chosen = {**row, "by_resolution": [{"resolution": "apology", "n": 1}], "pacing": pacing,
              "vs_baseline": {"churn_avoided": 0.0}, "net_value": 8.0, "extra": extra}  # fmt: skip
    meta = {"title": "t", "currency": "USD", "resolutions": ["apology"], "model_version": "v",
            "model_trained_at": "now", "mlflow_run_id": None, "mlflow_tracking_uri": None,
            "training_data_range": None, "n_complaints": 1, "complaint_set": "batch",
            "complaints_from": "a", "complaints_to": "b"}  # fmt: skip
    levels = {"spend": 0.0, "retained_value": 10.0, "customers_lost": 1.0, "net_value": 8.0}
    period = {"per": "a month", "per_word": "per month", "noun": "month"}
    answer = {"budget": 0.0, "basis": "recommended", "spend": 0.0, "gain": gain, "extra": extra}
    headline = {"period": period, "versus": "today's practice", "today": levels,
                "answers": [answer], "budget": 0.0, "basis": "recommended",
                "model_version": "v", "mlflow_run_id": None}  # fmt: skip
    return {"meta": meta, "assumptions": ["a"], "frontier": [row], "chosen": [chosen],
            "headline": headline, "frontier_mix": [[1]],
            "thresholds": {"unconstrained_spend": 0.0, "shadow_price_below_one_budget": 0.0,
                           "stops_paying": 0.0},
            "current_practice": None}  # fmt: skip


# ----------------------------------------------------------------------------- the API


@pytest.fixture(scope="module")
def finance_app(trained):
    from fastapi import Depends, FastAPI, Header, HTTPException

    from makegood.modeling.bundle import load_bundle
    from makegood.reporting.api import make_router
    from makegood.serving.errors import install_error_handlers

    def require_finance(x_role: str = Header(default="")) -> None:
        if x_role != "finance":
            raise HTTPException(403, "finance role required")

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(make_router(dependencies=[Depends(require_finance)]))
    app.state.bundle = load_bundle(trained["models_dir"])
    app.state.report_complaints = trained["history"]
    return app


@pytest.mark.slow
def test_api_get_json_and_html_behind_the_role(finance_app):
    from fastapi.testclient import TestClient

    with TestClient(finance_app) as client:
        assert client.get("/v1/reports/budget").status_code == 403
        h = {"x-role": "finance"}
        r = client.get("/v1/reports/budget?budgets=5000,10000&period_days=30", headers=h)
        assert r.status_code == 200, r.text
        d = r.json()
        assert [c["budget"] for c in d["chosen"]] == [5000.0, 10000.0]
        assert d["current_practice"] is not None  # the app's set is a history: replayed
        r = client.get("/v1/reports/budget?budgets=5000&format=html", headers=h)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "<svg" in r.text
        r = client.get("/v1/reports/budget?budgets=-1", headers=h)
        assert r.status_code == 422 and "budgets" in r.json()["detail"]
        r = client.get("/v1/reports/budget?budgets=20000&period=quarter", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["headline"]["period"]["name"] == "quarter"
        for bad in ("week", "days:0", "days:x"):
            r = client.get(f"/v1/reports/budget?budgets=20000&period={bad}", headers=h)
            assert r.status_code == 422 and "period" in r.json()["detail"], (bad, r.text)


@pytest.mark.slow
def test_api_post_complaints(finance_app, small_world):
    import pandas as pd
    from fastapi.testclient import TestClient

    rows = pd.read_csv(small_world["complaints"]).head(80)
    body = {"complaints": json.loads(rows.to_json(orient="records")), "budgets": [500]}
    with TestClient(finance_app) as client:
        r = client.post("/v1/reports/budget", json=body, headers={"x-role": "finance"})
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["meta"]["n_complaints"] == 80 and d["meta"]["complaints_source"] == "request body"
        bad = {"complaints": [{"complaint_id": "x"}], "budgets": [500]}
        r = client.post("/v1/reports/budget", json=bad, headers={"x-role": "finance"})
        assert r.status_code == 422
