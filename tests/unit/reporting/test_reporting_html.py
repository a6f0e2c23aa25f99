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
    assert fmt(12.345, "churners") == "12.3"
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
        "thresholds.shadow_price_below_one_budget",
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
        for needle in (
            fmt(h["budget"], "money"),
            fmt(h["comparison"]["gain"]["net_value"]["lo"], "money"),
            fmt(h["comparison"]["gain"]["churn_avoided"]["hi"], "churners"),
            h["model_version"],
            str(h["mlflow_run_id"]),
        ):
            assert needle in text
        # the one chart of page one
        first = page[page.index('<section id="first-page">') : page.index('<section class="whatif')]
        assert first.count("<svg") == 1 and 'id="fig-frontier"' in first


@pytest.mark.slow
def test_headline_is_the_recommended_or_the_one_chosen_budget(replay_report, bundle, trained):
    from makegood.reporting.budget import budget_report

    d = replay_report.to_dict()  # two chosen budgets: the recommended one leads
    h, th = d["headline"], d["thresholds"]
    assert h["basis"] == "recommended"
    assert h["budget"] >= th["unconstrained_spend"] and h["shadow_price"] == 0.0
    assert h["extra"]["extra_spend"] == 0.0  # beyond it nothing returns its cost
    g = h["comparison"]["gain"]
    for key in ("retained_value", "churn_avoided", "net_value"):
        assert g[key]["lo"] <= g[key]["value"] <= g[key]["hi"]
    # makegood's level = today's + the gain (one estimate, paired)
    c = h["comparison"]
    assert c["makegood"]["net_value"]["value"] == pytest.approx(
        c["practice"]["net_value"] + g["net_value"]["value"], abs=0.02
    )
    one = budget_report(bundle, trained["history"], [5_000], period_days=30).to_dict()
    assert one["headline"]["basis"] == "chosen" and one["headline"]["budget"] == 5_000
    assert one["headline"]["extra"] == one["chosen"][0]["extra"]
