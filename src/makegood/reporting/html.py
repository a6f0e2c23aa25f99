"""The report as one self-contained HTML page (no external assets; one small inline
script drives the what-if slider from data embedded in the page).

Every number on the page is printed by :func:`fmt` from ``BudgetReport.to_dict()`` and
sits in an element carrying ``data-key`` (its path in the JSON, e.g.
``chosen.0.by_segment.2.spend``), ``data-value`` (the JSON value itself) and
``data-kind`` (how it was formatted), so a reader or a test can check each one against
the JSON.
"""

from __future__ import annotations

import html as _html
import json
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from makegood.reporting.numbers import fmt

if TYPE_CHECKING:  # for the annotation only: the page needs just the report's dict
    from makegood.reporting.budget import BudgetReport


def lookup(d: dict, key: str) -> Any:
    """The value at a dotted path (list positions as numbers) of the report dict."""
    cur: Any = d
    for part in key.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def _cell(d: dict, key: str, kind: str, currency: str, tag: str, extra: str = "") -> Markup:
    value = lookup(d, key)
    cls = ' class="num"' if tag == "td" else ' class="v"'
    return Markup(
        f'<{tag}{cls}{extra} data-key="{_html.escape(key)}" '
        f"data-value='{_html.escape(json.dumps(value), quote=True)}' "
        f'data-kind="{kind}">{_html.escape(fmt(value, kind, currency))}</{tag}>'
    )


def page_environment(d: dict):
    """The Jinja environment of a report page on dict ``d``: ``num(key, kind, tag)`` prints
    the number at ``key`` (with its data attributes), ``fmt(value, kind)`` a value."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    currency = d["meta"]["currency"]

    def num(key: str, kind: str, tag: str = "td") -> Markup:
        return _cell(d, key, kind, currency, tag)

    env = Environment(
        loader=PackageLoader("makegood.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(num=num, fmt=lambda v, k: fmt(v, k, currency))
    return env


# What the what-if slider shows of each frontier row (a path in the row), how it is
# printed, and its column's heading. Gains are against today's practice, as on page one.
WHATIF_KEYS = (
    ("budget", "money", "budget"),
    ("spend", "money", "spend"),
    ("saving", "money", "saving against today"),
    ("vs_today.customers_kept.value", "churners", "customers kept"),
    ("vs_today.retained_value.value", "money", "retained value gained"),
    ("vs_today.net_value.value", "money", "net value gained"),
    ("next_dollar_pays", "yesno", "one more dollar pays"),
    ("mean_satisfaction", "sat", "satisfaction (0-10)"),
)
PACING_DAYS_MAX = 62  # longer periods are shown week by week


def whatif_data(d: dict) -> dict:
    """Every frontier row as the slider shows it: per cell its JSON key, value and text
    (printed here by :func:`fmt`, so the page's script formats nothing itself)."""
    cur = d["meta"]["currency"]
    rows = []
    for i, r in enumerate(d["frontier"]):
        row = {}
        for key, kind, _label in WHATIF_KEYS:
            v = lookup(r, key)
            row[key] = {"key": f"frontier.{i}.{key}", "value": v, "text": fmt(v, kind, cur)}
        for k, n in enumerate(d["frontier_mix"][i]):
            row[f"mix-{k}"] = {
                "key": f"frontier_mix.{i}.{k}",
                "value": n,
                "text": fmt(n, "count", cur),
            }
        rows.append(row)
    return {
        "rows": rows,
        "n_resolutions": len(d["meta"]["resolutions"]),
        "n_complaints": d["meta"]["n_complaints"],
    }


def _script_json(obj: Any) -> Markup:
    """JSON safe inside a ``<script>`` element (no ``</`` can end it early)."""
    return Markup(json.dumps(obj, allow_nan=False, separators=(",", ":")).replace("</", "<\\/"))


def render_html(report: BudgetReport | dict, *, figures: dict[str, str] | None = None) -> str:
    """The report page. ``figures`` (name -> inline SVG) are drawn when not given."""
    from makegood.reporting.figures import all_figures, svg

    d = report if isinstance(report, dict) else report.to_dict()
    currency = d["meta"]["currency"]
    if figures is None:
        figures = {name: svg(fig) for name, fig in all_figures(d).items()}
    budgets = [r["budget"] for r in d["frontier"]]
    head = d["headline"]["budget"]
    index = budgets.index(head) if head in budgets else 0

    def whatif_num(key: str, kind: str, name: str) -> Markup:
        return _cell(d, key, kind, currency, "td", f' data-whatif="{_html.escape(name)}"')

    n_days = len(d["chosen"][0]["pacing"]["daily"]) if d["chosen"] else 0
    weeks = n_days > PACING_DAYS_MAX
    rows = list(range(6, n_days, 7)) if weeks else list(range(n_days))
    if weeks and rows[-1:] != [n_days - 1]:
        rows.append(n_days - 1)
    env = page_environment(d)
    page = env.get_template("budget_report.html.j2")
    return page.render(
        pacing_rows=rows,
        pacing_weeks=weeks,
        d=d,
        figures={k: Markup(v) for k, v in figures.items()},
        currency=currency,
        whatif_index=index,
        whatif_keys=WHATIF_KEYS,
        whatif_num=whatif_num,
        whatif_json=_script_json(whatif_data(d)),
    )


def render_period_html(report: Any, *, figures: dict[str, str] | None = None) -> str:
    """The live period's page (a :class:`~makegood.reporting.period.PeriodReport` or its
    dict); ``figures`` (name -> inline SVG) are drawn when not given."""
    from makegood.reporting.figures import PERIOD_FIGURES, svg

    d = report if isinstance(report, dict) else report.to_dict()
    if figures is None:
        figures = {name: svg(make(d)) for name, make in PERIOD_FIGURES.items()}
    page = page_environment(d).get_template("period_report.html.j2")
    return page.render(d=d, figures={k: Markup(v) for k, v in figures.items()})
