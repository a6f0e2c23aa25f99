"""A real ``makegood serve`` on 127.0.0.1 and a headless Chromium driving its console.

Used by the browser tests (tests/e2e/test_console_browser.py), ``make console-screenshots``
(this file as a script) and ``benchmarks/bench_console.py``. Chromium is Debian's
(/usr/bin/chromium), launched by Playwright with the flags that work on this machine;
Playwright's own browser download is never used.

    .venv/bin/python tests/e2e/consoleharness.py --out reports/console [--models-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from makegood.reporting.export import CHROMIUM_FLAGS, chromium_path

KEYS = {
    "console-agent-one": "agent",  # names its team at sign-in
    "console-agent-two": "agent@billing",  # a key bound to a team
    "console-admin": "admin",
}
AGENT_ONE, AGENT_TWO, ADMIN = KEYS
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def period_now() -> str:
    now = datetime.now(UTC)
    return f"{now.year:04d}-{now.month:02d}"


class Server:
    """``makegood serve`` in a subprocess on a free loopback port, its log in a file."""

    def __init__(self, models_dir: Path, work: Path, *, workers: int = 1, **settings: Any):
        self.work = Path(work)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.work / "server.log"
        env = {
            **os.environ,
            "MAKEGOOD_API_KEYS": ",".join(f"{k}:{r}" for k, r in KEYS.items()),
            "MAKEGOOD_RELOAD_POLL_SECONDS": "0",
            "MAKEGOOD_SHADOW_PRICE": "0",
            "MAKEGOOD_EXPLORATION": "0",
            **{f"MAKEGOOD_{k.upper()}": str(v) for k, v in settings.items()},
        }
        cmd = [
            str(Path(sys.executable).with_name("makegood")),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--models-dir",
            str(models_dir),
            "--database-url",
            f"sqlite:///{self.work / 'service.db'}",
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"makegood serve exited: {self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as r:
                    if json.loads(r.read()).get("model_version"):
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"makegood serve not ready in {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    # ------------------------------------------------------------------ API calls
    def call(self, method: str, path: str, body: Any = None, key: str = ADMIN) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"X-API-Key": key, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def set_budget(self, amount: float, team: str | None) -> Any:
        return self.call(
            "POST", "/v1/budget", {"period": period_now(), "amount": amount, "team": team}
        )

    def enter(self, complaint: dict, team: str | None, key: str = AGENT_ONE) -> Any:
        return self.call("POST", "/v1/contacts", {"complaint": complaint, "team": team}, key=key)


def complaint_bodies(
    path: Path, n: int, *, prefix: str = "", most_valuable: bool = False
) -> list[dict]:
    """``n`` complaints of a contract CSV as JSON request bodies: the first ones, or those of
    the customers with the highest lifetime value among the first 300 (whose best
    resolution more often carries compensation)."""
    from makegood.contract.files import read_complaints

    frame = read_complaints(path)
    if most_valuable:
        frame = frame.head(300).sort_values("lifetime_value", ascending=False, kind="stable")
    out = []
    for rec in frame.head(n).to_dict("records"):
        body = {k: v for k, v in rec.items() if not (isinstance(v, float) and v != v)}
        body["opened_at"] = rec["opened_at"].isoformat()
        body["complaint_id"] = prefix + str(body["complaint_id"])
        out.append(body)
    return out


# --------------------------------------------------------------------------- browser


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page whose console errors, uncaught exceptions and off-server requests are kept."""

    def __init__(self, browser: Any, base: str, *, width: int = 1366, height: int = 768):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        # HTTP statuses a test provokes on purpose: Chromium logs every 4xx answer of a
        # fetch() as "Failed to load resource"; the page shows them in words instead
        self.expected_statuses: set[int] = set()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith(base) or url.startswith("data:"):
                r.continue_()
            else:  # the console must never need anything from outside the server
                self.outside.append(url)
                r.abort()

        self.page.route("**/*", route)

    def unexpected_errors(self) -> list[str]:
        allowed = tuple(f"status of {code} " for code in self.expected_statuses)
        return [
            e
            for e in self.errors
            if not (e.startswith("Failed to load resource") and any(a in e for a in allowed))
        ]

    def close(self) -> None:
        self.context.close()


