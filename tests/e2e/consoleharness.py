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

# the agents as the admin configures them: each key carries its team, name and skills
# (sign-in asks only for the key)
AGENTS = {
    "console-agent-one": {"role": "agent", "team": "care", "name": "Alex"},
    "console-agent-two": {"role": "agent", "team": "billing", "name": "Sam"},
    "console-agent-three": {"role": "agent", "team": "care", "name": "Kim"},
    "console-bench": {"role": "agent", "team": "bench", "name": "Bench"},
    "console-admin": {"role": "admin"},
}
AGENT_ONE, AGENT_TWO, AGENT_THREE, BENCH, ADMIN = AGENTS
KEYS = {k: v["role"] for k, v in AGENTS.items()}
ROOT = Path(__file__).resolve().parents[2]


def keys_file(path: Path) -> bool:
    """Write the keys file; True when this server's keys carry names (else the keys say
    team and role only, and the page shows an agent by their key's id)."""
    from makegood.errors import ConfigError
    from makegood.serving.security import ApiKeys

    path.write_text(json.dumps(AGENTS))
    try:
        ApiKeys.load(None, path)
        return True
    except ConfigError:  # keys without names (before issue 22's keys)
        plain = {k: {f: v[f] for f in ("role", "team") if f in v} for k, v in AGENTS.items()}
        path.write_text(json.dumps(plain))
        return False


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
        self.named = keys_file(self.work / "keys.json")
        env = {
            **os.environ,
            "MAKEGOOD_API_KEYS_FILE": str(self.work / "keys.json"),
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

    def enter(self, complaint: dict, team: str | None, key: str = ADMIN) -> Any:
        return self.call("POST", "/v1/contacts", {"complaint": complaint, "team": team}, key=key)

    def name_of(self, key: str) -> str:
        """How the console names the agent of ``key`` to colleagues: the key's name, else
        "Agent" and the key's short id."""
        me = self.call("GET", "/v1/queue/mine", key=key)["agent"]
        return me["name"] or "Agent " + me["agent_id"].removeprefix("key:")


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


def sign_in(page: Any, base: str, key: str) -> None:
    """Sign in with the key alone (name, team and skills are the key's)."""
    page.goto(base + "/console")
    page.fill("#key", key)
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


def overlapping(candidates: list[dict]) -> bool:
    """Whether the top two net values lie within each other's intervals (what K3's
    ``close_call`` flag says; used only where the answer does not carry the flag yet)."""
    if len(candidates) < 2:
        return False
    (a, b), (c, d) = candidates[0]["net_value_interval"], candidates[1]["net_value_interval"]
    return a <= candidates[1]["net_value"] <= b and c <= candidates[0]["net_value"] <= d


def flag_close_calls(page: Any) -> None:
    """Answers of ``next`` and ``open`` carry ``explanation.close_call``: the server's when
    it has one, else from the intervals (:func:`overlapping`)."""

    def handle(route: Any) -> None:
        answer = route.fetch().json()
        rec = answer.get("recommendation")
        if rec and "close_call" not in rec["explanation"]:
            ranked = sorted(rec["candidates"], key=lambda c: c["rank"])
            rec["explanation"]["close_call"] = overlapping(ranked)
        route.fulfill(json=answer)

    page.route("**/v1/queue/next", handle)
    page.route("**/v1/queue/*/open", handle)


def prepare_day(server: Server, complaints: Path) -> dict[str, Any]:
    """A care team's morning: contacts queued, a callback booked, Kim (agent three) hands
    one case to Alex by name and switches another from chat to phone for the queue, and
    Alex holds a case from before (restored at sign-in)."""
    server.set_budget(5_000.0, "care")
    bodies = complaint_bodies(complaints, 14, prefix=f"shot{int(time.time())}-", most_valuable=True)
    for b in bodies[:12]:
        server.enter(b, "care")
    # one customer on chat and on email at once, about two things
    chat = server.enter({**bodies[12], "channel": "chat"}, "care")["entry"]
    email = server.enter(
        {**bodies[13], "customer_id": bodies[12]["customer_id"], "channel": "email",
         "issue_type": "delivery_delay"},
        "care",
    )["entry"]  # fmt: skip
    held = server.call("POST", "/v1/queue/next", {}, key=AGENT_ONE)  # Alex, earlier on
    nxt = server.call("POST", "/v1/queue/next", {}, key=AGENT_THREE)
    slot = nxt["callback_slots"][2]
    server.call(
        "POST",
        f"/v1/queue/{nxt['entry']['entry_id']}/callback",
        {"slot_start": slot["start"], "slot_end": slot["end"], "note": "after work"},
        key=AGENT_THREE,
    )
    alex = next(
        c["agent_id"]
        for c in server.call("GET", "/v1/queue/colleagues", key=AGENT_THREE)["colleagues"]
        if not c["you"]
    )
    given = server.call("POST", "/v1/queue/next", {}, key=AGENT_THREE)
    to_alex = server.call(
        "POST",
        f"/v1/queue/{given['entry']['entry_id']}/handover",
        {"note": "Refund promised on chat; please confirm the amount and close.", "to_agent": alex},
        key=AGENT_THREE,
    )["entry"]
    # Kim serves the email (its offer held) and switches the chat to phone for the queue
    server.call("POST", f"/v1/queue/{email['entry_id']}/open", {}, key=AGENT_THREE)
    server.call("POST", f"/v1/queue/{chat['entry_id']}/open", {}, key=AGENT_THREE)
    by_phone = server.call(
        "POST",
        f"/v1/queue/{chat['entry_id']}/handover",
        {
            "channel": "phone",
            "note": "Chat dropped twice; the customer asked to be called. Credit offered.",
            "next_step": "call and confirm the credit",
        },
        key=AGENT_THREE,
    )["entry"]
    return {"held": held["entry"], "to_alex": to_alex, "by_phone": by_phone}


def screenshots(out: Path, models_dir: Path | None, complaints: Path | None) -> list[Path]:
    """PNGs at 1366x768: the queue (a why-first tooltip open), a case, the question N
    asks with a case open, a close call, a handover received by name, a channel switch."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-shots-") as tmp:
        work = Path(tmp)
        if models_dir is None or complaints is None:
            print("training a small bundle for the screenshots ...", flush=True)
            models_dir, complaints = small_bundle(work)
        server = Server(models_dir, work)
        shots: list[Path] = []

        def shot(name: str) -> None:
            shots.append(out / name)
            page.screenshot(path=str(shots[-1]))

        try:
            day = prepare_day(server, complaints)
            with chromium() as browser:
                w = Watched(browser, server.base)
                page = w.page
                flag_close_calls(page)
                sign_in(page, server.base, AGENT_ONE)
                page.wait_for_selector("#queue-table tbody tr[data-entry]")
                page.wait_for_selector("#mine-list li[data-entry]")
                page.hover("#queue-table tbody tr[data-entry] >> nth=0 >> .why-first")
                shot("queue.png")
                take_next(page)
                shot("case.png")
                for _ in range(8):  # N with a case open asks; keep it and look for a close call
                    page.keyboard.press("n")
                    page.wait_for_selector("#confirm-next[open]")
                    if not any(p.name == "confirm-next.png" for p in shots):
                        shot("confirm-next.png")
                    page.evaluate("document.body.dataset.caseReady = ''")
                    page.click("#confirm-keep")
                    page.wait_for_selector("body:not([data-case-ready=''])", state="attached")
                    if page.is_visible("#close-call"):
                        page.hover("#figures-help")
                        shot("close-call.png")
                        break
                for entry, name in ((day["to_alex"], "handover-received.png"),
                                    (day["by_phone"], "channel-switch.png")):  # fmt: skip
                    page.evaluate("document.body.dataset.caseReady = ''")
                    row = f"#mine-list li[data-entry='{entry['entry_id']}'] button"
                    if not page.is_visible(row):
                        row = f"#queue-table tr[data-entry='{entry['entry_id']}']"
                    page.click(row)
                    page.wait_for_selector("#confirm-next[open]")
                    page.click("#confirm-keep")
                    page.wait_for_selector(
                        f"body[data-case-ready='{entry['entry_id']}']", state="attached"
                    )
                    shot(name)
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
