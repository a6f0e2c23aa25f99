"""The report's numbers: the frontier (property), the chosen budgets, pacing, current practice."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from makegood.errors import BudgetError
from makegood.reporting.budget import budget_report
from makegood.reporting.frontier import frontier_rows
from makegood.reporting.outcomes import CandidateOutcomes


@st.composite
def candidates(draw) -> CandidateOutcomes:
    n = draw(st.integers(1, 12))
    k = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cost = np.round(rng.uniform(0, 100, (n, k)) * draw(st.sampled_from([1.0, 0.37])), 2)
    cost[:, 0] = 0.0  # the baseline costs nothing
    churn = rng.uniform(0, 1, (n, k))
    ltv = rng.uniform(0, 2000, n)
    hc = rng.uniform(0, 5, k)
    value = ltv[:, None] * (1 - churn) - cost - hc
    eligible = rng.random((n, k)) < 0.7
    eligible[:, 0] = True
    return CandidateOutcomes(
        value=value,
        value_lo=value - 10,
        value_hi=value + 10,
        cost=cost,
        eligible=eligible,
        churn=churn,
        churn_lo=np.clip(churn - 0.1, 0, 1),
        churn_hi=np.clip(churn + 0.1, 0, 1),
        satisfaction=rng.uniform(0, 10, (n, k)),
        lifetime_value=ltv,
        handling_cost=hc,
        baseline_index=0,
    )


@given(candidates(), st.lists(st.floats(0, 2000, allow_nan=False), min_size=1, max_size=15))
def test_frontier_is_non_decreasing_in_value_and_within_budget(cands, budgets):
    rows = frontier_rows(cands, budgets)
    assert [r["budget"] for r in rows] == [round(b, 2) + 0.0 for b in sorted(set(budgets))]
    for a, b in zip(rows, rows[1:], strict=False):
        assert b["net_value"] >= a["net_value"] - 0.01  # rounded to cents
        assert b["spend"] >= a["spend"] - 0.01
        assert b["shadow_price"] <= a["shadow_price"] + 1e-6
    for r in rows:
        assert r["spend"] <= r["budget"] + 0.005
        assert r["net_value_lo"] <= r["net_value"] <= r["net_value_hi"]
        assert r["retained_value_lo"] <= r["retained_value"] <= r["retained_value_hi"]


def test_frontier_marginal_values_are_finite_differences():
    # one complaint: upgrading 0 -> 1 costs 10 and adds 30 net value (slope 3)
    c = CandidateOutcomes(
        value=np.array([[100.0, 130.0]]),
        value_lo=np.array([[90.0, 120.0]]),
        value_hi=np.array([[110.0, 140.0]]),
        cost=np.array([[0.0, 10.0]]),
        eligible=np.ones((1, 2), bool),
        churn=np.array([[0.5, 0.3]]),
        churn_lo=np.array([[0.4, 0.2]]),
        churn_hi=np.array([[0.6, 0.4]]),
        satisfaction=np.array([[4.0, 7.0]]),
        lifetime_value=np.array([200.0]),
        handling_cost=np.array([0.0, 0.0]),
        baseline_index=0,
    )
    lo, hi = frontier_rows(c, [0.0, 10.0])
    assert lo["shadow_price"] == 3.0 and hi["shadow_price"] == 0.0
    assert lo["marginal_net_per_dollar"] == 3.0
    assert lo["marginal_retained_per_dollar"] == 4.0  # 40 retained for 10 dollars
    assert hi["marginal_net_per_dollar"] is None
    assert (lo["retained_value"], hi["retained_value"]) == (100.0, 140.0)


def test_frontier_refuses_budget_below_minimum_spend():
    c = CandidateOutcomes(
        value=np.array([[1.0]]), value_lo=np.array([[1.0]]), value_hi=np.array([[1.0]]),
        cost=np.array([[5.0]]), eligible=np.ones((1, 1), bool), churn=np.array([[0.1]]),
        churn_lo=np.array([[0.1]]), churn_hi=np.array([[0.1]]),
        satisfaction=np.array([[5.0]]), lifetime_value=np.array([10.0]),
        handling_cost=np.array([0.0]), baseline_index=0,
    )  # fmt: skip
    assert c.min_spend == 5.0
    with pytest.raises(BudgetError):
        frontier_rows(c, [1.0])


# ------------------------------------------------------------------ end to end (trained)


def _json_roundtrip(d: dict) -> dict:
    return json.loads(json.dumps(d, allow_nan=False))


@pytest.mark.slow
def test_replay_report_end_to_end(replay_report, trained):
    d = replay_report.to_dict()
    assert _json_roundtrip(d) == d
    meta = d["meta"]
    assert meta["mlflow_run_id"] and meta["mlflow_tracking_uri"] and meta["model_version"]
    assert meta["n_complaints"] == len(trained["history"])
    assert meta["training_data_range"] and meta["complaint_set"] == "history replayed"
    assert len(d["assumptions"]) >= 8

    fr = d["frontier"]
    assert len(fr) >= 30
    values = [r["net_value"] for r in fr]
    assert values == sorted(values)
    assert {r["budget"] for r in fr if r["chosen"]} == {5000.0, 20000.0}
    th = d["thresholds"]
    assert th["min_spend"] <= th["shadow_price_below_one_budget"] <= th["unconstrained_spend"]
    assert fr[-1]["shadow_price"] == 0.0

    for c in d["chosen"]:
        assert c["spend"] <= c["budget"]
        for dim in ("issue_type", "segment", "resolution"):
            parts = c["by_" + dim]
            assert sum(p["n"] for p in parts) == meta["n_complaints"]
            assert math.isclose(sum(p["spend"] for p in parts), c["spend"], abs_tol=0.05)
            assert math.isclose(
                sum(p["retained_value"] for p in parts), c["retained_value"], abs_tol=0.5
            )
        assert [p["resolution"] for p in c["by_resolution"]] == meta["resolutions"]
        e = c["extra"]
        assert e["amount"] == 10_000 and e["budget"] == c["budget"] + 10_000
        assert e["extra_net_value"] >= 0 and e["extra_spend"] <= 10_000 + c["unspent"] + 0.01
        assert c["ope_dr"]["lo"] <= c["ope_dr"]["value"] <= c["ope_dr"]["hi"]
        p = c["pacing"]
        assert p["period_days"] == 30 and len(p["daily"]) == 30
        assert p["expected_total_spend"] <= p["period_budget"] + 0.05
        assert math.isclose(
            p["daily"][-1]["cumulative_spend"], p["expected_total_spend"], abs_tol=0.05
        )
        assert all(
            r["spend_lo"] <= r["expected_spend"] + 0.01 <= r["spend_hi"] + 0.02 for r in p["daily"]
        )

    # a bigger budget never buys less
    a, b = d["chosen"]
    assert b["net_value"] >= a["net_value"]

    cp = d["current_practice"]
    assert cp["source"].startswith("the complaint set")
    assert math.isclose(cp["spend"], trained["history"]["compensation"].sum(), abs_tol=0.01)
    for est in ("ips", "snips", "dr"):
        x = cp["makegood_same_spend"][est]
        assert x["lo"] <= x["value"] <= x["hi"]
    assert cp["makegood_same_spend"]["spend"] <= cp["spend"] + 0.01


@pytest.mark.slow
def test_batch_report_defaults_and_frames(batch_report):
    d = batch_report.to_dict()
    assert d["meta"]["complaint_set"] == "batch of new complaints"
    assert d["meta"]["separate_history"] is True
    assert d["current_practice"]["source"] == "the separate history"
    # the default budget is the historical spend per complaint, applied to the batch
    assert len(d["chosen"]) == 1
    assert d["chosen"][0]["budget"] == d["current_practice"]["batch_same_spend_budget"]
    assert d["chosen"][0]["ope_dr"] is None  # no outcomes on a forecast batch
    frames = batch_report.to_frames()
    assert {"frontier", "chosen", "breakdown", "extra_budget", "pacing", "meta"} <= set(frames)
    assert len(frames["frontier"]) == len(d["frontier"])
    assert set(frames["breakdown"]["dimension"]) == {"issue_type", "segment", "resolution"}


@pytest.mark.slow
def test_bad_budgets_are_named(bundle, trained):
    h = trained["history"].head(50)
    with pytest.raises(BudgetError, match="finite amounts >= 0"):
        budget_report(bundle, h, [-1.0])
    with pytest.raises(BudgetError, match="at least one"):
        budget_report(bundle, h, [])
    with pytest.raises(BudgetError, match="period_days"):
        budget_report(bundle, h, [10.0], period_days=0)
