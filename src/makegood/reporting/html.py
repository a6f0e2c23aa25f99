"""The report as one self-contained HTML page (no scripts, no external assets).

Every number on the page is printed by :func:`fmt` from ``BudgetReport.to_dict()`` and
sits in an element carrying ``data-key`` (its path in the JSON, e.g.
``chosen.0.by_segment.2.spend``), ``data-value`` (the JSON value itself) and
``data-kind`` (how it was formatted), so a reader or a test can check each one against
the JSON.
"""

from __future__ import annotations

import html as _html
import json
from typing import Any

from markupsafe import Markup

from makegood.reporting.budget import BudgetReport

KINDS = ("money", "money_c", "count", "churners", "ratio", "sat", "text")
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def fmt(value: Any, kind: str, currency: str = "USD") -> str:
    """The one way a report number is printed.

    ``money`` whole units with thousands separators, ``money_c`` with cents, ``count``
    an integer, ``churners`` expected customers (1 decimal), ``ratio`` per-dollar figures
    (2 decimals), ``sat`` satisfaction (2 decimals), ``text`` as is; None prints "n/a".

    >>> fmt(12345.678, "money"), fmt(-3.5, "money_c"), fmt(1.81437, "ratio")
    ('$12,346', '-$3.50', '1.81')
    """
    if value is None:
        return "n/a"
    if kind == "text":
        return str(value)
    x = float(value)
    if kind in ("money", "money_c"):
        sym = _SYMBOLS.get(currency, currency + " ")
        body = f"{abs(x):,.0f}" if kind == "money" else f"{abs(x):,.2f}"
        sign = "-" if x < 0 and body.strip("0.,") else ""
        return f"{sign}{sym}{body}"
    if kind == "count":
        return f"{int(round(x)):,}"
    if kind == "churners":
        return f"{x:,.1f}"
    if kind in ("ratio", "sat"):
        return f"{x:,.2f}"
    raise ValueError(f"kind must be one of {KINDS}. Got {kind!r} instead.")


def lookup(d: dict, key: str) -> Any:
    """The value at a dotted path (list positions as numbers) of the report dict."""
    cur: Any = d
    for part in key.split("."):
        cur = cur[int(part)] if isinstance(cur, list) else cur[part]
    return cur


def render_html(report: BudgetReport | dict, *, figures: dict[str, str] | None = None) -> str:
    """The report page. ``figures`` (name -> inline SVG) are drawn when not given."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from makegood.reporting.figures import all_figures, svg

    d = report.to_dict() if isinstance(report, BudgetReport) else report
    currency = d["meta"]["currency"]
    if figures is None:
        figures = {name: svg(fig) for name, fig in all_figures(d).items()}

    def num(key: str, kind: str, tag: str = "td") -> Markup:
        value = lookup(d, key)
        cls = ' class="num"' if tag == "td" else ' class="v"'
        return Markup(
            f'<{tag}{cls} data-key="{_html.escape(key)}" '
            f"data-value='{_html.escape(json.dumps(value), quote=True)}' "
            f'data-kind="{kind}">{_html.escape(fmt(value, kind, currency))}</{tag}>'
        )

    env = Environment(
        loader=PackageLoader("makegood.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(num=num, fmt=lambda v, k: fmt(v, k, currency))
    page = env.get_template("budget_report.html.j2")
    return page.render(d=d, figures={k: Markup(v) for k, v in figures.items()}, currency=currency)