def sign_in(page: Any, base: str, key: str, *, team: str | None = None, name: str = "") -> None:
    page.goto(base + "/console")
    page.fill("#key", key)
    if name:
        page.fill("#agent-name", name)
    if team:
        page.fill("#team", team)
    page.click("#signin-button")


def take_next(page: Any, *, key_press: bool = False) -> str:
    """Take the next case (button or the N key); returns its entry id once drawn."""
    page.evaluate("document.body.dataset.caseReady = ''")
    if key_press:
        page.locator("#take-next").focus()
        page.keyboard.press("n")
    else:
        page.click("#take-next")
    # a selector, not wait_for_function: the page's CSP forbids evaluating strings
    page.wait_for_selector("body:not([data-case-ready=''])", state="attached", timeout=15_000)
    return page.get_attribute("body", "data-case-ready")


def case_ready_ms(page: Any) -> float:
    """Milliseconds from the click on "take next" to the case view drawn and painted."""
    return page.evaluate("performance.measure('case', 'take-next', 'case-ready').duration")


# --------------------------------------------------------------------------- screenshots


def small_bundle(work: Path) -> tuple[Path, Path]:
    """A bundle trained (fast settings) on a small simulated world; (models, complaints)."""
    from makegood.api import load_catalog, load_history, train
    from makegood.sim.world import simulate, write_world

    paths = write_world(simulate(3000, n_new=300, seed=7), work / "world")
    catalog = load_catalog(paths["catalog"])
    history = load_history(paths["history"], catalog=catalog)
    models = work / "models"
    train(
        history,
        catalog,
        models_dir=models,
        tracking_uri=f"sqlite:///{work / 'mlflow.db'}",
        n_estimators=80,
        n_folds=2,
        propensity_estimators=40,
        num_threads=1,
    )
    return models, Path(paths["complaints"])


def screenshots(out: Path, models_dir: Path | None, complaints: Path | None) -> list[Path]:
    """PNGs of the queue and of a case view at 1366x768."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-shots-") as tmp:
        work = Path(tmp)
        if models_dir is None or complaints is None:
            print("training a small bundle for the screenshots ...", flush=True)
            models_dir, complaints = small_bundle(work)
        server = Server(models_dir, work)
        try:
            server.set_budget(5_000.0, "care")
            bodies = complaint_bodies(complaints, 9, prefix="shot-", most_valuable=True)
            for b in bodies[:8]:
                server.enter(b, "care")
            # one callback booked for later, one handover waiting with its note
            nxt = server.call("POST", "/v1/queue/next", {"team": "care"}, key=AGENT_ONE)
            slot = nxt["callback_slots"][2]
            server.call(
                "POST",
                f"/v1/queue/{nxt['entry']['entry_id']}/callback",
                {"slot_start": slot["start"], "slot_end": slot["end"], "note": "after work"},
                key=AGENT_ONE,
            )
            nxt = server.call(
                "POST", "/v1/queue/next", {"team": "care", "agent_name": "Sam"}, key=AGENT_ONE
            )
            server.call(
                "POST",
                f"/v1/queue/{nxt['entry']['entry_id']}/handover",
                {"team": "care", "note": "Refund offered on chat; wants it confirmed by phone."},
                key=AGENT_ONE,
            )
            shots = []
            with chromium() as browser:
                w = Watched(browser, server.base)
                sign_in(w.page, server.base, AGENT_ONE, team="care", name="Alex")
                w.page.wait_for_selector("#queue-table tbody tr[data-entry]")
                shots.append(out / "queue.png")
                w.page.screenshot(path=str(shots[-1]))
                take_next(w.page)
                shots.append(out / "case.png")
                w.page.screenshot(path=str(shots[-1]))
                if w.unexpected_errors() or w.outside:
                    raise RuntimeError(f"console errors {w.errors}, outside requests {w.outside}")
                w.close()
        finally:
            server.stop()
    return shots


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "console")
    ap.add_argument("--models-dir", type=Path, default=None, help="default: train a small one")
    ap.add_argument("--complaints", type=Path, default=None, help="CSV of new complaints")
    args = ap.parse_args()
    for p in screenshots(args.out, args.models_dir, args.complaints):
        print(f"screenshot     {p}")


if __name__ == "__main__":
    main()
