"""The fairness audit (issue 26): groups, ratios to the best-treated group and flags, the
cost of a consistent rule by the doubly robust estimate, protected columns' associations,
and the command writing HTML, JSON and CSV."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from makegood.api import train
from makegood.cli import app
from makegood.contract.files import read_complaints
from makegood.errors import ConfigError
from makegood.reporting.fairness import (
    FLAG_BELOW,
    MIN_GROUP,
    association,
    fairness_audit,
    group_values,
    write_fairness,
)

GROUPS = ["segment", "channel", "digital_skill", "tenure_band"]


@pytest.fixture(scope="module")
def audit(bundle, trained, small_world):
    complaints = read_complaints(small_world["complaints"])
    return fairness_audit(bundle, trained["history"], complaints, GROUPS, protected=["segment"])


def test_tenure_band_and_unknown_groups():
    df = pd.DataFrame({"tenure_months": [0, 11, 12, 59, 60], "region": ["n", None, "s", "s", "n"]})
    assert group_values(df, "tenure_band").tolist() == [
        "under 1 year",
        "under 1 year",
        "1 to 3 years",
        "3 to 5 years",
        "5 years or more",
    ]
    assert group_values(df, "region").tolist() == ["n", "(unknown)", "s", "s", "n"]
    with pytest.raises(ConfigError, match="'age_band' is not a column of the file"):
        group_values(df, "age_band")


def test_association_is_one_for_the_same_information_and_small_for_noise():
    rng = np.random.default_rng(0)
    cats = rng.choice(np.array(["a", "b", "c"], dtype=object), 2000)
    codes = pd.Series(cats).map({"a": 0.0, "b": 1.0, "c": 2.0}).to_numpy()
    assert association(cats, codes, True, True) == pytest.approx(1.0)
    assert association(cats, codes, True, False) == pytest.approx(1.0)
    x = rng.normal(size=2000)
    assert association(x, 2 * x + 1, False, False) == pytest.approx(1.0)
    assert association(cats, rng.normal(size=2000), True, False) < 0.1
    assert association(x, rng.normal(size=2000), False, False) < 0.1


def test_every_group_has_both_policies_and_ratios_to_the_best(audit, trained):
    d = audit.to_dict()
    json.dumps(d, allow_nan=False)  # strict JSON
    assert [g["group"] for g in d["groups"]] == GROUPS
    history = trained["history"]
    for dim in d["groups"]:
        assert sum(r["today"]["n"] for r in dim["rows"]) == len(history)
        for policy in ("today", "makegood"):
            judged = [r[policy] for r in dim["rows"] if r[policy]["n"] >= MIN_GROUP]
            for key in ("share_ratio", "compensation_ratio"):
                ratios = [p[key] for p in judged if p[key] is not None]
                assert max(ratios) == pytest.approx(1.0)
            for p in judged:
                low = min(x for x in (p["share_ratio"], p["compensation_ratio"]) if x is not None)
                assert p["flag"] == (low < FLAG_BELOW)
    seg = next(g for g in d["groups"] if g["group"] == "segment")
    for r in seg["rows"]:
        mask = (history["segment"] == r["value"]).to_numpy()
        comp = history["compensation"].to_numpy()[mask]
        assert r["today"]["share_compensated"] == pytest.approx(np.mean(comp > 0.005), abs=1e-4)
        assert r["today"]["mean_compensation"] == pytest.approx(comp.mean(), abs=0.01)


def test_consistency_cost_is_the_paired_difference_with_its_interval(audit):
    c = audit.to_dict()["consistency"]
    cost = c["cost_per_complaint"]
    assert cost["lo"] <= cost["value"] <= cost["hi"]
    assert cost["value"] == pytest.approx(
        c["makegood"]["value"] - c["consistent"]["value"], abs=0.02
    )
    assert c["cost_total"]["value"] == pytest.approx(cost["value"] * c["n"], rel=1e-3, abs=1)
    assert 0 < c["n_cells"] <= 40 and 0 <= c["agreement"] <= 1


def test_protected_columns_are_reported_with_their_closest_inputs(audit, trained, tmp_path):
    (seg,) = audit.to_dict()["protected"]
    assert seg["column"] == "segment" and seg["read_by_models"]  # this model reads it
    assert len(seg["inputs"]) == 5
    assert all(i["input"] != "segment" for i in seg["inputs"])
    values = [i["association"] for i in seg["inputs"]]
    assert values == sorted(values, reverse=True) and 0 <= values[-1] <= values[0] <= 1
    # a model trained not to read it: listed from the bundle, never among its inputs
    model = train(
        trained["history"],
        trained["catalog"],
        holdout_fraction=0.0,
        protected=["segment"],
        n_estimators=20,
        n_folds=2,
        propensity_estimators=10,
        num_threads=1,
        use_text=False,
        select=False,
    )
    h = trained["history"]
    d = fairness_audit(model.bundle, h, h.drop(columns=["resolution"]).head(200), ["segment"])
    (p,) = d.to_dict()["protected"]
    assert p["column"] == "segment" and not p["read_by_models"]
    assert all(i["input"] != "segment" for i in p["inputs"])
    assert any("segment: the models never read it" in f for f in d.to_dict()["findings"])


def test_written_files_and_page_one(audit, tmp_path):
    paths = write_fairness(audit, tmp_path)
    assert sorted(paths) == ["csv", "html", "json"]
    d = json.loads(paths["json"].read_text())
    csv = pd.read_csv(paths["csv"])
    assert len(csv) == 2 * sum(len(g["rows"]) for g in d["groups"])
    page = paths["html"].read_text()
    first = page[: page.index('id="consistency"')]
    assert "Fairness audit" in first and "best-treated group" in first
    for line in d["findings"]:
        assert line.replace("'", "&#39;") in first or line in first


def test_cli_report_fairness(trained, small_world, tmp_path):
    runner = CliRunner()
    base = [
        "report",
        "fairness",
        "--history",
        str(small_world["history"]),
        "--complaints",
        str(small_world["complaints"]),
        "--catalog",
        str(small_world["catalog"]),
        "--models-dir",
        str(trained["models_dir"]),
        "--quiet",
    ]
    bad = runner.invoke(app, [*base, "--groups", "segment,age_band", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    lines = [ln for ln in bad.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "'age_band' is not a column" in lines[0]
    res = runner.invoke(
        app, [*base, "--groups", "segment,channel,digital_skill", "--out", str(tmp_path / "f")]
    )
    assert res.exit_code == 0, res.output
    d = json.loads((tmp_path / "f" / "fairness_report.json").read_text())
    assert [g["group"] for g in d["groups"]] == ["segment", "channel", "digital_skill"]
    assert math.isfinite(d["consistency"]["cost_per_complaint"]["value"])


def test_default_budget_pays_the_floors_when_todays_spend_cannot(bundle, trained, small_world):
    """A history that spent little, under a catalog whose floors need more: the audit's
    default budget rises to what the floors need and the page says so (an explicit
    budget below it is still an error naming the amount)."""
    from makegood.contract.catalog import parse_catalog
    from makegood.errors import GuardrailBudgetError

    owed = {
        "id": "owed_is_refunded",
        "when": {"issue_type": ["billing_error", "fee_dispute"]},
        "compensation_at_least": "disputed_amount",
    }
    railed = bundle.with_catalog(
        parse_catalog({**bundle.catalog.to_dict(), "guardrails": [owed]}, source="test")
    )
    h = trained["history"].assign(compensation=0.0)  # today's practice spent nothing
    complaints = read_complaints(small_world["complaints"]).head(300)
    d = fairness_audit(railed, h, complaints, ["segment"]).to_dict()
    assert d["meta"]["budget_raised_for_floors"] and d["meta"]["budget"] > 0
    with pytest.raises(GuardrailBudgetError) as e:
        fairness_audit(railed, h, complaints, ["segment"], budget=0.0)
    assert e.value.needed == pytest.approx(d["meta"]["budget"], abs=0.01)
