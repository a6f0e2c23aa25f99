"""The live period report on a ledger filled by hand (known times, rankings, outcomes):
every figure checked against arithmetic done here, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from dbtesting import BACKENDS, PG_URL, drop_schema, fresh_schema
from makegood.errors import BudgetNotFoundError
from makegood.policy.forecast import forecast_spend
from makegood.reporting.period import NO_TEAM, period_report
from makegood.store.ledger import DecisionRecord, Ledger

PERIOD = "2026-11"
NOW = datetime(2026, 11, 11)  # 10 of the month's 30 days gone


def _ranking(**net: float) -> list[dict]:
    """A served ranking: net value per resolution; churn 0.1 and satisfaction 7 for credit,
    0.3 and 5 for the others."""
    return [
        {
            "resolution": r,
            "net_value": v,
            "churn_probability": 0.1 if r == "credit" else 0.3,
            "expected_satisfaction": 7.0 if r == "credit" else 5.0,
        }
        for r, v in net.items()
    ]


@pytest.fixture(params=BACKENDS)
def ledger(request, tmp_path):
    if request.param == "postgresql":
        schema = fresh_schema("makegood_period")
        led = Ledger(PG_URL, schema=schema)
    else:
        schema, led = None, Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    led.create_all()
    yield led
    led.close()
    if schema:
        drop_schema(PG_URL, schema)


def _serve(led: Ledger, i: int, team: str | None, amount: float, day: int, **net: float) -> str:
    record = DecisionRecord(
        period=PERIOD,
        complaint_id=f"c{i}",
        customer_id=f"u{i}",
        recommended_resolution="credit",
        recommended_propensity=1.0,
        model_version="v1",
        ranking=_ranking(**net),
        team=team,
    )
    res = led.reserve(record, amount, ttl_seconds=40 * 86400, now=datetime(2026, 11, day, 10))
    assert res.ok
    return res.decision.decision_id


def test_period_figures_by_hand(ledger):
    led = ledger
    led.set_budget(PERIOD, 1000, now=datetime(2026, 11, 1))
    led.set_budget(PERIOD, 300, team="a", now=datetime(2026, 11, 1))
    nets = {"credit": 100.0, "apology": 70.0}
    d1 = _serve(led, 1, "a", 20, 3, **nets)
    d2 = _serve(led, 2, None, 50, 3, **nets)
    d3 = _serve(led, 3, "a", 20, 5, **nets)  # overridden: apology with 40 of goodwill
    d4 = _serve(led, 4, None, 30, 6, **nets)  # declined: nothing given
    _serve(led, 5, "b", 25, 10, **nets)  # still held
    led.commit(d1, now=datetime(2026, 11, 3, 12))
    led.commit(d2, now=datetime(2026, 11, 5, 12))
    led.release(
        d3, "customer wanted money", final_resolution="apology", final_compensation=40,
        now=datetime(2026, 11, 5, 13),
    )  # fmt: skip
    led.release(d4, "customer said no", now=datetime(2026, 11, 6, 12))
    led.record_outcome(d1, churned_90d=True, satisfaction=4.0)
    led.record_outcome(d2, churned_90d=False, satisfaction=8.0)
    led.record_outcome(d3, churned_90d=False)

    r = period_report(led, PERIOD, now=NOW).to_dict()
    t = r["totals"]
    assert (t["committed"], t["held"], t["committed_and_held"]) == (110.0, 25.0, 135.0)
    assert r["budget"]["amount"] == 1300.0 and r["budget"]["committed"] == 110.0
    assert t["plan_to_date"] == round(1300 * 10 / 30, 2)
    assert (t["n_committed"], t["n_reserved"], t["n_released"]) == (3, 1, 1)
    teams = {row["team"]: row for row in r["by_team"]}
    assert teams["a"]["committed"] == 60.0 and teams[NO_TEAM]["committed"] == 50.0
    assert teams["b"]["held"] == 25.0 and teams["b"]["committed"] == 0.0
    res = {row["resolution"]: row for row in r["by_resolution"]}
    assert res["credit"]["committed"] == 70.0 and res["apology"]["committed"] == 40.0
    assert res["credit"]["held"] == 25.0
    days = {row["date"]: row for row in r["daily"]}
    assert len(r["daily"]) == 30
    assert days["2026-11-03"]["committed"] == 20.0 and days["2026-11-05"]["committed"] == 90.0
    assert days["2026-11-10"]["cumulative_committed"] == 110.0
    assert days["2026-11-12"]["committed"] is None  # the future
    assert days["2026-11-30"]["plan_cumulative"] == 1300.0
    # forecast: the three commits so far, one hold, 3 of 4 settled holds committed
    f = forecast_spend([20, 50, 40], 10.0, 30.0, held=[25.0], commit_rate=0.75, cap=1300)
    assert r["forecast"]["expected"] == round(f.expected, 2)
    assert (r["forecast"]["lo"], r["forecast"]["hi"]) == (round(f.lo, 2), round(f.hi, 2))
    o = r["overrides"]
    assert (o["n"], o["extra_compensation"], o["net_value_forgone"]) == (1, 20.0, 30.0)
    assert o["by_reason"] == [
        {"reason": "customer wanted money", "n": 1, "extra_compensation": 20.0,
         "net_value_forgone": 30.0}
    ]  # fmt: skip
    assert o["by_resolution"][0]["recommended"] == "credit"
    assert o["by_resolution"][0]["given"] == "apology"
    assert o["n_released_nothing_given"] == 1
    c = r["calibration"]
    assert (c["n_churn"], c["n_satisfaction"]) == (3, 2)
    assert c["predicted_churn"] == round((0.1 + 0.1 + 0.3) / 3, 4)  # apology was given to d3
    assert c["observed_churn"] == round(1 / 3, 4)
    assert (c["predicted_satisfaction"], c["observed_satisfaction"]) == (7.0, 6.0)
    assert sum(b["n"] for b in c["bins"]) == 3
    assert r["meta"]["model_versions"] == ["v1"]

    a = period_report(led, PERIOD, team="a", now=NOW).to_dict()
    assert a["budget"]["amount"] == 300.0 and not a["budget"]["shared"]
    assert a["totals"]["committed"] == 60.0 and a["overrides"]["n"] == 1
    b = period_report(led, PERIOD, team="b", now=NOW).to_dict()
    assert b["budget"]["shared"] and b["budget"]["amount"] == 1000.0
    assert b["totals"]["held"] == 25.0 and b["totals"]["committed"] == 0.0
    assert any("company-wide" in x for x in b["assumptions"])


def test_a_period_without_budget_is_named(ledger):
    with pytest.raises(BudgetNotFoundError, match="2031-01"):
        period_report(ledger, "2031-01", now=NOW)
