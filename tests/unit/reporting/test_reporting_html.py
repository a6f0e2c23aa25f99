"""The HTML page: every number in it equals the JSON, and it needs nothing from outside."""

from __future__ import annotations

import json
import re

import pytest

from htmlnumbers import check_numbers, section_text
from makegood.reporting.html import fmt, lookup


def test_fmt_is_the_one_format():
    assert fmt(1234567.891, "money") == "$1,234,568"
    assert fmt(-0.004, "money_c") == "$0.00"
    assert fmt(12.345, "churners") == "12" and fmt(7340.9, "churners") == "7,341"  # people
    assert fmt(True, "yesno") == "yes" and fmt(False, "yesno") == "no"
    assert fmt(None, "money") == "n/a"
    assert fmt(3, "count") == "3"
    assert fmt(10.0, "money", "EUR") == "€10"
    assert fmt(10.0, "money", "CHF") == "CHF 10"
    with pytest.raises(ValueError, match="kind"):
        fmt(1.0, "percent")


def test_lookup_follows_dotted_paths():
    assert lookup({"a": [{"b": 1}, {"b": 2}]}, "a.1.b") == 2


@pytest.mark.slow
@pytest.mark.parametrize("which", ["replay_report", "batch_report"])
def test_every_number_in_the_html_equals_the_json(which, request):
    from makegood.reporting.html import render_html

    report = request.getfixturevalue(which)
    d = json.loads(json.dumps(report.to_dict()))
    page = render_html(d)
    parser = check_numbers(page, d)
    assert len(parser.cells) > 200
    keys = {c["data-key"] for c in parser.cells}
    for must in (
        "thresholds.unconstrained_spend",
        "thresholds.stops_paying",
        "thresholds.shadow_price_below_one_budget",
        "headline.today.spend",
        "headline.period.periods_in_data",
        "headline.answers.0.gain.customers_kept.lo",
        "headline.answers.0.saving",
        "method.comparisons.0.rows.0.cells.0.value",
        "chosen.0.extra.extra_retained_value",
        "chosen.0.extra.churners_avoided",
        "chosen.0.vs_baseline.churn_avoided",
        "current_practice.makegood_same_spend.dr.value",
        "current_practice.spend",
        "chosen.0.pacing.expected_spend_per_day",
        "meta.n_complaints",
    ):
        assert must in keys
    assert f"frontier.{len(d['frontier']) - 1}.net_value" in keys
    assert d["meta"]["mlflow_run_id"] in page and d["meta"]["model_version"] in page


@pytest.mark.slow
def test_html_is_self_contained(replay_report):
    from makegood.reporting.html import render_html

    page = render_html(replay_report)
    assert page.count("<svg") >= 4
    # the only scripts are inline (the what-if slider and its data): nothing to fetch
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script type="application/json" id="whatif-data">', "<script>"]
    assert "<link" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page


PAGE_ONE_WORDS = 300


@pytest.mark.slow
def test_page_one_answers_in_at_most_300_words(replay_report, batch_report, bundle, trained):
    from makegood.reporting.budget import budget_report
    from makegood.reporting.html import render_html

    # as many chosen budgets as `--budget-range 0:60000:5000` gives: page one stays short
    spends = [r["budget"] for r in replay_report.to_dict()["frontier"]]
    many = budget_report(bundle, trained["history"], sorted(set(spends))[:26], period_days=30)
    assert len(many.chosen) >= 20
    for report in (replay_report, batch_report, many):
        d = report.to_dict()
        page = render_html(d)
        text = section_text(page, "first-page")
        words = text.split()
        assert 60 < len(words) <= PAGE_ONE_WORDS, (len(words), text)
        h = d["headline"]
        assert h["answers"][-1]["basis"] == "recommended"
        for a in h["answers"]:
            g = a["gain"]
            for needle in (
                fmt(a["budget"], "money"),
                fmt(a["spend"], "money"),
                fmt(g["net_value"]["lo"], "money"),
                fmt(g["retained_value"]["hi"], "money"),
                fmt(g["customers_kept"]["hi"], "churners"),
                fmt(a["extra"]["extra_net_value"], "money"),
            ):
                assert needle in text, needle
        for needle in (h["model_version"], str(h["mlflow_run_id"]), h["period"]["per_word"]):
            assert needle in text
        # the one chart of page one
        first = page[page.index('<section id="first-page">') : page.index('<section class="whatif')]
        assert first.count("<svg") == 1 and 'id="fig-frontier"' in first


