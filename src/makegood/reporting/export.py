"""Write a :class:`BudgetReport` as HTML, JSON, CSV and (optionally) PDF, all from one dict.

PDF: headless Chromium prints the very HTML page (``--print-to-pdf``) when
``/usr/bin/chromium`` (or ``$MAKEGOOD_CHROMIUM``) exists; otherwise matplotlib's
``PdfPages`` writes the figures and the main tables (same numbers, plainer layout).
The method used is returned and recorded in the JSON's ``meta.pdf_method``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from makegood.errors import ConfigError
from makegood.reporting.budget import BudgetReport
from makegood.reporting.html import fmt, render_html, render_period_html

CHROMIUM = "/usr/bin/chromium"
# Flags for a quiet, offline, throw-away headless run (no sandbox: containers run as root).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
STEM = "budget_report"
PERIOD_STEM = "period_report"


def chromium_path() -> str | None:
    """The Chromium binary to use, or None when there is none."""
    path = os.environ.get("MAKEGOOD_CHROMIUM", CHROMIUM)
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


def run_chromium(args: list[str], *, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run headless Chromium with the standard flags and a fresh, deleted profile."""
    exe = chromium_path()
    if exe is None:
        raise FileNotFoundError(f"no Chromium at {CHROMIUM} (install the Debian package)")
    profile = tempfile.mkdtemp(prefix="makegood-chromium-")
    try:
        return subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(
    report: BudgetReport, out_dir: str | Path, *, pdf: bool = False
) -> dict[str, Path]:
    """Write ``budget_report.{html,json}``, one CSV per table and, with ``pdf``, the PDF.

    Returns:
        name -> path of every file written.
    """
    from makegood.reporting.figures import all_figures, svg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = report.to_dict()
    figs = all_figures(d)
    written: dict[str, Path] = {}

    html_path = out / f"{STEM}.html"
    atomic_write(html_path, render_html(d, figures={k: svg(f) for k, f in figs.items()}))
    written["html"] = html_path
    for name, frame in report.to_frames().items():
        path = out / f"{STEM}.{name}.csv"
        tmp = path.with_name(f".{path.name}.tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
        written[f"csv:{name}"] = path
    if pdf:
        pdf_path = out / f"{STEM}.pdf"
        d["meta"]["pdf_method"] = write_pdf(html_path, pdf_path, d, figs)
        written["pdf"] = pdf_path
    json_path = out / f"{STEM}.json"
    atomic_write(json_path, json.dumps(d, indent=2, allow_nan=False) + "\n")
    written["json"] = json_path
    return written


def print_pdf(html_path: Path, pdf_path: Path) -> bool:
    """Print an HTML page to PDF with headless Chromium; False when there is none or it fails."""
    if chromium_path() is None:
        return False
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp.pdf")
    res = run_chromium(
        ["--no-pdf-header-footer", f"--print-to-pdf={tmp}", html_path.resolve().as_uri()]
    )
    if res.returncode == 0 and tmp.exists() and tmp.stat().st_size > 0:
        os.replace(tmp, pdf_path)
        return True
    tmp.unlink(missing_ok=True)
    return False


def write_pdf(html_path: Path, pdf_path: Path, d: dict, figs: dict | None = None) -> str:
    """Print the report to PDF; returns ``"chromium"`` or ``"matplotlib"`` (the method used)."""
    if print_pdf(html_path, pdf_path):
        return "chromium"
    _pdf_matplotlib(pdf_path, d, figs)
    return "matplotlib"


def write_period_report(report: Any, out_dir: str | Path, *, pdf: bool = False) -> dict[str, Path]:
    """Write ``period_report.{html,json}``, CSVs of the tables and, with ``pdf`` (needs
    Chromium), the PDF of a :class:`~makegood.reporting.period.PeriodReport`.

    Returns:
        name -> path of every file written.

    Raises:
        ConfigError: ``pdf`` was asked for and Chromium cannot print it.
    """
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = report.to_dict()
    written: dict[str, Path] = {}
    html_path = out / f"{PERIOD_STEM}.html"
    atomic_write(html_path, render_period_html(d))
    written["html"] = html_path
    tables = {
        "by_team": d["by_team"],
        "by_resolution": d["by_resolution"],
        "daily": d["daily"],
        "overrides_by_reason": d["overrides"]["by_reason"],
        "overrides_by_resolution": d["overrides"]["by_resolution"],
    }
    for name, rows in tables.items():
        path = out / f"{PERIOD_STEM}.{name}.csv"
        tmp = path.with_name(f".{path.name}.tmp")
        pd.DataFrame(rows).to_csv(tmp, index=False)
        os.replace(tmp, path)
        written[f"csv:{name}"] = path
    if pdf:
        pdf_path = out / f"{PERIOD_STEM}.pdf"
        if not print_pdf(html_path, pdf_path):
            raise ConfigError(f"cannot print {pdf_path}: no working Chromium at {CHROMIUM}")
        written["pdf"] = pdf_path
    json_path = out / f"{PERIOD_STEM}.json"
    atomic_write(json_path, json.dumps(d, indent=2, allow_nan=False) + "\n")
    written["json"] = json_path
    return written


def _pdf_matplotlib(pdf_path: Path, d: dict, figs: dict | None) -> None:
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from makegood.reporting.figures import all_figures

    cur = d["meta"]["currency"]
    figs = figs if figs is not None else all_figures(d)
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp.pdf")
    with PdfPages(tmp) as pages:
        pages.savefig(_first_page(d))
        m = d["meta"]
        lines = [
            f"model {m['model_version']} (trained {m['model_trained_at']})",
            f"MLflow run {m['mlflow_run_id']} at {m['mlflow_tracking_uri']}",
            f"training data {m['training_data_range']}",
            f"{m['n_complaints']} complaints ({m['complaint_set']}), "
            f"{m['complaints_from']} to {m['complaints_to']}",
            "",
        ]
        for c in d["chosen"]:
            e = c["extra"]
            lines += [
                f"budget {fmt(c['budget'], 'money', cur)}: spend {fmt(c['spend'], 'money', cur)}, "
                f"retained value {fmt(c['retained_value'], 'money', cur)}",
                f"  another {fmt(e['amount'], 'money', cur)}: retained value "
                f"+{fmt(e['extra_retained_value'], 'money', cur)}, more customers kept "
                f"{fmt(e['churners_avoided'], 'churners')}",
            ]
        lines += ["", "Assumptions:"] + [f"- {a}" for a in d["assumptions"]]
        page = Figure(figsize=(8.27, 11.69))
        page.text(0.05, 0.97, "\n".join(_wrap(lines, 105)), va="top", family="monospace", size=7)
        pages.savefig(page)
        for fig in figs.values():
            pages.savefig(fig)
        cols = ["budget", "spend", "retained_value", "net_value", "shadow_price"]
        kinds = ["money", "money", "money", "money", "ratio"]
        rows = [
            [fmt(r[c], k, cur) for c, k in zip(cols, kinds, strict=True)] for r in d["frontier"]
        ]
        table = Figure(figsize=(8.27, 11.69))
        ax = table.subplots()
        ax.axis("off")
        ax.set_title("Efficient frontier")
        ax.table(cellText=rows, colLabels=cols, loc="upper center").set_fontsize(7)
        pages.savefig(table)
    os.replace(tmp, pdf_path)


def _first_page(d: dict):
    """Page one without a browser: each budget's answer in words above the chart."""
    from matplotlib.figure import Figure

    from makegood.reporting.figures import draw_frontier

    cur, h = d["meta"]["currency"], d["headline"]
    per = h["period"]["per"]

    def iv(x: dict, kind: str = "money") -> str:
        return (
            f"{fmt(x['value'], kind, cur)} ({fmt(x['lo'], kind, cur)} to {fmt(x['hi'], kind, cur)})"
        )

    lines = [f"All amounts are {h['period']['per_word']}; against {h['versus']}, 95% intervals."]
    if h["today"].get("spend") is not None:
        lines.append(f"Today's spend: {fmt(h['today']['spend'], 'money', cur)} {per}.")
    for a in h["answers"]:
        g, e = a["gain"], a["extra"]
        lines += [
            "",
            f"{a['basis'].capitalize()} budget {fmt(a['budget'], 'money', cur)} {per}: "
            f"makegood spends {fmt(a['spend'], 'money', cur)}",
            f"  customers kept {iv(g['customers_kept'], 'churners')}",
            f"  retained value gained {iv(g['retained_value'])}",
            f"  net value gained {iv(g['net_value'])}",
            f"  another {fmt(e['amount'], 'money', cur)}: "
            f"{fmt(e['churners_avoided'], 'churners')} more customers kept, net value "
            f"{fmt(e['extra_net_value'], 'money', cur)}",
        ]
    lines += ["", f"Model {h['model_version']}; run {h['mlflow_run_id'] or 'not logged'}"]
    page = Figure(figsize=(8.27, 11.69))
    page.text(0.06, 0.96, d["meta"]["title"], va="top", size=16, weight="bold")
    page.text(0.06, 0.92, "\n".join(_wrap(lines, 95)), va="top", size=8)
    draw_frontier(page.add_axes((0.1, 0.08, 0.85, 0.3)), d)
    return page


def _wrap(lines: list[str], width: int) -> list[str]:
    import textwrap

    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(line, width, subsequent_indent="  ") or [""]
    return out
