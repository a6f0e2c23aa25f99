"""The budget report opens in headless Chromium: no console errors, plots drawn, a real page.

Needs Debian's ``chromium`` at /usr/bin/chromium (``make browser`` installs it); skipped
with the reason when it is missing. Dependency-free: Chromium's own ``--dump-dom``,
``--screenshot`` and ``--enable-logging=stderr`` (console messages are logged as
``CONSOLE`` lines, uncaught exceptions as "Uncaught ...").
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from makegood.reporting.export import chromium_path, run_chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_path() is None,
        reason="no Chromium at /usr/bin/chromium: run `make browser` "
        "(apt-get install -y chromium) to run the browser tests",
    ),
]

_CONSOLE = re.compile(r"CONSOLE|Uncaught|Failed to load resource", re.IGNORECASE)


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if _CONSOLE.search(line)]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def report_dir(trained, small_world, tmp_path_factory) -> Path:
    from makegood.contract import read_complaints
    from makegood.modeling.bundle import load_bundle
    from makegood.reporting.budget import budget_report
    from makegood.reporting.export import write_report

    bundle = load_bundle(trained["models_dir"])
    batch = read_complaints(small_world["complaints"])
    report = budget_report(bundle, batch, [2_000, 5_000], history_df=trained["history"])
    out = tmp_path_factory.mktemp("report")
    write_report(report, out)
    return out


def test_console_check_catches_errors(tmp_path):
    # the check below is only worth something if it sees a broken page
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>console.error('boom'); nope();</script></body></html>")
    res = run_chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", bad.as_uri()])
    assert res.returncode == 0
    errors = _console_errors(res.stderr)
    assert any("boom" in e for e in errors) and any("Uncaught" in e for e in errors)


def test_report_opens_without_console_errors_and_draws_the_plots(report_dir):
    page = report_dir / "budget_report.html"
    res = run_chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()])
    assert res.returncode == 0, res.stderr[-2000:]
    assert _console_errors(res.stderr) == []
    dom = res.stdout
    for fig in ("fig-frontier", "fig-marginal", "fig-resolutions", "fig-pacing"):
        m = re.search(rf'<figure class="plot" id="{fig}">\s*<svg', dom)
        assert m, f"plot {fig} missing from the rendered DOM"
    assert dom.count("<svg") >= 4
    assert "What would another" in dom and "How does this compare" in dom


def test_report_screenshot_is_a_real_page(report_dir, tmp_path):
    page = report_dir / "budget_report.html"
    shot = tmp_path / "shot.png"
    res = run_chromium(
        ["--window-size=1200,3000", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()]
    )
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert _png_size(data) == (1200, 3000)
    # a blank or unstyled page compresses to a few kB; text, tables and plots do not
    assert len(data) > 150_000
