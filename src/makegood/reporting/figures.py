"""The report's plots, drawn from ``BudgetReport.to_dict()`` (never from other numbers).

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend),
so this works in servers and threads; :func:`svg` turns one into inline SVG text.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

_COLORS = ("#1f5f8b", "#c8553d", "#2a9d8f", "#8d6a9f", "#e9a03b", "#5c677d")


def _money_axis(ax, axis: str = "y") -> None:
    def f(x, _pos):
        if abs(x) >= 1e6:
            return f"{x / 1e6:,.2f}M"
        if abs(x) >= 1e3:
            return f"{x / 1e3:,.0f}k"
        return f"{x:,.0f}"

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(f))


def _vals(rows: list[dict], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else r[key] for r in rows]


def frontier_figure(d: dict) -> Figure:
    """Spend against net and retained value (with bands), and against mean satisfaction."""
    fr, cur = d["frontier"], d["meta"]["currency"]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=(3, 2))
    x = _vals(fr, "spend")
    for key, label, color in (
        ("retained_value", "retained lifetime value", _COLORS[0]),
        ("net_value", "net value", _COLORS[1]),
    ):
        ax.plot(x, _vals(fr, key), color=color, label=label, marker=".", lw=1.5)
        ax.fill_between(x, _vals(fr, key + "_lo"), _vals(fr, key + "_hi"), color=color, alpha=0.12)
    for c in d["chosen"]:
        ax.plot([c["spend"]], [c["net_value"]], "o", color="black", ms=6)
        ax.annotate(
            f"budget {c['budget']:,.0f}",
            (c["spend"], c["net_value"]),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
        )
    th = d["thresholds"]
    for key, label, ls in (
        ("shadow_price_below_one_budget", "shadow price < 1", ":"),
        ("unconstrained_spend", "unconstrained optimum", "--"),
    ):
        if th.get(key) is not None:
            ax.axvline(th[key], color="grey", ls=ls, lw=1, label=label)
    cp = d.get("current_practice")
    if cp and cp["source"].startswith("the complaint set"):
        r = cp["logged"]["realized_net_value"]
        ax.errorbar(
            [cp["spend"]],
            [r["value"]],
            yerr=[[r["value"] - r["lo"]], [r["hi"] - r["value"]]],
            fmt="s",
            color=_COLORS[4],
            label="current practice (realized)",
        )
    ax.set_xlabel(f"compensation spend ({cur})")
    ax.set_ylabel(f"expected value ({cur})")
    ax.set_title("Efficient frontier")
    _money_axis(ax)
    _money_axis(ax, "x")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)

    ax2.plot(x, _vals(fr, "mean_satisfaction"), color=_COLORS[2], marker=".")
    ax2.set_xlabel(f"compensation spend ({cur})")
    ax2.set_ylabel("mean expected satisfaction (0-10)")
    ax2.set_title("Satisfaction")
    _money_axis(ax2, "x")
    ax2.grid(alpha=0.3)
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
    ax.set_xlabel(f"budget ({cur})")
    ax.set_ylabel(f"net value per extra {cur}")
    ax.set_title("Marginal value of one more dollar")
    _money_axis(ax, "x")
    top = max((v for v in _vals(fr, "shadow_price") if v == v), default=1.0)
    ax.set_ylim(-0.1, min(max(top, 1.5), 10.0) * 1.05)  # a huge first slope hides the rest
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return fig


def resolution_figure(d: dict) -> Figure:
    """How many customers get each resolution, at each chosen budget."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    ids = d["meta"]["resolutions"]
    width = 0.8 / max(len(d["chosen"]), 1)
    for j, c in enumerate(d["chosen"]):
        counts = [r["n"] for r in c["by_resolution"]]
        xs = [i + (j - (len(d["chosen"]) - 1) / 2) * width for i in range(len(ids))]
        color = _COLORS[j % len(_COLORS)]
        ax.bar(xs, counts, width=width, color=color, label=f"{c['budget']:,.0f}")
    ax.set_xticks(range(len(ids)), ids, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("complaints")
    ax.set_title("Resolutions given, by budget")
    ax.legend(fontsize=7, title="budget", title_fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    return fig


def pacing_figure(d: dict) -> Figure:
    """Expected cumulative spend through the period against a straight-line budget."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    for j, c in enumerate(d["chosen"]):
        p = c["pacing"]
        days = list(range(1, len(p["daily"]) + 1))
        color = _COLORS[j % len(_COLORS)]
        label = f"{c['budget']:,.0f}"
        ax.plot(days, _vals(p["daily"], "cumulative_spend"), color=color, label=label)
        ax.plot(days, _vals(p["daily"], "budget_line"), color=color, ls=":", lw=1)
    ax.set_xlabel(f"day of the period (from {d['chosen'][0]['pacing']['period_start']})")
    ax.set_ylabel(f"cumulative spend ({d['meta']['currency']})")
    ax.set_title("Pacing: expected cumulative spend (dotted: budget spread evenly)")
    _money_axis(ax)
    ax.legend(fontsize=7, title="period budget", title_fontsize=7)
    ax.grid(alpha=0.3)
    return fig


FIGURES = {
    "frontier": frontier_figure,
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
