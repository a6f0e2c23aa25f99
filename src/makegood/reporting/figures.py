"""The report's plots, drawn from ``BudgetReport.to_dict()`` (never from other numbers).

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend),
so this works in servers and threads; :func:`svg` turns one into inline SVG text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from makegood.reporting.numbers import currency_symbol

# Okabe & Ito's colour-blind-safe palette (blue, vermillion, bluish green, orange, reddish
# purple, sky blue, yellow, black): distinct under the common colour-vision deficiencies and
# in greyscale print, where the line styles and markers also tell the series apart.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
_COLORS = OKABE_ITO


def money_formatter(currency: str = "USD") -> FuncFormatter:
    """Axis ticks as money (the currency's symbol), trailing zeros dropped.

    >>> f = money_formatter("USD")
    >>> f(1_250_000), f(65_000_000), f(1_500), f(40_000), f(500), f(-2_000)
    ('$1.25M', '$65M', '$1.5k', '$40k', '$500', '-$2k')
    """
    sym = currency_symbol(currency)

    def short(v: float, digits: int) -> str:
        return f"{v:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v:,.0f}"

    def f(x: float, _pos: object = None) -> str:
        sign = "-" if x < 0 else ""
        a = abs(x)
        if a >= 1e6:
            return f"{sign}{sym}{short(a / 1e6, 2)}M"
        if a >= 1e3:
            return f"{sign}{sym}{short(a / 1e3, 1)}k"
        return f"{sign}{sym}{a:,.0f}"

    return FuncFormatter(f)


def _money_axis(ax, axis: str = "y", currency: str = "USD") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(money_formatter(currency))


def _vals(rows: list[dict], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else r[key] for r in rows]


def _legend_cols(d: dict) -> int:
    """Legend columns for one entry per chosen budget (many budgets: a wide legend)."""
    return max(1, -(-len(d["chosen"]) // 6))


def frontier_figure(d: dict) -> Figure:
    """The first page's chart: what each budget per period buys against today's practice
    (net and retained value gained, with their 95% bands), today's spend, the chosen and
    the recommended budgets. Both axes start at zero."""
    fig = Figure(figsize=(8.0, 3.1), layout="constrained")
    draw_frontier(fig.subplots(), d)
    return fig


def draw_frontier(ax, d: dict) -> None:
    """Draw the first page's chart on ``ax`` (see :func:`frontier_figure`); the budgets'
    labels are placed so that none overlaps another (:func:`place_labels`)."""
    fr, cur, h = d["frontier"], d["meta"]["currency"], d["headline"]
    money = money_formatter(cur)
    per = h["period"]["per"]
    x = _vals(fr, "budget")
    for key, label, color, ls in (
        ("retained_value", "retained value gained", _COLORS[0], "-"),
        ("net_value", "net value gained (after compensation)", _COLORS[1], "--"),
    ):
        mid = [r["vs_today"][key]["value"] for r in fr]
        lo = [r["vs_today"][key]["lo"] for r in fr]
        hi = [r["vs_today"][key]["hi"] for r in fr]
        ax.fill_between(x, lo, hi, color=color, alpha=0.12, lw=0)
        ax.plot(x, mid, color=color, label=label, ls=ls, lw=1.8)
    spend_today = h["today"]["spend"]
    ax.axvline(spend_today, color=_COLORS[7], ls=":", lw=1.2)
    texts = [
        ax.annotate(
            f"today's spend {money(spend_today)}",
            (spend_today, 0),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize=7.5,
            ha="left",
        )
    ]
    points = []
    for a in h["answers"]:
        y = a["gain"]["net_value"]["value"]
        points.append((a["budget"], y))
        star = a["basis"] == "recommended"
        ax.plot(
            [a["budget"]],
            [y],
            marker="*" if star else "o",
            ls="none",
            ms=13 if star else 6,
            color=_COLORS[3] if star else _COLORS[7],
            markeredgecolor=_COLORS[7],
        )
        words = "recommended" if star else "chosen"
        texts.append(
            ax.annotate(
                f"{words} {money(a['budget'])}",
                (a["budget"], y),
                textcoords="offset points",
                xytext=(0, -16),
                ha="center",
                fontsize=8,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
            )
        )
    ymax = max(
        [0.0, *(r["vs_today"][k]["hi"] or 0.0 for r in fr for k in ("retained_value", "net_value"))]
    )
    ymin = min(
        [0.0, *(r["vs_today"][k]["lo"] or 0.0 for r in fr for k in ("retained_value", "net_value"))]
    )
    ax.set_ylim(ymin - 0.08 * (ymax - ymin), ymax * 1.12 if ymax > 0 else 1.0)
    # up to the largest budget page one names (or today's spend): beyond it nothing changes
    shown = [a["budget"] for a in h["answers"]] + [spend_today or 0.0]
    ax.set_xlim(0, max(shown) * 1.2 or 1.0)
    ax.axhline(0, color=_COLORS[7], lw=0.7)
    ax.set_xlabel(f"compensation budget ({cur} {per})")
    ax.set_ylabel(f"gained ({per})", fontsize=8)  # the title says against what
    ax.set_title(f"What each budget buys against {h['versus']}, {per}", fontsize=11)
    _money_axis(ax, "y", cur)
    _money_axis(ax, "x", cur)
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(alpha=0.3)
    place_labels(ax, texts, points)


def _renderer(fig: Figure):
    """A renderer for text sizes (an Agg canvas, attached when the figure has none)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.draw_without_rendering()  # runs the layout, so positions are final
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def place_labels(ax, texts: list, points: Sequence[tuple[float, float]] = ()) -> None:
    """Move annotations (in order) down, then up, by their own height until none overlaps
    an earlier one, another text, the legend or a marker at ``points`` (data coordinates):
    labels stay readable however close the budgets are."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = _renderer(fig)
    legend = ax.get_legend()
    taken = [legend.get_window_extent(renderer)] if legend is not None else []
    r = 7 * fig.dpi / 72  # a marker's half size, in pixels
    frame = ax.get_window_extent(renderer)
    for px, py in ax.transData.transform(list(points)) if len(points) else []:
        taken.append(Bbox([[px - r, py - r], [px + r, py + r]]))
    mine = {id(t) for t in texts}
    taken += [b for t, b in _text_boxes(fig, renderer) if id(t) not in mine]
    for t in texts:
        x0, y0 = t.xyann
        box = t.get_window_extent(renderer)
        step = box.height / fig.dpi * 72 + 2  # points
        for k in range(40):
            shift = (k + 1) // 2 * step * (-1 if k % 2 else 1)
            t.xyann = (x0, y0 + shift)
            box = t.get_window_extent(renderer)
            inside = frame.containsx(box.x0) and frame.containsx(box.x1)
            inside = inside and frame.containsy(box.y0) and frame.containsy(box.y1)
            if inside and not any(box.overlaps(b) for b in taken):
                break
        taken.append(box)
    # keep the layout these positions were checked against (the layout engine would move
    # the axes again when the figure is saved)
    fig.set_layout_engine("none")


def label_boxes(fig: Figure) -> list:
    """Window extents of every text drawn on ``fig`` (titles, ticks, legends, labels):
    what the figure tests check for overlaps."""
    return [(t.get_text(), b) for t, b in _text_boxes(fig, _renderer(fig))]


def _text_boxes(fig: Figure, renderer) -> list:
    return [
        (t, t.get_window_extent(renderer))
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]


def satisfaction_figure(d: dict) -> Figure:
    """Mean expected satisfaction against spend (from zero: the scale is 0-10)."""
    fr, cur = d["frontier"], d["meta"]["currency"]
    fig = Figure(figsize=(9, 2.8), layout="constrained")
    ax = fig.subplots()
    ax.plot(_vals(fr, "spend"), _vals(fr, "mean_satisfaction"), color=_COLORS[2], marker=".")
    ax.set_ylim(0, 10)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"compensation spend ({cur})")
    ax.set_ylabel("mean expected satisfaction (0-10)")
    sat = [v for v in _vals(fr, "mean_satisfaction") if v == v]
    lo, hi = (min(sat), max(sat)) if sat else (0.0, 0.0)
    ax.set_title(
        f"Satisfaction by budget: {lo:.2f} to {hi:.2f} of 10"
        + (" (the budget barely moves it)" if hi - lo < 0.25 else "")
    )
    _money_axis(ax, "x", cur)
    ax.grid(alpha=0.3)
    return fig


def marginal_figure(d: dict) -> Figure:
    """The net value of one more dollar against the budget."""
    fr, cur = d["frontier"], d["meta"]["currency"]
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    b = _vals(fr, "budget")
    ax.step(b, _vals(fr, "shadow_price"), where="post", color=_COLORS[0], label="shadow price")
    ax.plot(
        b,
        _vals(fr, "marginal_net_per_dollar"),
        ls="none",
        marker="o",
        ms=3,
        color=_COLORS[1],
        label="finite difference to the next budget",
    )
    ax.axhline(1.0, color="grey", ls=":", lw=1)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xlabel(f"budget ({cur} {d['headline']['period']['per']})")
    ax.set_ylabel(f"net value per extra {cur}")
    ax.axvline(d["thresholds"]["stops_paying"], color=_COLORS[3], lw=1.2, ls="--")
    ax.set_title("Net value of one more dollar (a dollar stops paying where it reaches 0)")
    _money_axis(ax, "x", cur)
    top = max((v for v in _vals(fr, "shadow_price") if v == v), default=1.0)
    ax.set_ylim(-0.1, min(max(top, 1.5), 10.0) * 1.05)  # a huge first slope hides the rest
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def _short(label: str, n: int = 28) -> str:
    return label if len(label) <= n else label[: n - 1].rstrip() + "…"


def resolution_figure(d: dict) -> Figure:
    """How many complaints get each resolution (catalog labels), at each chosen budget:
    horizontal bars from zero, so every label reads level and none overlaps another."""
    ids = d["meta"].get("resolution_labels") or d["meta"]["resolutions"]
    fig = Figure(figsize=(9, 0.9 + 0.32 * len(ids) * max(1, min(len(d["chosen"]), 3))),
                 layout="constrained")  # fmt: skip
    ax = fig.subplots()
    height = 0.8 / max(len(d["chosen"]), 1)
    for j, c in enumerate(d["chosen"]):
        counts = [r.get("n_per_period", r["n"]) for r in c["by_resolution"]]
        ys = [i + (j - (len(d["chosen"]) - 1) / 2) * height for i in range(len(ids))]
        ax.barh(
            ys,
            counts,
            height=height,
            color=_COLORS[j % len(_COLORS)],
            label=money_formatter(d["meta"]["currency"])(c["budget"]),
        )
    ax.set_yticks(range(len(ids)), [_short(t, 40) for t in ids], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel(f"complaints ({d['headline']['period']['per']})")
    ax.set_title(f"Resolutions given, by budget ({d['headline']['period']['per']})")
    ax.legend(fontsize=6, title="budget", title_fontsize=7, ncols=_legend_cols(d),
              loc="lower right")  # fmt: skip
    ax.grid(alpha=0.3, axis="x")
    return fig


def pacing_figure(d: dict) -> Figure:
    """Expected cumulative spend through the period against a straight-line budget."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    for j, c in enumerate(d["chosen"]):
        p = c["pacing"]
        days = list(range(1, len(p["daily"]) + 1))
        color = _COLORS[j % len(_COLORS)]
        label = money_formatter(d["meta"]["currency"])(c["budget"])
        ax.plot(days, _vals(p["daily"], "cumulative_spend"), color=color, label=label)
        ax.plot(days, _vals(p["daily"], "budget_line"), color=color, ls=":", lw=1)
    ax.set_xlabel(f"day of the period (from {d['chosen'][0]['pacing']['period_start']})")
    ax.set_ylabel(f"cumulative spend ({d['meta']['currency']})")
    ax.set_title("Pacing: expected cumulative spend (dotted: budget spread evenly)")
    ax.set_ylim(bottom=0)
    _money_axis(ax, "y", d["meta"]["currency"])
    ax.legend(fontsize=6, title="period budget", title_fontsize=7, ncols=_legend_cols(d))
    ax.grid(alpha=0.3)
    return fig


FIGURES = {
    "frontier": frontier_figure,
    "satisfaction": satisfaction_figure,
    "marginal": marginal_figure,
    "resolutions": resolution_figure,
    "pacing": pacing_figure,
}


def all_figures(d: dict) -> dict[str, Figure]:
    """Every plot of the report, by name."""
    return {name: make(d) for name, make in FIGURES.items()}


def svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (text drawn as paths: no fonts needed)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


# ------------------------------------------------------------------------ the live period


def period_spend_figure(d: dict) -> Figure:
    """Cumulative committed spend by day against the plan, with what is held now and the
    forecast at period end (its 95% interval as an error bar)."""
    cur, fc, t = d["meta"]["currency"], d["forecast"], d["totals"]
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax = fig.subplots()
    today = d["meta"]["days_elapsed"] or 0.0
    days = list(range(1, len(d["daily"]) + 1))  # each day's end, in days since the start
    ax.plot(
        [0, *days],
        [0, *_vals(d["daily"], "plan_cumulative")],
        color=_COLORS[7],
        ls=":",
        label="plan",
    )
    ax.plot(
        [0] + [min(j, today) for j in days],
        [0, *_vals(d["daily"], "cumulative_committed")],
        color=_COLORS[0],
        marker=".",
        label="committed",
    )
    ax.plot(
        [today],
        [t["committed_and_held"]],
        "D",
        color=_COLORS[3],
        markeredgecolor=_COLORS[7],
        label="committed + held now",
    )
    ax.errorbar(
        [days[-1] if days else 1],
        [fc["expected"]],
        yerr=[[fc["expected"] - fc["lo"]], [fc["hi"] - fc["expected"]]],
        fmt="s",
        color=_COLORS[1],
        capsize=4,
        label="forecast at period end (95%)",
    )
    ax.axhline(d["budget"]["amount"], color=_COLORS[4], lw=1, ls="--", label="budget")
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, max(len(days), 1) + 0.5)
    ax.set_xlabel(f"days since the period began ({d['meta']['period_start'][:10]})")
    ax.set_ylabel(f"cumulative spend ({cur})")
    ax.set_title(f"Spend in {d['meta']['period']} against the plan")
    _money_axis(ax, "y", cur)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


