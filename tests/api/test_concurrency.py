"""16 clients against `makegood serve --workers 2` until the budget runs out.

Runs on SQLite always and on PostgreSQL when MAKEGOOD_TEST_DATABASE_URL is set (in a
schema of its own). Clients retry a third of their requests under the same
Idempotency-Key and accept every other decision. At the end: committed + reserved
<= budget, the running totals equal the sums over decisions, and every decision a
client was given is recorded with the compensation it was told.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from apihelpers import ADMIN, AGENT, KEYS, period_now, unique

from dbtesting import BACKENDS, PG_URL, drop_schema, fresh_schema
from makegood.ledger import DecisionStatus, Ledger

N_CLIENTS = 16
N_REQUESTS = 8  # per client
BUDGET = Decimal("400.00")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}", None
        return
    schema = fresh_schema("makegood_api")
    yield PG_URL, schema
    drop_schema(PG_URL, schema)


@pytest.fixture
def server(location, trained, tmp_path):
    url, schema = location
    port = _free_port()
    env = {
        **os.environ,
        "MAKEGOOD_API_KEYS": ",".join(f"{k}:{r}" for k, r in KEYS.items()),
        "MAKEGOOD_RELOAD_POLL_SECONDS": "0",
    }
    cmd = [
        str(Path(sys.executable).parent / "makegood"),
        "serve",
        "--workers", "2",
        "--port", str(port),
        "--database-url", url,
        "--models-dir", str(trained["models_dir"]),
        "--log-level", "warning",
    ]  # fmt: skip
    if schema:
        cmd += ["--database-schema", schema]
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).json().get("status") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.3)
        yield base, url, schema
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.mark.slow
def test_sixteen_clients_over_two_workers_never_overspend(server, complaints):
    base, url, schema = server
    with httpx.Client(base_url=base, timeout=60) as admin:
        r = admin.put("/v1/budget", json={"period": period_now(), "amount": float(BUDGET)},
                      headers=ADMIN)  # fmt: skip
        assert r.status_code == 200, r.text

    def client(n: int) -> list[dict]:
        got = []
        with httpx.Client(base_url=base, timeout=60) as http:
            for i in range(N_REQUESTS):
                body = unique(complaints[(n * N_REQUESTS + i) % len(complaints)])
                headers = {**AGENT, "Idempotency-Key": f"{n}-{i}-{uuid.uuid4().hex[:6]}"}
                tries = 2 if i % 3 == 0 else 1
                for _ in range(tries):
                    r = http.post("/v1/recommendations", json={"complaint": body}, headers=headers)
                    assert r.status_code == 200, r.text
                    got.append(r.json())
                if i % 2 == 0:
                    d = http.post(f"/v1/decisions/{got[-1]['decision_id']}",
                                  json={"action": "accepted"}, headers=AGENT)  # fmt: skip
                    assert d.status_code == 200, d.text
        return got

    with ThreadPoolExecutor(N_CLIENTS) as pool:
        answers = [a for batch in pool.map(client, range(N_CLIENTS)) for a in batch]

    by_id: dict[str, dict] = {}
    for a in answers:
        if a["decision_id"] in by_id:
            assert a["replayed"], "a repeated decision id only comes from a replay"
            first = by_id[a["decision_id"]]["recommended"]
            for key in ("resolution", "compensation"):
                assert a["recommended"][key] == first[key]
        by_id.setdefault(a["decision_id"], a)
    assert len(by_id) == N_CLIENTS * N_REQUESTS
    # the budget ran out: later complaints were steered to what still fitted
    assert any(not c["fits_budget"] for a in answers for c in a["candidates"])

    with Ledger(url, schema=schema) as ledger:
        state = ledger.get_budget(period_now())
        audit = ledger.audit(period_now())
        assert state.committed + state.reserved <= BUDGET
        assert (audit.committed, audit.reserved) == (state.committed, state.reserved)
        held = Decimal(0)
        for decision_id, a in by_id.items():
            d = ledger.get_decision(decision_id)
            assert d.status in (DecisionStatus.RESERVED, DecisionStatus.COMMITTED)
            assert d.recommended_resolution == a["recommended"]["resolution"]
            assert d.compensation == Decimal(str(a["recommended"]["compensation"]))
            held += d.compensation
        assert held == state.committed + state.reserved
