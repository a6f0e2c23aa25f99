"""The report's figures are honest: axes from zero, and no label drawn over another."""

from __future__ import annotations

import itertools

import pytest

from makegood.reporting.figures import FIGURES, frontier_figure, label_boxes, money_formatter


def _ci(x: float, half: float) -> dict:
    return {"value": x, "lo": x - half, "hi": x + half}


def _page_one_dict(budgets: list[float], recommended: float, today_spend: float) -> dict:
    """A report dict with what the first page's chart reads: budgets close together."""
    rows = []
    for j in range(25):
        b = 2_500.0 * j
        gain = min(b, recommended) * 3.0
        rows.append(
            {"budget": b, "vs_today": {"retained_value": _ci(gain * 1.3, 4_000.0),
                                       "net_value": _ci(gain, 4_000.0)}}
        )  # fmt: skip
    answers = [
        {"budget": b, "basis": basis, "gain": {"net_value": _ci(min(b, recommended) * 3.0, 1.0)}}
        for b, basis in [*((b, "chosen") for b in budgets), (recommended, "recommended")]
    ]
    return {
        "meta": {"currency": "USD"},
        "frontier": rows,
        "headline": {
            "period": {"per": "a month"},
            "versus": "today's practice",
            "today": {"spend": today_spend},
            "answers": answers,
        },
    }


def _overlaps(fig) -> list[tuple[str, str]]:
    boxes = label_boxes(fig)
    return [
        (a, b)
        for (a, ba), (b, bb) in itertools.combinations(boxes, 2)
        if ba.overlaps(bb) and ba.width > 0 and bb.width > 0
    ]


@pytest.mark.parametrize(
    ("budgets", "recommended", "today"),
    [([20_000.0, 40_000.0], 24_400.0, 52_000.0),
     ([20_000.0, 21_000.0, 22_000.0], 21_500.0, 21_800.0),
     ([500.0], 600.0, 0.0)],
)  # fmt: skip
def test_page_one_chart_labels_never_overlap(budgets, recommended, today):
    fig = frontier_figure(_page_one_dict(budgets, recommended, today))
    texts = [t for t, _ in label_boxes(fig)]
    for b in budgets:
        assert f"chosen {money_formatter('USD')(b)}" in texts, texts
    assert _overlaps(fig) == []


def test_the_overlap_check_sees_an_overlap():
    fig = frontier_figure(_page_one_dict([20_000.0], 24_400.0, 52_000.0))
    ax = fig.axes[0]
    ax.text(0.5, 0.5, "one", transform=ax.transAxes)
    ax.text(0.5, 0.5, "two", transform=ax.transAxes)
    assert ("one", "two") in _overlaps(fig)


def test_page_one_chart_axes_start_at_zero():
    fig = frontier_figure(_page_one_dict([20_000.0, 40_000.0], 24_400.0, 52_000.0))
    (ax,) = fig.axes
    assert ax.get_xlim()[0] == 0.0
    lo, hi = ax.get_ylim()
    assert lo <= 0.0 < hi


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_of_the_report_is_honest(name, monthly_report):
    fig = FIGURES[name](monthly_report.to_dict())
    for ax in fig.axes:
        # the value axis starts from zero: no exaggerated gaps (bars of resolutions lie
        # along x, their labels on y)
        lo, hi = ax.get_xlim() if name == "resolutions" else ax.get_ylim()
        assert lo <= 0.0 < hi, (name, lo, hi)
        if name in ("frontier", "satisfaction"):
            assert ax.get_xlim()[0] == 0.0
    assert _overlaps(fig) == [], name
