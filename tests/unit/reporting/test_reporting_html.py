"""The HTML page: every number in it equals the JSON, and it needs nothing from outside."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from makegood.reporting.html import fmt, lookup


class _Numbers(HTMLParser):
    """Collects (key, value, kind, text) of every element carrying ``data-key``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self._open: list[dict | None] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("td", "span") and "data-key" in a:
            self._open.append({**a, "text": ""})
        elif tag in ("td", "span"):
            self._open.append(None)

    def handle_endtag(self, tag):
        if tag in ("td", "span") and self._open:
            cell = self._open.pop()
            if cell is not None:
                self.cells.append(cell)

    def handle_data(self, data):
        for cell in self._open:
            if cell is not None:
                cell["text"] += data


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
    parser = _Numbers()
    parser.feed(page)
    assert len(parser.cells) > 200
    currency = d["meta"]["currency"]
    for cell in parser.cells:
        value = lookup(d, cell["data-key"])
        assert json.loads(cell["data-value"]) == value, cell["data-key"]
        assert cell["text"] == fmt(value, cell["data-kind"], currency), cell["data-key"]
    # every numeric table cell is one of them
    for tag, attrs in parser.tags:
        classes = attrs.get("class", "").split()
        if tag == "td" and "num" in classes and "iv" not in classes:  # iv: holds two spans
            assert "data-key" in attrs
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
