"""The finance report through the agents' service: finance may read it, agents may not."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from makegood.serving.app import create_app
from makegood.serving.settings import Settings


@pytest.mark.slow
def test_finance_reads_budget_report_on_the_live_model(trained, small_world, tmp_path):
    from makegood.contract.files import read_complaints

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        models_dir=trained["models_dir"],
        api_keys="fin:finance,agt:agent",
    )
    app = create_app(settings)
    with TestClient(app) as client:
        complaints = read_complaints(small_world["complaints"]).head(40)
        rows = json.loads(complaints.to_json(orient="records", date_format="iso"))
        body = {"complaints": rows, "budgets": [500.0], "use_history": False}
        r = client.post("/v1/reports/budget", json=body, headers={"X-API-Key": "agt"})
        assert r.status_code == 403
        r = client.post("/v1/reports/budget", json=body, headers={"X-API-Key": "fin"})
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["meta"]["model_version"] == client.get("/health").json()["model_version"]
