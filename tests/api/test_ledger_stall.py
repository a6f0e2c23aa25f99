"""A ledger that never stalls the service: another process holds SQLite's write lock for
10 s while 48 recommendations and some reads arrive at `makegood serve --workers 2`.

/health and the reads answer within 1.5 s (health says degraded, with the reason);
every recommendation answers within 5 s, 200 or 503 with Retry-After; once the lock
is released the service writes again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from apihelpers import ADMIN, AGENT, period_now, serve, unique

from makegood.serving.writes import PROBE_EVERY_SECONDS

pytestmark = pytest.mark.slow

HOLD_SECONDS = 10
N_RECOMMENDATIONS = 48

# The reads run in a process of their own, so their timings are the server's, not the
# wait for this process's GIL behind 48 client threads.
_READER = """
import json, sys, time, http.client
host, port = sys.argv[1].removeprefix("http://").split(":")
reads = json.loads(sys.argv[2])
out = []
for i in range(int(sys.argv[3])):
    method, path, headers = reads[i % len(reads)]
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    t0 = time.perf_counter()
    started = time.monotonic()  # the system's monotonic clock: comparable across processes
    conn.request(method, path, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    out.append([path, time.perf_counter() - t0, r.status, body, started])
    conn.close()
    time.sleep(0.15)
print(json.dumps(out))
"""

_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
print("released", flush=True)
"""


def _timed(http: httpx.Client, method: str, path: str, **kwargs) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    r = http.request(method, path, **kwargs)
    return time.perf_counter() - t0, r


def test_a_held_write_lock_stalls_nothing(trained, complaints, tmp_path):
    db = tmp_path / "ledger.db"
    with serve(f"sqlite:///{db}", None, trained["models_dir"], tmp_path / "server.log") as base:
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.put("/v1/budget", json={"period": period_now(), "amount": 10_000},
                            headers=ADMIN).status_code == 200  # fmt: skip
            warm = [
                http.post("/v1/recommendations", json={"complaint": unique(b)}, headers=AGENT)
                for b in complaints[:4]
            ]
            assert all(r.status_code == 200 for r in warm)
            decision_id = warm[0].json()["decision_id"]
            customer_id = complaints[0]["customer_id"]

        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db), str(HOLD_SECONDS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            t_locked = time.monotonic()

            def recommend(i: int) -> tuple[float, httpx.Response]:
                body = {"complaint": unique(complaints[10 + i % 100])}
                with httpx.Client(base_url=base, timeout=30) as c:
                    return _timed(c, "POST", "/v1/recommendations", json=body, headers=AGENT)

            reads = [
                ("GET", "/health", {}),
                ("GET", "/v1/model", AGENT),
                ("GET", f"/v1/decisions/{decision_id}", AGENT),
                ("GET", f"/v1/customers/{customer_id}", AGENT),
            ]
            reader = subprocess.Popen(
                [sys.executable, "-c", _READER, base, json.dumps(reads), "24"],
                stdout=subprocess.PIPE,
                text=True,
            )
            with ThreadPoolExecutor(N_RECOMMENDATIONS) as pool:
                rec_results = list(pool.map(recommend, range(N_RECOMMENDATIONS)))
            out, _ = reader.communicate(timeout=60)
            read_results = [
                (p, s, code, json.loads(b), started - t_locked)
                for p, s, code, b, started in json.loads(out)
            ]
            waited = time.monotonic() - t_locked
        finally:
            holder.wait(timeout=HOLD_SECONDS + 10)

        n_busy = sum(r.status_code == 503 for _, r in rec_results)
        print(
            f"stall: reads max {max(s for _, s, _, _, _ in read_results):.2f} s, recommendations "
            f"max {max(s for s, _ in rec_results):.2f} s, {n_busy} of {len(rec_results)} "
            f"answered 503, all answered {waited:.1f} s after the lock was taken"
        )
        slow_reads = [(p, round(s, 2)) for p, s, _, _, _ in read_results if s > 1.5]
        assert not slow_reads, slow_reads
        # each worker probes the ledger at most once a second (and waits 0.5 s for it), so a
        # /health in the first 1.5 s after the lock may still give the last probe's "ok"
        fresh = PROBE_EVERY_SECONDS + 0.5
        health_later = [(code, body) for p, _, code, body, at in read_results
                        if p == "/health" and at > fresh]  # fmt: skip
        assert health_later, "no /health read after the probe interval"
        for path, _, code, body, at in read_results:
            if path == "/health":
                assert code in (200, 503), body
                if at > fresh or code == 503:
                    assert code == 503, (round(at, 2), body)
                    assert body["ledger"]["status"] == "degraded" and body["ledger"]["reason"]
            else:
                assert code == 200, (path, body)
        slow_recs = [round(s, 2) for s, _ in rec_results if s > 5.0]
        assert not slow_recs, slow_recs
        for _, r in rec_results:
            assert r.status_code in (200, 503), r.text
            if r.status_code == 503:
                assert int(r.headers["Retry-After"]) >= 1
                assert "lock" in r.json()["detail"] or "queue" in r.json()["detail"]
        assert any(r.status_code == 503 for _, r in rec_results)  # the lock was really held

        with httpx.Client(base_url=base, timeout=30) as http:  # released: writes work again
            after = http.post("/v1/recommendations", json={"complaint": unique(complaints[5])},
                              headers=AGENT)  # fmt: skip
            assert after.status_code == 200, after.text
