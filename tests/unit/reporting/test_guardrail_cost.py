"""The finance report's method section shows what the catalog's guardrails cost against
the same budget without them (issue 26), and nothing new without guardrails."""

from __future__ import annotations

import pytest

from guardedmodels import GUARDRAILS
from makegood.contract.catalog import parse_catalog
from makegood.contract.files import read_complaints
from makegood.policy.budget import allocate
from makegood.policy.guardrails import Guardrails, guarded_allocate
from makegood.reporting.budget import budget_report
from makegood.reporting.html import render_html
from makegood.reporting.outcomes import CandidateOutcomes


@pytest.fixture(scope="module")
def guarded(bundle):
    return bundle.with_catalog(
        parse_catalog({**bundle.catalog.to_dict(), "guardrails": GUARDRAILS})
    )


@pytest.fixture(scope="module")
def batch(small_world):
    return read_complaints(small_world["complaints"])


def _table(report, table_id):
    return next((t for t in report.method["comparisons"] if t["id"] == table_id), None)


def test_the_cost_of_the_guardrails_is_the_net_value_given_up_at_the_same_budget(
    guarded, batch, trained
):
    report = budget_report(guarded, batch, [30_000, 60_000], history_df=trained["history"])
    table = _table(report, "guardrails")
    assert table is not None and table["columns"] == [30_000.0, 60_000.0]
    rows = {r["label"]: r["cells"] for r in table["rows"]}
    for without, with_, cost in zip(
        rows["net value without guardrails"],
        rows["net value with guardrails"],
        rows["what the guardrails cost"],
        strict=True,
    ):
        assert cost == pytest.approx(without - with_, abs=0.02)
        assert cost > 0  # floors and caps take choices away from the best ones
    assert all(n > 0 for n in rows["complaints a floor decided"])
    assert all(n > 0 for n in rows["complaints a cap held back"])

    # the same figures from the policy on the set's own amounts (scaled to the period)
    from makegood.modeling.predict import score, spent_in

    raw = CandidateOutcomes.from_scores(score(guarded, batch))
    scale = report.meta["period"]["complaints_per_period"] / raw.n
    rails = Guardrails.of(guarded.catalog, batch, spent_in(trained["history"]))
    b = 30_000 / scale
    g = guarded_allocate(raw.value, raw.cost, raw.eligible, b, rails)
    free = allocate(raw.value, raw.cost, raw.eligible, b)
    assert rows["what the guardrails cost"][0] == pytest.approx(
        (free.value - g.allocation.value) * scale, rel=1e-3
    )
    assert "What the guardrails cost" in render_html(report)


def test_a_budget_below_the_floors_shows_what_they_need(guarded, batch, trained):
    report = budget_report(guarded, batch, [10], history_df=trained["history"])
    table = _table(report, "guardrails")
    rows = {r["label"]: r["cells"] for r in table["rows"]}
    assert rows["net value with guardrails"] == [None]
    assert rows["net value without guardrails"][0] is not None
    assert "the floors need" in table["note"]


def test_without_guardrails_there_is_no_cost_table(bundle, batch, trained):
    report = budget_report(bundle, batch, [30_000], history_df=trained["history"])
    assert _table(report, "guardrails") is None
    assert [t["id"] for t in report.method["comparisons"]] == ["baseline_for_everyone"]