def period_split_figure(d: dict) -> Figure:
    """Committed and held money by team and by resolution (bars from zero)."""
    cur = d["meta"]["currency"]
    fig = Figure(figsize=(9, 3.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, rows, key, title in (
        (axes[0], d["by_team"], "team", "by team"),
        (axes[1], d["by_resolution"], "resolution", "by resolution"),
    ):
        names = [r[key] for r in rows]
        ys = list(range(len(rows)))
        committed = _vals(rows, "committed")
        ax.barh(ys, committed, color=_COLORS[0], label="committed")
        ax.barh(ys, _vals(rows, "held"), left=committed, color=_COLORS[3], label="held")
        ax.set_yticks(ys, names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(left=0)
        ax.set_title(f"Spend {title}", fontsize=10)
        _money_axis(ax, "x", cur)
        ax.grid(alpha=0.3, axis="x")
    axes[0].legend(fontsize=7)
    return fig


def calibration_figure(d: dict) -> Figure:
    """Observed churn rate against the predicted one, by bin of prediction (with the
    observed rate's 95% interval); the diagonal is perfect calibration."""
    fig = Figure(figsize=(4.5, 3.4), layout="constrained")
    ax = fig.subplots()
    bins = d["calibration"]["bins"]
    top = max([0.1] + [b["observed_hi"] or 0 for b in bins] + [b["predicted"] for b in bins])
    ax.plot([0, top], [0, top], color=_COLORS[7], ls=":", lw=1, label="perfect")
    if bins:
        ax.errorbar(
            _vals(bins, "predicted"),
            _vals(bins, "observed"),
            yerr=[
                [b["observed"] - b["observed_lo"] for b in bins],
                [b["observed_hi"] - b["observed"] for b in bins],
            ],
            fmt="o",
            color=_COLORS[1],
            capsize=3,
            label="observed (95%)",
        )
    ax.set_xlim(0, top * 1.05)
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("predicted churn probability")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Live calibration: churn", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    return fig


PERIOD_FIGURES = {
    "spend": period_spend_figure,
    "split": period_split_figure,
    "calibration": calibration_figure,
}