@pytest.mark.slow
def test_page_one_answers_each_chosen_budget_beside_the_recommended_one(
    replay_report, bundle, trained
):
    from makegood.reporting.budget import budget_report

    d = replay_report.to_dict()  # two chosen budgets, then the recommended one
    h, th = d["headline"], d["thresholds"]
    assert [a["budget"] for a in h["answers"]] == [5_000.0, 20_000.0, th["recommended_budget"]]
    assert [a["basis"] for a in h["answers"]] == ["chosen", "chosen", "recommended"]
    rec = h["answers"][-1]
    assert h["basis"] == "recommended" and h["budget"] == rec["budget"]
    assert rec["budget"] >= th["unconstrained_spend"] and rec["shadow_price"] == 0.0
    assert rec["extra"]["extra_spend"] == 0.0  # beyond it nothing returns its cost
    for a in h["answers"]:
        g = a["gain"]
        for key in ("retained_value", "customers_kept", "net_value"):
            assert g[key]["lo"] <= g[key]["value"] <= g[key]["hi"]
        # makegood's level = today's + the gain (one estimate, paired)
        assert a["makegood"]["net_value"]["value"] == pytest.approx(
            h["today"]["net_value"] + g["net_value"]["value"], abs=0.02
        )
        assert a["saving"] == pytest.approx(h["today"]["spend"] - a["spend"], abs=0.02)
    # the sections and the frontier say the same as page one
    for a, c in zip(h["answers"], d["chosen"], strict=False):
        assert c["vs_today"]["gain"] == a["gain"] and c["extra"] == a["extra"]
        row = next(r for r in d["frontier"] if r["budget"] == a["budget"])
        assert row["vs_today"] == a["gain"]
    one = budget_report(bundle, trained["history"], [5_000], period_days=30).to_dict()
    assert [a["basis"] for a in one["headline"]["answers"]] == ["chosen", "recommended"]
    assert one["headline"]["answers"][0]["budget"] == 5_000
    assert one["headline"]["answers"][0]["extra"] == one["chosen"][0]["extra"]


@pytest.mark.slow
def test_one_rule_for_where_a_dollar_stops_paying(replay_report):
    from makegood.reporting.frontier import next_dollar_pays
    from makegood.reporting.html import whatif_data

    d = replay_report.to_dict()
    stop = d["thresholds"]["stops_paying"]
    assert d["headline"]["recommended"] == d["thresholds"]["recommended_budget"] >= stop
    slider = whatif_data(d)["rows"]
    for i, row in enumerate(d["frontier"]):
        pays = next_dollar_pays(row["shadow_price"])
        assert row["next_dollar_pays"] is pays
        assert pays is (row["budget"] < stop - 0.005), row  # page two's threshold
        assert slider[i]["next_dollar_pays"]["text"] == ("yes" if pays else "no")
    for a in d["headline"]["answers"]:
        assert a["next_dollar_pays"] is next_dollar_pays(a["shadow_price"])
        assert a["next_dollar_pays"] is (a["budget"] < stop - 0.005)
    for c in d["chosen"]:
        assert c["next_dollar_pays"] is next_dollar_pays(c["shadow_price"])


@pytest.mark.slow
def test_every_amount_is_per_period(monthly_report, trained):
    d = monthly_report.to_dict()
    p = d["headline"]["period"]
    h = trained["history"]
    when = h["opened_at"]
    span = (when.max().normalize() - when.min().normalize()).days + 1
    assert p["name"] == "month" and p["data_days"] == span
    assert p["complaints_per_period"] == pytest.approx(len(h) / span * 365.25 / 12, rel=1e-3)
    assert p["periods_in_data"] == pytest.approx(span / (365.25 / 12), rel=1e-3)
    cp = d["current_practice"]
    # today's spend on page one is the history's spend per month
    assert d["headline"]["today"]["spend"] == pytest.approx(cp["spend"] * p["scale"], abs=0.05)
    assert [c["budget"] for c in d["chosen"]] == [20_000.0, 40_000.0]
    for c in d["chosen"]:
        assert c["spend"] <= c["budget"] and c["pacing"]["period_days"] == 30
        assert sum(r["n_per_period"] for r in c["by_segment"]) == pytest.approx(
            p["complaints_per_period"], abs=0.5
        )


@pytest.mark.slow
def test_no_empty_appendix_and_resolution_labels_not_ids(replay_report, bundle):
    from makegood.reporting.html import render_html

    page = render_html(replay_report)
    assert "<details" not in page
    for sid in ("appendix-frontier", "appendix-budgets", "appendix-pacing"):
        text = section_text(page, sid)
        assert len(text.split()) > 100, (sid, text)
    printed = page[page.index('<section class="page"') :]
    cat = bundle.catalog
    for r in cat.resolutions:
        if r.label != r.id:
            assert r.id not in section_text(page, "whatif") + section_text(page, "appendix-budgets")
            assert r.label in section_text(page, "appendix-budgets")
    assert "<td>quick_fix</td>" not in printed
