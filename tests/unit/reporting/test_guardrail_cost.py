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


# ------------------------------------- every figure at a budget is the guarded one (G2)


def _owed_report(guarded, batch, trained, budgets):
    return budget_report(guarded, batch, budgets, history_df=trained["history"])


@pytest.fixture(scope="module")
def owed_report(guarded, batch, trained):
    # 10 is below what the floors need; the others are chosen around it
    return _owed_report(guarded, batch, trained, [10, 30_000, 60_000])


def test_page_one_spends_at_least_what_is_owed_at_every_budget_it_shows(owed_report):
    h = owed_report.headline
    owed, need = h["owed"], owed_report.thresholds["min_spend"]
    assert owed > 0 and need >= owed
    shown = [a for a in h["answers"]]
    assert shown and all(a["spend"] >= owed - 0.01 for a in shown)
    assert all(a["budget"] >= need - 0.01 for a in shown)
    # the recommended budget pays what is owed, and one more dollar stops paying there
    assert h["recommended"] >= need
    rec = next(a for a in shown if a["basis"] == "recommended")
    assert rec["next_dollar_pays"] is False
    # a budget below the floors' need is said to be short, with the amount, not figured
    assert h["short"] == [{"budget": 10.0, "needed": pytest.approx(need, abs=0.011)}]
    assert h["short"][0]["needed"] >= need
    assert 10.0 not in [a["budget"] for a in shown]
    assert [c["budget"] for c in owed_report.chosen] == [30_000.0, 60_000.0]
    # every row of the curve pays what is owed; none below the need
    assert all(
        r["spend"] >= owed - 0.01 and r["budget"] >= need - 0.01 for r in owed_report.frontier
    )


def test_the_figures_at_a_budget_are_the_guarded_allocation(owed_report, guarded, batch, trained):
    from makegood.modeling.predict import score, spent_in

    raw = CandidateOutcomes.from_scores(score(guarded, batch))
    scale = owed_report.meta["period"]["scale"]
    rails = Guardrails.of(guarded.catalog, batch, spent_in(trained["history"]))
    table = _table(owed_report, "guardrails")
    with_ = dict(zip(table["columns"], table["rows"][1]["cells"], strict=True))
    for c in owed_report.chosen:
        g = guarded_allocate(raw.value, raw.cost, raw.eligible, c["budget"] / scale, rails)
        assert c["spend"] == pytest.approx(g.allocation.spend * scale, abs=0.05)
        assert c["net_value"] == pytest.approx(with_[c["budget"]], abs=0.05)
        assert c["spend"] <= c["budget"] + 0.01
        # breakdowns add up to the guarded spend
        by_res = sum(r["spend"] for r in c["by_resolution"])
        assert by_res == pytest.approx(c["spend"], abs=0.1)
        # "another $10,000" goes from the guarded choice to the guarded choice
        assert c["extra"]["extra_net_value"] >= -0.01 or c["extra"]["n_changed"] > 0
    # the floors' spend on page one is the method table's
    assert owed_report.headline["owed"] == pytest.approx(table["rows"][3]["cells"][1], abs=0.01)


def test_page_one_says_what_is_owed_in_one_short_sentence(owed_report):
    from makegood.reporting.html import render_html

    page = render_html(owed_report)
    first = page[page.index('<section id="first-page">') : page.index('<section class="whatif')]
    assert 'id="answer-owed"' in first
    assert "is owed: refunds the guardrails require" in first
    assert "cannot pay what is owed: it needs at least" in first


def test_guardrails_that_never_bind_give_the_figures_without_them(bundle, batch, trained):
    # a floor no complaint matches and a cap no customer reaches: the guarded path runs
    # (on the set's own money at budget / scale) and gives the unguarded figures, up to
    # allocate's one complaint (scaling moves a tie at the margin by a rounding error)
    loose = [
        {"id": "nobody", "when": {"issue_type": ["no_such_issue"]}, "compensation_at_least": 1},
        {"id": "huge_cap", "max_compensation_per_customer": {"amount": 1e9, "days": 1}},
    ]
    cat = parse_catalog({**bundle.catalog.to_dict(), "guardrails": loose})
    plain, loose_ = (
        budget_report(b, batch, [30_000, 60_000], history_df=trained["history"])
        for b in (bundle, bundle.with_catalog(cat))
    )
    assert "owed" not in plain.headline and loose_.headline["owed"] == 0.0
    assert loose_.headline["short"] == []
    from makegood.modeling.predict import score

    raw = CandidateOutcomes.from_scores(score(bundle, batch))
    spread = float((raw.value.max(axis=1) - raw.value.min(axis=1)).max())
    spread *= plain.meta["period"]["scale"]
    by_budget = {r["budget"]: r for r in plain.frontier}
    for r in loose_.frontier:
        if r["budget"] in by_budget:
            assert r["net_value"] == pytest.approx(by_budget[r["budget"]]["net_value"], abs=spread)
    for a, b in zip(loose_.chosen, plain.chosen, strict=True):
        assert a["net_value"] == pytest.approx(b["net_value"], abs=spread)
    assert loose_.headline["recommended"] == pytest.approx(plain.headline["recommended"], abs=0.02)
    assert loose_.thresholds["min_spend"] == plain.thresholds["min_spend"]
