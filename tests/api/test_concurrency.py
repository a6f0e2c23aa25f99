"""16 clients against `makegood serve --workers 2` until the budget runs out.

Runs on SQLite always and on PostgreSQL when MAKEGOOD_TEST_DATABASE_URL is set (in a
schema of its own). Clients retry a third of their requests under the same
Idempotency-Key (and every 503 after its Retry-After) and accept every other decision.
At the end:
committed + held <= budget, the running totals equal the sums over decisions, and
every decision a client was given is recorded with the compensation it was told.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from apihelpers import ADMIN, AGENT, period_now, serve, unique

from dbtesting import BACKENDS, database
from makegood.store.ledger import DecisionStatus, Ledger

N_CLIENTS = 16
N_REQUESTS = 8  # per client
BUDGET = Decimal("400.00")


@pytest.fixture(params=BACKENDS)
def location(request, tmp_path):
    with database(request.param, tmp_path, "makegood_api") as where:
        yield where


@pytest.fixture
def server(location, trained, tmp_path):
    url, schema = location
    with serve(url, schema, trained["models_dir"], tmp_path / "server.log") as base:
        yield base, url, schema


@pytest.mark.slow
def test_sixteen_clients_over_two_workers_never_overspend(server, complaints):
    base, url, schema = server
    with httpx.Client(base_url=base, timeout=60) as admin:
        r = admin.put("/v1/budget", json={"period": period_now(), "amount": float(BUDGET)},
                      headers=ADMIN)  # fmt: skip
        assert r.status_code == 200, r.text

    def post(http: httpx.Client, path: str, body: dict, headers: dict) -> httpx.Response:
        for _ in range(20):  # a 503 (lock not free in time) says when to retry
            r = http.post(path, json=body, headers=headers)
            if r.status_code != 503:
                return r
            assert float(r.headers["Retry-After"]) >= 1, r.headers
            time.sleep(0.2)
        return r

    def client(n: int) -> list[dict]:
        got = []
        with httpx.Client(base_url=base, timeout=60) as http:
            for i in range(N_REQUESTS):
                body = unique(complaints[(n * N_REQUESTS + i) % len(complaints)])
                headers = {**AGENT, "Idempotency-Key": f"{n}-{i}-{uuid.uuid4().hex[:6]}"}
                tries = 2 if i % 3 == 0 else 1
                for _ in range(tries):
                    r = post(http, "/v1/recommendations", {"complaint": body}, headers)
                    assert r.status_code == 200, r.text
                    got.append(r.json())
                if i % 2 == 0:
                    d = post(http, f"/v1/decisions/{got[-1]['decision_id']}",
                             {"action": "accepted"}, AGENT)  # fmt: skip
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
            # what the answer said it held: the recommendation's compensation, less
            # what the contact's case already held or gave (not reserved twice)
            assert d.compensation == Decimal(str(a["budget"]["reserved"]))
            assert a["budget"]["reserved"] + a["budget"]["covered_by_case"] == pytest.approx(
                a["recommended"]["compensation"]
            )
            held += d.compensation
        assert held == state.committed + state.reserved
    with httpx.Client(base_url=base, timeout=60) as finance:
        live = finance.get("/v1/budget", headers=ADMIN).json()
    assert Decimal(str(live["committed"])) + Decimal(str(live["held"])) <= BUDGET
