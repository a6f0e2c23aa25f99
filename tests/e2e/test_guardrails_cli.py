"""``makegood recommend`` with a catalog carrying guardrails (issue 26), end to end: what
is owed is paid, the cap holds counting ``--history``, a budget that cannot fund the
floors stops with one line naming the amount, and without guardrails nothing changes."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from makegood.cli import app
from makegood.contract.files import read_complaints, read_history

runner = CliRunner()

GUARDRAILS = [
    {
        "id": "owed_is_refunded",
        "when": {"issue_type": ["billing_error", "fee_dispute"]},
        "compensation_at_least": "disputed_amount",
    },
    {"id": "per_customer_cap", "max_compensation_per_customer": {"amount": 150, "days": 90}},
]


@pytest.fixture(scope="module")
def guarded_catalog(small_world, tmp_path_factory):
    data = yaml.safe_load(small_world["catalog"].read_text())
    path = tmp_path_factory.mktemp("guarded") / "catalog.yaml"
    path.write_text(yaml.safe_dump({**data, "guardrails": GUARDRAILS}, sort_keys=False))
    return path


def _recommend(trained, small_world, catalog, budget, out, *extra: str):
    return runner.invoke(
        app,
        [
            "recommend",
            "--complaints",
            str(small_world["complaints"]),
            "--catalog",
            str(catalog),
            "--budget",
            str(budget),
            "--output",
            str(out),
            "--models-dir",
            str(trained["models_dir"]),
            "--quiet",
            *extra,
        ],
    )


def test_recommend_pays_what_is_owed_and_keeps_the_cap(
    trained, small_world, guarded_catalog, tmp_path
):
    history = ["--history", str(small_world["history"])]
    short = _recommend(trained, small_world, guarded_catalog, 1, tmp_path / "no.csv", *history)
    assert short.exit_code == 1
    lines = [ln for ln in short.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot fund what the guardrails require" in lines[0], lines
    needed = float(re.search(r"must be at least (\d+\.\d\d)", lines[0]).group(1))
    assert not (tmp_path / "no.csv").exists()

    budget = round(needed + 3000, 2)
    out = tmp_path / "recs.csv"
    res = _recommend(trained, small_world, guarded_catalog, budget, out, *history)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out, dtype={"complaint_id": str}, keep_default_na=False)
    df = read_complaints(small_world["complaints"])
    assert got["complaint_id"].tolist() == df["complaint_id"].tolist()
    assert list(got.columns[:7]) == [
        "complaint_id",
        "resolution",
        "compensation",
        "expected_satisfaction",
        "churn_probability",
        "retention_lift",
        "net_value",
    ]
    assert list(got.columns[-2:]) == ["guardrail", "guardrail_reason"]
    assert got["compensation"].sum() <= budget

    # owed: at least the disputed amount, up to the largest refund the catalog allows
    owed = df["issue_type"].isin(["billing_error", "fee_dispute"]).to_numpy()
    largest = df["disputed_amount"].clip(upper=500).to_numpy()  # refund_disputed's max
    assert (got["compensation"].to_numpy()[owed] >= largest[owed] - 0.005).all()
    assert (got.loc[owed & (df["disputed_amount"] > 0).to_numpy(), "guardrail"] != "").any()

    # the cap: history as recorded plus the batch, over every 90-day window
    past = read_history(small_world["history"])[["customer_id", "opened_at", "compensation"]]
    batch = pd.DataFrame(
        {
            "customer_id": df["customer_id"],
            "opened_at": df["opened_at"],
            "compensation": got["compensation"],
            "owed": owed,
        }
    )
    span = pd.Timedelta(days=90)
    for c, t in zip(batch["customer_id"], batch["opened_at"], strict=True):
        b = batch[(batch["customer_id"] == c) & batch["opened_at"].between(t - span, t)]
        h = past[(past["customer_id"] == c) & past["opened_at"].between(t - span, t)]
        total = h["compensation"].sum() + b["compensation"].sum()
        must = h["compensation"].sum() + b.loc[b["owed"], "compensation"].sum()
        assert total <= max(150.0, must) + 0.01, (c, t, total)


def test_without_guardrails_the_output_has_no_new_columns(trained, small_world, tmp_path):
    out = tmp_path / "plain.csv"
    res = _recommend(trained, small_world, small_world["catalog"], 3000, out)
    assert res.exit_code == 0, res.output
    got = pd.read_csv(out)
    assert "guardrail" not in got.columns and "guardrail_reason" not in got.columns
    lines = (tmp_path / "plain.rankings.jsonl").read_text()
    assert '"guardrail"' not in lines
