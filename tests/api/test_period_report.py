"""The live period report on a ledger filled by a day of real service traffic: its sums
equal the ones computed directly in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from apihelpers import ADMIN, AGENT, FINANCE, KEYS, period_now, unique
from fastapi.testclient import TestClient
from sqlalchemy import text

from dbtesting import BACKENDS, PG_URL, drop_schema, fresh_schema
from htmlnumbers import check_numbers
from makegood.reporting.html import render_period_html
from makegood.reporting.period import period_report
from makegood.serving.app import create_app
from makegood.serving.settings import Settings
from makegood.store.ledger import Ledger, make_engine

pytestmark = pytest.mark.slow

TEAMS = ("billing", "retention", None)
REASONS = ("customer asked for a refund", "goodwill after an outage")


def simulate_day(
    client: TestClient,
    complaints: list[dict],
    period: str,
    bounds: dict | None = None,
    amounts: tuple[float, float] = (4000, 900),
) -> dict:
    """A day of traffic: budgets set, recommendations served to three teams, most applied,
    some overridden or declined, some still held; outcomes recorded for half the settled.
    ``bounds`` (``period_start``/``period_end``, ISO) set the period's days; ``amounts``
    are the company-wide budget and the billing team's."""
    bounds = bounds or {}
    for budget in ({"amount": amounts[0]}, {"amount": amounts[1], "team": "billing"}):
        r = client.put("/v1/budget", json={"period": period, **budget, **bounds}, headers=ADMIN)
        r.raise_for_status()
    seen = {"overrides": 0, "held": 0, "outcomes": 0}
    for j, body in enumerate(complaints):
        team = TEAMS[j % len(TEAMS)]
        req = {"complaint": unique(body), "period": period}
        if team:
            req["team"] = team
        r = client.post("/v1/recommendations", json=req, headers=AGENT)
        assert r.status_code == 200, r.text
        rec = r.json()
        if rec["status"] != "reserved":
            continue
        did, step = rec["decision_id"], (j // len(TEAMS)) % 6  # every team, every step
        if step == 5:
            seen["held"] += 1
            continue
        if step == 4:
            decision = {"action": "declined", "reason": "customer said no"}
        elif step == 3:
            other = [
                c for c in rec["candidates"] if c["resolution"] != rec["recommended"]["resolution"]
            ]
            decision = {
                "action": "override",
                "resolution": other[-1]["resolution"],
                "reason": REASONS[j % 2],
            }
        else:
            decision = {"action": "accepted"}
        r = client.post(f"/v1/decisions/{did}", json=decision, headers=AGENT)
        if r.status_code == 409:  # an override that no longer fits the budget
            continue
        assert r.status_code == 200, r.text
        seen["overrides"] += step == 3
        if j % 2 == 0 and step != 4:
            outcome = {"decision_id": did, "churned_90d": j % 4 == 0, "satisfaction": j % 11}
            client.post("/v1/outcomes", json=outcome, headers=AGENT).raise_for_status()
            seen["outcomes"] += 1
    return seen


def _sql(url: str, schema: str | None, period: str) -> dict:
    """The same figures straight from the tables, in plain SQL."""
    engine = make_engine(url)
    t = (lambda name: f'"{schema}".{name}') if schema else (lambda name: name)
    d, o, b = t("decisions"), t("outcomes"), t("budgets")
    q = {
        "committed_by_team": f"SELECT COALESCE(team, '(no team)'), COUNT(*), "
        f"SUM(final_compensation_cents) FROM {d} WHERE period = :p AND status = 'committed' "
        "GROUP BY COALESCE(team, '(no team)')",
        "held_by_team": f"SELECT COALESCE(team, '(no team)'), COUNT(*), SUM(compensation_cents) "
        f"FROM {d} WHERE period = :p AND status = 'reserved' GROUP BY COALESCE(team, '(no team)')",
        "committed_by_resolution": f"SELECT final_resolution, COUNT(*), "
        f"SUM(final_compensation_cents) FROM {d} WHERE period = :p AND status = 'committed' "
        "GROUP BY final_resolution",
        "overrides": f"SELECT COUNT(*), COALESCE(SUM(COALESCE(final_compensation_cents, 0) "
        f"- compensation_cents), 0) FROM {d} WHERE period = :p AND final_resolution IS NOT NULL "
        "AND final_resolution <> recommended_resolution",
        "churn_outcomes": f"SELECT COUNT(*), SUM(CASE WHEN o.churned_90d THEN 1 ELSE 0 END) "
        f"FROM {d} d JOIN {o} o ON o.decision_id = d.decision_id WHERE d.period = :p "
        "AND d.final_resolution IS NOT NULL AND o.churned_90d IS NOT NULL",
        "budgets": f"SELECT SUM(amount_cents), SUM(committed_cents), SUM(reserved_cents) "
        f"FROM {b} WHERE period = :p",
        "statuses": f"SELECT status, COUNT(*) FROM {d} WHERE period = :p GROUP BY status",
    }
    with engine.connect() as conn:
        out = {k: conn.execute(text(v), {"p": period}).all() for k, v in q.items()}
    engine.dispose()
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_period_report_matches_sql_after_a_day_of_traffic(backend, trained, complaints, tmp_path):
    schema = fresh_schema("makegood_finance") if backend == "postgresql" else None
    url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = Settings(
        database_url=url,
        database_schema=schema,
        models_dir=trained["models_dir"],
        api_keys=",".join(f"{k}:{r}" for k, r in KEYS.items()),
        reload_poll_seconds=0,
    )
    period = period_now()
    try:
        with TestClient(create_app(settings)) as client:
            seen = simulate_day(client, complaints[:72], period)
            assert client.get("/v1/reports/period", headers=AGENT).status_code == 403
            r = client.get("/v1/reports/period", headers=FINANCE)
            assert r.status_code == 200, r.text
            rep = r.json()
            html = client.get("/v1/reports/period?format=html", headers=FINANCE)
            assert html.status_code == 200 and html.text.startswith("<!DOCTYPE html>")
            team = client.get("/v1/reports/period?team=billing", headers=FINANCE).json()
            missing = client.get("/v1/reports/period?period=1999-01", headers=FINANCE)
            assert missing.status_code == 404 and "1999-01" in missing.text
            bad = client.get("/v1/reports/period?period=a%20b", headers=FINANCE)
            assert bad.status_code == 422 and "period" in bad.text
        sql = _sql(url, schema, period)
        with Ledger(url, schema=schema) as ledger:  # the same numbers from the library
            direct = period_report(ledger, period).to_dict()
    finally:
        if schema:
            drop_schema(url, schema)

    assert seen["overrides"] > 0 and seen["held"] > 0 and seen["outcomes"] > 0
    cents = lambda x: round(x * 100)  # noqa: E731
    by_team = {r["team"]: r for r in rep["by_team"]}
    committed = {k: (n, c) for k, n, c in sql["committed_by_team"]}
    held = {k: (n, c) for k, n, c in sql["held_by_team"]}
    assert set(by_team) == set(committed) | set(held) == {"billing", "retention", "(no team)"}
    for k, row in by_team.items():
        assert (row["n_committed"], cents(row["committed"])) == committed.get(k, (0, 0)), k
        assert (row["n_held"], cents(row["held"])) == held.get(k, (0, 0)), k
    by_res = {r["resolution"]: r for r in rep["by_resolution"] if r["n_committed"]}
    assert {k: (r["n_committed"], cents(r["committed"])) for k, r in by_res.items()} == {
        k: (n, c) for k, n, c in sql["committed_by_resolution"]
    }
    amount, b_committed, b_held = sql["budgets"][0]
    t = rep["totals"]
    assert cents(rep["budget"]["amount"]) == amount == 490_000
    assert cents(t["committed"]) == b_committed and cents(t["held"]) == b_held
    assert {s: n for s, n in sql["statuses"]} == {
        s: t[f"n_{s}"]
        for s in ("committed", "reserved", "released", "expired", "declined")
        if t[f"n_{s}"]
    }
    n_over, extra = sql["overrides"][0]
    assert rep["overrides"]["n"] == n_over > 0
    assert cents(rep["overrides"]["extra_compensation"]) == extra
    assert sum(r["n"] for r in rep["overrides"]["by_resolution"]) == n_over
    n_churn, n_churned = sql["churn_outcomes"][0]
    cal = rep["calibration"]
    assert cal["n_churn"] == n_churn > 0
    assert cal["observed_churn"] == pytest.approx(n_churned / n_churn, abs=1e-4)
    assert cal["observed_churn_lo"] <= cal["observed_churn"] <= cal["observed_churn_hi"]
    assert sum(b["n"] for b in cal["bins"]) == n_churn
    # the day's commits are in the daily table and the forecast starts from them
    assert cents(sum(r["committed"] or 0 for r in rep["daily"])) == b_committed
    f = rep["forecast"]
    assert t["committed"] <= f["lo"] <= f["expected"] <= f["hi"] <= rep["budget"]["amount"]
    # one team against its own budget
    assert team["budget"]["amount"] == 900.0 and not team["budget"]["shared"]
    assert team["by_team"] == [by_team["billing"]]
    assert 0 < team["overrides"]["n"] < rep["overrides"]["n"]
    assert direct["by_team"] == rep["by_team"] and direct["overrides"] == rep["overrides"]
    parsed = check_numbers(render_period_html(direct), direct)
    assert len(parsed.cells) > 60
